//! Which of the rows a chat's worker holds goes next.
//!
//! In a quiet group that is simply the oldest. In a group held at its ~20 messages a minute by
//! chatter, first-in-first-out would leave a spammer's link up, and an admin's `/warn`
//! unanswered, behind a minute of member replies. So:
//! - what is not a message (a removal, a restriction, a reaction, a button's answer, a pin)
//!   never waits for the message budget: it goes as soon as the rows it depends on have gone;
//! - among messages, moderation notices and replies to admins go first, scheduled posts next,
//!   member replies last (`Lane`), each lane in its own order;
//! - rows about the same keyed message (a list's post, its edits, its removal) and the removals
//!   and restrictions among themselves (a mute and its lifting) keep their order.

use tokio::time::Instant;

use super::pace::ChatCalls;
use crate::core::action::{Action, Lane, MessageRef};
use crate::store::outbox::Queued;

/// What the worker does next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Make the row at this index now.
    Now(usize),
    /// Nothing may go before this (unless a new row comes).
    At(Instant),
}

/// The next row of `held` (oldest first) to make, or when one may be made; `None` when `held`
/// is empty.
pub(super) fn next<R: AsRef<Queued>>(
    held: &[R],
    calls: &mut ChatCalls,
    now: Instant,
) -> Option<Next> {
    let mut best: Option<((bool, Lane), usize)> = None;
    let mut soonest: Option<Instant> = None;
    for (index, row) in held.iter().enumerate() {
        let row = row.as_ref();
        if held[..index]
            .iter()
            .any(|earlier| must_follow(row, earlier.as_ref()))
        {
            continue;
        }
        let ready = ready_at(row, &held[index + 1..], calls, now);
        if ready <= now {
            let rank = (is_message(&row.action), row.lane);
            if best.is_none_or(|(best_rank, _)| rank < best_rank) {
                best = Some((rank, index));
            }
        } else {
            soonest = Some(soonest.map_or(ready, |soonest| soonest.min(ready)));
        }
    }
    best.map(|(_, index)| Next::Now(index))
        .or(soonest.map(Next::At))
}

/// Whether `later` must wait until `earlier` (held before it) has gone.
fn must_follow(later: &Queued, earlier: &Queued) -> bool {
    // Leaving ends everything: what was queued before it goes first.
    if matches!(later.action, Action::Leave { .. }) {
        return true;
    }
    if let (Some(later_key), Some(earlier_key)) = (key(&later.action), key(&earlier.action))
        && later_key == earlier_key
    {
        return true;
    }
    match (is_message(&later.action), is_message(&earlier.action)) {
        // Removals and restrictions in the order decided: a mute before its lifting.
        (false, false) => true,
        (true, true) => later.lane == earlier.lane,
        _ => false,
    }
}

/// When `row` may be made as far as the chat's pace goes; `after` are the rows held after it.
fn ready_at<R: AsRef<Queued>>(
    row: &Queued,
    after: &[R],
    calls: &mut ChatCalls,
    now: Instant,
) -> Instant {
    match &row.action {
        action if action.is_post() => calls.next_send(row.lane, now).unwrap_or(now),
        Action::Edit { target, .. } => {
            // An edit a later one replaces is not made (delivery skips it): no need to wait.
            let superseded = after.iter().any(|later| {
                matches!(&later.as_ref().action, Action::Edit { target: later_target, .. } if later_target == target)
            });
            match calls.last_edit {
                Some(last) if !superseded && !calls.min_edit_interval.is_zero() => {
                    (last + calls.min_edit_interval).max(now)
                }
                _ => now,
            }
        }
        _ => now,
    }
}

impl AsRef<Queued> for Queued {
    fn as_ref(&self) -> &Queued {
        self
    }
}

/// Sends and edits: what Telegram counts against a group's messages. The rest never waits for
/// them.
fn is_message(action: &Action) -> bool {
    action.is_post() || matches!(action, Action::Edit { .. })
}

/// The keyed message a row posts, edits, pins or removes.
fn key(action: &Action) -> Option<&str> {
    match action {
        Action::Send { key: Some(key), .. } => Some(key),
        Action::Edit {
            target: MessageRef::Key(key),
            ..
        }
        | Action::Delete {
            message: MessageRef::Key(key),
            ..
        }
        | Action::Pin {
            message: MessageRef::Key(key),
            ..
        } => Some(key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::action::Delivered;
    use crate::core::delivery::Outcome;
    use crate::telegram::delivery::pace::ChatPace;

    fn row(id: i64, lane: Lane, action: Action) -> Queued {
        Queued {
            id,
            chat: -1,
            action,
            expires_at: None,
            job_firing: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            lane,
        }
    }

    fn send(text: &str, key: Option<&str>) -> Action {
        Action::Send {
            chat: -1,
            text: text.into(),
            reply_to: None,
            thread: None,
            key: key.map(Into::into),
            buttons: Vec::new(),
        }
    }

    fn delete(message: MessageRef) -> Action {
        Action::Delete { chat: -1, message }
    }

    fn edit(key: &str) -> Action {
        Action::Edit {
            chat: -1,
            target: MessageRef::Key(key.into()),
            text: "new".into(),
            buttons: Vec::new(),
            thread: None,
        }
    }

    /// A chat whose member replies have used their share of this minute.
    fn busy(now: Instant) -> ChatCalls {
        let mut calls = ChatCalls::new(ChatPace::telegram(20));
        for n in 0..15 {
            calls.ended(
                &send("chatter", None),
                &Outcome::Sent(Delivered::Message(n)),
                now - Duration::from_secs(30) + Duration::from_secs(n as u64),
            );
        }
        calls
    }

    #[test]
    fn in_a_quiet_chat_the_oldest_goes_first() {
        let now = Instant::now();
        let mut calls = ChatCalls::new(ChatPace::telegram(20));
        let held = [
            row(1, Lane::Member, send("a", None)),
            row(2, Lane::Member, send("b", None)),
        ];
        assert_eq!(next(&held, &mut calls, now), Some(Next::Now(0)));
        let none: [Queued; 0] = [];
        assert_eq!(next(&none, &mut calls, now), None);
    }

    #[test]
    fn at_the_cap_a_removal_and_an_admins_reply_overtake_member_replies() {
        let now = Instant::now() + Duration::from_secs(60);
        let mut calls = busy(now);
        let mut held = vec![
            row(1, Lane::Member, send("reply 1", None)),
            row(2, Lane::Member, send("reply 2", None)),
            row(3, Lane::Urgent, send("⚠️ warned", None)),
            row(4, Lane::Urgent, delete(MessageRef::Id(99))),
        ];
        assert_eq!(
            next(&held, &mut calls, now),
            Some(Next::Now(3)),
            "the spam goes first"
        );
        held.remove(3);
        assert_eq!(
            next(&held, &mut calls, now),
            Some(Next::Now(2)),
            "then the admin's reply"
        );
        held.remove(2);
        match next(&held, &mut calls, now) {
            Some(Next::At(when)) => assert!(when > now, "member replies wait for their share"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_scheduled_post_goes_before_member_replies_and_after_urgent_ones() {
        let now = Instant::now();
        let mut calls = ChatCalls::new(ChatPace::telegram(20));
        let held = [
            row(1, Lane::Member, send("reply", None)),
            row(2, Lane::Scheduled, send("早安", None)),
            row(3, Lane::Urgent, send("notice", None)),
        ];
        assert_eq!(next(&held, &mut calls, now), Some(Next::Now(2)));
        assert_eq!(next(&held[..2], &mut calls, now), Some(Next::Now(1)));
    }

    #[test]
    fn rows_about_one_keyed_message_and_restrictions_keep_their_order() {
        let now = Instant::now() + Duration::from_secs(60);
        let mut calls = busy(now);
        // The captcha prompt is waiting for the member share; its removal must not go first.
        let held = [
            row(
                1,
                Lane::Member,
                send("prove you are human", Some("captcha:7")),
            ),
            row(2, Lane::Urgent, delete(MessageRef::Key("captcha:7".into()))),
        ];
        assert!(matches!(next(&held, &mut calls, now), Some(Next::At(_))));
        let mute = Action::Mute {
            chat: -1,
            user: 7,
            until: None,
        };
        let unmute = Action::Unmute { chat: -1, user: 7 };
        let held = [
            row(1, Lane::Member, send("reply", None)),
            row(2, Lane::Urgent, mute),
            row(3, Lane::Urgent, unmute),
        ];
        assert_eq!(next(&held, &mut calls, now), Some(Next::Now(1)));
        assert_eq!(next(&held[2..], &mut calls, now), Some(Next::Now(0)));
    }

    #[test]
    fn an_edit_waits_for_the_interval_unless_a_later_one_replaces_it() {
        let now = Instant::now();
        let mut calls = ChatCalls::new(ChatPace::telegram(20));
        calls.last_edit = Some(now);
        let held = [row(1, Lane::Member, edit("board"))];
        assert_eq!(
            next(&held, &mut calls, now),
            Some(Next::At(now + calls.min_edit_interval))
        );
        let held = [
            row(1, Lane::Member, edit("board")),
            row(2, Lane::Member, edit("board")),
        ];
        assert_eq!(next(&held, &mut calls, now), Some(Next::Now(0)));
    }
}
