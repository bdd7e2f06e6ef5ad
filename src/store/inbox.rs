//! The inbox: every received update, stored before the platform is told it arrived and marked
//! handled in the same transaction as its effects. A crash at any point therefore neither loses
//! an update nor applies one twice.

use chrono::{DateTime, Utc};

use super::{Arg, Db, Sql, StoreError, StoreResult, Tx, statement_runs};
use crate::args;
use crate::core::event::Event;

/// An update waiting to be handled.
#[derive(Debug)]
pub struct Pending {
    pub source: String,
    pub update_id: i64,
    pub event: Event,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    source: String,
    update_id: i64,
    event: String,
}

/// Inbox rows written by one statement at most (five values each, well within both databases'
/// limits on bound values); a `getUpdates` answer holds up to 100 updates.
const ROWS_PER_INSERT: usize = 200;

/// Stores a batch of received events in one transaction, as few statements as their size
/// allows; ones already stored (a re-delivery) are left as they are. Returns how many were new.
pub async fn store_batch(
    db: &Db,
    source: &str,
    batch: &[(i64, Event)],
    received_at: DateTime<Utc>,
) -> StoreResult<u64> {
    let rows = batch
        .iter()
        .map(|(update_id, event)| {
            let json =
                serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((*update_id, event.chat.id, json))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let mut tx = db.begin().await?;
    let mut stored = 0;
    for run in statement_runs(&rows, ROWS_PER_INSERT, |(_, _, json)| json.len()) {
        let mut values = Vec::with_capacity(run.len() * 5);
        for (update_id, chat, json) in run {
            values.extend(args![
                source,
                *update_id,
                *chat,
                json,
                received_at.timestamp()
            ]);
        }
        let sql =
            Sql::new("INSERT INTO inbox (source, update_id, chat_id, event, received_at) VALUES ")
                .rows(1, 5, run.len())
                .then(" ON CONFLICT (source, update_id) DO NOTHING");
        stored += tx.execute_sql(sql, values).await?;
    }
    tx.commit().await?;
    Ok(stored)
}

/// Stores one event inside a caller's transaction; false if it was there already.
pub async fn store(
    tx: &mut Tx,
    source: &str,
    update_id: i64,
    event: &Event,
    received_at: DateTime<Utc>,
) -> StoreResult<bool> {
    let json = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let stored = tx
        .execute(
            "INSERT INTO inbox (source, update_id, chat_id, event, received_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (source, update_id) DO NOTHING",
            args![source, update_id, event.chat.id, json, received_at.timestamp()],
        )
        .await?;
    Ok(stored == 1)
}

/// The oldest unhandled updates, in the order they arrived.
///
/// An update whose stored form no longer reads (written by a newer version, say) is returned
/// as an error for that row alone, so one bad row cannot stall the queue.
pub async fn next_pending(
    db: &Db,
    limit: i64,
) -> StoreResult<Vec<Result<Pending, (String, i64, String)>>> {
    let rows: Vec<PendingRow> = db
        .fetch_all(
            "SELECT source, update_id, event FROM inbox WHERE handled_at IS NULL
             ORDER BY received_at, source, update_id LIMIT $1",
            args![limit],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| match serde_json::from_str(&row.event) {
            Ok(event) => Ok(Pending {
                source: row.source,
                update_id: row.update_id,
                event,
            }),
            Err(error) => Err((row.source, row.update_id, error.to_string())),
        })
        .collect())
}

/// Marks an update handled, inside the transaction that holds its effects. Returns false when
/// it was handled already (by another worker), in which case the caller must roll back.
pub async fn mark_handled(
    tx: &mut Tx,
    source: &str,
    update_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = tx
        .execute(
            "UPDATE inbox SET handled_at = $1 WHERE source = $2 AND update_id = $3 AND handled_at IS NULL",
            args![at.timestamp(), source, update_id],
        )
        .await?;
    Ok(changed == 1)
}

/// Closes an update that could not be handled, with the reason, so it is kept for the operator
/// to see and never tried again. Returns false when it was handled already.
pub async fn mark_failed(
    tx: &mut Tx,
    source: &str,
    update_id: i64,
    at: DateTime<Utc>,
    error: &str,
) -> StoreResult<bool> {
    let changed = tx
        .execute(
            "UPDATE inbox SET handled_at = $1, error = $2
             WHERE source = $3 AND update_id = $4 AND handled_at IS NULL",
            args![at.timestamp(), clip(error), source, update_id],
        )
        .await?;
    Ok(changed == 1)
}

/// Stores an update that could not even be read into an event (the adapter failed on it): the
/// raw update is kept with the reason, closed at once. Confirming it to the platform is then
/// safe, and a restart does not fetch it again only to fail the same way.
pub async fn store_unreadable(
    db: &Db,
    source: &str,
    update_id: i64,
    chat: Option<i64>,
    raw: &str,
    error: &str,
    received_at: DateTime<Utc>,
) -> StoreResult<()> {
    db.execute(
        "INSERT INTO inbox (source, update_id, chat_id, event, received_at, handled_at, error)
         VALUES ($1, $2, $3, $4, $5, $5, $6)
         ON CONFLICT (source, update_id) DO NOTHING",
        args![
            source,
            update_id,
            chat,
            raw,
            received_at.timestamp(),
            clip(error)
        ],
    )
    .await?;
    Ok(())
}

/// The updates that could not be handled, newest first: (source, update_id, chat, error).
pub async fn failures(db: &Db, limit: i64) -> StoreResult<Vec<(String, i64, Option<i64>, String)>> {
    db.fetch_all(
        "SELECT source, update_id, chat_id, error FROM inbox WHERE error IS NOT NULL
         ORDER BY handled_at DESC, update_id DESC LIMIT $1",
        args![limit],
    )
    .await
}

/// An error kept with its update: enough to tell what went wrong, not a whole backtrace.
fn clip(error: &str) -> &str {
    const MAX_BYTES: usize = 2_000;
    let mut end = error.len().min(MAX_BYTES);
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    &error[..end]
}

/// Marks updates of one source handled, inside the transaction that holds their effects, in
/// one statement. Returns how many were still unhandled: fewer than `update_ids.len()` means
/// another worker handled some first, and the caller must roll back.
pub async fn mark_all_handled(
    tx: &mut Tx,
    source: &str,
    update_ids: &[i64],
    at: DateTime<Utc>,
) -> StoreResult<u64> {
    let sql = Sql::new(
        "UPDATE inbox SET handled_at = $1 WHERE handled_at IS NULL AND source = $2 AND update_id IN (",
    )
    .list(3, update_ids.len())
    .then(")");
    let mut values = args![at.timestamp(), source];
    values.extend(update_ids.iter().map(|id| Arg::from(*id)));
    tx.execute_sql(sql, values).await
}

/// How many updates are waiting.
pub async fn pending_count(db: &Db) -> StoreResult<i64> {
    let (count,): (i64,) = db
        .fetch_one(
            "SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL",
            args![],
        )
        .await?;
    Ok(count)
}

/// Forgets handled updates older than `before`. Telegram keeps an update for at most a day, so
/// one older than that can never be delivered again.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> StoreResult<u64> {
    db.execute(
        "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < $1",
        args![before.timestamp()],
    )
    .await
}
