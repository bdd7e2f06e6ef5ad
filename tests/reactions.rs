//! Every reaction qunbot can make is one Telegram takes: `setMessageReaction` refuses an emoji
//! outside the list under `ReactionTypeEmoji` in the Bot API reference with `400
//! REACTION_INVALID`. The reference is vendored as `tests/fixtures/telegram-bot-api-spec.json`
//! (Bot API 10.1 as data, from the project's shared reference notes).

use std::path::{Path, PathBuf};

use qunbot::core::reactions::REACTION_EMOJI;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The emoji the reference lists, in its order: the quoted strings of the `emoji` field's
/// description ("Currently, it can be one of "❤", "👍", …").
fn reference_emoji() -> Vec<String> {
    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/telegram-bot-api-spec.json"))
            .expect("the vendored Bot API reference"),
    )
    .expect("the reference is JSON");
    let field = spec["types"]["ReactionTypeEmoji"]["fields"]
        .as_array()
        .expect("ReactionTypeEmoji's fields")
        .iter()
        .find(|field| field["name"] == "emoji")
        .expect("an emoji field");
    let description = field["description"].as_str().expect("its description");
    let listed = description
        .split_once("one of")
        .expect("the description lists the emoji")
        .1;
    listed
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_list_in_the_code_is_the_references() {
    let reference = reference_emoji();
    assert!(reference.len() > 50, "read too few: {reference:?}");
    assert_eq!(REACTION_EMOJI, reference.as_slice());
}

/// Pictographs, dingbats and the joiners and selectors emoji are made of: what a reaction
/// literal is written in (and CJK text, punctuation and ASCII are not).
fn is_emoji_char(c: char) -> bool {
    matches!(c as u32, 0x2190..=0x2BFF | 0x1F000..=0x1FAFF | 0x200D | 0xFE0F)
}

/// The string literals of a line of Rust (escapes are kept as written: a reaction literal has
/// none).
fn string_literals(line: &str) -> Vec<&str> {
    let mut literals = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (index, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(index);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else { break };
        literals.push(&after[..end]);
        rest = &after[end + 1..];
    }
    literals
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// Whether code around a line asks for a reaction: a call that reacts, a relay answer
/// (`via.done`, `via.refuse`), a configured reaction's default.
fn asks_for_a_reaction(context: &str) -> bool {
    let context = context.to_lowercase();
    ["react", ".done(", ".refuse(", "emoji:"]
        .iter()
        .any(|word| context.contains(word))
}

#[test]
fn every_reaction_the_code_asks_for_is_on_the_list() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut asked = Vec::new();
    let mut refused = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        // A module's unit tests come last; they may name refused emoji on purpose.
        let lines: Vec<&str> = source
            .lines()
            .take_while(|line| line.trim() != "#[cfg(test)]")
            .collect();
        for (number, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for literal in string_literals(line) {
                if literal.is_empty() || !literal.chars().all(is_emoji_char) {
                    continue;
                }
                // A call rustfmt spread over lines names what it does a line or three above.
                let context = lines[number.saturating_sub(3)..=number].join("\n");
                if !asks_for_a_reaction(&context) {
                    continue;
                }
                let place = format!(
                    "{}:{}",
                    file.strip_prefix(root()).unwrap().display(),
                    number + 1
                );
                if REACTION_EMOJI.contains(&literal) {
                    asked.push(literal.to_owned());
                } else {
                    refused.push(format!("{place}: {literal}"));
                }
            }
        }
    }
    assert!(
        refused.is_empty(),
        "reactions Telegram refuses:\n{}",
        refused.join("\n")
    );
    // The scan finds what it is meant to: the sign-in's, the relay's, the games' default.
    for expected in ["👍", "👌", "✍", "🫡", "🤷", "👎"] {
        assert!(
            asked.iter().any(|e| e == expected),
            "the scan missed {expected}: {asked:?}"
        );
    }
}

#[test]
fn every_reaction_the_example_config_sets_is_on_the_list() {
    let example: toml::Value =
        toml::from_str(&std::fs::read_to_string(root().join("config.example.toml")).unwrap())
            .unwrap();
    let mut found = Vec::new();
    let mut stack = vec![(String::new(), &example)];
    while let Some((path, value)) = stack.pop() {
        match value {
            toml::Value::Table(table) => {
                for (key, value) in table {
                    stack.push((format!("{path}.{key}"), value));
                }
            }
            toml::Value::String(emoji) if path.ends_with("reaction") => {
                assert!(
                    REACTION_EMOJI.contains(&emoji.as_str()),
                    "{path} = {emoji:?} is not a reaction Telegram takes"
                );
                found.push(path);
            }
            _ => {}
        }
    }
    assert_eq!(found, [".defaults.games.wrong_answer_reaction"]);
}
