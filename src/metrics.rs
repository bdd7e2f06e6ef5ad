//! What an on-call engineer needs to see, in Prometheus' text format at `/metrics`: updates
//! received and handled, how long handling takes, how the Bot API answers (and how long
//! Telegram made the bot wait), the inbox's depth and how late scheduled events run.
//!
//! One process-wide registry (the `prometheus` crate's types, registered here rather than in
//! its global default registry), because the places that count — the poller, the Bot API
//! retry loop, the engine — are far apart and all live as long as the process.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub updates_received: IntCounterVec,
    pub updates_handled: IntCounterVec,
    /// Updates that could not be handled, by stage and cause: each is kept in the inbox with
    /// its error, and the bot goes on with the next.
    pub update_failures: IntCounterVec,
    pub handler_seconds: HistogramVec,
    pub api_calls: IntCounterVec,
    /// Calls Telegram refused, by method and its words (`telegram::refusals::error_label`).
    pub telegram_refusals: IntCounterVec,
    pub api_retry_after_seconds: prometheus::Counter,
    pub reactions_skipped: prometheus::IntCounter,
    pub inbox_pending: IntGauge,
    pub outbox_pending: IntGauge,
    pub scheduler_lag_seconds: Histogram,
    /// Scheduled posts that did not go out, by reason: `late` (due while the bot was down for
    /// longer than the grace period) or `expired` (queued, but not delivered within it).
    pub scheduled_posts_missed: IntCounterVec,
    /// How long delivered actions waited in the outbox, by kind (scheduled, reply, other).
    pub delivery_wait_seconds: HistogramVec,
    /// Replies (and other conversational actions) dropped because they went stale in the
    /// outbox (`max_reply_age_secs`), by kind of action.
    pub stale_dropped: IntCounterVec,
    /// When a getUpdates last came back without an error (Unix seconds; 0: never).
    last_poll_ok: AtomicI64,
}

/// Buckets from 1 ms to 10 s: an update is handled within a few milliseconds when all is well,
/// or within the 10–35 ms its batch's transaction takes under load (finer there, to read a p99
/// by); anything near a second is worth a look.
const HANDLER_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.035, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Scheduled posts and timers are looked for every second (posts every 30 s).
const LAG_BUCKETS: &[f64] = &[0.5, 1.0, 2.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0];
/// A reply goes out within a second or two when all is well; a group at its limit makes its
/// members wait up to a minute; scheduled posts to thousands of groups wait their turn in the
/// bot's 30 calls a second for minutes.
const WAIT_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0];

impl Metrics {
    fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("qunbot".into()), None)?;
        let updates_received = IntCounterVec::new(
            Opts::new(
                "updates_received_total",
                "Updates received from Telegram, by kind",
            ),
            &["kind"],
        )?;
        let updates_handled = IntCounterVec::new(
            Opts::new(
                "updates_handled_total",
                "Inbox events handled, by kind and outcome (done, failed, duplicate)",
            ),
            &["kind", "outcome"],
        )?;
        let update_failures = IntCounterVec::new(
            Opts::new(
                "update_failures_total",
                "Updates that could not be handled and were closed with their error, by stage \
                 (receive: reading the update; handle: the features) and cause (panic, error, unreadable)",
            ),
            &["stage", "cause"],
        )?;
        let handler_seconds = HistogramVec::new(
            HistogramOpts::new(
                "handler_seconds",
                "Time to handle one event, its transaction included",
            )
            .buckets(HANDLER_BUCKETS.to_vec()),
            &["kind"],
        )?;
        let api_calls = IntCounterVec::new(
            Opts::new(
                "telegram_calls_total",
                "Bot API calls (each attempt), by method and outcome (ok, 429, error)",
            ),
            &["method", "outcome"],
        )?;
        let telegram_refusals = IntCounterVec::new(
            Opts::new(
                "telegram_refusals_total",
                "Bot API calls Telegram refused (400, 403…), by method and Telegram's words \
                 (without \"Bad Request: \", numbers as N, at most 60 characters)",
            ),
            &["method", "error"],
        )?;
        let api_retry_after_seconds = prometheus::Counter::new(
            "telegram_retry_after_seconds_total",
            "Seconds spent waiting because Telegram answered 429 Too Many Requests",
        )?;
        let reactions_skipped = prometheus::IntCounter::new(
            "reactions_skipped_total",
            "Reactions not made because their chat's reaction budget was spent",
        )?;
        let inbox_pending = IntGauge::new(
            "inbox_pending",
            "Events stored but not yet handled (read when scraped)",
        )?;
        let outbox_pending = IntGauge::new(
            "outbox_pending",
            "Actions committed but not yet delivered (read when scraped)",
        )?;
        let scheduler_lag_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "scheduler_lag_seconds",
                "How long after its due time a scheduled post or timer was handled",
            )
            .buckets(LAG_BUCKETS.to_vec()),
        )?;
        let scheduled_posts_missed = IntCounterVec::new(
            Opts::new(
                "scheduled_posts_missed_total",
                "Scheduled posts that did not go out, by reason (late: due while the bot was down \
                 past the grace period; expired: queued but not delivered within it; crowded: \
                 less than schedule.min_interval after another of the group's posts)",
            ),
            &["reason"],
        )?;
        let stale_dropped = IntCounterVec::new(
            Opts::new(
                "stale_dropped_total",
                "Replies, edits, reactions and button answers dropped because they went stale in \
                 the outbox (max_reply_age_secs), by kind (send, edit, react, answer)",
            ),
            &["kind"],
        )?;
        let delivery_wait_seconds = HistogramVec::new(
            HistogramOpts::new(
                "delivery_wait_seconds",
                "How long a delivered action waited in the outbox, by kind (scheduled, reply, other)",
            )
            .buckets(WAIT_BUCKETS.to_vec()),
            &["kind"],
        )?;
        registry.register(Box::new(updates_received.clone()))?;
        registry.register(Box::new(updates_handled.clone()))?;
        registry.register(Box::new(update_failures.clone()))?;
        registry.register(Box::new(handler_seconds.clone()))?;
        registry.register(Box::new(api_calls.clone()))?;
        registry.register(Box::new(telegram_refusals.clone()))?;
        registry.register(Box::new(api_retry_after_seconds.clone()))?;
        registry.register(Box::new(reactions_skipped.clone()))?;
        registry.register(Box::new(inbox_pending.clone()))?;
        registry.register(Box::new(outbox_pending.clone()))?;
        registry.register(Box::new(scheduler_lag_seconds.clone()))?;
        registry.register(Box::new(scheduled_posts_missed.clone()))?;
        registry.register(Box::new(delivery_wait_seconds.clone()))?;
        registry.register(Box::new(stale_dropped.clone()))?;
        Ok(Metrics {
            registry,
            updates_received,
            updates_handled,
            update_failures,
            handler_seconds,
            api_calls,
            telegram_refusals,
            api_retry_after_seconds,
            reactions_skipped,
            inbox_pending,
            outbox_pending,
            scheduler_lag_seconds,
            scheduled_posts_missed,
            delivery_wait_seconds,
            stale_dropped,
            last_poll_ok: AtomicI64::new(0),
        })
    }

    /// Everything in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "metrics could not be encoded");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }

    pub fn polled_ok(&self, at_unix: i64) {
        self.last_poll_ok.store(at_unix, Ordering::Relaxed);
    }

    /// When getUpdates last succeeded (Unix seconds), if ever.
    pub fn last_poll_ok(&self) -> Option<i64> {
        Some(self.last_poll_ok.load(Ordering::Relaxed)).filter(|at| *at > 0)
    }

    /// Records one Bot API attempt.
    pub fn api_call(&self, method: &str, outcome: ApiOutcome) {
        self.api_calls
            .with_label_values(&[method, outcome.as_str()])
            .inc();
    }

    /// Counts an update closed with an error instead of being handled.
    pub fn update_failed(&self, stage: &str, cause: &str) {
        self.update_failures
            .with_label_values(&[stage, cause])
            .inc();
    }

    pub fn waited_for_telegram(&self, wait: Duration) {
        self.api_retry_after_seconds.inc_by(wait.as_secs_f64());
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiOutcome {
    Ok,
    TooManyRequests,
    Error,
}

impl ApiOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiOutcome::Ok => "ok",
            ApiOutcome::TooManyRequests => "429",
            ApiOutcome::Error => "error",
        }
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    // The names and labels are fixed above; registering them cannot clash.
    METRICS.get_or_init(|| Metrics::new().expect("the metric definitions are consistent"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_in_the_text_format_with_their_labels() {
        let metrics = metrics();
        metrics
            .updates_received
            .with_label_values(&["message"])
            .inc();
        metrics.api_call("sendMessage", ApiOutcome::TooManyRequests);
        metrics.waited_for_telegram(Duration::from_millis(1500));
        metrics
            .handler_seconds
            .with_label_values(&["message"])
            .observe(0.003);
        let text = metrics.render();
        assert!(
            text.contains("qunbot_updates_received_total{kind=\"message\"}"),
            "{text}"
        );
        assert!(
            text.contains("qunbot_telegram_calls_total{method=\"sendMessage\",outcome=\"429\"}"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE qunbot_handler_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains("qunbot_handler_seconds_bucket{kind=\"message\",le=\"0.005\"}"),
            "{text}"
        );
        assert!(
            text.contains("qunbot_telegram_retry_after_seconds_total"),
            "{text}"
        );
    }
}
