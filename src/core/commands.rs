//! Command manifests: one TOML file per command, shipped by the feature that runs it (its
//! `commands/` folder) or dropped by the operator into `bot-commands/`. They drive parsing (slash
//! commands, `/cmd@botname`, and the Chinese text triggers members type without a slash),
//! `/help`, permission checks and `setMyCommands`. A manifest with a `reply` template and no code
//! behind it is a complete command, so operators add `/faq` or `/links` by dropping in a file.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::hanzi;
use super::i18n::Language;

/// A feature's shipped manifests, `(file name, TOML text)`, from the `commands/` folder beside
/// the file that names them: `manifests!["signin.toml", "me.toml"]`. They are built into the
/// binary, so qunbot works from any directory.
#[macro_export]
macro_rules! manifests {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("commands/", $file)))),*]
    };
}

/// Text in each language, or one text for all.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Localized {
    Same(String),
    PerLanguage {
        #[serde(rename = "zh-CN")]
        zh_cn: String,
        en: String,
    },
}

impl Localized {
    pub fn get(&self, language: Language) -> &str {
        match (self, language) {
            (Localized::Same(text), _) => text,
            (Localized::PerLanguage { zh_cn, .. }, Language::ZhCn) => zh_cn,
            (Localized::PerLanguage { en, .. }, Language::En) => en,
        }
    }
}

/// Who may run a command. Ordered: an owner may do what an admin may.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    #[default]
    Member,
    Admin,
    Owner,
}

/// Where a command may be used.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Group,
    Private,
    #[default]
    Both,
}

impl Scope {
    pub fn allows(self, private_chat: bool) -> bool {
        match self {
            Scope::Both => true,
            Scope::Group => !private_chat,
            Scope::Private => private_chat,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The slash command, 1–32 of `a-z 0-9 _` (Telegram's rule).
    pub name: String,
    /// More slash names (`checkin`) and text triggers typed without a slash (`签到`).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub description: Localized,
    /// The usage line shown when the arguments are wrong, e.g. `/warn <reason>`.
    #[serde(default)]
    pub usage: Option<Localized>,
    #[serde(default)]
    pub permission: Permission,
    #[serde(default, rename = "where")]
    pub scope: Scope,
    /// Whether a text trigger may be followed by arguments (`接龙 周六爬山`). Off by default,
    /// so `签到了吗` or `签到 了吗` in conversation is not taken for a command.
    #[serde(default)]
    pub trigger_takes_args: bool,
    /// Sentence-final words a whole-message trigger may end with (`了` makes `签到了` count).
    /// A question (`签到了吗`, `签到？`) never counts.
    #[serde(default)]
    pub trigger_particles: Vec<String>,
    /// Keep out of /help and the Telegram command menu.
    #[serde(default)]
    pub hidden: bool,
    /// A reply template that makes this a complete command with no code behind it.
    #[serde(default)]
    pub reply: Option<Localized>,
}

impl Manifest {
    pub fn usage_line(&self, language: Language) -> String {
        match &self.usage {
            Some(usage) => usage.get(language).to_owned(),
            None => format!("/{}", self.name),
        }
    }

    /// What members may type without a slash: every alias (`签到`, and `qd` too, which also
    /// works as `/qd`). Matched as the whole message, ignoring case, traditional characters as
    /// simplified ones, and with what people add after a word left off: `签到！`, `打卡~`,
    /// `签到😊`, and the manifest's `trigger_particles` (`签到了`).
    pub fn text_triggers(&self) -> impl Iterator<Item = &str> {
        self.aliases.iter().map(String::as_str)
    }
}

/// Telegram's rule for a command name.
pub fn is_command_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error(
        "{file} is shipped by both {first} and {second}; a manifest's file name belongs to one feature"
    )]
    ShippedTwice {
        file: String,
        first: String,
        second: String,
    },
}

/// A parsed request to run a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The manifest's name, whatever alias was typed.
    pub name: String,
    /// Everything after the command word, trimmed.
    pub args: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Command(Invocation),
    /// `/something` addressed to this bot (by `@name` or in a private chat) that no manifest
    /// knows: worth a hint pointing at /help.
    Unknown(String),
    /// Ordinary conversation, or a command for some other bot.
    NotACommand,
}

#[derive(Clone, Debug, Default)]
pub struct CommandSet {
    manifests: Vec<Manifest>,
    /// Slash names and slash aliases → index into `manifests`.
    by_slash_name: HashMap<String, usize>,
    /// Text triggers → index into `manifests`.
    by_trigger: HashMap<String, usize>,
}

impl CommandSet {
    /// The manifests the features ship, `(feature, its manifests)`, replaced and extended by the
    /// `*.toml` files in `dir` if it exists: a file there replaces the shipped one of the same
    /// file name. Two features shipping the same file name is refused. The set is in file name
    /// order, wherever each file came from.
    pub fn load<'a>(
        shipped: impl IntoIterator<Item = (&'a str, &'a [(&'a str, &'a str)])>,
        dir: Option<&Path>,
    ) -> Result<CommandSet, ManifestError> {
        // (file name, what to call it in errors, text)
        let mut files: Vec<(String, String, String)> = Vec::new();
        let mut owners: HashMap<&str, &str> = HashMap::new();
        for (owner, manifests) in shipped {
            for (file, text) in manifests {
                if let Some(first) = owners.insert(*file, owner) {
                    return Err(ManifestError::ShippedTwice {
                        file: (*file).to_owned(),
                        first: first.to_owned(),
                        second: owner.to_owned(),
                    });
                }
                files.push((
                    (*file).to_owned(),
                    format!("{file} (shipped by {owner})"),
                    (*text).to_owned(),
                ));
            }
        }
        if let Some(dir) = dir.filter(|dir| dir.is_dir()) {
            let io_error = |error| ManifestError::Io {
                path: dir.display().to_string(),
                error,
            };
            let entries: Vec<_> = std::fs::read_dir(dir)
                .map_err(io_error)?
                .collect::<Result<_, _>>()
                .map_err(io_error)?;
            for entry in entries {
                let path = entry.path();
                if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|error| ManifestError::Io {
                    path: path.display().to_string(),
                    error,
                })?;
                let file_name = entry.file_name().to_string_lossy().into_owned();
                files.retain(|(name, _, _)| *name != file_name);
                files.push((file_name, path.display().to_string(), text));
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Self::from_sources(
            files
                .iter()
                .map(|(_, source, text)| (source.as_str(), text.as_str())),
        )
    }

    /// Builds the set from `(file name, TOML text)` pairs, checking names and clashes.
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<CommandSet, ManifestError> {
        let mut set = CommandSet::default();
        for (file, text) in sources {
            let invalid = |message: String| ManifestError::Invalid {
                file: file.to_owned(),
                message,
            };
            let manifest: Manifest =
                toml::from_str(text).map_err(|error| invalid(error.to_string()))?;
            if !is_command_name(&manifest.name) {
                return Err(invalid(format!(
                    "name `{}` must be 1-32 characters of a-z, 0-9 and _ (Telegram's rule)",
                    manifest.name
                )));
            }
            let index = set.manifests.len();
            for slash in std::iter::once(manifest.name.as_str()).chain(
                manifest
                    .aliases
                    .iter()
                    .map(String::as_str)
                    .filter(|a| is_command_name(a)),
            ) {
                if set.by_slash_name.insert(slash.to_owned(), index).is_some() {
                    return Err(invalid(format!(
                        "`/{slash}` is already used by another command"
                    )));
                }
            }
            for trigger in manifest.text_triggers() {
                let trigger = hanzi::simplified(normalize(trigger)).to_lowercase();
                if trigger.is_empty() || trigger.starts_with('/') {
                    return Err(invalid(format!(
                        "alias `{trigger}` must not be empty or start with /"
                    )));
                }
                if set
                    .by_trigger
                    .insert(trigger.clone(), index)
                    .is_some_and(|other| other != index)
                {
                    return Err(invalid(format!(
                        "text trigger `{trigger}` is already used by another command"
                    )));
                }
            }
            set.manifests.push(manifest);
        }
        Ok(set)
    }

    pub fn get(&self, name: &str) -> Option<&Manifest> {
        self.by_slash_name
            .get(name)
            .map(|&index| &self.manifests[index])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Manifest> {
        self.manifests.iter()
    }

    /// Reads a message as a command, if it is one meant for this bot.
    pub fn parse(&self, text: &str, bot_username: &str, private_chat: bool) -> Parsed {
        let text = normalize(text);
        if let Some(rest) = text.strip_prefix('/') {
            let (word, args) = split_first_word(rest);
            let (name, addressee) = match word.split_once('@') {
                Some((name, addressee)) => (name, Some(addressee)),
                None => (word, None),
            };
            let for_me = match addressee {
                Some(addressee) => addressee.eq_ignore_ascii_case(bot_username),
                None => true,
            };
            if !for_me || name.is_empty() {
                return Parsed::NotACommand;
            }
            let name = name.to_lowercase();
            return match self.by_slash_name.get(&name) {
                Some(&index) => Parsed::Command(Invocation {
                    name: self.manifests[index].name.clone(),
                    args: args.to_owned(),
                }),
                // A bare unknown `/x` in a group may belong to another bot: leave it alone.
                None if addressee.is_some() || private_chat => Parsed::Unknown(name),
                None => Parsed::NotACommand,
            };
        }
        let lowered = hanzi::simplified(text).to_lowercase();
        if let Some(index) = self.whole_message_trigger(&lowered) {
            return Parsed::Command(Invocation {
                name: self.manifests[index].name.clone(),
                args: String::new(),
            });
        }
        let (word, _) = split_first_word(&lowered);
        let (_, args) = split_first_word(text);
        match self.by_trigger.get(word) {
            Some(&index) if self.manifests[index].trigger_takes_args && !args.is_empty() => {
                Parsed::Command(Invocation {
                    name: self.manifests[index].name.clone(),
                    args: args.to_owned(),
                })
            }
            _ => Parsed::NotACommand,
        }
    }
}

impl CommandSet {
    /// The manifest whose trigger the whole (lowered, simplified) message is: exactly, or with
    /// trailing punctuation and emoji left off (`签到！`, `打卡😊`), or with one of the
    /// manifest's particles after it (`签到了`, `签到啦～`). A question mark keeps it a question.
    fn whole_message_trigger(&self, text: &str) -> Option<usize> {
        if let Some(&index) = self.by_trigger.get(text) {
            return Some(index);
        }
        let bare = without_decoration(text);
        if let Some(&index) = self.by_trigger.get(bare) {
            return Some(index);
        }
        self.manifests
            .iter()
            .enumerate()
            .find_map(|(index, manifest)| {
                manifest.trigger_particles.iter().find_map(|particle| {
                    let word = without_decoration(bare.strip_suffix(particle.as_str())?);
                    (self.by_trigger.get(word) == Some(&index)).then_some(index)
                })
            })
    }
}

/// `text` without the punctuation, emoji and spaces after its last word; a question mark stays.
fn without_decoration(text: &str) -> &str {
    text.trim_end_matches(|c: char| !c.is_alphanumeric() && !matches!(c, '?' | '？'))
}

/// Trims white space and the invisible characters clients sometimes leave around a message.
fn normalize(text: &str) -> &str {
    text.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
    })
}

fn split_first_word(text: &str) -> (&str, &str) {
    match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], text[at..].trim()),
        None => (text, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> CommandSet {
        CommandSet::from_sources([
            (
                "signin.toml",
                r#"
                name = "signin"
                aliases = ["checkin", "签到", "打卡"]
                trigger_particles = ["了", "啦"]
                description = { zh-CN = "每日签到", en = "Daily sign-in" }
                "#,
            ),
            (
                "relay.toml",
                r#"
                name = "relay"
                aliases = ["接龙"]
                trigger_takes_args = true
                description = "接龙"
                "#,
            ),
        ])
        .unwrap()
    }

    fn command(name: &str, args: &str) -> Parsed {
        Parsed::Command(Invocation {
            name: name.into(),
            args: args.into(),
        })
    }

    #[test]
    fn slash_commands_aliases_and_addressees() {
        let set = set();
        assert_eq!(set.parse("/signin", "qunbot", false), command("signin", ""));
        assert_eq!(
            set.parse("/CheckIn@QunBot  now ", "qunbot", false),
            command("signin", "now")
        );
        assert_eq!(
            set.parse("/signin@otherbot", "qunbot", false),
            Parsed::NotACommand
        );
        assert_eq!(
            set.parse("/x@qunbot", "qunbot", false),
            Parsed::Unknown("x".into())
        );
        assert_eq!(set.parse("/x", "qunbot", false), Parsed::NotACommand);
        assert_eq!(set.parse("/x", "qunbot", true), Parsed::Unknown("x".into()));
        assert_eq!(set.parse("/", "qunbot", true), Parsed::NotACommand);
    }

    #[test]
    fn text_triggers_match_the_whole_message_unless_they_take_arguments() {
        let set = set();
        assert_eq!(set.parse("签到", "qunbot", false), command("signin", ""));
        assert_eq!(
            set.parse("\u{200B}打卡 \n", "qunbot", false),
            command("signin", "")
        );
        assert_eq!(set.parse("签到了吗", "qunbot", false), Parsed::NotACommand);
        for typed in [
            "签到！",
            "签到了",
            "簽到",
            "签到😊",
            "打卡！",
            "签到啦～",
            "签到 !!",
            "打卡了。",
        ] {
            assert_eq!(
                set.parse(typed, "qunbot", false),
                command("signin", ""),
                "{typed}"
            );
        }
        for talk in [
            "今天忘了签到怎么办",
            "签到？",
            "签到了?",
            "签到了了",
            "接龙了",
        ] {
            assert_eq!(
                set.parse(talk, "qunbot", false),
                Parsed::NotACommand,
                "{talk}"
            );
        }
        assert_eq!(set.parse("签到 了吗", "qunbot", false), Parsed::NotACommand);
        // ASCII aliases work without the slash too, in any case.
        assert_eq!(set.parse("CheckIn", "qunbot", false), command("signin", ""));
        assert_eq!(
            set.parse("signin", "qunbot", false),
            Parsed::NotACommand,
            "the name itself needs its slash"
        );
        assert_eq!(
            set.parse("接龙 周六爬山", "qunbot", false),
            command("relay", "周六爬山")
        );
    }

    #[test]
    fn clashing_names_are_refused() {
        let error = CommandSet::from_sources([
            (
                "a.toml",
                "name = \"a\"\naliases = [\"签到\"]\ndescription = \"a\"",
            ),
            (
                "b.toml",
                "name = \"b\"\naliases = [\"签到\"]\ndescription = \"b\"",
            ),
        ])
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("b.toml: text trigger `签到` is already used"),
            "{error}"
        );
        let error =
            CommandSet::from_sources([("c.toml", "name = \"Bad-Name\"\ndescription = \"c\"")])
                .unwrap_err();
        assert!(
            error.to_string().contains("must be 1-32 characters"),
            "{error}"
        );
    }

    #[test]
    fn unknown_manifest_keys_are_refused() {
        let error = CommandSet::from_sources([(
            "d.toml",
            "name = \"d\"\ndescription = \"d\"\npermision = \"admin\"",
        )])
        .unwrap_err();
        assert!(error.to_string().contains("permision"), "{error}");
    }
}
