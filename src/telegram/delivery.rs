//! Outbox delivery for Telegram: one worker per chat keeps each chat's actions in order while
//! a slow chat (flood limits, slow mode) does not hold up the others.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use crate::core::action::Action;
use crate::core::delivery::{Deliverer, Outcome};
use crate::core::event::ChatId;
use crate::store::outbox::{self, Queued};

/// At most one edit per chat this often: 20 a minute, Telegram's budget for a group.
const MIN_EDIT_INTERVAL: Duration = Duration::from_secs(3);

pub async fn deliver_outbox(
    deliverer: Arc<Deliverer>,
    outbox_ready: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let in_flight: Arc<Mutex<HashSet<i64>>> = Arc::default();
    let mut workers: HashMap<ChatId, mpsc::UnboundedSender<Queued>> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        match outbox::pending(&deliverer.db, 0, 500).await {
            Ok(batch) => {
                for queued in batch {
                    if !lock(&in_flight).insert(queued.id) {
                        continue;
                    }
                    let chat = queued.chat;
                    let worker = workers.entry(chat).or_insert_with(|| {
                        let (tx, rx) = mpsc::unbounded_channel();
                        tasks.spawn(chat_worker(
                            deliverer.clone(),
                            rx,
                            in_flight.clone(),
                            stop.clone(),
                        ));
                        tx
                    });
                    if let Err(mpsc::error::SendError(queued)) = worker.send(queued) {
                        lock(&in_flight).remove(&queued.id);
                        workers.remove(&chat);
                    }
                }
            }
            Err(error) => tracing::error!(%error, "cannot read the outbox"),
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
    drop(workers);
    while tasks.join_next().await.is_some() {}
}

fn lock(set: &Mutex<HashSet<i64>>) -> std::sync::MutexGuard<'_, HashSet<i64>> {
    set.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn chat_worker(
    deliverer: Arc<Deliverer>,
    mut queue: mpsc::UnboundedReceiver<Queued>,
    in_flight: Arc<Mutex<HashSet<i64>>>,
    stop: watch::Receiver<bool>,
) {
    let mut last_edit: Option<tokio::time::Instant> = None;
    while let Some(queued) = queue.recv().await {
        if *stop.borrow() {
            break;
        }
        // Edits count against the group's limits too, and teloxide's Throttle lets them through
        // unpaced. Waiting here lets later edits of the same message pile up behind this one,
        // and delivery then makes only the newest: a live list is edited at most once per
        // interval however fast it changes.
        let superseded = outbox::superseded_by_later_edit(&deliverer.db, &queued)
            .await
            .unwrap_or(false);
        if matches!(queued.action, Action::Edit { .. }) && !superseded {
            if let Some(last) = last_edit {
                tokio::time::sleep_until(last + MIN_EDIT_INTERVAL).await;
            }
            last_edit = Some(tokio::time::Instant::now());
        }
        let mut backoff = Duration::from_secs(1);
        loop {
            match deliverer.deliver(&queued).await {
                Ok(Outcome::RetryLater(reason)) => {
                    tracing::warn!(chat = queued.chat, %reason, retry_in = ?backoff, "Telegram unavailable; will retry");
                }
                Ok(_) => break,
                Err(error) => tracing::error!(%error, "cannot record a delivery"),
            }
            if *stop.borrow() {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
        lock(&in_flight).remove(&queued.id);
    }
}
