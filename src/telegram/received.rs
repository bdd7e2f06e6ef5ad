//! How far the inbox is known to hold every update Telegram has for the bot.
//!
//! A timer or a scheduled post due at T must not overtake what members sent before T: a `+1`
//! sent at 17:59 counts for an 18:00 deadline however late the bot gets to it, and a captcha
//! answered in time passes. After an outage the backlog waits at Telegram until the first
//! `getUpdates`, so "due" is measured against what has been received, not against the clock.
//!
//! What a long poll tells: Telegram answers a `getUpdates` at once when it holds updates, and
//! waits otherwise. So
//! - an answer that is not full, once stored, means everything sent before the request was
//!   asked is in the inbox (an update that came while the answer was on its way is in the next);
//! - a request still waiting `LATENCY` after it was asked means Telegram had nothing then, and
//!   nothing since: an update would have ended the wait within `LATENCY`. While it waits,
//!   everything sent up to `LATENCY` ago is in.
//!
//! The one process that polls a bot (the polling lease) is the one whose scheduler asks this.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// How long an answer takes at most to reach the bot and be stored, with Telegram's
/// whole-second message dates and a little clock difference: a timer fires this much after its
/// time at the earliest.
const LATENCY: Duration = Duration::seconds(3);

/// The most updates one `getUpdates` answer holds (its `limit`): a full answer may leave more
/// waiting.
pub const PER_ANSWER: u8 = 100;

#[derive(Debug, Default)]
pub struct Received {
    state: Mutex<State>,
}

#[derive(Debug, Default, Clone, Copy)]
struct State {
    /// Everything sent before this is stored; `None` until the first answer that was not full.
    through: Option<DateTime<Utc>>,
    /// When the request now waiting for Telegram's answer was asked.
    waiting_since: Option<DateTime<Utc>>,
}

impl Received {
    /// A `getUpdates` request goes out at `at`.
    pub fn asking(&self, at: DateTime<Utc>) {
        self.state().waiting_since = Some(at);
    }

    /// The request's answer came (or it failed). Until the answer is stored, nothing newer
    /// than what was known before is: storing may take long when the database struggles.
    pub fn answer_came(&self) {
        self.state().waiting_since = None;
    }

    /// The answer to the request asked at `asked_at`, `updates` updates, is stored.
    pub fn stored(&self, asked_at: DateTime<Utc>, updates: usize) {
        if updates < usize::from(PER_ANSWER) {
            let mut state = self.state();
            state.through = Some(state.through.map_or(asked_at, |t| t.max(asked_at)));
        }
    }

    /// Until when, at `now`, every update sent is known to be in the inbox; `None` when that
    /// is not known yet (the backlog since start is still being fetched, or Telegram does not
    /// answer).
    pub fn complete_through(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let state = *self.state();
        let listening = state
            .waiting_since
            .filter(|asked| now - *asked >= LATENCY)
            .map(|_| now - LATENCY);
        match (state.through, listening) {
            (Some(through), Some(listening)) => Some(through.max(listening)),
            (through, listening) => through.or(listening),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two timestamps, whole after any panic.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 18, 0, 0).unwrap() + Duration::seconds(secs)
    }

    #[test]
    fn nothing_is_known_before_the_backlog_is_in() {
        let received = Received::default();
        assert_eq!(received.complete_through(at(0)), None);
        received.asking(at(0));
        // The first answer is on its way (a backlog comes at once).
        assert_eq!(received.complete_through(at(1)), None);
        // A full answer may leave more at Telegram.
        received.answer_came();
        received.stored(at(0), PER_ANSWER.into());
        received.asking(at(1));
        assert_eq!(received.complete_through(at(2)), None);
        received.answer_came();
        received.stored(at(1), 40);
        assert_eq!(received.complete_through(at(2)), Some(at(1)));
    }

    #[test]
    fn a_long_poll_that_waits_means_nothing_came() {
        let received = Received::default();
        received.asking(at(0));
        received.answer_came();
        received.stored(at(0), 3);
        received.asking(at(1));
        assert_eq!(received.complete_through(at(2)), Some(at(0)));
        assert_eq!(received.complete_through(at(20)), Some(at(17)));
        // Its answer came: until it is stored, only what was asked before is known.
        received.answer_came();
        assert_eq!(received.complete_through(at(21)), Some(at(0)));
        received.stored(at(1), 1);
        assert_eq!(received.complete_through(at(21)), Some(at(1)));
    }

    #[test]
    fn a_failed_request_tells_nothing() {
        let received = Received::default();
        received.asking(at(0));
        received.answer_came();
        assert_eq!(received.complete_through(at(60)), None);
    }
}
