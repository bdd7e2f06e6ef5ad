//! The rules a group keeps (`[defaults.moderation]`, `[groups."<id>".moderation]`): which checks
//! run, what a violation costs, and the ladder that N warnings climb.
//!
//! Every check is off until the operator names an action for it: a bot that starts deleting
//! messages nobody asked it to delete would be removed from the group on its first day.

use std::collections::BTreeSet;

use chrono::Duration;
use serde::Deserialize;
use toml::Spanned;

use crate::core::duration;
use crate::core::event::Media;

use crate::config::Problems;
use crate::core::i18n::Language;
use crate::core::settings::{NextValue, OverviewLine, Section, SectionCx};

/// As written in the config: every key optional; a group's table names only what differs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModerationSection {
    /// Members the rules never apply to (user ids), besides admins and the bot itself.
    #[serde(default)]
    pub exempt_users: Option<Vec<i64>>,
    /// The bot's notices about violations are deleted after this long ("1m"; "0s" keeps them).
    #[serde(default)]
    pub notices_last: Option<Spanned<String>>,
    /// A warning stops counting after this long ("30d").
    #[serde(default)]
    pub warnings_expire: Option<Spanned<String>>,
    /// What N active warnings cost: `[{ at = 3, do = "mute", for = "1d" }, { at = 5, do = "ban" }]`.
    #[serde(default)]
    pub ladder: Option<Spanned<Vec<StepSection>>>,
    #[serde(default)]
    pub links: Option<RuleSection>,
    #[serde(default)]
    pub channel_forwards: Option<RuleSection>,
    #[serde(default)]
    pub blocklist: Option<RuleSection>,
    #[serde(default)]
    pub flood: Option<RuleSection>,
    #[serde(default)]
    pub repeats: Option<RuleSection>,
    #[serde(default)]
    pub long_messages: Option<RuleSection>,
    #[serde(default)]
    pub media: Option<RuleSection>,
    #[serde(default)]
    pub newcomer_links: Option<RuleSection>,
    /// The group's own blocked words and patterns, which its admins keep with `/filter`.
    #[serde(default)]
    pub filters: Option<RuleSection>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSection {
    pub at: i64,
    #[serde(rename = "do")]
    pub act: String,
    #[serde(default, rename = "for")]
    pub lasting: Option<String>,
}

/// One check's keys. Which keys a check reads is said in config.example.toml; the others are
/// refused, so a typo cannot silently do nothing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSection {
    /// off, delete, warn (delete and warn), mute, kick or ban.
    #[serde(default)]
    pub action: Option<Spanned<String>>,
    /// How long `action = "mute"` lasts (default 1h).
    #[serde(default)]
    pub mute_for: Option<Spanned<String>>,
    /// links, newcomer_links: domains (and their subdomains) that are fine to post.
    #[serde(default)]
    pub allow_domains: Option<Vec<String>>,
    /// links: also treat @usernames that are not members the bot has seen as links.
    #[serde(default)]
    pub mentions: Option<bool>,
    /// blocklist: words or phrases, matched ignoring case, width, spaces and invisible marks.
    #[serde(default)]
    pub words: Option<Spanned<Vec<String>>>,
    /// blocklist: regular expressions, matched against the folded text.
    #[serde(default)]
    pub patterns: Option<Spanned<Vec<String>>>,
    /// flood: messages…
    #[serde(default)]
    pub messages: Option<Spanned<i64>>,
    /// flood, repeats: …within this many seconds.
    #[serde(default)]
    pub seconds: Option<Spanned<i64>>,
    /// repeats: the same text this many times.
    #[serde(default)]
    pub times: Option<Spanned<i64>>,
    /// long_messages: characters.
    #[serde(default)]
    pub max_chars: Option<Spanned<i64>>,
    /// media: sticker, animation, voice, video_note, photo, video, audio, document.
    #[serde(default)]
    pub locked: Option<Spanned<Vec<String>>>,
    /// newcomer_links: how long after joining links are not allowed.
    #[serde(default)]
    pub minutes: Option<Spanned<i64>>,
}

/// What breaking a rule costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Penalty {
    Off,
    /// The message goes; nothing else.
    Delete,
    /// The message goes and the member gets a warning, which may climb the ladder.
    Warn,
    Mute(Duration),
    /// Removed, free to come back.
    Kick,
    Ban,
}

/// A ladder step: at this many active warnings, this happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub at: i64,
    pub penalty: Penalty,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub penalty: Penalty,
}

#[derive(Clone, Debug)]
pub struct LinkRule {
    pub penalty: Penalty,
    pub allow_domains: Vec<String>,
    pub mentions: bool,
}

#[derive(Clone, Debug)]
pub struct BlocklistRule {
    pub penalty: Penalty,
    pub words: Vec<super::checks::Word>,
    pub patterns: Vec<regex::Regex>,
}

/// The group's own filters (`/filter add`): words compared as the blocklist's are, and
/// patterns (regular expressions) bounded in size, so what an admin types cannot cost much.
#[derive(Clone, Debug)]
pub struct FilterRule {
    pub penalty: Penalty,
    pub words: Vec<super::checks::Word>,
    pub patterns: Vec<regex::Regex>,
}

/// A group keeps at most this many filters (words and patterns together)…
pub const MAX_FILTERS: usize = 30;
/// …of at most this many characters each.
pub const MAX_FILTER_CHARS: usize = 50;

/// Why a filter is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterProblem {
    TooLong,
    /// Nothing left to compare once normalised (`!!!`).
    Empty,
    /// Not a regular expression.
    BadPattern,
    /// A pattern too big to match cheaply (`(a{50}){50}`).
    TooCostly,
    /// A pattern that matches every message (`.*`).
    MatchesEverything,
}

impl FilterProblem {
    /// The key of the group's answer (`moderation.filter_<key>`) and of the config check.
    pub fn key(self) -> &'static str {
        match self {
            FilterProblem::TooLong => "too_long",
            FilterProblem::Empty => "empty",
            FilterProblem::BadPattern => "bad_pattern",
            FilterProblem::TooCostly => "too_costly",
            FilterProblem::MatchesEverything => "matches_everything",
        }
    }
}

/// A filter word, checked.
pub fn filter_word(written: &str) -> Result<super::checks::Word, FilterProblem> {
    if written.chars().count() > MAX_FILTER_CHARS {
        return Err(FilterProblem::TooLong);
    }
    super::checks::Word::new(written).ok_or(FilterProblem::Empty)
}

/// A filter pattern, compiled within small limits: the regex crate matches in linear time, so
/// what a pattern can cost is its compiled size, which is capped.
pub fn filter_pattern(source: &str) -> Result<regex::Regex, FilterProblem> {
    if source.chars().count() > MAX_FILTER_CHARS {
        return Err(FilterProblem::TooLong);
    }
    let regex = regex::RegexBuilder::new(source)
        .case_insensitive(true)
        .size_limit(64 * 1024)
        .dfa_size_limit(256 * 1024)
        .nest_limit(16)
        .build()
        .map_err(|error| match error {
            regex::Error::CompiledTooBig(_) => FilterProblem::TooCostly,
            _ => FilterProblem::BadPattern,
        })?;
    // A pattern that fits the empty text or every one of a few ordinary messages (`.`, `\b`)
    // would remove the whole conversation.
    if regex.is_match("") || ["a", "你好", "1", "ok"].iter().all(|t| regex.is_match(t)) {
        return Err(FilterProblem::MatchesEverything);
    }
    Ok(regex)
}

#[derive(Clone, Debug)]
pub struct RateRule {
    pub penalty: Penalty,
    /// flood: messages; repeats: times.
    pub count: i64,
    pub seconds: i64,
}

#[derive(Clone, Debug)]
pub struct LengthRule {
    pub penalty: Penalty,
    pub max_chars: i64,
}

#[derive(Clone, Debug)]
pub struct MediaRule {
    pub penalty: Penalty,
    pub locked: BTreeSet<MediaName>,
}

/// `Media` as an ordered set member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MediaName(pub u8);

#[derive(Clone, Debug)]
pub struct NewcomerRule {
    pub penalty: Penalty,
    pub minutes: i64,
    pub allow_domains: Vec<String>,
}

/// The rules in force for one group.
#[derive(Clone, Debug)]
pub struct ModerationSettings {
    pub exempt_users: Vec<i64>,
    pub notices_last: Duration,
    pub warnings_expire: Duration,
    pub ladder: Vec<Step>,
    pub links: LinkRule,
    pub channel_forwards: Rule,
    pub blocklist: BlocklistRule,
    pub flood: RateRule,
    pub repeats: RateRule,
    pub long_messages: LengthRule,
    pub media: MediaRule,
    pub newcomer_links: NewcomerRule,
    pub filters: FilterRule,
}

impl FilterRule {
    /// Whether the group has filters that act.
    pub fn any(&self) -> bool {
        self.penalty != Penalty::Off && !(self.words.is_empty() && self.patterns.is_empty())
    }

    pub fn count(&self) -> usize {
        self.words.len() + self.patterns.len()
    }
}

impl ModerationSettings {
    /// Whether any check is on: a group without one pays nothing per message.
    pub fn checks_any(&self) -> bool {
        [
            self.links.penalty,
            self.channel_forwards.penalty,
            self.blocklist.penalty,
            self.flood.penalty,
            self.repeats.penalty,
            self.long_messages.penalty,
            self.media.penalty,
            self.newcomer_links.penalty,
        ]
        .iter()
        .any(|penalty| *penalty != Penalty::Off)
            || self.filters.any()
    }

    /// Whether a check looks back at earlier messages, which then have to be remembered.
    pub fn looks_back(&self) -> bool {
        self.flood.penalty != Penalty::Off || self.repeats.penalty != Penalty::Off
    }
}

impl Default for ModerationSettings {
    fn default() -> Self {
        ModerationSettings {
            exempt_users: Vec::new(),
            notices_last: Duration::minutes(1),
            warnings_expire: Duration::days(30),
            ladder: vec![
                Step {
                    at: 3,
                    penalty: Penalty::Mute(Duration::days(1)),
                },
                Step {
                    at: 4,
                    penalty: Penalty::Kick,
                },
                Step {
                    at: 5,
                    penalty: Penalty::Ban,
                },
            ],
            links: LinkRule {
                penalty: Penalty::Off,
                allow_domains: Vec::new(),
                mentions: false,
            },
            channel_forwards: Rule {
                penalty: Penalty::Off,
            },
            blocklist: BlocklistRule {
                penalty: Penalty::Off,
                words: Vec::new(),
                patterns: Vec::new(),
            },
            flood: RateRule {
                penalty: Penalty::Off,
                count: 6,
                seconds: 10,
            },
            repeats: RateRule {
                penalty: Penalty::Off,
                count: 3,
                seconds: 600,
            },
            long_messages: LengthRule {
                penalty: Penalty::Off,
                max_chars: 2000,
            },
            media: MediaRule {
                penalty: Penalty::Off,
                locked: BTreeSet::new(),
            },
            newcomer_links: NewcomerRule {
                penalty: Penalty::Off,
                minutes: 60,
                allow_domains: Vec::new(),
            },
            // An admin who adds a filter has named what it is for: a hit goes and counts a
            // warning, unless the operator says otherwise.
            filters: FilterRule {
                penalty: Penalty::Warn,
                words: Vec::new(),
                patterns: Vec::new(),
            },
        }
    }
}

pub const MEDIA_NAMES: [(&str, Media); 8] = [
    ("sticker", Media::Sticker),
    ("animation", Media::Animation),
    ("voice", Media::Voice),
    ("video_note", Media::VideoNote),
    ("photo", Media::Photo),
    ("video", Media::Video),
    ("audio", Media::Audio),
    ("document", Media::Document),
];

impl MediaName {
    pub fn of(media: Media) -> Option<MediaName> {
        MEDIA_NAMES
            .iter()
            .position(|(_, m)| *m == media)
            .map(|i| MediaName(i as u8))
    }
}

fn parse_duration(value: &Spanned<String>, key: &str, problems: &mut Problems) -> Option<Duration> {
    let parsed = duration::parse(value.get_ref());
    if parsed.is_none() {
        problems.push((
            value.span(),
            format!(
                "moderation.{key} `{}` is not a duration; try 10m, 2h or 30d",
                value.get_ref()
            ),
        ));
    }
    parsed
}

/// A mute's length: Telegram takes one under 30 s or over 366 days as forever.
fn parse_restriction(
    value: &Spanned<String>,
    key: &str,
    problems: &mut Problems,
) -> Option<Duration> {
    let parsed = parse_duration(value, key, problems)?;
    if !duration::RESTRICTION.contains(&parsed) {
        problems.push((
            value.span(),
            format!(
                "moderation.{key} `{}` must be from 30s to 366d: Telegram takes a shorter or longer mute as forever",
                value.get_ref()
            ),
        ));
        return None;
    }
    Some(parsed)
}

fn penalty(name: &str, lasting: Option<Duration>) -> Option<Penalty> {
    Some(match name {
        "off" => Penalty::Off,
        "delete" => Penalty::Delete,
        "warn" => Penalty::Warn,
        "mute" => Penalty::Mute(lasting.unwrap_or(Duration::hours(1))),
        "kick" => Penalty::Kick,
        "ban" => Penalty::Ban,
        _ => return None,
    })
}

impl Section for ModerationSettings {
    const KEY: &'static str = "moderation";
    type File = ModerationSection;

    /// These settings with the section's keys applied; problems are reported with the span of
    /// the offending value.
    fn apply(&self, section: &ModerationSection, cx: &mut SectionCx<'_>) -> ModerationSettings {
        let problems = &mut *cx.problems;
        let mut settings = self.clone();
        if let Some(users) = &section.exempt_users {
            settings.exempt_users = users.clone();
        }
        if let Some(value) = &section.notices_last {
            // "0s" is how an operator says "keep them", the one duration parsing refuses.
            let zero = value.get_ref().chars().any(|c| c == '0')
                && value
                    .get_ref()
                    .chars()
                    .all(|c| !c.is_ascii_digit() || c == '0');
            if zero {
                settings.notices_last = Duration::zero();
            } else if let Some(d) = parse_duration(value, "notices_last", problems) {
                settings.notices_last = d;
            }
        }
        if let Some(value) = &section.warnings_expire
            && let Some(d) = parse_duration(value, "warnings_expire", problems)
        {
            settings.warnings_expire = d;
        }
        if let Some(ladder) = &section.ladder {
            let mut steps = Vec::new();
            for step in ladder.get_ref() {
                let lasting = step.lasting.as_deref().map(|text| {
                    duration::parse(text).filter(|d| duration::RESTRICTION.contains(d))
                });
                let penalty = match (step.act.as_str(), lasting) {
                    (_, Some(None)) | ("off" | "delete" | "warn", _) => None,
                    (act, lasting) => penalty(act, lasting.flatten()),
                };
                match penalty {
                    Some(penalty) if (1..=100).contains(&step.at) => steps.push(Step { at: step.at, penalty }),
                    _ => problems.push((
                        ladder.span(),
                        format!(
                            "moderation.ladder step at {}: `do` must be mute, kick or ban, `at` 1 to 100, and `for` a duration from 30s to 366d such as 1d",
                            step.at
                        ),
                    )),
                }
            }
            steps.sort_by_key(|step| step.at);
            steps.dedup_by_key(|step| step.at);
            settings.ladder = steps;
        }
        let (p, links) = rule(problems, &section.links, "links", settings.links.penalty);
        settings.links.penalty = p;
        if let Some(links) = links {
            if let Some(domains) = &links.allow_domains {
                settings.links.allow_domains =
                    domains.iter().map(|d| normalize_domain(d)).collect();
            }
            if let Some(mentions) = links.mentions {
                settings.links.mentions = mentions;
            }
        }
        let (p, _) = rule(
            problems,
            &section.channel_forwards,
            "channel_forwards",
            settings.channel_forwards.penalty,
        );
        settings.channel_forwards.penalty = p;
        let (p, blocklist) = rule(
            problems,
            &section.blocklist,
            "blocklist",
            settings.blocklist.penalty,
        );
        settings.blocklist.penalty = p;
        if let Some(blocklist) = blocklist {
            if let Some(words) = &blocklist.words {
                settings.blocklist.words = words
                    .get_ref()
                    .iter()
                    .filter_map(|w| super::checks::Word::new(w))
                    .collect();
            }
            if let Some(patterns) = &blocklist.patterns {
                settings.blocklist.patterns.clear();
                for pattern in patterns.get_ref() {
                    match regex::RegexBuilder::new(pattern)
                        .case_insensitive(true)
                        .size_limit(1 << 20)
                        .build()
                    {
                        Ok(regex) => settings.blocklist.patterns.push(regex),
                        Err(error) => problems.push((
                            patterns.span(),
                            format!("moderation.blocklist.patterns: `{pattern}` is not a valid pattern: {error}"),
                        )),
                    }
                }
            }
        }
        for (section, name, target, count_key) in [
            (&section.flood, "flood", &mut settings.flood, "messages"),
            (&section.repeats, "repeats", &mut settings.repeats, "times"),
        ] {
            let (p, found) = rule(problems, section, name, target.penalty);
            target.penalty = p;
            let Some(found) = found else { continue };
            let count = if count_key == "messages" {
                &found.messages
            } else {
                &found.times
            };
            if let Some(count) = count {
                if (2..=1000).contains(count.get_ref()) {
                    target.count = *count.get_ref();
                } else {
                    problems.push((
                        count.span(),
                        format!("moderation.{name}.{count_key} must be between 2 and 1000"),
                    ));
                }
            }
            if let Some(seconds) = &found.seconds {
                if (1..=86_400).contains(seconds.get_ref()) {
                    target.seconds = *seconds.get_ref();
                } else {
                    problems.push((
                        seconds.span(),
                        format!("moderation.{name}.seconds must be between 1 and 86400"),
                    ));
                }
            }
        }
        let (p, long) = rule(
            problems,
            &section.long_messages,
            "long_messages",
            settings.long_messages.penalty,
        );
        settings.long_messages.penalty = p;
        if let Some(max) = long.and_then(|l| l.max_chars.as_ref()) {
            if (1..=100_000).contains(max.get_ref()) {
                settings.long_messages.max_chars = *max.get_ref();
            } else {
                problems.push((
                    max.span(),
                    "moderation.long_messages.max_chars must be between 1 and 100000".into(),
                ));
            }
        }
        let (p, media) = rule(problems, &section.media, "media", settings.media.penalty);
        settings.media.penalty = p;
        if let Some(locked) = media.and_then(|m| m.locked.as_ref()) {
            settings.media.locked.clear();
            for name in locked.get_ref() {
                match MEDIA_NAMES.iter().position(|(n, _)| n == name) {
                    Some(i) => {
                        settings.media.locked.insert(MediaName(i as u8));
                    }
                    None => problems.push((
                        locked.span(),
                        format!(
                            "moderation.media.locked: unknown kind `{name}` (known: {})",
                            MEDIA_NAMES.map(|(n, _)| n).join(", ")
                        ),
                    )),
                }
            }
        }
        let (p, filters) = rule(
            problems,
            &section.filters,
            "filters",
            settings.filters.penalty,
        );
        settings.filters.penalty = p;
        if let Some(filters) = filters {
            if let Some(words) = &filters.words {
                settings.filters.words.clear();
                for word in words.get_ref() {
                    match filter_word(word) {
                        Ok(word) => settings.filters.words.push(word),
                        Err(problem) => problems.push((
                            words.span(),
                            format!(
                                "moderation.filters.words: `{word}` {}",
                                filter_problem_words(problem)
                            ),
                        )),
                    }
                }
            }
            if let Some(patterns) = &filters.patterns {
                settings.filters.patterns.clear();
                for pattern in patterns.get_ref() {
                    match filter_pattern(pattern) {
                        Ok(regex) => settings.filters.patterns.push(regex),
                        Err(problem) => problems.push((
                            patterns.span(),
                            format!(
                                "moderation.filters.patterns: `{pattern}` {}",
                                filter_problem_words(problem)
                            ),
                        )),
                    }
                }
            }
            if settings.filters.count() > MAX_FILTERS {
                problems.push((
                    filters
                        .words
                        .as_ref()
                        .map(Spanned::span)
                        .or(filters.patterns.as_ref().map(Spanned::span))
                        .unwrap_or_default(),
                    format!(
                        "moderation.filters: at most {MAX_FILTERS} words and patterns together"
                    ),
                ));
            }
        }
        let (p, newcomer) = rule(
            problems,
            &section.newcomer_links,
            "newcomer_links",
            settings.newcomer_links.penalty,
        );
        settings.newcomer_links.penalty = p;
        if let Some(newcomer) = newcomer {
            if let Some(minutes) = &newcomer.minutes {
                if (1..=60 * 24 * 30).contains(minutes.get_ref()) {
                    settings.newcomer_links.minutes = *minutes.get_ref();
                } else {
                    problems.push((
                        minutes.span(),
                        "moderation.newcomer_links.minutes must be between 1 and 43200".into(),
                    ));
                }
            }
            if let Some(domains) = &newcomer.allow_domains {
                settings.newcomer_links.allow_domains =
                    domains.iter().map(|d| normalize_domain(d)).collect();
            }
        }
        settings
    }

    fn overview(&self, language: Language) -> Vec<OverviewLine> {
        let zh = language == Language::ZhCn;
        let value = match (self.links.penalty, zh) {
            (Penalty::Off, true) => "不管".to_owned(),
            (Penalty::Off, false) => "allowed".to_owned(),
            (Penalty::Delete, true) => "删除".to_owned(),
            (Penalty::Delete, false) => "deleted".to_owned(),
            (Penalty::Warn, true) => "删除并警告".to_owned(),
            (Penalty::Warn, false) => "deleted, with a warning".to_owned(),
            (Penalty::Mute(d), true) => format!("删除并禁言 {}", duration::describe(d, zh)),
            (Penalty::Mute(d), false) => {
                format!("deleted, muted for {}", duration::describe(d, zh))
            }
            (Penalty::Kick, true) => "删除并移出".to_owned(),
            (Penalty::Kick, false) => "deleted, member removed".to_owned(),
            (Penalty::Ban, true) => "删除并封禁".to_owned(),
            (Penalty::Ban, false) => "deleted, member banned".to_owned(),
        };
        let label = if zh { "链接" } else { "Links" };
        // A press goes round allowed → deleted → deleted with a warning → banned.
        let next = match self.links.penalty {
            Penalty::Off => "delete",
            Penalty::Delete => "warn",
            Penalty::Warn => "ban",
            Penalty::Mute(_) | Penalty::Kick | Penalty::Ban => "off",
        };
        vec![OverviewLine {
            key: "moderation.links",
            label: label.into(),
            value,
            next: NextValue::set("moderation.links.action", next),
        }]
    }
}

/// A check's penalty with the section's `action` and `mute_for` applied, and the section
/// itself for the check's own keys.
fn rule<'s>(
    problems: &mut Problems,
    section: &'s Option<RuleSection>,
    name: &str,
    current: Penalty,
) -> (Penalty, Option<&'s RuleSection>) {
    let Some(section) = section else {
        return (current, None);
    };
    let mute_for = section
        .mute_for
        .as_ref()
        .and_then(|value| parse_restriction(value, &format!("{name}.mute_for"), problems));
    let mut chosen = match (current, mute_for) {
        (Penalty::Mute(_), Some(lasting)) => Penalty::Mute(lasting),
        (other, _) => other,
    };
    if let Some(action) = &section.action {
        match penalty(action.get_ref(), mute_for) {
            Some(p) => chosen = p,
            None => problems.push((
                action.span(),
                format!(
                    "moderation.{name}.action `{}` must be off, delete, warn, mute, kick or ban",
                    action.get_ref()
                ),
            )),
        }
    }
    (chosen, Some(section))
}

fn filter_problem_words(problem: FilterProblem) -> String {
    match problem {
        FilterProblem::TooLong => format!("is longer than {MAX_FILTER_CHARS} characters"),
        FilterProblem::Empty => "has no letters or digits to match".into(),
        FilterProblem::BadPattern => "is not a valid pattern".into(),
        FilterProblem::TooCostly => "is too big a pattern to match cheaply".into(),
        FilterProblem::MatchesEverything => "would match every message".into(),
    }
}

fn normalize_domain(domain: &str) -> String {
    domain
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("*.")
        .trim_end_matches('/')
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn moderation_rules_apply_over_the_defaults_and_typos_are_refused_where_they_are() {
        let source = r#"
[defaults.moderation]
warnings_expire = "7d"
ladder = [{ at = 2, do = "mute", for = "30m" }, { at = 4, do = "ban" }]

[defaults.moderation.links]
action = "warn"
allow_domains = ["https://GitHub.com/"]

[defaults.moderation.flood]
action = "mute"
mute_for = "5m"

[groups."-1002".moderation.links]
action = "off"
"#;
        let settings = Settings::from_toml("q.toml", source, &crate::features::all()).unwrap();
        let rules = settings.defaults.section::<ModerationSettings>();
        assert_eq!(rules.warnings_expire, chrono::Duration::days(7));
        assert_eq!(rules.ladder.len(), 2);
        assert_eq!(
            rules.ladder[0].penalty,
            Penalty::Mute(chrono::Duration::minutes(30))
        );
        assert_eq!(rules.links.penalty, Penalty::Warn);
        assert_eq!(rules.links.allow_domains, vec!["github.com"]);
        assert_eq!(
            rules.flood.penalty,
            Penalty::Mute(chrono::Duration::minutes(5))
        );
        // Off until named.
        assert_eq!(rules.blocklist.penalty, Penalty::Off);
        let group = settings.group(-1002).section::<ModerationSettings>();
        assert_eq!(group.links.penalty, Penalty::Off);
        assert_eq!(
            group.links.allow_domains,
            vec!["github.com"],
            "the rest is inherited"
        );

        let broken = r#"
[defaults.moderation]
warnings_expire = "soon"

[defaults.moderation.links]
action = "nuke"

[defaults.moderation.blocklist]
action = "warn"
patterns = ["(unclosed"]

[defaults.moderation.media]
locked = ["sticker", "hologram"]
"#;
        let errors = Settings::from_toml("q.toml", broken, &crate::features::all()).unwrap_err();
        let lines: Vec<usize> = errors.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 6, 10, 13], "{errors}");
        assert!(
            errors
                .to_string()
                .contains("`nuke` must be off, delete, warn, mute, kick or ban")
        );
        assert!(errors.to_string().contains("unknown kind `hologram`"));

        // Telegram takes a mute under 30 s or over 366 days as forever.
        let forever = "[defaults.moderation]\nladder = [{ at = 2, do = \"mute\", for = \"400d\" }]\n\n[defaults.moderation.flood]\naction = \"mute\"\nmute_for = \"10s\"\n";
        let errors = Settings::from_toml("q.toml", forever, &crate::features::all()).unwrap_err();
        let lines: Vec<usize> = errors.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 6], "{errors}");
        assert!(errors.to_string().contains("from 30s to 366d"), "{errors}");

        let typo = "[defaults.moderation.flood]\nmesages = 5\n";
        let errors = Settings::from_toml("q.toml", typo, &crate::features::all()).unwrap_err();
        assert_eq!((errors.0[0].line, errors.0[0].column), (2, 1), "{errors}");
    }

    #[test]
    fn an_admins_filters_are_bounded() {
        assert!(filter_word("代刷").is_ok());
        assert_eq!(filter_word("!!!"), Err(FilterProblem::Empty));
        assert_eq!(
            filter_word(&"长".repeat(MAX_FILTER_CHARS + 1)),
            Err(FilterProblem::TooLong)
        );
        assert!(filter_pattern(r"\d{6,}元").is_ok());
        assert_eq!(
            filter_pattern("(unclosed").err(),
            Some(FilterProblem::BadPattern)
        );
        for everything in [".*", ".?", r"\b", "", "a|"] {
            assert_eq!(
                filter_pattern(everything).err(),
                Some(FilterProblem::MatchesEverything),
                "{everything}"
            );
        }
        assert_eq!(
            filter_pattern(r"\w{50}\w{50}\w{50}").err(),
            Some(FilterProblem::TooCostly)
        );
        // The same limits hold for the file, and the count besides.
        let words: Vec<String> = (0..=MAX_FILTERS).map(|i| format!("\"词{i}\"")).collect();
        let source = format!(
            "[defaults.moderation.filters]\nwords = [{}]\n",
            words.join(", ")
        );
        let errors = Settings::from_toml("q.toml", &source, &crate::features::all()).unwrap_err();
        assert!(errors.to_string().contains("at most 30"), "{errors}");
    }
}
