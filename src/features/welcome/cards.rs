//! Introductions and cards: a member's message read as a self-introduction (saved, or answered
//! with what is still missing; held back while their captcha is open), `/intro` showing the
//! form, `/whois` showing a member's card and `/find` searching the cards.

use minijinja::context;

use super::config::{Captcha, WelcomeSettings};
use super::{NAME, birthday, intro, queries};
use crate::core::action::Action;
use crate::core::context::{Cx, Role};
use crate::core::event::{MessageId, User};
use crate::core::feature::{CommandOutcome, FeatureResult};
use crate::core::i18n::Language;

/// A newcomer's message this soon after the captcha restricted them was sent before the
/// restriction took hold (the mute is on its way); one later means it did not hold, and the
/// mute is sent again.
const RESTRICTION_LAG_SECS: i64 = 30;
/// How many cards /find lists.
const MAX_FOUND: usize = 15;
/// How many members /whois names when a name fits several.
const MAX_NAME_MATCHES: i64 = 5;

pub(super) async fn on_message(
    cx: &mut Cx<'_>,
    from: &User,
    message: MessageId,
    text: &str,
) -> FeatureResult {
    // Without a captcha nobody can be waiting on one: no need to look (this runs for every
    // message).
    let open = match cx.group.section::<WelcomeSettings>().captcha {
        Captcha::Off => None,
        _ => queries::captcha(cx.tx, cx.chat(), from.id).await?,
    };
    if let Some(open) = open {
        if cx.event.at.timestamp() - open.opened_at < RESTRICTION_LAG_SECS {
            // Written in the moment before the restriction took hold, as spam bots do: the
            // message goes, the question stays.
            if cx
                .bot_rights
                .is_none_or(|rights| rights.can_delete_messages)
            {
                cx.delete_message(message);
            }
            return Ok(());
        }
        // Writing later means the restriction did not hold (it was delivered late in a raid,
        // or refused): the message goes, the mute is sent again, and the question stays. An
        // admin lets someone in by lifting the restriction, which Telegram reports.
        if cx
            .bot_rights
            .is_none_or(|rights| rights.can_delete_messages)
        {
            cx.delete_message(message);
        }
        cx.queue(Action::Mute {
            chat: cx.chat(),
            user: from.id,
            until: None,
        });
        return Ok(());
    }
    let language = cx.language();
    let template = cx
        .group
        .section::<WelcomeSettings>()
        .intro_template(language)
        .to_owned();
    let required = cx
        .group
        .section::<WelcomeSettings>()
        .required_fields
        .clone();
    let edited = cx.event.message().is_some_and(|m| m.edited);
    let (introduction, complete) = match intro::parse(text, &template) {
        Some(introduction) => {
            let complete = introduction.missing(&required).is_empty();
            (introduction, complete)
        }
        None => {
            // One field and a greeting ("大家好，我是… 坐标：上海") is an introduction begun.
            let read = intro::read(text, &template);
            if read.filled().next().is_none() || !intro::sounds_like_one(text) {
                return Ok(());
            }
            (read, false)
        }
    };
    // One answer per message: an edit of it updates that answer.
    let key = format!("intro:{message}");
    if !complete {
        let text = incomplete_reply(
            cx,
            &introduction,
            &template,
            &required,
            &from.display_name(),
        );
        queries::mark_attempt(cx.tx, cx.chat(), from.id, cx.event.at.timestamp()).await?;
        answer_intro(cx, key, text, edited);
        return Ok(());
    }
    let chat = cx.chat();
    let (birthday_text, birthday) = match &introduction.birthday {
        Some((text, parsed)) => (Some(text.as_str()), *parsed),
        None => (None, None),
    };
    let first = queries::save_profile(
        cx.tx,
        &queries::NewProfile {
            chat,
            user: from.id,
            fields: &introduction.fields,
            message,
            birthday_text,
            birthday,
            at: cx.event.at.timestamp(),
        },
    )
    .await?;
    for timer in ["remind", "act"] {
        cx.cancel_timer(NAME, &format!("{timer}:{}", from.id))
            .await?;
    }
    if first {
        let text = cx.text(
            "welcome.intro_saved",
            context! { name => from.display_name() },
        );
        answer_intro(cx, key, text, edited);
    } else {
        // Only an acknowledgement: the card (/whois) shows the update.
        cx.react("✍");
    }
    Ok(())
}

/// What the bot read of an introduction that is not complete, and what it still needs.
fn incomplete_reply(
    cx: &Cx<'_>,
    introduction: &intro::Introduction,
    template: &str,
    required: &[String],
    name: &str,
) -> String {
    /// A value is shown only as far as needed to see it was read.
    const SHOWN_CHARS: usize = 16;
    let read: Vec<(String, String)> = introduction
        .filled()
        .map(|(field, value)| {
            let shown: String = value.chars().take(SHOWN_CHARS).collect();
            let shown = if shown.len() < value.len() {
                shown + "…"
            } else {
                shown
            };
            (field.clone(), shown)
        })
        .collect();
    let missing: Vec<String> = introduction
        .missing(required)
        .into_iter()
        .map(str::to_owned)
        .collect();
    // Without required fields the form only wants a second one: name the first it lacks.
    let another = missing
        .is_empty()
        .then(|| {
            intro::template_fields(template)
                .into_iter()
                .find(|field| introduction.value(field).is_none_or(str::is_empty))
        })
        .flatten();
    cx.text(
        "welcome.intro_missing",
        context! { name, read, missing, another },
    )
}

/// Answers an introduction message under `key`: a reply the first time, an edit of that
/// reply when the member edits the message.
fn answer_intro(cx: &mut Cx<'_>, key: String, text: String, edited: bool) {
    if edited {
        cx.edit_keyed(key, text, Vec::new());
    } else {
        let reply_to = cx.event.message().map(|message| message.id);
        cx.queue(Action::Send {
            chat: cx.chat(),
            text,
            reply_to,
            thread: cx.thread(),
            key: Some(key),
            buttons: Vec::new(),
        });
    }
}

pub(super) fn show_template(cx: &mut Cx<'_>) {
    let language = cx.language();
    let text = cx.text(
        "welcome.intro_template",
        context! {
            intro => cx.group.section::<WelcomeSettings>().intro_template(language).to_owned(),
            required => cx.group.section::<WelcomeSettings>().required_fields.clone(),
        },
    );
    cx.reply(text);
}

pub(super) async fn whois(cx: &mut Cx<'_>, args: &str) -> FeatureResult<CommandOutcome> {
    let chat = cx.chat();
    let Some(asker) = cx.event.actor().cloned() else {
        return Ok(CommandOutcome::Done);
    };
    let replied = cx
        .event
        .message()
        .and_then(|message| message.reply_to_author.clone());
    let (user, name) = if !args.is_empty() {
        // `@username`, or the name members see (`/whois 小王`, `/whois @小王`).
        let wanted = args.strip_prefix('@').unwrap_or(args).trim();
        let by_username = match args.strip_prefix('@') {
            Some(username) => queries::member_by_username(cx.tx, chat, username.trim()).await?,
            None => None,
        };
        let found = match by_username {
            Some(member) => vec![member],
            None => queries::members_by_name(cx.tx, chat, wanted, MAX_NAME_MATCHES + 1).await?,
        };
        match found.as_slice() {
            [(id, name, _)] => (*id, name.clone()),
            [] => {
                let text = cx.text("welcome.unknown_member", context! { who => args });
                cx.reply(text);
                return Ok(CommandOutcome::Done);
            }
            several => {
                let names: Vec<String> = several
                    .iter()
                    .take(MAX_NAME_MATCHES as usize)
                    .map(|(_, name, username)| match username {
                        Some(username) => format!("{name} (@{username})"),
                        None => name.clone(),
                    })
                    .collect();
                let more = several.len() > MAX_NAME_MATCHES as usize;
                let text = cx.text(
                    "welcome.several_members",
                    context! { who => wanted, names, more },
                );
                cx.reply(text);
                return Ok(CommandOutcome::Done);
            }
        }
    } else if let Some(replied) = replied.filter(|user| !user.is_bot) {
        (replied.id, replied.display_name())
    } else {
        (asker.id, asker.display_name())
    };
    let text = match queries::profile(cx.tx, chat, user).await? {
        Some(profile) => card(cx, &profile, &name),
        None => cx.text(
            "welcome.no_card",
            context! { own => user == asker.id, name },
        ),
    };
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

fn card(cx: &Cx<'_>, profile: &queries::Profile, name: &str) -> String {
    let language = cx.language();
    let birthday = match (profile.birthday_month, profile.birthday_day) {
        (Some(month), Some(day)) => Some(birthday::describe(
            &birthday::Birthday {
                month: month as u32,
                day: day as u32,
                lunar: profile.birthday_lunar != 0,
                year: profile.birthday_year.map(|y| y as i32),
            },
            language,
        )),
        // Not a date the bot could read: shown as the member wrote it.
        _ => profile.birthday_text.clone(),
    };
    let updated = chrono::DateTime::from_timestamp(profile.updated_at, 0)
        .map(|at| {
            at.with_timezone(&cx.group.timezone)
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default();
    cx.text(
        "welcome.card",
        context! {
            name,
            fields => profile.fields().into_iter().filter(|(_, v)| !v.is_empty()).collect::<Vec<_>>(),
            birthday,
            updated,
        },
    )
}

/// `/find 上海` looks for a word in every field; `/find 坐标=上海` in one field.
pub(super) async fn find(cx: &mut Cx<'_>, query: &str) -> FeatureResult<CommandOutcome> {
    if query.is_empty() {
        return Ok(CommandOutcome::BadArguments);
    }
    if cx.role < Role::Admin && !cx.group.section::<WelcomeSettings>().find_for_members {
        let text = cx.text("welcome.find_admins_only", context! {});
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let (field, word) = match query.split_once(['=', '＝']) {
        Some((field, word)) if !field.trim().is_empty() && !word.trim().is_empty() => {
            (Some(field.trim()), word.trim())
        }
        _ => (None, query),
    };
    let word_lower = word.to_lowercase();
    let language = cx.language();
    let mut lines = Vec::new();
    for profile in queries::profiles(cx.tx, cx.chat()).await? {
        let hits: Vec<(String, String)> = profile
            .fields()
            .into_iter()
            .filter(|(name, value)| {
                field.is_none_or(|field| intro::means_field(name, field))
                    && value.to_lowercase().contains(&word_lower)
            })
            .collect();
        // Names, not @mentions: a search should not notify everyone it finds.
        let name = profile
            .display_name
            .clone()
            .unwrap_or_else(|| format!("user {}", profile.user_id));
        // A plain word finds members by the name the group sees too (`/find 小王`).
        let by_name = field.is_none() && name.to_lowercase().contains(&word_lower);
        if hits.is_empty() && !by_name {
            continue;
        }
        if hits.is_empty() {
            lines.push(format!("• {name}"));
            continue;
        }
        let found = hits
            .iter()
            .map(|(field, value)| match language {
                Language::ZhCn => format!("{field}：{value}"),
                Language::En => format!("{field}: {value}"),
            })
            .collect::<Vec<_>>()
            .join(" | ");
        lines.push(format!("• {name} | {found}"));
    }
    let text = if lines.is_empty() {
        cx.text("welcome.find_none", context! { query })
    } else {
        let total = lines.len();
        let more = total.saturating_sub(MAX_FOUND);
        lines.truncate(MAX_FOUND);
        cx.text(
            "welcome.find_results",
            context! { query, total, lines, more },
        )
    };
    cx.reply(text);
    Ok(CommandOutcome::Done)
}
