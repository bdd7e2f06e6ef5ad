//! Bot API calls Telegram refused: counted in `qunbot_telegram_refusals_total` by method and
//! Telegram's words, and logged once per burst.
//!
//! A refusal usually comes in bursts (every wrong guess of a game refused the same way, every
//! member of a sign-in rush), and a log line per call buries everything else. So the first
//! refusal of a kind (method and words) is logged at once, the same one within the next
//! [`BURST_WINDOW`] is only counted, and the count is logged as one line when the window has
//! passed and another refusal comes, or when the bot stops.

use std::collections::HashMap;
use std::collections::HashSet;
use std::hash::Hash;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use teloxide::{ApiError, RequestError};

use crate::metrics::metrics;

/// How long the same refusal is counted rather than logged again.
pub const BURST_WINDOW: Duration = Duration::from_secs(60);

/// The longest `error` label, in characters.
const ERROR_LABEL_CHARS: usize = 60;

/// Distinct `error` labels at most; a refusal in words not seen before past this is counted as
/// `other`, so an unexpected stream of new texts cannot grow the metrics without bound.
const ERROR_LABELS: usize = 50;

/// Refusals meaning the call's purpose is met already (the port treats them as done): counted
/// as refusals, not logged.
const ALREADY_DONE: &[&str] = &["message is not modified", "query is too old"];

/// Telegram's own words for a refusal, if the answer is one: `Bad Request: …`, `Forbidden: …`.
/// Not a refusal: a 429 (waited out), a moved group (followed), a server error or the network
/// (retried later).
pub fn refusal_words(error: &RequestError) -> Option<String> {
    let RequestError::Api(api) = error else {
        return None;
    };
    // teloxide names the errors it knows; the others keep Telegram's text as it came.
    let words = match api {
        ApiError::Unknown(text) => text.clone(),
        known => known.to_string(),
    };
    (!super::port::is_server_error(&words)).then_some(words)
}

/// The `error` label for Telegram's words: without the "Bad Request: " every 400 starts with,
/// numbers as `N` (an offset or a count must not make a label of its own), at most 60
/// characters.
pub fn error_label(words: &str) -> String {
    let words = words.strip_prefix("Bad Request: ").unwrap_or(words);
    let mut label = String::new();
    let mut chars = words.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            label.push('N');
        } else {
            label.push(c);
        }
    }
    label.chars().take(ERROR_LABEL_CHARS).collect()
}

/// Counts a refused call and logs it, or counts it into its burst.
pub fn record(method: &str, words: &str) {
    let label = bounded_label(error_label(words));
    metrics()
        .telegram_refusals
        .with_label_values(&[method, &label])
        .inc();
    if ALREADY_DONE.iter().any(|done| words.contains(done)) {
        return;
    }
    let (log_this, ended) = bursts()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .note((method.to_owned(), label), Instant::now());
    log_ended(ended);
    if log_this {
        tracing::warn!(
            method,
            error = words,
            "Telegram refused a call; the same refusal in the next 60 s is counted, then logged as one line"
        );
    }
}

/// Logs what the open bursts still hold back (the bot is stopping).
pub fn flush() {
    let ended = bursts()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .drain();
    log_ended(ended);
}

fn log_ended(ended: Vec<((String, String), u64)>) {
    for ((method, error), times) in ended {
        tracing::warn!(
            method,
            error,
            times,
            "Telegram refused the same call {times} more times within 60 s"
        );
    }
}

fn bounded_label(label: String) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if seen.contains(&label) || seen.len() < ERROR_LABELS {
        seen.insert(label.clone());
        label
    } else {
        "other".into()
    }
}

fn bursts() -> &'static Mutex<Bursts<(String, String)>> {
    static BURSTS: OnceLock<Mutex<Bursts<(String, String)>>> = OnceLock::new();
    BURSTS.get_or_init(|| Mutex::new(Bursts::new(BURST_WINDOW)))
}

/// Which of a stream of events of some kinds to log: the first of a kind, then, once its
/// window has passed, how many more of that kind came within it. Time is given, not read, so
/// the rule is tested without waiting.
pub struct Bursts<K> {
    window: Duration,
    open: HashMap<K, Burst>,
}

struct Burst {
    started: Instant,
    /// Events of the kind since the first, not logged.
    held_back: u64,
}

impl<K: Eq + Hash + Clone> Bursts<K> {
    pub fn new(window: Duration) -> Bursts<K> {
        Bursts {
            window,
            open: HashMap::new(),
        }
    }

    /// Notes an event of `kind` at `now`: whether to log it, and the bursts whose window has
    /// passed that held events back (kind, how many), to be logged as one line each.
    pub fn note(&mut self, kind: K, now: Instant) -> (bool, Vec<(K, u64)>) {
        let window = self.window;
        let mut ended = Vec::new();
        self.open.retain(|open_kind, burst| {
            let open = now.saturating_duration_since(burst.started) < window;
            if !open && burst.held_back > 0 {
                ended.push((open_kind.clone(), burst.held_back));
            }
            open
        });
        let log_this = match self.open.get_mut(&kind) {
            Some(burst) => {
                burst.held_back += 1;
                false
            }
            None => {
                self.open.insert(
                    kind,
                    Burst {
                        started: now,
                        held_back: 0,
                    },
                );
                true
            }
        };
        (log_this, ended)
    }

    /// Ends every burst: those that held events back (kind, how many).
    pub fn drain(&mut self) -> Vec<(K, u64)> {
        self.open
            .drain()
            .filter(|(_, burst)| burst.held_back > 0)
            .map(|(kind, burst)| (kind, burst.held_back))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_drop_the_common_prefix_and_the_numbers_and_stay_short() {
        assert_eq!(
            error_label("Bad Request: REACTION_INVALID"),
            "REACTION_INVALID"
        );
        assert_eq!(
            error_label(
                "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 1234"
            ),
            "can't parse entities: Can't find end of the entity starting "
        );
        assert_eq!(
            error_label("Bad Request: entity at 12 of length 3"),
            "entity at N of length N"
        );
        assert_eq!(
            error_label("Forbidden: bot was blocked by the user"),
            "Forbidden: bot was blocked by the user"
        );
        assert_eq!(error_label(&"x".repeat(100)).chars().count(), 60);
    }

    #[test]
    fn only_telegrams_refusals_are_refusals() {
        let refused = RequestError::Api(ApiError::Unknown("Bad Request: REACTION_INVALID".into()));
        assert_eq!(
            refusal_words(&refused).as_deref(),
            Some("Bad Request: REACTION_INVALID")
        );
        let known = RequestError::Api(ApiError::MessageNotModified);
        assert!(
            refusal_words(&known)
                .unwrap()
                .starts_with("Bad Request: message is not modified")
        );
        let server = RequestError::Api(ApiError::Unknown("Internal Server Error".into()));
        assert_eq!(refusal_words(&server), None);
        let slow_down = RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(3));
        assert_eq!(refusal_words(&slow_down), None);
    }

    #[test]
    fn a_burst_logs_its_first_event_then_one_line_with_the_count() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut bursts = Bursts::new(Duration::from_secs(60));
        assert_eq!(bursts.note("reaction", at(0)), (true, vec![]));
        for n in 1..27 {
            assert_eq!(bursts.note("reaction", at(n)), (false, vec![]), "#{n}");
        }
        assert_eq!(
            bursts.note("button", at(30)),
            (true, vec![]),
            "another kind is logged at once"
        );
        // The window has passed: the count comes with the next event, which opens a new burst.
        assert_eq!(
            bursts.note("reaction", at(61)),
            (true, vec![("reaction", 26)])
        );
        assert_eq!(
            bursts.note("reaction", at(62)),
            (false, vec![]),
            "the button's burst held nothing back"
        );
        assert_eq!(bursts.drain(), vec![("reaction", 1)]);
        assert!(bursts.drain().is_empty());
    }
}
