//! The outbox: platform calls decided while handling an event, written in that event's
//! transaction and delivered after it commits. Delivery marks each row done, so after a crash
//! only the call that was in flight can be repeated.

use chrono::{DateTime, Utc};

use super::{Arg, Db, Sql, StoreError, StoreResult, Tx, statement_runs};
use crate::args;
use crate::core::action::{Action, Lane};
use crate::core::event::{ChatId, MessageId};

#[derive(Debug, Clone)]
pub struct Queued {
    pub id: i64,
    pub chat: ChatId,
    pub action: Action,
    pub expires_at: Option<DateTime<Utc>>,
    /// The scheduled post's firing (`job_firings.id`) it delivers, if it does.
    pub job_firing: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub lane: Lane,
}

#[derive(sqlx::FromRow)]
struct QueuedRow {
    id: i64,
    chat_id: i64,
    action: String,
    expires_at: Option<i64>,
    job_firing: Option<i64>,
    created_at: i64,
    lane: i64,
}

/// An action to queue: after `expires_at` it is not worth making; `job_firing` names the
/// scheduled post's firing it delivers, so that one that expires is recorded as missed; `lane`
/// is where it waits in a busy group's budget.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub action: Action,
    pub expires_at: Option<DateTime<Utc>>,
    pub job_firing: Option<i64>,
    pub lane: Lane,
}

/// Queues one action (see [`enqueue_all`]).
pub async fn enqueue(
    tx: &mut Tx,
    action: &Action,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let outgoing = Outgoing {
        action: action.clone(),
        expires_at,
        job_firing: None,
        lane: Lane::default(),
    };
    enqueue_all(tx, &[outgoing], created_at).await
}

/// Rows written by one statement at most (six values each).
const ROWS_PER_INSERT: usize = 200;

/// Queues actions in order, each with its own deadline, in as few statements as their size
/// allows (ids follow the order of the rows).
pub async fn enqueue_all(
    tx: &mut Tx,
    actions: &[Outgoing],
    created_at: DateTime<Utc>,
) -> StoreResult<()> {
    let rows = actions
        .iter()
        .map(|outgoing| {
            let json = serde_json::to_string(&outgoing.action)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((outgoing, json))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    for run in statement_runs(&rows, ROWS_PER_INSERT, |(_, json)| json.len()) {
        let mut values = Vec::with_capacity(run.len() * 6);
        for (outgoing, json) in run {
            values.extend(args![
                outgoing.action.chat(),
                json,
                created_at.timestamp(),
                outgoing.expires_at.map(|t| t.timestamp()),
                outgoing.job_firing,
                outgoing.lane.code()
            ]);
        }
        let sql = Sql::new(
            "INSERT INTO outbox (chat_id, action, created_at, expires_at, job_firing, lane) VALUES ",
        )
        .rows(1, 6, run.len());
        tx.execute_sql(sql, values).await?;
    }
    Ok(())
}

/// The lanes of chats with undelivered actions, the one waiting longest first.
pub async fn chats_waiting(db: &Db) -> StoreResult<Vec<(ChatId, Lane)>> {
    let rows: Vec<(i64, i64)> = db
        .fetch_all(
            "SELECT chat_id, lane FROM outbox WHERE done_at IS NULL
             GROUP BY chat_id, lane ORDER BY MIN(id)",
            args![],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(chat, lane)| (chat, Lane::from_code(lane)))
        .collect())
}

/// One chat's undelivered actions in one lane after `after_id`, oldest first. Within a chat
/// ids follow commit order (its events are handled one at a time), so a cursor per chat and
/// lane misses nothing.
pub async fn pending_in_chat(
    db: &Db,
    chat: ChatId,
    lane: Lane,
    after_id: i64,
    limit: i64,
) -> StoreResult<Vec<Queued>> {
    let rows: Vec<QueuedRow> = db
        .fetch_all(
            "SELECT id, chat_id, action, expires_at, job_firing, created_at, lane FROM outbox
             WHERE chat_id = $1 AND lane = $2 AND done_at IS NULL AND id > $3
             ORDER BY id LIMIT $4",
            args![chat, lane.code(), after_id, limit],
        )
        .await?;
    parse_rows(rows)
}

/// Undelivered actions after `after_id`, oldest first.
pub async fn pending(db: &Db, after_id: i64, limit: i64) -> StoreResult<Vec<Queued>> {
    let rows: Vec<QueuedRow> = db
        .fetch_all(
            "SELECT id, chat_id, action, expires_at, job_firing, created_at, lane FROM outbox
             WHERE done_at IS NULL AND id > $1 ORDER BY id LIMIT $2",
            args![after_id, limit],
        )
        .await?;
    parse_rows(rows)
}

/// Reads queued rows; a row that no longer parses (written by another version) is logged and
/// left out rather than stopping delivery for everyone.
fn parse_rows(rows: Vec<QueuedRow>) -> StoreResult<Vec<Queued>> {
    Ok(rows
        .into_iter()
        .map(|row| {
            Ok(Queued {
                id: row.id,
                chat: row.chat_id,
                action: serde_json::from_str(&row.action)
                    .map_err(|e| StoreError::Corrupt(format!("outbox row {}: {e}", row.id)))?,
                expires_at: row.expires_at.and_then(|t| DateTime::from_timestamp(t, 0)),
                job_firing: row.job_firing,
                created_at: DateTime::from_timestamp(row.created_at, 0).unwrap_or_default(),
                lane: Lane::from_code(row.lane),
            })
        })
        .filter_map(|parsed: StoreResult<Queued>| match parsed {
            Ok(queued) => Some(queued),
            Err(error) => {
                tracing::error!(%error, "unreadable outbox row skipped");
                None
            }
        })
        .collect())
}

/// Records how delivering an action ended ("sent", "expired", "failed: …").
pub async fn finish(db: &Db, id: i64, at: DateTime<Utc>, outcome: &str) -> StoreResult<()> {
    db.execute(
        "UPDATE outbox SET done_at = $1, outcome = $2 WHERE id = $3",
        args![at.timestamp(), outcome, id],
    )
    .await?;
    Ok(())
}

/// Delivery outcomes from many chats' workers, written a batch per transaction. Each worker
/// still waits until its own outcome is committed, so after a crash at most the call each chat
/// had in flight is repeated; the workers only share the commit, which on SQLite is most of
/// what a write costs.
#[derive(Clone)]
pub struct Finishes {
    queue: tokio::sync::mpsc::UnboundedSender<Finish>,
}

struct Finish {
    id: i64,
    at: i64,
    outcome: String,
    committed: tokio::sync::oneshot::Sender<bool>,
}

/// At most this many outcomes share a transaction.
const FINISHES_PER_COMMIT: usize = 256;

impl Finishes {
    /// Starts the writer; it stops once every clone of the returned handle is gone.
    pub fn start(db: Db) -> Finishes {
        let (queue, mut waiting) = tokio::sync::mpsc::unbounded_channel::<Finish>();
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut batch = vec![first];
                while batch.len() < FINISHES_PER_COMMIT
                    && let Ok(next) = waiting.try_recv()
                {
                    batch.push(next);
                }
                let written = write_finishes(&db, &batch).await;
                if let Err(error) = &written {
                    tracing::warn!(%error, "could not record a batch of deliveries; each is recorded on its own");
                }
                for finish in batch {
                    let _ = finish.committed.send(written.is_ok());
                }
            }
        });
        Finishes { queue }
    }

    /// Records how delivering an action ended, in the next shared transaction (or on its own
    /// if that fails).
    pub async fn record(
        &self,
        db: &Db,
        id: i64,
        at: DateTime<Utc>,
        outcome: &str,
    ) -> StoreResult<()> {
        let (committed, done) = tokio::sync::oneshot::channel();
        let finish = Finish {
            id,
            at: at.timestamp(),
            outcome: outcome.to_owned(),
            committed,
        };
        if self.queue.send(finish).is_ok() && done.await == Ok(true) {
            return Ok(());
        }
        self::finish(db, id, at, outcome).await
    }
}

/// Writes a batch of outcomes, one statement for all the rows that ended alike (nearly all say
/// "sent" within the same second).
async fn write_finishes(db: &Db, batch: &[Finish]) -> StoreResult<()> {
    let mut alike: Vec<((i64, &str), Vec<i64>)> = Vec::new();
    for finish in batch {
        let ending = (finish.at, finish.outcome.as_str());
        match alike.iter_mut().find(|(known, _)| *known == ending) {
            Some((_, ids)) => ids.push(finish.id),
            None => alike.push((ending, vec![finish.id])),
        }
    }
    let mut tx = db.begin().await?;
    for ((at, outcome), ids) in alike {
        let sql = Sql::new("UPDATE outbox SET done_at = $1, outcome = $2 WHERE id IN (")
            .list(3, ids.len())
            .then(")");
        let mut values = args![at, outcome];
        values.extend(ids.into_iter().map(Arg::from));
        tx.execute_sql(sql, values).await?;
    }
    tx.commit().await
}

/// Whether a later, still undelivered edit of the same message makes this one pointless.
pub async fn superseded_by_later_edit(db: &Db, queued: &Queued) -> StoreResult<bool> {
    let Action::Edit { target, .. } = &queued.action else {
        return Ok(false);
    };
    // Only edits of the same target can supersede; the text filter keeps a rush of other
    // actions (reactions) from being read and parsed each time. The parse below confirms.
    let target_json =
        serde_json::to_string(target).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let pattern = format!("%\"target\":{target_json}%");
    let later: Vec<(String,)> = db
        .fetch_all(
            "SELECT action FROM outbox WHERE chat_id = $1 AND done_at IS NULL AND id > $2
             AND action LIKE $3 LIMIT 20",
            args![queued.chat, queued.id, pattern],
        )
        .await?;
    Ok(later.iter().any(|(json,)| {
        matches!(serde_json::from_str::<Action>(json), Ok(Action::Edit { target: later, .. }) if later == *target)
    }))
}

/// The id of a message the bot sent under `key` in `chat`.
pub async fn message_by_key(db: &Db, chat: ChatId, key: &str) -> StoreResult<Option<MessageId>> {
    let row: Option<(i64,)> = db
        .fetch_optional(
            "SELECT message_id FROM bot_messages WHERE chat_id = $1 AND key = $2",
            args![chat, key],
        )
        .await?;
    Ok(row.map(|(id,)| id))
}

pub async fn remember_message(
    db: &Db,
    chat: ChatId,
    key: &str,
    message: MessageId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    db.execute(
        "INSERT INTO bot_messages (chat_id, key, message_id, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chat_id, key) DO UPDATE SET message_id = excluded.message_id, updated_at = excluded.updated_at",
        args![chat, key, message, at.timestamp()],
    )
    .await?;
    Ok(())
}
