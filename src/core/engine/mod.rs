//! The engine: takes stored events from the inbox, routes each to the features enabled for its
//! chat inside one transaction, and hands the resulting actions to the outbox.
//!
//! ```text
//! inbox ──► Event ──► router ──► features (Cx: settings, tx, clock) ──► outbox ──► ChatPort
//! ```

mod batch;
mod route;
mod standing;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};

pub use self::batch::panic_message;
pub use self::route::{add_reply_templates, reply_template_name};
use self::standing::{AdminCache, Standing};
use super::action::ChatPort;
use super::changes::{ChangedGroups, InForce};
use super::clock::Clock;
use super::commands::CommandSet;
use super::context::BotIdentity;
use super::event::ChatId;
use super::feature::Feature;
use crate::config::Settings;
use crate::store::{Db, StoreResult, chats};

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

/// What a reload replaces: the checked config and the command set, read together. An event is
/// handled wholly on the one it started with (`Engine::loaded`); the next takes the newer.
pub struct Loaded {
    pub settings: Arc<Settings>,
    pub commands: Arc<CommandSet>,
    /// Counts the reloads, so that what was worked out from older settings is not reused.
    pub generation: u64,
}

pub struct Engine {
    pub db: Db,
    loaded: RwLock<Arc<Loaded>>,
    reloads: AtomicU64,
    pub features: Vec<Arc<dyn Feature>>,
    pub clock: Arc<dyn Clock>,
    pub bot: BotIdentity,
    pub port: Arc<dyn ChatPort>,
    admins: Mutex<AdminCache>,
    moves: Mutex<MoveCache>,
    /// The groups' own settings changes, resolved (see `core::changes`).
    changed_groups: ChangedGroups,
    /// Chats whose settings an event in the open transaction changed: read again once it is
    /// committed (before, a read would still see the old rows).
    changing: Mutex<Vec<ChatId>>,
    write_trouble: Mutex<Option<(DateTime<Utc>, String)>>,
    /// Chats whose settings in force changed (an admin's change, committed), for whoever
    /// follows them (the command menus); `settings_changed` wakes them.
    changed: Mutex<Vec<ChatId>>,
    pub settings_changed: tokio::sync::Notify,
    /// Unlisted groups this process has said goodbye to (`unknown_groups = "leave"`): once.
    left: Mutex<std::collections::HashSet<ChatId>>,
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
            loaded: RwLock::new(Arc::new(Loaded {
                settings,
                commands,
                generation: 0,
            })),
            reloads: AtomicU64::new(0),
            features,
            clock,
            bot,
            port,
            admins: Mutex::new(HashMap::new()),
            moves: Mutex::new(MoveCache::default()),
            changed_groups: ChangedGroups::default(),
            changing: Mutex::new(Vec::new()),
            write_trouble: Mutex::new(None),
            changed: Mutex::new(Vec::new()),
            settings_changed: tokio::sync::Notify::new(),
            left: Mutex::new(Default::default()),
        }
    }

    /// The config and commands in force now.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The config in force now.
    pub fn settings(&self) -> Arc<Settings> {
        self.loaded().settings.clone()
    }

    /// The commands in force now.
    pub fn commands(&self) -> Arc<CommandSet> {
        self.loaded().commands.clone()
    }

    /// Runs on `settings` and `commands` from the next event on (a reload: they must have been
    /// checked as at start, `app::reload`). Events being handled finish on the old ones; the
    /// groups' own changes are resolved again over the new file, and nothing in the database
    /// is touched.
    pub fn replace(&self, settings: Arc<Settings>, commands: Arc<CommandSet>) {
        let generation = self.reloads.fetch_add(1, Ordering::SeqCst) + 1;
        *self
            .loaded
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(Loaded {
            settings,
            commands,
            generation,
        });
        self.changed_groups.forget_all();
        // A table for a chat's old id may have come or gone.
        self.moves().read_at = None;
    }

    /// The chats whose settings in force changed since the last call (an admin's change in
    /// the chat); `settings_changed` is notified when there are some.
    pub fn take_changed_chats(&self) -> Vec<ChatId> {
        let mut chats = std::mem::take(
            &mut *self
                .changed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        chats.sort_unstable();
        chats.dedup();
        chats
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

    /// A chat's settings in force: the config file's, with the group's own changes over them.
    pub async fn group_settings(&self, chat: ChatId) -> StoreResult<InForce> {
        self.group_settings_in(&self.loaded(), chat).await
    }

    /// A chat's settings in force under `loaded`.
    pub(super) async fn group_settings_in(
        &self,
        loaded: &Loaded,
        chat: ChatId,
    ) -> StoreResult<InForce> {
        let table = self.file_table(&loaded.settings, chat).await?;
        self.changed_groups
            .in_force(
                &self.db,
                (&loaded.settings, loaded.generation),
                chat,
                table,
                self.clock.now(),
            )
            .await
    }

    /// Whether the config file has a table for a chat (under its id, or under the id it had
    /// before it became a supergroup): the operator listed it.
    pub async fn is_listed(&self, chat: ChatId) -> StoreResult<bool> {
        let settings = self.settings();
        Ok(settings.has_group_table(self.file_table(&settings, chat).await?))
    }

    /// Which of the file's tables holds a chat's settings: its own, or, for a supergroup that
    /// was a group, the one written for its old id; a chat with neither reads the defaults
    /// (`Settings::group` of a chat without a table).
    pub(super) async fn file_table(
        &self,
        settings: &Settings,
        chat: ChatId,
    ) -> StoreResult<ChatId> {
        if settings.has_group_table(chat) {
            return Ok(chat);
        }
        // Only a config with group tables can have one under a group's old id.
        if !settings.groups.is_empty()
            && let Some(old) = self.migrated_from(chat).await?
            && settings.has_group_table(old)
        {
            return Ok(old);
        }
        Ok(chat)
    }

    /// An event changed its chat's settings; they are read again once `committed` is called.
    pub(super) fn settings_changing(&self, chat: ChatId) {
        self.changing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(chat);
    }

    /// A transaction was committed: the settings changes in it take effect.
    pub(super) fn committed(&self) {
        let changed = std::mem::take(
            &mut *self
                .changing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        if changed.is_empty() {
            return;
        }
        for &chat in &changed {
            self.changed_groups.forget(chat);
        }
        self.changed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend(changed);
        self.settings_changed.notify_one();
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
}
