//! Telegram updates → platform-neutral events. The only place teloxide's types meet the core's.

use teloxide::types::{
    CallbackQuery, Chat as TgChat, ChatMemberUpdated, MediaKind, Message as TgMessage,
    MessageEntity, MessageEntityKind, MessageKind, MessageOrigin, Update, UpdateKind,
    User as TgUser,
};

use crate::core::event::{Chat, ChatKind, Event, EventKind, Media, Message, Origin, User};

const TELEGRAM_SERVICE_ACCOUNT: u64 = 777_000;

/// The event an update stands for, or `None` for updates no feature uses (channel posts,
/// inline queries, service messages such as a new chat photo…) and for joins, which
/// `to_events` handles.
fn to_event(update: &Update) -> Option<Event> {
    match &update.kind {
        UpdateKind::Message(message) => from_message(message, false),
        UpdateKind::EditedMessage(message) => from_message(message, true),
        UpdateKind::CallbackQuery(query) => from_callback(query),
        UpdateKind::ChatMember(change) => from_member_change(change),
        UpdateKind::MyChatMember(change) => from_own_change(change),
        _ => None,
    }
}

fn from_message(message: &TgMessage, edited: bool) -> Option<Event> {
    let chat = chat(&message.chat)?;
    // teloxide files the migration notices under ordinary messages.
    if let Some(to) = message.migrate_to_chat_id() {
        return Some(Event {
            chat,
            at: message.date,
            kind: EventKind::ChatMigrated { to: to.0 },
        });
    }
    if message.chat_migration().is_some() {
        // The supergroup's side of the same move: nothing more to do.
        return None;
    }
    let kind = match &message.kind {
        MessageKind::Common(common) => {
            let from = message.from.as_ref()?;
            let text = message
                .text()
                .or(message.caption())
                .unwrap_or_default()
                .to_owned();
            let entities = message
                .entities()
                .or(message.caption_entities())
                .unwrap_or_default();
            let entities = entities_in(&text, entities);
            let links = entities
                .iter()
                .filter_map(|(kind, text)| match kind {
                    MessageEntityKind::Url => Some((*text).to_owned()),
                    MessageEntityKind::TextLink { url } => Some(url.to_string()),
                    _ => None,
                })
                .collect();
            let mentions = entities
                .iter()
                .filter(|(kind, _)| matches!(kind, MessageEntityKind::Mention))
                .map(|(_, text)| (*text).to_owned())
                .collect();
            // An anonymous admin writes as the group itself.
            let anonymous_admin = message
                .sender_chat
                .as_ref()
                .is_some_and(|sender| sender.id == message.chat.id);
            // In a forum topic Telegram presents every message as a reply to the topic's first
            // message; only a reply to anything else is a reply the member made.
            let thread = message
                .thread_id
                .filter(|_| message.is_topic_message)
                .map(|id| i64::from(id.0.0));
            let replied = message
                .reply_to_message()
                .filter(|reply| Some(i64::from(reply.id.0)) != thread);
            // Telegram's service account 777000 brings a linked channel's posts into the group.
            let sent_as_channel = (message.sender_chat.is_some() && !anonymous_admin)
                || common.is_automatic_forward
                || from.id.0 == TELEGRAM_SERVICE_ACCOUNT;
            EventKind::Message(Message {
                id: i64::from(message.id.0),
                from: user(from),
                text,
                edited,
                reply_to: replied.map(|reply| i64::from(reply.id.0)),
                thread,
                // A post written as a chat (a channel, an anonymous admin) has no member behind
                // it: Telegram fills `from` with a placeholder account.
                reply_to_author: replied
                    .filter(|reply| reply.sender_chat.is_none())
                    .and_then(|reply| reply.from.as_ref())
                    .map(user),
                reply_to_text: replied.and_then(|reply| reply.text()).map(str::to_owned),
                anonymous_admin,
                sent_as_channel,
                links,
                mentions,
                media: media_of(&common.media_kind),
                album: message.media_group_id().map(|id| id.0.clone()),
                forwarded_from: common.forward_origin.as_ref().map(|origin| match origin {
                    MessageOrigin::User { .. } | MessageOrigin::HiddenUser { .. } => Origin::Person,
                    MessageOrigin::Chat { .. } => Origin::Group,
                    MessageOrigin::Channel { .. } => Origin::Channel,
                }),
            })
        }
        // One join message can name several members: `to_events` makes an event for each.
        MessageKind::NewChatMembers(_) => return None,
        MessageKind::LeftChatMember(left) => EventKind::MemberLeft {
            member: user(&left.left_chat_member),
            removed_by: message
                .from
                .as_ref()
                .filter(|from| from.id != left.left_chat_member.id)
                .map(user),
            message: Some(i64::from(message.id.0)),
        },
        _ => return None,
    };
    // An edit happens when it is made, not when the message was first sent.
    let at = match (&kind, message.edit_date()) {
        (EventKind::Message(said), Some(edited_at)) if said.edited => *edited_at,
        _ => message.date,
    };
    Some(Event { chat, at, kind })
}

/// Each entity of `text` with the text it covers. Telegram counts offsets in UTF-16 units;
/// an entity that does not fit the text (past its end, or cutting a character in two) is left
/// out rather than trusted: teloxide's own `parse_entities` panics on one, and a message anyone
/// can send must not stop the bot. The rest of the message is read as usual.
fn entities_in<'t, 'e>(
    text: &'t str,
    entities: &'e [MessageEntity],
) -> Vec<(&'e MessageEntityKind, &'t str)> {
    // Byte index of each UTF-16 position that starts a character, and of the end.
    let mut boundaries: Vec<(usize, usize)> = Vec::with_capacity(text.len() + 1);
    let mut units = 0;
    for (byte, character) in text.char_indices() {
        boundaries.push((units, byte));
        units += character.len_utf16();
    }
    boundaries.push((units, text.len()));
    let byte_at = |unit: usize| {
        boundaries
            .binary_search_by_key(&unit, |(units, _)| *units)
            .ok()
            .map(|index| boundaries[index].1)
    };
    entities
        .iter()
        .filter_map(|entity| {
            let start = byte_at(entity.offset)?;
            let end = byte_at(entity.offset.checked_add(entity.length)?)?;
            Some((&entity.kind, text.get(start..end)?))
        })
        .collect()
}

/// The events an update stands for: none, one, or, for a join message naming several members,
/// one per member.
pub fn to_events(update: &Update) -> Vec<Event> {
    if let UpdateKind::Message(message) = &update.kind
        && let MessageKind::NewChatMembers(joined) = &message.kind
        && let Some(chat) = chat(&message.chat)
    {
        return joined
            .new_chat_members
            .iter()
            .map(|member| Event {
                chat: chat.clone(),
                at: message.date,
                kind: EventKind::MemberJoined {
                    member: user(member),
                    added_by: message
                        .from
                        .as_ref()
                        .filter(|from| from.id != member.id)
                        .map(user),
                    message: Some(i64::from(message.id.0)),
                    // The service message does not say; the `chat_member` update does.
                    restricted: false,
                },
            })
            .collect();
    }
    to_event(update).into_iter().collect()
}

fn from_callback(query: &CallbackQuery) -> Option<Event> {
    let message = query.message.as_ref()?;
    Some(Event {
        chat: chat(message.chat())?,
        // Telegram gives no time for a button press; it is handled as it arrives.
        at: chrono::Utc::now(),
        kind: EventKind::ButtonPressed {
            from: user(&query.from),
            callback_id: query.id.0.clone(),
            message_id: Some(i64::from(message.id().0)),
            data: query.data.clone().unwrap_or_default(),
        },
    })
}

/// Joins and leaves as `chat_member` reports them (large groups may send these instead of join
/// messages; the engine drops the twin when both arrive), and promotions and demotions, after
/// which the engine asks for the administrator list afresh.
fn from_member_change(change: &ChatMemberUpdated) -> Option<Event> {
    let (old, new) = (&change.old_chat_member, &change.new_chat_member);
    let member = user(&new.user);
    let by = (change.from.id != new.user.id).then(|| user(&change.from));
    let kind = match (old.is_present(), new.is_present()) {
        (false, true) => EventKind::MemberJoined {
            member,
            added_by: by,
            message: None,
            restricted: cannot_write(new),
        },
        (true, false) => EventKind::MemberLeft {
            member,
            removed_by: by,
            message: None,
        },
        _ if old.is_privileged() != new.is_privileged() || old.is_owner() != new.is_owner() => {
            EventKind::MemberUpdated { member }
        }
        (true, true) if cannot_write(old) && !cannot_write(new) => {
            EventKind::RestrictionLifted { member, by }
        }
        _ => return None,
    };
    Some(Event {
        chat: chat(&change.chat)?,
        at: change.date,
        kind,
    })
}

/// Restricted so that they cannot send messages.
fn cannot_write(member: &teloxide::types::ChatMember) -> bool {
    match &member.kind {
        teloxide::types::ChatMemberKind::Restricted(restricted) => !restricted.can_send_messages,
        _ => false,
    }
}

/// The bot's own standing changed (made an admin, given or denied a right): what it may do in
/// the group is no longer what the cached administrator list says.
fn from_own_change(change: &ChatMemberUpdated) -> Option<Event> {
    if !change.new_chat_member.is_present() {
        return None;
    }
    Some(Event {
        chat: chat(&change.chat)?,
        at: change.date,
        kind: EventKind::MemberUpdated {
            member: user(&change.new_chat_member.user),
        },
    })
}

fn chat(chat: &TgChat) -> Option<Chat> {
    let kind = if chat.is_private() {
        ChatKind::Private
    } else if chat.is_supergroup() {
        ChatKind::Supergroup
    } else if chat.is_group() {
        ChatKind::Group
    } else {
        // Channels are not served.
        return None;
    };
    Some(Chat {
        id: chat.id.0,
        kind,
        title: chat.title().map(str::to_owned),
    })
}

fn user(user: &TgUser) -> User {
    User {
        // Telegram ids fit in 52 bits.
        id: user.id.0 as i64,
        name: user.full_name(),
        username: user.username.clone(),
        is_bot: user.is_bot,
        language: user.language_code.clone(),
    }
}

/// The media kinds filters tell apart; plain text is none.
fn media_of(kind: &MediaKind) -> Option<Media> {
    Some(match kind {
        MediaKind::Text(_) | MediaKind::Migration(_) => return None,
        MediaKind::Photo(_) => Media::Photo,
        MediaKind::Video(_) => Media::Video,
        MediaKind::Animation(_) => Media::Animation,
        MediaKind::Sticker(_) => Media::Sticker,
        MediaKind::Voice(_) => Media::Voice,
        MediaKind::VideoNote(_) => Media::VideoNote,
        MediaKind::Audio(_) => Media::Audio,
        MediaKind::Document(_) => Media::Document,
        _ => Media::Other,
    })
}
