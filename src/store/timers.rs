//! One-off timers a feature sets for itself: a captcha's deadline, a relay list's closing time,
//! a game's turn. Each fires once, as an `EventKind::Timer` for the feature that set it, even
//! if it came due while the bot was down (a deadline passed during an outage is still a
//! deadline). Firing claims the row and stores the event in the inbox in one transaction, so a
//! restart or a second replica never fires a timer twice.

use chrono::{DateTime, Utc};

use super::{Db, StoreResult, Tx, inbox};
use crate::args;
use crate::core::event::{Chat, ChatId, ChatKind, Event, EventKind};

pub const INBOX_SOURCE: &str = "timer";

/// Timers fired per pass at most, so that one pass after a long outage stays short.
const MAX_PER_PASS: i64 = 500;

/// Sets (or moves) the timer `key` of `feature` in `chat` to fire at `due` with `payload`.
pub async fn set(
    tx: &mut Tx,
    chat: ChatId,
    feature: &str,
    key: &str,
    due: DateTime<Utc>,
    payload: &str,
) -> StoreResult<()> {
    // A fresh row, not an update: the row's id names its firing in the inbox, and a timer set
    // again after it fired must be able to fire again.
    cancel(tx, chat, feature, key).await?;
    tx.execute(
        "INSERT INTO timers (chat_id, feature, key, due_at, payload) VALUES ($1, $2, $3, $4, $5)",
        args![chat, feature, key, due.timestamp(), payload],
    )
    .await?;
    Ok(())
}

/// Removes the timer `key` of `feature` in `chat`, fired or not. Cancelling a timer that does
/// not exist is not an error.
pub async fn cancel(tx: &mut Tx, chat: ChatId, feature: &str, key: &str) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM timers WHERE chat_id = $1 AND feature = $2 AND key = $3",
        args![chat, feature, key],
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: i64,
    chat_id: i64,
    feature: String,
    key: String,
    due_at: i64,
    payload: String,
    kind: Option<String>,
    title: Option<String>,
}

/// Fires every timer due by `now`: each is claimed and its event stored in the inbox. Returns
/// how many fired.
pub async fn fire_due(db: &Db, now: DateTime<Utc>) -> StoreResult<usize> {
    fire_due_by(db, now, now).await
}

/// Fires, at `now`, every timer due by `due_by` (at most `now`: the time up to which every
/// update is known to be in the inbox). The firing is stored as received `now`, after those
/// updates, so they are handled before it.
pub async fn fire_due_by(db: &Db, due_by: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<usize> {
    let due: Vec<DueRow> = db
        .fetch_all(
            "SELECT t.id, t.chat_id, t.feature, t.key, t.due_at, t.payload, c.kind, c.title
             FROM timers t LEFT JOIN chats c ON c.chat_id = t.chat_id
             WHERE t.fired_at IS NULL AND t.due_at <= $1
             ORDER BY t.due_at, t.id LIMIT $2",
            args![due_by.min(now).timestamp(), MAX_PER_PASS],
        )
        .await?;
    let mut fired = 0;
    for row in due {
        let mut tx = db.begin().await?;
        let claimed = tx
            .execute(
                "UPDATE timers SET fired_at = $1 WHERE id = $2 AND fired_at IS NULL",
                args![now.timestamp(), row.id],
            )
            .await?;
        if claimed == 1 {
            let event = Event {
                chat: Chat {
                    id: row.chat_id,
                    kind: chat_kind(row.kind.as_deref(), row.chat_id),
                    title: row.title,
                },
                at: DateTime::from_timestamp(row.due_at, 0).unwrap_or(now),
                kind: EventKind::Timer {
                    feature: row.feature,
                    key: row.key,
                    payload: row.payload,
                },
            };
            inbox::store(&mut tx, INBOX_SOURCE, row.id, &event, now).await?;
            fired += 1;
        }
        tx.commit().await?;
    }
    // A fired timer's row says its event is still wanted (see `still_set`); once the event is
    // handled and a day has passed, it goes.
    db.execute(
        "DELETE FROM timers WHERE fired_at IS NOT NULL AND fired_at < $1
           AND id IN (SELECT update_id FROM inbox WHERE source = $2 AND handled_at IS NOT NULL)",
        args![now.timestamp() - 86_400, INBOX_SOURCE],
    )
    .await?;
    Ok(fired)
}

/// Whether the timer `key` is set and has not done its work yet: not fired, or fired with its
/// event still waiting in the inbox.
pub async fn waiting(tx: &mut Tx, chat: ChatId, feature: &str, key: &str) -> StoreResult<bool> {
    Ok(waiting_due_at(tx, chat, feature, key).await?.is_some())
}

/// When the timer `key` is due, while it is waiting (as in `waiting`).
pub async fn due_at(
    tx: &mut Tx,
    chat: ChatId,
    feature: &str,
    key: &str,
) -> StoreResult<Option<DateTime<Utc>>> {
    let due = waiting_due_at(tx, chat, feature, key).await?;
    Ok(due.and_then(|at| DateTime::from_timestamp(at, 0)))
}

/// The due time (Unix seconds) of the timer `key` while it is waiting.
async fn waiting_due_at(
    tx: &mut Tx,
    chat: ChatId,
    feature: &str,
    key: &str,
) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT t.due_at FROM timers t
             WHERE t.chat_id = $1 AND t.feature = $2 AND t.key = $3
               AND (t.fired_at IS NULL OR EXISTS (SELECT 1 FROM inbox i
                    WHERE i.source = $4 AND i.update_id = t.id AND i.handled_at IS NULL))",
            args![chat, feature, key, INBOX_SOURCE],
        )
        .await?;
    Ok(row.map(|(at,)| at))
}

/// The payload of the timer `key` while it has not fired; `None` once it fired or when it is
/// not set.
pub async fn pending_payload(
    tx: &mut Tx,
    chat: ChatId,
    feature: &str,
    key: &str,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> = tx
        .fetch_optional(
            "SELECT payload FROM timers
             WHERE chat_id = $1 AND feature = $2 AND key = $3 AND fired_at IS NULL",
            args![chat, feature, key],
        )
        .await?;
    Ok(row.map(|(payload,)| payload))
}

/// Whether the timer whose firing is inbox entry `id` is still set: cancelling or setting a
/// timer again removes its row, and then an already claimed firing must not run.
pub async fn still_set(tx: &mut Tx, id: i64) -> StoreResult<bool> {
    let row: Option<(i64,)> = tx
        .fetch_optional("SELECT id FROM timers WHERE id = $1", args![id])
        .await?;
    Ok(row.is_some())
}

/// When the next unfired timer is due (never before `after`: an overdue one is due now).
pub async fn next_due(db: &Db, after: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
    let row: Option<(Option<i64>,)> = db
        .fetch_optional(
            "SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL",
            args![],
        )
        .await?;
    Ok(row
        .and_then(|(at,)| at)
        .and_then(|at| DateTime::from_timestamp(at, 0))
        .map(|at| at.max(after)))
}

/// Moves a group's timers to its new id (group → supergroup).
pub async fn migrate(tx: &mut Tx, from: ChatId, to: ChatId) -> StoreResult<()> {
    // Where the new id already has a timer of the same name, it wins (features decide the same
    // way for their rows).
    tx.execute(
        "DELETE FROM timers WHERE chat_id = $2 AND EXISTS (SELECT 1 FROM timers n
             WHERE n.chat_id = $1 AND n.feature = timers.feature AND n.key = timers.key)",
        args![to, from],
    )
    .await?;
    tx.execute(
        "UPDATE timers SET chat_id = $1 WHERE chat_id = $2",
        args![to, from],
    )
    .await?;
    Ok(())
}

fn chat_kind(stored: Option<&str>, id: ChatId) -> ChatKind {
    match stored {
        Some("group") => ChatKind::Group,
        Some("private") => ChatKind::Private,
        Some("supergroup") => ChatKind::Supergroup,
        _ if id > 0 => ChatKind::Private,
        _ if id <= -1_000_000_000_000 => ChatKind::Supergroup,
        _ => ChatKind::Group,
    }
}
