//! What the engine settles about an event before its transaction opens (a network call must
//! not hold the database's write lock): the group's settings, the command, and the standing of
//! whoever caused it (member, admin or owner) with the bot's own rights, from the group's
//! administrator list, kept a short while.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{Engine, Loaded};
use crate::core::action::{Admin, BotRights, PortError};
use crate::core::changes::InForce;
use crate::core::commands::Parsed;
use crate::core::context::Role;
use crate::core::event::{ChatId, Event, EventKind};
use crate::store::StoreResult;

/// How long a group's administrator list is trusted before it is asked for again. A demotion
/// takes effect within this time.
const ADMIN_LIST_TTL: Duration = Duration::minutes(10);

/// Each chat's administrators and when they were fetched; `None` when the lookup failed (the
/// failure is remembered briefly, and must not read as "nobody is an admin").
pub(super) type AdminCache = HashMap<ChatId, (DateTime<Utc>, Option<Vec<Admin>>)>;

/// What the engine settles about an event before its transaction opens.
pub(super) struct Standing {
    /// The config and commands the event is handled on, start to end.
    pub(super) loaded: Arc<Loaded>,
    pub(super) group: InForce,
    /// The config file has a table for the chat (the operator listed it).
    pub(super) listed: bool,
    pub(super) parsed: Parsed,
    pub(super) role: Role,
    pub(super) bot_rights: Option<BotRights>,
    pub(super) admins: Vec<Admin>,
}

impl Engine {
    /// What is settled before an event's transaction opens: the group's settings, the command
    /// (if any), and the standing of whoever caused it. The standing may need the platform, and
    /// a network call must not hold the database's write lock.
    pub(super) async fn standing_for(&self, event: &Event) -> StoreResult<Standing> {
        let loaded = self.loaded();
        let group = self.group_settings_in(&loaded, event.chat.id).await?;
        let listed = loaded
            .settings
            .has_group_table(self.file_table(&loaded.settings, event.chat.id).await?);
        let parsed = match event.message() {
            // Re-running a command because its message was edited would surprise everyone.
            Some(message) if !message.edited => loaded.commands.parse(
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
            loaded,
            group,
            listed,
            parsed,
            role,
            bot_rights,
            admins,
        })
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
