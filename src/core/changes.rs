//! A group's admins change its settings in the chat: one key at a time, checked exactly as the
//! config file's table would be, refused if the operator locked the key, kept in the database
//! (`store::group_changes`) over the file's settings, and reported to the log chat.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::context::Cx;
use super::event::ChatId;
use super::feature::FeatureResult;
use super::settings::GroupSettings;
use crate::config::Settings;
use crate::store::{Db, StoreResult, group_changes};

/// Why a change was not made.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The operator keeps this key to the config file.
    Locked,
    /// The value is not one the key takes: what is wrong, as the config check says it.
    Invalid(Vec<String>),
}

/// The longest value a group's admin may set: a rules text or a welcome template of a few
/// screens. Templates render with a fuel limit besides.
pub const MAX_VALUE_CHARS: usize = 4_000;

impl Cx<'_> {
    /// Sets `key` (a dotted path of the group's table: `language`, `welcome.texts`) to `value`,
    /// or back to the config file's with `None`. Returns the group's settings as they will be.
    pub async fn change_setting(
        &mut self,
        key: &str,
        value: Option<&toml::Value>,
    ) -> FeatureResult<Result<GroupSettings, Refused>> {
        if self.group.is_locked(key) {
            return Ok(Err(Refused::Locked));
        }
        let value = value.map(toml::Value::to_string);
        if let Some(text) = &value
            && text.chars().count() > MAX_VALUE_CHARS
        {
            return Ok(Err(Refused::Invalid(vec![format!(
                "{key}: at most {MAX_VALUE_CHARS} characters"
            )])));
        }
        let chat = self.chat();
        let mut changes = group_changes::of_chat(self.tx, chat).await?;
        changes.retain(|(changed, _)| changed != key);
        if let Some(value) = &value {
            changes.push((key.to_owned(), value.clone()));
        }
        let base = self.settings.group(chat);
        let settings = match self.settings.with_changes(chat, base, &changes) {
            Ok(settings) => settings,
            Err(problems) => return Ok(Err(Refused::Invalid(problems))),
        };
        let actor = self.event.actor().cloned();
        let by = actor.as_ref().map_or(0, |user| user.id);
        match &value {
            Some(value) => {
                group_changes::set(self.tx, chat, key, value, by, self.now.timestamp()).await?;
            }
            None => {
                group_changes::reset(self.tx, chat, key).await?;
            }
        }
        let detail = match &value {
            Some(value) => format!("{key} = {}", clip(value)),
            None => format!("{key} ↩"),
        };
        // The log chat reads the step in the group's language; the admin_actions row keeps
        // the plain key.
        self.record_audit(actor.as_ref(), None, "setting", &detail)
            .await?;
        let action = self.text("core.audit_setting", minijinja::context! {});
        self.post_audit(actor.as_ref(), None, &action, &detail, Vec::new());
        self.settings_changed = true;
        Ok(Ok(settings))
    }

    /// `change_setting`, saying in the chat why a refused change was not made: the group's
    /// settings as they will be when it was.
    pub async fn change_setting_or_say_why(
        &mut self,
        key: &str,
        value: Option<&toml::Value>,
    ) -> FeatureResult<Option<GroupSettings>> {
        match self.change_setting(key, value).await? {
            Ok(settings) => Ok(Some(settings)),
            Err(Refused::Locked) => {
                let text = self.text("core.setting_locked", minijinja::context! { key });
                self.reply(text);
                Ok(None)
            }
            Err(Refused::Invalid(problems)) => {
                tracing::info!(
                    chat = self.chat(),
                    key,
                    ?problems,
                    "a setting change was refused"
                );
                let text = self.text("core.setting_invalid", minijinja::context! { problems });
                self.reply(text);
                Ok(None)
            }
        }
    }

    /// One of the catalogs' messages in the language `settings` speak: the answer to a change
    /// of language is in the new one.
    pub fn text_as(&self, settings: &GroupSettings, key: &str, vars: minijinja::Value) -> String {
        self.text_in(settings.language, key, vars)
    }
}

/// A value as the log chat shows it: one line, not a page.
fn clip(value: &str) -> String {
    let line = value.replace('\n', " ");
    match line.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

/// The groups' own changes, resolved over the file's settings and kept in memory. Every row is
/// read at once, once a minute, so a 10,000-group bot asks nothing per chat or per update and a
/// change made by another replica is seen within the minute; a change made here is read again
/// at once (`forget`).
#[derive(Default)]
pub struct ChangedGroups {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    read_at: Option<DateTime<Utc>>,
    /// Each changed chat's rows, as last read.
    rows: HashMap<ChatId, Vec<(String, String)>>,
    /// Its settings resolved from them, once asked for, with the generation of the config
    /// they were resolved over (a reload makes a new one).
    resolved: HashMap<ChatId, (u64, Arc<GroupSettings>)>,
    /// Chats changed here since: read again before use.
    stale: HashSet<ChatId>,
}

/// How often every group's changes are read again.
const REREAD: Duration = Duration::minutes(1);

/// A chat's settings in force: the file's (the table `table` of `settings`, or its defaults
/// when it has none), or the file's with the group's own changes. It holds the config it was
/// read from, so a reload meanwhile does not pull it from under the event being handled.
#[derive(Debug)]
pub enum InForce {
    File {
        settings: Arc<Settings>,
        table: ChatId,
    },
    Changed(Arc<GroupSettings>),
}

impl InForce {
    /// Whether the group's own changes are layered over the file's settings.
    pub fn is_changed(&self) -> bool {
        matches!(self, InForce::Changed(_))
    }
}

impl std::ops::Deref for InForce {
    type Target = GroupSettings;

    fn deref(&self) -> &GroupSettings {
        match self {
            InForce::File { settings, table } => settings.group(*table),
            InForce::Changed(settings) => settings,
        }
    }
}

impl ChangedGroups {
    /// `chat`'s settings: the file's (`settings`, generation `generation`, its table `table`)
    /// with the group's changes over them, if it has any. A stored change the file no longer
    /// allows (the operator changed it since) is logged and the file's settings hold.
    pub async fn in_force(
        &self,
        db: &Db,
        (settings, generation): (&Arc<Settings>, u64),
        chat: ChatId,
        table: ChatId,
        now: DateTime<Utc>,
    ) -> StoreResult<InForce> {
        let file = || InForce::File {
            settings: settings.clone(),
            table,
        };
        // What must be read is taken from the state before reading, so that a change made
        // while the read runs marks its chat again and is not lost.
        let (reread_all, reread_chat) = {
            let mut state = self.lock();
            if state.read_at.is_none_or(|at| now - at >= REREAD) {
                (Some(std::mem::take(&mut state.stale)), false)
            } else {
                (None, state.stale.remove(&chat))
            }
        };
        if let Some(stale) = reread_all {
            let all = match group_changes::all(db).await {
                Ok(all) => all,
                Err(error) => {
                    self.lock().stale.extend(stale);
                    return Err(error);
                }
            };
            let mut rows: HashMap<ChatId, Vec<(String, String)>> = HashMap::new();
            for (changed, key, value) in all {
                rows.entry(changed).or_default().push((key, value));
            }
            let mut state = self.lock();
            let State {
                resolved,
                rows: old,
                ..
            } = &mut *state;
            resolved.retain(|chat, _| old.get(chat) == rows.get(chat));
            state.rows = rows;
            state.read_at = Some(now);
        } else if reread_chat {
            let rows = match group_changes::of_chat_outside(db, chat).await {
                Ok(rows) => rows,
                Err(error) => {
                    self.forget(chat);
                    return Err(error);
                }
            };
            let mut state = self.lock();
            state.resolved.remove(&chat);
            if rows.is_empty() {
                state.rows.remove(&chat);
            } else {
                state.rows.insert(chat, rows);
            }
        }
        let mut state = self.lock();
        if let Some((over, resolved)) = state.resolved.get(&chat)
            && *over == generation
        {
            return Ok(InForce::Changed(resolved.clone()));
        }
        let Some(rows) = state.rows.get(&chat) else {
            return Ok(file());
        };
        match settings.with_changes(chat, settings.group(table), rows) {
            Ok(resolved) => {
                let resolved = Arc::new(resolved);
                state.resolved.insert(chat, (generation, resolved.clone()));
                Ok(InForce::Changed(resolved))
            }
            Err(problems) => {
                tracing::warn!(
                    chat,
                    ?problems,
                    "the group's own settings no longer apply; the config file's hold"
                );
                Ok(file())
            }
        }
    }

    /// The chats that have changes of their own, as last read.
    pub fn changed_chats(&self) -> Vec<ChatId> {
        self.lock().rows.keys().copied().collect()
    }

    /// `chat`'s settings were changed here: read them again before they are next used.
    pub fn forget(&self, chat: ChatId) {
        self.lock().stale.insert(chat);
    }

    /// Every group's settings are read again, as after a reload of the config.
    pub fn forget_all(&self) {
        let mut state = self.lock();
        state.resolved.clear();
        state.read_at = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
