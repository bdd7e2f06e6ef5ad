//! The games' SQL. Runs inside the event's transaction.

use crate::args;
use crate::store::{StoreResult, Tx};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Game {
    pub id: i64,
    pub kind: String,
    pub rule: String,
    pub current: String,
    pub turn: i64,
    pub started_by: i64,
    pub thread_id: Option<i64>,
    pub hints_used: i64,
    pub bot_moves: i64,
}

macro_rules! select_game {
    ($condition:literal) => {
        concat!(
            "SELECT id, kind, rule, current, turn, started_by, thread_id, hints_used, bot_moves FROM games WHERE ",
            $condition
        )
    };
}

/// The chat's game in progress, if any.
pub async fn live(tx: &mut Tx, chat: i64) -> StoreResult<Option<Game>> {
    tx.fetch_optional(
        select_game!("chat_id = $1 AND ended_at IS NULL"),
        args![chat],
    )
    .await
}

pub async fn by_id(tx: &mut Tx, id: i64) -> StoreResult<Option<Game>> {
    tx.fetch_optional(select_game!("id = $1"), args![id]).await
}

pub struct NewGame<'a> {
    pub chat: i64,
    pub kind: &'a str,
    pub rule: &'a str,
    pub current: &'a str,
    pub started_by: i64,
    pub at: i64,
    pub ends_at: i64,
    pub thread: Option<i64>,
}

/// Starts a game; `None` if the chat already has one (the unique index says no).
pub async fn start(tx: &mut Tx, game: &NewGame<'_>) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "INSERT INTO games (chat_id, kind, rule, current, started_by, started_at, ends_at, thread_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (chat_id) WHERE ended_at IS NULL DO NOTHING RETURNING id",
            args![
                game.chat,
                game.kind,
                game.rule,
                game.current,
                game.started_by,
                game.at,
                game.ends_at,
                game.thread
            ],
        )
        .await?;
    Ok(row.map(|(id,)| id))
}

pub struct NewMove<'a> {
    pub game: i64,
    pub turn: i64,
    pub user: i64,
    pub word: &'a str,
    pub message: Option<i64>,
    pub at: i64,
    pub combo: i64,
    pub points: i64,
    pub by_bot: bool,
}

/// Records a move; false if the turn was already taken or the word already played.
pub async fn record_move(tx: &mut Tx, new: &NewMove<'_>) -> StoreResult<bool> {
    let inserted = tx
        .execute(
            "INSERT INTO game_moves (game_id, turn, user_id, word, message_id, at, combo, points, by_bot)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            args![
                new.game,
                new.turn,
                new.user,
                new.word,
                new.message,
                new.at,
                new.combo,
                new.points,
                i64::from(new.by_bot)
            ],
        )
        .await?;
    Ok(inserted == 1)
}

/// Moves the game on to `turn` with `current` as the word to link to.
pub async fn advance(
    tx: &mut Tx,
    game: i64,
    turn: i64,
    current: &str,
    bot_moves: i64,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE games SET turn = $1, current = $2, bot_moves = $3 WHERE id = $4",
        args![turn, current, bot_moves, game],
    )
    .await?;
    Ok(())
}

pub async fn use_hint(tx: &mut Tx, game: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE games SET hints_used = hints_used + 1 WHERE id = $1",
        args![game],
    )
    .await?;
    Ok(())
}

/// Ends the game; false if it had already ended.
pub async fn end(tx: &mut Tx, game: i64, at: i64, reason: &str) -> StoreResult<bool> {
    let updated = tx
        .execute(
            "UPDATE games SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
            args![at, reason, game],
        )
        .await?;
    Ok(updated == 1)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Move {
    pub turn: i64,
    pub user_id: i64,
    pub word: String,
    pub combo: i64,
    pub points: i64,
    pub by_bot: i64,
    pub name: String,
}

/// A game's moves in order, with the players' names.
pub async fn moves(tx: &mut Tx, chat: i64, game: i64) -> StoreResult<Vec<Move>> {
    tx.fetch_all(
        "SELECT g.turn, g.user_id, g.word, g.combo, g.points, g.by_bot, COALESCE(m.display_name, '?') AS name
         FROM game_moves g LEFT JOIN members m ON m.chat_id = $1 AND m.user_id = g.user_id
         WHERE g.game_id = $2 ORDER BY g.turn",
        args![chat, game],
    )
    .await
}

/// Adds to a move's points (the dead-end bonus).
pub async fn add_move_points(tx: &mut Tx, game: i64, turn: i64, points: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE game_moves SET points = points + $1 WHERE game_id = $2 AND turn = $3",
        args![points, game, turn],
    )
    .await?;
    Ok(())
}

/// Game points the member has had into the ledger since `since` (Unix seconds).
pub async fn game_points_since(tx: &mut Tx, scope: i64, user: i64, since: i64) -> StoreResult<i64> {
    let (sum,): (i64,) = tx
        .fetch_one(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM points_ledger
             WHERE chat_id = $1 AND user_id = $2 AND reason = 'game' AND at >= $3",
            args![scope, user, since],
        )
        .await?;
    Ok(sum)
}

pub async fn migrate_chat(tx: &mut Tx, from: i64, to: i64) -> StoreResult<()> {
    // A supergroup can hardly have started a game in the seconds before the notice; if it has,
    // the old group's game in progress gives way.
    tx.execute(
        "UPDATE games SET ended_at = started_at, end_reason = 'migrated'
         WHERE chat_id = $1 AND ended_at IS NULL AND EXISTS (SELECT 1 FROM games WHERE chat_id = $2 AND ended_at IS NULL)",
        args![from, to],
    )
    .await?;
    tx.execute(
        "UPDATE games SET chat_id = $1 WHERE chat_id = $2",
        args![to, from],
    )
    .await?;
    Ok(())
}

/// A game's moves since `since` (Unix seconds): how fast it is going.
pub async fn moves_since(tx: &mut Tx, game: i64, since: i64) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM game_moves WHERE game_id = $1 AND at >= $2",
            args![game, since],
        )
        .await?;
    Ok(count)
}

/// The questions of the chat's latest rounds of `kind`, so a group does not get one again soon.
pub async fn recent_questions(
    tx: &mut Tx,
    chat: i64,
    kind: &str,
    limit: i64,
) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = tx
        .fetch_all(
            "SELECT current FROM games WHERE chat_id = $1 AND kind = $2 ORDER BY id DESC LIMIT $3",
            args![chat, kind, limit],
        )
        .await?;
    Ok(rows.into_iter().map(|(question,)| question).collect())
}
