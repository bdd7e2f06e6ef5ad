//! The inactive-member review (定期考核). The bot cannot list a group's members, so it goes by
//! what it has seen: when each member joined or was first seen, and when they last spoke or
//! pressed a button (a sign-in, a game move and a relay entry are among those). Members silent
//! for `warn_after_days` get one reminder (all of them in one message); those still silent
//! `grace_days` later are reported, muted or removed, as the group's policy says. Admins, bots,
//! the allow-list and recent joiners are left alone. Until the operator sets `dry_run = false`,
//! a review only reports what it would do.
//!
//! A review is one message to the admins, however many members it names (split only where
//! Telegram's 4096 characters make it), in the group's log chat; each member's step is a row of
//! the audit log, not a line of its own. A group without a log chat is told only how many: a
//! list of who is about to be removed is not for the whole group to read.

use chrono::Duration;
use minijinja::context;

use super::config::InactiveAction;
use super::config::InactiveSettings;
use crate::args;
use crate::core::action::{Action, MAX_MESSAGE_CHARS};
use crate::core::context::Cx;
use crate::core::event::User;
use crate::core::feature::FeatureResult;

/// Names a report to the admins lists before "+N" (the rest are in the audit log and /inactive).
const NAMES_IN_REPORT: usize = 100;

#[derive(Clone, Debug)]
pub struct Silent {
    pub user: User,
    /// Days since they were last seen doing anything.
    pub days: i64,
    /// When they were reminded, if they were and have not been active since.
    pub reminded_at: Option<i64>,
}

/// Members silent for at least `days`, oldest silence first, exemptions applied.
pub async fn silent_members(cx: &mut Cx<'_>, days: i64) -> FeatureResult<Vec<Silent>> {
    let chat = cx.chat();
    let now = cx.event.at.timestamp();
    let policy = cx.group.section::<InactiveSettings>().clone();
    // (user, name, username, last seen, reminded at)
    type Row = (i64, String, Option<String>, i64, Option<i64>);
    // "Seen" is the later of their last activity and their last join: a member who left and
    // came back starts afresh, and so does a reminder or a settled case from before.
    let rows: Vec<Row> = cx
        .tx
        .fetch_all(
            "SELECT user_id, display_name, username, seen,
                    CASE WHEN reminded_at >= seen THEN reminded_at END
             FROM (SELECT m.user_id, m.display_name, m.username, m.joined_at,
                          r.reminded_at, r.settled_at,
                          CASE WHEN COALESCE(m.last_active, 0) > COALESCE(m.joined_at, m.first_seen)
                               THEN m.last_active ELSE COALESCE(m.joined_at, m.first_seen) END AS seen
                   FROM members m
                   LEFT JOIN inactive_reminders r ON r.chat_id = m.chat_id AND r.user_id = m.user_id
                   WHERE m.chat_id = $1 AND m.left_at IS NULL AND m.is_bot = 0) AS known
             WHERE seen <= $2
               -- a join the bot saw; members it found already there are not newcomers
               AND (joined_at IS NULL OR joined_at <= $3)
               -- dealt with already, and not seen since
               AND (settled_at IS NULL OR settled_at < seen)
             ORDER BY seen, user_id",
            args![
                chat,
                now - days * 86_400,
                now - policy.new_member_days * 86_400
            ],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(id, ..)| {
            !policy.exempt_users.contains(id) && !cx.is_admin(*id) && *id != cx.bot.id
        })
        .map(|(id, name, username, last, reminded_at)| Silent {
            user: User {
                username,
                ..User::named(id, name)
            },
            days: (now - last) / 86_400,
            reminded_at,
        })
        .collect())
}

/// Names for a report to the admins: at most `NAMES_IN_REPORT`, then "+N".
fn capped_names(members: &[Silent]) -> Vec<String> {
    let mut names: Vec<String> = members
        .iter()
        .take(NAMES_IN_REPORT)
        .map(|m| m.user.display_name())
        .collect();
    if members.len() > NAMES_IN_REPORT {
        names.push(format!("+{}", members.len() - NAMES_IN_REPORT));
    }
    names
}

/// How a member is named in a reminder: an @mention where they have a username.
fn mention(user: &User) -> String {
    match &user.username {
        Some(username) => format!("@{username}"),
        None => user.display_name(),
    }
}

/// One review: reminders for the newly silent, the policy's action for those whose grace ran out.
pub async fn review(cx: &mut Cx<'_>) -> FeatureResult {
    if cx.bot_rights.is_none() {
        // Without the administrator list the review could not tell admins apart: next time.
        tracing::warn!(
            chat = cx.chat(),
            "inactive review skipped: the administrator list is unavailable"
        );
        return Ok(());
    }
    let policy = cx.group.section::<InactiveSettings>().clone();
    let now = cx.event.at.timestamp();
    let chat = cx.chat();
    let silent = silent_members(cx, policy.warn_after_days).await?;
    let grace = Duration::days(policy.grace_days).num_seconds();
    let (due, to_remind): (Vec<Silent>, Vec<Silent>) = silent
        .into_iter()
        .partition(|member| member.reminded_at.is_some_and(|at| now - at >= grace));
    // Reminded within the grace period: wait.
    let to_remind: Vec<Silent> = to_remind
        .into_iter()
        .filter(|member| member.reminded_at.is_none())
        .collect();

    let action = match policy.action {
        InactiveAction::Report => "report",
        InactiveAction::Mute => "mute",
        InactiveAction::Remove => "remove",
    };
    let remind_names = capped_names(&to_remind);
    let due_names = capped_names(&due);
    let report = Report {
        dry_run: policy.dry_run,
        reminded: to_remind.len(),
        dealt: due.len(),
        remind: remind_names,
        due: due_names,
        days: policy.warn_after_days,
        grace: policy.grace_days,
        action,
    };

    if policy.dry_run {
        if to_remind.is_empty() && due.is_empty() {
            return Ok(());
        }
        report_to_admins(cx, &report);
        cx.record_audit(
            None,
            None,
            "inactive_review",
            &format!("dry run: {} to remind, {} due", to_remind.len(), due.len()),
        )
        .await?;
        return Ok(());
    }

    if !to_remind.is_empty() {
        let mentions: Vec<String> = to_remind.iter().map(|m| mention(&m.user)).collect();
        let text = cx.text(
            "schedule.inactive_remind",
            context! { mentions => mentions.join(" "), days => policy.warn_after_days, grace => policy.grace_days },
        );
        for piece in pieces(&text) {
            cx.send(piece);
        }
    }
    for member in &to_remind {
        cx.tx
            .execute(
                "INSERT INTO inactive_reminders (chat_id, user_id, reminded_at) VALUES ($1, $2, $3)
                 ON CONFLICT (chat_id, user_id) DO UPDATE SET reminded_at = excluded.reminded_at, settled_at = NULL",
                args![chat, member.user.id, now],
            )
            .await?;
        // The row keeps the plain key; the log chat reads the one report below.
        cx.record_audit(
            None,
            Some(&member.user),
            "inactive_remind",
            &format!("{} days", member.days),
        )
        .await?;
    }
    for member in &due {
        match policy.action {
            InactiveAction::Report => {}
            InactiveAction::Mute => cx.queue(Action::Mute {
                chat,
                user: member.user.id,
                until: None,
            }),
            InactiveAction::Remove => {
                cx.queue(Action::Ban {
                    chat,
                    user: member.user.id,
                    until: None,
                });
                cx.queue(Action::Unban {
                    chat,
                    user: member.user.id,
                });
            }
        }
        // Settled: nothing more until they speak and fall silent again.
        cx.tx
            .execute(
                "UPDATE inactive_reminders SET settled_at = $3 WHERE chat_id = $1 AND user_id = $2",
                args![chat, member.user.id, now],
            )
            .await?;
        cx.record_audit(
            None,
            Some(&member.user),
            &format!("inactive_{action}"),
            &format!("{} days", member.days),
        )
        .await?;
    }
    if !to_remind.is_empty() || !due.is_empty() {
        report_to_admins(cx, &report);
    }
    Ok(())
}

/// What one review did (or, in a dry run, would do).
struct Report {
    dry_run: bool,
    reminded: usize,
    dealt: usize,
    remind: Vec<String>,
    due: Vec<String>,
    days: i64,
    grace: i64,
    action: &'static str,
}

/// The review's one report: the names in the group's log chat; in a group without one, only
/// how many, and only when something was done beyond the reminder the members saw themselves.
fn report_to_admins(cx: &mut Cx<'_>, report: &Report) {
    match cx.group.log_chat {
        Some(log_chat) => {
            let chat = cx
                .event
                .chat
                .title
                .clone()
                .unwrap_or_else(|| cx.chat().to_string());
            let text = cx.text(
                "schedule.inactive_report",
                context! {
                    chat, dry_run => report.dry_run, reminded => report.reminded,
                    dealt => report.dealt, remind => &report.remind, due => &report.due,
                    days => report.days, grace => report.grace, action => report.action,
                },
            );
            for piece in pieces(&text) {
                cx.queue(Action::Send {
                    chat: log_chat,
                    text: piece,
                    reply_to: None,
                    thread: None,
                    key: None,
                    buttons: Vec::new(),
                });
            }
        }
        None if report.dry_run || report.dealt > 0 => {
            let text = cx.text(
                "schedule.inactive_count",
                context! {
                    dry_run => report.dry_run, reminded => report.reminded,
                    dealt => report.dealt, days => report.days, grace => report.grace,
                    action => report.action,
                },
            );
            cx.send(text);
        }
        None => {}
    }
}

/// A text cut into messages Telegram takes: at a line's end where one is near the limit, else
/// after a separator between names, else where the limit falls.
fn pieces(text: &str) -> Vec<String> {
    let mut rest: Vec<char> = text.trim().chars().collect();
    let mut pieces = Vec::new();
    while rest.len() > MAX_MESSAGE_CHARS {
        let window = &rest[..MAX_MESSAGE_CHARS];
        let cut = window
            .iter()
            .rposition(|c| *c == '\n')
            .filter(|at| *at > MAX_MESSAGE_CHARS / 2)
            .or_else(|| window.iter().rposition(|c| matches!(c, '、' | ',' | ' ')))
            .map_or(MAX_MESSAGE_CHARS, |at| at + 1);
        let piece: String = rest[..cut].iter().collect();
        pieces.push(piece.trim().to_owned());
        rest.drain(..cut);
    }
    let last: String = rest.into_iter().collect();
    if !last.trim().is_empty() {
        pieces.push(last.trim().to_owned());
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_cut_between_names_within_the_limit() {
        let names: Vec<String> = (0..900).map(|i| format!("member{i:04}")).collect();
        let text = format!("🔍 head\n{}", names.join("、"));
        let cut = pieces(&text);
        assert!(cut.len() > 1);
        assert!(cut.iter().all(|p| p.chars().count() <= MAX_MESSAGE_CHARS));
        assert_eq!(cut.concat().matches("member").count(), 900);
        assert!(cut[0].starts_with("🔍 head\nmember0000"));
        assert!(cut[1..].iter().all(|p| p.starts_with("member")));
        assert_eq!(pieces("short"), vec!["short"]);
    }
}
