//! The sign-in feature's SQL. Runs inside the event's transaction.

use crate::args;
use crate::store::{StoreResult, Tx};

#[derive(Debug, sqlx::FromRow)]
pub struct SigninRow {
    pub day: i64,
    pub rank: i64,
    pub streak: i64,
}

/// One line of a leaderboard: who, and the number they are ranked by.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BoardRow {
    pub user_id: i64,
    pub name: String,
    pub value: i64,
}

/// The member's latest sign-in on or before `day`: that day's, or the one a streak continues.
pub async fn latest_up_to(
    tx: &mut Tx,
    chat: i64,
    user: i64,
    day: i64,
) -> StoreResult<Option<SigninRow>> {
    tx.fetch_optional(
        "SELECT day, rank, streak FROM signins WHERE chat_id = $1 AND user_id = $2 AND day <= $3
         ORDER BY day DESC LIMIT 1",
        args![chat, user, day],
    )
    .await
}

pub async fn count_on_day(tx: &mut Tx, chat: i64, day: i64) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM signins WHERE chat_id = $1 AND day = $2",
            args![chat, day],
        )
        .await?;
    Ok(count)
}

/// The chat's sign-ins on `day`, and those since `since` (Unix seconds, whatever their day):
/// the next rank, and how busy the group is right now. One round trip for both.
pub async fn day_and_recent_counts(
    tx: &mut Tx,
    chat: i64,
    day: i64,
    since: i64,
) -> StoreResult<(i64, i64)> {
    tx.fetch_one(
        "SELECT (SELECT COUNT(*) FROM signins WHERE chat_id = $1 AND day = $2),
                (SELECT COUNT(*) FROM signins WHERE chat_id = $1 AND signed_at >= $3)",
        args![chat, day, since],
    )
    .await
}

/// The member's days signed in here and their points balance (kept per `scope`, the group or
/// its community), in one round trip.
pub async fn days_and_balance(
    tx: &mut Tx,
    chat: i64,
    scope: i64,
    user: i64,
) -> StoreResult<(i64, i64)> {
    tx.fetch_one(
        "SELECT (SELECT COUNT(*) FROM signins WHERE chat_id = $1 AND user_id = $2),
                (SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM points_ledger
                 WHERE chat_id = $3 AND user_id = $2)",
        args![chat, user, scope],
    )
    .await
}

pub struct NewSignin {
    pub chat: i64,
    pub user: i64,
    pub day: i64,
    pub at: i64,
    pub rank: i64,
    pub streak: i64,
    pub points: i64,
    /// A make-up (补签) rather than a sign-in on the day itself.
    pub makeup: bool,
}

/// Records a sign-in; false if the member had already signed in that day.
pub async fn insert(tx: &mut Tx, row: &NewSignin) -> StoreResult<bool> {
    let inserted = tx
        .execute(
            "INSERT INTO signins (chat_id, user_id, day, signed_at, rank, streak, points, makeup)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (chat_id, user_id, day) DO NOTHING",
            args![
                row.chat,
                row.user,
                row.day,
                row.at,
                row.rank,
                row.streak,
                row.points,
                i64::from(row.makeup)
            ],
        )
        .await?;
    Ok(inserted == 1)
}

pub async fn add_points(
    tx: &mut Tx,
    chat: i64,
    user: i64,
    delta: i64,
    reason: &str,
    reference: Option<String>,
    at: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO points_ledger (chat_id, user_id, delta, reason, reference, at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![chat, user, delta, reason, reference, at],
    )
    .await?;
    Ok(())
}

pub async fn balance(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<i64> {
    let (sum,): (i64,) = tx
        .fetch_one(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM points_ledger WHERE chat_id = $1 AND user_id = $2",
            args![chat, user],
        )
        .await?;
    Ok(sum)
}

/// The day's first `limit` sign-ins in order.
pub async fn day_board(tx: &mut Tx, chat: i64, day: i64, limit: i64) -> StoreResult<Vec<BoardRow>> {
    tx.fetch_all(
        "SELECT s.user_id, COALESCE(m.display_name, '?') AS name, s.points AS value
         FROM signins s LEFT JOIN members m ON m.chat_id = s.chat_id AND m.user_id = s.user_id
         WHERE s.chat_id = $1 AND s.day = $2 ORDER BY s.rank LIMIT $3",
        args![chat, day, limit],
    )
    .await
}

/// Current streaks: only members whose last sign-in was `yesterday` or later still have one.
pub async fn streak_board(tx: &mut Tx, chat: i64, yesterday: i64) -> StoreResult<Vec<BoardRow>> {
    tx.fetch_all(
        "SELECT s.user_id, COALESCE(m.display_name, '?') AS name, s.streak AS value
         FROM signins s LEFT JOIN members m ON m.chat_id = s.chat_id AND m.user_id = s.user_id
         WHERE s.chat_id = $1 AND s.day >= $2
           AND s.day = (SELECT MAX(t.day) FROM signins t WHERE t.chat_id = s.chat_id AND t.user_id = s.user_id)
         ORDER BY s.streak DESC, s.signed_at",
        args![chat, yesterday],
    )
    .await
}

pub async fn days_board(tx: &mut Tx, chat: i64) -> StoreResult<Vec<BoardRow>> {
    tx.fetch_all(
        "SELECT s.user_id, COALESCE(MAX(m.display_name), '?') AS name, COUNT(*) AS value
         FROM signins s LEFT JOIN members m ON m.chat_id = s.chat_id AND m.user_id = s.user_id
         WHERE s.chat_id = $1 GROUP BY s.user_id ORDER BY value DESC, MIN(s.signed_at)",
        args![chat],
    )
    .await
}

/// Points earned from `since` on (Unix seconds; 0 for all time).
pub async fn points_board(tx: &mut Tx, chat: i64, since: i64) -> StoreResult<Vec<BoardRow>> {
    tx.fetch_all(
        "SELECT l.user_id, COALESCE(MAX(m.display_name), (SELECT a.display_name FROM members a WHERE a.user_id = l.user_id
                    ORDER BY COALESCE(a.last_active, 0) DESC LIMIT 1), '?') AS name, CAST(SUM(l.delta) AS BIGINT) AS value
         FROM points_ledger l LEFT JOIN members m ON m.chat_id = l.chat_id AND m.user_id = l.user_id
         WHERE l.chat_id = $1 AND l.at >= $2 GROUP BY l.user_id ORDER BY value DESC, MIN(l.at)",
        args![chat, since],
    )
    .await
}

/// Experience, for `/rank xp` (the levels feature's table).
pub async fn xp_board(tx: &mut Tx, chat: i64) -> StoreResult<Vec<BoardRow>> {
    tx.fetch_all(
        "SELECT x.user_id, COALESCE(m.display_name, (SELECT a.display_name FROM members a WHERE a.user_id = x.user_id
                    ORDER BY COALESCE(a.last_active, 0) DESC LIMIT 1), '?') AS name, x.xp AS value
         FROM member_xp x LEFT JOIN members m ON m.chat_id = x.chat_id AND m.user_id = x.user_id
         WHERE x.chat_id = $1 ORDER BY x.xp DESC, x.user_id",
        args![chat],
    )
    .await
}

pub async fn first_day(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT day FROM signins WHERE chat_id = $1 AND user_id = $2 ORDER BY day LIMIT 1",
            args![chat, user],
        )
        .await?;
    Ok(row.map(|(day,)| day))
}

/// Make-ups the member did since `since` (Unix seconds).
pub async fn makeups_since(tx: &mut Tx, chat: i64, user: i64, since: i64) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM points_ledger WHERE chat_id = $1 AND user_id = $2 AND reason = 'makeup' AND at >= $3",
            args![chat, user, since],
        )
        .await?;
    Ok(count)
}

/// Recomputes the member's streaks from `from` on, from the day log: a day's streak is one
/// more than the previous day's if there is a row for the previous day, else 1. Returns the
/// streak of the member's latest day.
pub async fn recompute_streaks(tx: &mut Tx, chat: i64, user: i64, from: i64) -> StoreResult<i64> {
    let rows: Vec<(i64, i64)> = tx
        .fetch_all(
            "SELECT day, streak FROM signins WHERE chat_id = $1 AND user_id = $2 AND day >= $3 ORDER BY day",
            args![chat, user, from - 1],
        )
        .await?;
    let mut previous: Option<(i64, i64)> = None;
    for (day, stored) in rows {
        let streak = match previous {
            Some((last_day, last_streak)) if last_day == day - 1 => last_streak + 1,
            _ if day < from => stored,
            _ => 1,
        };
        if streak != stored {
            tx.execute(
                "UPDATE signins SET streak = $1 WHERE chat_id = $2 AND user_id = $3 AND day = $4",
                args![streak, chat, user, day],
            )
            .await?;
        }
        previous = Some((day, streak));
    }
    Ok(previous.map_or(0, |(_, streak)| streak))
}
