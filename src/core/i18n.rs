//! The bot's own words, in every language a group can choose.
//!
//! Each feature keeps its messages in a `messages.toml` beside its code, one table per message
//! with the text in each language side by side, so a translation cannot drift out of sight:
//!
//! ```toml
//! [help_header]
//! zh-CN = "可用命令："
//! en = "Commands:"
//! ```
//!
//! Texts are minijinja templates. A message missing a language is an error when the catalog
//! loads, which the test suite does, so it never reaches a group.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::templates::{TemplateError, Templates};

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Language {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::ZhCn, Language::En];

    /// The tag used in the config and in message catalogs.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    /// The two-letter code Telegram uses for a user's client language (setMyCommands).
    pub fn telegram_code(self) -> &'static str {
        match self {
            Language::ZhCn => "zh",
            Language::En => "en",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(tag: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|language| language.tag().eq_ignore_ascii_case(tag))
            .ok_or_else(|| format!("unknown language `{tag}` (expected zh-CN or en)"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{source_name}: not valid TOML: {message}")]
    Syntax {
        source_name: String,
        message: String,
    },
    #[error("{source_name}: message `{key}` has no {language} text")]
    MissingLanguage {
        source_name: String,
        key: String,
        language: Language,
    },
    #[error("{source_name}: message `{key}` is defined twice")]
    Duplicate { source_name: String, key: String },
    #[error("{source_name}: message `{key}` ({language}): {error}")]
    Template {
        source_name: String,
        key: String,
        language: Language,
        error: TemplateError,
    },
}

/// The template name a message is stored under.
pub fn message_template_name(language: Language, key: &str) -> String {
    format!("msg/{}/{key}", language.tag())
}

/// Adds one catalog's messages to `templates`, each key prefixed with `namespace.`.
pub fn load_catalog(
    templates: &mut Templates,
    source_name: &str,
    namespace: &str,
    toml_source: &str,
) -> Result<(), CatalogError> {
    let messages: BTreeMap<String, BTreeMap<String, String>> = toml::from_str(toml_source)
        .map_err(|error| CatalogError::Syntax {
            source_name: source_name.to_owned(),
            message: error.to_string(),
        })?;
    for (key, texts) in messages {
        let key = format!("{namespace}.{key}");
        for language in Language::ALL {
            let Some(text) = texts.get(language.tag()) else {
                return Err(CatalogError::MissingLanguage {
                    source_name: source_name.to_owned(),
                    key,
                    language,
                });
            };
            let name = message_template_name(language, &key);
            if templates.has(&name) {
                return Err(CatalogError::Duplicate {
                    source_name: source_name.to_owned(),
                    key,
                });
            }
            templates
                .add(name, text.clone())
                .map_err(|error| CatalogError::Template {
                    source_name: source_name.to_owned(),
                    key: key.clone(),
                    language,
                    error,
                })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_without_english_is_refused() {
        let mut templates = Templates::new();
        let error =
            load_catalog(&mut templates, "t.toml", "t", "[hello]\nzh-CN = \"你好\"\n").unwrap_err();
        assert!(
            error.to_string().contains("`t.hello` has no en text"),
            "{error}"
        );
    }

    #[test]
    fn languages_parse_from_their_tags() {
        assert_eq!("zh-CN".parse::<Language>().unwrap(), Language::ZhCn);
        assert_eq!("en".parse::<Language>().unwrap(), Language::En);
        assert!("fr".parse::<Language>().is_err());
    }
}
