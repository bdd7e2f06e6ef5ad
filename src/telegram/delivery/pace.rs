//! A chat's pace as its delivery worker keeps it: Telegram allows a group about 20 calls a
//! minute, so edits go at most every few seconds, sends as Throttle counts them (with part of
//! each minute kept for what must not wait), and only the first few reactions a minute.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::core::action::{Action, Delivered, Lane};
use crate::core::delivery::Outcome;

/// At most one edit per chat this often: 20 a minute, Telegram's budget for a group.
pub const MIN_EDIT_INTERVAL: Duration = Duration::from_secs(3);

/// Reactions made in one chat in any minute; later ones are skipped. A reaction only
/// acknowledges (the sign-in board or the relay list, edited in place, names everyone), and it
/// counts against the group's ~20 calls a minute with the messages and edits that carry the
/// content, so it gets half of them: a rush's first members see theirs, the rest find themselves
/// on the board.
pub const REACTIONS_PER_MINUTE: usize = 10;

const MINUTE: Duration = Duration::from_secs(60);

/// How each chat's worker paces that chat's calls.
#[derive(Clone, Copy, Debug)]
pub struct ChatPace {
    /// At most one edit this often (zero: no pacing).
    pub min_edit_interval: Duration,
    /// Sends (messages, files, photos) to one chat per minute, and one a second, as Throttle
    /// counts them (`None`: no pacing).
    pub sends_per_minute: Option<usize>,
    /// At most this many reactions in one chat within this span; the rest are skipped
    /// (`None`: all are made).
    pub reactions: Option<(usize, Duration)>,
}

impl ChatPace {
    /// Telegram's: edits every `MIN_EDIT_INTERVAL`, `sends_per_minute` (what Throttle is given),
    /// `REACTIONS_PER_MINUTE`.
    pub fn telegram(sends_per_minute: usize) -> ChatPace {
        ChatPace {
            min_edit_interval: MIN_EDIT_INTERVAL,
            sends_per_minute: Some(sends_per_minute),
            reactions: Some((REACTIONS_PER_MINUTE, MINUTE)),
        }
    }

    /// Nothing paced, every reaction made: benchmarks against a fake Bot API.
    pub const UNPACED: ChatPace = ChatPace {
        min_edit_interval: Duration::ZERO,
        sends_per_minute: None,
        reactions: None,
    };
}

/// When the latest calls of one kind in one chat ended, to keep at most `limit` of them in any
/// `span`. Counted from a call's end: the request reached Telegram before that, so a call that
/// waited (for the bot's budget, in Throttle) cannot bunch up with the next ones.
#[derive(Debug)]
pub(super) struct Recent {
    limit: usize,
    span: Duration,
    ended: VecDeque<Instant>,
}

impl Recent {
    fn new(limit: usize, span: Duration) -> Recent {
        Recent {
            limit,
            span,
            ended: VecDeque::with_capacity(limit),
        }
    }

    /// When the next call may start: `None` if it may start at once.
    fn next_free(&mut self, now: Instant) -> Option<Instant> {
        self.next_free_within(self.limit, now)
    }

    /// When the next call may start if only `limit` (at most the window's own) may be made
    /// within the span.
    fn next_free_within(&mut self, limit: usize, now: Instant) -> Option<Instant> {
        while self
            .ended
            .front()
            .is_some_and(|ended| *ended + self.span <= now)
        {
            self.ended.pop_front();
        }
        let limit = limit.min(self.limit);
        (self.ended.len() >= limit).then(|| self.ended[self.ended.len() - limit] + self.span)
    }

    /// Whether no call within the span is remembered: forgetting this window changes nothing.
    pub(super) fn is_quiet(&self, now: Instant) -> bool {
        self.ended
            .back()
            .is_none_or(|ended| *ended + self.span <= now)
    }

    fn record(&mut self, ended: Instant) {
        self.ended.push_back(ended);
        if self.ended.len() > self.limit {
            self.ended.pop_front();
        }
    }
}

/// One chat's pace as its worker keeps it.
pub(super) struct ChatCalls {
    pub(super) min_edit_interval: Duration,
    pub(super) last_edit: Option<Instant>,
    /// Per second and per minute.
    sends: Vec<Recent>,
    reactions: Option<Recent>,
}

impl ChatCalls {
    pub(super) fn new(pace: ChatPace) -> ChatCalls {
        ChatCalls {
            min_edit_interval: pace.min_edit_interval,
            last_edit: None,
            sends: pace
                .sends_per_minute
                .map(|per_minute| {
                    vec![
                        Recent::new(1, Duration::from_secs(1)),
                        Recent::new(per_minute.max(1), MINUTE),
                    ]
                })
                .unwrap_or_default(),
            reactions: pace.reactions.map(|(limit, span)| Recent::new(limit, span)),
        }
    }

    /// Whether this pace remembers nothing that could still hold a call back.
    pub(super) fn is_quiet(&self, now: Instant) -> bool {
        self.last_edit
            .is_none_or(|last| last + self.min_edit_interval <= now)
            && self.sends.iter().all(|window| window.is_quiet(now))
            && self
                .reactions
                .as_ref()
                .is_none_or(|window| window.is_quiet(now))
    }

    /// When a send in `lane` may start, if not at once. Member replies leave a quarter of each
    /// minute's sends unused, so a group held at its cap by chatter still answers an admin, or
    /// tells of a spammer's removal, within a second or two.
    pub(super) fn next_send(&mut self, lane: Lane, now: Instant) -> Option<Instant> {
        self.sends
            .iter_mut()
            .filter_map(|window| {
                let limit = match lane {
                    Lane::Member if window.span >= MINUTE => {
                        window.limit - window.limit.div_ceil(4).min(window.limit - 1)
                    }
                    _ => window.limit,
                };
                window.next_free_within(limit, now)
            })
            .max()
    }

    /// Why a reaction now is not to be made, if it is over the chat's budget.
    pub(super) fn reaction_over_budget(&mut self, now: Instant) -> Option<String> {
        let reactions = self.reactions.as_mut()?;
        reactions.next_free(now)?;
        Some(format!(
            "over the chat's budget of {} reactions in {} s (the board or list, edited in place, names the member)",
            reactions.limit,
            reactions.span.as_secs()
        ))
    }

    /// Counts a delivery that reached the platform.
    pub(super) fn ended(&mut self, action: &Action, outcome: &Outcome, at: Instant) {
        let reached_platform = matches!(
            outcome,
            Outcome::Sent(_) | Outcome::Failed(_) | Outcome::RetryLater(_)
        );
        if !reached_platform {
            return;
        }
        // A keyed edit of a message that is gone is sent anew, and Throttle counts it.
        let sent = action.is_post() || matches!(outcome, Outcome::Sent(Delivered::Message(_)));
        if sent {
            for window in &mut self.sends {
                window.record(at);
            }
        }
        if let (Action::React { .. }, Some(reactions)) = (action, self.reactions.as_mut()) {
            reactions.record(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// A message, and its outcome when made.
    fn a_send() -> (Action, Outcome) {
        let send = Action::Send {
            chat: -1,
            text: "hi".into(),
            reply_to: None,
            thread: None,
            key: None,
            buttons: Vec::new(),
        };
        (send, Outcome::Sent(Delivered::Message(1)))
    }

    #[test]
    fn a_window_admits_its_limit_then_frees_as_the_oldest_call_leaves_it() {
        let start = Instant::now();
        let mut reactions = Recent::new(3, MINUTE);
        for n in 0..3 {
            let at = start + SECOND * n;
            assert_eq!(
                reactions.next_free(at),
                None,
                "call {n} is within the limit"
            );
            reactions.record(at);
        }
        assert_eq!(
            reactions.next_free(start + SECOND * 30),
            Some(start + MINUTE),
            "the fourth waits for the first to be a minute old"
        );
        assert_eq!(reactions.next_free(start + MINUTE), None);
        reactions.record(start + MINUTE);
        assert_eq!(
            reactions.next_free(start + MINUTE),
            Some(start + MINUTE + SECOND),
            "then for the second"
        );
    }

    #[test]
    fn reactions_beyond_the_budget_are_over_it_until_the_window_moves_on() {
        let start = Instant::now();
        let mut calls = ChatCalls::new(ChatPace::telegram(20));
        let react = Action::React {
            chat: -1,
            message: 1,
            emoji: "👍".into(),
            fallback_text: None,
            thread: None,
        };
        for n in 0..REACTIONS_PER_MINUTE as u32 {
            assert_eq!(calls.reaction_over_budget(start + SECOND * n), None);
            calls.ended(&react, &Outcome::Sent(Delivered::Done), start + SECOND * n);
        }
        let reason = calls.reaction_over_budget(start + SECOND * 59);
        assert!(
            reason
                .as_ref()
                .is_some_and(|r| r.contains("10 reactions in 60 s")),
            "{reason:?}"
        );
        assert_eq!(calls.reaction_over_budget(start + MINUTE), None);
        // A reaction that was never made (expired, say) costs nothing.
        let mut calls = ChatCalls::new(ChatPace::telegram(20));
        for _ in 0..2 * REACTIONS_PER_MINUTE {
            calls.ended(&react, &Outcome::Expired, start);
        }
        assert_eq!(calls.reaction_over_budget(start), None);
        assert_eq!(
            ChatCalls::new(ChatPace::UNPACED).reaction_over_budget(start),
            None
        );
    }

    #[test]
    fn sends_keep_one_a_second_and_the_minutes_limit() {
        let start = Instant::now();
        let mut calls = ChatCalls::new(ChatPace::telegram(3));
        let (send, sent) = a_send();
        assert_eq!(calls.next_send(Lane::Urgent, start), None);
        calls.ended(&send, &sent, start);
        assert_eq!(calls.next_send(Lane::Urgent, start), Some(start + SECOND));
        calls.ended(&send, &sent, start + SECOND);
        calls.ended(&send, &sent, start + SECOND * 2);
        assert_eq!(
            calls.next_send(Lane::Urgent, start + SECOND * 10),
            Some(start + MINUTE),
            "three a minute"
        );
        assert_eq!(
            ChatCalls::new(ChatPace::UNPACED).next_send(Lane::Member, start),
            None
        );
    }

    #[test]
    fn member_replies_leave_a_quarter_of_the_minute_for_what_must_not_wait() {
        let start = Instant::now();
        let mut calls = ChatCalls::new(ChatPace::telegram(20));
        let (send, sent) = a_send();
        for n in 0..15 {
            let at = start + SECOND * n;
            assert_eq!(calls.next_send(Lane::Member, at), None, "reply {n}");
            calls.ended(&send, &sent, at);
        }
        let at = start + SECOND * 20;
        assert_eq!(
            calls.next_send(Lane::Member, at),
            Some(start + MINUTE),
            "the 16th reply waits for the first to be a minute old"
        );
        assert_eq!(
            calls.next_send(Lane::Urgent, at),
            None,
            "an admin's goes now"
        );
        assert_eq!(calls.next_send(Lane::Scheduled, at), None);
        // With three a minute, replies get two.
        let mut calls = ChatCalls::new(ChatPace::telegram(3));
        calls.ended(&send, &sent, start);
        calls.ended(&send, &sent, start + SECOND);
        assert_eq!(
            calls.next_send(Lane::Member, start + SECOND * 5),
            Some(start + MINUTE)
        );
        assert_eq!(calls.next_send(Lane::Urgent, start + SECOND * 5), None);
    }
}
