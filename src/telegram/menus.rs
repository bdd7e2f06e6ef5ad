//! The command menus Telegram shows: the bot-wide ones (private chats, every group, every
//! group's admins, in each language) and, for a group whose features differ from the
//! defaults' (its table in the config, or an admin's `/feature on|off`), its own, with only
//! the commands of the features switched on there (scopes `chat` and `chat_administrators`,
//! in the group's language). A group's menu is set only when it differs from what was last set,
//! and deleted once it is the same as the bot-wide one again.

use std::collections::{BTreeSet, HashMap};
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use teloxide::payloads::{DeleteMyCommandsSetters, SetMyCommandsSetters};
use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, Recipient};

use super::port::with_retries;
use super::redact;
use crate::config::{GroupSettings, Settings};
use crate::core::commands::{CommandSet, Permission, Scope};
use crate::core::engine::Engine;
use crate::core::event::ChatId;
use crate::core::feature::Feature;
use crate::core::i18n::Language;
use crate::store::{StoreResult, group_changes};

/// Telegram's limits: at most 100 commands in a menu, a description of 1–256 characters.
const MAX_COMMANDS: usize = 100;
const MAX_DESCRIPTION: usize = 256;
/// A pause after each call for a group's menu, so that a start with many of them stays far
/// below the bot's 30 calls a second that the rest of the bot shares.
const PAUSE: Duration = Duration::from_millis(100);
/// How often every group's menu is looked at again (a listed group the bot joined since, a
/// change another replica made).
const EVERY: Duration = Duration::from_secs(600);

/// One menu: the commands as Telegram takes them, in the manifests' order.
pub fn menu(
    commands: &CommandSet,
    features: &[Arc<dyn Feature>],
    group: &GroupSettings,
    private: bool,
    up_to: Permission,
    language: Language,
) -> Vec<BotCommand> {
    commands
        .iter()
        .filter(|m| !m.hidden && m.permission <= up_to && m.scope.allows(private))
        .filter(|m| private || m.scope != Scope::Private)
        .filter(|m| {
            // A reply-only command has no feature to switch off.
            features
                .iter()
                .find(|f| f.commands().contains(&m.name.as_str()))
                .is_none_or(|f| f.always_on() || group.feature_on(f.name()))
        })
        .filter_map(|m| {
            let description: String = m
                .description
                .get(language)
                .trim()
                .chars()
                .take(MAX_DESCRIPTION)
                .collect();
            (!description.is_empty()).then(|| BotCommand::new(m.name.clone(), description))
        })
        .take(MAX_COMMANDS)
        .collect()
}

/// What a group's members and its admins see.
#[derive(Clone, Debug, PartialEq, Eq)]
struct GroupMenu {
    members: Vec<BotCommand>,
    admins: Vec<BotCommand>,
}

impl GroupMenu {
    fn of(
        commands: &CommandSet,
        features: &[Arc<dyn Feature>],
        group: &GroupSettings,
        language: Language,
    ) -> GroupMenu {
        GroupMenu {
            members: menu(
                commands,
                features,
                group,
                false,
                Permission::Member,
                language,
            ),
            admins: menu(
                commands,
                features,
                group,
                false,
                Permission::Owner,
                language,
            ),
        }
    }

    fn names(&self) -> (BTreeSet<&str>, BTreeSet<&str>) {
        fn names(list: &[BotCommand]) -> BTreeSet<&str> {
            list.iter().map(|c| c.command.as_str()).collect()
        }
        (names(&self.members), names(&self.admins))
    }
}

/// Sets the bot-wide menus: private chats, all groups, all groups' admins, each in every
/// language and once without one (for clients in other languages, in the defaults'). Each
/// call takes its place in `budget`, if given.
pub async fn set_bot_wide(
    budget: Option<&super::port::CallBudget>,
    bot: &Bot,
    token: &str,
    settings: &Settings,
    commands: &CommandSet,
    features: &[Arc<dyn Feature>],
) -> anyhow::Result<()> {
    let scopes = [
        (BotCommandScope::AllPrivateChats, true, Permission::Member),
        (BotCommandScope::AllGroupChats, false, Permission::Member),
        (
            BotCommandScope::AllChatAdministrators,
            false,
            Permission::Owner,
        ),
    ];
    let defaults = &settings.defaults;
    for (scope, private, up_to) in scopes {
        for language in Language::ALL.into_iter().map(Some).chain([None]) {
            let shown_in = language.unwrap_or(defaults.language);
            let list = menu(commands, features, defaults, private, up_to, shown_in);
            let _spent = match budget {
                Some(budget) => Some(budget.spend_one().await),
                None => None,
            };
            with_retries(|| {
                let mut request = bot.set_my_commands(list.clone()).scope(scope.clone());
                if let Some(language) = language {
                    request = request.language_code(language.telegram_code());
                }
                request.into_future()
            })
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "setMyCommands failed: {}",
                    redact(&error.to_string(), token)
                )
            })?;
        }
    }
    Ok(())
}

/// The menus of a running bot, kept in step with the config and the groups' own changes.
pub struct Menus {
    bot: Bot,
    token: String,
    /// The bot's calls a second, shared with the port (`None`: not paced).
    budget: Option<super::port::CallBudget>,
    /// Each group's own menu as last set (`None`: known to have none).
    set: HashMap<ChatId, Option<GroupMenu>>,
}

impl Menus {
    pub fn new(bot: Bot, token: String, budget: Option<super::port::CallBudget>) -> Menus {
        Menus {
            bot,
            token,
            budget,
            set: HashMap::new(),
        }
    }

    /// Every group that may need a menu of its own: those the config lists, those whose admins
    /// changed something, and those given one before.
    async fn candidates(&self, engine: &Engine) -> StoreResult<BTreeSet<ChatId>> {
        let settings = engine.settings();
        let mut chats: BTreeSet<ChatId> = settings
            .groups
            .keys()
            .copied()
            .filter(|&id| id < 0 && id != crate::config::PLACEHOLDER_CHAT_ID)
            .collect();
        // A listed group that became a supergroup has its table under its old id.
        for (old, new) in crate::store::chats::moves(&engine.db).await? {
            if settings.has_group_table(old) {
                chats.insert(new);
            }
        }
        chats.extend(
            group_changes::all(&engine.db)
                .await?
                .into_iter()
                .map(|(chat, ..)| chat),
        );
        chats.extend(self.set.keys().copied());
        Ok(chats)
    }

    /// Brings every group's menu in step (at start, after a reload, and now and then).
    pub async fn sync_all(&mut self, engine: &Engine) -> StoreResult<()> {
        let chats = self.candidates(engine).await?;
        self.sync(engine, chats).await
    }

    /// Brings these groups' menus in step.
    pub async fn sync(
        &mut self,
        engine: &Engine,
        chats: impl IntoIterator<Item = ChatId>,
    ) -> StoreResult<()> {
        let loaded = engine.loaded();
        let changed_here = group_changes::all(&engine.db)
            .await?
            .into_iter()
            .map(|(chat, ..)| chat)
            .collect::<BTreeSet<_>>();
        for chat in chats {
            if !reachable(engine, chat).await? {
                self.set.remove(&chat);
                continue;
            }
            let group = engine.group_settings(chat).await?;
            let wanted = GroupMenu::of(&loaded.commands, &engine.features, &group, group.language);
            let bot_wide = GroupMenu::of(
                &loaded.commands,
                &engine.features,
                &loaded.settings.defaults,
                group.language,
            );
            if wanted.names() == bot_wide.names() {
                // A menu set by an earlier run is not known: a group whose admins changed
                // something may have one, and it is deleted once.
                let may_have_one = match self.set.get(&chat) {
                    Some(set) => set.is_some(),
                    None => changed_here.contains(&chat),
                };
                // Until a delete works, the group may still have one: try again next time.
                if !may_have_one || self.delete(chat).await {
                    self.set.insert(chat, None);
                }
                continue;
            }
            if self.set.get(&chat).and_then(Option::as_ref) == Some(&wanted) {
                continue;
            }
            if self.put(chat, &wanted).await {
                self.set.insert(chat, Some(wanted));
            }
        }
        Ok(())
    }

    async fn spend(&self) -> Option<super::port::Spent> {
        match &self.budget {
            Some(budget) => Some(budget.spend_one().await),
            None => None,
        }
    }

    async fn put(&self, chat: ChatId, menu: &GroupMenu) -> bool {
        let mut done = true;
        for (scope, list) in [
            (
                BotCommandScope::Chat {
                    chat_id: Recipient::Id(teloxide::types::ChatId(chat)),
                },
                &menu.members,
            ),
            (
                BotCommandScope::ChatAdministrators {
                    chat_id: Recipient::Id(teloxide::types::ChatId(chat)),
                },
                &menu.admins,
            ),
        ] {
            let _spent = self.spend().await;
            let result = with_retries(|| {
                self.bot
                    .set_my_commands(list.clone())
                    .scope(scope.clone())
                    .into_future()
            })
            .await;
            tokio::time::sleep(PAUSE).await;
            if let Err(error) = result {
                tracing::warn!(chat, error = %redact(&error.to_string(), &self.token), "could not set the group's command menu");
                done = false;
            }
        }
        done
    }

    async fn delete(&self, chat: ChatId) -> bool {
        let mut done = true;
        for scope in [
            BotCommandScope::Chat {
                chat_id: Recipient::Id(teloxide::types::ChatId(chat)),
            },
            BotCommandScope::ChatAdministrators {
                chat_id: Recipient::Id(teloxide::types::ChatId(chat)),
            },
        ] {
            let _spent = self.spend().await;
            let result = with_retries(|| {
                self.bot
                    .delete_my_commands()
                    .scope(scope.clone())
                    .into_future()
            })
            .await;
            tokio::time::sleep(PAUSE).await;
            if let Err(error) = result {
                tracing::warn!(chat, error = %redact(&error.to_string(), &self.token), "could not remove the group's command menu");
                done = false;
            }
        }
        done
    }
}

/// Whether the bot is in the chat as far as it knows: seen, still active, not moved.
async fn reachable(engine: &Engine, chat: ChatId) -> StoreResult<bool> {
    let row: Option<(i64, Option<i64>)> = engine
        .db
        .fetch_optional(
            "SELECT active, migrated_to FROM chats WHERE chat_id = $1",
            crate::args![chat],
        )
        .await?;
    Ok(matches!(row, Some((1, None))))
}

/// `qunbot run`'s menu keeper: the bot-wide menus and every group's at start; again after
/// each reload (`reloaded`); the groups whose admins changed their settings as they do; and
/// every group's every ten minutes.
pub async fn keep_in_step(
    engine: Arc<Engine>,
    mut menus: Menus,
    reloaded: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut bot_wide: Option<Arc<CommandSet>> = None;
    loop {
        let loaded = engine.loaded();
        // The bot-wide menus follow the manifests and the defaults' features and language.
        let stale = bot_wide
            .as_ref()
            .is_none_or(|set| !Arc::ptr_eq(set, &loaded.commands));
        if stale {
            match set_bot_wide(
                menus.budget.as_ref(),
                &menus.bot,
                &menus.token,
                &loaded.settings,
                &loaded.commands,
                &engine.features,
            )
            .await
            {
                Ok(()) => bot_wide = Some(loaded.commands.clone()),
                Err(error) => tracing::warn!(%error, "could not set the bot's command menus"),
            }
        }
        if let Err(error) = menus.sync_all(&engine).await {
            tracing::warn!(%error, "could not read what the groups' command menus need");
        }
        let deadline = tokio::time::Instant::now() + EVERY;
        loop {
            tokio::select! {
                _ = engine.settings_changed.notified() => {
                    let chats = engine.take_changed_chats();
                    if let Err(error) = menus.sync(&engine, chats).await {
                        tracing::warn!(%error, "could not update a group's command menu");
                    }
                }
                _ = reloaded.notified() => break,
                _ = tokio::time::sleep_until(deadline) => break,
                _ = stop.changed() => return,
            }
        }
    }
}
