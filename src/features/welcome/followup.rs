//! The follow-up of newcomers who do not introduce themselves: the `remind:<user>` and
//! `act:<user>` timers, one message for each wave of newcomers, put off past the quiet hours,
//! and the group's action (mute or remove) when no introduction has come.

use chrono::{DateTime, Duration};
use minijinja::context;

use super::captcha::{member_user, remove};
use super::config::{FollowUpAction, WelcomeSettings};
use super::greet::mentions;
use super::queries::{self, Newcomer};
use super::{MAX_NAMED, NAME};
use crate::core::action::Action;
use crate::core::context::Cx;
use crate::core::event::{User, UserId};
use crate::core::feature::FeatureResult;
use crate::core::i18n::Language;

/// Follow-up timers falling due within this many seconds of each other (people who joined in
/// one wave) are handled in one message.
const WAVE_SECS: i64 = 60;

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

pub(super) async fn remind(cx: &mut Cx<'_>, user: UserId) -> FeatureResult {
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
    // The action keeps the time the group leaves after the reminder, however the two were put
    // off: one due sooner (both waited out the same quiet night, and may even have fired in
    // this pass) is set again, which also makes a firing already claimed stale.
    let settings = cx.group.section::<WelcomeSettings>();
    let gap = Duration::hours(settings.act_after_hours - settings.remind_after_hours);
    if gap > Duration::zero() {
        let act_no_sooner = cx.now + gap;
        for member in &members {
            let key = format!("act:{}", member.id);
            if let Some(due) = crate::store::timers::due_at(cx.tx, cx.chat(), NAME, &key).await?
                && due < act_no_sooner
            {
                cx.set_timer(NAME, &key, act_no_sooner, "").await?;
            }
        }
    }
    Ok(())
}

pub(super) async fn act_on_silence(cx: &mut Cx<'_>, user: UserId) -> FeatureResult {
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
