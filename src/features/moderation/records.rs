//! What the rules remember: recent messages (for flood and repeats), violations, warnings,
//! reports, and the notices said once.

use crate::args;
use crate::core::event::{ChatId, Message, UserId};
use crate::store::{StoreResult, Tx};

/// Recent messages are kept this long (longer than any flood or repeat window).
const RECENT_KEEP_SECS: i64 = 86_400;

/// Remembers a new message for the flood and repeat checks (a re-delivery changes nothing).
pub async fn remember(
    tx: &mut Tx,
    chat: ChatId,
    message: &Message,
    fingerprint: &str,
    at: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO mod_recent (chat_id, message_id, user_id, at, fingerprint, album)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (chat_id, message_id) DO NOTHING",
        args![
            chat,
            message.id,
            message.from.id,
            at,
            fingerprint,
            message.album.clone()
        ],
    )
    .await?;
    // Pruning rides on the member's own messages, so it costs one indexed delete.
    tx.execute(
        "DELETE FROM mod_recent WHERE chat_id = $1 AND user_id = $2 AND at < $3",
        args![chat, message.from.id, at - RECENT_KEEP_SECS],
    )
    .await?;
    Ok(())
}

/// How many messages a member sent from `since` up to `until` (an album counts once). The
/// window ends at the message being judged: one handled late must not be blamed for the
/// messages that came after it.
pub async fn messages_between(
    tx: &mut Tx,
    chat: ChatId,
    user: UserId,
    since: i64,
    until: i64,
) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(DISTINCT COALESCE(album, CAST(message_id AS TEXT))) FROM mod_recent
             WHERE chat_id = $1 AND user_id = $2 AND at >= $3 AND at <= $4",
            args![chat, user, since, until],
        )
        .await?;
    Ok(count)
}

/// How many times a member sent this text from `since` up to `until`.
pub async fn repeats_between(
    tx: &mut Tx,
    chat: ChatId,
    user: UserId,
    fingerprint: &str,
    since: i64,
    until: i64,
) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM mod_recent
             WHERE chat_id = $1 AND user_id = $2 AND fingerprint = $3 AND at >= $4 AND at <= $5",
            args![chat, user, fingerprint, since, until],
        )
        .await?;
    Ok(count)
}

/// Whether the member already broke `rule` since `since` (a flood is one offence, not one
/// per message).
pub async fn broke_recently(
    tx: &mut Tx,
    chat: ChatId,
    user: UserId,
    rule: &str,
    since: i64,
) -> StoreResult<bool> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT id FROM mod_violations
             WHERE chat_id = $1 AND user_id = $2 AND rule = $3 AND at >= $4 LIMIT 1",
            args![chat, user, rule, since],
        )
        .await?;
    Ok(row.is_some())
}

pub struct NewViolation<'a> {
    pub chat: ChatId,
    pub user: UserId,
    pub message: i64,
    pub rule: &'a str,
    pub detail: &'a str,
    pub penalty: &'a str,
    pub at: i64,
}

/// Records a violation; `None` if this message was already dealt with (it was edited, or the
/// update came twice).
pub async fn record_violation(tx: &mut Tx, v: NewViolation<'_>) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "INSERT INTO mod_violations (chat_id, user_id, message_id, rule, detail, penalty, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (chat_id, message_id) DO NOTHING RETURNING id",
            args![v.chat, v.user, v.message, v.rule, v.detail, v.penalty, v.at],
        )
        .await?;
    Ok(row.map(|(id,)| id))
}

pub async fn set_violation_penalty(tx: &mut Tx, id: i64, penalty: &str) -> StoreResult<()> {
    tx.execute(
        "UPDATE mod_violations SET penalty = $1 WHERE id = $2",
        args![penalty, id],
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct Violation {
    pub id: i64,
    pub chat_id: i64,
    pub user_id: i64,
    pub rule: String,
    pub penalty: String,
}

/// Marks a violation undone; `None` if there is no such violation or it was undone already.
pub async fn undo_violation(
    tx: &mut Tx,
    id: i64,
    by: UserId,
    at: i64,
) -> StoreResult<Option<Violation>> {
    let undone = tx
        .execute(
            "UPDATE mod_violations SET undone_at = $1, undone_by = $2 WHERE id = $3 AND undone_at IS NULL",
            args![at, by, id],
        )
        .await?;
    if undone == 0 {
        return Ok(None);
    }
    tx.execute(
        "UPDATE mod_warnings SET revoked_at = $1, revoked_by = $2 WHERE violation_id = $3 AND revoked_at IS NULL",
        args![at, by, id],
    )
    .await?;
    tx.fetch_optional(
        "SELECT id, chat_id, user_id, rule, penalty FROM mod_violations WHERE id = $1",
        args![id],
    )
    .await
}

pub struct NewWarning<'a> {
    pub chat: ChatId,
    pub user: UserId,
    pub reason: &'a str,
    /// The admin who gives it (`None`: the bot, for `violation`).
    pub given_by: Option<UserId>,
    pub violation: Option<i64>,
    pub at: i64,
    pub expires_at: i64,
}

/// Gives a warning; returns how many now count.
pub async fn warn(tx: &mut Tx, w: NewWarning<'_>) -> StoreResult<i64> {
    tx.execute(
        "INSERT INTO mod_warnings (chat_id, user_id, reason, given_by, violation_id, at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![w.chat, w.user, w.reason, w.given_by, w.violation, w.at, w.expires_at],
    )
    .await?;
    active_warnings(tx, w.chat, w.user, w.at).await
}

pub async fn active_warnings(
    tx: &mut Tx,
    chat: ChatId,
    user: UserId,
    now: i64,
) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM mod_warnings
             WHERE chat_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3",
            args![chat, user, now],
        )
        .await?;
    Ok(count)
}

/// The warnings that count, oldest first: (when, reason, who gave it).
pub async fn list_warnings(
    tx: &mut Tx,
    chat: ChatId,
    user: UserId,
    now: i64,
) -> StoreResult<Vec<(i64, String, Option<String>)>> {
    tx.fetch_all(
        "SELECT w.at, w.reason, m.display_name FROM mod_warnings w
         LEFT JOIN members m ON m.chat_id = w.chat_id AND m.user_id = w.given_by
         WHERE w.chat_id = $1 AND w.user_id = $2 AND w.revoked_at IS NULL AND w.expires_at > $3
         ORDER BY w.at, w.id",
        args![chat, user, now],
    )
    .await
}

/// Revokes the newest warning that counts; false if there is none.
pub async fn revoke_newest(
    tx: &mut Tx,
    chat: ChatId,
    user: UserId,
    by: UserId,
    now: i64,
) -> StoreResult<bool> {
    let newest: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT id FROM mod_warnings
             WHERE chat_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3
             ORDER BY at DESC, id DESC LIMIT 1",
            args![chat, user, now],
        )
        .await?;
    let Some((id,)) = newest else {
        return Ok(false);
    };
    tx.execute(
        "UPDATE mod_warnings SET revoked_at = $1, revoked_by = $2 WHERE id = $3",
        args![now, by, id],
    )
    .await?;
    Ok(true)
}

/// Records that the group was told `notice`; false if it was told already.
pub async fn first_notice(tx: &mut Tx, chat: ChatId, notice: &str, at: i64) -> StoreResult<bool> {
    let inserted = tx
        .execute(
            "INSERT INTO mod_notices (chat_id, notice, at) VALUES ($1, $2, $3)
             ON CONFLICT (chat_id, notice) DO NOTHING",
            args![chat, notice, at],
        )
        .await?;
    Ok(inserted == 1)
}

/// Forgets a notice (the bot has the right again; losing it again is worth saying again).
pub async fn forget_notice(tx: &mut Tx, chat: ChatId, notice: &str) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM mod_notices WHERE chat_id = $1 AND notice = $2",
        args![chat, notice],
    )
    .await?;
    Ok(())
}

pub struct NewReport<'a> {
    pub chat: ChatId,
    pub message: i64,
    pub reporter: UserId,
    pub target: UserId,
    pub excerpt: &'a str,
    pub at: i64,
}

/// Stores a report; `None` if this member reported this message already.
pub async fn report(tx: &mut Tx, r: NewReport<'_>) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "INSERT INTO mod_reports (chat_id, message_id, reporter_id, target_id, excerpt, at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (chat_id, message_id, reporter_id) DO NOTHING RETURNING id",
            args![r.chat, r.message, r.reporter, r.target, r.excerpt, r.at],
        )
        .await?;
    Ok(row.map(|(id,)| id))
}

pub async fn reports_since(
    tx: &mut Tx,
    chat: ChatId,
    reporter: UserId,
    since: i64,
) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM mod_reports WHERE chat_id = $1 AND reporter_id = $2 AND at >= $3",
            args![chat, reporter, since],
        )
        .await?;
    Ok(count)
}

#[derive(sqlx::FromRow)]
pub struct Report {
    pub chat_id: i64,
    pub message_id: i64,
    pub target_id: i64,
    pub excerpt: String,
}

/// Settles a report; `None` if there is no such report or it was settled already.
pub async fn settle_report(tx: &mut Tx, id: i64, outcome: &str) -> StoreResult<Option<Report>> {
    let settled = tx
        .execute(
            "UPDATE mod_reports SET outcome = $1 WHERE id = $2 AND outcome IS NULL",
            args![outcome, id],
        )
        .await?;
    if settled == 0 {
        return Ok(None);
    }
    tx.fetch_optional(
        "SELECT chat_id, message_id, target_id, excerpt FROM mod_reports WHERE id = $1",
        args![id],
    )
    .await
}

/// The chat a violation or report belongs to (to check a log chat button comes from its
/// group's log chat).
pub async fn chat_of(tx: &mut Tx, table: &str, id: i64) -> StoreResult<Option<ChatId>> {
    let sql = match table {
        "violation" => "SELECT chat_id FROM mod_violations WHERE id = $1",
        _ => "SELECT chat_id FROM mod_reports WHERE id = $1",
    };
    let row: Option<(i64,)> = tx.fetch_optional(sql, args![id]).await?;
    Ok(row.map(|(chat,)| chat))
}

/// Moves a group's records to its new id (group → supergroup). The supergroup numbers its
/// messages afresh, so the old group's message ids are kept negated: they can neither collide
/// with new ones nor make a new message look "already dealt with". Recent messages (flood and
/// repeat windows, minutes long) are dropped.
pub async fn migrate(tx: &mut Tx, from: ChatId, to: ChatId) -> StoreResult<()> {
    for sql in [
        "DELETE FROM mod_recent WHERE chat_id = $1",
        "DELETE FROM mod_notices WHERE chat_id = $1",
    ] {
        tx.execute(sql, args![from]).await?;
    }
    for sql in [
        "UPDATE mod_violations SET chat_id = $1, message_id = -message_id WHERE chat_id = $2",
        "UPDATE mod_warnings SET chat_id = $1 WHERE chat_id = $2",
        "UPDATE mod_reports SET chat_id = $1, message_id = -message_id WHERE chat_id = $2",
    ] {
        tx.execute(sql, args![to, from]).await?;
    }
    Ok(())
}
