//! Events as the platform would hand them to the engine.

use chrono::{DateTime, Utc};
use qunbot::core::event::{Chat, ChatKind, Event, EventKind, Message, User};

/// `from` says `text` (message `id`) in supergroup `chat` at `at`.
pub fn said(chat: i64, from: User, id: i64, text: &str, at: DateTime<Utc>) -> Event {
    Event {
        chat: Chat {
            id: chat,
            kind: ChatKind::Supergroup,
            title: Some("g".into()),
        },
        at,
        kind: EventKind::Message(Message::text(id, from, text)),
    }
}

/// Member `user` (named m<user>) says `text` in supergroup `chat`.
pub fn member_said(chat: i64, user: i64, id: i64, text: &str, at: DateTime<Utc>) -> Event {
    said(chat, User::named(user, format!("m{user}")), id, text, at)
}
