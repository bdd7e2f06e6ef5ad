//! `/setwelcome`: a group's admins write the welcome in the chat. The template is checked the
//! way the config file's would be, and more plainly: a syntax error says its line, a variable
//! the bot never fills in (`{{ mentoin }}`) is named with the ones it does, and the answer shows
//! the welcome rendered for the admin, as a newcomer would read it.

use minijinja::context;

use super::greet::{WELCOME_VARS, welcome_vars};
use super::queries::Newcomer;
use crate::core::context::Cx;
use crate::core::feature::{CommandOutcome, FeatureResult};
use crate::core::templates::Templates;

const KEY: &str = "welcome.texts";

/// `/setwelcome` with the template after it or in the message it replies to; `off` for no
/// welcome, `default` for the config file's.
pub(super) async fn set_welcome(cx: &mut Cx<'_>, args: &str) -> FeatureResult<CommandOutcome> {
    let Some(template) = cx.args_or_replied_text(args) else {
        return Ok(CommandOutcome::BadArguments);
    };
    match template.to_lowercase().as_str() {
        "off" | "none" | "关" | "关闭" | "不要" => {
            let none = toml::Value::Array(Vec::new());
            if let Some(settings) = cx.change_setting_or_say_why(KEY, Some(&none)).await? {
                let text = cx.text_as(&settings, "welcome.set_off", context! {});
                cx.reply(text);
            }
        }
        "default" | "reset" | "默认" | "恢复" => {
            if let Some(settings) = cx.change_setting_or_say_why(KEY, None).await? {
                let text = cx.text_as(&settings, "welcome.set_default", context! {});
                cx.reply(text);
            }
        }
        _ => {
            let Some(preview) = try_out(cx, &template).await? else {
                return Ok(CommandOutcome::Done);
            };
            let value = toml::Value::Array(vec![toml::Value::String(template)]);
            if let Some(settings) = cx.change_setting_or_say_why(KEY, Some(&value)).await? {
                let text = cx.text_as(&settings, "welcome.set_preview", context! { preview });
                cx.reply(text);
            }
        }
    }
    Ok(CommandOutcome::Done)
}

/// The welcome `template` renders for the admin who wrote it, or `None` after saying in the
/// chat what is wrong with it.
async fn try_out(cx: &mut Cx<'_>, template: &str) -> FeatureResult<Option<String>> {
    let known = Templates::placeholders(WELCOME_VARS);
    let mut scratch = Templates::new();
    if let Err(error) = scratch.add("preview", template) {
        tracing::info!(chat = cx.chat(), %error, "a welcome set in the chat does not compile");
        let text = cx.text(
            "welcome.set_broken",
            context! { line => error.line(), detail => error.detail(), known },
        );
        cx.reply(text);
        return Ok(None);
    }
    let unknown = Templates::unknown_variables(template, WELCOME_VARS);
    if !unknown.is_empty() {
        let unknown = Templates::placeholders(&unknown);
        let text = cx.text("welcome.set_unknown", context! { unknown, known });
        cx.reply(text);
        return Ok(None);
    }
    let Some(admin) = cx.event.message().map(|message| message.from.clone()) else {
        return Ok(None);
    };
    let sample = Newcomer {
        user_id: admin.id,
        joined_at: cx.now.timestamp(),
        captcha: 0,
        display_name: Some(admin.display_name()),
        username: admin.username.clone(),
    };
    let language = cx.language();
    let vars = welcome_vars(cx, &[&sample], language).await?;
    match scratch.render("preview", vars) {
        Ok(preview) if !preview.trim().is_empty() => Ok(Some(preview)),
        Ok(_) => {
            let text = cx.text("welcome.set_empty", context! {});
            cx.reply(text);
            Ok(None)
        }
        Err(error) => {
            tracing::info!(chat = cx.chat(), %error, "a welcome set in the chat does not render");
            let text = cx.text(
                "welcome.set_broken",
                context! { line => error.line(), detail => error.detail(), known },
            );
            cx.reply(text);
            Ok(None)
        }
    }
}
