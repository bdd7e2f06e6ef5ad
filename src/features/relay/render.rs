//! How a list looks: the live message (split into pages when it outgrows one message), its
//! buttons, and the two exports (WeChat text, CSV).

use crate::core::numbers;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use minijinja::context;

use super::queries::{Entry, List};
use crate::core::action::{Button, MAX_MESSAGE_CHARS};
use crate::core::context::Cx;
use crate::core::i18n::Language;

/// A line as the list shows it: `3. 小王 2份`; a line taken over from WeChat has no name.
/// A member who writes their own name first (`接龙 小王 2份`, the WeChat habit) is not named twice.
pub fn line(number: usize, entry: &Entry) -> String {
    format!("{number}. {}", line_text(entry))
}

/// A line without its number.
pub fn line_text(entry: &Entry) -> String {
    let text = if entry.content.starts_with(entry.name.as_str()) {
        entry.content.clone()
    } else {
        format!("{} {}", entry.name, entry.content)
    };
    text.trim().to_owned()
}

/// The lines on the list proper and those on the waitlist (候补), each numbered from 1.
pub fn split_waitlist<'a>(list: &List, entries: &'a [Entry]) -> (&'a [Entry], &'a [Entry]) {
    let Some(capacity) = list.capacity else {
        return (entries, &[]);
    };
    // Places, not lines: `+3 带两个朋友` takes three. A line that does not fit waits, and so
    // does every line after it (first come, first served).
    let mut taken = 0;
    let cut = entries
        .iter()
        .position(|entry| {
            taken += places(entry);
            taken > capacity
        })
        .unwrap_or(entries.len());
    entries.split_at(cut)
}

/// Places a line takes: `+3 带两个朋友` three, any other line one.
pub fn places(entry: &Entry) -> i64 {
    let Some(rest) = entry.content.strip_prefix('+') else {
        return 1;
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    numbers::whole_in(&digits, 1..=99).unwrap_or(1)
}

/// What a list's count says: the places taken where each member has a line (`已接 5 人`), the
/// lines otherwise (`已接 5 条`).
pub fn count(list: &List, entries: &[Entry]) -> i64 {
    if list.one_per_member() {
        entries.iter().map(places).sum()
    } else {
        entries.len() as i64
    }
}

/// A time as the group reads it: `03-06 18:00 周五`.
pub fn when(at: i64, zone: Tz, language: Language) -> String {
    let Some(at) = DateTime::<Utc>::from_timestamp(at, 0) else {
        return String::new();
    };
    let local = at.with_timezone(&zone);
    let weekday = local.weekday().num_days_from_monday() as usize;
    match language {
        Language::ZhCn => {
            let names = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
            format!("{} {}", local.format("%m-%d %H:%M"), names[weekday])
        }
        Language::En => local.format("%a %m-%d %H:%M").to_string(),
    }
}

/// The whole list as one text: the live message (`export = false`, with its status line) or
/// the WeChat-format export.
pub fn list_text(cx: &Cx<'_>, list: &List, entries: &[Entry], export: bool) -> String {
    let (listed, waiting) = split_waitlist(list, entries);
    let closed = !list.is_open();
    let mut parts = vec![cx.text(
        "relay.list_head",
        context! { title => &list.title, example => &list.example, closed => closed && !export },
    )];
    parts.push(String::new());
    parts.extend(listed.iter().enumerate().map(|(i, e)| line(i + 1, e)));
    if listed.is_empty() && !export {
        parts.push(cx.text("relay.list_empty", context! {}));
    }
    if !waiting.is_empty() {
        parts.push(String::new());
        parts.push(cx.text("relay.list_waitlist", context! {}));
        parts.extend(waiting.iter().enumerate().map(|(i, e)| line(i + 1, e)));
    }
    if let Some(note) = &list.note {
        parts.push(String::new());
        parts.push(note.clone());
    }
    if !export {
        parts.push(String::new());
        parts.push(cx.text(
            "relay.list_status",
            context! {
                count => count(list, listed),
                waiting => count(list, waiting),
                capacity => list.capacity,
                deadline => list.deadline_at.map(|at| when(at, cx.group.timezone, cx.language())),
                closed,
                one_per_member => list.one_per_member(),
            },
        ));
    }
    parts.join("\n")
}

/// The live text cut into messages Telegram accepts, at line ends; pages after the first say
/// which list they continue.
pub fn pages(cx: &Cx<'_>, list: &List, text: &str) -> Vec<String> {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        return vec![text.to_owned()];
    }
    // Room for the continuation header.
    let budget = MAX_MESSAGE_CHARS - 300;
    let mut pages: Vec<String> = vec![String::new()];
    for text_line in text.lines() {
        let current = pages.last_mut().expect("one page at least");
        if !current.is_empty() && current.chars().count() + text_line.chars().count() + 1 > budget {
            pages.push(String::new());
        }
        let current = pages.last_mut().expect("one page at least");
        current.push_str(text_line);
        current.push('\n');
    }
    let total = pages.len();
    pages
        .into_iter()
        .enumerate()
        .map(|(index, page)| {
            let page = page.trim_end().to_owned();
            if index == 0 {
                page
            } else {
                let header = cx.text(
                    "relay.page_header",
                    context! { title => list.title.chars().take(50).collect::<String>(), page => index + 1, total },
                );
                format!("{header}\n{page}")
            }
        })
        .collect()
}

/// The buttons under a list: everything while it is open, only the export once it is closed.
pub fn buttons(cx: &Cx<'_>, list: &List) -> Vec<Vec<Button>> {
    let button = |label: &str, action: &str| {
        Button::new(
            cx.text(&format!("relay.button_{label}"), context! {}),
            format!("relay:{action}:{}", list.id),
        )
    };
    let keep = |row: Vec<Option<Button>>| row.into_iter().flatten().collect::<Vec<_>>();
    if list.is_open() {
        vec![
            keep(vec![
                button("join", "j"),
                button("edit", "e"),
                button("leave", "l"),
            ]),
            keep(vec![button("export", "x"), button("close", "c")]),
        ]
    } else {
        vec![keep(vec![button("export", "x")])]
    }
}

/// A file name for an export: the title without characters file systems dislike.
pub fn file_name(cx: &Cx<'_>, list: &List, extension: &str) -> String {
    let title: String = list
        .title
        .chars()
        .filter(|c| !c.is_control() && !"/\\:*?\"<>|".contains(*c))
        .take(30)
        .collect::<String>()
        .trim()
        .replace(char::is_whitespace, "_");
    let prefix = cx.text("relay.file_prefix", context! {});
    let date = cx
        .event
        .at
        .with_timezone(&cx.group.timezone)
        .format("%Y%m%d");
    format!("{prefix}-{title}-{date}.{extension}")
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). A field
/// that a spreadsheet would run as a formula gets a leading apostrophe.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The list as CSV: 序号, name, user id, text, time, and whether the line is on the waitlist.
/// Starts with a byte-order mark so that spreadsheet programs read the Chinese right.
pub fn csv(cx: &Cx<'_>, list: &List, entries: &[Entry]) -> String {
    let header = cx.text("relay.csv_header", context! {});
    let waitlisted = cx.text("relay.csv_waitlisted", context! {});
    let listed = split_waitlist(list, entries).0.len();
    let mut out = String::from("\u{FEFF}");
    out.push_str(header.trim());
    out.push_str("\r\n");
    for (index, entry) in entries.iter().enumerate() {
        let time = DateTime::<Utc>::from_timestamp(entry.created_at, 0)
            .map(|at| {
                at.with_timezone(&cx.group.timezone)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let fields = [
            (index + 1).to_string(),
            csv_field(&entry.name),
            entry.user_id.map(|id| id.to_string()).unwrap_or_default(),
            csv_field(&entry.content),
            time,
            if index >= listed {
                waitlisted.clone()
            } else {
                String::new()
            },
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("小王"), "小王");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
