//! The automatic side: every member's message (and every edit: spammers post something clean
//! and edit a link in) goes through the group's checks; the first one it breaks decides what
//! it costs.

use minijinja::context;

use super::checks;
use super::config::{MediaName, Penalty};
use super::records::{self, NewViolation};
use super::{audit, describe, give_warning, lacking_right, notice, rights_are_back, settings};
use crate::core::action::{Action, Button, MessageRef};
use crate::core::context::{Cx, Role};
use crate::core::event::{Media, Message, Origin, User};
use crate::core::feature::FeatureResult;

/// A broken rule: which, what in the message broke it, and what it costs.
struct Found {
    rule: &'static str,
    detail: String,
    penalty: Penalty,
    /// Say nothing in the group (the rest of a flood: the first message was answered).
    quiet: bool,
}

/// Runs the group's checks on a message and deals with the first one it breaks.
pub async fn check(cx: &mut Cx<'_>, message: &Message) -> FeatureResult {
    if !settings(cx).checks_any() || is_exempt(cx, message) {
        return Ok(());
    }
    // Normalised once; every check reads the form it needs.
    let text = checks::Normalised::of(&message.text);
    let sign_up = is_sign_up(cx, message);
    if !message.edited && !sign_up && settings(cx).looks_back() {
        let at = cx.event.at.timestamp();
        records::remember(
            cx.tx,
            cx.chat(),
            message,
            &checks::fingerprint(&text.folded),
            at,
        )
        .await?;
    }
    let Some(mut found) = first_broken_rule(cx, message, &text, sign_up).await? else {
        return Ok(());
    };
    // An album or a batch of forwards breaks a rule several times in a second: that is one
    // offence, answered once; the rest of the burst just goes.
    let at = cx.event.at.timestamp();
    if !found.quiet
        && records::broke_recently(
            cx.tx,
            cx.chat(),
            message.from.id,
            found.rule,
            at - BURST_SECS,
        )
        .await?
    {
        found.penalty = Penalty::Delete;
        found.quiet = true;
    }
    punish(cx, message, found).await
}

/// Breaking the same rule again within this many seconds belongs to the same burst.
const BURST_SECS: i64 = 10;

/// Admins, the bot, the operator's allow-list, anonymous admins and channels (the group's
/// linked channel posts through Telegram's service account) are not policed.
fn is_exempt(cx: &Cx<'_>, message: &Message) -> bool {
    cx.role >= Role::Admin
        || message.anonymous_admin
        || message.sent_as_channel
        || message.from.id == cx.bot.id
        || settings(cx).exempt_users.contains(&message.from.id)
}

/// A sign-in or a relay line (`签到`, `接龙 …`, `+1`, `/join`, `退出`): the same words from many
/// members, or several lines from one in a minute, are what these are for. They are neither
/// remembered nor held against the repeat and flood limits; the content rules still apply.
fn is_sign_up(cx: &Cx<'_>, message: &Message) -> bool {
    let by_command = cx
        .command
        .as_deref()
        .is_some_and(|name| matches!(name, "signin" | "makeup" | "relay" | "join" | "leave"));
    by_command || crate::features::relay::parse::reply_intent(&message.text).is_some()
}

async fn first_broken_rule(
    cx: &mut Cx<'_>,
    message: &Message,
    text: &checks::Normalised,
    sign_up: bool,
) -> FeatureResult<Option<Found>> {
    let rules = settings(cx).clone();
    let chat = cx.chat();
    let user = message.from.id;
    let at = cx.event.at.timestamp();
    let found = |rule, detail: String, penalty| {
        Some(Found {
            rule,
            detail,
            penalty,
            quiet: false,
        })
    };

    if rules.newcomer_links.penalty != Penalty::Off {
        let joined = crate::features::members::find_by_id(cx.tx, chat, user)
            .await?
            .and_then(|known| known.joined_at);
        let new = joined.is_some_and(|joined| at - joined < rules.newcomer_links.minutes * 60);
        if new
            && let Some(address) = checks::forbidden_address(
                &text.linked,
                &message.links,
                &rules.newcomer_links.allow_domains,
            )
        {
            return Ok(found(
                "newcomer_links",
                address,
                rules.newcomer_links.penalty,
            ));
        }
    }
    if rules.links.penalty != Penalty::Off {
        if let Some(address) =
            checks::forbidden_address(&text.linked, &message.links, &rules.links.allow_domains)
        {
            return Ok(found("links", address, rules.links.penalty));
        }
        if rules.links.mentions {
            for name in checks::mentioned_usernames(&text.folded, &message.mentions) {
                let known = name == cx.bot.username.to_lowercase()
                    || crate::features::members::find_by_username(cx.tx, chat, &name)
                        .await?
                        .is_some();
                if !known {
                    return Ok(found("mentions", format!("@{name}"), rules.links.penalty));
                }
            }
        }
    }
    if rules.channel_forwards.penalty != Penalty::Off
        && message.forwarded_from == Some(Origin::Channel)
    {
        return Ok(found(
            "channel_forwards",
            String::new(),
            rules.channel_forwards.penalty,
        ));
    }
    if rules.blocklist.penalty != Penalty::Off
        && let Some(phrase) =
            checks::blocked_phrase(text, &rules.blocklist.words, &rules.blocklist.patterns)
    {
        return Ok(found("blocklist", phrase, rules.blocklist.penalty));
    }
    if rules.filters.any()
        && let Some(phrase) =
            checks::blocked_phrase(text, &rules.filters.words, &rules.filters.patterns)
    {
        return Ok(found("filters", phrase, rules.filters.penalty));
    }
    if rules.media.penalty != Penalty::Off
        && let Some(media) = message.media
        && MediaName::of(media).is_some_and(|name| rules.media.locked.contains(&name))
    {
        return Ok(found(
            "media",
            media_name(media).to_owned(),
            rules.media.penalty,
        ));
    }
    if rules.long_messages.penalty != Penalty::Off {
        let length = message.text.chars().count() as i64;
        if length > rules.long_messages.max_chars {
            return Ok(found(
                "long_messages",
                length.to_string(),
                rules.long_messages.penalty,
            ));
        }
    }
    // An edit is not a new message: it cannot repeat or flood; nor can a sign-in or a relay line.
    if message.edited || sign_up {
        return Ok(None);
    }
    let fingerprint = checks::fingerprint(&text.folded);
    if rules.repeats.penalty != Penalty::Off && !fingerprint.is_empty() {
        let since = at - rules.repeats.seconds;
        let times = records::repeats_between(cx.tx, chat, user, &fingerprint, since, at).await?;
        if times >= rules.repeats.count {
            let quiet = records::broke_recently(cx.tx, chat, user, "repeats", since).await?;
            return Ok(Some(Found {
                rule: "repeats",
                detail: format!("×{times}"),
                penalty: if quiet {
                    Penalty::Delete
                } else {
                    rules.repeats.penalty
                },
                quiet,
            }));
        }
    }
    if rules.flood.penalty != Penalty::Off {
        let since = at - rules.flood.seconds;
        let sent = records::messages_between(cx.tx, chat, user, since, at).await?;
        if sent > rules.flood.count {
            // One flood is one offence: its first message over the limit is answered, the rest
            // of the burst just goes.
            let quiet = records::broke_recently(cx.tx, chat, user, "flood", since).await?;
            return Ok(Some(Found {
                rule: "flood",
                detail: format!("{sent}/{}s", rules.flood.seconds),
                penalty: if quiet {
                    Penalty::Delete
                } else {
                    rules.flood.penalty
                },
                quiet,
            }));
        }
    }
    Ok(None)
}

fn media_name(media: Media) -> &'static str {
    super::config::MEDIA_NAMES
        .iter()
        .find(|(_, m)| *m == media)
        .map_or("media", |(name, _)| name)
}

async fn punish(cx: &mut Cx<'_>, message: &Message, found: Found) -> FeatureResult {
    let chat = cx.chat();
    let member = message.from.clone();
    let at = cx.event.at.timestamp();
    let Some(violation) = records::record_violation(
        cx.tx,
        NewViolation {
            chat,
            user: member.id,
            message: message.id,
            rule: found.rule,
            detail: &found.detail,
            penalty: penalty_name(found.penalty),
            at,
        },
    )
    .await?
    else {
        // This message has been dealt with already (it was edited, or came twice).
        cx.stop();
        return Ok(());
    };
    // The message is gone as far as the group is concerned: no sign-in, XP or game move.
    cx.stop();
    rights_are_back(cx).await?;

    if cx
        .bot_rights
        .is_some_and(|rights| !rights.can_delete_messages)
    {
        lacking_right(cx, "need_delete_right").await?;
    } else {
        cx.queue(Action::Delete {
            chat,
            message: MessageRef::Id(message.id),
        });
    }

    let rule = cx.text("moderation.rule", context! { rule => found.rule });
    let name = member.display_name();
    let notice_key = format!("mod:notice:{violation}");
    if found.quiet {
        // The rest of a burst: one offence, answered (and counted) at its first message.
        records::set_violation_penalty(cx.tx, violation, "delete").await?;
        return record_quietly(cx, &member, &found).await;
    }
    // Every automatic action takes its step on the ladder: the warning is counted whatever
    // the rule costs besides, and the harsher of the rule's restriction and the ladder's step
    // is carried out. A spammer kicked at warning 4 who comes back with a link is banned at 5.
    let own = matches!(
        found.penalty,
        Penalty::Mute(_) | Penalty::Kick | Penalty::Ban
    )
    .then_some(found.penalty);
    let warned = give_warning(cx, chat, &member, &rule, None, Some(violation), own).await?;
    // What it cost, for the record (undo reads it) and for the log chat.
    let mut applied = "warn".to_owned();
    let mut outcome = Outcome::default();
    match warned.reached {
        Some((reached, true)) => {
            outcome.step = Some(describe(cx, reached));
            applied = format!("warn+{}", penalty_name(reached));
        }
        Some((_, false)) => lacking_right(cx, "need_restrict_right").await?,
        None => {}
    }
    outcome.warned = Some((warned.count, warned.limit()));
    let next = warned.upcoming.map(|s| describe(cx, s.penalty));
    let text = cx.text(
        "moderation.warned",
        context! {
            name, reason => rule, count => warned.count, limit => warned.limit(),
            step => outcome.step.clone(), next,
        },
    );
    notice(cx, notice_key, text).await?;
    records::set_violation_penalty(cx.tx, violation, &applied).await?;
    log(cx, &member, violation, &found, outcome, &message.text).await
}

/// The rest of a burst: recorded in the audit log, not posted (it would flood the log chat).
async fn record_quietly(cx: &mut Cx<'_>, member: &User, found: &Found) -> FeatureResult {
    let detail = format!("{} {}", found.rule, found.detail);
    cx.record_audit(None, Some(member), "auto_quiet", &detail)
        .await?;
    Ok(())
}

/// What a violation cost beyond the message, for the log chat.
#[derive(Default)]
struct Outcome {
    /// A warning: how many count now, and at how many the next step comes.
    warned: Option<(i64, Option<i64>)>,
    /// The restriction carried out, in words.
    step: Option<String>,
}

/// Reports the automatic action in the log chat, with an undo button.
async fn log(
    cx: &mut Cx<'_>,
    member: &User,
    violation: i64,
    found: &Found,
    outcome: Outcome,
    text: &str,
) -> FeatureResult {
    let rule = cx.text("moderation.rule", context! { rule => found.rule });
    let excerpt: String = text.chars().take(120).collect();
    let (count, limit) = outcome.warned.unwrap_or_default();
    let said = cx.text(
        "moderation.auto_detail",
        context! {
            rule, detail => &found.detail, excerpt, step => outcome.step.clone(),
            warned => outcome.warned.is_some(), count, limit,
        },
    );
    // The record keeps the rule's key and what it cost in plain terms.
    let detail = format!(
        "{} {} warn {count}{}",
        found.rule,
        found.detail,
        outcome
            .step
            .map(|step| format!(" {step}"))
            .unwrap_or_default()
    );
    let undo = cx.text("moderation.button_undo", context! {});
    let buttons = Button::new(undo, format!("mod:undo:{violation}"))
        .map(|button| vec![vec![button]])
        .unwrap_or_default();
    audit(cx, None, Some(member), "auto", &detail, &said, buttons).await
}

fn penalty_name(penalty: Penalty) -> &'static str {
    match penalty {
        Penalty::Off => "off",
        Penalty::Delete => "delete",
        Penalty::Warn => "warn",
        Penalty::Mute(_) => "mute",
        Penalty::Kick => "kick",
        Penalty::Ban => "ban",
    }
}
