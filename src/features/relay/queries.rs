//! The relay feature's SQL. Runs inside the event's transaction, which holds the chat's lock,
//! so positions read here and written back cannot be taken by another handler meanwhile; the
//! unique keys stay as the backstop.

use crate::args;
use crate::store::{StoreResult, Tx};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct List {
    pub id: i64,
    pub chat_id: i64,
    pub created_by: i64,
    pub title: String,
    pub example: Option<String>,
    pub note: Option<String>,
    pub capacity: Option<i64>,
    pub one_per_member: i64,
    pub deadline_at: Option<i64>,
    pub thread_id: Option<i64>,
    pub closed_at: Option<i64>,
    pub version: i64,
    pub exported_version: Option<i64>,
    pub pages: i64,
}

impl List {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    pub fn one_per_member(&self) -> bool {
        self.one_per_member != 0
    }
}

/// `SELECT <every list column> FROM relay_lists <rest>`.
macro_rules! select_lists {
    ($rest:literal) => {
        concat!(
            "SELECT id, chat_id, created_by, title, example, note, capacity, one_per_member, \
             deadline_at, thread_id, closed_at, version, exported_version, pages \
             FROM relay_lists ",
            $rest
        )
    };
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub name: String,
    pub content: String,
    pub created_at: i64,
}

pub struct NewList<'a> {
    pub chat: i64,
    pub source: &'a str,
    pub created_by: i64,
    pub title: &'a str,
    pub example: Option<&'a str>,
    pub note: Option<&'a str>,
    pub capacity: Option<i64>,
    pub one_per_member: bool,
    pub deadline_at: Option<i64>,
    pub remind_minutes: i64,
    pub thread: Option<i64>,
    pub at: i64,
}

/// Creates a list; `None` if its source made one already (the same message handled again).
pub async fn insert_list(tx: &mut Tx, list: &NewList<'_>) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "INSERT INTO relay_lists (chat_id, source, created_by, title, example, note, capacity,
                 one_per_member, deadline_at, remind_minutes, thread_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (chat_id, source) DO NOTHING RETURNING id",
            args![
                list.chat,
                list.source,
                list.created_by,
                list.title,
                list.example,
                list.note,
                list.capacity,
                i64::from(list.one_per_member),
                list.deadline_at,
                list.remind_minutes,
                list.thread,
                list.at
            ],
        )
        .await?;
    Ok(row.map(|(id,)| id))
}

pub async fn list(tx: &mut Tx, id: i64) -> StoreResult<Option<List>> {
    tx.fetch_optional(select_lists!("WHERE id = $1"), args![id])
        .await
}

/// The lists of a chat that are still open, newest first.
pub async fn open_lists(tx: &mut Tx, chat: i64) -> StoreResult<Vec<List>> {
    tx.fetch_all(
        select_lists!("WHERE chat_id = $1 AND closed_at IS NULL ORDER BY id DESC"),
        args![chat],
    )
    .await
}

/// The list whose message (any page) has this id, or whose creating message it is.
pub async fn list_of_message(tx: &mut Tx, chat: i64, message: i64) -> StoreResult<Option<i64>> {
    let keyed: Option<(String,)> = tx
        .fetch_optional(
            "SELECT key FROM bot_messages WHERE chat_id = $1 AND message_id = $2 AND key LIKE 'relay:%'",
            args![chat, message],
        )
        .await?;
    if let Some(id) = keyed.and_then(|(key,)| super::list_id_of_key(&key)) {
        return Ok(Some(id));
    }
    let created: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT id FROM relay_lists WHERE chat_id = $1 AND source = $2",
            args![chat, format!("m:{message}")],
        )
        .await?;
    Ok(created.map(|(id,)| id))
}

/// The id of a list's (first) message, once it has been sent.
pub async fn message_of_list(tx: &mut Tx, chat: i64, list: i64) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT message_id FROM bot_messages WHERE chat_id = $1 AND key = $2",
            args![chat, format!("relay:{list}")],
        )
        .await?;
    Ok(row.map(|(id,)| id))
}

pub async fn count_open(tx: &mut Tx, chat: i64) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM relay_lists WHERE chat_id = $1 AND closed_at IS NULL",
            args![chat],
        )
        .await?;
    Ok(count)
}

/// A list's lines in order of arrival.
pub async fn entries(tx: &mut Tx, list: i64) -> StoreResult<Vec<Entry>> {
    tx.fetch_all(
        "SELECT id, user_id, username, name, content, created_at FROM relay_entries
         WHERE list_id = $1 ORDER BY position",
        args![list],
    )
    .await
}

pub async fn count_entries(tx: &mut Tx, list: i64) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM relay_entries WHERE list_id = $1",
            args![list],
        )
        .await?;
    Ok(count)
}

/// A member's latest line on a list.
/// How many lines `user` has on the list.
pub async fn count_of(tx: &mut Tx, list: i64, user: i64) -> StoreResult<i64> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM relay_entries WHERE list_id = $1 AND user_id = $2",
            args![list, user],
        )
        .await?;
    Ok(count)
}

pub async fn latest_of(tx: &mut Tx, list: i64, user: i64) -> StoreResult<Option<Entry>> {
    tx.fetch_optional(
        "SELECT id, user_id, username, name, content, created_at FROM relay_entries
         WHERE list_id = $1 AND user_id = $2 ORDER BY position DESC LIMIT 1",
        args![list, user],
    )
    .await
}

pub struct NewEntry<'a> {
    pub list: i64,
    pub source: &'a str,
    pub user: Option<i64>,
    pub username: Option<&'a str>,
    pub name: &'a str,
    pub content: &'a str,
    pub message: Option<i64>,
    pub at: i64,
}

/// Adds a line at the end; `None` if its source added one already. The position is read and
/// written inside the chat-locked transaction.
pub async fn insert_entry(tx: &mut Tx, entry: &NewEntry<'_>) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "INSERT INTO relay_entries (list_id, position, source, user_id, username, name, content,
                 message_id, created_at)
             SELECT $1, COALESCE(MAX(position), 0) + 1, $2, $3, $4, $5, $6, $7, $8
             FROM relay_entries WHERE list_id = $1
             ON CONFLICT (list_id, source) DO NOTHING RETURNING id",
            args![
                entry.list,
                entry.source,
                entry.user,
                entry.username,
                entry.name,
                entry.content,
                entry.message,
                entry.at
            ],
        )
        .await?;
    Ok(row.map(|(id,)| id))
}

pub async fn set_content(tx: &mut Tx, entry: i64, content: &str, at: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE relay_entries SET content = $1, edited_at = $2 WHERE id = $3",
        args![content, at, entry],
    )
    .await?;
    Ok(())
}

pub async fn delete_entry(tx: &mut Tx, entry: i64) -> StoreResult<()> {
    tx.execute("DELETE FROM relay_entries WHERE id = $1", args![entry])
        .await?;
    Ok(())
}

/// The line a member's message made, on a list of this chat, if any.
pub async fn entry_of_message(
    tx: &mut Tx,
    chat: i64,
    message: i64,
    user: i64,
) -> StoreResult<Option<(i64, i64)>> {
    tx.fetch_optional(
        "SELECT e.id, e.list_id FROM relay_entries e JOIN relay_lists l ON l.id = e.list_id
         WHERE l.chat_id = $1 AND e.message_id = $2 AND e.user_id = $3",
        args![chat, message, user],
    )
    .await
}

/// Records that the list changed and how many messages it now takes.
pub async fn touch(tx: &mut Tx, list: i64, pages: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE relay_lists SET version = version + 1, pages = $1 WHERE id = $2",
        args![pages, list],
    )
    .await?;
    Ok(())
}

/// Closes a list; false if it was closed already.
pub async fn close(tx: &mut Tx, list: i64, at: i64) -> StoreResult<bool> {
    let changed = tx
        .execute(
            "UPDATE relay_lists SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL",
            args![at, list],
        )
        .await?;
    Ok(changed == 1)
}

pub async fn mark_exported(tx: &mut Tx, list: i64, version: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE relay_lists SET exported_version = $1 WHERE id = $2",
        args![version, list],
    )
    .await?;
    Ok(())
}

pub async fn migrate_chat(tx: &mut Tx, from: i64, to: i64) -> StoreResult<()> {
    // A supergroup numbers its messages afresh, so sources naming the old group's messages
    // (`m:57`) are tagged with the old id: they can neither collide with the new group's nor
    // make a new message look like one already taken.
    tx.execute(
        "UPDATE relay_entries SET source = 'g' || CAST($1 AS TEXT) || ':' || source,
                                  message_id = -message_id
         WHERE source LIKE 'm:%' AND list_id IN (SELECT id FROM relay_lists WHERE chat_id = $1)",
        args![from],
    )
    .await?;
    tx.execute(
        "UPDATE relay_lists SET chat_id = $1, source = 'g' || CAST($2 AS TEXT) || ':' || source
         WHERE chat_id = $2",
        args![to, from],
    )
    .await?;
    Ok(())
}
