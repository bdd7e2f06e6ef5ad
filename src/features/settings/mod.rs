//! A group's admins run their group from the chat: `/settings` shows what is in force, and
//! `/lang`, `/feature`, `/setrules`, `/captcha` and `/resetsetting` change it. Each change is
//! one key of the group's table, checked as the config file's would be, kept in the database
//! over the file's settings (`Cx::change_setting`), refused if the operator locked it, and
//! written to the log chat. `/id` tells anyone the chat's id, for the operator's config.
//!
//! What a feature's own settings look like in the overview each feature says itself
//! (`Feature::overview`); this folder names no other feature.

use async_trait::async_trait;
use minijinja::context;

use crate::core::commands::Invocation;
use crate::core::context::Cx;
use crate::core::event::EventKind;
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::i18n::Language;
use crate::core::templates::Templates;
use crate::store::group_changes;

mod panel;

pub struct Settings;

#[async_trait]
impl Feature for Settings {
    fn name(&self) -> &'static str {
        "settings"
    }

    fn always_on(&self) -> bool {
        true
    }

    fn commands(&self) -> &'static [&'static str] {
        &[
            "id",
            "settings",
            "lang",
            "feature",
            "setrules",
            "captcha",
            "resetsetting",
        ]
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests![
            "id.toml",
            "settings.toml",
            "lang.toml",
            "feature.toml",
            "setrules.toml",
            "captcha.toml",
            "resetsetting.toml",
        ]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        let args = invocation.args.trim();
        match invocation.name.as_str() {
            "id" => id(cx),
            "settings" => panel::show(cx).await?,
            "lang" => return language(cx, args).await,
            "feature" => return feature(cx, args).await,
            "setrules" => return rules(cx, args).await,
            "captcha" => return captcha(cx, args).await,
            "resetsetting" => return reset(cx, args).await,
            _ => {}
        }
        Ok(CommandOutcome::Done)
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        if let EventKind::ButtonPressed {
            callback_id,
            message_id,
            data,
            ..
        } = &cx.event.kind
            && data.starts_with(panel::PREFIX)
        {
            let (callback_id, message_id, data) = (callback_id.clone(), *message_id, data.clone());
            panel::press(cx, &callback_id, message_id, &data).await?;
        }
        Ok(())
    }

    async fn migrate_chat(
        &self,
        tx: &mut crate::store::Tx,
        from: crate::core::event::ChatId,
        to: crate::core::event::ChatId,
    ) -> FeatureResult {
        group_changes::migrate_chat(tx, from, to).await?;
        Ok(())
    }
}

fn id(cx: &mut Cx<'_>) {
    let replied = cx
        .event
        .message()
        .and_then(|message| message.reply_to_author.clone());
    let text = cx.text(
        "settings.id",
        context! {
            chat => cx.chat().to_string(),
            member => replied.as_ref().map(|user| user.display_name()),
            member_id => replied.as_ref().map(|user| user.id.to_string()),
        },
    );
    cx.reply(text);
}

async fn language(cx: &mut Cx<'_>, args: &str) -> FeatureResult<CommandOutcome> {
    let wanted = match args.to_lowercase().as_str() {
        "zh" | "zh-cn" | "cn" | "中文" | "chinese" => Language::ZhCn,
        "en" | "english" | "英文" | "英语" => Language::En,
        _ => return Ok(CommandOutcome::BadArguments),
    };
    let value = toml::Value::String(wanted.tag().to_owned());
    if let Some(settings) = cx
        .change_setting_or_say_why("language", Some(&value))
        .await?
    {
        // Said in the language now in force.
        let what = match wanted {
            Language::ZhCn => "中文",
            Language::En => "English",
        };
        let text = cx.text_as(&settings, "settings.changed", context! { what });
        cx.reply(text);
    }
    Ok(CommandOutcome::Done)
}

async fn feature(cx: &mut Cx<'_>, args: &str) -> FeatureResult<CommandOutcome> {
    let mut words = args.split_whitespace();
    let (Some(switch), Some(name), None) = (words.next(), words.next(), words.next()) else {
        return Ok(CommandOutcome::BadArguments);
    };
    let on = match switch.to_lowercase().as_str() {
        "on" | "开" | "开启" => true,
        "off" | "关" | "关闭" => false,
        _ => return Ok(CommandOutcome::BadArguments),
    };
    let name = name.to_lowercase();
    let known = cx.settings.switchable();
    if !known.contains(&name.as_str()) {
        let text = cx.text(
            "settings.unknown_feature",
            context! { name, known => known.to_vec() },
        );
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let mut features = cx.group.features.clone();
    if on {
        features.insert(name.clone());
    } else {
        features.remove(&name);
    }
    let list = toml::Value::Array(features.into_iter().map(toml::Value::String).collect());
    if let Some(settings) = cx
        .change_setting_or_say_why("features", Some(&list))
        .await?
    {
        let key = if on {
            "settings.feature_on"
        } else {
            "settings.feature_off"
        };
        let what = cx.text(key, context! { name });
        let text = cx.text_as(&settings, "settings.changed", context! { what });
        cx.reply(text);
    }
    Ok(CommandOutcome::Done)
}

/// What a rules template can use (`/rules` renders it with the group's name).
const RULES_VARS: &[&str] = &["chat"];

/// `/setrules` with the rules after it, or replying to a message that holds them.
async fn rules(cx: &mut Cx<'_>, args: &str) -> FeatureResult<CommandOutcome> {
    let Some(text) = cx.args_or_replied_text(args) else {
        return Ok(CommandOutcome::BadArguments);
    };
    if let Err(error) = Templates::check(&text) {
        let text = cx.text(
            "settings.rules_broken",
            context! { line => error.line(), detail => error.detail() },
        );
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let unknown = Templates::unknown_variables(&text, RULES_VARS);
    if !unknown.is_empty() {
        let unknown = Templates::placeholders(&unknown);
        let text = cx.text("settings.rules_unknown", context! { unknown });
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let value = toml::Value::String(text);
    if let Some(settings) = cx.change_setting_or_say_why("rules", Some(&value)).await? {
        // The rules as /rules will show them, rendered from the group's own template.
        let shown = settings
            .rules_template
            .as_deref()
            .and_then(|template| {
                settings
                    .render(
                        &cx.settings.templates,
                        template,
                        context! { chat => cx.event.chat.title.clone() },
                    )
                    .ok()
            })
            .unwrap_or_default();
        let text = cx.text_as(
            &settings,
            "settings.rules_preview",
            context! { rules => shown },
        );
        cx.reply(text);
    }
    Ok(CommandOutcome::Done)
}

async fn captcha(cx: &mut Cx<'_>, args: &str) -> FeatureResult<CommandOutcome> {
    let (value, label) = match args.to_lowercase().as_str() {
        "on" | "button" | "开" | "开启" | "按钮" => ("button", "settings.captcha_button"),
        "math" | "算术" | "算术题" => ("math", "settings.captcha_math"),
        "off" | "关" | "关闭" => ("off", "settings.captcha_off"),
        _ => return Ok(CommandOutcome::BadArguments),
    };
    let value = toml::Value::String(value.to_owned());
    if let Some(settings) = cx
        .change_setting_or_say_why("welcome.captcha", Some(&value))
        .await?
    {
        let what = cx.text_as(&settings, label, context! {});
        let text = cx.text_as(&settings, "settings.changed", context! { what });
        cx.reply(text);
    }
    Ok(CommandOutcome::Done)
}

async fn reset(cx: &mut Cx<'_>, args: &str) -> FeatureResult<CommandOutcome> {
    let key = args.trim().to_lowercase();
    if key.is_empty() {
        return Ok(CommandOutcome::BadArguments);
    }
    let changed: Vec<String> = group_changes::of_chat(cx.tx, cx.chat())
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    if !changed.contains(&key) {
        let text = if changed.is_empty() || key.contains('.') || is_top_level_key(cx, &key) {
            cx.text("settings.not_changed", context! { key })
        } else {
            cx.text("settings.unknown_key", context! { key, changed })
        };
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    if let Some(settings) = cx.change_setting_or_say_why(&key, None).await? {
        let text = cx.text_as(&settings, "settings.reset", context! { key });
        cx.reply(text);
    }
    Ok(CommandOutcome::Done)
}

fn is_top_level_key(cx: &Cx<'_>, key: &str) -> bool {
    ["language", "features", "rules", "log_chat", "timezone"].contains(&key)
        || cx.group.sections.has_key(key)
}
