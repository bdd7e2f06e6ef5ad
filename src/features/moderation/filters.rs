//! `/filter add|del|list`: the group's own blocked words and patterns, kept by its admins in
//! the chat. A filter is one entry of `moderation.filters.words` or `.patterns`, changed
//! through the settings layer (`Cx::change_setting`: the operator's lock, the section's own
//! checks, the log chat's line), and checked here first so that a refusal says what is wrong
//! in the group's language. What an admin types is bounded: `MAX_FILTERS` entries of
//! `MAX_FILTER_CHARS` characters, patterns compiled within a small size.

use minijinja::context;

use super::config::{self, FilterProblem, MAX_FILTER_CHARS, MAX_FILTERS};
use super::settings;
use crate::core::changes::Refused;
use crate::core::context::Cx;
use crate::core::feature::{CommandOutcome, FeatureResult};

const WORDS: &str = "moderation.filters.words";
const PATTERNS: &str = "moderation.filters.patterns";

/// A filter as typed: a word, or a pattern between slashes (`/v\s*x\d+/`).
enum Entry<'a> {
    Word(&'a str),
    Pattern(&'a str),
}

impl<'a> Entry<'a> {
    fn of(text: &'a str) -> Entry<'a> {
        match text
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
        {
            Some(pattern) if !pattern.is_empty() => Entry::Pattern(pattern),
            _ => Entry::Word(text),
        }
    }
}

pub async fn run(cx: &mut Cx<'_>, args: &str) -> FeatureResult<CommandOutcome> {
    let (verb, rest) = args
        .split_once(char::is_whitespace)
        .map_or((args, ""), |(verb, rest)| (verb, rest.trim()));
    match verb.to_lowercase().as_str() {
        "list" | "ls" | "列表" | "查看" if rest.is_empty() => list(cx),
        "add" | "添加" | "加" if !rest.is_empty() => return add(cx, rest).await,
        "del" | "delete" | "remove" | "rm" | "删除" | "删" if !rest.is_empty() => {
            return remove(cx, rest).await;
        }
        "" => list(cx),
        _ => return Ok(CommandOutcome::BadArguments),
    }
    Ok(CommandOutcome::Done)
}

/// The group's filters as typed: words, then patterns between slashes.
fn written(cx: &Cx<'_>) -> (Vec<String>, Vec<String>) {
    let filters = &settings(cx).filters;
    (
        filters.words.iter().map(|w| w.written.clone()).collect(),
        filters
            .patterns
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
    )
}

fn list(cx: &mut Cx<'_>) {
    let (words, patterns) = written(cx);
    let mut shown = words;
    shown.extend(patterns.iter().map(|p| format!("/{p}/")));
    let text = if shown.is_empty() {
        cx.text("moderation.filter_none", context! {})
    } else {
        let acting = settings(cx).filters.any();
        cx.text(
            "moderation.filter_list",
            context! { filters => shown, max => MAX_FILTERS, acting },
        )
    };
    cx.reply(text);
}

async fn add(cx: &mut Cx<'_>, typed: &str) -> FeatureResult<CommandOutcome> {
    if locked(cx) {
        return Ok(CommandOutcome::Done);
    }
    let (mut words, mut patterns) = written(cx);
    let entry = Entry::of(typed);
    let checked = match entry {
        Entry::Word(word) => config::filter_word(word).map(|word| {
            let exists = settings(cx).filters.words.iter().any(|w| w.key == word.key);
            (exists, word.written)
        }),
        Entry::Pattern(pattern) => config::filter_pattern(pattern)
            .map(|_| (patterns.iter().any(|p| p == pattern), pattern.to_owned())),
    };
    let (exists, kept) = match checked {
        Ok(checked) => checked,
        Err(problem) => {
            refuse(cx, problem, typed);
            return Ok(CommandOutcome::Done);
        }
    };
    if exists {
        let text = cx.text("moderation.filter_exists", context! { filter => typed });
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    if words.len() + patterns.len() >= MAX_FILTERS {
        let text = cx.text(
            "moderation.filter_too_many",
            context! { max => MAX_FILTERS },
        );
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let (key, list) = match entry {
        Entry::Word(_) => {
            words.push(kept);
            (WORDS, words)
        }
        Entry::Pattern(_) => {
            patterns.push(kept);
            (PATTERNS, patterns)
        }
    };
    if change(cx, key, list).await? {
        let count = settings(cx).filters.count() + 1;
        let text = cx.text(
            "moderation.filter_added",
            context! { filter => typed, count, max => MAX_FILTERS },
        );
        cx.reply(text);
    }
    Ok(CommandOutcome::Done)
}

async fn remove(cx: &mut Cx<'_>, typed: &str) -> FeatureResult<CommandOutcome> {
    if locked(cx) {
        return Ok(CommandOutcome::Done);
    }
    let (mut words, mut patterns) = written(cx);
    let found = match Entry::of(typed) {
        Entry::Pattern(pattern) => patterns.iter().position(|p| p == pattern).map(|i| {
            patterns.remove(i);
            (PATTERNS, patterns)
        }),
        Entry::Word(word) => {
            // The same word however it is typed (width, case, spacing).
            let key = crate::features::moderation::checks::word_key(word);
            settings(cx)
                .filters
                .words
                .iter()
                .position(|w| w.written == word || (!key.is_empty() && w.key == key))
                .map(|i| {
                    words.remove(i);
                    (WORDS, words)
                })
        }
    };
    let Some((key, list)) = found else {
        let text = cx.text("moderation.filter_missing", context! { filter => typed });
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    };
    if change(cx, key, list).await? {
        let count = settings(cx).filters.count() - 1;
        let text = cx.text(
            "moderation.filter_removed",
            context! { filter => typed, count },
        );
        cx.reply(text);
    }
    Ok(CommandOutcome::Done)
}

/// Says so when the operator keeps the filters to the config file: then nothing typed is
/// worth checking.
fn locked(cx: &mut Cx<'_>) -> bool {
    if cx.group.is_locked(WORDS) || cx.group.is_locked(PATTERNS) {
        let text = cx.text("moderation.filter_locked", context! {});
        cx.reply(text);
        return true;
    }
    false
}

/// Says why a filter will not do, in the group's language.
fn refuse(cx: &mut Cx<'_>, problem: FilterProblem, typed: &str) {
    let shown: String = typed.chars().take(MAX_FILTER_CHARS).collect();
    let text = cx.text(
        &format!("moderation.filter_{}", problem.key()),
        context! { filter => shown, max => MAX_FILTER_CHARS },
    );
    cx.reply(text);
}

/// Writes the group's new list under `key`; false, having said why, when it was refused.
async fn change(cx: &mut Cx<'_>, key: &str, list: Vec<String>) -> FeatureResult<bool> {
    let value = toml::Value::Array(list.into_iter().map(toml::Value::String).collect());
    match cx.change_setting(key, Some(&value)).await? {
        Ok(_) => Ok(true),
        Err(Refused::Locked) => {
            let text = cx.text("moderation.filter_locked", context! {});
            cx.reply(text);
            Ok(false)
        }
        Err(Refused::Invalid(problems)) => {
            // The checks above are the section's own, so this is a file the operator changed
            // since, or a limit of the settings layer; the detail is for the log.
            tracing::info!(
                chat = cx.chat(),
                key,
                ?problems,
                "a /filter change was refused"
            );
            let text = cx.text("moderation.filter_refused", context! {});
            cx.reply(text);
            Ok(false)
        }
    }
}
