//! The commands: admins' /warn /unwarn /warns /mute /unmute /kick /ban /unban, each aimed by
//! replying to the member or naming them (@username or user id), and members' /report. Also
//! the log chat's buttons (undo an automatic action, settle a report).

use chrono::{DateTime, Utc};
use minijinja::context;

use super::config::Penalty;
use super::records::{self, NewReport};
use super::{
    audit, describe, describe_kind, give_warning, group_settings, next_step, restrict, settings,
};
use crate::args;
use crate::core::action::{Action, Button, MessageRef};
use crate::core::commands::Invocation;
use crate::core::context::{Cx, Role};
use crate::core::duration;
use crate::core::event::ChatId;
use crate::core::event::{MessageId, User};
use crate::core::feature::{CommandOutcome, FeatureResult};
use crate::core::i18n::Language;
use crate::core::numbers;
use crate::features::members;

/// A member may file this many reports in ten minutes.
const REPORTS_PER_TEN_MINUTES: i64 = 3;

pub async fn run(cx: &mut Cx<'_>, invocation: &Invocation) -> FeatureResult<CommandOutcome> {
    let Some(actor) = cx.event.actor().cloned() else {
        return Ok(CommandOutcome::Done);
    };
    let args = invocation.args.trim();
    if invocation.name == "report" {
        return report(cx, &actor).await;
    }
    if invocation.name == "filter" {
        return super::filters::run(cx, args).await;
    }
    let (target, rest) = match aim(cx, invocation.name.as_str(), args).await? {
        Aim::At(target, rest) => (target, rest),
        Aim::Answered => return Ok(CommandOutcome::Done),
        Aim::Nobody => return Ok(CommandOutcome::BadArguments),
    };
    match invocation.name.as_str() {
        "warn" => warn(cx, &actor, &target, rest).await,
        "unwarn" => unwarn(cx, &actor, &target).await,
        "warns" => list(cx, &target).await,
        "mute" | "ban" => timed(cx, &actor, &target, &invocation.name, rest).await,
        "kick" => {
            lasting_penalty(cx, &actor, &target, Penalty::Kick, None, None, rest.trim()).await
        }
        "unmute" | "unban" => lift(cx, &actor, &target, &invocation.name).await,
        _ => Ok(CommandOutcome::Done),
    }
}

enum Aim<'a> {
    /// The member, and the arguments after their name.
    At(User, &'a str),
    /// Nobody can be aimed at; the member was told why.
    Answered,
    /// No member named and no reply: the usage line says how.
    Nobody,
}

/// Who a command is aimed at: a @username or user id as the first argument, else the author
/// of the message it replies to.
async fn aim<'a>(cx: &mut Cx<'_>, command: &str, args: &'a str) -> FeatureResult<Aim<'a>> {
    let (first, rest) = args
        .split_once(char::is_whitespace)
        .map_or((args, ""), |(first, rest)| (first, rest));
    let chat = cx.chat();
    let named = if let Some(username) = first.strip_prefix('@').filter(|u| !u.is_empty()) {
        if username.eq_ignore_ascii_case(&cx.bot.username) {
            let text = cx.text("moderation.target_bot", context! {});
            cx.reply(text);
            return Ok(Aim::Answered);
        }
        Some((
            members::find_by_username(cx.tx, chat, username).await?,
            first,
        ))
    } else if let Ok(id) = first.parse::<i64>() {
        Some((members::find_by_id(cx.tx, chat, id).await?, first))
    } else {
        None
    };
    let (known, rest) = match named {
        Some((Some(known), _)) => (known, rest),
        Some((None, who)) => {
            let text = cx.text("moderation.target_unknown", context! { who });
            cx.reply(text);
            return Ok(Aim::Answered);
        }
        None => {
            let Some(message) = cx.event.message() else {
                return Ok(Aim::Nobody);
            };
            if message.reply_to.is_none() {
                return Ok(Aim::Nobody);
            }
            let Some(author) = message.reply_to_author.clone() else {
                let text = cx.text("moderation.target_no_author", context! {});
                cx.reply(text);
                return Ok(Aim::Answered);
            };
            let known = members::find_by_id(cx.tx, chat, author.id).await?;
            let present = known.as_ref().is_none_or(|k| k.present);
            let joined_at = known.and_then(|k| k.joined_at);
            (
                members::Known {
                    user: author,
                    present,
                    joined_at,
                },
                args,
            )
        }
    };
    let target = known.user;
    if target.id == cx.bot.id {
        let text = cx.text("moderation.target_bot", context! {});
        cx.reply(text);
        return Ok(Aim::Answered);
    }
    let name = target.display_name();
    let lifting = matches!(command, "unwarn" | "warns" | "unmute" | "unban");
    if !lifting && cx.is_admin(target.id) {
        let text = cx.text("moderation.target_admin", context! { name });
        cx.reply(text);
        return Ok(Aim::Answered);
    }
    // A ban keeps someone out who already left; the rest need them here.
    if !known.present && matches!(command, "warn" | "mute" | "kick") {
        let text = cx.text("moderation.target_gone", context! { name });
        cx.reply(text);
        return Ok(Aim::Answered);
    }
    Ok(Aim::At(target, rest))
}

/// Says so when the bot may not restrict members; true if it may (or nobody knows).
fn may_restrict(cx: &mut Cx<'_>) -> bool {
    if cx
        .bot_rights
        .is_some_and(|rights| !rights.can_restrict_members)
    {
        let text = cx.text("moderation.cannot_restrict", context! {});
        cx.reply(text);
        return false;
    }
    true
}

fn reason_of(rest: &str) -> String {
    rest.trim().chars().take(200).collect()
}

async fn warn(
    cx: &mut Cx<'_>,
    admin: &User,
    target: &User,
    rest: &str,
) -> FeatureResult<CommandOutcome> {
    let chat = cx.chat();
    let reason = reason_of(rest);
    let warned = give_warning(cx, chat, target, &reason, Some(admin), None, None).await?;
    let (count, limit) = (warned.count, warned.limit());
    let step = warned.reached.map(|(step, done)| {
        let step = describe(cx, step);
        if done {
            step
        } else {
            cx.text("moderation.step_failed", context! { step })
        }
    });
    let said = cx.text(
        "moderation.log_warn",
        context! { count, limit, reason => &reason, step => &step },
    );
    audit(
        cx,
        Some(admin),
        Some(target),
        "warn",
        &format!("{count} {reason}"),
        &said,
        Vec::new(),
    )
    .await?;
    let text = cx.text(
        "moderation.admin_warned",
        context! { name => target.display_name(), count, limit, reason, step },
    );
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

async fn unwarn(cx: &mut Cx<'_>, admin: &User, target: &User) -> FeatureResult<CommandOutcome> {
    let chat = cx.chat();
    let at = cx.event.at.timestamp();
    let name = target.display_name();
    if !records::revoke_newest(cx.tx, chat, target.id, admin.id, at).await? {
        let text = cx.text("moderation.no_warnings", context! { name });
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let count = records::active_warnings(cx.tx, chat, target.id, at).await?;
    let said = cx.text("moderation.log_unwarn", context! { count });
    audit(
        cx,
        Some(admin),
        Some(target),
        "unwarn",
        &count.to_string(),
        &said,
        Vec::new(),
    )
    .await?;
    let text = cx.text("moderation.unwarned", context! { name, count });
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

async fn list(cx: &mut Cx<'_>, target: &User) -> FeatureResult<CommandOutcome> {
    let chat = cx.chat();
    let at = cx.event.at.timestamp();
    let name = target.display_name();
    let warnings = records::list_warnings(cx.tx, chat, target.id, at).await?;
    if warnings.is_empty() {
        let text = cx.text("moderation.no_warnings", context! { name });
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let zone = cx.group.timezone;
    let warnings: Vec<_> = warnings
        .into_iter()
        .map(|(at, reason, by)| {
            let date = DateTime::from_timestamp(at, 0)
                .map(|at| at.with_timezone(&zone).format("%m-%d %H:%M").to_string())
                .unwrap_or_default();
            context! { date, reason, by }
        })
        .collect();
    let count = warnings.len();
    let limit = next_step(&settings(cx).ladder, count as i64).map(|s| s.at);
    let text = cx.text(
        "moderation.warns_list",
        context! { name, count, limit, warnings },
    );
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

/// /mute and /ban: an optional duration first, then the reason.
async fn timed(
    cx: &mut Cx<'_>,
    admin: &User,
    target: &User,
    command: &str,
    rest: &str,
) -> FeatureResult<CommandOutcome> {
    let rest = rest.trim();
    let (first, after) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(first, after)| (first, after));
    // A first word that starts with a digit (after a sign) is meant as a duration; a wrong one
    // is said so rather than read as the reason: `/mute -5m` must not mute for good.
    let (lasting, reason) = match duration::parse(first) {
        Some(lasting) if duration::RESTRICTION.contains(&lasting) => (Some(lasting), after),
        Some(_) => {
            let chinese = cx.language() == Language::ZhCn;
            let text = cx.text(
                "moderation.duration_out_of_range",
                context! {
                    text => first,
                    shortest => duration::describe(*duration::RESTRICTION.start(), chinese),
                    longest => duration::describe(*duration::RESTRICTION.end(), chinese),
                },
            );
            cx.reply(text);
            return Ok(CommandOutcome::Done);
        }
        None if numbers::looks_like_number(first) => {
            let text = cx.text("moderation.bad_duration", context! { text => first });
            cx.reply(text);
            return Ok(CommandOutcome::Done);
        }
        None => (None, rest),
    };
    let until = lasting.map(|lasting| cx.event.at + lasting);
    let penalty = match command {
        // Without a duration a mute lasts until lifted.
        "mute" => Penalty::Mute(lasting.unwrap_or_default()),
        _ => Penalty::Ban,
    };
    lasting_penalty(cx, admin, target, penalty, until, lasting, reason.trim()).await
}

async fn lasting_penalty(
    cx: &mut Cx<'_>,
    admin: &User,
    target: &User,
    penalty: Penalty,
    until: Option<DateTime<Utc>>,
    lasting: Option<chrono::Duration>,
    reason: &str,
) -> FeatureResult<CommandOutcome> {
    if !may_restrict(cx) {
        return Ok(CommandOutcome::Done);
    }
    let kind = match penalty {
        Penalty::Mute(_) => "mute",
        Penalty::Kick => "kick",
        _ => "ban",
    };
    // Mute and ban name their own end; "forever" is no end at all.
    match penalty {
        Penalty::Mute(_) => cx.queue(Action::Mute {
            chat: cx.chat(),
            user: target.id,
            until,
        }),
        _ => {
            restrict(cx, cx.chat(), target, penalty, until);
        }
    }
    let reason = reason_of(reason);
    let step = describe_kind(cx, kind, lasting);
    // The step in words is the log chat's action ("禁言 1小时"); the reason follows.
    cx.record_audit(Some(admin), Some(target), kind, &format!("{step} {reason}"))
        .await?;
    let said = cx.text("moderation.log_reason", context! { reason => &reason });
    cx.post_audit(Some(admin), Some(target), &step, &said, Vec::new());
    let text = cx.text(
        "moderation.done",
        context! { name => target.display_name(), step, reason },
    );
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

async fn lift(
    cx: &mut Cx<'_>,
    admin: &User,
    target: &User,
    command: &str,
) -> FeatureResult<CommandOutcome> {
    if !may_restrict(cx) {
        return Ok(CommandOutcome::Done);
    }
    let chat = cx.chat();
    let key = if command == "unmute" {
        cx.queue(Action::Unmute {
            chat,
            user: target.id,
        });
        "moderation.unmuted"
    } else {
        cx.queue(Action::Unban {
            chat,
            user: target.id,
        });
        "moderation.unbanned"
    };
    audit(cx, Some(admin), Some(target), command, "", "", Vec::new()).await?;
    let text = cx.text(key, context! { name => target.display_name() });
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

/// /report, as a reply: stored, and the admins told without pinging the whole group (in the
/// log chat, with buttons to act; without one, by mentioning the admins who have usernames).
async fn report(cx: &mut Cx<'_>, reporter: &User) -> FeatureResult<CommandOutcome> {
    let Some(message) = cx.event.message().cloned() else {
        return Ok(CommandOutcome::Done);
    };
    let Some(reported) = message.reply_to else {
        return Ok(CommandOutcome::BadArguments);
    };
    let Some(target) = message.reply_to_author.clone() else {
        let text = cx.text("moderation.target_no_author", context! {});
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    };
    if target.id == reporter.id || target.id == cx.bot.id {
        let text = cx.text("moderation.report_own", context! {});
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    if cx.is_admin(target.id) {
        let text = cx.text("moderation.report_admin", context! {});
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let chat = cx.chat();
    let at = cx.event.at.timestamp();
    if records::reports_since(cx.tx, chat, reporter.id, at - 600).await? >= REPORTS_PER_TEN_MINUTES
    {
        let text = cx.text("moderation.report_slow_down", context! {});
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    // The bot sees only the reported message's author, not its text; the member's own words
    // after /report say what is wrong.
    let excerpt: String = message
        .text
        .split_once(char::is_whitespace)
        .map_or("", |(_, rest)| rest)
        .trim()
        .chars()
        .take(200)
        .collect();
    let Some(id) = records::report(
        cx.tx,
        NewReport {
            chat,
            message: reported,
            reporter: reporter.id,
            target: target.id,
            excerpt: &excerpt,
            at,
        },
    )
    .await?
    else {
        let text = cx.text("moderation.report_again", context! {});
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    };
    match cx.group.log_chat {
        Some(log_chat) => {
            let chat_name = cx
                .event
                .chat
                .title
                .clone()
                .unwrap_or_else(|| chat.to_string());
            let text = cx.text(
                "moderation.report_log",
                context! {
                    chat => chat_name,
                    reporter => reporter.display_name(),
                    target => target.display_name(),
                    target_id => target.id,
                    excerpt,
                },
            );
            let buttons = [
                ("button_delete", "d"),
                ("button_warn", "w"),
                ("button_ban", "b"),
                ("button_dismiss", "x"),
            ]
            .into_iter()
            .filter_map(|(label, act)| {
                Button::new(
                    cx.text(&format!("moderation.{label}"), context! {}),
                    format!("mod:rep:{act}:{id}"),
                )
            })
            .collect();
            cx.queue(Action::Send {
                chat: log_chat,
                text,
                reply_to: None,
                thread: None,
                key: None,
                buttons: vec![buttons],
            });
        }
        None => {
            let admins = admin_mentions(cx).await?;
            let text = cx.text(
                "moderation.report_ping",
                context! { reporter => reporter.display_name(), target => target.display_name(), admins },
            );
            cx.queue(Action::Send {
                chat,
                text,
                reply_to: Some(reported),
                thread: cx.thread(),
                key: None,
                buttons: Vec::new(),
            });
            return Ok(CommandOutcome::Done);
        }
    }
    let text = cx.text("moderation.report_thanks", context! {});
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

/// The human admins' @usernames (those the bot has seen and who have one), joined.
async fn admin_mentions(cx: &mut Cx<'_>) -> FeatureResult<String> {
    let chat = cx.chat();
    let ids: Vec<i64> = cx
        .admins
        .iter()
        .map(|admin| admin.user)
        .filter(|id| *id != cx.bot.id)
        .collect();
    let mut names = Vec::new();
    for id in ids {
        if let Some(known) = members::find_by_id(cx.tx, chat, id).await?
            && !known.user.is_bot
            && let Some(username) = known.user.username
        {
            names.push(format!("@{username}"));
        }
    }
    Ok(names.join(" "))
}

/// A press on one of the log chat's buttons: `mod:undo:<violation>` or
/// `mod:rep:<d|w|b|x>:<report>`.
pub async fn button(
    cx: &mut Cx<'_>,
    from: &User,
    callback_id: &str,
    _message: Option<MessageId>,
    data: &str,
) -> FeatureResult {
    let mut parts = data.split(':').skip(1);
    let (kind, act, id) = match (parts.next(), parts.next(), parts.next()) {
        (Some("undo"), Some(id), None) => ("violation", "undo", id),
        (Some("rep"), Some(act), Some(id)) => ("report", act, id),
        _ => return Ok(()),
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(());
    };
    // Only from the log chat of the group the record belongs to, and only by its admins (a
    // private log chat is the operator's own).
    let group_log_chat = match records::chat_of(cx.tx, kind, id).await? {
        Some(group) => group_settings(cx, group).await?.log_chat,
        None => None,
    };
    let allowed = group_log_chat == Some(cx.chat())
        && (cx.role >= Role::Admin || !cx.event.chat.kind.is_group());
    if !allowed {
        let text = cx.text("moderation.admins_only_button", context! {});
        answer(cx, callback_id, text);
        return Ok(());
    }
    let at = cx.event.at.timestamp();
    if kind == "violation" {
        let Some(violation) = records::undo_violation(cx.tx, id, from.id, at).await? else {
            let text = cx.text("moderation.already_handled", context! {});
            answer(cx, callback_id, text);
            return Ok(());
        };
        let user = violation.user_id;
        let chat = violation.chat_id;
        if violation.penalty.contains("mute") {
            cx.queue(Action::Unmute { chat, user });
        }
        if violation.penalty.contains("ban") {
            cx.queue(Action::Unban { chat, user });
        }
        let target = members::find_by_id(cx.tx, chat, user)
            .await?
            .map(|k| k.user);
        let rule = cx.text("moderation.rule", context! { rule => &violation.rule });
        let said = cx.text("moderation.log_undo", context! { rule, id => violation.id });
        log_for_group(
            cx,
            chat,
            from,
            target.as_ref(),
            ("undo", &format!("{} #{}", violation.rule, violation.id)),
            &said,
        )
        .await?;
        let text = cx.text("moderation.undone", context! {});
        answer(cx, callback_id, text);
        return Ok(());
    }
    let outcome = match act {
        "d" => "deleted",
        "w" => "warned",
        "b" => "banned",
        _ => "dismissed",
    };
    let Some(report) = records::settle_report(cx.tx, id, outcome).await? else {
        let text = cx.text("moderation.already_handled", context! {});
        answer(cx, callback_id, text);
        return Ok(());
    };
    let chat = report.chat_id;
    let target = members::find_by_id(cx.tx, chat, report.target_id)
        .await?
        .map(|k| k.user)
        .unwrap_or_else(|| User::named(report.target_id, report.target_id.to_string()));
    match act {
        "d" | "w" | "b" => cx.queue(Action::Delete {
            chat,
            message: MessageRef::Id(report.message_id),
        }),
        _ => {}
    }
    if act == "w" {
        let reason = if report.excerpt.is_empty() {
            "/report".to_owned()
        } else {
            report.excerpt.clone()
        };
        give_warning(cx, chat, &target, &reason, Some(from), None, None).await?;
    }
    if act == "b" {
        cx.queue(Action::Ban {
            chat,
            user: report.target_id,
            until: None,
        });
    }
    let said = cx.text("moderation.log_report", context! { outcome });
    log_for_group(cx, chat, from, Some(&target), ("report", outcome), &said).await?;
    let text = cx.text("moderation.report_handled", context! { outcome });
    answer(cx, callback_id, text);
    Ok(())
}

/// Records a step a log chat's button took for `group` in the group's audit log (its plain key
/// and detail), and says so in words in the log chat (where the button was pressed).
async fn log_for_group(
    cx: &mut Cx<'_>,
    group: ChatId,
    actor: &User,
    target: Option<&User>,
    (key, detail): (&str, &str),
    said: &str,
) -> FeatureResult {
    cx.record_audit_in(group, Some(actor), target, key, detail)
        .await?;
    let action = cx.text("moderation.log_action", context! { key });
    let title: Option<(Option<String>,)> = cx
        .tx
        .fetch_optional("SELECT title FROM chats WHERE chat_id = $1", args![group])
        .await?;
    let chat = title
        .and_then(|(title,)| title)
        .unwrap_or_else(|| group.to_string());
    let text = cx.text(
        "core.audit_line",
        context! {
            chat, actor => actor.display_name(), target => target.map(User::display_name),
            action, detail => said,
        },
    );
    cx.send(text);
    Ok(())
}

fn answer(cx: &mut Cx<'_>, callback_id: &str, text: String) {
    cx.queue(Action::AnswerButton {
        chat: cx.chat(),
        callback_id: callback_id.to_owned(),
        text: Some(text),
        alert: false,
    });
}
