//! Relay sign-up lists (接龙): one live message per list, in the WeChat layout members know,
//! edited in place as people join, change their line or leave.
//!
//! - Start: `/relay 标题` or `接龙 标题` / `#接龙 …` with option lines (例, 上限, 截止, 提醒, 每人多条);
//!   a pasted WeChat #接龙 block keeps its numbered lines.
//! - Join: the ➕ button, a reply to the list (`+1`, `+1 带两个人`, `接龙 内容`), or `/join [text]`,
//!   `接龙 内容` or `+1` sent to the group (the open list; with several, a question with a button
//!   per list). While lists are open, `接龙 …` starts another only with an option or a second
//!   line (`parse::is_entry_line`); `/relay` always starts one;
//!   change with a reply `修改 新内容` (or, in one-line-per-member lists, another `接龙 内容`) or by
//!   editing the message one joined with; leave with ➖, a reply `退出`/`-1`, or `/leave`.
//!   The creator or an admin closes it with 🔒 or a reply `截止`, and takes any line off with a
//!   reply `删除 3` / `删除 候补 1`.
//!   Buttons cannot take text, so ✏️ explains these ways.
//! - Beyond the limit lines go to the waitlist (候补); when someone leaves, the first waiting
//!   member moves up and is told so.
//! - A deadline closes the list through a timer (and a reminder timer fires N minutes before).
//! - 📄 sends the list as a WeChat-format text file and a CSV file.
//!
//! Every line is a row; its position is given inside the chat-locked transaction, and a unique
//! key on what made it (the message, the button press, or the member in one-line lists) makes
//! handling an update twice harmless. Answers in a rush are reactions and button toasts; the
//! list message is edited, and delivery makes only the newest of several pending edits.

pub mod config;
pub mod parse;
mod queries;
mod render;

mod entries;
mod lists;
mod routing;

use async_trait::async_trait;
use minijinja::context;

use self::entries::{edit, edit_by_message, explain_edit, join, leave, remove};
use self::lists::{
    close, close_by_member, create, export, list_id_of_key, remind, show_open_lists,
};
use self::routing::{
    ask_key, join_without_reply, leave_without_reply, list_of_message, parse_button, pick,
    replied_list,
};
use crate::core::action::{Action, MessageRef};
use crate::core::commands::Invocation;
use crate::core::context::Cx;
use crate::core::event::{EventKind, MessageId};
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::settings::SectionSlot;
use parse::ReplyIntent;

/// The name of the feature, its timers and its message keys.
const FEATURE: &str = "relay";

pub struct Relay;

#[async_trait]
impl Feature for Relay {
    fn name(&self) -> &'static str {
        FEATURE
    }

    fn commands(&self) -> &'static [&'static str] {
        &["relay", "join", "leave", "relays"]
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<config::RelaySettings>()]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests!["relay.toml", "join.toml", "leave.toml", "relays.toml"]
    }

    fn migrations(&self) -> Option<crate::store::Migrations> {
        Some(crate::migrations!(
            "src/features/relay/migrations/sqlite",
            "src/features/relay/migrations/postgres"
        ))
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        let Some(message) = cx.event.message().cloned() else {
            return Ok(CommandOutcome::Done);
        };
        let via = Via::Message(message.id);
        let args = invocation.args.trim();
        match invocation.name.as_str() {
            "relay" => {
                // `接龙 内容` in reply to a list is a line for it, as in WeChat.
                if let Some(list) = replied_list(cx).await? {
                    join(cx, &list, &message.from, args, via).await?;
                    return Ok(CommandOutcome::Done);
                }
                if args.is_empty() {
                    return Ok(CommandOutcome::BadArguments);
                }
                // `/relay 标题` always starts a list. `接龙 …` is an entry for the open lists
                // unless it is what an organiser writes to start one (see `parse::is_entry_line`).
                let slashed = message.text.trim_start().starts_with('/');
                if !slashed && parse::is_entry_line(args) {
                    let chat = cx.chat();
                    let open = queries::open_lists(cx.tx, chat).await?;
                    if !open.is_empty() {
                        join_without_reply(cx, &open, &message.from, args, message.id).await?;
                        return Ok(CommandOutcome::Done);
                    }
                }
                create(cx, &message.from, message.id, args).await?;
            }
            "join" => {
                if let Some(list) = replied_list(cx).await? {
                    join(cx, &list, &message.from, args, via).await?;
                    return Ok(CommandOutcome::Done);
                }
                let chat = cx.chat();
                let open = queries::open_lists(cx.tx, chat).await?;
                if open.is_empty() {
                    let text = cx.text("relay.no_open_list", context! {});
                    cx.reply(text);
                    return Ok(CommandOutcome::Done);
                }
                join_without_reply(cx, &open, &message.from, args, message.id).await?;
            }
            "leave" => {
                if let Some(list) = replied_list(cx).await? {
                    leave(cx, &list, &message.from, via).await?;
                    return Ok(CommandOutcome::Done);
                }
                leave_without_reply(cx, &message.from, via).await?;
            }
            "relays" => show_open_lists(cx).await?,
            _ => {}
        }
        Ok(CommandOutcome::Done)
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        match &cx.event.kind {
            EventKind::Message(message) if !cx.is_command && message.by_a_person() => {
                let message = message.clone();
                if message.edited {
                    return edit_by_message(cx, message.id, &message.from, &message.text).await;
                }
                let Some(replied) = message.reply_to else {
                    // `+1 …` sent to the group, not to a list: an entry for the open list.
                    if let Some(ReplyIntent::Join(text)) = parse::reply_intent(&message.text) {
                        let chat = cx.chat();
                        let open = queries::open_lists(cx.tx, chat).await?;
                        if !open.is_empty() {
                            join_without_reply(cx, &open, &message.from, &text, message.id).await?;
                        }
                    }
                    return Ok(());
                };
                let Some(intent) = parse::reply_intent(&message.text) else {
                    return Ok(());
                };
                let Some(list) = list_of_message(cx, replied).await? else {
                    return Ok(());
                };
                let via = Via::Message(message.id);
                match intent {
                    ReplyIntent::Join(text) => join(cx, &list, &message.from, &text, via).await,
                    ReplyIntent::Edit(text) => edit(cx, &list, &message.from, &text, via).await,
                    ReplyIntent::Leave => leave(cx, &list, &message.from, via).await,
                    ReplyIntent::Close => close_by_member(cx, &list, &message.from, via).await,
                    ReplyIntent::Remove(line) => remove(cx, &list, &message.from, line, via).await,
                }
            }
            EventKind::ButtonPressed {
                from,
                callback_id,
                data,
                ..
            } => {
                if let Some(picked) = data.strip_prefix("relay:p:") {
                    let (picked, from, callback_id) =
                        (picked.to_owned(), from.clone(), callback_id.clone());
                    return pick(cx, &picked, &from, callback_id).await;
                }
                let Some((action, id)) = parse_button(data) else {
                    return Ok(());
                };
                let (from, callback_id) = (from.clone(), callback_id.clone());
                let Some(list) = queries::list(cx.tx, id).await? else {
                    return Ok(());
                };
                if list.chat_id != cx.chat() {
                    return Ok(());
                }
                let via = Via::Button(callback_id);
                match action {
                    "j" => join(cx, &list, &from, "", via).await,
                    "e" => explain_edit(cx, &list, &from, via).await,
                    "l" => leave(cx, &list, &from, via).await,
                    "x" => export(cx, &list, via).await,
                    "c" => close_by_member(cx, &list, &from, via).await,
                    _ => Ok(()),
                }
            }
            EventKind::Timer { key, .. } => {
                let key = key.clone();
                let Some((what, id)) = key
                    .split_once(':')
                    .and_then(|(what, id)| Some((what, id.parse::<i64>().ok()?)))
                else {
                    return Ok(());
                };
                if what == "ask" {
                    // Nobody picked a list in time: the question goes.
                    let chat = cx.chat();
                    cx.queue(Action::Delete {
                        chat,
                        message: MessageRef::Key(ask_key(id)),
                    });
                    return Ok(());
                }
                let Some(list) = queries::list(cx.tx, id).await? else {
                    return Ok(());
                };
                if !list.is_open() {
                    return Ok(());
                }
                match what {
                    "close" => close(cx, &list).await,
                    "remind" => remind(cx, &list).await,
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    async fn migrate_chat(&self, tx: &mut crate::store::Tx, from: i64, to: i64) -> FeatureResult {
        queries::migrate_chat(tx, from, to).await?;
        Ok(())
    }
}

/// How the member asked, and so how they are answered: a toast for a button, a reaction (or,
/// for a refusal, a short reply) for a message.
enum Via {
    Button(String),
    Message(MessageId),
}

impl Via {
    /// A quiet acknowledgement: it costs nothing against the group's message budget. Queued
    /// before the list's edit, which delivery may hold back a few seconds to pace edits, so the
    /// member's button stops spinning at once.
    fn done(&self, cx: &mut Cx<'_>, emoji: &str, toast: String) {
        match self {
            Via::Button(callback_id) => cx.queue(Action::AnswerButton {
                chat: cx.chat(),
                callback_id: callback_id.clone(),
                text: Some(toast),
                alert: false,
            }),
            Via::Message(_) => cx.react(emoji),
        }
    }

    /// A refusal the member would otherwise not notice (the list is full): the toast for a
    /// button; for a message a reaction, or the same words in reply where the group allows
    /// no reaction that says no.
    fn refuse(&self, cx: &mut Cx<'_>, emoji: &str, text: String) {
        match self {
            Via::Button(_) => self.done(cx, emoji, text),
            Via::Message(_) => cx.react_or_reply(emoji, text),
        }
    }

    /// Something the member must read: a toast for a button (a pop-up when `alert`), a reply
    /// otherwise.
    fn tell(&self, cx: &mut Cx<'_>, text: String, alert: bool) {
        match self {
            Via::Button(callback_id) => cx.queue(Action::AnswerButton {
                chat: cx.chat(),
                callback_id: callback_id.clone(),
                text: Some(text),
                alert,
            }),
            Via::Message(_) => cx.reply(text),
        }
    }

    /// What made a line, for the unique key that keeps a re-handled update from adding it again.
    fn source(&self) -> String {
        match self {
            Via::Button(callback_id) => format!("cb:{callback_id}"),
            Via::Message(message) => format!("m:{message}"),
        }
    }

    fn message(&self) -> Option<MessageId> {
        match self {
            Via::Message(message) => Some(*message),
            Via::Button(_) => None,
        }
    }
}

fn at(cx: &Cx<'_>) -> i64 {
    cx.event.at.timestamp()
}
