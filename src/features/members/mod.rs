//! Member tracking: who is in each group as far as the bot has seen (Telegram offers no member
//! list), when they joined, spoke and left. Sign-in, reviews and statistics build on this.

use async_trait::async_trait;

use crate::args;
use crate::core::context::Cx;
use crate::core::event::{ChatId, EventKind, User};
use crate::core::feature::{Feature, FeatureResult};
use crate::store::{StoreResult, Tx};

pub struct Members;

#[async_trait]
impl Feature for Members {
    fn name(&self) -> &'static str {
        "members"
    }

    fn always_on(&self) -> bool {
        true
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        if !cx.event.chat.kind.is_group() {
            return Ok(());
        }
        let chat = cx.chat();
        let at = cx.event.at.timestamp();
        match &cx.event.kind {
            // An edit is not new activity.
            EventKind::Message(message) if !message.edited && message.by_a_person() => {
                // One statement: this runs for every message in every group.
                let from = &message.from;
                cx.tx
                    .execute(
                        "INSERT INTO members (chat_id, user_id, display_name, username, is_bot, first_seen,
                                              message_count, last_active)
                         VALUES ($1, $2, $3, $4, $5, $6, 1, $6)
                         ON CONFLICT (chat_id, user_id) DO UPDATE SET
                             display_name = excluded.display_name, username = excluded.username,
                             message_count = members.message_count + 1,
                             last_active = CASE WHEN members.last_active IS NULL OR members.last_active < $6
                                                THEN $6 ELSE members.last_active END,
                             left_at = NULL",
                        args![
                            chat,
                            from.id,
                            from.display_name(),
                            from.username.clone(),
                            i64::from(from.is_bot),
                            at
                        ],
                    )
                    .await?;
                // The day's count, for the digest and statistics.
                let day = crate::core::day::day_of(
                    cx.event.at,
                    cx.group.timezone,
                    chrono::NaiveTime::MIN,
                );
                cx.tx
                    .execute(
                        "INSERT INTO member_days (chat_id, user_id, day, messages) VALUES ($1, $2, $3, 1)
                         ON CONFLICT (chat_id, day, user_id) DO UPDATE SET messages = member_days.messages + 1",
                        args![chat, message.from.id, day],
                    )
                    .await?;
            }
            EventKind::ButtonPressed { from, .. } => {
                upsert(cx.tx, chat, from, at).await?;
                cx.tx
                    .execute(
                        "UPDATE members SET last_active = CASE WHEN last_active IS NULL OR last_active < $3
                                                               THEN $3 ELSE last_active END
                         WHERE chat_id = $1 AND user_id = $2",
                        args![chat, from.id, at],
                    )
                    .await?;
            }
            EventKind::MemberJoined { member, .. } => {
                upsert(cx.tx, chat, member, at).await?;
                cx.tx
                    .execute(
                        "UPDATE members SET joined_at = $3, left_at = NULL WHERE chat_id = $1 AND user_id = $2",
                        args![chat, member.id, at],
                    )
                    .await?;
                crate::features::stats::record_move(cx, member, true).await?;
            }
            EventKind::MemberLeft { member, .. } => {
                upsert(cx.tx, chat, member, at).await?;
                cx.tx
                    .execute(
                        "UPDATE members SET left_at = $3 WHERE chat_id = $1 AND user_id = $2",
                        args![chat, member.id, at],
                    )
                    .await?;
                crate::features::stats::record_move(cx, member, false).await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn migrate_chat(&self, tx: &mut Tx, from: ChatId, to: ChatId) -> FeatureResult {
        // Rows the new supergroup already has (a message arrived there before the migration
        // notice) are merged with the old group's rather than overwritten.
        tx.execute(
            "INSERT INTO members (chat_id, user_id, display_name, username, is_bot, first_seen, joined_at,
                                  last_active, message_count, left_at)
             SELECT $1, user_id, display_name, username, is_bot, first_seen, joined_at, last_active,
                    message_count, left_at
             FROM members WHERE chat_id = $2
             ON CONFLICT (chat_id, user_id) DO UPDATE SET
                 first_seen = CASE WHEN excluded.first_seen < members.first_seen
                                   THEN excluded.first_seen ELSE members.first_seen END,
                 joined_at = COALESCE(excluded.joined_at, members.joined_at),
                 message_count = members.message_count + excluded.message_count",
            args![to, from],
        )
        .await?;
        tx.execute("DELETE FROM members WHERE chat_id = $1", args![from])
            .await?;
        tx.execute(
            "INSERT INTO member_days (chat_id, user_id, day, messages)
             SELECT $1, user_id, day, messages FROM member_days WHERE chat_id = $2
             ON CONFLICT (chat_id, day, user_id) DO UPDATE SET
                 messages = member_days.messages + excluded.messages",
            args![to, from],
        )
        .await?;
        tx.execute("DELETE FROM member_days WHERE chat_id = $1", args![from])
            .await?;
        crate::features::stats::migrate_moves(tx, from, to).await?;
        Ok(())
    }
}

/// Creates the member's row on first sight and keeps their name current.
async fn upsert(tx: &mut Tx, chat: ChatId, user: &User, at: i64) -> FeatureResult {
    tx.execute(
        "INSERT INTO members (chat_id, user_id, display_name, username, is_bot, first_seen)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET
             display_name = excluded.display_name, username = excluded.username",
        args![
            chat,
            user.id,
            user.display_name(),
            user.username.clone(),
            i64::from(user.is_bot),
            at
        ],
    )
    .await?;
    Ok(())
}

/// A member the bot has seen in the chat, with whether they are in it now.
#[derive(Clone, Debug)]
pub struct Known {
    pub user: User,
    /// Not seen leaving since they were last seen joining or speaking.
    pub present: bool,
    /// When they joined, if the bot saw it.
    pub joined_at: Option<i64>,
}

type KnownRow = (i64, String, Option<String>, i64, Option<i64>, Option<i64>);

fn known(row: KnownRow) -> Known {
    let (id, name, username, is_bot, joined_at, left_at) = row;
    Known {
        user: User {
            username,
            is_bot: is_bot != 0,
            ..User::named(id, name)
        },
        present: left_at.is_none(),
        joined_at,
    }
}

/// A member of the chat by their @username (any case), if the bot has seen them.
pub async fn by_username(tx: &mut Tx, chat: ChatId, username: &str) -> StoreResult<Option<User>> {
    Ok(find_by_username(tx, chat, username).await?.map(|k| k.user))
}

/// A member of the chat by their @username (any case), with their standing.
pub async fn find_by_username(
    tx: &mut Tx,
    chat: ChatId,
    username: &str,
) -> StoreResult<Option<Known>> {
    let row: Option<KnownRow> = tx
        .fetch_optional(
            "SELECT user_id, display_name, username, is_bot, joined_at, left_at FROM members
             WHERE chat_id = $1 AND LOWER(username) = LOWER($2) LIMIT 1",
            args![chat, username],
        )
        .await?;
    Ok(row.map(known))
}

/// A member of the chat by id, if the bot has seen them.
pub async fn find_by_id(tx: &mut Tx, chat: ChatId, user: i64) -> StoreResult<Option<Known>> {
    let row: Option<KnownRow> = tx
        .fetch_optional(
            "SELECT user_id, display_name, username, is_bot, joined_at, left_at FROM members
             WHERE chat_id = $1 AND user_id = $2",
            args![chat, user],
        )
        .await?;
    Ok(row.map(known))
}
