//! A member's lines: joining (capped per member and per list, beyond the capacity on the
//! waitlist), a pasted copy of the list with lines added, editing a line by reply or by
//! editing the message, leaving, the creator or an admin taking a line off, and the first
//! waiting line moving up when a place frees.

use minijinja::context;

use super::lists::{send, show, show_lines};
use super::queries::{self, Entry, List, NewEntry};
use super::{Via, at, parse, render};
use crate::core::context::{Cx, Role};
use crate::core::event::{MessageId, User};
use crate::core::feature::FeatureResult;

/// Lines a list holds at most (waitlist included): a longer one is many pages of edits.
const MAX_LINES: i64 = 1_000;
/// Lines one member may add to a list that allows several.
const MAX_LINES_PER_MEMBER: i64 = 20;

/// A pasted copy of an open list with lines added: the lines the list does not have yet are
/// the member's (in a one-line-per-member list, the last of them).
pub(super) async fn continue_list(
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

/// 1-based place of a line among the list's lines.
fn rank_of(entries: &[Entry], id: i64) -> usize {
    entries
        .iter()
        .position(|e| e.id == id)
        .map_or(0, |index| index + 1)
}

pub(super) async fn join(
    cx: &mut Cx<'_>,
    list: &List,
    member: &User,
    text: &str,
    via: Via,
) -> FeatureResult {
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

pub(super) async fn edit(
    cx: &mut Cx<'_>,
    list: &List,
    member: &User,
    text: &str,
    via: Via,
) -> FeatureResult {
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
pub(super) async fn edit_by_message(
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

pub(super) async fn leave(cx: &mut Cx<'_>, list: &List, member: &User, via: Via) -> FeatureResult {
    let Some(mine) = own_line(cx, list, member, &via).await? else {
        return Ok(());
    };
    let toast = cx.text("relay.left", context! {});
    via.done(cx, "👌", toast);
    take_off(cx, list, mine.id).await
}

/// The creator or an admin takes a line off: `删除 3` (line 3) or `删除 候补 1` (the first
/// waiting line). The only way to remove a line taken over from a pasted WeChat list.
pub(super) async fn remove(
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

pub(super) async fn explain_edit(
    cx: &mut Cx<'_>,
    list: &List,
    member: &User,
    via: Via,
) -> FeatureResult {
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
