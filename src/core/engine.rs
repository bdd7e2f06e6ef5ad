//! The engine: takes stored events from the inbox, routes each to the features enabled for its
//! chat inside one transaction, and hands the resulting actions to the outbox.
//!
//! ```text
//! inbox ──► Event ──► router ──► features (Cx: settings, tx, clock) ──► outbox ──► ChatPort
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use minijinja::context;
use tracing::Instrument;

use super::action::{Admin, BotRights, ChatPort, PortError};
use super::clock::Clock;
use super::commands::{CommandSet, Invocation, Parsed};
use super::context::{BotIdentity, Cx, Role};
use super::event::{ChatId, Event, EventKind};
use super::feature::{CommandOutcome, Feature, FeatureError};
use crate::config::{GroupSettings, Settings};
use crate::store::{Db, StoreResult, chats, inbox, outbox, timers};

/// How long a group's administrator list is trusted before it is asked for again. A demotion
/// takes effect within this time.
const ADMIN_LIST_TTL: Duration = Duration::minutes(10);

/// Each chat's administrators and when they were fetched; `None` when the lookup failed (the
/// failure is remembered briefly, and must not read as "nobody is an admin").
type AdminCache = HashMap<ChatId, (DateTime<Utc>, Option<Vec<Admin>>)>;

/// The supergroups that were groups, by new id → old id, and when they were read (`None`: to
/// be read). Read whole, a few rows however many chats there are, so no update asks.
#[derive(Default)]
struct MoveCache {
    read_at: Option<DateTime<Utc>>,
    old_ids: HashMap<ChatId, ChatId>,
}

/// How long the moves read are trusted: another replica may handle a move, and this one learns
/// of it within this.
const MOVES_TTL: Duration = Duration::minutes(1);

/// How many inbox entries share a transaction at most, and for how long a batch takes more:
/// its entries all wait for its commit, so these bound how much sharing adds to an entry's
/// handling time.
const BATCH: i64 = 32;
const BATCH_TIME: std::time::Duration = std::time::Duration::from_millis(10);
/// How many batches run side by side on PostgreSQL (the pool has eight connections).
const PARALLEL_BATCHES: usize = 4;

/// What the engine settles about an event before its transaction opens.
struct Standing<'e> {
    group: &'e GroupSettings,
    parsed: Parsed,
    role: Role,
    bot_rights: Option<BotRights>,
    admins: Vec<Admin>,
}

/// The log span of an entry's handling: every line logged meanwhile names the chat and update.
fn update_span(pending: &inbox::Pending) -> tracing::Span {
    tracing::info_span!(
        "update",
        chat_id = pending.event.chat.id,
        update_id = pending.update_id,
        source = %pending.source
    )
}

/// What became of one inbox entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    Done,
    /// Another worker handled it first.
    AlreadyHandled,
    /// A feature failed; its writes were rolled back and the entry closed so it cannot block
    /// the queue. The log has the detail.
    Failed,
}

pub struct Engine {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub commands: Arc<CommandSet>,
    pub features: Vec<Arc<dyn Feature>>,
    pub clock: Arc<dyn Clock>,
    pub bot: BotIdentity,
    pub port: Arc<dyn ChatPort>,
    admins: Mutex<AdminCache>,
    moves: Mutex<MoveCache>,
    write_trouble: Mutex<Option<(DateTime<Utc>, String)>>,
}

impl Engine {
    pub fn new(
        db: Db,
        settings: Arc<Settings>,
        commands: Arc<CommandSet>,
        features: Vec<Arc<dyn Feature>>,
        clock: Arc<dyn Clock>,
        bot: BotIdentity,
        port: Arc<dyn ChatPort>,
    ) -> Engine {
        Engine {
            db,
            settings,
            commands,
            features,
            clock,
            bot,
            port,
            admins: Mutex::new(HashMap::new()),
            moves: Mutex::new(MoveCache::default()),
            write_trouble: Mutex::new(None),
        }
    }

    /// Handles every waiting inbox entry, oldest first, a batch per transaction. Returns how
    /// many this engine handled (not those another worker took first).
    ///
    /// On PostgreSQL, which lets transactions write side by side, each round's entries are split
    /// by chat into several batches handled at once; a chat's entries stay in one batch, in
    /// order. (SQLite has one writer: there, one batch at a time.)
    pub async fn handle_pending(&self) -> StoreResult<usize> {
        let outcome = self.handle_rounds().await;
        let mut trouble = self
            .write_trouble
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &outcome {
            Ok(handled) if *handled > 0 => *trouble = None,
            Ok(_) => {}
            Err(error) if error.is_transient() => {
                if trouble.is_none() {
                    *trouble = Some((self.clock.now(), error.to_string()));
                }
            }
            Err(_) => {}
        }
        outcome
    }

    /// Since when the database has refused the engine's writes (a full disk, an outage), and
    /// the first refusal; `None` once a write works again.
    pub fn write_trouble(&self) -> Option<(DateTime<Utc>, String)> {
        self.write_trouble
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    async fn handle_rounds(&self) -> StoreResult<usize> {
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
            let mut batches: Vec<Vec<inbox::Pending>> =
                (0..side_by_side).map(|_| Vec::new()).collect();
            for pending in readable {
                // Groups that share points (a community) share a batch: their XP and ledger
                // rows are read and written in turn.
                let key = self.settings.points_scope(pending.event.chat.id);
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

    /// What is settled before an event's transaction opens: the group's settings, the command
    /// (if any), and the standing of whoever caused it. The standing may need the platform, and
    /// a network call must not hold the database's write lock.
    async fn standing_for<'e>(&'e self, event: &Event) -> StoreResult<Standing<'e>> {
        let group = self.group_settings(event.chat.id).await?;
        let parsed = match event.message() {
            // Re-running a command because its message was edited would surprise everyone.
            Some(message) if !message.edited => self.commands.parse(
                &message.text,
                &self.bot.username,
                !event.chat.kind.is_group(),
            ),
            _ => Parsed::NotACommand,
        };
        if let EventKind::MemberUpdated { .. } = event.kind {
            self.forget_administrators(event.chat.id);
        }
        let (role, bot_rights, admins) = self.standing(event).await;
        Ok(Standing {
            group,
            parsed,
            role,
            bot_rights,
            admins,
        })
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
                let defaults = &self.settings.defaults;
                let mut cx = self.context(event, defaults, Role::Member, &mut tx, now);
                cx.answer_the_press();
                let actions = cx.into_actions();
                outbox::enqueue_all(&mut tx, &actions, now).await?;
                tx.commit().await?;
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
                let mut cx = self.context(event, standing.group, standing.role, &mut tx, now);
                if let Parsed::Command(_) = standing.parsed {
                    let text = self.message(standing.group.language, "core.something_went_wrong");
                    cx.reply(text);
                }
                cx.answer_the_press();
                let actions = cx.into_actions();
                outbox::enqueue_all(&mut tx, &actions, now).await?;
                tx.commit().await?;
                Ok(Handled::Failed)
            }
        }
    }

    /// An event's effects, written into `tx`, and the actions it wants taken. The caller
    /// queues those, marks the entry handled and records its chat as seen, all in the same
    /// transaction, and commits it.
    async fn apply(
        &self,
        tx: &mut crate::store::Tx,
        is_timer: bool,
        update_id: i64,
        event: &Event,
        standing: &Standing<'_>,
    ) -> Result<Vec<outbox::Outgoing>, FeatureError> {
        let group = standing.group;
        let now = self.clock.now();
        if is_timer && !timers::still_set(tx, update_id).await? {
            // The timer was cancelled or set again after this firing was claimed: it is stale.
            return Ok(Vec::new());
        }
        let mut cx = self.context(event, group, standing.role, tx, now);
        cx.bot_rights = standing.bot_rights;
        if is_echo_of_a_join_or_leave(cx.tx, event).await? {
            for feature in self.enabled(group) {
                cx.urgent_feature = feature.urgent();
                feature.on_echo(&mut cx).await?;
            }
        } else {
            cx.is_command = standing.parsed != Parsed::NotACommand;
            if let Parsed::Command(invocation) = &standing.parsed {
                cx.command = Some(invocation.name.clone());
            }
            cx.admins = standing.admins.clone();
            self.route(&mut cx, &standing.parsed).await?;
        }
        cx.answer_the_press();
        let mut actions = cx.into_actions();
        if matches!(event.kind, EventKind::Tick { .. }) {
            // A Tick's inbox key is its firing's id.
            for outgoing in &mut actions {
                outgoing.job_firing = Some(update_id);
            }
        }
        Ok(actions)
    }

    fn context<'a>(
        &'a self,
        event: &'a Event,
        group: &'a GroupSettings,
        role: Role,
        tx: &'a mut crate::store::Tx,
        now: DateTime<Utc>,
    ) -> Cx<'a> {
        let mut cx = Cx::new(
            event,
            group,
            &self.settings,
            &self.commands,
            &self.bot,
            role,
            tx,
            now,
        );
        // Commands of features this group has switched off stay out of its /help.
        cx.switched_off = self
            .features
            .iter()
            .filter(|feature| !feature.always_on() && !group.feature_on(feature.name()))
            .flat_map(|feature| feature.commands().iter().copied())
            .collect();
        cx
    }

    async fn route(&self, cx: &mut Cx<'_>, parsed: &Parsed) -> Result<(), FeatureError> {
        if let EventKind::ChatMigrated { to } = cx.event.kind {
            let from = cx.event.chat.id;
            for feature in &self.features {
                feature.migrate_chat(cx.tx, from, to).await?;
            }
            timers::migrate(cx.tx, from, to).await?;
            chats::record_migration(cx.tx, from, to, cx.event.at).await?;
            // The new id's settings are those of the old from now on.
            self.moves().read_at = None;
            tracing::info!(
                from,
                to,
                "group became a supergroup; its data moved to the new id"
            );
            return Ok(());
        }
        if let EventKind::Timer { feature: owner, .. } = &cx.event.kind {
            // A timer is the private business of the feature that set it.
            if let Some(feature) = self.enabled(cx.group).find(|f| f.name() == owner) {
                cx.urgent_feature = feature.urgent();
                feature.on_event(cx).await?;
            }
            return Ok(());
        }
        for feature in self.enabled(cx.group) {
            cx.urgent_feature = feature.urgent();
            feature.on_event(cx).await?;
            if cx.is_stopped() {
                return Ok(());
            }
        }
        cx.urgent_feature = false;
        match parsed {
            Parsed::Command(invocation) => self.run_command(cx, invocation).await,
            Parsed::Unknown(name) => {
                let text = cx.text("core.unknown_command", context! { command => name });
                cx.reply(text);
                Ok(())
            }
            Parsed::NotACommand => Ok(()),
        }
    }

    async fn run_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> Result<(), FeatureError> {
        let Some(manifest) = self.commands.get(&invocation.name) else {
            return Ok(());
        };
        if !manifest.scope.allows(cx.is_private()) {
            let key = if cx.is_private() {
                "core.group_only"
            } else {
                "core.private_only"
            };
            let text = cx.text(key, context! { command => &manifest.name });
            cx.reply(text);
            return Ok(());
        }
        let required = match manifest.permission {
            super::commands::Permission::Member => Role::Member,
            super::commands::Permission::Admin => Role::Admin,
            super::commands::Permission::Owner => Role::Owner,
        };
        if cx.role < required {
            let key = if required == Role::Owner {
                "core.owner_only"
            } else {
                "core.admin_only"
            };
            let text = cx.text(key, context! { command => &manifest.name });
            cx.reply(text);
            return Ok(());
        }
        let handler = self
            .features
            .iter()
            .find(|feature| feature.commands().contains(&manifest.name.as_str()));
        match handler {
            Some(feature) if !feature.always_on() && !cx.group.feature_on(feature.name()) => {
                let text = cx.text("core.feature_off", context! { command => &manifest.name });
                cx.reply(text);
                Ok(())
            }
            Some(feature) => {
                cx.urgent_feature = feature.urgent();
                if feature.on_command(cx, invocation).await? == CommandOutcome::BadArguments {
                    let text = cx.text(
                        "core.usage",
                        context! { usage => manifest.usage_line(cx.language()) },
                    );
                    cx.reply(text);
                }
                Ok(())
            }
            None if manifest.reply.is_some() => {
                let name = reply_template_name(&manifest.name, cx.language());
                let actor = cx.event.actor();
                let vars = context! {
                    user => actor.map(|user| user.name.clone()),
                    chat => cx.event.chat.title.clone(),
                    args => invocation.args.clone(),
                };
                if let Some(text) = cx.render(&name, vars) {
                    cx.reply(text);
                }
                Ok(())
            }
            None => {
                tracing::error!(command = %manifest.name, "command has a manifest but no handler");
                Ok(())
            }
        }
    }

    fn enabled<'a>(
        &'a self,
        group: &'a GroupSettings,
    ) -> impl Iterator<Item = &'a Arc<dyn Feature>> {
        self.features
            .iter()
            .filter(move |feature| feature.always_on() || group.feature_on(feature.name()))
    }

    /// A chat's settings. A supergroup that was a group keeps the settings written for its old id.
    pub async fn group_settings(&self, chat: ChatId) -> StoreResult<&GroupSettings> {
        if self.settings.has_group_table(chat) {
            return Ok(self.settings.group(chat));
        }
        // Only a config with group tables can have one under a group's old id.
        if !self.settings.groups.is_empty()
            && let Some(old) = self.migrated_from(chat).await?
            && self.settings.has_group_table(old)
        {
            return Ok(self.settings.group(old));
        }
        Ok(&self.settings.defaults)
    }

    /// The id a chat had before it became a supergroup. All moves are read at once, once a
    /// minute, and kept in memory: a 10,000-group bot asks nothing per chat or per update.
    async fn migrated_from(&self, chat: ChatId) -> StoreResult<Option<ChatId>> {
        let now = self.clock.now();
        {
            let moves = self.moves();
            if moves
                .read_at
                .is_some_and(|read_at| now - read_at < MOVES_TTL)
            {
                return Ok(moves.old_ids.get(&chat).copied());
            }
        }
        let old_ids: HashMap<ChatId, ChatId> = chats::moves(&self.db)
            .await?
            .into_iter()
            .map(|(old, new)| (new, old))
            .collect();
        let old = old_ids.get(&chat).copied();
        *self.moves() = MoveCache {
            read_at: Some(now),
            old_ids,
        };
        Ok(old)
    }

    fn moves(&self) -> std::sync::MutexGuard<'_, MoveCache> {
        self.moves
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One of the bot's messages, outside any event (for the error path).
    fn message(&self, language: super::i18n::Language, key: &str) -> String {
        let name = super::i18n::message_template_name(language, key);
        self.settings
            .templates
            .render(&name, context! {})
            .unwrap_or_else(|_| key.to_owned())
    }

    /// The standing of whoever caused the event, and what the bot may do in the chat (`None`
    /// when that is not known: a private chat, or the administrator list could not be had).
    async fn standing(&self, event: &Event) -> (Role, Option<BotRights>, Vec<Admin>) {
        if !event.chat.kind.is_group() {
            return (Role::Member, None, Vec::new());
        }
        let admins = match self.administrators(event.chat.id).await {
            Ok(admins) => admins,
            Err(error) => {
                // Fail closed: without the list nobody is treated as an admin.
                tracing::warn!(chat = event.chat.id, %error, "could not get the administrator list");
                let role = match event.message() {
                    Some(message) if message.anonymous_admin => Role::Admin,
                    _ => Role::Member,
                };
                return (role, None, Vec::new());
            }
        };
        let rights = Some(BotRights::among(&admins, self.bot.id));
        if event
            .message()
            .is_some_and(|message| message.anonymous_admin)
        {
            return (Role::Admin, rights, admins);
        }
        let role = match event
            .actor()
            .and_then(|actor| admins.iter().find(|admin| admin.user == actor.id))
        {
            Some(admin) if admin.owner => Role::Owner,
            Some(_) => Role::Admin,
            None => Role::Member,
        };
        (role, rights, admins)
    }

    /// The chat's administrators, from a short-lived cache.
    pub async fn administrators(&self, chat: ChatId) -> Result<Vec<Admin>, PortError> {
        let now = self.clock.now();
        if let Some((fetched, admins)) = self.admin_cache().get(&chat)
            && now - *fetched < ADMIN_LIST_TTL
        {
            return admins.clone().ok_or_else(|| {
                PortError::Unavailable(
                    "the administrator list could not be had a moment ago".into(),
                )
            });
        }
        match self.port.administrators(chat).await {
            Ok(admins) => {
                self.admin_cache().insert(chat, (now, Some(admins.clone())));
                Ok(admins)
            }
            Err(error) => {
                // Remember the failure for a minute, so that a flaky network does not make
                // every event of the chat wait for the same lookup to fail again.
                let retry_at = now - ADMIN_LIST_TTL + Duration::minutes(1);
                self.admin_cache().insert(chat, (retry_at, None));
                Err(error)
            }
        }
    }

    /// Forgets a chat's cached administrators (after a promotion or demotion is seen).
    pub fn forget_administrators(&self, chat: ChatId) {
        self.admin_cache().remove(&chat);
    }

    fn admin_cache(&self) -> std::sync::MutexGuard<'_, AdminCache> {
        self.admins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// Telegram can report one join or leave twice: as a service message and as a `chat_member`
/// update. The second, arriving within a minute of the first with nothing in between, is
/// dropped so that nobody is welcomed twice.
async fn is_echo_of_a_join_or_leave(tx: &mut crate::store::Tx, event: &Event) -> StoreResult<bool> {
    let (member, joining) = match &event.kind {
        EventKind::MemberJoined { member, .. } => (member, true),
        EventKind::MemberLeft { member, .. } => (member, false),
        _ => return Ok(false),
    };
    let recent = event.at.timestamp() - 60;
    let row: Option<(Option<i64>, Option<i64>)> = tx
        .fetch_optional(
            "SELECT joined_at, left_at FROM members WHERE chat_id = $1 AND user_id = $2",
            crate::args![event.chat.id, member.id],
        )
        .await?;
    Ok(match row {
        Some((joined_at, left_at)) if joining => {
            joined_at.is_some_and(|t| t >= recent)
                && left_at.is_none_or(|left| left < joined_at.unwrap_or(0))
        }
        Some((_, left_at)) => left_at.is_some_and(|t| t >= recent),
        None => false,
    })
}

/// Where a reply-only command's template is kept.
pub fn reply_template_name(command: &str, language: super::i18n::Language) -> String {
    format!("cmd/{command}/{}", language.tag())
}

/// Compiles the reply templates of reply-only manifests, reporting each that does not compile.
pub fn add_reply_templates(settings: &mut Settings, commands: &CommandSet) -> Vec<String> {
    let mut errors = Vec::new();
    for manifest in commands.iter() {
        let Some(reply) = &manifest.reply else {
            continue;
        };
        for language in super::i18n::Language::ALL {
            if let Err(error) = settings.templates.add(
                reply_template_name(&manifest.name, language),
                reply.get(language).to_owned(),
            ) {
                errors.push(format!(
                    "command /{}: reply template ({language}): {error}",
                    manifest.name
                ));
            }
        }
    }
    errors
}
