//! The welcome feature's SQL. Runs inside the event's transaction.

use crate::args;
use crate::store::{StoreResult, Tx};

/// A newcomer waiting for the next welcome, with what the members table knows of them.
#[derive(Debug, sqlx::FromRow)]
pub struct Newcomer {
    pub user_id: i64,
    pub joined_at: i64,
    pub captcha: i64,
    pub display_name: Option<String>,
    pub username: Option<String>,
}

pub async fn add_pending(
    tx: &mut Tx,
    chat: i64,
    user: i64,
    at: i64,
    captcha: bool,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO welcome_pending (chat_id, user_id, joined_at, captcha) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET joined_at = excluded.joined_at,
                                                      captcha = excluded.captcha",
        args![chat, user, at, i64::from(captcha)],
    )
    .await?;
    Ok(())
}

/// Everyone waiting for a welcome, in the order they joined; they are no longer waiting after.
pub async fn take_pending(tx: &mut Tx, chat: i64) -> StoreResult<Vec<Newcomer>> {
    let rows = tx
        .fetch_all(
            "SELECT p.user_id, p.joined_at, p.captcha, m.display_name, m.username
             FROM welcome_pending p
             LEFT JOIN members m ON m.chat_id = p.chat_id AND m.user_id = p.user_id
             WHERE p.chat_id = $1 ORDER BY p.joined_at, p.user_id",
            args![chat],
        )
        .await?;
    tx.execute(
        "DELETE FROM welcome_pending WHERE chat_id = $1",
        args![chat],
    )
    .await?;
    Ok(rows)
}

pub async fn drop_pending(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM welcome_pending WHERE chat_id = $1 AND user_id = $2",
        args![chat, user],
    )
    .await?;
    Ok(())
}

/// The number the next welcome gets in this chat.
pub async fn next_batch(tx: &mut Tx, chat: i64) -> StoreResult<i64> {
    let (last,): (Option<i64>,) = tx
        .fetch_one(
            "SELECT MAX(batch) FROM welcome_posts WHERE chat_id = $1",
            args![chat],
        )
        .await?;
    Ok(last.unwrap_or(0) + 1)
}

pub async fn record_post(
    tx: &mut Tx,
    chat: i64,
    batch: i64,
    text: &str,
    members: &[i64],
    at: i64,
) -> StoreResult<()> {
    let members = serde_json::to_string(members).unwrap_or_else(|_| "[]".to_owned());
    tx.execute(
        "INSERT INTO welcome_posts (chat_id, batch, text, members, posted_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (chat_id, batch) DO NOTHING",
        args![chat, batch, text, members, at],
    )
    .await?;
    // A week of history is plenty to tidy up after; older rows only take room.
    tx.execute(
        "DELETE FROM welcome_posts WHERE chat_id = $1 AND posted_at < $2",
        args![chat, at - 7 * 86_400],
    )
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct Post {
    pub batch: i64,
    pub text: String,
    pub members: String,
}

impl Post {
    pub fn members(&self) -> Vec<i64> {
        serde_json::from_str(&self.members).unwrap_or_default()
    }
}

/// Welcomes still on screen that no newcomer still has to answer, except the newest.
pub async fn tidy_candidates(tx: &mut Tx, chat: i64) -> StoreResult<Vec<Post>> {
    tx.fetch_all(
        "SELECT batch, text, members FROM welcome_posts p
         WHERE chat_id = $1 AND deleted = 0
           AND batch < (SELECT MAX(batch) FROM welcome_posts WHERE chat_id = $1)
           AND NOT EXISTS (SELECT 1 FROM welcome_captchas c
                           WHERE c.chat_id = p.chat_id AND c.batch = p.batch)
         ORDER BY batch",
        args![chat],
    )
    .await
}

pub async fn post(tx: &mut Tx, chat: i64, batch: i64) -> StoreResult<Option<(Post, bool)>> {
    let row: Option<(i64, String, String, i64)> = tx
        .fetch_optional(
            "SELECT batch, text, members, deleted FROM welcome_posts
             WHERE chat_id = $1 AND batch = $2",
            args![chat, batch],
        )
        .await?;
    Ok(row.map(|(batch, text, members, deleted)| {
        (
            Post {
                batch,
                text,
                members,
            },
            deleted != 0,
        )
    }))
}

pub async fn mark_deleted(tx: &mut Tx, chat: i64, batch: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE welcome_posts SET deleted = 1 WHERE chat_id = $1 AND batch = $2",
        args![chat, batch],
    )
    .await?;
    Ok(())
}

pub async fn latest_batch(tx: &mut Tx, chat: i64) -> StoreResult<Option<i64>> {
    let (last,): (Option<i64>,) = tx
        .fetch_one(
            "SELECT MAX(batch) FROM welcome_posts WHERE chat_id = $1",
            args![chat],
        )
        .await?;
    Ok(last)
}

/// A newcomer's open captcha: which welcome asks it, the right button, wrong presses so far.
#[derive(Debug, sqlx::FromRow)]
pub struct OpenCaptcha {
    pub batch: Option<i64>,
    pub answer: Option<String>,
    pub wrong: i64,
    pub opened_at: i64,
}

pub async fn open_captcha(tx: &mut Tx, chat: i64, user: i64, at: i64) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO welcome_captchas (chat_id, user_id, opened_at) VALUES ($1, $2, $3)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET batch = NULL, answer = NULL, wrong = 0,
                                                      opened_at = excluded.opened_at",
        args![chat, user, at],
    )
    .await?;
    Ok(())
}

pub async fn captcha(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<Option<OpenCaptcha>> {
    tx.fetch_optional(
        "SELECT batch, answer, wrong, opened_at FROM welcome_captchas
         WHERE chat_id = $1 AND user_id = $2",
        args![chat, user],
    )
    .await
}

/// When welcome `batch` was posted.
pub async fn posted_at(tx: &mut Tx, chat: i64, batch: i64) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT posted_at FROM welcome_posts WHERE chat_id = $1 AND batch = $2",
            args![chat, batch],
        )
        .await?;
    Ok(row.map(|(at,)| at))
}

pub async fn ask_captcha(
    tx: &mut Tx,
    chat: i64,
    user: i64,
    batch: i64,
    answer: &str,
) -> StoreResult<bool> {
    let changed = tx
        .execute(
            "UPDATE welcome_captchas SET batch = $3, answer = $4 WHERE chat_id = $1 AND user_id = $2",
            args![chat, user, batch, answer],
        )
        .await?;
    Ok(changed == 1)
}

pub async fn count_wrong(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE welcome_captchas SET wrong = wrong + 1 WHERE chat_id = $1 AND user_id = $2",
        args![chat, user],
    )
    .await?;
    Ok(())
}

/// Closes a newcomer's captcha; returns the welcome that asked it, if one did.
pub async fn close_captcha(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<Option<i64>> {
    let open = captcha(tx, chat, user).await?;
    tx.execute(
        "DELETE FROM welcome_captchas WHERE chat_id = $1 AND user_id = $2",
        args![chat, user],
    )
    .await?;
    Ok(open.and_then(|open| open.batch))
}

/// Starts (or restarts, on a rejoin) the follow-up of a newcomer.
pub async fn start_followup(tx: &mut Tx, chat: i64, user: i64, joined_at: i64) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO welcome_followups (chat_id, user_id, joined_at) VALUES ($1, $2, $3)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET joined_at = excluded.joined_at,
                                                      reminded = 0, acted = 0,
                                                      attempted_at = NULL",
        args![chat, user, joined_at],
    )
    .await?;
    Ok(())
}

/// The newcomer posted an introduction that misses required fields: they tried.
pub async fn mark_attempt(tx: &mut Tx, chat: i64, user: i64, at: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE welcome_followups SET attempted_at = $3
         WHERE chat_id = $1 AND user_id = $2 AND attempted_at IS NULL",
        args![chat, user, at],
    )
    .await?;
    Ok(())
}

/// Whether the newcomer has posted an introduction, complete or not.
pub async fn has_introduced(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<bool> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT user_id FROM intro_profiles WHERE chat_id = $1 AND user_id = $2
             UNION ALL
             SELECT user_id FROM welcome_followups
             WHERE chat_id = $1 AND user_id = $2 AND attempted_at IS NOT NULL",
            args![chat, user],
        )
        .await?;
    Ok(row.is_some())
}

/// Which follow-up step: the reminder, or the action after it.
#[derive(Clone, Copy)]
pub enum Step {
    Remind,
    Act,
}

/// The newcomers for whom `step` is not done yet and who joined within `window` seconds of
/// `user` (whose timer fired): a wave, followed up in one message. Marks the step done for all
/// of them. Empty if `user`'s step was done already (by an earlier member of the wave).
pub async fn take_wave(
    tx: &mut Tx,
    chat: i64,
    user: i64,
    step: Step,
    window: i64,
) -> StoreResult<Vec<i64>> {
    let row: Option<(i64, i64, i64)> = tx
        .fetch_optional(
            "SELECT joined_at, reminded, acted FROM welcome_followups
             WHERE chat_id = $1 AND user_id = $2",
            args![chat, user],
        )
        .await?;
    let Some((joined_at, reminded, acted)) = row else {
        return Ok(Vec::new());
    };
    let done = match step {
        Step::Remind => reminded,
        Step::Act => acted,
    };
    if done != 0 {
        return Ok(Vec::new());
    }
    let (select, mark) = match step {
        Step::Remind => (
            "SELECT user_id FROM welcome_followups
             WHERE chat_id = $1 AND reminded = 0 AND joined_at BETWEEN $2 AND $3
             ORDER BY joined_at, user_id",
            "UPDATE welcome_followups SET reminded = 1
             WHERE chat_id = $1 AND reminded = 0 AND joined_at BETWEEN $2 AND $3",
        ),
        Step::Act => (
            "SELECT user_id FROM welcome_followups
             WHERE chat_id = $1 AND acted = 0 AND joined_at BETWEEN $2 AND $3
             ORDER BY joined_at, user_id",
            "UPDATE welcome_followups SET acted = 1
             WHERE chat_id = $1 AND acted = 0 AND joined_at BETWEEN $2 AND $3",
        ),
    };
    // Those who joined a little before `user` are overdue already; a little after, due within
    // the window: either way they are better named now than in a message of their own.
    let (from, to) = (joined_at - window, joined_at + window);
    let users: Vec<(i64,)> = tx.fetch_all(select, args![chat, from, to]).await?;
    tx.execute(mark, args![chat, from, to]).await?;
    Ok(users.into_iter().map(|(user,)| user).collect())
}

/// Records that the chat was told the captcha cannot work; `false` if it was told already.
pub async fn warn_once(tx: &mut Tx, chat: i64) -> StoreResult<bool> {
    let changed = tx
        .execute(
            "INSERT INTO welcome_chat_state (chat_id, captcha_warned) VALUES ($1, 1)
             ON CONFLICT (chat_id) DO UPDATE SET captcha_warned = 1
             WHERE welcome_chat_state.captcha_warned = 0",
            args![chat],
        )
        .await?;
    Ok(changed == 1)
}

/// The bot can restrict again: a later loss of the right is worth a new warning.
pub async fn clear_warning(tx: &mut Tx, chat: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE welcome_chat_state SET captcha_warned = 0 WHERE chat_id = $1",
        args![chat],
    )
    .await?;
    Ok(())
}

/// Whether the member is in the group as far as the bot has seen.
pub async fn is_present(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<bool> {
    let row: Option<(Option<i64>,)> = tx
        .fetch_optional(
            "SELECT left_at FROM members WHERE chat_id = $1 AND user_id = $2",
            args![chat, user],
        )
        .await?;
    Ok(matches!(row, Some((None,))))
}

/// The bot removed the member: the members table says so at once, so that Telegram's own
/// report of the removal, arriving a moment later, is taken for the echo it is.
pub async fn mark_removed(tx: &mut Tx, chat: i64, user: i64, at: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE members SET left_at = $3 WHERE chat_id = $1 AND user_id = $2",
        args![chat, user, at],
    )
    .await?;
    Ok(())
}

/// Members the bot has seen in the group and not seen leave.
pub async fn known_members(tx: &mut Tx, chat: i64) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM members WHERE chat_id = $1 AND left_at IS NULL AND is_bot = 0",
            args![chat],
        )
        .await?;
    Ok(count)
}

/// A member as the members table knows them: (user id, display name, username).
pub async fn member_by_username(
    tx: &mut Tx,
    chat: i64,
    username: &str,
) -> StoreResult<Option<(i64, String, Option<String>)>> {
    tx.fetch_optional(
        "SELECT user_id, display_name, username FROM members
         WHERE chat_id = $1 AND LOWER(username) = LOWER($2)
         ORDER BY COALESCE(last_active, first_seen) DESC LIMIT 1",
        args![chat, username],
    )
    .await
}

/// Members here whose display name is `name` (ignoring case) or, failing that, contains it:
/// (user id, display name, username), at most `limit`, the most recently active first.
pub async fn members_by_name(
    tx: &mut Tx,
    chat: i64,
    name: &str,
    limit: i64,
) -> StoreResult<Vec<(i64, String, Option<String>)>> {
    let exact: Vec<(i64, String, Option<String>)> = tx
        .fetch_all(
            "SELECT user_id, display_name, username FROM members
             WHERE chat_id = $1 AND left_at IS NULL AND is_bot = 0
               AND LOWER(display_name) = LOWER($2)
             ORDER BY COALESCE(last_active, first_seen) DESC LIMIT $3",
            args![chat, name, limit],
        )
        .await?;
    if !exact.is_empty() {
        return Ok(exact);
    }
    let escaped: String = name
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    tx.fetch_all(
        "SELECT user_id, display_name, username FROM members
         WHERE chat_id = $1 AND left_at IS NULL AND is_bot = 0
           AND LOWER(display_name) LIKE LOWER($2) ESCAPE '\\'
         ORDER BY COALESCE(last_active, first_seen) DESC LIMIT $3",
        args![chat, format!("%{escaped}%"), limit],
    )
    .await
}

pub async fn member(
    tx: &mut Tx,
    chat: i64,
    user: i64,
) -> StoreResult<Option<(i64, String, Option<String>)>> {
    tx.fetch_optional(
        "SELECT user_id, display_name, username FROM members WHERE chat_id = $1 AND user_id = $2",
        args![chat, user],
    )
    .await
}

/// A stored introduction.
#[derive(Debug, sqlx::FromRow)]
pub struct Profile {
    pub user_id: i64,
    pub fields: String,
    pub birthday_month: Option<i64>,
    pub birthday_day: Option<i64>,
    pub birthday_lunar: i64,
    pub birthday_year: Option<i64>,
    pub birthday_text: Option<String>,
    pub updated_at: i64,
    pub display_name: Option<String>,
}

impl Profile {
    /// The stored (field, value) pairs; an unreadable row reads as empty.
    pub fn fields(&self) -> Vec<(String, String)> {
        serde_json::from_str(&self.fields).unwrap_or_default()
    }
}

/// The columns a `Profile` is read from (a macro, because queries must be `&'static str`).
macro_rules! profile_query {
    ($where:literal) => {
        concat!(
            "SELECT p.user_id, p.fields, p.birthday_month, p.birthday_day, p.birthday_lunar,
                    p.birthday_year, p.birthday_text, p.updated_at, m.display_name
             FROM intro_profiles p
             LEFT JOIN members m ON m.chat_id = p.chat_id AND m.user_id = p.user_id
             WHERE ",
            $where
        )
    };
}

pub async fn profile(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<Option<Profile>> {
    tx.fetch_optional(
        profile_query!("p.chat_id = $1 AND p.user_id = $2"),
        args![chat, user],
    )
    .await
}

pub async fn has_profile(tx: &mut Tx, chat: i64, user: i64) -> StoreResult<bool> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT user_id FROM intro_profiles WHERE chat_id = $1 AND user_id = $2",
            args![chat, user],
        )
        .await?;
    Ok(row.is_some())
}

/// The chat's cards, most recently updated first.
pub async fn profiles(tx: &mut Tx, chat: i64) -> StoreResult<Vec<Profile>> {
    tx.fetch_all(
        profile_query!(
            "p.chat_id = $1 AND m.left_at IS NULL ORDER BY p.updated_at DESC, p.user_id"
        ),
        args![chat],
    )
    .await
}

pub struct NewProfile<'a> {
    pub chat: i64,
    pub user: i64,
    pub fields: &'a [(String, String)],
    pub message: i64,
    pub birthday_text: Option<&'a str>,
    pub birthday: Option<super::birthday::Birthday>,
    pub at: i64,
}

/// Stores a member's introduction; returns whether it is their first in this chat.
pub async fn save_profile(tx: &mut Tx, new: &NewProfile<'_>) -> StoreResult<bool> {
    let first = !has_profile(tx, new.chat, new.user).await?;
    let fields = serde_json::to_string(new.fields).unwrap_or_else(|_| "[]".to_owned());
    let birthday = new.birthday;
    tx.execute(
        "INSERT INTO intro_profiles (chat_id, user_id, fields, message_id, birthday_text,
                                     birthday_month, birthday_day, birthday_lunar, birthday_year,
                                     created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET
             fields = excluded.fields, message_id = excluded.message_id,
             birthday_text = excluded.birthday_text, birthday_month = excluded.birthday_month,
             birthday_day = excluded.birthday_day, birthday_lunar = excluded.birthday_lunar,
             birthday_year = excluded.birthday_year, updated_at = excluded.updated_at",
        args![
            new.chat,
            new.user,
            fields,
            new.message,
            new.birthday_text,
            birthday.map(|b| i64::from(b.month)),
            birthday.map(|b| i64::from(b.day)),
            i64::from(birthday.is_some_and(|b| b.lunar)),
            birthday.and_then(|b| b.year).map(i64::from),
            new.at
        ],
    )
    .await?;
    Ok(first)
}

/// Moves every row of this feature from a group's old id to its new one. Rows the new id
/// already has (made in the moments before the migration notice) win.
pub async fn migrate(tx: &mut Tx, from: i64, to: i64) -> StoreResult<()> {
    const STATEMENTS: &[&str] = &[
        "DELETE FROM welcome_pending WHERE chat_id = $2
         AND user_id IN (SELECT user_id FROM welcome_pending WHERE chat_id = $1)",
        "UPDATE welcome_pending SET chat_id = $1 WHERE chat_id = $2",
        "DELETE FROM welcome_captchas WHERE chat_id = $2
         AND user_id IN (SELECT user_id FROM welcome_captchas WHERE chat_id = $1)",
        "UPDATE welcome_captchas SET chat_id = $1 WHERE chat_id = $2",
        "DELETE FROM welcome_posts WHERE chat_id = $2
         AND batch IN (SELECT batch FROM welcome_posts WHERE chat_id = $1)",
        "UPDATE welcome_posts SET chat_id = $1 WHERE chat_id = $2",
        "DELETE FROM welcome_chat_state WHERE chat_id = $2
         AND EXISTS (SELECT 1 FROM welcome_chat_state WHERE chat_id = $1)",
        "UPDATE welcome_chat_state SET chat_id = $1 WHERE chat_id = $2",
        "DELETE FROM welcome_followups WHERE chat_id = $2
         AND user_id IN (SELECT user_id FROM welcome_followups WHERE chat_id = $1)",
        "UPDATE welcome_followups SET chat_id = $1 WHERE chat_id = $2",
        "DELETE FROM intro_profiles WHERE chat_id = $2
         AND user_id IN (SELECT user_id FROM intro_profiles WHERE chat_id = $1)",
        "UPDATE intro_profiles SET chat_id = $1 WHERE chat_id = $2",
    ];
    for statement in STATEMENTS {
        tx.execute(statement, args![to, from]).await?;
    }
    Ok(())
}
