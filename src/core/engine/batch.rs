//! Taking entries from the inbox and handling them: a round of entries split into batches (side
//! by side on PostgreSQL), each batch one transaction whose entries commit with their
//! "handled" marks; a failing entry sends its batch back to be handled one entry a
//! transaction, and a panic anywhere costs its own update alone. The metrics of each entry are
//! counted here.

use minijinja::context;
use tracing::Instrument;

use super::{Engine, Handled};
use crate::core::commands::Parsed;
use crate::core::context::Role;
use crate::core::event::{ChatId, Event, EventKind};
use crate::core::feature::FeatureError;
use crate::store::{Db, StoreResult, chats, inbox, outbox, timers};

/// How many inbox entries share a transaction at most, and for how long a batch takes more:
/// its entries all wait for its commit, so these bound how much sharing adds to an entry's
/// handling time.
const BATCH: i64 = 32;
const BATCH_TIME: std::time::Duration = std::time::Duration::from_millis(10);
/// How many batches run side by side on PostgreSQL (the pool has eight connections).
const PARALLEL_BATCHES: usize = 4;

/// The log span of an entry's handling: every line logged meanwhile names the chat and update.
fn update_span(pending: &inbox::Pending) -> tracing::Span {
    tracing::info_span!(
        "update",
        chat_id = pending.event.chat.id,
        update_id = pending.update_id,
        source = %pending.source
    )
}

impl Engine {
    pub(super) async fn handle_rounds(&self) -> StoreResult<usize> {
        let side_by_side = match self.db {
            Db::Postgres(_) => PARALLEL_BATCHES,
            Db::Sqlite { .. } => 1,
        };
        let mut handled = 0;
        loop {
            let round = inbox::next_pending(&self.db, BATCH * side_by_side as i64).await?;
            if round.is_empty() {
                return Ok(handled);
            }
            let mut readable = Vec::with_capacity(round.len());
            for entry in round {
                match entry {
                    Ok(pending) => readable.push(pending),
                    Err((source, update_id, error)) => {
                        tracing::error!(%source, update_id, %error, "stored update is unreadable; skipping it");
                        crate::metrics::metrics().update_failed("handle", "unreadable");
                        let mut tx = self.db.begin().await?;
                        let error = format!("unreadable: {error}");
                        inbox::mark_failed(&mut tx, &source, update_id, self.clock.now(), &error)
                            .await?;
                        tx.commit().await?;
                        self.committed();
                        handled += 1;
                    }
                }
            }
            // A migration changes which settings the new chat's events read, and those are read
            // before a transaction opens: the round ends with it, the rest come in the next one.
            if let Some(at) = readable
                .iter()
                .position(|p| matches!(p.event.kind, EventKind::ChatMigrated { .. }))
            {
                readable.truncate(at + 1);
            }
            let settings = self.settings();
            let mut batches: Vec<Vec<inbox::Pending>> =
                (0..side_by_side).map(|_| Vec::new()).collect();
            for pending in readable {
                // Groups that share points (a community) share a batch: their XP and ledger
                // rows are read and written in turn.
                let key = settings.points_scope(pending.event.chat.id);
                let share = key.unsigned_abs() as usize % side_by_side;
                batches[share].push(pending);
            }
            let results = futures_util::future::join_all(
                batches
                    .into_iter()
                    .filter(|batch| !batch.is_empty())
                    .map(|batch| self.handle_batch(batch)),
            )
            .await;
            for result in results {
                handled += result?;
            }
        }
    }

    /// Handles inbox entries in one transaction. Each entry's effects are committed with its
    /// "handled" mark, as they would be in a transaction of its own, but the commit is shared:
    /// for a small update it is most of the cost. If a feature fails on any entry, the batch is
    /// rolled back and its entries handled one by one, so the failure costs its own entry only.
    async fn handle_batch(&self, batch: Vec<inbox::Pending>) -> StoreResult<usize> {
        let started = std::time::Instant::now();
        let mut standings = Vec::with_capacity(batch.len());
        for pending in &batch {
            match unless_it_panics(self.standing_for(&pending.event)).await {
                Ok(standing) => standings.push(standing?),
                // Met again, and closed, when the entry is handled on its own.
                Err(_) => return self.handle_separately(&batch).await,
            }
        }
        let mut tx = self.db.begin().await?;
        let chats: Vec<ChatId> = batch.iter().map(|p| p.event.chat.id).collect();
        tx.lock_chats(&chats).await?;
        // Statements common to every entry are made once for the batch, each over all its
        // rows: the chats' rows first, the entries' "handled" marks last.
        let seen: Vec<_> = batch.iter().map(|p| (&p.event.chat, p.event.at)).collect();
        chats::touch_all(&mut tx, &seen).await?;
        let mut applied = 0;
        let mut actions = Vec::new();
        for (pending, standing) in batch.iter().zip(&standings) {
            let outcome = unless_it_panics(self.apply(
                &mut tx,
                pending.source == timers::INBOX_SOURCE,
                pending.update_id,
                &pending.event,
                standing,
            ))
            .instrument(update_span(pending))
            .await
            .unwrap_or_else(|panic| Err(FeatureError::Panicked(panic)));
            match outcome {
                Ok(wanted) => {
                    actions.extend(wanted);
                    applied += 1;
                    // The rest stay in the inbox for the next batch.
                    if started.elapsed() > BATCH_TIME {
                        break;
                    }
                }
                Err(FeatureError::Store(error)) if error.is_transient() => {
                    tx.rollback().await?;
                    return Err(error);
                }
                // Met again, and logged, when the entry is handled on its own.
                Err(_) => return self.handle_each(tx, &batch).await,
            }
        }
        let batch = &batch[..applied];
        // In the entries' order: a chat's actions are delivered in the order of their ids.
        outbox::enqueue_all(&mut tx, &actions, self.clock.now()).await?;
        if !self.claim_all(&mut tx, batch).await? {
            // Another worker handled some of these first: each is handled on its own, which
            // tells which.
            return self.handle_each(tx, batch).await;
        }
        tx.commit().await?;
        self.committed();
        // Every entry's handling ends with the shared commit.
        let seconds = started.elapsed().as_secs_f64();
        for pending in batch {
            self.count(&pending.event, Ok(Handled::Done), seconds);
        }
        Ok(batch.len())
    }

    /// Marks a batch's entries handled, a statement per source; false when some were handled
    /// already (by another worker), in which case the caller must roll back.
    async fn claim_all(
        &self,
        tx: &mut crate::store::Tx,
        batch: &[inbox::Pending],
    ) -> StoreResult<bool> {
        let now = self.clock.now();
        let mut sources: Vec<&str> = batch.iter().map(|p| p.source.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        for source in sources {
            let ids: Vec<i64> = batch
                .iter()
                .filter(|p| p.source == source)
                .map(|p| p.update_id)
                .collect();
            if inbox::mark_all_handled(tx, source, &ids, now).await? != ids.len() as u64 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Rolls a batch back and handles its entries one transaction each.
    async fn handle_each(
        &self,
        tx: crate::store::Tx,
        batch: &[inbox::Pending],
    ) -> StoreResult<usize> {
        // After a panic the connection may be mid-statement: if it cannot roll back, dropping
        // the transaction gives it back to the pool to be rolled back or closed there.
        if let Err(error) = tx.rollback().await {
            tracing::warn!(%error, "could not roll a failed batch back");
        }
        self.handle_separately(batch).await
    }

    /// Handles a batch's entries one transaction each.
    async fn handle_separately(&self, batch: &[inbox::Pending]) -> StoreResult<usize> {
        let mut handled = 0;
        for pending in batch {
            handled += usize::from(self.handle_one(pending).await? != Handled::AlreadyHandled);
        }
        Ok(handled)
    }

    /// One entry in a transaction of its own, timed and counted in the metrics.
    async fn handle_one(&self, pending: &inbox::Pending) -> StoreResult<Handled> {
        let started = std::time::Instant::now();
        let outcome = self
            .handle(&pending.source, pending.update_id, &pending.event)
            .instrument(update_span(pending))
            .await;
        self.count(
            &pending.event,
            outcome.as_ref().map(|o| *o).map_err(|_| ()),
            started.elapsed().as_secs_f64(),
        );
        outcome
    }

    /// Counts a handled entry in the metrics, with the time its handling took.
    fn count(&self, event: &Event, outcome: Result<Handled, ()>, seconds: f64) {
        let metrics = crate::metrics::metrics();
        let kind = event.kind_name();
        let label = match outcome {
            Ok(Handled::Done) => "done",
            Ok(Handled::Failed) => "failed",
            Ok(Handled::AlreadyHandled) => "duplicate",
            Err(()) => "retry",
        };
        metrics
            .updates_handled
            .with_label_values(&[kind, label])
            .inc();
        if matches!(outcome, Ok(Handled::Done | Handled::Failed)) {
            metrics
                .handler_seconds
                .with_label_values(&[kind])
                .observe(seconds);
            if let EventKind::Tick { .. } | EventKind::Timer { .. } = event.kind {
                let late = (self.clock.now() - event.at).num_milliseconds().max(0);
                metrics.scheduler_lag_seconds.observe(late as f64 / 1000.0);
            }
        }
    }

    /// Handles one event: everything it changes and every action it queues is committed
    /// together with the inbox entry's "handled" mark. A feature's failure rolls its changes
    /// back and closes the entry, so it cannot block the queue; the log has the detail.
    pub async fn handle(
        &self,
        source: &str,
        update_id: i64,
        event: &Event,
    ) -> StoreResult<Handled> {
        let standing = match unless_it_panics(self.standing_for(event)).await {
            Ok(standing) => standing?,
            Err(panic) => {
                let error = FeatureError::Panicked(panic);
                tracing::error!(source, update_id, chat = event.chat.id, %error, "reading the update failed");
                crate::metrics::metrics().update_failed("handle", "panic");
                let mut tx = self.db.begin().await?;
                let now = self.clock.now();
                inbox::mark_failed(&mut tx, source, update_id, now, &error.to_string()).await?;
                // Even a press nothing could be settled about is answered.
                let loaded = self.loaded();
                let defaults = &loaded.settings.defaults;
                let mut cx = self.context(&loaded, event, defaults, Role::Member, &mut tx, now);
                cx.answer_the_press();
                let actions = cx.into_actions();
                outbox::enqueue_all(&mut tx, &actions, now).await?;
                tx.commit().await?;
                self.committed();
                return Ok(Handled::Failed);
            }
        };
        let mut tx = self.db.begin().await?;
        tx.lock_chats(&[event.chat.id]).await?;
        // Claim first: a second worker on the same entry waits at the chat's lock and then
        // finds it taken.
        if !inbox::mark_handled(&mut tx, source, update_id, self.clock.now()).await? {
            tx.rollback().await?;
            return Ok(Handled::AlreadyHandled);
        }
        chats::touch(&mut tx, &event.chat, event.at).await?;
        let outcome = unless_it_panics(self.apply(
            &mut tx,
            source == timers::INBOX_SOURCE,
            update_id,
            event,
            &standing,
        ))
        .await
        .unwrap_or_else(|panic| Err(FeatureError::Panicked(panic)));
        match outcome {
            Ok(actions) => {
                outbox::enqueue_all(&mut tx, &actions, self.clock.now()).await?;
                tx.commit().await?;
                self.committed();
                Ok(Handled::Done)
            }
            Err(FeatureError::Store(error)) if error.is_transient() => {
                // Not the event's fault: leave it in the inbox to be handled again.
                tx.rollback().await?;
                Err(error)
            }
            Err(error) => {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "could not roll a failed update back");
                }
                tracing::error!(source, update_id, chat = event.chat.id, %error, "handling failed; its changes were rolled back");
                let cause = match error {
                    FeatureError::Panicked(_) => "panic",
                    _ => "error",
                };
                crate::metrics::metrics().update_failed("handle", cause);
                let now = self.clock.now();
                let mut tx = self.db.begin().await?;
                inbox::mark_failed(&mut tx, source, update_id, now, &error.to_string()).await?;
                // A command gets an apology; a button press, whose feature's answer was rolled
                // back with the rest, still gets its answer.
                let mut cx = self.context(
                    &standing.loaded,
                    event,
                    &standing.group,
                    standing.role,
                    &mut tx,
                    now,
                );
                if let Parsed::Command(_) = standing.parsed {
                    let text = self.message(standing.group.language, "core.something_went_wrong");
                    cx.reply(text);
                }
                cx.answer_the_press();
                let actions = cx.into_actions();
                outbox::enqueue_all(&mut tx, &actions, now).await?;
                tx.commit().await?;
                self.committed();
                Ok(Handled::Failed)
            }
        }
    }

    /// One of the bot's messages, outside any event (for the error path).
    fn message(&self, language: crate::core::i18n::Language, key: &str) -> String {
        let name = crate::core::i18n::message_template_name(language, key);
        self.settings()
            .templates
            .render(&name, context! {})
            .unwrap_or_else(|_| key.to_owned())
    }
}

/// Runs `work`, turning a panic inside it into `Err` with the panic's message, so that an
/// update no feature foresaw (however malformed) costs that update alone, never the process.
async fn unless_it_panics<T>(work: impl std::future::Future<Output = T>) -> Result<T, String> {
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|panic| panic_message(panic.as_ref()))
}

/// What a caught panic said.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
