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
