//! The operator's configuration: one TOML file, read once at start.
//!
//! Loading goes in two steps. Serde reads the file into the `file` structs, refusing unknown
//! keys by name and location. Then `Settings::build` checks what serde cannot (time zones,
//! languages, feature names, templates), collecting every problem with its file:line:column
//! rather than stopping at the first, and resolves each group's settings over the defaults.

mod file;
mod groups;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Duration;

use crate::core::event::ChatId;
use crate::core::feature::Feature;
use crate::core::i18n::Language;
use crate::core::settings::{SectionSlot, Sections};
use crate::core::templates::Templates;
use crate::scheduler::calendar::WorkCalendar;
use crate::scheduler::jobs::JobKind;
use crate::scheduler::spec::JobSchedule;

pub use file::{ConfigFile, DatabaseSection, GroupSection, TelegramSection};

pub use crate::core::settings::{GroupSettings, Problems, take_in_range};
pub use crate::scheduler::jobs::Job;

/// Where a problem is, as editors understand it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Every problem found in a config file.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// What the bot does in a group the operator never listed (no `[groups."<id>"]` table, under
/// its id or the id it had before it became a supergroup).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownGroups {
    /// As in a listed group: the defaults, scheduled posts included.
    #[default]
    Serve,
    /// Commands are answered and members' messages handled, but none of the defaults'
    /// scheduled posts (greetings, digests, reviews) go there.
    Quiet,
    /// The bot says one short line and leaves the group.
    Leave,
}

impl UnknownGroups {
    pub const NAMES: [&'static str; 3] = ["serve", "quiet", "leave"];

    fn parse(text: &str) -> Option<UnknownGroups> {
        match text.trim() {
            "serve" => Some(UnknownGroups::Serve),
            "quiet" => Some(UnknownGroups::Quiet),
            "leave" => Some(UnknownGroups::Leave),
            _ => None,
        }
    }
}

/// The loaded configuration, checked and ready to use.
pub struct Settings {
    pub file: ConfigFile,
    /// `unknown_groups`: what the bot does in groups the file does not list.
    pub unknown_groups: UnknownGroups,
    /// What a group the file does not list runs with when it is not served like the listed
    /// ones: the defaults without their scheduled posts.
    unlisted: Option<GroupSettings>,
    /// Where the config came from (for messages), or `None` for the built-in defaults.
    pub path: Option<PathBuf>,
    pub defaults: GroupSettings,
    pub groups: HashMap<ChatId, GroupSettings>,
    /// Operator templates (rules, reply-only commands…) and every feature's messages.
    pub templates: Templates,
    /// For each chat in a community, the chat whose id keeps the community's points and XP.
    pub community_of: HashMap<ChatId, ChatId>,
    /// Workdays: the shipped calendar with `[scheduler.holidays]` added.
    pub calendar: Arc<WorkCalendar>,
    /// The features' sections and the names `features = [...]` may list, kept to read a
    /// group's own changes the way the file was read.
    slots: Vec<SectionSlot>,
    switchable: Vec<&'static str>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("path", &self.path)
            .field("defaults", &self.defaults)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

/// The chat id the example config's `[groups."…"]` table is written for: -100 and twelve
/// zeros, the supergroup form of channel 0, which Telegram never gives a chat (basic groups
/// are -1 to -999999999999, supergroups -1000000000001 and below). Copying the example
/// therefore never makes the bot post to somebody's group: no update comes from this id, the
/// scheduler does not post to it, and `check-config` and `run` say the table is unused.
pub const PLACEHOLDER_CHAT_ID: ChatId = -1_000_000_000_000;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://qunbot.db";
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

impl Settings {
    /// Reads and checks a config file, for the features given: each reads its own sections.
    pub fn load(path: &Path, features: &[Arc<dyn Feature>]) -> Result<Settings, ConfigErrors> {
        let display = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|error| {
            ConfigErrors(vec![ConfigError {
                file: display.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read the file: {error}"),
            }])
        })?;
        let mut settings = Self::from_toml(&display, &source, features)?;
        settings.path = Some(path.to_owned());
        Ok(settings)
    }

    /// The settings a fresh install runs with: no file at all.
    pub fn built_in(features: &[Arc<dyn Feature>]) -> Settings {
        Self::from_toml("<built-in defaults>", "", features).expect("the empty config is valid")
    }

    pub fn from_toml(
        file_name: &str,
        source: &str,
        features: &[Arc<dyn Feature>],
    ) -> Result<Settings, ConfigErrors> {
        let locate = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = line_and_column(source, span.start);
            ConfigError {
                file: file_name.to_owned(),
                line,
                column,
                message,
            }
        };
        let syntax = |error: toml::de::Error| {
            let span = error.span().unwrap_or(0..0);
            ConfigErrors(vec![locate(span, error.message().trim().to_owned())])
        };
        // One parse: the top level is read here, each group's table by `groups`.
        let root = toml::de::DeTable::parse(source).map_err(syntax)?;
        let root_span = root.span();
        let mut root = root.into_inner();
        let mut errors = Vec::new();
        let defaults_table = groups::take_table(&mut root, "defaults", &locate, &mut errors);
        let groups_table = groups::take_table(&mut root, "groups", &locate, &mut errors);
        let file: ConfigFile = groups::read(toml::Spanned::new(root_span, root), &locate)
            .map_err(|error| ConfigErrors(vec![error]))?;

        let mut templates = Templates::new();
        if let Err(error) = load_catalogs(&mut templates, features) {
            errors.push(ConfigError {
                file: "<message catalogs>".into(),
                line: 0,
                column: 0,
                message: error.to_string(),
            });
        }
        let mut switchable: Vec<&'static str> = features
            .iter()
            .filter(|feature| !feature.always_on())
            .map(|feature| feature.name())
            .collect();
        switchable.sort_unstable();
        let slots: Vec<SectionSlot> = features
            .iter()
            .flat_map(|feature| feature.sections())
            .collect();

        let built_in = GroupSettings {
            language: Language::default(),
            timezone: DEFAULT_TIMEZONE.parse().expect("a valid zone"),
            features: switchable.iter().map(|name| (*name).to_owned()).collect(),
            rules_template: None,
            log_chat: None,
            day_starts_at: chrono::NaiveTime::MIN,
            jobs: Vec::new(),
            schedule: Default::default(),
            sections: Sections::default(),
            locked: Vec::new(),
            own_templates: None,
        };
        let work_calendar = Arc::new(work_calendar(&file.scheduler, &mut |span, message| {
            errors.push(locate(span, message))
        }));
        let resolver = groups::Resolver {
            locate: &locate,
            slots: &slots,
            switchable: &switchable,
            calendar: &work_calendar,
        };
        let defaults = resolver.resolve(
            defaults_table,
            &built_in,
            "cfg/defaults",
            &mut templates,
            &mut errors,
        );
        let mut groups = HashMap::new();
        for (key, value) in groups_table.map(|t| t.into_inner()).unwrap_or_default() {
            let what = format!("[groups.\"{}\"]", key.get_ref());
            let table = groups::as_table(value, &what, &locate, &mut errors);
            match key.get_ref().trim().parse::<ChatId>() {
                Ok(chat) => {
                    let prefix = format!("cfg/group/{chat}");
                    let resolved =
                        resolver.resolve(table, &defaults, &prefix, &mut templates, &mut errors);
                    groups.insert(chat, resolved);
                }
                Err(_) => errors.push(locate(
                    key.span(),
                    format!(
                        "group key `{}` must be a numeric chat id, such as \"-1001234567890\"",
                        key.get_ref()
                    ),
                )),
            }
        }
        for (field, value) in [
            (
                "polling_timeout_secs",
                file.telegram.polling_timeout_secs.as_ref(),
            ),
            (
                "max_reply_age_secs",
                file.telegram.max_reply_age_secs.as_ref(),
            ),
            (
                "messages_per_minute_per_group",
                file.telegram.messages_per_minute_per_group.as_ref(),
            ),
        ] {
            if let Some(value) = value {
                let allowed = match field {
                    // teloxide's HTTP client gives up on a request after 17 s.
                    "polling_timeout_secs" => 1..=15,
                    "messages_per_minute_per_group" => 1..=20,
                    _ => 1..=86_400,
                };
                if !allowed.contains(value.get_ref()) {
                    errors.push(locate(
                        value.span(),
                        format!(
                            "telegram.{field} must be between {} and {}",
                            allowed.start(),
                            allowed.end()
                        ),
                    ));
                }
            }
        }
        if let Some(grace) = &file.scheduler.grace_secs
            && !(0..=86_400).contains(grace.get_ref())
        {
            errors.push(locate(
                grace.span(),
                "scheduler.grace_secs must be between 0 and 86400".into(),
            ));
        }
        if let Some(listen) = &file.http.listen
            && listen.get_ref().parse::<std::net::SocketAddr>().is_err()
        {
            errors.push(locate(
                listen.span(),
                format!(
                    "http.listen `{}` is not an address and port such as \"127.0.0.1:8080\"",
                    listen.get_ref()
                ),
            ));
        }
        if let Some(token) = &file.http.dashboard_token
            && token.get_ref().trim().len() < 16
        {
            errors.push(locate(
                token.span(),
                "http.dashboard_token must be at least 16 characters (it guards the dashboard)"
                    .into(),
            ));
        }
        if let Some(url) = &file.telegram.api_url
            && url::Url::parse(url.get_ref()).is_err()
        {
            errors.push(locate(
                url.span(),
                format!("telegram.api_url `{}` is not a URL", url.get_ref()),
            ));
        }

        let unknown_groups = match &file.unknown_groups {
            None => UnknownGroups::default(),
            Some(value) => UnknownGroups::parse(value.get_ref()).unwrap_or_else(|| {
                errors.push(locate(
                    value.span(),
                    format!(
                        "unknown_groups is \"{}\"; it takes \"serve\" (as listed groups), \
                         \"quiet\" (answers commands, no scheduled posts) or \"leave\" (says \
                         so and leaves)",
                        value.get_ref()
                    ),
                ));
                UnknownGroups::default()
            }),
        };

        let mut community_of = HashMap::new();
        for (name, chats) in &file.communities {
            let Some(&keeper) = chats.get_ref().first() else {
                errors.push(locate(
                    chats.span(),
                    format!("community `{name}` lists no chats"),
                ));
                continue;
            };
            for chat in chats.get_ref() {
                if community_of.insert(*chat, keeper).is_some() {
                    errors.push(locate(
                        chats.span(),
                        format!("chat {chat} is in more than one community"),
                    ));
                }
            }
        }

        if errors.is_empty() {
            let unlisted = (unknown_groups != UnknownGroups::Serve).then(|| GroupSettings {
                jobs: Vec::new(),
                ..defaults.clone()
            });
            Ok(Settings {
                unknown_groups,
                unlisted,
                calendar: work_calendar,
                community_of,
                file,
                path: None,
                defaults,
                groups,
                templates,
                slots,
                switchable,
            })
        } else {
            errors.sort_by_key(|error| (error.line, error.column));
            Err(ConfigErrors(errors))
        }
    }

    /// `base` (a group's settings from the file) with the group's own changes over it: each
    /// `(key, value)` a dotted path of the group's table and a TOML value, read and checked
    /// exactly as the file's table would be. Their templates are the group's own. Any fault
    /// refuses the whole, with a message per fault (no file position: the admin typed it).
    pub fn with_changes(
        &self,
        chat: ChatId,
        base: &GroupSettings,
        changes: &[(String, String)],
    ) -> Result<GroupSettings, Vec<String>> {
        let mut table = toml::Table::new();
        for (key, value) in changes {
            let value = toml::de::ValueDeserializer::parse(value)
                .and_then(<toml::Value as serde::Deserialize>::deserialize)
                .map_err(|error| vec![format!("{key}: {}", error.message())])?;
            insert_dotted(&mut table, key, value).map_err(|message| vec![message])?;
        }
        let source = toml::to_string(&table).map_err(|error| vec![error.to_string()])?;
        let locate = |_: std::ops::Range<usize>, message: String| ConfigError {
            file: String::new(),
            line: 0,
            column: 0,
            message,
        };
        let root = toml::de::DeTable::parse(&source).map_err(|error| vec![error.to_string()])?;
        let resolver = groups::Resolver {
            locate: &locate,
            slots: &self.slots,
            switchable: &self.switchable,
            calendar: &self.calendar,
        };
        let mut templates = Templates::new();
        let mut errors = Vec::new();
        let mut group = resolver.resolve(
            Some(root),
            base,
            &format!("chat/{chat}"),
            &mut templates,
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(errors.into_iter().map(|error| error.message).collect());
        }
        group.own_templates = Some(crate::core::settings::OwnTemplates(Arc::new(templates)));
        Ok(group)
    }

    /// The features a group may switch on and off, by name.
    pub fn switchable(&self) -> &[&'static str] {
        &self.switchable
    }

    /// The settings for a chat: its own table, or the defaults (without their scheduled posts
    /// unless `unknown_groups = "serve"`).
    pub fn group(&self, chat: ChatId) -> &GroupSettings {
        self.groups
            .get(&chat)
            .unwrap_or(self.unlisted.as_ref().unwrap_or(&self.defaults))
    }

    /// The chat id under which `chat`'s points and XP are kept: its community's, or its own.
    pub fn points_scope(&self, chat: ChatId) -> ChatId {
        self.community_of.get(&chat).copied().unwrap_or(chat)
    }

    pub fn has_group_table(&self, chat: ChatId) -> bool {
        self.groups.contains_key(&chat)
    }

    /// The database URL: `QUNBOT_DATABASE_URL` wins over the file.
    pub fn database_url(&self) -> String {
        std::env::var("QUNBOT_DATABASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .or_else(|| self.file.database.url.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
    }

    /// Where the HTTP server listens, if it is on.
    pub fn http_listen(&self) -> Option<std::net::SocketAddr> {
        self.file
            .http
            .listen
            .as_ref()
            .and_then(|listen| listen.get_ref().parse().ok())
    }

    /// The dashboard's token: `QUNBOT_DASHBOARD_TOKEN` wins over the file; none, no dashboard.
    pub fn dashboard_token(&self) -> Option<String> {
        std::env::var("QUNBOT_DASHBOARD_TOKEN")
            .ok()
            .or_else(|| {
                self.file
                    .http
                    .dashboard_token
                    .as_ref()
                    .map(|token| token.get_ref().clone())
            })
            .map(|token| token.trim().to_owned())
            .filter(|token| !token.is_empty())
    }

    /// The Bot API server: `QUNBOT_API_URL` wins over the file.
    pub fn api_url(&self) -> String {
        std::env::var("QUNBOT_API_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .or_else(|| {
                self.file
                    .telegram
                    .api_url
                    .as_ref()
                    .map(|url| url.get_ref().clone())
            })
            .unwrap_or_else(|| "https://api.telegram.org".to_owned())
    }

    /// The command manifests folder: the config's `commands_dir` (relative to the config file),
    /// else `bot-commands` in the working directory.
    pub fn commands_dir(&self) -> PathBuf {
        match &self.file.commands_dir {
            Some(configured) => self.beside_file(configured),
            None => PathBuf::from("bot-commands"),
        }
    }

    /// Where `qunbot run` writes its process id (`pid_file`, relative to the config file),
    /// else `qunbot.pid` beside the config file (in the working directory without one).
    pub fn pid_file(&self) -> PathBuf {
        self.beside_file(
            self.file
                .pid_file
                .as_deref()
                .unwrap_or(Path::new("qunbot.pid")),
        )
    }

    /// A path the file names, relative to the file's folder.
    fn beside_file(&self, configured: &Path) -> PathBuf {
        match &self.path {
            Some(path) if configured.is_relative() => {
                path.parent().unwrap_or(Path::new(".")).join(configured)
            }
            _ => configured.to_owned(),
        }
    }

    /// What the file allows but an operator probably does not mean, for `check-config` and
    /// the start of `run`.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings_at(chrono::Utc::now())
    }

    /// `warnings` as they stand at `now`: jobs that will never post as written, a workday
    /// calendar that runs out within 30 days.
    pub fn warnings_at(&self, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut tables: Vec<(String, &GroupSettings)> =
            vec![("[defaults]".to_owned(), &self.defaults)];
        let mut groups: Vec<_> = self.groups.iter().collect();
        groups.sort_by_key(|(chat, _)| **chat);
        tables.extend(
            groups
                .into_iter()
                .map(|(chat, group)| (format!("[groups.\"{chat}\"]"), group)),
        );
        for (table, group) in &tables {
            let forecasts = crate::scheduler::forecast::forecast(group, now);
            for (index, forecast) in forecasts.iter().enumerate() {
                if let Some(why) =
                    crate::scheduler::forecast::never_posts_because(group, index, forecast)
                {
                    warnings.push(format!("{table}: {why}"));
                }
            }
        }
        let has_jobs = tables.iter().any(|(_, group)| !group.jobs.is_empty());
        if has_jobs && let Some(warning) = self.calendar.runs_out_within(now.date_naive(), 30) {
            warnings.push(warning);
        }
        if self.groups.contains_key(&PLACEHOLDER_CHAT_ID) {
            warnings.push(format!(
                "[groups.\"{PLACEHOLDER_CHAT_ID}\"] is the example's placeholder: no chat has \
                 this id, so its settings are never used. Put your group's id there (the dashboard \
                 lists the groups the bot is in with their ids), or remove the table."
            ));
        }
        warnings
    }

    /// A short overview for `qunbot check-config`.
    pub fn summary(&self) -> String {
        let telegram = &self.file.telegram;
        let mut lines = vec![
            format!(
                "database        {}",
                crate::store::redact_url(&self.database_url())
            ),
            format!("Bot API         {}", self.api_url()),
            format!(
                "token           {}",
                match (&telegram.token_file, std::env::var_os("QUNBOT_TOKEN")) {
                    (_, Some(_)) => "from QUNBOT_TOKEN".to_owned(),
                    (Some(file), None) => format!("from {}", file.display()),
                    (None, None) =>
                        "not set (QUNBOT_TOKEN or telegram.token_file; needed by `run`)".to_owned(),
                }
            ),
            format!("commands        {}", self.commands_dir().display()),
            format!(
                "unlisted groups {}",
                match self.unknown_groups {
                    UnknownGroups::Serve => "served as the defaults say, scheduled posts included",
                    UnknownGroups::Quiet => "quiet: commands answered, no scheduled posts",
                    UnknownGroups::Leave => "left, with one line",
                }
            ),
            format!(
                "defaults        {} · {} · {}",
                self.defaults.language,
                self.defaults.timezone,
                describe_features(&self.defaults.features)
            ),
        ];
        let sorted: BTreeMap<_, _> = self.groups.iter().collect();
        for (chat, group) in sorted {
            lines.push(format!(
                "group {chat:<14} {} · {} · {}{}",
                group.language,
                group.timezone,
                describe_features(&group.features),
                if group.rules_template.is_some() {
                    " · rules"
                } else {
                    ""
                }
            ));
        }
        lines.join("\n")
    }
}

/// Loads the core's and every feature's messages into `templates`.
pub fn load_catalogs(
    templates: &mut Templates,
    features: &[Arc<dyn Feature>],
) -> Result<(), crate::core::i18n::CatalogError> {
    use crate::core::i18n::load_catalog;
    load_catalog(
        templates,
        "src/core/messages.toml",
        "core",
        crate::core::MESSAGES,
    )?;
    for feature in features {
        let messages = feature.messages();
        if !messages.is_empty() {
            let source = format!("src/features/{}/messages.toml", feature.name());
            load_catalog(templates, &source, feature.name(), messages)?;
        }
    }
    Ok(())
}

/// The shipped workday calendar with `[scheduler.holidays]` added.
fn work_calendar(
    section: &file::SchedulerSection,
    problem: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> WorkCalendar {
    let mut calendar = WorkCalendar::default();
    let Some(holidays) = &section.holidays else {
        return calendar;
    };
    for (list, days) in [
        (&holidays.off, &mut calendar.off),
        (&holidays.work, &mut calendar.work),
    ] {
        let Some(list) = list else { continue };
        for entry in list.get_ref() {
            match WorkCalendar::parse_days(entry) {
                Ok(parsed) => days.extend(parsed),
                Err(message) => problem(list.span(), format!("scheduler.holidays: {message}")),
            }
        }
    }
    calendar
}

/// Checks a group's jobs and compiles their texts; `problem` hears of each fault.
fn resolve_jobs(
    jobs: &[file::JobSection],
    template_prefix: &str,
    templates: &mut Templates,
    calendar: &Arc<WorkCalendar>,
    problem: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> Vec<Job> {
    let mut resolved: Vec<Job> = Vec::new();
    for job in jobs {
        let name = job.name.get_ref().trim().to_owned();
        if name.is_empty() || resolved.iter().any(|j| j.name == name) {
            problem(
                job.name.span(),
                format!("job name `{name}` is empty or used twice"),
            );
            continue;
        }
        let schedule = match job.schedule.get_ref().parse::<JobSchedule>() {
            Ok(schedule) => schedule.with_calendar(calendar.clone()),
            Err(message) => {
                problem(job.schedule.span(), message);
                continue;
            }
        };
        let Some(kind) = job_kind(job, &name, template_prefix, templates, problem) else {
            continue;
        };
        let texts = job
            .texts
            .as_ref()
            .map(|t| t.get_ref().as_slice())
            .unwrap_or_default();
        if kind.needs_texts() && texts.is_empty() {
            let span = job.texts.as_ref().map_or(job.name.span(), |t| t.span());
            problem(span, format!("job `{name}` needs at least one text"));
            continue;
        }
        let mut names = Vec::new();
        for (index, text) in texts.iter().enumerate() {
            let template = format!("{template_prefix}/job/{name}/{index}");
            match templates.add(template.clone(), text.clone()) {
                Ok(()) => names.push(template),
                Err(error) => problem(
                    job.texts.as_ref().map_or(job.name.span(), |t| t.span()),
                    format!("job `{name}` text {}: {error}", index + 1),
                ),
            }
        }
        resolved.push(Job {
            name,
            schedule,
            kind,
            templates: names,
        });
    }
    resolved
}

/// A job's kind, with what the kind needs (festival templates, a task's deadline).
fn job_kind(
    job: &file::JobSection,
    name: &str,
    template_prefix: &str,
    templates: &mut Templates,
    problem: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> Option<JobKind> {
    let kind = job
        .kind
        .as_ref()
        .map_or("message", |k| k.get_ref().as_str());
    let kind_span = || job.kind.as_ref().map_or(job.name.span(), |k| k.span());
    Some(match kind {
        "message" => JobKind::Message,
        "birthday" => JobKind::Birthday,
        "digest" => JobKind::Digest,
        "inactive_review" => JobKind::InactiveReview,
        "stats" => JobKind::Stats,
        "festival" => {
            let Some(festivals) = &job.festivals else {
                problem(
                    kind_span(),
                    format!("festival job `{name}` needs `festivals = {{ \"春节\" = \"…\", … }}`"),
                );
                return None;
            };
            let mut names = BTreeMap::new();
            for (festival, text) in festivals.get_ref() {
                let template = format!("{template_prefix}/job/{name}/festival/{festival}");
                match templates.add(template.clone(), text.clone()) {
                    Ok(()) => {
                        names.insert(festival.clone(), template);
                    }
                    Err(error) => problem(
                        festivals.span(),
                        format!("job `{name}` festival `{festival}`: {error}"),
                    ),
                }
            }
            JobKind::Festival(names)
        }
        "task" => {
            let deadline = match &job.deadline {
                None => Duration::hours(24),
                Some(text) => match crate::core::duration::parse(text.get_ref()) {
                    Some(d) if d <= Duration::days(31) => d,
                    _ => {
                        problem(
                            text.span(),
                            format!(
                                "task `{name}`: deadline `{}` must be a duration such as 2h or 1d",
                                text.get_ref()
                            ),
                        );
                        return None;
                    }
                },
            };
            JobKind::Task { deadline }
        }
        other => {
            problem(
                kind_span(),
                format!(
                    "job `{name}`: unknown kind `{other}` (message, birthday, festival, digest, inactive_review, task, stats)"
                ),
            );
            return None;
        }
    })
}

fn describe_features(features: &BTreeSet<String>) -> String {
    if features.is_empty() {
        "no features".to_owned()
    } else {
        features.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Puts `value` at the dotted `key` (`welcome.texts`) of `table`, making the tables between.
fn insert_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut here = table;
    for part in parts {
        let next = here
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        here = next
            .as_table_mut()
            .ok_or_else(|| format!("`{key}`: `{part}` is a value, not a table"))?;
    }
    here.insert(last.to_owned(), value);
    Ok(())
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..source.floor_char_boundary(offset.min(source.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |tail| tail.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
