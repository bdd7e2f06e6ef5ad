//! The local group-chat simulator behind `qunbot chat`: the same features, engine and database
//! code as the Telegram bot, with an in-memory platform and a clock that moves only when told.
//! No token, no network.

mod port;
pub mod script;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::app::Prepared;
use crate::core::clock::{Clock, ManualClock};
use crate::core::context::BotIdentity;
use crate::core::delivery::{Deliverer, Outcome};
use crate::core::engine::Engine;
use crate::core::event::{
    Chat, ChatId, ChatKind, Event, EventKind, Message, MessageId, Origin, User,
};
use crate::scheduler;
use crate::store::{Db, StoreError, inbox, outbox};
use port::SimPort;
use script::Step;

pub use script::HELP;

/// The simulated bot's own id and name.
pub(crate) const BOT_ID: i64 = 1_000;
pub const BOT_USERNAME: &str = "qunbot";
/// A group chat id of the supergroup kind, used when the config names no group.
pub const DEFAULT_CHAT_ID: ChatId = -1_001_000_000_001;
const SOURCE: &str = "sim";

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The input line makes no sense; the simulator goes on.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Simulator {
    engine: Engine,
    deliverer: Deliverer,
    clock: ManualClock,
    port: Arc<SimPort>,
    db: Db,
    group: Chat,
    members: HashMap<String, User>,
    last_message: HashMap<i64, MessageId>,
    next_update_id: i64,
    next_callback: u64,
    offline: bool,
}

impl Simulator {
    /// A simulator over `db` (migrated already), with the clock at `start`. The group is the
    /// first one the config names, or a demo group.
    pub fn new(prepared: &Prepared, db: Db, start: DateTime<Utc>) -> Simulator {
        let chat_id = prepared
            .settings
            .groups
            .keys()
            .min()
            .copied()
            .unwrap_or(DEFAULT_CHAT_ID);
        let timezone = prepared.settings.group(chat_id).timezone;
        let clock = ManualClock::starting_at(start);
        let port = Arc::new(SimPort::new(timezone));
        let bot = BotIdentity {
            id: BOT_ID,
            username: BOT_USERNAME.to_owned(),
        };
        let shared_clock: Arc<dyn Clock> = Arc::new(clock.clone());
        let engine = prepared.engine(db.clone(), shared_clock.clone(), bot, port.clone());
        let deliverer = Deliverer::new(db.clone(), port.clone(), shared_clock);
        let kind = group_kind(chat_id);
        port.set_group(chat_id);
        Simulator {
            engine,
            deliverer,
            clock,
            port,
            db,
            group: Chat {
                id: chat_id,
                kind,
                title: Some(match prepared.settings.group(chat_id).language {
                    crate::core::i18n::Language::ZhCn => "演示群".into(),
                    crate::core::i18n::Language::En => "Demo group".into(),
                }),
            },
            members: HashMap::new(),
            last_message: HashMap::new(),
            next_update_id: 0,
            next_callback: 0,
            offline: false,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The engine the simulated group talks to (to reload its config, say).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs one input line; returns what the bot did, one entry per action (an entry may span
    /// several lines).
    pub async fn step(&mut self, line: &str) -> Result<Vec<String>, SimError> {
        let step = script::parse(line).map_err(SimError::Input)?;
        let now = self.clock.now();
        match step {
            Step::Nothing => {}
            Step::Help => self.port.say(HELP.to_owned()),
            Step::Say {
                who,
                text,
                private,
                reply_to,
            } => {
                let user = self.member(&who);
                let replied = match reply_to {
                    // `(to #8)`: a reply to the bot's message #8, as the transcript numbers it.
                    Some(target) if target.starts_with('#') => {
                        let Ok(id) = target[1..].parse::<MessageId>() else {
                            return Err(SimError::Input(format!(
                                "`{target}` is not a message number such as #8"
                            )));
                        };
                        let bot = User {
                            is_bot: true,
                            ..User::named(BOT_ID, BOT_USERNAME)
                        };
                        Some((id, bot))
                    }
                    Some(target) => {
                        let author = self.member(&target);
                        let Some(&id) = self.last_message.get(&author.id) else {
                            return Err(SimError::Input(format!(
                                "{target} has not said anything to reply to"
                            )));
                        };
                        Some((id, author))
                    }
                    None => None,
                };
                let chat = if private {
                    Chat {
                        id: user.id,
                        kind: ChatKind::Private,
                        title: None,
                    }
                } else {
                    self.group.clone()
                };
                let id = self.port.member_message(chat.id, user.id, &text);
                self.last_message.insert(user.id, id);
                let mut said = message(id, user, text, false);
                if let Some((id, author)) = replied {
                    said.reply_to = Some(id);
                    said.reply_to_author = Some(author);
                    said.reply_to_text = self.port.text_of(chat.id, id);
                }
                self.receive(chat, EventKind::Message(said)).await?;
            }
            Step::Forward { who, text } => {
                let user = self.member(&who);
                let id = self.port.member_message(self.group.id, user.id, &text);
                self.last_message.insert(user.id, id);
                let mut said = message(id, user, text, false);
                said.forwarded_from = Some(Origin::Channel);
                self.receive(self.group.clone(), EventKind::Message(said))
                    .await?;
            }
            Step::LiftRestriction { who, target } => {
                let by = self.member(&who);
                let member = self.member(&target);
                self.receive(
                    self.group.clone(),
                    EventKind::RestrictionLifted {
                        member,
                        by: Some(by),
                    },
                )
                .await?;
            }
            Step::Media { who, media } => {
                let user = self.member(&who);
                let id = self.port.member_message(self.group.id, user.id, "");
                self.last_message.insert(user.id, id);
                let mut said = message(id, user, String::new(), false);
                said.media = Some(media);
                self.receive(self.group.clone(), EventKind::Message(said))
                    .await?;
            }
            Step::Edit { who, text } => {
                let user = self.member(&who);
                let Some(&id) = self.last_message.get(&user.id) else {
                    return Err(SimError::Input(format!(
                        "{who} has not said anything to edit"
                    )));
                };
                self.receive(
                    self.group.clone(),
                    EventKind::Message(message(id, user, text, true)),
                )
                .await?;
            }
            Step::Press { who, label } => {
                let user = self.member(&who);
                let Some((message_id, data)) = self.port.find_button(self.group.id, &label) else {
                    return Err(SimError::Input(format!(
                        "no message of the bot has a button `{label}`"
                    )));
                };
                self.press(user, message_id, data).await?;
            }
            Step::PressData { who, data, message } => {
                let user = self.member(&who);
                self.press(user, message, data).await?;
            }
            Step::Join { who } => {
                let member = self.member(&who);
                // Telegram's "X joined the group" line is a message with an id of its own.
                let service = self
                    .port
                    .service_message(self.group.id, member.id, "joined");
                self.receive(
                    self.group.clone(),
                    EventKind::MemberJoined {
                        member,
                        added_by: None,
                        message: Some(service),
                        restricted: false,
                    },
                )
                .await?;
            }
            Step::Leave { who } => {
                let member = self.member(&who);
                let service = self.port.service_message(self.group.id, member.id, "left");
                self.receive(
                    self.group.clone(),
                    EventKind::MemberLeft {
                        member,
                        removed_by: None,
                        message: Some(service),
                    },
                )
                .await?;
            }
            Step::Admin { who, owner } => {
                let user = self.member(&who);
                self.port.set_admin(user.id, owner);
                self.engine.forget_administrators(self.group.id);
            }
            Step::BotAdmin(admin) => {
                self.port.set_bot_admin(admin);
                self.engine.forget_administrators(self.group.id);
            }
            // As on Telegram, the bot is not told: it finds out when it next reacts.
            Step::Reactions(allowed) => self.port.set_allowed_reactions(self.group.id, allowed),
            Step::Advance(by) => self.advance_to(now + by).await?,
            Step::At(local) => {
                let zone = self.engine.settings().group(self.group.id).timezone;
                let at = zone
                    .from_local_datetime(&local)
                    .earliest()
                    .ok_or_else(|| SimError::Input(format!("{local} does not exist in {zone}")))?;
                self.clock.set(at.with_timezone(&Utc));
            }
            Step::Offline => self.offline = true,
            Step::Online => {
                self.offline = false;
                // Back up: the scheduler catches up on what came due meanwhile.
                scheduler::fire_due(&self.engine, self.clock.now()).await?;
                self.process().await?;
            }
            Step::Group(id) => {
                self.port.set_group(id);
                self.group = Chat {
                    id,
                    kind: group_kind(id),
                    title: self.group.title.clone(),
                };
            }
            Step::Migrate(to) => {
                self.receive(self.group.clone(), EventKind::ChatMigrated { to })
                    .await?;
                self.group.id = to;
                self.port.set_group(to);
                self.group.kind = ChatKind::Supergroup;
            }
        }
        Ok(self.port.take_lines())
    }

    /// Moves the clock to `target`, stopping at each scheduled firing on the way so that it is
    /// posted at its time. While "offline" the clock just moves: the bot is down.
    async fn advance_to(&mut self, target: DateTime<Utc>) -> Result<(), SimError> {
        if !self.offline {
            while let Some(at) = scheduler::next_due(&self.engine, self.clock.now()).await? {
                if at > target {
                    break;
                }
                self.clock.set(at);
                scheduler::fire_due(&self.engine, at).await?;
                self.process().await?;
            }
        }
        self.clock.set(target);
        Ok(())
    }

    fn member(&mut self, name: &str) -> User {
        let next_id = 10_001 + self.members.len() as i64;
        let user = self.members.entry(name.to_owned()).or_insert_with(|| User {
            username: name.is_ascii().then(|| name.to_lowercase()),
            ..User::named(next_id, name)
        });
        self.port.name_user(user.id, name);
        user.clone()
    }

    /// `user` presses a button carrying `data` on the bot's message `message_id`.
    async fn press(
        &mut self,
        user: User,
        message_id: MessageId,
        data: String,
    ) -> Result<(), SimError> {
        self.next_callback += 1;
        let callback_id = format!("cb{}", self.next_callback);
        self.port.register_callback(&callback_id, user.id);
        let kind = EventKind::ButtonPressed {
            from: user,
            callback_id,
            message_id: Some(message_id),
            data,
        };
        self.receive(self.group.clone(), kind).await
    }

    /// Stores an event in the inbox, as the Telegram adapter does, and handles it unless the
    /// bot is "offline".
    async fn receive(&mut self, chat: Chat, kind: EventKind) -> Result<(), SimError> {
        self.next_update_id += 1;
        let event = Event {
            chat,
            at: self.clock.now(),
            kind,
        };
        inbox::store_batch(
            &self.db,
            SOURCE,
            &[(self.next_update_id, event)],
            self.clock.now(),
        )
        .await?;
        if !self.offline {
            self.process().await?;
        }
        Ok(())
    }

    /// Handles the inbox and delivers the outbox, in order. A member the bot banned is
    /// reported back as having left, as Telegram does (a `chat_member` update), and handled too.
    async fn process(&mut self) -> Result<(), SimError> {
        loop {
            self.engine.handle_pending().await?;
            let mut after = 0;
            loop {
                let batch = outbox::pending(&self.db, after, 100).await?;
                let Some(last) = batch.last() else { break };
                after = last.id;
                for queued in &batch {
                    if let Outcome::Expired = self.deliverer.deliver(queued).await? {
                        self.port.say(format!(
                            "(a reply to an event from before the outage was not sent: {})",
                            describe(&queued.action)
                        ));
                    }
                }
            }
            let banned = self.port.take_banned();
            if banned.is_empty() {
                return Ok(());
            }
            for (chat, user) in banned {
                let Some(member) = self.members.values().find(|m| m.id == user).cloned() else {
                    continue;
                };
                self.next_update_id += 1;
                let event = Event {
                    chat: Chat {
                        id: chat,
                        ..self.group.clone()
                    },
                    at: self.clock.now(),
                    kind: EventKind::MemberLeft {
                        member,
                        removed_by: Some(User {
                            is_bot: true,
                            username: Some(BOT_USERNAME.to_owned()),
                            ..User::named(BOT_ID, BOT_USERNAME)
                        }),
                        message: None,
                    },
                };
                inbox::store_batch(
                    &self.db,
                    SOURCE,
                    &[(self.next_update_id, event)],
                    self.clock.now(),
                )
                .await?;
            }
        }
    }
}

/// Telegram's supergroups have ids below -10¹²; smaller negative ids are basic groups.
fn group_kind(id: ChatId) -> ChatKind {
    if id <= -1_000_000_000_000 {
        ChatKind::Supergroup
    } else {
        ChatKind::Group
    }
}

fn describe(action: &crate::core::action::Action) -> String {
    match action {
        crate::core::action::Action::Send { text, .. } => {
            text.lines().next().unwrap_or_default().to_owned()
        }
        other => format!("{other:?}"),
    }
}

fn message(id: MessageId, from: User, text: String, edited: bool) -> Message {
    Message {
        edited,
        ..Message::text(id, from, text)
    }
}

/// Runs a whole script and returns its transcript: each input line, followed by what the bot
/// did, each line of that prefixed with `> `. Scenario tests compare this with a file.
pub async fn transcript(sim: &mut Simulator, script: &str) -> Result<String, StoreError> {
    let mut out = String::new();
    for line in script.lines() {
        if line.starts_with('>') {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        let lines = match sim.step(line).await {
            Ok(lines) => lines,
            Err(SimError::Input(message)) => vec![format!("(error: {message})")],
            Err(SimError::Store(error)) => return Err(error),
        };
        for entry in lines {
            for (index, text_line) in entry.lines().enumerate() {
                let indent = if index == 0 { "" } else { "  " };
                out.push_str(&format!("> {indent}{text_line}\n").replace(" \n", "\n"));
            }
        }
    }
    Ok(out)
}
