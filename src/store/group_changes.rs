//! A group's own changes to its settings (`group_changes`): what its admins set in the chat,
//! one row per key (a dotted path of the group's config table) holding a TOML value.

use super::{Db, StoreResult, Tx};
use crate::args;
use crate::core::event::{ChatId, UserId};

/// `(key, value)` of one chat's changes, by key.
pub async fn of_chat(tx: &mut Tx, chat: ChatId) -> StoreResult<Vec<(String, String)>> {
    tx.fetch_all(
        "SELECT key, value FROM group_changes WHERE chat_id = $1 ORDER BY key",
        args![chat],
    )
    .await
}

/// `of_chat`, outside a transaction (the engine's cache).
pub async fn of_chat_outside(db: &Db, chat: ChatId) -> StoreResult<Vec<(String, String)>> {
    db.fetch_all(
        "SELECT key, value FROM group_changes WHERE chat_id = $1 ORDER BY key",
        args![chat],
    )
    .await
}

/// Every chat's changes, `(chat, key, value)` by chat and key: the engine reads them all at
/// once, once a minute, rather than once per chat.
pub async fn all(db: &Db) -> StoreResult<Vec<(ChatId, String, String)>> {
    db.fetch_all(
        "SELECT chat_id, key, value FROM group_changes ORDER BY chat_id, key",
        Vec::new(),
    )
    .await
}

pub async fn set(
    tx: &mut Tx,
    chat: ChatId,
    key: &str,
    value: &str,
    by: UserId,
    at: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO group_changes (chat_id, key, value, set_by, set_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (chat_id, key) DO UPDATE
             SET value = excluded.value, set_by = excluded.set_by, set_at = excluded.set_at",
        args![chat, key, value, by, at],
    )
    .await?;
    Ok(())
}

/// Drops the group's change of `key`; whether there was one.
pub async fn reset(tx: &mut Tx, chat: ChatId, key: &str) -> StoreResult<bool> {
    Ok(tx
        .execute(
            "DELETE FROM group_changes WHERE chat_id = $1 AND key = $2",
            args![chat, key],
        )
        .await?
        > 0)
}

/// Moves a group's changes to its new id (group → supergroup).
pub async fn migrate_chat(tx: &mut Tx, from: ChatId, to: ChatId) -> StoreResult<()> {
    tx.execute(
        "UPDATE group_changes SET chat_id = $2 WHERE chat_id = $1
           AND NOT EXISTS (SELECT 1 FROM group_changes AS newer WHERE newer.chat_id = $2)",
        args![from, to],
    )
    .await?;
    Ok(())
}
