//! Platform-neutral events: what happened in a chat, in words every feature understands.
//! The Telegram adapter and the simulator both produce these; no feature sees a teloxide type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type ChatId = i64;
pub type UserId = i64;
pub type MessageId = i64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// First and last name as the member set them (may hold emoji, RTL or zero-width marks).
    pub name: String,
    pub username: Option<String>,
    #[serde(default)]
    pub is_bot: bool,
    /// The member's client language (IETF tag), when the platform tells it.
    #[serde(default)]
    pub language: Option<String>,
}

impl User {
    /// A member known only by id and name (the simulator's members, tests).
    pub fn named(id: UserId, name: impl Into<String>) -> User {
        User {
            id,
            name: name.into(),
            username: None,
            is_bot: false,
            language: None,
        }
    }

    /// The name as the bot writes it in a message: without the invisible and direction-changing
    /// characters that could make a name hide itself or reverse the text after it, and not
    /// longer than a name should be.
    pub fn display_name(&self) -> String {
        let cleaned: String = self
            .name
            .chars()
            .filter(|c| !is_invisible_or_bidi_control(*c))
            .take(64)
            .collect();
        let cleaned = cleaned.trim();
        if cleaned.is_empty() {
            match &self.username {
                Some(username) => format!("@{username}"),
                None => format!("user {}", self.id),
            }
        } else {
            cleaned.to_owned()
        }
    }
}

fn is_invisible_or_bidi_control(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // embeddings and overrides
        | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, isolates
        | '\u{3164}' | '\u{115F}' | '\u{1160}' | '\u{FFA0}' // Hangul fillers used as blank names
        | '\u{FEFF}')
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Private,
    Group,
    Supergroup,
    Channel,
}

impl ChatKind {
    pub fn is_group(self) -> bool {
        matches!(self, ChatKind::Group | ChatKind::Supergroup)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Private => "private",
            ChatKind::Group => "group",
            ChatKind::Supergroup => "supergroup",
            ChatKind::Channel => "channel",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    pub id: ChatId,
    pub kind: ChatKind,
    pub title: Option<String>,
}

/// One thing that happened, with the time the platform says it happened (not when we got to it:
/// a 签到 sent at 23:59:58 counts for that day even if it is handled after midnight).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub chat: Chat,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A message, new or edited (an edit can turn a clean message into spam).
    Message(Message),
    MemberJoined {
        member: User,
        /// Who added them, when it was not a join by link.
        added_by: Option<User>,
        /// Telegram's "X joined" service message, when the join came as one (for deleting it).
        #[serde(default)]
        message: Option<MessageId>,
        /// They come back still restricted (a mute outlives leaving): nothing may lift it for
        /// them by accident.
        #[serde(default)]
        restricted: bool,
    },
    MemberLeft {
        member: User,
        /// Who removed them, when they did not leave by themselves.
        removed_by: Option<User>,
        /// Telegram's "X left" service message, when the leave came as one.
        #[serde(default)]
        message: Option<MessageId>,
    },
    ButtonPressed {
        from: User,
        callback_id: String,
        message_id: Option<MessageId>,
        data: String,
    },
    /// A member's standing changed (promoted, demoted): cached admin lists are out of date.
    MemberUpdated { member: User },
    /// An admin let a restricted member write again.
    RestrictionLifted { member: User, by: Option<User> },
    /// The group became a supergroup with a new id; everything kept for it moves along.
    ChatMigrated { to: ChatId },
    /// A scheduled job came due.
    Tick { job: String },
    /// A timer a feature set for itself came due (see `store::timers`). Only that feature sees it.
    Timer {
        feature: String,
        key: String,
        payload: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub from: User,
    pub text: String,
    #[serde(default)]
    pub edited: bool,
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    /// The forum topic the message is in, if the group has topics; replies go there too.
    #[serde(default)]
    pub thread: Option<MessageId>,
    /// Who wrote the message this one replies to (for commands aimed at a member by replying).
    #[serde(default)]
    pub reply_to_author: Option<User>,
    /// The text of the message this one replies to, if it had any (`/setrules` replying to a
    /// draft takes it).
    #[serde(default)]
    pub reply_to_text: Option<String>,
    /// Sent by an anonymous group admin (on Telegram: as the group itself).
    #[serde(default)]
    pub anonymous_admin: bool,
    /// Posted as a channel (a member writing as their channel, or a linked channel's post
    /// forwarded into its discussion group): no person's activity.
    #[serde(default)]
    pub sent_as_channel: bool,
    /// Web addresses the platform marked in the text or caption, including the hidden targets
    /// of text links (filters also scan the text itself).
    #[serde(default)]
    pub links: Vec<String>,
    /// @usernames the platform marked in the text or caption.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// What the message carries besides text (a photo, a sticker, a voice note…).
    #[serde(default)]
    pub media: Option<Media>,
    /// Photos sent together as an album share this id (flood control counts an album once).
    #[serde(default)]
    pub album: Option<String>,
    /// Where a forwarded message came from.
    #[serde(default)]
    pub forwarded_from: Option<Origin>,
}

/// The kinds of media a group may lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Photo,
    Video,
    /// A GIF, as Telegram calls it.
    Animation,
    Sticker,
    Voice,
    VideoNote,
    Audio,
    Document,
    Other,
}

/// Who first wrote a forwarded message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Person,
    Group,
    Channel,
}

impl Message {
    /// A new plain-text message, with nothing else about it.
    pub fn text(id: MessageId, from: User, text: impl Into<String>) -> Message {
        Message {
            id,
            from,
            text: text.into(),
            edited: false,
            reply_to: None,
            thread: None,
            reply_to_author: None,
            reply_to_text: None,
            anonymous_admin: false,
            sent_as_channel: false,
            links: Vec::new(),
            mentions: Vec::new(),
            media: None,
            album: None,
            forwarded_from: None,
        }
    }
}

impl Message {
    /// Written by a member in their own name, which is what sign-in, XP and activity count.
    pub fn by_a_person(&self) -> bool {
        !self.anonymous_admin && !self.sent_as_channel && !self.from.is_bot
    }
}

impl Event {
    /// The event's kind in a word, for metrics and logs.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            EventKind::Message(message) if message.edited => "edit",
            EventKind::Message(_) => "message",
            EventKind::MemberJoined { .. } => "join",
            EventKind::MemberLeft { .. } => "leave",
            EventKind::ButtonPressed { .. } => "button",
            EventKind::MemberUpdated { .. } => "member_updated",
            EventKind::RestrictionLifted { .. } => "restriction_lifted",
            EventKind::ChatMigrated { .. } => "migrated",
            EventKind::Tick { .. } => "scheduled_post",
            EventKind::Timer { .. } => "timer",
        }
    }

    /// The member who caused the event, if a member did.
    pub fn actor(&self) -> Option<&User> {
        match &self.kind {
            EventKind::Message(message) => Some(&message.from),
            EventKind::MemberJoined {
                member, added_by, ..
            } => added_by.as_ref().or(Some(member)),
            EventKind::MemberLeft {
                member, removed_by, ..
            } => removed_by.as_ref().or(Some(member)),
            EventKind::ButtonPressed { from, .. } => Some(from),
            EventKind::MemberUpdated { member } => Some(member),
            EventKind::RestrictionLifted { member, by } => by.as_ref().or(Some(member)),
            EventKind::ChatMigrated { .. } | EventKind::Tick { .. } | EventKind::Timer { .. } => {
                None
            }
        }
    }

    /// The member who caused the event, when a person did it in their own name (not an
    /// anonymous admin or a channel, which have no points, streaks or moves of their own).
    pub fn person(&self) -> Option<&User> {
        match self.message() {
            Some(message) if !message.by_a_person() => None,
            _ => self.actor(),
        }
    }

    pub fn message(&self) -> Option<&Message> {
        match &self.kind {
            EventKind::Message(message) => Some(message),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> User {
        User {
            id: 7,
            name: name.into(),
            username: None,
            is_bot: false,
            language: None,
        }
    }

    #[test]
    fn display_names_lose_invisible_and_bidi_tricks() {
        assert_eq!(user("小\u{200B}王\u{202E}").display_name(), "小王");
        assert_eq!(user("\u{3164}").display_name(), "user 7");
        assert_eq!(user("🙂 Ana").display_name(), "🙂 Ana");
        assert_eq!(user(&"长".repeat(100)).display_name().chars().count(), 64);
    }
}
