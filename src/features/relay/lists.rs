//! A list as a whole: creating it from `/relay` or `接龙 …` (deadline and reminder timers
//! included), putting its state in its message pages, closing it, the reminder before the
//! deadline, the export as files, and `/relays`, the open lists.

use chrono::{DateTime, Duration, Utc};
use minijinja::context;

use super::config::{RelaySettings, WhoCanCreate};
use super::entries::continue_list;
use super::parse::{self, SpecError};
use super::queries::{self, Entry, List, NewEntry, NewList};
use super::{FEATURE, Via, at, render};
use crate::core::action::{Action, MessageRef};
use crate::core::context::{Cx, Role};
use crate::core::event::{MessageId, User};
use crate::core::feature::FeatureResult;

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

pub(super) async fn create(
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

/// Puts the list's current state in its message(s): the first page is sent in reply to
/// `creating_message` when the list is new, edited otherwise. Returns the lines shown.
pub(super) async fn show(
    cx: &mut Cx<'_>,
    list: &List,
    creating_message: Option<MessageId>,
) -> FeatureResult<Vec<Entry>> {
    let entries = queries::entries(cx.tx, list.id).await?;
    show_lines(cx, list, &entries, creating_message).await?;
    Ok(entries)
}

/// `show` with the lines already read.
pub(super) async fn show_lines(
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

/// A message about a list, in the list's topic.
pub(super) fn send(cx: &mut Cx<'_>, list: &List, text: String) {
    cx.queue(Action::Send {
        chat: cx.chat(),
        text,
        reply_to: None,
        thread: list.thread_id,
        key: None,
        buttons: Vec::new(),
    });
}

pub(super) async fn close_by_member(
    cx: &mut Cx<'_>,
    list: &List,
    member: &User,
    via: Via,
) -> FeatureResult {
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
pub(super) async fn close(cx: &mut Cx<'_>, list: &List) -> FeatureResult {
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

pub(super) async fn remind(cx: &mut Cx<'_>, list: &List) -> FeatureResult {
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
pub(super) async fn export(cx: &mut Cx<'_>, list: &List, via: Via) -> FeatureResult {
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

pub(super) async fn show_open_lists(cx: &mut Cx<'_>) -> FeatureResult {
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
