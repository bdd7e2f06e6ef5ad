//! What features ask the chat platform to do, and the small port that does it.
//!
//! Features do not call the platform while they handle an event: they queue `Action`s, which
//! are stored in the outbox in the same transaction as the event's other effects and delivered
//! after it commits. A crash can therefore repeat a delivery but never lose one, and never
//! leaves state that says "replied" when nobody was told.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::{ChatId, MessageId, UserId};
use super::reactions::AllowedReactions;

/// Telegram's limit on a message's text, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4096;
/// Telegram's limit on a button's callback data, in bytes.
pub const MAX_CALLBACK_BYTES: usize = 64;

/// A message the bot sent, named by the id the platform gave it or by a key a feature chose
/// when it sent it ("relay:42"), so it can be edited later without knowing the id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageRef {
    Id(MessageId),
    Key(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub text: String,
    /// At most 64 bytes (checked when the button is made).
    pub data: String,
}

impl Button {
    /// A button, or `None` when its data would not fit Telegram's 64 bytes.
    pub fn new(text: impl Into<String>, data: impl Into<String>) -> Option<Button> {
        let data = data.into();
        (!data.is_empty() && data.len() <= MAX_CALLBACK_BYTES).then(|| Button {
            text: text.into(),
            data,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    Send {
        chat: ChatId,
        text: String,
        #[serde(default)]
        reply_to: Option<MessageId>,
        /// The forum topic to post in (None: the group's main thread).
        #[serde(default)]
        thread: Option<MessageId>,
        /// Remember the sent message under this key for later edits.
        #[serde(default)]
        key: Option<String>,
        #[serde(default)]
        buttons: Vec<Vec<Button>>,
    },
    /// Sends a file made of text (an export), with an optional caption.
    SendDocument {
        chat: ChatId,
        file_name: String,
        content: String,
        #[serde(default)]
        caption: Option<String>,
        #[serde(default)]
        thread: Option<MessageId>,
    },
    /// Sends a picture (a chart) with an optional caption. The PNG travels through the outbox
    /// as base64 so the stored action stays plain JSON.
    SendPhoto {
        chat: ChatId,
        /// A name for logs and the simulator ("stats-7d.png").
        file_name: String,
        #[serde(with = "base64_bytes")]
        png: Vec<u8>,
        #[serde(default)]
        caption: Option<String>,
        #[serde(default)]
        thread: Option<MessageId>,
    },
    /// Edits a message the bot sent. If a keyed message is not known (never sent, or its send
    /// was dropped as stale), it is sent instead and remembered under the key.
    Edit {
        chat: ChatId,
        target: MessageRef,
        text: String,
        #[serde(default)]
        buttons: Vec<Vec<Button>>,
        /// Where the message goes if it has to be sent anew.
        #[serde(default)]
        thread: Option<MessageId>,
    },
    Delete {
        chat: ChatId,
        message: MessageRef,
    },
    /// Reacts to a message with `emoji` (one from `core::reactions::REACTION_EMOJI`), or with
    /// another of the same meaning where the chat does not allow it (`core::delivery`).
    React {
        chat: ChatId,
        message: MessageId,
        emoji: String,
        /// What the reaction tells the member, said in reply instead where the chat allows no
        /// reaction of the same meaning. Set when the reaction is the member's only answer (a
        /// refusal: the list is full, a wrong answer); an acknowledgement of what a board or
        /// list shows anyway has none, and is then not made.
        #[serde(default)]
        fallback_text: Option<String>,
        /// The forum topic of the message, where that reply goes.
        #[serde(default)]
        thread: Option<MessageId>,
    },
    /// Mutes a member until the given time (forever when `None`).
    Mute {
        chat: ChatId,
        user: UserId,
        until: Option<DateTime<Utc>>,
    },
    Unmute {
        chat: ChatId,
        user: UserId,
    },
    Ban {
        chat: ChatId,
        user: UserId,
        until: Option<DateTime<Utc>>,
    },
    /// Lifts a ban so the member can come back; never removes a present member.
    Unban {
        chat: ChatId,
        user: UserId,
    },
    Pin {
        chat: ChatId,
        message: MessageRef,
    },
    /// Answers a button press with a toast (Telegram does not rate-limit these).
    AnswerButton {
        chat: ChatId,
        callback_id: String,
        text: Option<String>,
        alert: bool,
    },
    /// The bot leaves the group (`unknown_groups = "leave"`), after everything queued before
    /// it for the chat has gone.
    Leave {
        chat: ChatId,
    },
}

impl Action {
    pub fn chat(&self) -> ChatId {
        match self {
            Action::Send { chat, .. }
            | Action::SendDocument { chat, .. }
            | Action::SendPhoto { chat, .. }
            | Action::Edit { chat, .. }
            | Action::Delete { chat, .. }
            | Action::React { chat, .. }
            | Action::Mute { chat, .. }
            | Action::Unmute { chat, .. }
            | Action::Ban { chat, .. }
            | Action::Unban { chat, .. }
            | Action::Pin { chat, .. }
            | Action::AnswerButton { chat, .. }
            | Action::Leave { chat } => *chat,
        }
    }

    /// The same action aimed at another chat (a group's new id after it became a supergroup).
    pub fn in_chat(&self, to: ChatId) -> Action {
        let mut moved = self.clone();
        match &mut moved {
            Action::Send { chat, .. }
            | Action::SendDocument { chat, .. }
            | Action::SendPhoto { chat, .. }
            | Action::Edit { chat, .. }
            | Action::Delete { chat, .. }
            | Action::React { chat, .. }
            | Action::Mute { chat, .. }
            | Action::Unmute { chat, .. }
            | Action::Ban { chat, .. }
            | Action::Unban { chat, .. }
            | Action::Pin { chat, .. }
            | Action::AnswerButton { chat, .. }
            | Action::Leave { chat } => *chat = to,
        }
        moved
    }

    /// A new message in the chat (text, file or photo): what Telegram counts against a chat's
    /// messages a minute.
    pub fn is_post(&self) -> bool {
        matches!(
            self,
            Action::Send { .. } | Action::SendDocument { .. } | Action::SendPhoto { .. }
        )
    }

    /// Replies, edits, reactions and toasts only make sense soon after the event; after an
    /// outage they are dropped. Moderation (delete, mute, ban) still applies however late.
    pub fn is_conversational(&self) -> bool {
        matches!(
            self,
            Action::Send { .. }
                | Action::SendDocument { .. }
                | Action::SendPhoto { .. }
                | Action::Edit { .. }
                | Action::React { .. }
                | Action::AnswerButton { .. }
        )
    }
}

/// Which part of a busy group's message budget a message waits for. A group at Telegram's
/// ~20 messages a minute still answers its admins and its rules at once: member replies may
/// use only part of the budget, and the rest goes first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// Moderation notices and replies to admins.
    Urgent = 0,
    /// Scheduled posts.
    Scheduled = 1,
    /// Replies to members.
    #[default]
    Member = 2,
}

impl Lane {
    pub const ALL: [Lane; 3] = [Lane::Urgent, Lane::Scheduled, Lane::Member];

    /// As stored in the outbox's `lane` column.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// A stored code; an unknown one is a member reply.
    pub fn from_code(code: i64) -> Lane {
        Lane::ALL
            .into_iter()
            .find(|lane| lane.code() == code)
            .unwrap_or_default()
    }
}

/// Bytes as a base64 string in the outbox's JSON.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// An administrator of a chat, as the platform reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admin {
    pub user: UserId,
    pub owner: bool,
    pub can_delete_messages: bool,
    pub can_restrict_members: bool,
}

/// What the bot itself may do in a group, read off the administrator list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BotRights {
    /// The bot is an administrator at all.
    pub admin: bool,
    pub can_delete_messages: bool,
    pub can_restrict_members: bool,
}

impl BotRights {
    /// The bot's rights in a chat with these administrators.
    pub fn among(admins: &[Admin], bot: UserId) -> BotRights {
        admins
            .iter()
            .find(|admin| admin.user == bot)
            .map_or(BotRights::default(), |admin| BotRights {
                admin: true,
                can_delete_messages: admin.can_delete_messages,
                can_restrict_members: admin.can_restrict_members,
            })
    }
}

/// What executing an action produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// A message was sent (or a keyed edit fell back to sending); this is its id.
    Message(MessageId),
    Done,
}

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The platform refused for good: the bot was removed, lacks a right, the message is gone.
    /// Retrying would not help; the detail goes to the log.
    #[error("refused by the chat platform: {0}")]
    Refused(String),
    /// The bot may no longer write to this chat at all (kicked, blocked).
    #[error("the bot can no longer reach this chat: {0}")]
    ChatGone(String),
    /// The group became a supergroup with this id; the action should go there.
    #[error("the group moved to chat {0}")]
    ChatMoved(ChatId),
    /// The chat does not take this reaction (Telegram's `REACTION_INVALID`): its admins
    /// changed the reactions they allow since the bot last looked.
    #[error("the chat does not allow this reaction: {0}")]
    ReactionInvalid(String),
    /// Network trouble or a server error that outlasted the retries.
    #[error("chat platform unavailable: {0}")]
    Unavailable(String),
}

/// The small surface every platform implements: the Telegram adapter and the simulator.
#[async_trait]
pub trait ChatPort: Send + Sync {
    /// Carries out one action. `resolve` has already turned keyed references into ids where
    /// the message is known.
    async fn execute(&self, action: &Action) -> Result<Delivered, PortError>;

    /// The administrators (owner included) of a group chat.
    async fn administrators(&self, chat: ChatId) -> Result<Vec<Admin>, PortError>;

    /// The reactions the chat allows. A platform that does not say allows them all.
    async fn allowed_reactions(&self, _chat: ChatId) -> Result<AllowedReactions, PortError> {
        Ok(AllowedReactions::All)
    }
}

/// Cuts text to what one message can carry, marking the cut.
pub fn fit_message(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(MAX_MESSAGE_CHARS - 1).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_clipped_to_the_platform_limit() {
        let text = "签".repeat(5000);
        let fitted = fit_message(&text);
        assert_eq!(fitted.chars().count(), MAX_MESSAGE_CHARS);
        assert!(fitted.ends_with('…'));
        assert_eq!(fit_message("short"), "short");
    }

    #[test]
    fn button_data_over_64_bytes_is_refused() {
        assert!(Button::new("ok", "x".repeat(64)).is_some());
        assert!(Button::new("too long", "x".repeat(65)).is_none());
        // 22 three-byte characters = 66 bytes, although only 22 characters
        assert!(Button::new("cjk", "签".repeat(22)).is_none());
    }
}
