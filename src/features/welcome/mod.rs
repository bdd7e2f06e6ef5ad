//! Greeting and onboarding newcomers: the welcome message, the optional captcha, the
//! self-introduction (自我介绍) form and cards, and the follow-up for those who never introduce
//! themselves.
//!
//! Everything that happens later is a timer (`Cx::set_timer`), so it survives a restart:
//! - `greet`: the next welcome. Set by the first joiner of a wave and not moved by later
//!   ones, so everybody who joins before it goes out is greeted in one message.
//! - `captcha:<user>`: the newcomer's deadline to answer.
//! - `remind:<user>`, `act:<user>`: the follow-up when no introduction has come.
//!
//! Random choices (which welcome text, which captcha question) come from a hash of the chat and
//! the welcome's number, so handling the same timer again picks the same.

pub mod birthday;
pub mod config;
pub mod intro;
mod queries;

use async_trait::async_trait;
use chrono::{DateTime, Duration};
use minijinja::context;

use self::config::WelcomeSettings;
use crate::core::action::{Action, Button, MAX_MESSAGE_CHARS};
use crate::core::commands::Invocation;
use crate::core::context::{Cx, Role};
use crate::core::event::{EventKind, MessageId, User, UserId};
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::i18n::Language;
use crate::core::settings::SectionSlot;
use config::{Captcha, FollowUpAction};
use queries::Newcomer;

const NAME: &str = "welcome";
/// At most this many newcomers are named in one welcome; a raid of hundreds still gets one
/// message of readable length.
const MAX_NAMED: usize = 30;
/// A second wrong captcha answer removes the newcomer.
const MAX_WRONG: i64 = 2;
/// A newcomer who joined longer ago than this (the bot was down) is not welcomed any more.
const STALE_WELCOME_SECS: i64 = 30 * 60;
/// A newcomer's message this soon after the captcha restricted them was sent before the
/// restriction took hold (the mute is on its way); one later means it did not hold, and the
/// mute is sent again.
const RESTRICTION_LAG_SECS: i64 = 30;
/// Follow-up timers falling due within this many seconds of each other (people who joined in
/// one wave) are handled in one message.
const WAVE_SECS: i64 = 60;
/// How many cards /find lists.
const MAX_FOUND: usize = 15;
/// How many members /whois names when a name fits several.
const MAX_NAME_MATCHES: i64 = 5;

pub struct Welcome;

#[async_trait]
impl Feature for Welcome {
    fn name(&self) -> &'static str {
        NAME
    }

    fn commands(&self) -> &'static [&'static str] {
        &["intro", "whois", "find"]
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<config::WelcomeSettings>()]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests!["intro.toml", "whois.toml", "find.toml"]
    }

    fn migrations(&self) -> Option<crate::store::Migrations> {
        Some(crate::migrations!(
            "src/features/welcome/migrations/sqlite",
            "src/features/welcome/migrations/postgres"
        ))
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        match invocation.name.as_str() {
            "intro" => {
                show_template(cx);
                Ok(CommandOutcome::Done)
            }
            "whois" => whois(cx, invocation.args.trim()).await,
            "find" => find(cx, invocation.args.trim()).await,
            _ => Ok(CommandOutcome::Done),
        }
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        if !cx.event.chat.kind.is_group() {
            return Ok(());
        }
        match &cx.event.kind {
            EventKind::MemberJoined {
                member,
                message,
                restricted,
                ..
            } => {
                let (member, message, restricted) = (member.clone(), *message, *restricted);
                on_join(cx, &member, message, restricted).await
            }
            EventKind::RestrictionLifted { member, by } => {
                // An admin let a newcomer write by hand: their captcha is settled. (The bot's
                // own unmutes come back as such updates too; those settle nothing new.)
                if by.as_ref().is_some_and(|admin| admin.id != cx.bot.id) {
                    let member = member.clone();
                    let_in_by_hand(cx, &member).await?;
                }
                Ok(())
            }
            EventKind::MemberLeft {
                member,
                removed_by,
                message,
            } => {
                let (member, by_themselves, message) =
                    (member.clone(), removed_by.is_none(), *message);
                on_leave(cx, &member, by_themselves, message).await
            }
            EventKind::Message(message) if !cx.is_command && message.by_a_person() => {
                let (from, id, text) = (message.from.clone(), message.id, message.text.clone());
                on_message(cx, &from, id, &text).await
            }
            EventKind::ButtonPressed {
                from,
                callback_id,
                data,
                ..
            } => match data.strip_prefix("welcome:") {
                Some(choice) => {
                    let (from, callback, choice) =
                        (from.clone(), callback_id.clone(), choice.to_owned());
                    on_press(cx, &from, &callback, &choice).await
                }
                None => Ok(()),
            },
            EventKind::Timer { key, .. } => {
                let key = key.clone();
                on_timer(cx, &key).await
            }
            _ => Ok(()),
        }
    }

    /// Telegram's two reports of one join or leave come in either order; whichever carries
    /// the service message, that line is deleted.
    async fn on_echo(&self, cx: &mut Cx<'_>) -> FeatureResult {
        if let EventKind::MemberJoined { message, .. } | EventKind::MemberLeft { message, .. } =
            &cx.event.kind
        {
            let message = *message;
            delete_service_message(cx, message);
        }
        Ok(())
    }

    async fn migrate_chat(&self, tx: &mut crate::store::Tx, from: i64, to: i64) -> FeatureResult {
        queries::migrate(tx, from, to).await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Joining and leaving

async fn on_join(
    cx: &mut Cx<'_>,
    member: &User,
    service: Option<MessageId>,
    still_restricted: bool,
) -> FeatureResult {
    let settings = cx.group.section::<WelcomeSettings>().clone();
    let chat = cx.chat();
    delete_service_message(cx, service);
    if member.is_bot || member.id == cx.bot.id {
        return Ok(());
    }
    let at = cx.event.at;
    // Someone an admin added is vouched for. (For a join, the event's actor is whoever added
    // the member, so `role` is the adder's standing.)
    let added_by_admin =
        cx.event.actor().is_some_and(|actor| actor.id != member.id) && cx.role >= Role::Admin;
    // Someone who comes back still muted (by the rules, an admin or the follow-up) gets no
    // captcha: passing it would lift a mute that is not the captcha's.
    let captcha = settings.captcha != Captcha::Off
        && !added_by_admin
        && !still_restricted
        && can_restrict_for_captcha(cx).await?;
    if captcha {
        queries::open_captcha(cx.tx, chat, member.id, at.timestamp()).await?;
        cx.queue(Action::Mute {
            chat,
            user: member.id,
            until: None,
        });
        // Counted from when the bot can ask: a join handled late (after an outage) still
        // leaves the newcomer the whole time to answer.
        let deadline = at.max(cx.now) + Duration::minutes(settings.captcha_minutes);
        cx.set_timer(NAME, &format!("captcha:{}", member.id), deadline, "")
            .await?;
    }
    // A member who introduced themselves before (and came back) is not chased again.
    if !queries::has_profile(cx.tx, chat, member.id).await? {
        queries::start_followup(cx.tx, chat, member.id, at.timestamp()).await?;
        if settings.remind_after_hours > 0 {
            let due = at + Duration::hours(settings.remind_after_hours);
            cx.set_timer(NAME, &format!("remind:{}", member.id), due, "")
                .await?;
        }
        if settings.act_after_hours > 0 && settings.action != FollowUpAction::None {
            let due = at + Duration::hours(settings.act_after_hours);
            cx.set_timer(NAME, &format!("act:{}", member.id), due, "")
                .await?;
        }
    }
    let greets = settings
        .texts
        .as_ref()
        .is_none_or(|texts| !texts.is_empty());
    if greets || captcha {
        queries::add_pending(cx.tx, chat, member.id, at.timestamp(), captcha).await?;
        // The first joiner of a wave sets the time; later ones ride along.
        // A greeting already claimed but not yet handled counts too: setting the timer again
        // would make that firing stale and push the greeting (and the question) back.
        if !crate::store::timers::waiting(cx.tx, chat, NAME, "greet").await? {
            let due = at + Duration::seconds(settings.delay_secs);
            cx.set_timer(NAME, "greet", due, "").await?;
        }
    }
    Ok(())
}

/// Deletes Telegram's "X joined / left the group" line if the group wants it gone and the bot
/// may (without the right, trying would only fill the log).
fn delete_service_message(cx: &mut Cx<'_>, service: Option<MessageId>) {
    if cx
        .group
        .section::<WelcomeSettings>()
        .delete_service_messages
        && let Some(service) = service
        && cx
            .bot_rights
            .is_none_or(|rights| rights.can_delete_messages)
    {
        cx.delete_message(service);
    }
}

/// Whether the bot may restrict newcomers. If the platform says it may not, the captcha is
/// skipped (greeting normally) and the group's log chat is told once, not at every join.
async fn can_restrict_for_captcha(cx: &mut Cx<'_>) -> FeatureResult<bool> {
    let chat = cx.chat();
    match cx.bot_rights {
        Some(rights) if !rights.can_restrict_members => {
            if queries::warn_once(cx.tx, chat).await? {
                tracing::warn!(
                    chat,
                    "captcha is on but the bot may not restrict members; greeting without it"
                );
                let detail = cx.text("welcome.captcha_cannot_restrict", context! {});
                cx.audit(None, None, "captcha", &detail).await?;
            }
            Ok(false)
        }
        // Unknown rights (the lookup failed): try, and let the platform say no.
        _ => {
            queries::clear_warning(cx.tx, chat).await?;
            Ok(true)
        }
    }
}

async fn on_leave(
    cx: &mut Cx<'_>,
    member: &User,
    by_themselves: bool,
    service: Option<MessageId>,
) -> FeatureResult {
    let settings = cx.group.section::<WelcomeSettings>().clone();
    let chat = cx.chat();
    delete_service_message(cx, service);
    if member.is_bot {
        return Ok(());
    }
    forget_newcomer(cx, member.id).await?;
    if by_themselves && !settings.leave_texts.is_empty() {
        let index = (mix(chat as u64 ^ mix(member.id as u64 ^ mix(cx.event.at.timestamp() as u64)))
            % settings.leave_texts.len() as u64) as usize;
        let vars = context! {
            name => member.display_name(),
            mention => mention_of(member.display_name(), member.username.as_deref()),
            group => cx.event.chat.title.clone(),
        };
        if let Some(text) = cx.render(&settings.leave_texts[index], vars)
            && !text.is_empty()
        {
            cx.send(text);
        }
    }
    Ok(())
}

/// Drops everything still waiting for a newcomer who is gone.
async fn forget_newcomer(cx: &mut Cx<'_>, user: UserId) -> FeatureResult {
    let chat = cx.chat();
    queries::drop_pending(cx.tx, chat, user).await?;
    for timer in ["captcha", "remind", "act"] {
        cx.cancel_timer(NAME, &format!("{timer}:{user}")).await?;
    }
    if let Some(batch) = queries::close_captcha(cx.tx, chat, user).await? {
        tidy_welcome(cx, batch).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The welcome message

async fn on_timer(cx: &mut Cx<'_>, key: &str) -> FeatureResult {
    if key == "greet" {
        return greet(cx).await;
    }
    let Some((kind, user)) = key
        .split_once(':')
        .and_then(|(kind, user)| Some((kind, user.parse::<UserId>().ok()?)))
    else {
        tracing::warn!(key, "unknown welcome timer");
        return Ok(());
    };
    match kind {
        "captcha" => captcha_expired(cx, user).await,
        "remind" => remind(cx, user).await,
        "act" => act_on_silence(cx, user).await,
        _ => Ok(()),
    }
}

/// Posts one welcome for everyone who joined since the last one.
async fn greet(cx: &mut Cx<'_>) -> FeatureResult {
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

async fn welcome_vars(
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
fn mention_of(name: String, username: Option<&str>) -> String {
    match username {
        Some(username) if !username.is_empty() => format!("@{username}"),
        _ => name,
    }
}

fn mentions(newcomers: &[&Newcomer], language: Language) -> String {
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
async fn tidy_welcome(cx: &mut Cx<'_>, batch: i64) -> FeatureResult {
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

// ---------------------------------------------------------------------------------------------
// The captcha

/// What the newcomer is asked: the buttons' labels and which one is right.
struct Question {
    /// For arithmetic, the sum to work out ("3 + 4").
    prompt: String,
    options: Vec<String>,
    answer: usize,
}

impl Question {
    fn new(kind: Captcha, seed: u64) -> Question {
        const SYMBOLS: &[&str] = &["🍎", "🍌", "🍇", "🍉", "🍒", "🥝", "🍋", "🍑"];
        let answer = (seed % 4) as usize;
        match kind {
            Captcha::Math => {
                let a = 1 + (seed >> 8) % 9;
                let b = 1 + (seed >> 16) % 9;
                let sum = a + b;
                // Four consecutive numbers around the sum, none below 1.
                let lowest = sum.saturating_sub(answer as u64).max(1);
                let answer = (sum - lowest) as usize;
                let options = (0..4u64)
                    .map(|index| (lowest + index).to_string())
                    .collect();
                Question {
                    prompt: format!("{a} + {b}"),
                    options,
                    answer,
                }
            }
            _ => {
                let start = ((seed >> 8) % SYMBOLS.len() as u64) as usize;
                let options = (0..4)
                    .map(|index| SYMBOLS[(start + index * 3) % SYMBOLS.len()].to_owned())
                    .collect();
                Question {
                    prompt: String::new(),
                    options,
                    answer,
                }
            }
        }
    }
}

async fn on_press(cx: &mut Cx<'_>, from: &User, callback: &str, choice: &str) -> FeatureResult {
    let chat = cx.chat();
    let Some((batch, index)) = choice
        .split_once(':')
        .and_then(|(batch, index)| Some((batch.parse::<i64>().ok()?, index.to_owned())))
    else {
        return Ok(());
    };
    let open = queries::captcha(cx.tx, chat, from.id).await?;
    let Some(open) = open.filter(|open| open.batch == Some(batch)) else {
        // A second tap by someone who has just passed is not "someone else".
        let greeted_here = queries::post(cx.tx, chat, batch)
            .await?
            .is_some_and(|(post, _)| post.members().contains(&from.id));
        let key = if greeted_here {
            "welcome.captcha_passed"
        } else {
            "welcome.captcha_not_yours"
        };
        let text = cx.text(key, context! {});
        answer(cx, callback, text);
        return Ok(());
    };
    if open.answer.as_deref() == Some(index.as_str()) {
        queries::close_captcha(cx.tx, chat, from.id).await?;
        cx.cancel_timer(NAME, &format!("captcha:{}", from.id))
            .await?;
        cx.queue(Action::Unmute {
            chat,
            user: from.id,
        });
        let text = cx.text("welcome.captcha_passed", context! {});
        answer(cx, callback, text);
        tidy_welcome(cx, batch).await?;
    } else if open.wrong + 1 >= MAX_WRONG {
        let text = cx.text("welcome.captcha_failed", context! {});
        answer(cx, callback, text);
        let why = cx.text("welcome.audit_captcha_failed", context! {});
        remove(cx, from.id, &why).await?;
    } else {
        queries::count_wrong(cx.tx, chat, from.id).await?;
        let text = cx.text("welcome.captcha_wrong", context! {});
        answer(cx, callback, text);
    }
    Ok(())
}

fn answer(cx: &mut Cx<'_>, callback: &str, text: String) {
    cx.queue(Action::AnswerButton {
        chat: cx.chat(),
        callback_id: callback.to_owned(),
        text: Some(text),
        alert: false,
    });
}

async fn captcha_expired(cx: &mut Cx<'_>, user: UserId) -> FeatureResult {
    let Some(open) = queries::captcha(cx.tx, cx.chat(), user).await? else {
        // Answered or gone in the meantime.
        return Ok(());
    };
    // The newcomer gets the whole time from when the question was actually asked: not yet
    // (a long welcome delay, or both timers fired together after an outage) or only just.
    let minutes = Duration::minutes(cx.group.section::<WelcomeSettings>().captcha_minutes);
    let asked_at = match open.batch {
        Some(batch) => queries::posted_at(cx.tx, cx.chat(), batch).await?,
        None => None,
    };
    let full_time_from = match (open.batch, asked_at) {
        (None, _) => Some(cx.now.max(cx.event.at)),
        (Some(_), Some(asked)) => DateTime::from_timestamp(asked, 0),
        (Some(_), None) => None,
    };
    if let Some(from) = full_time_from
        && from + minutes > cx.event.at
    {
        cx.set_timer(NAME, &format!("captcha:{user}"), from + minutes, "")
            .await?;
        return Ok(());
    }
    let why = cx.text(
        "welcome.audit_captcha_timeout",
        context! { minutes => cx.group.section::<WelcomeSettings>().captcha_minutes },
    );
    remove(cx, user, &why).await
}

/// Removes a member so that they can come back: ban, then lift the ban at once. `why` goes
/// to the audit log.
async fn remove(cx: &mut Cx<'_>, user: UserId, why: &str) -> FeatureResult {
    let chat = cx.chat();
    cx.queue(Action::Ban {
        chat,
        user,
        until: None,
    });
    cx.queue(Action::Unban { chat, user });
    queries::mark_removed(cx.tx, chat, user, cx.event.at.timestamp()).await?;
    let target = member_user(cx, user).await?;
    forget_newcomer(cx, user).await?;
    cx.audit(None, Some(&target), "remove", why).await?;
    Ok(())
}

/// A member as the members table knows them (for audit lines and mentions).
async fn member_user(cx: &mut Cx<'_>, user: UserId) -> FeatureResult<User> {
    Ok(match queries::member(cx.tx, cx.chat(), user).await? {
        Some((id, name, username)) => User {
            username,
            ..User::named(id, name)
        },
        None => User::named(user, format!("user {user}")),
    })
}

// ---------------------------------------------------------------------------------------------
// Follow-up of newcomers who do not introduce themselves

/// Whether the follow-up still applies: the member is here and has not introduced themselves.
async fn still_silent(cx: &mut Cx<'_>, user: UserId) -> FeatureResult<bool> {
    let chat = cx.chat();
    // A newcomer made an admin meanwhile is vouched for.
    Ok(!cx.is_admin(user)
        && queries::is_present(cx.tx, chat, user).await?
        && !queries::has_introduced(cx.tx, chat, user).await?)
}

/// The wave of newcomers whose `step` is due with `user`'s (they joined together), still here
/// and still without an introduction. One message covers them all; each is named once,
/// however their timers fire (one by one, or all at once after an outage).
async fn silent_wave(
    cx: &mut Cx<'_>,
    step: queries::Step,
    user: UserId,
) -> FeatureResult<Vec<User>> {
    let chat = cx.chat();
    let wave = queries::take_wave(cx.tx, chat, user, step, WAVE_SECS).await?;
    let kind = match step {
        queries::Step::Remind => "remind",
        queries::Step::Act => "act",
    };
    let mut silent = Vec::new();
    for member in wave {
        if member != user {
            cx.cancel_timer(NAME, &format!("{kind}:{member}")).await?;
        }
        if still_silent(cx, member).await? {
            silent.push(member_user(cx, member).await?);
        }
    }
    Ok(silent)
}

fn mention_all(members: &[User], language: Language) -> String {
    let newcomers: Vec<Newcomer> = members
        .iter()
        .map(|member| Newcomer {
            user_id: member.id,
            joined_at: 0,
            captcha: 0,
            display_name: Some(member.display_name()),
            username: member.username.clone(),
        })
        .collect();
    mentions(&newcomers.iter().collect::<Vec<_>>(), language)
}

/// The follow-up's quiet hours when the group sets none for its scheduled posts: nobody is
/// pinged about an introduction at night.
const FOLLOWUP_QUIET: (u32, u32) = (23, 8);

/// When a follow-up step due now should happen instead: the end of the group's quiet hours
/// (`schedule.quiet_hours`, else 23:00–08:00), or `None` if now is not in them.
fn after_quiet_hours(cx: &Cx<'_>) -> Option<DateTime<chrono::Utc>> {
    use chrono::{NaiveTime, TimeZone};
    let (from, to) = cx.group.schedule.quiet_hours.unwrap_or((
        NaiveTime::from_hms_opt(FOLLOWUP_QUIET.0, 0, 0)?,
        NaiveTime::from_hms_opt(FOLLOWUP_QUIET.1, 0, 0)?,
    ));
    let tz = cx.group.timezone;
    let local = cx.now.with_timezone(&tz);
    let time = local.time();
    let quiet = if from < to {
        from <= time && time < to
    } else {
        time >= from || time < to
    };
    if !quiet {
        return None;
    }
    let day = if time < to {
        local.date_naive()
    } else {
        local.date_naive().succ_opt()?
    };
    let end = tz.from_local_datetime(&day.and_time(to));
    // A time the clocks skip (DST) is taken as the hour after it.
    let end = end.earliest().or_else(|| {
        tz.from_local_datetime(&(day.and_time(to) + Duration::hours(1)))
            .earliest()
    })?;
    Some(end.with_timezone(&chrono::Utc))
}

/// Puts off a follow-up step that fell in the quiet hours to their end; `true` if it did.
/// The timer is the state, so a restart keeps it.
async fn put_off_if_quiet(cx: &mut Cx<'_>, kind: &str, user: UserId) -> FeatureResult<bool> {
    let Some(end) = after_quiet_hours(cx) else {
        return Ok(false);
    };
    cx.set_timer(NAME, &format!("{kind}:{user}"), end, "")
        .await?;
    Ok(true)
}

async fn remind(cx: &mut Cx<'_>, user: UserId) -> FeatureResult {
    if put_off_if_quiet(cx, "remind", user).await? {
        return Ok(());
    }
    let members = silent_wave(cx, queries::Step::Remind, user).await?;
    if members.is_empty() {
        return Ok(());
    }
    let language = cx.language();
    // Everyone is named (a reminder that does not notify is no reminder), a few dozen to a
    // message.
    for chunk in members.chunks(MAX_NAMED) {
        let text = cx.text(
            "welcome.reminder",
            context! {
                mention => mention_all(chunk, language),
                hours => cx.group.section::<WelcomeSettings>().remind_after_hours,
                intro => cx.group.section::<WelcomeSettings>().intro_template(language).to_owned(),
            },
        );
        cx.send(text);
    }
    Ok(())
}

async fn act_on_silence(cx: &mut Cx<'_>, user: UserId) -> FeatureResult {
    if put_off_if_quiet(cx, "act", user).await? {
        return Ok(());
    }
    // Both put off to the same morning: the reminder goes first, and the action waits the
    // time the group leaves between them.
    let settings = cx.group.section::<WelcomeSettings>();
    let gap = settings.act_after_hours - settings.remind_after_hours;
    if settings.remind_after_hours > 0
        && gap > 0
        && crate::store::timers::waiting(cx.tx, cx.chat(), NAME, &format!("remind:{user}")).await?
    {
        let due = cx.now + Duration::hours(gap);
        cx.set_timer(NAME, &format!("act:{user}"), due, "").await?;
        return Ok(());
    }
    let members = silent_wave(cx, queries::Step::Act, user).await?;
    if members.is_empty() {
        return Ok(());
    }
    let settings = cx.group.section::<WelcomeSettings>().clone();
    if cx
        .bot_rights
        .is_some_and(|rights| !rights.can_restrict_members)
    {
        tracing::warn!(
            chat = cx.chat(),
            user,
            "newcomer follow-up wants to restrict, but the bot may not"
        );
        return Ok(());
    }
    let hours = settings.act_after_hours;
    let vars = context! {
        mention => mention_all(&members, cx.language()),
        hours,
    };
    let why = cx.text("welcome.audit_no_intro", context! { hours });
    match settings.action {
        FollowUpAction::None => {}
        FollowUpAction::Mute => {
            let text = cx.text("welcome.muted_for_no_intro", vars);
            cx.send(text);
            for member in &members {
                cx.queue(Action::Mute {
                    chat: cx.chat(),
                    user: member.id,
                    until: None,
                });
                cx.audit(None, Some(member), "mute", &why).await?;
            }
        }
        FollowUpAction::Kick => {
            let text = cx.text("welcome.kicked_for_no_intro", vars);
            cx.send(text);
            for member in &members {
                remove(cx, member.id, &why).await?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Introductions and cards

/// An admin lifted a newcomer's restriction by hand: their captcha is settled and its
/// question taken off the welcome.
async fn let_in_by_hand(cx: &mut Cx<'_>, member: &User) -> FeatureResult {
    let Some(open) = queries::captcha(cx.tx, cx.chat(), member.id).await? else {
        return Ok(());
    };
    queries::close_captcha(cx.tx, cx.chat(), member.id).await?;
    cx.cancel_timer(NAME, &format!("captcha:{}", member.id))
        .await?;
    if let Some(batch) = open.batch {
        tidy_welcome(cx, batch).await?;
    }
    Ok(())
}

async fn on_message(cx: &mut Cx<'_>, from: &User, message: MessageId, text: &str) -> FeatureResult {
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

fn show_template(cx: &mut Cx<'_>) {
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

async fn whois(cx: &mut Cx<'_>, args: &str) -> FeatureResult<CommandOutcome> {
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
async fn find(cx: &mut Cx<'_>, query: &str) -> FeatureResult<CommandOutcome> {
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

/// SplitMix64's finaliser: a cheap, well-spread hash of one number, so that "random" choices
/// are the same when an event is handled again.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_have_four_different_options_and_name_one_of_them() {
        for seed in 0..2000u64 {
            let seed = mix(seed);
            for kind in [Captcha::Button, Captcha::Math] {
                let question = Question::new(kind, seed);
                assert_eq!(question.options.len(), 4);
                assert!(question.answer < 4);
                let mut unique = question.options.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), 4, "{:?}", question.options);
                if kind == Captcha::Math {
                    let (a, b) = question.prompt.split_once(" + ").unwrap();
                    let sum: u64 = a.parse::<u64>().unwrap() + b.parse::<u64>().unwrap();
                    assert_eq!(question.options[question.answer], sum.to_string());
                }
            }
        }
    }
}
