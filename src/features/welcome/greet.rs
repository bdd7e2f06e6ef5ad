//! The welcome message: the `greet` timer posts one welcome for everyone who joined since the
//! last (with the captcha question and its buttons when one is owed), tidies it once its
//! newcomers have answered, and names members so that Telegram notifies them. `mix` makes the
//! "random" choices (which text, which question) the same when an event is handled again.

use minijinja::context;

use super::MAX_NAMED;
use super::captcha::Question;
use super::config::{Captcha, WelcomeSettings};
use super::queries::{self, Newcomer};
use crate::core::action::{Action, Button, MAX_MESSAGE_CHARS};
use crate::core::context::Cx;
use crate::core::feature::FeatureResult;
use crate::core::i18n::Language;

/// A newcomer who joined longer ago than this (the bot was down) is not welcomed any more.
const STALE_WELCOME_SECS: i64 = 30 * 60;

/// Posts one welcome for everyone who joined since the last one.
pub(super) async fn greet(cx: &mut Cx<'_>) -> FeatureResult {
    let chat = cx.chat();
    let settings = cx.group.section::<WelcomeSettings>().clone();
    let language = cx.language();
    let mut newcomers = Vec::new();
    for newcomer in queries::take_pending(cx.tx, chat).await? {
        // Gone already, or banned by someone meanwhile: no welcome.
        if queries::is_present(cx.tx, chat, newcomer.user_id).await? {
            newcomers.push(newcomer);
        }
    }
    let Some(first) = newcomers.first() else {
        return Ok(());
    };
    let batch = queries::next_batch(cx.tx, chat).await?;
    let seed = mix(chat as u64 ^ mix(batch as u64 ^ mix(first.user_id as u64)));

    // After an outage, a welcome for someone who joined long ago would only puzzle the chat;
    // a captcha question is still owed, though.
    let now = cx.now.timestamp();
    let greeted: Vec<&Newcomer> = newcomers
        .iter()
        .filter(|n| now - n.joined_at <= STALE_WELCOME_SECS)
        .collect();
    let mut greeting = String::new();
    if !greeted.is_empty()
        && let Some(template) = pick_welcome(cx, seed)
    {
        let vars = welcome_vars(cx, &greeted, language).await?;
        greeting = cx.render(&template, vars).unwrap_or_default();
    }
    let mut parts = Vec::new();
    if !greeting.is_empty() {
        parts.push(greeting.clone());
    }

    let answering: Vec<&Newcomer> = newcomers.iter().filter(|n| n.captcha != 0).collect();
    let mut buttons = Vec::new();
    if !answering.is_empty() && settings.captcha != Captcha::Off {
        let question = Question::new(settings.captcha, seed);
        let mut asked = Vec::new();
        for newcomer in &answering {
            if queries::ask_captcha(
                cx.tx,
                chat,
                newcomer.user_id,
                batch,
                &question.answer.to_string(),
            )
            .await?
            {
                asked.push(*newcomer);
            }
        }
        if !asked.is_empty() {
            let mention = mentions(&asked, language);
            let key = match settings.captcha {
                Captcha::Math => "welcome.captcha_math",
                _ => "welcome.captcha_button",
            };
            parts.push(cx.text(
                key,
                context! {
                    mention,
                    minutes => settings.captcha_minutes,
                    target => question.options[question.answer].clone(),
                    question => question.prompt.clone(),
                },
            ));
            buttons = vec![
                question
                    .options
                    .iter()
                    .enumerate()
                    .filter_map(|(index, label)| {
                        Button::new(label.clone(), format!("welcome:{batch}:{index}"))
                    })
                    .collect(),
            ];
        }
    }
    if parts.is_empty() {
        return Ok(());
    }
    // The question must survive a long greeting: the greeting gives way, not the question.
    if let [greeting, question] = parts.as_mut_slice() {
        let room = MAX_MESSAGE_CHARS.saturating_sub(question.chars().count() + 3);
        if greeting.chars().count() > room {
            *greeting = greeting.chars().take(room).collect::<String>() + "…";
        }
    }
    let text = parts.join("\n\n");
    cx.send_keyed(format!("welcome:{batch}"), text, buttons);
    // What stays on screen once the captcha is answered: the greeting alone.
    let members: Vec<i64> = newcomers.iter().map(|n| n.user_id).collect();
    queries::record_post(
        cx.tx,
        chat,
        batch,
        &greeting,
        &members,
        cx.event.at.timestamp(),
    )
    .await?;
    if settings.delete_previous {
        for post in queries::tidy_candidates(cx.tx, chat).await? {
            delete_welcome(cx, post.batch).await?;
        }
    }
    Ok(())
}

/// The name of the welcome template to use: one of the operator's, picked by `seed`, or the
/// built-in one. `None` when the operator wants no welcome text.
fn pick_welcome(cx: &Cx<'_>, seed: u64) -> Option<String> {
    match &cx.group.section::<WelcomeSettings>().texts {
        Some(texts) if texts.is_empty() => None,
        Some(texts) => Some(texts[(seed % texts.len() as u64) as usize].clone()),
        None => Some(crate::core::i18n::message_template_name(
            cx.language(),
            "welcome.greeting",
        )),
    }
}

/// What a welcome template can use: what `welcome_vars` fills in.
pub(super) const WELCOME_VARS: &[&str] = &[
    "mention",
    "name",
    "names",
    "count",
    "group",
    "known_members",
    "rules",
    "rules_hint",
    "intro",
    "captcha",
];

pub(super) async fn welcome_vars(
    cx: &mut Cx<'_>,
    newcomers: &[&Newcomer],
    language: Language,
) -> FeatureResult<minijinja::Value> {
    let chat = cx.chat();
    let shown = &newcomers[..newcomers.len().min(MAX_NAMED)];
    let names: Vec<String> = shown.iter().map(|n| newcomer_name(n)).collect();
    let separator = match language {
        Language::ZhCn => "、",
        Language::En => ", ",
    };
    let rules = match cx.group.rules_template.clone() {
        Some(template) => cx.render(&template, context! { chat => cx.event.chat.title.clone() }),
        None => None,
    };
    let rules_hint = rules
        .is_some()
        .then(|| cx.text("welcome.rules_hint", context! {}));
    let known_members = queries::known_members(cx.tx, chat).await?;
    Ok(context! {
        mention => mentions(newcomers, language),
        name => names.join(separator),
        names,
        count => newcomers.len(),
        group => cx.event.chat.title.clone(),
        known_members,
        rules,
        rules_hint,
        intro => cx.group.section::<WelcomeSettings>().intro_template(language).to_owned(),
        captcha => newcomers.iter().any(|n| n.captcha != 0),
    })
}

fn newcomer_name(newcomer: &Newcomer) -> String {
    newcomer
        .display_name
        .clone()
        .unwrap_or_else(|| format!("user {}", newcomer.user_id))
}

/// How the bot names a member so that Telegram notifies them: @username when they have one.
/// (Messages go out as plain text, so a member without a username is named, not linked.)
pub(super) fn mention_of(name: String, username: Option<&str>) -> String {
    match username {
        Some(username) if !username.is_empty() => format!("@{username}"),
        _ => name,
    }
}

pub(super) fn mentions(newcomers: &[&Newcomer], language: Language) -> String {
    let separator = match language {
        Language::ZhCn => "、",
        Language::En => ", ",
    };
    let mut text = newcomers
        .iter()
        .take(MAX_NAMED)
        .map(|n| mention_of(newcomer_name(n), n.username.as_deref()))
        .collect::<Vec<_>>()
        .join(separator);
    if newcomers.len() > MAX_NAMED {
        let more = newcomers.len() - MAX_NAMED;
        text.push_str(&match language {
            Language::ZhCn => format!(" 等 {} 位", newcomers.len()),
            Language::En => format!(" and {more} more"),
        });
    }
    text
}

/// After a newcomer of welcome `batch` has answered (or gone): once nobody in it still has to
/// answer, its buttons come off, or, if it is not the newest and the group keeps tidy, it goes.
pub(super) async fn tidy_welcome(cx: &mut Cx<'_>, batch: i64) -> FeatureResult {
    let chat = cx.chat();
    let still_open: Option<(i64,)> = cx
        .tx
        .fetch_optional(
            "SELECT user_id FROM welcome_captchas WHERE chat_id = $1 AND batch = $2 LIMIT 1",
            crate::args![chat, batch],
        )
        .await?;
    if still_open.is_some() {
        return Ok(());
    }
    let Some((post, deleted)) = queries::post(cx.tx, chat, batch).await? else {
        return Ok(());
    };
    if deleted {
        return Ok(());
    }
    let newest = queries::latest_batch(cx.tx, chat).await? == Some(batch);
    // A welcome for people who were all removed (or left) greets nobody.
    let mut anyone_here = false;
    for member in post.members() {
        anyone_here |= queries::is_present(cx.tx, chat, member).await?;
    }
    if post.text.is_empty()
        || !anyone_here
        || (cx.group.section::<WelcomeSettings>().delete_previous && !newest)
    {
        delete_welcome(cx, batch).await
    } else {
        cx.edit_keyed(format!("welcome:{}", post.batch), post.text, Vec::new());
        Ok(())
    }
}

async fn delete_welcome(cx: &mut Cx<'_>, batch: i64) -> FeatureResult {
    let chat = cx.chat();
    cx.queue(Action::Delete {
        chat,
        message: crate::core::action::MessageRef::Key(format!("welcome:{batch}")),
    });
    queries::mark_deleted(cx.tx, chat, batch).await?;
    Ok(())
}

/// SplitMix64's finaliser: a cheap, well-spread hash of one number, so that "random" choices
/// are the same when an event is handled again.
pub(super) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
