//! Chats the bot has seen.

use chrono::{DateTime, Utc};

use super::{Db, Sql, StoreResult, Tx};
use crate::args;
use crate::core::event::{Chat, ChatId};

/// What a chat's row becomes when it is seen again: its kind and title as now (a title only
/// if the event carried one), active, and active last at the latest time seen.
macro_rules! seen_again {
    () => {
        " ON CONFLICT (chat_id) DO UPDATE SET
             kind = excluded.kind,
             title = COALESCE(excluded.title, chats.title),
             last_active = CASE WHEN excluded.last_active > chats.last_active
                                THEN excluded.last_active ELSE chats.last_active END,
             active = 1"
    };
}

/// Records that a chat was active now, creating its row on first sight.
pub async fn touch(tx: &mut Tx, chat: &Chat, at: DateTime<Utc>) -> StoreResult<()> {
    tx.execute(
        concat!(
            "INSERT INTO chats (chat_id, kind, title, first_seen, last_active) VALUES ($1, $2, $3, $4, $4)",
            seen_again!()
        ),
        args![chat.id, chat.kind.as_str(), chat.title.clone(), at.timestamp()],
    )
    .await?;
    Ok(())
}

/// [`touch`] for many events' chats in one statement (one row may not be changed twice by one
/// statement, so each chat once, as its events would leave it in turn).
pub async fn touch_all(tx: &mut Tx, seen: &[(&Chat, DateTime<Utc>)]) -> StoreResult<()> {
    struct Seen<'c> {
        chat: &'c Chat,
        title: Option<&'c String>,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    }
    let mut chats: Vec<Seen> = Vec::with_capacity(seen.len());
    for &(chat, at) in seen {
        match chats.iter_mut().find(|known| known.chat.id == chat.id) {
            Some(known) => {
                *known = Seen {
                    chat,
                    title: chat.title.as_ref().or(known.title),
                    first: at.min(known.first),
                    last: at.max(known.last),
                }
            }
            None => chats.push(Seen {
                chat,
                title: chat.title.as_ref(),
                first: at,
                last: at,
            }),
        }
    }
    if chats.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(chats.len() * 5);
    for seen in &chats {
        values.extend(args![
            seen.chat.id,
            seen.chat.kind.as_str(),
            seen.title.cloned(),
            seen.first.timestamp(),
            seen.last.timestamp()
        ]);
    }
    let sql = Sql::new("INSERT INTO chats (chat_id, kind, title, first_seen, last_active) VALUES ")
        .rows(1, 5, chats.len())
        .then(seen_again!());
    tx.execute_sql(sql, values).await?;
    Ok(())
}

/// Moves a chat's own row to its new id after a group became a supergroup, leaving the old row
/// pointing at the new one so that settings keyed by the old id keep applying.
pub async fn record_migration(
    tx: &mut Tx,
    from: ChatId,
    to: ChatId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO chats (chat_id, kind, title, first_seen, last_active)
         SELECT $1, 'supergroup', title, first_seen, $3 FROM chats WHERE chat_id = $2
         ON CONFLICT (chat_id) DO UPDATE SET first_seen = CASE WHEN excluded.first_seen < chats.first_seen
                                                               THEN excluded.first_seen ELSE chats.first_seen END",
        args![to, from, at.timestamp()],
    )
    .await?;
    tx.execute(
        "UPDATE chats SET migrated_to = $1, active = 0 WHERE chat_id = $2",
        args![to, from],
    )
    .await?;
    Ok(())
}

/// Every group that became a supergroup, as (old id, new id).
pub async fn moves(db: &Db) -> StoreResult<Vec<(ChatId, ChatId)>> {
    db.fetch_all(
        "SELECT chat_id, migrated_to FROM chats WHERE migrated_to IS NOT NULL",
        args![],
    )
    .await
}

/// Stops sending to a chat the bot was removed from or blocked in.
pub async fn mark_gone(db: &Db, chat: ChatId, at: DateTime<Utc>) -> StoreResult<()> {
    db.execute(
        "INSERT INTO chats (chat_id, kind, first_seen, last_active, active) VALUES ($1, 'group', $2, $2, 0)
         ON CONFLICT (chat_id) DO UPDATE SET active = 0",
        args![chat, at.timestamp()],
    )
    .await?;
    Ok(())
}

pub async fn is_active(db: &Db, chat: ChatId) -> StoreResult<bool> {
    let row: Option<(i64,)> = db
        .fetch_optional("SELECT active FROM chats WHERE chat_id = $1", args![chat])
        .await?;
    Ok(row.is_none_or(|(active,)| active != 0))
}
