//! The handling context a feature receives: the event, the group's settings, the transaction
//! its writes go into, and the actions it queues for delivery.

use chrono::{DateTime, Duration, Utc};
use minijinja::Value;

use super::action::{Action, Admin, BotRights, Button, Lane, MessageRef};
use super::commands::CommandSet;
use super::event::{ChatId, Event, MessageId, User, UserId};
use super::i18n::{Language, message_template_name};
use crate::args;
use crate::config::{GroupSettings, Settings};
use crate::store::outbox::Outgoing;
use crate::store::{StoreResult, Tx, timers};

/// A member's standing in the chat where the event happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    #[default]
    Member,
    Admin,
    Owner,
}

/// The bot's own account.
#[derive(Clone, Debug)]
pub struct BotIdentity {
    pub id: UserId,
    pub username: String,
}

pub struct Cx<'a> {
    pub event: &'a Event,
    pub group: &'a GroupSettings,
    pub settings: &'a Settings,
    pub commands: &'a CommandSet,
    pub bot: &'a BotIdentity,
    /// The standing of whoever caused the event.
    pub role: Role,
    pub tx: &'a mut Tx,
    /// When the event is being handled (the event's own time is `event.at`).
    pub now: DateTime<Utc>,
    /// Replies are dropped if not delivered by then.
    reply_deadline: DateTime<Utc>,
    actions: Vec<Outgoing>,
    /// Commands whose feature this group has switched off.
    pub switched_off: Vec<&'static str>,
    /// The event is a command for this bot (known or not), as the engine parsed it.
    pub is_command: bool,
    /// The manifest name of that command when it is a known one (`signin` for `签到了`).
    pub command: Option<String>,
    /// What the bot may do in this group (`None`: not known, e.g. the lookup failed; then try
    /// and let the platform say no).
    pub bot_rights: Option<BotRights>,
    /// The group's administrators, as far as known (empty in private chats or when the list
    /// could not be had).
    pub admins: Vec<Admin>,
    /// Set by a feature that consumed the event (the rules removed the message): the features
    /// after it, and the command in it, do not see it.
    stopped: bool,
    /// The feature now handling the event goes first in a busy group (set by the engine).
    pub(crate) urgent_feature: bool,
    /// A group admin changed the group's settings (`Cx::change_setting`): the engine reads
    /// them again once the change is committed.
    pub(crate) settings_changed: bool,
}

impl<'a> Cx<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        event: &'a Event,
        group: &'a GroupSettings,
        settings: &'a Settings,
        commands: &'a CommandSet,
        bot: &'a BotIdentity,
        role: Role,
        tx: &'a mut Tx,
        now: DateTime<Utc>,
    ) -> Cx<'a> {
        let max_age = Duration::seconds(settings.file.telegram.max_reply_age_secs() as i64);
        Cx {
            event,
            group,
            settings,
            commands,
            bot,
            role,
            tx,
            now,
            reply_deadline: match event.kind {
                // A scheduled post is not a reply: it may go out as late as the scheduler would
                // still fire it (`scheduler.grace_secs`), however long the queue before it.
                super::event::EventKind::Tick { .. } => {
                    let grace = Duration::seconds(settings.file.scheduler.grace_secs());
                    (event.at + grace).max(now + max_age)
                }
                // A timer the scheduler ran late still wants its follow-up.
                super::event::EventKind::Timer { .. } => now + max_age,
                // Anything else is judged by when the member did it.
                _ => event.at + max_age,
            },
            actions: Vec::new(),
            switched_off: Vec::new(),
            is_command: false,
            command: None,
            bot_rights: None,
            admins: Vec::new(),
            stopped: false,
            urgent_feature: false,
            settings_changed: false,
        }
    }

    pub fn chat(&self) -> ChatId {
        self.event.chat.id
    }

    /// A command's text: what follows it, else the message it replies to (`/setrules` typed
    /// under the rules someone posted); `None` when there is neither.
    pub fn args_or_replied_text(&self, args: &str) -> Option<String> {
        let args = args.trim();
        if !args.is_empty() {
            return Some(args.to_owned());
        }
        self.event
            .message()
            .and_then(|message| message.reply_to_text.as_deref())
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    }

    pub fn language(&self) -> Language {
        self.group.language
    }

    pub fn is_private(&self) -> bool {
        !self.event.chat.kind.is_group()
    }

    /// One of the bot's messages in the group's language.
    pub fn text(&self, key: &str, vars: Value) -> String {
        self.text_in(self.language(), key, vars)
    }

    /// One of the catalogs' messages in `language`.
    pub(crate) fn text_in(&self, language: Language, key: &str, vars: Value) -> String {
        let name = message_template_name(language, key);
        match self.settings.templates.render(&name, vars) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(key, %error, "message did not render");
                key.to_owned()
            }
        }
    }

    /// Renders an operator template (rules, reply-only commands), or one the group's admins set.
    pub fn render(&self, template: &str, vars: Value) -> Option<String> {
        match self.group.render(&self.settings.templates, template, vars) {
            Ok(text) => Some(text),
            Err(error) => {
                tracing::warn!(template, %error, "operator template did not render");
                None
            }
        }
    }

    /// The forum topic the event happened in; the bot answers there.
    pub fn thread(&self) -> Option<MessageId> {
        self.event.message().and_then(|message| message.thread)
    }

    /// Answers the event: a reply to the message that caused it, or a plain message.
    pub fn reply(&mut self, text: impl Into<String>) {
        let reply_to = self.event.message().map(|message| message.id);
        self.queue(Action::Send {
            chat: self.chat(),
            text: text.into(),
            reply_to,
            thread: self.thread(),
            key: None,
            buttons: Vec::new(),
        });
    }

    /// Acknowledges the event's message with a reaction. Where the chat allows neither it nor
    /// one of the same meaning, nothing is made: use this only for what is shown elsewhere
    /// too (the sign-in board, the relay list).
    pub fn react(&mut self, emoji: &str) {
        self.react_to_message(emoji, None);
    }

    /// Answers the event's message with a reaction that is its only answer (a refusal, a wrong
    /// answer). Where the chat allows no reaction of the same meaning, `text` is said in reply
    /// instead, so the member still learns it.
    pub fn react_or_reply(&mut self, emoji: &str, text: impl Into<String>) {
        self.react_to_message(emoji, Some(text.into()));
    }

    fn react_to_message(&mut self, emoji: &str, fallback_text: Option<String>) {
        if let Some(message) = self.event.message() {
            let action = Action::React {
                chat: self.chat(),
                message: message.id,
                emoji: emoji.to_owned(),
                fallback_text,
                thread: self.thread(),
            };
            self.queue(action);
        }
    }

    pub fn send(&mut self, text: impl Into<String>) {
        self.queue(Action::Send {
            chat: self.chat(),
            text: text.into(),
            reply_to: None,
            thread: self.thread(),
            key: None,
            buttons: Vec::new(),
        });
    }

    /// Posts a message that will be edited later under `key` (a live list, a scoreboard).
    pub fn send_keyed(
        &mut self,
        key: impl Into<String>,
        text: impl Into<String>,
        buttons: Vec<Vec<Button>>,
    ) {
        self.queue(Action::Send {
            chat: self.chat(),
            text: text.into(),
            reply_to: None,
            thread: self.thread(),
            key: Some(key.into()),
            buttons,
        });
    }

    /// Edits the message sent under `key`, or sends it if there is none yet.
    pub fn edit_keyed(
        &mut self,
        key: impl Into<String>,
        text: impl Into<String>,
        buttons: Vec<Vec<Button>>,
    ) {
        self.queue(Action::Edit {
            chat: self.chat(),
            target: MessageRef::Key(key.into()),
            text: text.into(),
            buttons,
            thread: self.thread(),
        });
    }

    pub fn delete_message(&mut self, message: MessageId) {
        self.queue(Action::Delete {
            chat: self.chat(),
            message: MessageRef::Id(message),
        });
    }

    /// Queues an action for delivery once this event's transaction commits. Conversational
    /// actions expire if they could not go out while still relevant.
    pub fn queue(&mut self, action: Action) {
        let expires_at = action.is_conversational().then_some(self.reply_deadline);
        let lane = self.lane();
        self.actions.push(Outgoing {
            action,
            expires_at,
            job_firing: None,
            lane,
        });
    }

    /// Where this event's messages wait in a busy group's budget.
    fn lane(&self) -> Lane {
        if self.urgent_feature || self.role >= Role::Admin {
            Lane::Urgent
        } else if matches!(self.event.kind, super::event::EventKind::Tick { .. }) {
            Lane::Scheduled
        } else {
            Lane::Member
        }
    }

    /// How many posts (messages, files, photos) to this chat have been queued so far.
    pub fn posts_queued(&self) -> usize {
        self.actions
            .iter()
            .filter(|outgoing| outgoing.action.is_post() && outgoing.action.chat() == self.chat())
            .count()
    }

    /// A button press gets exactly one answer, whoever handled it or nobody: Telegram's
    /// client spins until it is answered, and refuses a second answer. Keeps the first answer
    /// a feature queued for the press and drops any later one; with none, queues one without
    /// text (unknown or stale data, a feature switched off, a list that is gone), first among
    /// the press's actions so the spinner stops before any paced edit goes out.
    pub(crate) fn answer_the_press(&mut self) {
        let super::event::EventKind::ButtonPressed { callback_id, .. } = &self.event.kind else {
            return;
        };
        let mut answered = false;
        self.actions.retain(|outgoing| match &outgoing.action {
            Action::AnswerButton {
                callback_id: answering,
                ..
            } if answering == callback_id => !std::mem::replace(&mut answered, true),
            _ => true,
        });
        if !answered {
            let silent = Action::AnswerButton {
                chat: self.chat(),
                callback_id: callback_id.clone(),
                text: None,
                alert: false,
            };
            self.queue(silent);
            self.actions.rotate_right(1);
        }
    }

    /// The actions queued while handling, each with the deadline after which it is not worth
    /// delivering.
    pub(crate) fn into_actions(self) -> Vec<Outgoing> {
        self.actions
    }

    /// Ends the event's handling after the current feature: nothing later sees it.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Whether `user` is one of the group's administrators.
    pub fn is_admin(&self, user: UserId) -> bool {
        self.admins.iter().any(|admin| admin.user == user)
    }

    /// Whether the event is already too old for a reply to be useful (after an outage).
    pub fn replies_are_stale(&self) -> bool {
        self.now > self.reply_deadline
    }

    /// Sets (or moves) one of `feature`'s timers in this chat: at `due`, the feature gets an
    /// `EventKind::Timer` with this key and payload, even if the bot was down at that moment.
    pub async fn set_timer(
        &mut self,
        feature: &str,
        key: &str,
        due: DateTime<Utc>,
        payload: &str,
    ) -> StoreResult<()> {
        timers::set(self.tx, self.event.chat.id, feature, key, due, payload).await
    }

    /// Cancels one of `feature`'s timers in this chat (nothing happens if it is not set).
    pub async fn cancel_timer(&mut self, feature: &str, key: &str) -> StoreResult<()> {
        timers::cancel(self.tx, self.event.chat.id, feature, key).await
    }

    /// Records an administrative step in the audit log (actor `None` = the bot itself), and
    /// reports it in the group's log chat if it has one.
    pub async fn audit(
        &mut self,
        actor: Option<&User>,
        target: Option<&User>,
        action: &str,
        detail: &str,
    ) -> StoreResult<()> {
        self.audit_with_buttons(actor, target, action, detail, Vec::new())
            .await
    }

    /// `audit`, with buttons under the log chat's line (an undo, say).
    pub async fn audit_with_buttons(
        &mut self,
        actor: Option<&User>,
        target: Option<&User>,
        action: &str,
        detail: &str,
        buttons: Vec<Vec<Button>>,
    ) -> StoreResult<()> {
        self.record_audit(actor, target, action, detail).await?;
        self.post_audit(actor, target, action, detail, buttons);
        Ok(())
    }

    /// Records an administrative step in the audit log only (routine steps that would flood the
    /// log chat, such as the rest of a burst of deleted spam).
    pub async fn record_audit(
        &mut self,
        actor: Option<&User>,
        target: Option<&User>,
        action: &str,
        detail: &str,
    ) -> StoreResult<()> {
        self.record_audit_in(self.event.chat.id, actor, target, action, detail)
            .await
    }

    /// Records a step taken for another chat (a log chat's button acting on its group) in that
    /// chat's audit log.
    pub async fn record_audit_in(
        &mut self,
        chat: ChatId,
        actor: Option<&User>,
        target: Option<&User>,
        action: &str,
        detail: &str,
    ) -> StoreResult<()> {
        self.tx
            .execute(
                "INSERT INTO admin_actions (chat_id, actor_id, target_id, action, detail, at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                args![
                    chat,
                    actor.map(|user| user.id),
                    target.map(|user| user.id),
                    action,
                    detail,
                    self.event.at.timestamp()
                ],
            )
            .await?;
        Ok(())
    }

    /// Posts an audit line in the group's log chat, if it has one.
    pub(crate) fn post_audit(
        &mut self,
        actor: Option<&User>,
        target: Option<&User>,
        action: &str,
        detail: &str,
        buttons: Vec<Vec<Button>>,
    ) {
        if let Some(log_chat) = self.group.log_chat {
            let text = self.text(
                "core.audit_line",
                minijinja::context! {
                    chat => self.event.chat.title.clone().unwrap_or_else(|| self.event.chat.id.to_string()),
                    actor => actor.map(User::display_name),
                    target => target.map(User::display_name),
                    action, detail,
                },
            );
            // The audit trail does not go stale.
            self.actions.push(Outgoing {
                action: Action::Send {
                    chat: log_chat,
                    text,
                    reply_to: None,
                    thread: None,
                    key: None,
                    buttons,
                },
                expires_at: None,
                job_firing: None,
                lane: Lane::Member,
            });
        }
    }
}
