//! Group rules that keep themselves (群规): checks on every message (links, channel forwards,
//! a word list, flood, repeats, long messages, locked media, newcomers' links), the warning
//! ladder (N warnings → mute → kick → ban, warnings expiring), admin commands (/warn /mute
//! /kick /ban and their undoing), and members' /report.
//!
//! Every automatic action counts one warning on the ladder besides what its rule costs, so a
//! spammer who keeps coming back climbs to the ban. Everything is recorded before the bot
//! answers: a violation is keyed by its message, so an edit or a re-delivered update never
//! costs a member twice. Automatic actions are posted in
//! the group's log chat with an undo button, because a false positive must be cheap to reverse.
//! Notices in the group are short and deleted after `notices_last` (a timer), so enforcing the
//! rules does not itself clutter the chat.

pub mod checks;
mod commands;
pub mod config;
mod enforce;
mod filters;
mod records;

use async_trait::async_trait;
use chrono::Duration;
use minijinja::context;

use crate::config::{GroupSettings, Settings};
use crate::core::action::{Action, Button, MessageRef};
use crate::core::commands::Invocation;
use crate::core::context::Cx;
use crate::core::duration;
use crate::core::event::{ChatId, EventKind, User};
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::i18n::Language;
use crate::core::settings::SectionSlot;
use crate::store::Tx;
use config::{ModerationSettings, Penalty, Step};

pub const NAME: &str = "moderation";

pub struct Moderation;

#[async_trait]
impl Feature for Moderation {
    fn name(&self) -> &'static str {
        NAME
    }

    /// A spammer's removal is told at once, however busy the group.
    fn urgent(&self) -> bool {
        true
    }

    fn commands(&self) -> &'static [&'static str] {
        &[
            "report", "warn", "unwarn", "warns", "mute", "unmute", "kick", "ban", "unban", "filter",
        ]
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<config::ModerationSettings>()]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests![
            "report.toml",
            "warn.toml",
            "unwarn.toml",
            "warns.toml",
            "mute.toml",
            "unmute.toml",
            "kick.toml",
            "ban.toml",
            "unban.toml",
            "filter.toml"
        ]
    }

    fn migrations(&self) -> Option<crate::store::Migrations> {
        Some(crate::migrations!(
            "src/features/moderation/migrations/sqlite",
            "src/features/moderation/migrations/postgres"
        ))
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        match &cx.event.kind {
            EventKind::Message(message) if cx.event.chat.kind.is_group() => {
                enforce::check(cx, message).await
            }
            EventKind::Timer { key, payload, .. } if key.starts_with("notice:") => {
                // A notice's time is up: it goes, so the chat stays about the chat.
                cx.queue(Action::Delete {
                    chat: cx.chat(),
                    message: MessageRef::Key(payload.clone()),
                });
                Ok(())
            }
            EventKind::ButtonPressed {
                from,
                callback_id,
                message_id,
                data,
            } if data.starts_with("mod:") => {
                commands::button(cx, from, callback_id, *message_id, data).await
            }
            _ => Ok(()),
        }
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        commands::run(cx, invocation).await
    }

    async fn migrate_chat(&self, tx: &mut Tx, from: ChatId, to: ChatId) -> FeatureResult {
        records::migrate(tx, from, to).await?;
        Ok(())
    }
}

fn settings<'a>(cx: &'a Cx<'_>) -> &'a ModerationSettings {
    cx.group.section::<ModerationSettings>()
}

/// The step of the ladder a member with `count` warnings has reached, if any: the highest step
/// at or below the count.
fn step_for(ladder: &[Step], count: i64) -> Option<Step> {
    ladder.iter().rev().find(|step| step.at <= count).copied()
}

/// The first step still ahead of a member with `count` warnings.
fn next_step(ladder: &[Step], count: i64) -> Option<Step> {
    ladder.iter().find(|step| step.at > count).copied()
}

/// A penalty in words ("禁言 1天", "banned").
fn describe(cx: &Cx<'_>, penalty: Penalty) -> String {
    let (kind, lasting) = match penalty {
        Penalty::Mute(lasting) => ("mute", Some(lasting)),
        Penalty::Kick => ("kick", None),
        Penalty::Ban => ("ban", None),
        Penalty::Warn => ("warn", None),
        Penalty::Delete => ("delete", None),
        Penalty::Off => ("off", None),
    };
    describe_kind(cx, kind, lasting)
}

fn describe_kind(cx: &Cx<'_>, kind: &str, lasting: Option<Duration>) -> String {
    let chinese = cx.language() == Language::ZhCn;
    let lasting = lasting.map(|d| duration::describe(d, chinese));
    cx.text("moderation.penalty", context! { kind, lasting })
}

/// Another chat's settings (a log chat's button acting on its group), including the settings
/// written under a group's old id after it became a supergroup.
async fn group_settings<'s>(cx: &mut Cx<'s>, chat: ChatId) -> FeatureResult<&'s GroupSettings> {
    let settings: &'s Settings = cx.settings;
    if settings.has_group_table(chat) || settings.groups.is_empty() {
        return Ok(settings.group(chat));
    }
    let old: Option<(i64,)> = cx
        .tx
        .fetch_optional(
            "SELECT chat_id FROM chats WHERE migrated_to = $1",
            crate::args![chat],
        )
        .await?;
    Ok(match old {
        Some((old,)) if settings.has_group_table(old) => settings.group(old),
        _ => settings.group(chat),
    })
}

/// What a warning led to.
struct Warned {
    /// Warnings that count now, this one included.
    count: i64,
    /// The restriction carried out (the ladder's step, or the rule's own when harsher), if
    /// any, and whether it could be carried out.
    reached: Option<(Penalty, bool)>,
    /// The next step ahead.
    upcoming: Option<Step>,
    /// The count at which the last step reached happens.
    reached_at: Option<i64>,
}

impl Warned {
    /// The count at which the next (or the last reached) step happens, for "2/3".
    fn limit(&self) -> Option<i64> {
        self.upcoming.map(|step| step.at).or(self.reached_at)
    }
}

/// How hard a restriction hits, to choose between a rule's own and the ladder's: a ban over a
/// removal over a mute, a longer mute over a shorter one; anything else restricts nothing.
fn severity(penalty: Penalty) -> (u8, i64) {
    match penalty {
        Penalty::Mute(lasting) => (1, lasting.num_seconds()),
        Penalty::Kick => (2, 0),
        Penalty::Ban => (3, 0),
        Penalty::Off | Penalty::Delete | Penalty::Warn => (0, 0),
    }
}

/// Gives `target` a warning in `chat` and climbs the group's ladder. `own` is what the broken
/// rule itself costs (an automatic action's mute, kick or ban): the harsher of it and the
/// ladder's step is carried out, so every automatic action takes its step on the ladder and a
/// spammer who keeps coming back ends at the ladder's last step, not at the rule's.
async fn give_warning(
    cx: &mut Cx<'_>,
    chat: ChatId,
    target: &User,
    reason: &str,
    given_by: Option<&User>,
    violation: Option<i64>,
    own: Option<Penalty>,
) -> FeatureResult<Warned> {
    let rules = if chat == cx.chat() {
        cx.group.section::<ModerationSettings>().clone()
    } else {
        // A button in the log chat acts on the group the record belongs to.
        group_settings(cx, chat)
            .await?
            .section::<ModerationSettings>()
            .clone()
    };
    let at = cx.event.at.timestamp();
    let count = records::warn(
        cx.tx,
        records::NewWarning {
            chat,
            user: target.id,
            reason,
            given_by: given_by.map(|admin| admin.id),
            violation,
            at,
            expires_at: at + rules.warnings_expire.num_seconds(),
        },
    )
    .await?;
    let step = step_for(&rules.ladder, count);
    let chosen = match (step.map(|step| step.penalty), own) {
        (Some(ladder), Some(own)) if severity(own) > severity(ladder) => Some(own),
        (Some(ladder), _) => Some(ladder),
        (None, own) => own.filter(|own| severity(*own).0 > 0),
    };
    let reached = chosen.map(|penalty| (penalty, restrict(cx, chat, target, penalty, None)));
    Ok(Warned {
        count,
        reached,
        upcoming: next_step(&rules.ladder, count),
        reached_at: step.map(|step| step.at),
    })
}

/// Restricts, removes or bans `user` in `chat`. Returns false, queuing nothing, when the bot is
/// known to lack the right (the caller says so).
fn restrict(
    cx: &mut Cx<'_>,
    chat: ChatId,
    user: &User,
    penalty: Penalty,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> bool {
    let lacking = cx
        .bot_rights
        .is_some_and(|rights| !rights.can_restrict_members);
    // The bot's rights are known for the chat of the event only.
    if chat == cx.chat() && lacking {
        return false;
    }
    match penalty {
        Penalty::Mute(lasting) => cx.queue(Action::Mute {
            chat,
            user: user.id,
            until: Some(until.unwrap_or(cx.event.at + lasting)),
        }),
        // Removed but free to come back: a ban lifted at once.
        Penalty::Kick => {
            cx.queue(Action::Ban {
                chat,
                user: user.id,
                until: None,
            });
            cx.queue(Action::Unban {
                chat,
                user: user.id,
            });
        }
        Penalty::Ban => cx.queue(Action::Ban {
            chat,
            user: user.id,
            until,
        }),
        Penalty::Off | Penalty::Delete | Penalty::Warn => {}
    }
    true
}

/// Records a step in the audit log under its plain key and detail (`warn`, `2 spam`: what
/// queries and tools read), and posts it to the log chat in the group's own words: the action
/// named by `moderation.log_action`, then `said`.
async fn audit(
    cx: &mut Cx<'_>,
    actor: Option<&User>,
    target: Option<&User>,
    key: &str,
    detail: &str,
    said: &str,
    buttons: Vec<Vec<Button>>,
) -> FeatureResult {
    cx.record_audit(actor, target, key, detail).await?;
    let action = cx.text("moderation.log_action", context! { key });
    cx.post_audit(actor, target, &action, said, buttons);
    Ok(())
}

/// Sends a short notice about enforcement that deletes itself after `notices_last`.
async fn notice(cx: &mut Cx<'_>, key: String, text: String) -> FeatureResult {
    let lasting = settings(cx).notices_last;
    if lasting <= Duration::zero() {
        cx.send(text);
        return Ok(());
    }
    cx.send_keyed(key.clone(), text, Vec::new());
    let due = cx.now.max(cx.event.at) + lasting;
    cx.set_timer(NAME, &format!("notice:{key}"), due, &key)
        .await?;
    Ok(())
}

/// Tells the group once that the bot lacks a right it needs (until it has the right again).
async fn lacking_right(cx: &mut Cx<'_>, notice_key: &str) -> FeatureResult {
    let at = cx.event.at.timestamp();
    if records::first_notice(cx.tx, cx.chat(), notice_key, at).await? {
        let text = cx.text(&format!("moderation.{notice_key}"), context! {});
        cx.send(text);
        tracing::warn!(
            chat = cx.chat(),
            right = notice_key,
            "the bot lacks an admin right the group's rules need"
        );
    }
    Ok(())
}

/// Takes back "I lack this right" once the bot has it, so that losing it again is said again.
async fn rights_are_back(cx: &mut Cx<'_>) -> FeatureResult {
    if let Some(rights) = cx.bot_rights {
        if rights.can_delete_messages {
            records::forget_notice(cx.tx, cx.chat(), "need_delete_right").await?;
        }
        if rights.can_restrict_members {
            records::forget_notice(cx.tx, cx.chat(), "need_restrict_right").await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_applies_the_highest_step_reached() {
        let ladder = ModerationSettings::default().ladder;
        assert_eq!(step_for(&ladder, 2), None);
        assert_eq!(step_for(&ladder, 3).map(|s| s.at), Some(3));
        assert_eq!(step_for(&ladder, 4).map(|s| s.penalty), Some(Penalty::Kick));
        assert_eq!(step_for(&ladder, 9).map(|s| s.penalty), Some(Penalty::Ban));
        assert_eq!(next_step(&ladder, 1).map(|s| s.at), Some(3));
        assert_eq!(next_step(&ladder, 5), None);
    }
}
