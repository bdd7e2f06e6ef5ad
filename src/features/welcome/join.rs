//! Joining and leaving: a newcomer's captcha, follow-up and greeting are set up when they join,
//! and whatever still waits for them is dropped when they go (with a goodbye if the group has
//! leave texts); Telegram's "joined / left" service lines are deleted when the group wants.

use chrono::Duration;
use minijinja::context;

use super::captcha::can_restrict_for_captcha;
use super::config::{Captcha, FollowUpAction, WelcomeSettings};
use super::greet::{mention_of, mix, tidy_welcome};
use super::{NAME, queries};
use crate::core::action::Action;
use crate::core::context::{Cx, Role};
use crate::core::event::{MessageId, User, UserId};
use crate::core::feature::FeatureResult;

pub(super) async fn on_join(
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
pub(super) fn delete_service_message(cx: &mut Cx<'_>, service: Option<MessageId>) {
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

/// What a leave template can use.
pub(super) const LEAVE_VARS: &[&str] = &["name", "mention", "group"];

pub(super) async fn on_leave(
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
pub(super) async fn forget_newcomer(cx: &mut Cx<'_>, user: UserId) -> FeatureResult {
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
