//! Outbox delivery for Telegram: one worker per chat keeps each chat's actions in order while
//! a slow chat (flood limits, slow mode) does not hold up the others.
//!
//! The worker also keeps the chat's own pace (`pace`: Telegram allows a group about 20 calls a
//! minute) and, in a busy group, makes what must not wait first (`order`: removals and
//! restrictions at once, then moderation notices and replies to admins, scheduled posts, member
//! replies). The bot-wide budget is the port's (`port::CallBudget`).

mod order;
mod pace;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

pub use pace::{ChatPace, MIN_EDIT_INTERVAL, REACTIONS_PER_MINUTE};

use crate::core::action::{Action, Lane};
use crate::core::delivery::{Deliverer, Outcome};
use crate::core::event::ChatId;
use crate::metrics::metrics;
use crate::store::outbox::{self, Queued};
use order::Next;
use pace::ChatCalls;

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

/// Rows of one lane handed to a chat's worker ahead of the one it is making: enough to see
/// that a run of edits of one message can be folded into the last. Per lane, so a chat's
/// backlog of member replies never keeps an admin's answer from its worker.
const AHEAD_PER_LANE: usize = 20;

/// How many rows of each lane a worker holds (handed and not yet finished).
#[derive(Default)]
struct InHand([AtomicUsize; Lane::ALL.len()]);

impl InHand {
    fn count(&self, lane: Lane) -> usize {
        self.0[lane as usize].load(Ordering::Acquire)
    }

    fn total(&self) -> usize {
        Lane::ALL.into_iter().map(|lane| self.count(lane)).sum()
    }
}

/// A row handed to a worker. It counts as in hand until dropped, whichever way its handling
/// ends (made, skipped, or left for the next start).
struct Handed {
    queued: Queued,
    in_hand: Arc<InHand>,
}

impl Handed {
    fn new(queued: Queued, in_hand: &Arc<InHand>) -> Handed {
        in_hand.0[queued.lane as usize].fetch_add(1, Ordering::AcqRel);
        Handed {
            queued,
            in_hand: in_hand.clone(),
        }
    }
}

impl Drop for Handed {
    fn drop(&mut self) {
        self.in_hand.0[self.queued.lane as usize].fetch_sub(1, Ordering::AcqRel);
    }
}

impl AsRef<Queued> for Handed {
    fn as_ref(&self) -> &Queued {
        &self.queued
    }
}

/// A chat's delivery task and what it holds.
struct Worker {
    queue: mpsc::UnboundedSender<Handed>,
    in_hand: Arc<InHand>,
}

/// Who delivers to which chat: the workers at work, the last row of each lane each chat was
/// handed, and the paces of chats lately delivered to.
struct Dispatcher {
    deliverer: Arc<Deliverer>,
    pace: ChatPace,
    stop: watch::Receiver<bool>,
    workers: HashMap<ChatId, Worker>,
    /// The last row of each lane handed to each chat's worker: each chat and lane is read on
    /// its own, so a long queue does not keep other rows from being seen. Kept when a worker
    /// retires: a row it made may not be marked done yet (outcomes are written in batches).
    dispatched: HashMap<(ChatId, Lane), i64>,
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
        for (chat, lane) in outbox::chats_waiting(&self.deliverer.db).await? {
            if !self.workers.contains_key(&chat) && self.workers.len() >= CHATS_AT_ONCE {
                continue;
            }
            let worker = self.worker(chat);
            let room = AHEAD_PER_LANE.saturating_sub(worker.in_hand.count(lane));
            if room == 0 {
                continue;
            }
            let after = self.dispatched.get(&(chat, lane)).copied().unwrap_or(0);
            let rows =
                outbox::pending_in_chat(&self.deliverer.db, chat, lane, after, room as i64).await?;
            let worker = &self.workers[&chat];
            for queued in rows {
                let id = queued.id;
                if worker
                    .queue
                    .send(Handed::new(queued, &worker.in_hand))
                    .is_err()
                {
                    // The worker has stopped (shutting down): leave the rest for the next start.
                    self.workers.remove(&chat);
                    break;
                }
                self.dispatched.insert((chat, lane), id);
            }
        }
        Ok(())
    }

    /// The chat's worker, started if there is none.
    fn worker(&mut self, chat: ChatId) -> &Worker {
        let Dispatcher {
            deliverer,
            pace,
            stop,
            workers,
            paces,
            tasks,
            ..
        } = self;
        workers.entry(chat).or_insert_with(|| {
            let calls = paces
                .entry(chat)
                .or_insert_with(|| SharedCalls::new(*pace))
                .clone();
            let (queue, rx) = mpsc::unbounded_channel();
            tasks.spawn(chat_worker(deliverer.clone(), rx, stop.clone(), calls));
            Worker {
                queue,
                in_hand: Arc::default(),
            }
        })
    }

    /// Ends the workers holding no rows and forgets the paces that hold nothing back.
    fn retire_idle(&mut self) {
        // Only `dispatch` hands rows out, so a worker holding none now will get none unless
        // given more: dropping its queue ends it, and nothing can be in flight to it.
        self.workers.retain(|_, worker| worker.in_hand.total() > 0);
        while self.tasks.try_join_next().is_some() {}
        let now = Instant::now();
        self.paces
            .retain(|_, calls| calls.in_use() || !calls.lock().is_quiet(now));
    }
}

async fn chat_worker(
    deliverer: Arc<Deliverer>,
    mut queue: mpsc::UnboundedReceiver<Handed>,
    mut stop: watch::Receiver<bool>,
    calls: SharedCalls,
) {
    // Oldest first.
    let mut held: Vec<Handed> = Vec::new();
    let hold = |held: &mut Vec<Handed>, handed: Handed| {
        let at = held.partition_point(|earlier| earlier.queued.id < handed.queued.id);
        held.insert(at, handed);
    };
    loop {
        while let Ok(handed) = queue.try_recv() {
            hold(&mut held, handed);
        }
        if *stop.borrow() {
            break;
        }
        let next = order::next(&held, &mut calls.lock(), Instant::now());
        match next {
            None => match queue.recv().await {
                Some(handed) => hold(&mut held, handed),
                None => break,
            },
            // Wait for the pace, or for a row that may go before.
            Some(Next::At(when)) => tokio::select! {
                _ = tokio::time::sleep_until(when) => {}
                handed = queue.recv() => match handed {
                    Some(handed) => hold(&mut held, handed),
                    None => break,
                },
                _ = stop.wait_for(|stopped| *stopped) => break,
            },
            Some(Next::Now(index)) => {
                let handed = held.remove(index);
                if !make(&deliverer, &handed.queued, &calls, &mut stop).await {
                    break;
                }
            }
        }
    }
}

/// Makes one row, retrying while Telegram is unavailable; `false` when stopped meanwhile.
async fn make(
    deliverer: &Deliverer,
    queued: &Queued,
    calls: &SharedCalls,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    // Edits count against the group's limits too, and teloxide's Throttle lets them through
    // unpaced: the order waits out the interval since the last, and delivery makes only the
    // newest of a run of edits of one message, so a live list is edited at most once per
    // interval however fast it changes. One a later edit replaces is skipped, and does not
    // count.
    if matches!(queued.action, Action::Edit { .. })
        && !calls.lock().min_edit_interval.is_zero()
        && !outbox::superseded_by_later_edit(&deliverer.db, queued)
            .await
            .unwrap_or(false)
    {
        calls.lock().last_edit = Some(Instant::now());
    }
    // Only an acknowledgement: what it acknowledges is stored and shown on the board.
    if matches!(queued.action, Action::React { .. }) {
        let over_budget = calls.lock().reaction_over_budget(Instant::now());
        if let Some(reason) = over_budget {
            metrics().reactions_skipped.inc();
            if let Err(error) = deliverer.skip(queued, reason).await {
                tracing::error!(%error, "cannot record a delivery");
            }
            return true;
        }
    }
    let mut backoff = Duration::from_secs(1);
    loop {
        match deliverer.deliver(queued).await {
            Ok(outcome) => {
                calls.lock().ended(&queued.action, &outcome, Instant::now());
                match outcome {
                    Outcome::RetryLater(reason) => {
                        tracing::warn!(chat = queued.chat, %reason, retry_in = ?backoff, "Telegram unavailable; will retry");
                    }
                    _ => return true,
                }
            }
            Err(error) => tracing::error!(%error, "cannot record a delivery"),
        }
        if *stop.borrow() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|stopped| *stopped) => return false,
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}
