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

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use minijinja::context;

use self::config::RelaySettings;
use crate::core::action::{Action, MessageRef};
use crate::core::commands::Invocation;
use crate::core::context::{Cx, Role};
use crate::core::event::{EventKind, MessageId, User};
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::settings::SectionSlot;
use config::WhoCanCreate;
use parse::{ReplyIntent, SpecError};
use queries::{Entry, List, NewEntry, NewList};

/// The name of the feature, its timers and its message keys.
const FEATURE: &str = "relay";

/// Lines a list holds at most (waitlist included): a longer one is many pages of edits.
const MAX_LINES: i64 = 1_000;
/// Lines one member may add to a list that allows several.
const MAX_LINES_PER_MEMBER: i64 = 20;

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

/// `relay:<action>:<list id>`.
fn parse_button(data: &str) -> Option<(&str, i64)> {
    let rest = data.strip_prefix("relay:")?;
    let (action, id) = rest.split_once(':')?;
    Some((action, id.parse().ok()?))
}

/// The key of a list's message: `relay:<id>` for the first page, `relay:<id>:<n>` for the others.
fn page_key(list: i64, page: usize) -> String {
    if page == 0 {
        format!("relay:{list}")
    } else {
        format!("relay:{list}:{}", page + 1)
    }
}

/// The list a message key belongs to.
pub(crate) fn list_id_of_key(key: &str) -> Option<i64> {
    let rest = key.strip_prefix("relay:")?;
    rest.split(':').next()?.parse().ok()
}

async fn list_of_message(cx: &mut Cx<'_>, message: MessageId) -> FeatureResult<Option<List>> {
    let chat = cx.chat();
    let Some(id) = queries::list_of_message(cx.tx, chat, message).await? else {
        return Ok(None);
    };
    Ok(queries::list(cx.tx, id).await?)
}

/// The list the member's message replies to, if it replies to one.
async fn replied_list(cx: &mut Cx<'_>) -> FeatureResult<Option<List>> {
    match cx.event.message().and_then(|m| m.reply_to) {
        Some(replied) => list_of_message(cx, replied).await,
        None => Ok(None),
    }
}

/// How long the question "which list?" waits for its answer.
const ASK_MINUTES: i64 = 10;
/// Lists offered as buttons at most (the newest).
const ASK_LISTS: usize = 6;

/// The key of the question asked about message `message`.
fn ask_key(message: MessageId) -> String {
    format!("relayask:{message}")
}

/// A member's line sent to the group rather than in reply to a list (`接龙 张三`, `+1`,
/// `/join 张三`): with one open list it joins that one; with several the member is asked which,
/// one button per list, and the line waits (in the question's timer) for the press.
async fn join_without_reply(
    cx: &mut Cx<'_>,
    open: &[List],
    member: &User,
    text: &str,
    message: MessageId,
) -> FeatureResult {
    if let [list] = open {
        return join(cx, list, member, text, Via::Message(message)).await;
    }
    let text: String = text.trim().chars().take(parse::MAX_TEXT_CHARS).collect();
    let due = cx.event.at + Duration::minutes(ASK_MINUTES);
    cx.set_timer(
        FEATURE,
        &format!("ask:{message}"),
        due,
        &format!("{}\n{text}", member.id),
    )
    .await?;
    let buttons = choices(open, |list| format!("relay:p:{}:{message}", list.id));
    let question = cx.text("relay.which_list", context! { text => &text });
    let chat = cx.chat();
    cx.queue(Action::Send {
        chat,
        text: question,
        reply_to: Some(message),
        thread: cx.thread(),
        key: Some(ask_key(message)),
        buttons,
    });
    Ok(())
}

/// One button per list, the newest first, labelled with the first line of its title.
fn choices(
    lists: &[List],
    data: impl Fn(&List) -> String,
) -> Vec<Vec<crate::core::action::Button>> {
    lists
        .iter()
        .take(ASK_LISTS)
        .filter_map(|list| {
            let title = list.title.lines().next().unwrap_or_default();
            let label: String = title.chars().take(30).collect();
            crate::core::action::Button::new(label, data(list)).map(|button| vec![button])
        })
        .collect()
}

/// The member picked a list for the line they sent: `<list>:<message>`.
async fn pick(cx: &mut Cx<'_>, picked: &str, from: &User, callback_id: String) -> FeatureResult {
    let via = Via::Button(callback_id);
    let Some((list, message)) = picked.split_once(':').and_then(|(list, message)| {
        Some((
            list.parse::<i64>().ok()?,
            message.parse::<MessageId>().ok()?,
        ))
    }) else {
        return Ok(());
    };
    let chat = cx.chat();
    let key = format!("ask:{message}");
    let Some(payload) = crate::store::timers::pending_payload(cx.tx, chat, FEATURE, &key).await?
    else {
        let text = cx.text("relay.pick_expired", context! {});
        via.tell(cx, text, false);
        return Ok(());
    };
    let (asker, text) = payload.split_once('\n').unwrap_or((payload.as_str(), ""));
    if asker.parse::<i64>().ok() != Some(from.id) {
        let text = cx.text("relay.pick_not_yours", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    let text = text.to_owned();
    let Some(list) = queries::list(cx.tx, list)
        .await?
        .filter(|l| l.chat_id == chat)
    else {
        return Ok(());
    };
    cx.cancel_timer(FEATURE, &key).await?;
    cx.queue(Action::Delete {
        chat,
        message: MessageRef::Key(ask_key(message)),
    });
    join(cx, &list, from, &text, via).await
}

/// `/leave` sent to the group: the list the member is on; asked which when several.
async fn leave_without_reply(cx: &mut Cx<'_>, member: &User, via: Via) -> FeatureResult {
    let chat = cx.chat();
    let open = queries::open_lists(cx.tx, chat).await?;
    if open.is_empty() {
        let text = cx.text("relay.no_open_list", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    let mut mine = Vec::new();
    for list in open {
        if queries::latest_of(cx.tx, list.id, member.id)
            .await?
            .is_some()
        {
            mine.push(list);
        }
    }
    match mine.as_slice() {
        [] => {
            let text = cx.text("relay.not_on_any_list", context! {});
            via.tell(cx, text, false);
            Ok(())
        }
        [list] => leave(cx, list, member, via).await,
        lists => {
            // The ➖ buttons of the lists themselves: each takes its presser's own line off.
            let buttons = choices(lists, |list| format!("relay:l:{}", list.id));
            let text = cx.text("relay.which_list_leave", context! {});
            let key = match via.message() {
                Some(message) => {
                    // The question goes after a while, like the one about joining.
                    let due = cx.event.at + Duration::minutes(ASK_MINUTES);
                    cx.set_timer(FEATURE, &format!("ask:{message}"), due, "")
                        .await?;
                    Some(ask_key(message))
                }
                None => None,
            };
            cx.queue(Action::Send {
                chat,
                text,
                reply_to: via.message(),
                thread: cx.thread(),
                key,
                buttons,
            });
            Ok(())
        }
    }
}

fn at(cx: &Cx<'_>) -> i64 {
    cx.event.at.timestamp()
}

async fn create(
    cx: &mut Cx<'_>,
    creator: &User,
    message: MessageId,
    description: &str,
) -> FeatureResult {
    let parsed = parse::list_spec(description);
    // WeChat habit: copy the list, add one's line, send it all back. Against an open list of
    // the same title that is a join, not a new list.
    if let Ok(spec) = &parsed
        && !spec.entries.is_empty()
    {
        let chat = cx.chat();
        let open = queries::open_lists(cx.tx, chat).await?;
        if let Some(list) = open
            .iter()
            .find(|list| same_title(&list.title, &spec.title))
        {
            return continue_list(cx, list, creator, &spec.entries, Via::Message(message)).await;
        }
    }
    let settings = cx.group.section::<RelaySettings>().clone();
    if settings.who_can_create == WhoCanCreate::Admins && cx.role < Role::Admin {
        // A member's line with no list to take it: there is nothing to join yet.
        let slashed = cx
            .event
            .message()
            .is_some_and(|m| m.text.trim_start().starts_with('/'));
        let key = if !slashed && parse::is_entry_line(description) {
            "relay.nothing_to_join"
        } else {
            "relay.create_admins_only"
        };
        let text = cx.text(key, context! {});
        cx.reply(text);
        return Ok(());
    }
    let chat = cx.chat();
    if queries::count_open(cx.tx, chat).await? >= settings.max_open_lists {
        let text = cx.text(
            "relay.too_many_open",
            context! { max => settings.max_open_lists },
        );
        cx.reply(text);
        return Ok(());
    }
    let spec = match parsed {
        Ok(spec) => spec,
        Err(error) => {
            let text = match error {
                SpecError::NoTitle => cx.text("relay.no_title", context! {}),
                SpecError::BadCapacity(value) => cx.text("relay.bad_capacity", context! { value }),
                SpecError::BadRemind(value) => cx.text("relay.bad_remind", context! { value }),
            };
            cx.reply(text);
            return Ok(());
        }
    };
    let deadline = match &spec.deadline {
        Some(written) => match parse::deadline(written, cx.event.at, cx.group.timezone) {
            Some(deadline) => Some(deadline),
            None => {
                let text = cx.text("relay.bad_deadline", context! { value => written });
                cx.reply(text);
                return Ok(());
            }
        },
        None => None,
    };
    let remind_minutes = spec
        .remind_minutes
        .unwrap_or(settings.remind_before_minutes);
    let source = format!("m:{message}");
    let Some(id) = queries::insert_list(
        cx.tx,
        &NewList {
            chat,
            source: &source,
            created_by: creator.id,
            title: &spec.title,
            example: spec.example.as_deref(),
            note: spec.note.as_deref(),
            capacity: spec.capacity,
            one_per_member: spec.one_per_member.unwrap_or(settings.one_entry_per_member),
            deadline_at: deadline.map(|d| d.timestamp()),
            remind_minutes,
            thread: cx.thread(),
            at: at(cx),
        },
    )
    .await?
    else {
        // This message made its list already.
        return Ok(());
    };
    for (index, line) in spec.entries.iter().enumerate() {
        queries::insert_entry(
            cx.tx,
            &NewEntry {
                list: id,
                source: &format!("import:{}", index + 1),
                user: None,
                username: None,
                name: "",
                content: line,
                message: None,
                at: at(cx),
            },
        )
        .await?;
    }
    if let Some(deadline) = deadline {
        cx.set_timer(FEATURE, &format!("close:{id}"), deadline, "")
            .await?;
        let remind_at = deadline - Duration::minutes(remind_minutes);
        if remind_minutes > 0 && remind_at > cx.event.at {
            cx.set_timer(FEATURE, &format!("remind:{id}"), remind_at, "")
                .await?;
        }
    }
    let Some(list) = queries::list(cx.tx, id).await? else {
        return Ok(());
    };
    show(cx, &list, Some(message)).await?;
    Ok(())
}

/// Titles compared as members see them: spacing aside.
fn same_title(a: &str, b: &str) -> bool {
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    words(a) == words(b)
}

/// A pasted copy of an open list with lines added: the lines the list does not have yet are
/// the member's (in a one-line-per-member list, the last of them).
async fn continue_list(
    cx: &mut Cx<'_>,
    list: &List,
    member: &User,
    pasted: &[String],
    via: Via,
) -> FeatureResult {
    let entries = queries::entries(cx.tx, list.id).await?;
    let normalize = |text: &str| text.split_whitespace().collect::<String>();
    let known: Vec<String> = entries
        .iter()
        .flat_map(|e| [normalize(&render::line_text(e)), normalize(&e.content)])
        .collect();
    // Lines are added at the end, as in WeChat: what follows the last line the list knows is
    // new (a stale copy of someone else's line earlier on is not taken for the member's).
    let first_new = pasted
        .iter()
        .rposition(|line| known.contains(&normalize(line)))
        .map_or(0, |last_known| last_known + 1);
    let new_lines: Vec<&String> = pasted[first_new..].iter().collect();
    // One of the member's own lines changed in place (the copy says 「3. bob 两份」 where the
    // list has 「3. bob 一份」): their line follows. Only a line the list does not know, at the
    // place of a line of theirs that the copy no longer has.
    let pasted_known: Vec<String> = pasted.iter().map(|line| normalize(line)).collect();
    let mut edited = false;
    if list.is_open() {
        for (line, entry) in pasted[..first_new].iter().zip(&entries) {
            let mine = entry.user_id == Some(member.id);
            let still_there = pasted_known.contains(&normalize(&render::line_text(entry)))
                || pasted_known.contains(&normalize(&entry.content));
            if !mine || still_there || known.contains(&normalize(line)) {
                continue;
            }
            let content = line
                .trim()
                .strip_prefix(entry.name.as_str())
                .unwrap_or(line)
                .trim();
            let content: String = content.chars().take(parse::MAX_TEXT_CHARS).collect();
            queries::set_content(cx.tx, entry.id, &content, at(cx)).await?;
            edited = true;
        }
    }
    let Some(last) = new_lines.last() else {
        if !list.is_open() {
            let text = cx.text("relay.closed", context! {});
            via.tell(cx, text, false);
        } else if edited {
            let toast = cx.text("relay.edited", context! {});
            via.done(cx, "✍", toast);
            show(cx, list, None).await?;
        } else {
            via.done(cx, "👌", String::new());
        }
        return Ok(());
    };
    if list.one_per_member() || new_lines.len() == 1 {
        return join(cx, list, member, last, via).await;
    }
    if !list.is_open() {
        let text = cx.text("relay.closed", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    // The caps hold for a paste as for lines sent one by one.
    let room = (MAX_LINES_PER_MEMBER - queries::count_of(cx.tx, list.id, member.id).await?)
        .min(MAX_LINES - queries::count_entries(cx.tx, list.id).await?)
        .max(0);
    let taken = new_lines.len().min(usize::try_from(room).unwrap_or(0));
    for (index, line) in new_lines[..taken].iter().enumerate() {
        queries::insert_entry(
            cx.tx,
            &NewEntry {
                list: list.id,
                source: &format!("{}:{}", via.source(), index + 1),
                user: Some(member.id),
                username: member.username.as_deref(),
                name: &member.display_name(),
                content: line,
                message: None,
                at: at(cx),
            },
        )
        .await?;
    }
    if taken < new_lines.len() {
        let toast = cx.text(
            "relay.full_up",
            context! { lines => MAX_LINES, mine => MAX_LINES_PER_MEMBER },
        );
        via.refuse(cx, "🤷", toast);
    } else {
        via.done(cx, "👍", String::new());
    }
    if taken > 0 || edited {
        show(cx, list, None).await?;
    }
    Ok(())
}

/// Puts the list's current state in its message(s): the first page is sent in reply to
/// `creating_message` when the list is new, edited otherwise. Returns the lines shown.
async fn show(
    cx: &mut Cx<'_>,
    list: &List,
    creating_message: Option<MessageId>,
) -> FeatureResult<Vec<Entry>> {
    let entries = queries::entries(cx.tx, list.id).await?;
    show_lines(cx, list, &entries, creating_message).await?;
    Ok(entries)
}

/// `show` with the lines already read.
async fn show_lines(
    cx: &mut Cx<'_>,
    list: &List,
    entries: &[Entry],
    creating_message: Option<MessageId>,
) -> FeatureResult {
    let text = render::list_text(cx, list, entries, false);
    let pages = render::pages(cx, list, &text);
    let chat = cx.chat();
    for (index, page) in pages.iter().enumerate() {
        let buttons = if index == 0 {
            render::buttons(cx, list)
        } else {
            Vec::new()
        };
        let key = page_key(list.id, index);
        match creating_message {
            Some(reply_to) if index == 0 => cx.queue(Action::Send {
                chat,
                text: page.clone(),
                reply_to: Some(reply_to),
                thread: list.thread_id,
                key: Some(key),
                buttons,
            }),
            _ => cx.queue(Action::Edit {
                chat,
                target: MessageRef::Key(key),
                text: page.clone(),
                buttons,
                thread: list.thread_id,
            }),
        }
    }
    // A list that shrank leaves pages it no longer needs.
    for index in pages.len()..usize::try_from(list.pages).unwrap_or(0) {
        cx.queue(Action::Delete {
            chat,
            message: MessageRef::Key(page_key(list.id, index)),
        });
    }
    queries::touch(cx.tx, list.id, pages.len() as i64).await?;
    Ok(())
}

/// 1-based place of a line among the list's lines.
fn rank_of(entries: &[Entry], id: i64) -> usize {
    entries
        .iter()
        .position(|e| e.id == id)
        .map_or(0, |index| index + 1)
}

async fn join(cx: &mut Cx<'_>, list: &List, member: &User, text: &str, via: Via) -> FeatureResult {
    if member.is_bot {
        return Ok(());
    }
    if !list.is_open() {
        let text = cx.text("relay.closed", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    let text: String = text.trim().chars().take(parse::MAX_TEXT_CHARS).collect();
    if list.one_per_member()
        && let Some(mine) = queries::latest_of(cx.tx, list.id, member.id).await?
    {
        if !text.is_empty() && text != mine.content {
            queries::set_content(cx.tx, mine.id, &text, at(cx)).await?;
            let toast = cx.text("relay.edited", context! {});
            via.done(cx, "✍", toast);
            show(cx, list, None).await?;
        } else {
            let entries = queries::entries(cx.tx, list.id).await?;
            let rank = rank_of(&entries, mine.id);
            let toast = cx.text("relay.already", context! { rank });
            via.done(cx, "👌", toast);
        }
        return Ok(());
    }
    // However many lines a list allows per member, it stays a list people can read and
    // Telegram lets the bot keep up to date.
    if queries::count_entries(cx.tx, list.id).await? >= MAX_LINES
        || (!list.one_per_member()
            && queries::count_of(cx.tx, list.id, member.id).await? >= MAX_LINES_PER_MEMBER)
    {
        let toast = cx.text(
            "relay.full_up",
            context! { lines => MAX_LINES, mine => MAX_LINES_PER_MEMBER },
        );
        via.refuse(cx, "🤷", toast);
        return Ok(());
    }
    let source = if list.one_per_member() {
        format!("u:{}", member.id)
    } else {
        via.source()
    };
    let inserted = queries::insert_entry(
        cx.tx,
        &NewEntry {
            list: list.id,
            source: &source,
            user: Some(member.id),
            username: member.username.as_deref(),
            name: &member.display_name(),
            content: &text,
            message: via.message(),
            at: at(cx),
        },
    )
    .await?;
    let Some(entry) = inserted else {
        // The same update handled again: its line is there already.
        return Ok(());
    };
    let entries = queries::entries(cx.tx, list.id).await?;
    let rank = rank_of(&entries, entry);
    let listed = render::split_waitlist(list, &entries).0.len();
    if rank > listed {
        let toast = cx.text("relay.joined_waitlist", context! { rank => rank - listed });
        via.done(cx, "🫡", toast);
    } else {
        let example = if text.is_empty() {
            list.example.clone()
        } else {
            None
        };
        let toast = cx.text(
            "relay.joined",
            context! { rank, example, one_per_member => list.one_per_member() },
        );
        via.done(cx, "👍", toast);
    }
    show_lines(cx, list, &entries, None).await
}

async fn edit(cx: &mut Cx<'_>, list: &List, member: &User, text: &str, via: Via) -> FeatureResult {
    let Some(mine) = own_line(cx, list, member, &via).await? else {
        return Ok(());
    };
    queries::set_content(cx.tx, mine.id, text, at(cx)).await?;
    let toast = cx.text("relay.edited", context! {});
    via.done(cx, "✍", toast);
    show(cx, list, None).await?;
    Ok(())
}

/// The member's latest line on an open list; otherwise they are told why there is none (the
/// list is closed, or they are not on it).
async fn own_line(
    cx: &mut Cx<'_>,
    list: &List,
    member: &User,
    via: &Via,
) -> FeatureResult<Option<Entry>> {
    let refusal = if !list.is_open() {
        "relay.closed"
    } else if let Some(mine) = queries::latest_of(cx.tx, list.id, member.id).await? {
        return Ok(Some(mine));
    } else {
        "relay.not_on_list"
    };
    let text = cx.text(refusal, context! {});
    via.tell(cx, text, false);
    Ok(None)
}

/// A member edited the message they joined with: their line follows.
async fn edit_by_message(
    cx: &mut Cx<'_>,
    message: MessageId,
    member: &User,
    text: &str,
) -> FeatureResult {
    let chat = cx.chat();
    let Some((entry, list)) = queries::entry_of_message(cx.tx, chat, message, member.id).await?
    else {
        return Ok(());
    };
    let Some(content) = parse::entry_text_of_message(text) else {
        return Ok(());
    };
    let Some(list) = queries::list(cx.tx, list).await? else {
        return Ok(());
    };
    if !list.is_open() {
        return Ok(());
    }
    queries::set_content(cx.tx, entry, &content, at(cx)).await?;
    show(cx, &list, None).await?;
    Ok(())
}

async fn leave(cx: &mut Cx<'_>, list: &List, member: &User, via: Via) -> FeatureResult {
    let Some(mine) = own_line(cx, list, member, &via).await? else {
        return Ok(());
    };
    let toast = cx.text("relay.left", context! {});
    via.done(cx, "👌", toast);
    take_off(cx, list, mine.id).await
}

/// The creator or an admin takes a line off: `删除 3` (line 3) or `删除 候补 1` (the first
/// waiting line). The only way to remove a line taken over from a pasted WeChat list.
async fn remove(
    cx: &mut Cx<'_>,
    list: &List,
    member: &User,
    line: parse::LineNumber,
    via: Via,
) -> FeatureResult {
    if cx.role < Role::Admin && member.id != list.created_by {
        let text = cx.text("relay.remove_not_allowed", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    if !list.is_open() {
        let text = cx.text("relay.closed", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    let entries = queries::entries(cx.tx, list.id).await?;
    let (listed, waiting) = render::split_waitlist(list, &entries);
    let target = match line {
        parse::LineNumber::Listed(n) => n.checked_sub(1).and_then(|i| listed.get(i)),
        parse::LineNumber::Waiting(n) => n.checked_sub(1).and_then(|i| waiting.get(i)),
    };
    let Some(target) = target else {
        let text = cx.text("relay.no_such_line", context! {});
        via.tell(cx, text, false);
        return Ok(());
    };
    let (id, removed) = (target.id, render::line_text(target));
    via.done(cx, "👌", String::new());
    take_off(cx, list, id).await?;
    cx.audit(
        Some(member),
        None,
        "relay.remove",
        &format!("{}: {removed}", list.title),
    )
    .await
    .map_err(Into::into)
}

/// Deletes a line and shows the list; a place freed on a full list goes to the first waiting
/// line, whose member is told.
async fn take_off(cx: &mut Cx<'_>, list: &List, entry: i64) -> FeatureResult {
    let before = queries::entries(cx.tx, list.id).await?;
    let was_waiting: Vec<i64> = render::split_waitlist(list, &before)
        .1
        .iter()
        .map(|e| e.id)
        .collect();
    queries::delete_entry(cx.tx, entry).await?;
    let after = show(cx, list, None).await?;
    // The places freed go to the first waiting lines that now fit; their members are told.
    let listed = render::split_waitlist(list, &after).0;
    for (index, promoted) in listed.iter().enumerate() {
        if !was_waiting.contains(&promoted.id) || promoted.user_id.is_none() {
            continue;
        }
        let who = match &promoted.username {
            Some(username) => format!("@{username}"),
            None => promoted.name.clone(),
        };
        let text = cx.text(
            "relay.promoted",
            context! { who, title => &list.title, rank => index + 1 },
        );
        send(cx, list, text);
    }
    Ok(())
}

/// A message about a list, in the list's topic.
fn send(cx: &mut Cx<'_>, list: &List, text: String) {
    cx.queue(Action::Send {
        chat: cx.chat(),
        text,
        reply_to: None,
        thread: list.thread_id,
        key: None,
        buttons: Vec::new(),
    });
}

async fn explain_edit(cx: &mut Cx<'_>, list: &List, member: &User, via: Via) -> FeatureResult {
    if !list.is_open() {
        let text = cx.text("relay.closed", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    let text = if queries::latest_of(cx.tx, list.id, member.id)
        .await?
        .is_some()
    {
        cx.text(
            "relay.edit_help",
            context! { one_per_member => list.one_per_member() },
        )
    } else {
        cx.text("relay.edit_help_not_on_list", context! {})
    };
    via.tell(cx, text, true);
    Ok(())
}

async fn close_by_member(cx: &mut Cx<'_>, list: &List, member: &User, via: Via) -> FeatureResult {
    if cx.role < Role::Admin && member.id != list.created_by {
        let text = cx.text("relay.close_not_allowed", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    if !list.is_open() {
        let text = cx.text("relay.already_closed", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    let toast = cx.text("relay.closed_done", context! {});
    via.done(cx, "👌", toast);
    close(cx, list).await
}

/// Closes a list (its deadline came, or its creator or an admin closed it): the message shows
/// 已截止 and keeps only the export button, and the group is told the final count.
async fn close(cx: &mut Cx<'_>, list: &List) -> FeatureResult {
    if !queries::close(cx.tx, list.id, at(cx).max(cx.now.timestamp())).await? {
        return Ok(());
    }
    cx.cancel_timer(FEATURE, &format!("close:{}", list.id))
        .await?;
    cx.cancel_timer(FEATURE, &format!("remind:{}", list.id))
        .await?;
    let Some(list) = queries::list(cx.tx, list.id).await? else {
        return Ok(());
    };
    let entries = show(cx, &list, None).await?;
    let (listed, waiting) = render::split_waitlist(&list, &entries);
    let text = cx.text(
        "relay.closed_announce",
        context! {
            title => &list.title, count => render::count(&list, listed),
            waiting => render::count(&list, waiting),
            one_per_member => list.one_per_member(),
        },
    );
    send(cx, &list, text);
    Ok(())
}

async fn remind(cx: &mut Cx<'_>, list: &List) -> FeatureResult {
    let Some(deadline) = list.deadline_at else {
        return Ok(());
    };
    // Fired late (the bot was down): past the deadline a reminder only confuses.
    if cx.now.timestamp() >= deadline {
        return Ok(());
    }
    let entries = queries::entries(cx.tx, list.id).await?;
    let count = render::count(list, render::split_waitlist(list, &entries).0);
    let minutes = DateTime::<Utc>::from_timestamp(deadline, 0)
        .map_or(0, |d| (d - cx.event.at).num_minutes().max(1));
    let text = cx.text(
        "relay.reminder",
        context! {
            title => &list.title, minutes, count, capacity => list.capacity,
            deadline => render::when(deadline, cx.group.timezone, cx.language()),
        },
    );
    send(cx, list, text);
    Ok(())
}

/// Sends the list as two files: the WeChat text (to paste back into WeChat) and a CSV (for a
/// spreadsheet). Pressing again without a change in between only points at the last files.
async fn export(cx: &mut Cx<'_>, list: &List, via: Via) -> FeatureResult {
    if list.exported_version == Some(list.version) {
        let text = cx.text("relay.export_unchanged", context! {});
        via.tell(cx, text, false);
        return Ok(());
    }
    let entries = queries::entries(cx.tx, list.id).await?;
    let count = render::count(list, render::split_waitlist(list, &entries).0);
    let caption = cx.text(
        "relay.export_caption",
        context! { title => &list.title, count, one_per_member => list.one_per_member() },
    );
    let text = cx.text("relay.exported", context! {});
    via.done(cx, "👌", text);
    let chat = cx.chat();
    let wechat = render::list_text(cx, list, &entries, true);
    cx.queue(Action::SendDocument {
        chat,
        file_name: render::file_name(cx, list, "txt"),
        content: wechat,
        caption: Some(caption),
        thread: list.thread_id,
    });
    cx.queue(Action::SendDocument {
        chat,
        file_name: render::file_name(cx, list, "csv"),
        content: render::csv(cx, list, &entries),
        caption: None,
        thread: list.thread_id,
    });
    queries::mark_exported(cx.tx, list.id, list.version).await?;
    Ok(())
}

/// A link that opens a message of a supergroup for its members (`t.me/c/…`); basic groups
/// have none.
fn message_link(chat: i64, message: MessageId) -> Option<String> {
    let internal = chat.checked_neg()?.checked_sub(1_000_000_000_000)?;
    (internal > 0).then(|| format!("https://t.me/c/{internal}/{message}"))
}

async fn show_open_lists(cx: &mut Cx<'_>) -> FeatureResult {
    let chat = cx.chat();
    let lists = queries::open_lists(cx.tx, chat).await?;
    if lists.is_empty() {
        let text = cx.text("relay.no_open_list", context! {});
        cx.reply(text);
        return Ok(());
    }
    let mut lines = Vec::new();
    for (index, list) in lists.iter().enumerate() {
        let entries = queries::entries(cx.tx, list.id).await?;
        let count = render::count(list, render::split_waitlist(list, &entries).0);
        let link = queries::message_of_list(cx.tx, chat, list.id)
            .await?
            .and_then(|message| message_link(chat, message));
        lines.push(cx.text(
            "relay.lists_line",
            context! {
                n => index + 1, title => list.title.lines().next().unwrap_or_default(),
                count, capacity => list.capacity, one_per_member => list.one_per_member(), link,
                deadline => list.deadline_at.map(|at| render::when(at, cx.group.timezone, cx.language())),
            },
        ));
    }
    let text = cx.text("relay.lists", context! { lines });
    cx.reply(text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supergroup_messages_have_links_and_basic_groups_none() {
        assert_eq!(
            message_link(-1_001_234_567_890, 42).as_deref(),
            Some("https://t.me/c/1234567890/42")
        );
        assert_eq!(message_link(-4242, 42), None);
        assert_eq!(message_link(i64::MIN, 42), None);
    }
}
