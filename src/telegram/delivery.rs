//! Outbox delivery for Telegram: one worker per chat keeps each chat's actions in order while
//! a slow chat (flood limits, slow mode) does not hold up the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use crate::core::action::Action;
use crate::core::delivery::{Deliverer, Outcome};
use crate::core::event::ChatId;
use crate::store::outbox::{self, Queued};

/// At most one edit per chat this often: 20 a minute, Telegram's budget for a group.
pub const MIN_EDIT_INTERVAL: Duration = Duration::from_secs(3);

/// `min_edit_interval` is `MIN_EDIT_INTERVAL`, or zero with the send limits off (benchmarks).
pub async fn deliver_outbox(
    deliverer: Arc<Deliverer>,
    outbox_ready: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    min_edit_interval: Duration,
) {
    let mut workers: HashMap<ChatId, mpsc::UnboundedSender<Queued>> = HashMap::new();
    // The last row handed to each chat's worker: each chat is read on its own, so a chat with
    // a long queue does not keep the others' rows from being seen.
    let mut dispatched: HashMap<ChatId, i64> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        if let Err(error) = dispatch(
            &deliverer,
            &mut workers,
            &mut dispatched,
            &mut tasks,
            &stop,
            min_edit_interval,
        )
        .await
        {
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
    drop(workers);
    while tasks.join_next().await.is_some() {}
}

/// Hands each chat's new outbox rows to that chat's worker, starting one if needed.
async fn dispatch(
    deliverer: &Arc<Deliverer>,
    workers: &mut HashMap<ChatId, mpsc::UnboundedSender<Queued>>,
    dispatched: &mut HashMap<ChatId, i64>,
    tasks: &mut tokio::task::JoinSet<()>,
    stop: &watch::Receiver<bool>,
    min_edit_interval: Duration,
) -> crate::store::StoreResult<()> {
    for chat in outbox::chats_waiting(&deliverer.db).await? {
        let after = dispatched.get(&chat).copied().unwrap_or(0);
        for queued in outbox::pending_in_chat(&deliverer.db, chat, after, 200).await? {
            let worker = workers.entry(chat).or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                tasks.spawn(chat_worker(
                    deliverer.clone(),
                    rx,
                    stop.clone(),
                    min_edit_interval,
                ));
                tx
            });
            let id = queued.id;
            if worker.send(queued).is_err() {
                // The worker has stopped (shutting down): leave the rest for the next start.
                workers.remove(&chat);
                break;
            }
            dispatched.insert(chat, id);
        }
    }
    Ok(())
}

async fn chat_worker(
    deliverer: Arc<Deliverer>,
    mut queue: mpsc::UnboundedReceiver<Queued>,
    stop: watch::Receiver<bool>,
    min_edit_interval: Duration,
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
        // (Only when there is a pace to keep: delivery asks again before making the edit.)
        if matches!(queued.action, Action::Edit { .. })
            && !min_edit_interval.is_zero()
            && !outbox::superseded_by_later_edit(&deliverer.db, &queued)
                .await
                .unwrap_or(false)
        {
            if let Some(last) = last_edit {
                tokio::time::sleep_until(last + min_edit_interval).await;
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
    }
}
