//! `/settings` as a panel: the group's settings in one message with a button for each common
//! one (the language, every switchable feature, and each line a feature's section offers a next
//! value for). A press by an admin makes the change as the commands do (`Cx::change_setting`:
//! the lock, the check, the log chat) and edits the same message in place, in the language now
//! in force; a locked key gets no button.

use minijinja::context;

use crate::core::action::{Action, Button, MessageRef};
use crate::core::changes::Refused;
use crate::core::context::{Cx, Role};
use crate::core::event::MessageId;
use crate::core::feature::FeatureResult;
use crate::core::i18n::Language;
use crate::core::settings::GroupSettings;
use crate::store::group_changes;

/// Every button's data starts so.
pub(super) const PREFIX: &str = "set:";
/// Feature buttons in a row.
const FEATURES_PER_ROW: usize = 3;

/// `/settings`: the panel, in answer to the admin who asked.
pub(super) async fn show(cx: &mut Cx<'_>) -> FeatureResult {
    let group = cx.group;
    let (text, buttons) = panel(cx, group).await?;
    cx.queue(Action::Send {
        chat: cx.chat(),
        text,
        reply_to: cx.event.message().map(|message| message.id),
        thread: cx.thread(),
        key: None,
        buttons,
    });
    Ok(())
}

/// The panel's text and buttons for `group`, as its settings stand in this transaction.
async fn panel(
    cx: &mut Cx<'_>,
    group: &GroupSettings,
) -> FeatureResult<(String, Vec<Vec<Button>>)> {
    let changed: Vec<String> = group_changes::of_chat(cx.tx, cx.chat())
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let mark = |key: &str| {
        let own = changed
            .iter()
            .any(|c| c == key || c.starts_with(&format!("{key}.")));
        match (group.is_locked(key), own) {
            (true, _) => " 🔒",
            (false, true) => " ✏️",
            (false, false) => "",
        }
    };
    let switchable = cx.settings.switchable();
    let (on, off): (Vec<&str>, Vec<&str>) = switchable
        .iter()
        .copied()
        .partition(|name| group.feature_on(name));
    let marks = context! {
        language => mark("language"),
        features => mark("features"),
        rules => mark("rules"),
    };
    let lines = group.sections.overview(group.language);
    let shown: Vec<_> = lines
        .iter()
        .map(|line| context! { label => &line.label, value => &line.value, mark => mark(line.key) })
        .collect();
    let text = cx.text_as(
        group,
        "settings.overview",
        context! {
            changed => !changed.is_empty(),
            language => language_name(cx, group, group.language),
            on, off, marks,
            lines => shown,
            rules => group.rules_template.is_some(),
            locked => group.locked.clone(),
        },
    );

    let mut buttons = Vec::new();
    if !group.is_locked("language") {
        // Each language under its own name, as language pickers do.
        let label = match other_language(group.language) {
            Language::ZhCn => "🌐 中文",
            Language::En => "🌐 English",
        };
        buttons.extend(Button::new(label, format!("{PREFIX}lang")).map(|button| vec![button]));
    }
    for line in &lines {
        if let Some(next) = &line.next
            && !group.is_locked(next.key)
            && !group.is_locked(line.key)
        {
            let separator = match group.language {
                Language::ZhCn => "：",
                Language::En => ": ",
            };
            let label = format!("{}{separator}{} 🔄", line.label, line.value);
            buttons.extend(
                Button::new(label, format!("{PREFIX}line:{}", line.key)).map(|button| vec![button]),
            );
        }
    }
    if !group.is_locked("features") {
        let toggles: Vec<Button> = switchable
            .iter()
            .filter_map(|name| {
                let mark = if group.feature_on(name) {
                    "✅"
                } else {
                    "▫️"
                };
                Button::new(format!("{mark} {name}"), format!("{PREFIX}f:{name}"))
            })
            .collect();
        buttons.extend(toggles.chunks(FEATURES_PER_ROW).map(<[Button]>::to_vec));
    }
    Ok((text, buttons))
}

/// A press on the panel: the change it stands for, then the panel again in its place.
pub(super) async fn press(
    cx: &mut Cx<'_>,
    callback_id: &str,
    message: Option<MessageId>,
    data: &str,
) -> FeatureResult {
    if cx.role < Role::Admin {
        let text = cx.text("settings.admins_only", context! {});
        answer(cx, callback_id, text, false);
        return Ok(());
    }
    let group = cx.group;
    let choice = &data[PREFIX.len()..];
    let (key, value): (&str, Option<toml::Value>) = if choice == "lang" {
        let tag = other_language(group.language).tag();
        ("language", Some(toml::Value::String(tag.to_owned())))
    } else if let Some(name) = choice.strip_prefix("f:") {
        if !cx.settings.switchable().contains(&name) {
            return Ok(());
        }
        let mut features = group.features.clone();
        if !features.remove(name) {
            features.insert(name.to_owned());
        }
        let list = features.into_iter().map(toml::Value::String).collect();
        ("features", Some(toml::Value::Array(list)))
    } else if let Some(line_key) = choice.strip_prefix("line:") {
        // Stepped on from the settings now in force, not from what the panel showed: two
        // admins pressing at once step twice rather than undo each other.
        let next = group
            .sections
            .overview(group.language)
            .into_iter()
            .find(|line| line.key == line_key)
            .and_then(|line| line.next);
        let Some(next) = next else {
            return Ok(());
        };
        (next.key, next.value)
    } else {
        return Ok(());
    };
    match cx.change_setting(key, value.as_ref()).await? {
        Ok(settings) => {
            let (text, buttons) = panel(cx, &settings).await?;
            let target = match message {
                Some(id) => MessageRef::Id(id),
                None => return Ok(()),
            };
            cx.queue(Action::Edit {
                chat: cx.chat(),
                target,
                text,
                buttons,
                thread: None,
            });
            let text = cx.text_as(&settings, "settings.pressed", context! {});
            answer(cx, callback_id, text, false);
        }
        Err(Refused::Locked) => {
            let text = cx.text("core.setting_locked", context! { key });
            answer(cx, callback_id, text, true);
        }
        Err(Refused::Invalid(problems)) => {
            tracing::info!(
                chat = cx.chat(),
                key,
                ?problems,
                "a settings button was refused"
            );
            let text = cx.text("core.setting_invalid", context! { problems });
            answer(cx, callback_id, text, true);
        }
    }
    Ok(())
}

fn answer(cx: &mut Cx<'_>, callback_id: &str, text: String, alert: bool) {
    cx.queue(Action::AnswerButton {
        chat: cx.chat(),
        callback_id: callback_id.to_owned(),
        text: Some(text),
        alert,
    });
}

fn other_language(language: Language) -> Language {
    match language {
        Language::ZhCn => Language::En,
        Language::En => Language::ZhCn,
    }
}

/// `language`'s name, in the language `group` speaks.
pub(super) fn language_name(cx: &Cx<'_>, group: &GroupSettings, language: Language) -> String {
    let key = match language {
        Language::ZhCn => "settings.language_zh",
        Language::En => "settings.language_en",
    };
    cx.text_as(group, key, context! {})
}
