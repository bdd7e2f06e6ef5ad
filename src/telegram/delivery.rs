//! Outbox delivery for Telegram: one worker per chat keeps each chat's actions in order while
//! a slow chat (flood limits, slow mode) does not hold up the others.
//!
//! The worker also keeps the chat's own pace (Telegram allows a group about 20 calls a
//! minute): edits at most every few seconds, sends as Throttle counts them, and only the first
//! few reactions a minute. The bot-wide budget is the port's (`port::CallBudget`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use crate::core::action::{Action, Delivered};
use crate::core::delivery::{Deliverer, Outcome};
use crate::core::event::ChatId;
use crate::metrics::metrics;
use crate::store::outbox::{self, Queued};

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
struct Recent {
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
        while self
            .ended
            .front()
            .is_some_and(|ended| *ended + self.span <= now)
        {
            self.ended.pop_front();
        }
        (self.ended.len() >= self.limit)
            .then(|| self.ended[self.ended.len() - self.limit] + self.span)
    }

    /// Whether no call within the span is remembered: forgetting this window changes nothing.
    fn is_quiet(&self, now: Instant) -> bool {
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
struct ChatCalls {
    min_edit_interval: Duration,
    last_edit: Option<Instant>,
    /// Per second and per minute.
    sends: Vec<Recent>,
    reactions: Option<Recent>,
}

impl ChatCalls {
    fn new(pace: ChatPace) -> ChatCalls {
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
    fn is_quiet(&self, now: Instant) -> bool {
        self.last_edit
            .is_none_or(|last| last + self.min_edit_interval <= now)
            && self.sends.iter().all(|window| window.is_quiet(now))
            && self
                .reactions
                .as_ref()
                .is_none_or(|window| window.is_quiet(now))
    }

    /// When a send may start, if not at once.
    fn next_send(&mut self, now: Instant) -> Option<Instant> {
        self.sends
            .iter_mut()
            .filter_map(|window| window.next_free(now))
            .max()
    }

    /// Why a reaction now is not to be made, if it is over the chat's budget.
    fn reaction_over_budget(&mut self, now: Instant) -> Option<String> {
        let reactions = self.reactions.as_mut()?;
        reactions.next_free(now)?;
        Some(format!(
            "over the chat's budget of {} reactions in {} s (the board or list, edited in place, names the member)",
            reactions.limit,
            reactions.span.as_secs()
        ))
    }

    /// Counts a delivery that reached the platform.
    fn ended(&mut self, action: &Action, outcome: &Outcome, at: Instant) {
        let reached_platform = matches!(
            outcome,
            Outcome::Sent(_) | Outcome::Failed(_) | Outcome::RetryLater(_)
        );
        if !reached_platform {
            return;
        }
        // A keyed edit of a message that is gone is sent anew, and Throttle counts it.
        let sent = is_send(action) || matches!(outcome, Outcome::Sent(Delivered::Message(_)));
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

fn is_send(action: &Action) -> bool {
    matches!(
        action,
        Action::Send { .. } | Action::SendDocument { .. } | Action::SendPhoto { .. }
    )
}

/// Sleeps until `deadline` unless stopped first; `false` when stopped.
async fn pause_until(deadline: Instant, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep_until(deadline) => true,
        _ = stop.wait_for(|stopped| *stopped) => false,
    }
}

/// A chat's pace, shared by its worker and the dispatcher: the worker goes when the chat has
/// nothing waiting, the pace stays until it no longer holds anything back, so a chat whose
/// worker came and went still gets only its reactions a minute.
#[derive(Clone)]
struct SharedCalls(Arc<Mutex<ChatCalls>>);

impl SharedCalls {
    fn new(pace: ChatPace) -> SharedCalls {
        SharedCalls(Arc::new(Mutex::new(ChatCalls::new(pace))))
    }

    /// Held only between awaits. A worker that panicked mid-update left the pace usable.
    fn lock(&self) -> MutexGuard<'_, ChatCalls> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn in_use(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
}

/// Chats delivered to side by side at most. They all share the bot's 30 calls a second, so
/// more would only hold more rows in memory: 10,000 groups' morning posts wait in the outbox,
/// oldest first, not in 10,000 tasks.
const CHATS_AT_ONCE: usize = 256;

/// Rows handed to a chat's worker ahead of the one it is making: enough to see that a run of
/// edits of one message can be folded into the last.
const AHEAD_PER_CHAT: usize = 20;

/// A chat's delivery task and how many rows it holds (handed and not yet finished).
struct Worker {
    queue: mpsc::UnboundedSender<Queued>,
    in_hand: Arc<AtomicUsize>,
}

/// Who delivers to which chat: the workers at work, the last row each chat was handed, and
/// the paces of chats lately delivered to.
struct Dispatcher {
    deliverer: Arc<Deliverer>,
    pace: ChatPace,
    stop: watch::Receiver<bool>,
    workers: HashMap<ChatId, Worker>,
    /// The last row handed to each chat's worker: each chat is read on its own, so a chat with
    /// a long queue does not keep the others' rows from being seen. Kept when a worker retires:
    /// a row it made may not be marked done yet (outcomes are written in batches).
    dispatched: HashMap<ChatId, i64>,
    paces: HashMap<ChatId, SharedCalls>,
    tasks: tokio::task::JoinSet<()>,
}

/// `pace` is `ChatPace::telegram`, or `ChatPace::UNPACED` with the send limits off
/// (benchmarks).
pub async fn deliver_outbox(
    deliverer: Arc<Deliverer>,
    outbox_ready: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    pace: ChatPace,
) {
    let mut dispatcher = Dispatcher {
        deliverer,
        pace,
        stop: stop.clone(),
        workers: HashMap::new(),
        dispatched: HashMap::new(),
        paces: HashMap::new(),
        tasks: tokio::task::JoinSet::new(),
    };
    loop {
        if let Err(error) = dispatcher.dispatch().await {
            tracing::error!(%error, "cannot read the outbox");
        }
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = outbox_ready.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {}
        }
    }
    // Let each worker finish the action it is on; what is still queued stays in the outbox.
    dispatcher.workers.clear();
    while dispatcher.tasks.join_next().await.is_some() {}
}

impl Dispatcher {
    /// Hands each chat's new outbox rows to that chat's worker, starting one if needed, and
    /// retires the workers with nothing left to do.
    async fn dispatch(&mut self) -> crate::store::StoreResult<()> {
        self.retire_idle();
        for chat in outbox::chats_waiting(&self.deliverer.db).await? {
            if !self.workers.contains_key(&chat) && self.workers.len() >= CHATS_AT_ONCE {
                continue;
            }
            let worker = match self.workers.entry(chat) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    let calls = self
                        .paces
                        .entry(chat)
                        .or_insert_with(|| SharedCalls::new(self.pace))
                        .clone();
                    let (queue, rx) = mpsc::unbounded_channel();
                    let in_hand = Arc::new(AtomicUsize::new(0));
                    self.tasks.spawn(chat_worker(
                        self.deliverer.clone(),
                        rx,
                        in_hand.clone(),
                        self.stop.clone(),
                        calls,
                    ));
                    entry.insert(Worker { queue, in_hand })
                }
            };
            let room = AHEAD_PER_CHAT.saturating_sub(worker.in_hand.load(Ordering::Acquire));
            if room == 0 {
                continue;
            }
            let after = self.dispatched.get(&chat).copied().unwrap_or(0);
            let rows =
                outbox::pending_in_chat(&self.deliverer.db, chat, after, room as i64).await?;
            for queued in rows {
                let id = queued.id;
                worker.in_hand.fetch_add(1, Ordering::AcqRel);
                if worker.queue.send(queued).is_err() {
                    // The worker has stopped (shutting down): leave the rest for the next start.
                    self.workers.remove(&chat);
                    break;
                }
                self.dispatched.insert(chat, id);
            }
        }
        Ok(())
    }

    /// Ends the workers holding no rows and forgets the paces that hold nothing back.
    fn retire_idle(&mut self) {
        // Only `dispatch` hands rows out, so a worker holding none now will get none unless
        // given more: dropping its queue ends it, and nothing can be in flight to it.
        self.workers
            .retain(|_, worker| worker.in_hand.load(Ordering::Acquire) > 0);
        while self.tasks.try_join_next().is_some() {}
        let now = Instant::now();
        self.paces
            .retain(|_, calls| calls.in_use() || !calls.lock().is_quiet(now));
    }
}

/// Counts a handed row as finished when dropped, whichever way its handling ends.
struct Finished<'a>(&'a AtomicUsize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn chat_worker(
    deliverer: Arc<Deliverer>,
    mut queue: mpsc::UnboundedReceiver<Queued>,
    in_hand: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
    calls: SharedCalls,
) {
    while let Some(queued) = queue.recv().await {
        let _finished = Finished(&in_hand);
        if *stop.borrow() {
            break;
        }
        // Edits count against the group's limits too, and teloxide's Throttle lets them through
        // unpaced. Waiting here lets later edits of the same message pile up behind this one,
        // and delivery then makes only the newest: a live list is edited at most once per
        // interval however fast it changes.
        // (Only when there is a pace to keep: delivery asks again before making the edit.)
        let (min_edit_interval, last_edit) = {
            let calls = calls.lock();
            (calls.min_edit_interval, calls.last_edit)
        };
        if matches!(queued.action, Action::Edit { .. })
            && !min_edit_interval.is_zero()
            && !outbox::superseded_by_later_edit(&deliverer.db, &queued)
                .await
                .unwrap_or(false)
        {
            if let Some(last) = last_edit
                && !pause_until(last + min_edit_interval, &mut stop).await
            {
                break;
            }
            calls.lock().last_edit = Some(Instant::now());
        }
        // Throttle would hold a send for the chat's turn just the same, but by then the call
        // holds its share of the bot's budget, which it would keep while it waits.
        if is_send(&queued.action) {
            let free = calls.lock().next_send(Instant::now());
            if let Some(free) = free
                && !pause_until(free, &mut stop).await
            {
                break;
            }
        }
        // Only an acknowledgement: what it acknowledges is stored and shown on the board.
        if matches!(queued.action, Action::React { .. }) {
            let over_budget = calls.lock().reaction_over_budget(Instant::now());
            if let Some(reason) = over_budget {
                metrics().reactions_skipped.inc();
                if let Err(error) = deliverer.skip(&queued, reason).await {
                    tracing::error!(%error, "cannot record a delivery");
                }
                continue;
            }
        }
        let mut backoff = Duration::from_secs(1);
        loop {
            match deliverer.deliver(&queued).await {
                Ok(outcome) => {
                    calls.lock().ended(&queued.action, &outcome, Instant::now());
                    match outcome {
                        Outcome::RetryLater(reason) => {
                            tracing::warn!(chat = queued.chat, %reason, retry_in = ?backoff, "Telegram unavailable; will retry");
                        }
                        _ => break,
                    }
                }
                Err(error) => tracing::error!(%error, "cannot record a delivery"),
            }
            if *stop.borrow() {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

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
        let send = Action::Send {
            chat: -1,
            text: "hi".into(),
            reply_to: None,
            thread: None,
            key: None,
            buttons: Vec::new(),
        };
        let sent = Outcome::Sent(Delivered::Message(1));
        assert_eq!(calls.next_send(start), None);
        calls.ended(&send, &sent, start);
        assert_eq!(calls.next_send(start), Some(start + SECOND));
        calls.ended(&send, &sent, start + SECOND);
        calls.ended(&send, &sent, start + SECOND * 2);
        assert_eq!(
            calls.next_send(start + SECOND * 10),
            Some(start + MINUTE),
            "three a minute"
        );
        assert_eq!(ChatCalls::new(ChatPace::UNPACED).next_send(start), None);
    }
}
