//! What a feature is: a type that handles events and the commands its manifests name.

use async_trait::async_trait;

use super::commands::Invocation;
use super::context::Cx;
use super::event::ChatId;
use super::settings::SectionSlot;
use crate::store::{Migrations, StoreError, Tx};

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
    /// The handling panicked; the engine caught it, so it costs this update alone.
    #[error("panicked: {0}")]
    Panicked(String),
}

pub type FeatureResult<T = ()> = Result<T, FeatureError>;

/// How a command ended, as far as the router needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandOutcome {
    Done,
    /// The arguments made no sense: the router answers with the manifest's usage line.
    BadArguments,
}

#[async_trait]
pub trait Feature: Send + Sync {
    /// The name operators use in `features = [...]`.
    fn name(&self) -> &'static str;

    /// Features every group has (help, member tracking) cannot be switched off.
    fn always_on(&self) -> bool {
        false
    }

    /// Whether this feature's messages go first in a busy group (the rules' notices): see
    /// `Lane`. Replies to admins go first whichever feature makes them.
    fn urgent(&self) -> bool {
        false
    }

    /// The commands (manifest names) this feature runs.
    fn commands(&self) -> &'static [&'static str] {
        &[]
    }

    /// This feature's tables in `[defaults]` and `[groups."<id>"]` (see `core::settings`): each
    /// `SectionSlot::of::<MySettings>()`, read back with `group.section::<MySettings>()`.
    fn sections(&self) -> Vec<SectionSlot> {
        Vec::new()
    }

    /// This feature's messages, as a TOML catalog (see `core::i18n`).
    fn messages(&self) -> &'static str {
        ""
    }

    /// The manifests of the commands this feature runs, `(file name, TOML text)`, from its
    /// `commands/` folder (write them with [`manifests!`](crate::manifests)). An operator's
    /// file of the same name in `bot-commands/` replaces one.
    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// The tables this feature keeps: its migrations, one folder per backend in its own folder
    /// (write them with [`migrations!`](crate::migrations)). Versions are one sequence across
    /// core and every feature: a new migration takes the next number after all of theirs.
    fn migrations(&self) -> Option<Migrations> {
        None
    }

    async fn on_command(
        &self,
        _cx: &mut Cx<'_>,
        _invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        Ok(CommandOutcome::Done)
    }

    /// Every event that is not a command for this bot: messages, joins, leaves, buttons, ticks.
    async fn on_event(&self, _cx: &mut Cx<'_>) -> FeatureResult {
        Ok(())
    }

    /// The second report of a join or leave already handled (Telegram can send one both as a
    /// service message and as a `chat_member` update; see `engine`). Only what is new in it
    /// matters here, such as the service message's id when the first report had none; its
    /// actions are delivered, but it should change no state.
    async fn on_echo(&self, _cx: &mut Cx<'_>) -> FeatureResult {
        Ok(())
    }

    /// Moves this feature's rows from a group's old id to its new one (group → supergroup).
    async fn migrate_chat(&self, _tx: &mut Tx, _from: ChatId, _to: ChatId) -> FeatureResult {
        Ok(())
    }
}
