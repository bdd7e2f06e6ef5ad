//! The simulator's platform: it carries out actions by describing them as readable lines.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono_tz::Tz;

use crate::core::action::{Action, Admin, Button, ChatPort, Delivered, MessageRef, PortError};
use crate::core::event::{ChatId, MessageId, UserId};
use crate::core::reactions::AllowedReactions;

/// Who wrote a message (`None` = the bot), its text and its buttons.
type SimMessage = (Option<UserId>, String, Vec<Vec<Button>>);

#[derive(Default)]
struct World {
    names: HashMap<UserId, String>,
    admins: BTreeMap<UserId, bool>,
    /// The bot's own standing: an administrator with every right, unless a script says not.
    bot_is_member: bool,
    messages: HashMap<(ChatId, MessageId), SimMessage>,
    deleted: HashSet<(ChatId, MessageId)>,
    /// Service messages ("X joined the group") among `messages`.
    service: HashSet<(ChatId, MessageId)>,
    /// Members the bot banned since the last look: Telegram reports each as a leave.
    banned: Vec<(ChatId, UserId)>,
    callbacks: HashMap<String, UserId>,
    /// The reactions each group allows, where a script narrowed them (all, elsewhere).
    allowed_reactions: HashMap<ChatId, AllowedReactions>,
    next_message_id: MessageId,
    lines: Vec<String>,
    /// Groups the bot left: Telegram refuses it everything there.
    left: HashSet<ChatId>,
}

pub struct SimPort {
    world: Mutex<World>,
    /// The group the script is in; sends elsewhere (a log chat) name their chat.
    group: Mutex<ChatId>,
    timezone: Tz,
}

impl SimPort {
    pub fn new(timezone: Tz) -> SimPort {
        SimPort {
            world: Mutex::new(World::default()),
            group: Mutex::new(0),
            timezone,
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set_group(&self, chat: ChatId) {
        *self.group.lock().unwrap_or_else(|p| p.into_inner()) = chat;
    }

    pub fn name_user(&self, user: UserId, name: &str) {
        self.world().names.insert(user, name.to_owned());
    }

    pub fn set_admin(&self, user: UserId, owner: bool) {
        self.world().admins.insert(user, owner);
    }

    /// Makes the bot an administrator with every right (`true`, the default) or a plain member.
    pub fn set_bot_admin(&self, admin: bool) {
        self.world().bot_is_member = !admin;
    }

    /// The reactions `chat`'s admins allow from now on.
    pub fn set_allowed_reactions(&self, chat: ChatId, allowed: AllowedReactions) {
        self.world().allowed_reactions.insert(chat, allowed);
    }

    /// Gives a member's message its id, as the platform would.
    pub fn member_message(&self, chat: ChatId, author: UserId, text: &str) -> MessageId {
        self.world()
            .add_message(chat, Some(author), text.to_owned(), Vec::new())
    }

    /// The "X joined / left the group" line Telegram shows; `what` is "joined" or "left".
    /// The text of a message in the simulated world, if it is there.
    pub fn text_of(&self, chat: ChatId, id: MessageId) -> Option<String> {
        self.world()
            .messages
            .get(&(chat, id))
            .map(|(_, text, _)| text.clone())
    }

    pub fn service_message(&self, chat: ChatId, member: UserId, what: &str) -> MessageId {
        let id = self.member_message(chat, member, what);
        self.world().service.insert((chat, id));
        id
    }

    pub fn register_callback(&self, id: &str, user: UserId) {
        self.world().callbacks.insert(id.to_owned(), user);
    }

    /// The newest message of the bot in `chat` with a button labelled `label`: (message, data).
    pub fn find_button(&self, chat: ChatId, label: &str) -> Option<(MessageId, String)> {
        let world = self.world();
        world
            .messages
            .iter()
            .filter(|((c, id), (author, _, _))| {
                *c == chat && author.is_none() && !world.deleted.contains(&(*c, *id))
            })
            .filter_map(|((_, id), (_, _, buttons))| {
                buttons
                    .iter()
                    .flatten()
                    .find(|b| b.text == label)
                    .map(|b| (*id, b.data.clone()))
            })
            .max_by_key(|(id, _)| *id)
    }

    /// The members the bot banned since the last call, for the leave Telegram would report.
    pub fn take_banned(&self) -> Vec<(ChatId, UserId)> {
        std::mem::take(&mut self.world().banned)
    }

    /// The lines describing what happened since the last call.
    pub fn take_lines(&self) -> Vec<String> {
        std::mem::take(&mut self.world().lines)
    }

    pub fn say(&self, line: String) {
        self.world().lines.push(line);
    }
}

fn buttons_line(buttons: &[Vec<Button>]) -> String {
    buttons
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| format!("[{}]", b.text))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl World {
    /// A new message in `chat` (by `author`, or the bot when `None`), with the next id, as the
    /// platform numbers them.
    fn add_message(
        &mut self,
        chat: ChatId,
        author: Option<UserId>,
        text: String,
        buttons: Vec<Vec<Button>>,
    ) -> MessageId {
        self.next_message_id += 1;
        let id = self.next_message_id;
        self.messages.insert((chat, id), (author, text, buttons));
        id
    }

    fn allowed_reactions(&self, chat: ChatId) -> AllowedReactions {
        self.allowed_reactions
            .get(&chat)
            .cloned()
            .unwrap_or_default()
    }

    fn name(&self, user: UserId) -> String {
        self.names
            .get(&user)
            .cloned()
            .unwrap_or_else(|| format!("user {user}"))
    }

    fn author_of(&self, chat: ChatId, message: MessageId) -> String {
        match self.messages.get(&(chat, message)) {
            // Telegram's "X joined / left the group" line.
            Some((Some(author), text, _)) if self.service.contains(&(chat, message)) => {
                format!("the notice that {} {text}", self.name(*author))
            }
            Some((Some(author), _, _)) => format!("{}'s message", self.name(*author)),
            Some((None, _, _)) => format!("its message #{message}"),
            None => format!("message #{message}"),
        }
    }
}

/// Restricting, banning, pinning and deleting others' messages take administrator rights.
fn needs_admin_rights(world: &World, action: &Action) -> bool {
    match action {
        Action::Mute { .. }
        | Action::Unmute { .. }
        | Action::Ban { .. }
        | Action::Unban { .. }
        | Action::Pin { .. } => true,
        Action::Delete {
            chat,
            message: MessageRef::Id(id),
        } => !matches!(world.messages.get(&(*chat, *id)), Some((None, _, _))),
        _ => false,
    }
}

fn id_of(message: &MessageRef) -> Result<MessageId, PortError> {
    match message {
        MessageRef::Id(id) => Ok(*id),
        MessageRef::Key(key) => Err(PortError::Refused(format!("unresolved message key {key}"))),
    }
}

#[async_trait]
impl ChatPort for SimPort {
    async fn execute(&self, action: &Action) -> Result<Delivered, PortError> {
        let mut world = self.world();
        if world.left.contains(&action.chat()) {
            return Err(PortError::ChatGone(
                "Forbidden: bot is not a member of the group chat".into(),
            ));
        }
        if world.bot_is_member && needs_admin_rights(&world, action) {
            // What Telegram answers a bot that is not an administrator.
            return Err(PortError::Refused(
                "Bad Request: not enough rights to restrict/unrestrict chat member".into(),
            ));
        }
        let until = |until: &Option<chrono::DateTime<chrono::Utc>>| match until {
            Some(until) => format!(
                " until {}",
                until.with_timezone(&self.timezone).format("%Y-%m-%d %H:%M")
            ),
            None => String::new(),
        };
        let (line, delivered) = match action {
            Action::Send {
                chat,
                text,
                reply_to,
                key,
                buttons,
                ..
            } => {
                let id = world.add_message(*chat, None, text.clone(), buttons.clone());
                let to = reply_to
                    .and_then(|r| world.messages.get(&(*chat, r)).and_then(|m| m.0))
                    .map(|author| format!(" → {}", world.name(author)))
                    .unwrap_or_default();
                let mut tag = key
                    .as_ref()
                    .map(|_| format!(" [#{id}]"))
                    .unwrap_or_default();
                let group = *self.group.lock().unwrap_or_else(|p| p.into_inner());
                if *chat < 0 && *chat != group {
                    tag.push_str(&format!(" (in {chat})"));
                }
                let mut line = format!("bot{tag}{to}: {text}");
                if !buttons.is_empty() {
                    line = format!("{line}\n{}", buttons_line(buttons));
                }
                (line, Delivered::Message(id))
            }
            Action::SendDocument {
                chat,
                file_name,
                content,
                caption,
                ..
            } => {
                let caption = caption.clone().unwrap_or_default();
                let id = world.add_message(*chat, None, caption.clone(), Vec::new());
                let caption = if caption.is_empty() {
                    String::new()
                } else {
                    format!(" ({caption})")
                };
                (
                    format!("bot sends file {file_name}{caption}:\n{content}"),
                    Delivered::Message(id),
                )
            }
            Action::SendPhoto {
                chat,
                file_name,
                png,
                caption,
                ..
            } => {
                let caption = caption.clone().unwrap_or_default();
                let id = world.add_message(*chat, None, caption.clone(), Vec::new());
                // The picture itself cannot be shown; its name, kind and size can.
                let kind = if png.starts_with(b"\x89PNG\r\n\x1a\n") {
                    "PNG"
                } else {
                    "not a PNG"
                };
                let size = png.len().div_ceil(1024);
                let caption = if caption.is_empty() {
                    String::new()
                } else {
                    format!(":\n{caption}")
                };
                (
                    format!("bot sends photo {file_name} ({kind}, about {size} KB){caption}"),
                    Delivered::Message(id),
                )
            }
            Action::Edit {
                chat,
                target,
                text,
                buttons,
                ..
            } => {
                let id = id_of(target)?;
                let deleted = world.deleted.contains(&(*chat, id));
                match world.messages.get_mut(&(*chat, id)) {
                    Some((None, current, current_buttons)) if !deleted => {
                        if current == text && current_buttons == buttons {
                            return Ok(Delivered::Done);
                        }
                        *current = text.clone();
                        *current_buttons = buttons.clone();
                    }
                    _ => return Err(PortError::Refused("message to edit not found".into())),
                }
                let mut line = format!("bot edits #{id}: {text}");
                if !buttons.is_empty() {
                    line = format!("{line}\n{}", buttons_line(buttons));
                }
                (line, Delivered::Done)
            }
            Action::Delete { chat, message } => {
                let id = id_of(message)?;
                let line = format!("bot deletes {}", world.author_of(*chat, id));
                world.deleted.insert((*chat, id));
                (line, Delivered::Done)
            }
            Action::React {
                chat,
                message,
                emoji,
                ..
            } => {
                if !world.allowed_reactions(*chat).allows(emoji) {
                    // What Telegram answers, and all it does.
                    return Err(PortError::ReactionInvalid(
                        "Bad Request: REACTION_INVALID".into(),
                    ));
                }
                (
                    format!("bot reacts {emoji} to {}", world.author_of(*chat, *message)),
                    Delivered::Done,
                )
            }
            Action::Mute { user, until: u, .. } => (
                format!("bot mutes {}{}", world.name(*user), until(u)),
                Delivered::Done,
            ),
            Action::Unmute { user, .. } => (
                format!("bot unmutes {}", world.name(*user)),
                Delivered::Done,
            ),
            Action::Ban {
                chat,
                user,
                until: u,
            } => {
                world.banned.push((*chat, *user));
                (
                    format!("bot bans {}{}", world.name(*user), until(u)),
                    Delivered::Done,
                )
            }
            Action::Unban { user, .. } => {
                (format!("bot unbans {}", world.name(*user)), Delivered::Done)
            }
            Action::Pin { message, .. } => {
                (format!("bot pins #{}", id_of(message)?), Delivered::Done)
            }
            Action::Leave { chat } => {
                world.left.insert(*chat);
                ("bot leaves the group".to_owned(), Delivered::Done)
            }
            Action::AnswerButton {
                callback_id, text, ..
            } => {
                let who = world
                    .callbacks
                    .get(callback_id)
                    .map(|u| world.name(*u))
                    .unwrap_or_default();
                match text {
                    Some(text) => (
                        format!("bot answers {who} privately: {text}"),
                        Delivered::Done,
                    ),
                    // The member's client stops waiting; nothing pops up.
                    None => (
                        format!("bot answers {who}'s press silently"),
                        Delivered::Done,
                    ),
                }
            }
        };
        world.lines.push(line);
        Ok(delivered)
    }

    async fn allowed_reactions(&self, chat: ChatId) -> Result<AllowedReactions, PortError> {
        Ok(self.world().allowed_reactions(chat))
    }

    async fn administrators(&self, _chat: ChatId) -> Result<Vec<Admin>, PortError> {
        let world = self.world();
        let mut admins: Vec<Admin> = world
            .admins
            .iter()
            .map(|(user, owner)| Admin {
                user: *user,
                owner: *owner,
                can_delete_messages: true,
                can_restrict_members: true,
            })
            .collect();
        if !world.bot_is_member {
            admins.push(Admin {
                user: super::BOT_ID,
                owner: false,
                can_delete_messages: true,
                can_restrict_members: true,
            });
        }
        Ok(admins)
    }
}
