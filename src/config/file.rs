//! The config file's shape, as serde reads it. Every key is documented in config.example.toml.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// The file's top level. `[defaults]` and `[groups."<id>"]` are read apart (`config::groups`),
/// each into `GroupSection` and the features' sections.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Folder of command manifests, relative to the config file.
    #[serde(default)]
    pub commands_dir: Option<PathBuf>,
    /// What the bot does in a group the file has no `[groups."<id>"]` table for: "serve",
    /// "quiet" or "leave" (`config::UnknownGroups`).
    #[serde(default)]
    pub unknown_groups: Option<Spanned<String>>,
    /// Where `qunbot run` writes its process id, for `qunbot reload`; relative to the config
    /// file.
    #[serde(default)]
    pub pid_file: Option<PathBuf>,
    #[serde(default)]
    pub telegram: TelegramSection,
    #[serde(default)]
    pub database: DatabaseSection,
    #[serde(default)]
    pub scheduler: SchedulerSection,
    #[serde(default)]
    pub http: HttpSection,
    /// Groups of one community that share points and XP: `name = [chat id, …]`.
    #[serde(default)]
    pub communities: BTreeMap<String, Spanned<Vec<i64>>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSection {
    #[serde(default)]
    pub api_url: Option<Spanned<String>>,
    /// A file holding the token; `QUNBOT_TOKEN` wins when both are set.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub polling_timeout_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub max_reply_age_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub messages_per_minute_per_group: Option<Spanned<u64>>,
    /// `false` turns the client-side send limits off: for benchmarks against a fake Bot API
    /// only (ignored, with a warning, when `api_url` is Telegram's own).
    #[serde(default)]
    pub throttle: Option<bool>,
}

impl TelegramSection {
    pub fn polling_timeout_secs(&self) -> u64 {
        self.polling_timeout_secs
            .as_ref()
            .map_or(10, |v| *v.get_ref())
    }

    pub fn max_reply_age_secs(&self) -> u64 {
        self.max_reply_age_secs
            .as_ref()
            .map_or(300, |v| *v.get_ref())
    }

    pub fn messages_per_minute_per_group(&self) -> u64 {
        self.messages_per_minute_per_group
            .as_ref()
            .map_or(20, |v| *v.get_ref())
    }
}

/// The optional HTTP server: /metrics, /healthz, /readyz and the read-only dashboard.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// `host:port` to listen on; no server when absent.
    #[serde(default)]
    pub listen: Option<Spanned<String>>,
    /// The dashboard's access token; `QUNBOT_DASHBOARD_TOKEN` wins. No token, no dashboard.
    #[serde(default)]
    pub dashboard_token: Option<Spanned<String>>,
}

/// Never prints the token.
impl std::fmt::Debug for HttpSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSection")
            .field("listen", &self.listen.as_ref().map(|l| l.get_ref()))
            .field(
                "dashboard_token",
                &self.dashboard_token.as_ref().map(|_| "<set>"),
            )
            .finish()
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    #[serde(default)]
    pub url: Option<String>,
}

/// The core keys a group can have; `[defaults]` and each `[groups."<id>"]` table have these, and
/// a group's table only names what differs from the defaults. The features' tables in them
/// (`[defaults.signin]`…) are the features' own (`core::settings::Section`), read apart.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSection {
    #[serde(default)]
    pub language: Option<Spanned<String>>,
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub features: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub rules: Option<Spanned<String>>,
    /// A chat (the admins' group, say) where administrative steps are reported.
    #[serde(default)]
    pub log_chat: Option<Spanned<i64>>,
    /// Scheduled posts; a group's list replaces the defaults' list.
    #[serde(default)]
    pub jobs: Option<Vec<JobSection>>,
    #[serde(default)]
    pub schedule: Option<crate::scheduler::jobs::ScheduleSection>,
    /// Keys the group's admins may not change in the chat: `["moderation", "welcome.texts"]`.
    #[serde(default)]
    pub locked: Option<Spanned<Vec<String>>>,
}

/// `GroupSection`'s keys, for the message about a key no one knows, which lists the features'
/// tables too (a test keeps the two in step).
pub const CORE_KEYS: &[&str] = &[
    "language", "timezone", "features", "rules", "log_chat", "jobs", "schedule", "locked",
];

/// A scheduled post (`[[defaults.jobs]]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    pub name: Spanned<String>,
    /// 每天 08:00, 工作日 08:30, 周末 10:00, 每周一 09:00, 每月1日 09:00, or `30 8 * * 1-5`.
    pub schedule: Spanned<String>,
    /// message (the default), birthday, festival, digest, inactive_review or task.
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    /// Message templates; one is picked each time.
    #[serde(default)]
    pub texts: Option<Spanned<Vec<String>>>,
    /// festival: a template per festival or solar term name ("春节", "中秋节", "清明"…, quoted:
    /// TOML keys outside ASCII need quotes); `default`
    /// for any other festival.
    #[serde(default)]
    pub festivals: Option<Spanned<BTreeMap<String, String>>>,
    /// task: how long after the announcement the summary comes ("2h").
    #[serde(default)]
    pub deadline: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSection {
    /// A firing missed by less than this (the bot was down) still runs, late; older ones are
    /// skipped and logged.
    #[serde(default)]
    pub grace_secs: Option<Spanned<i64>>,
    /// Holidays and make-up workdays newer than the shipped calendar.
    #[serde(default)]
    pub holidays: Option<HolidaysSection>,
}

/// `[scheduler.holidays]`: each year's State Council notice, as dates or ranges
/// ("2027-02-06..2027-02-13").
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidaysSection {
    #[serde(default)]
    pub off: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub work: Option<Spanned<Vec<String>>>,
}

impl SchedulerSection {
    pub fn grace_secs(&self) -> i64 {
        self.grace_secs.as_ref().map_or(900, |v| *v.get_ref())
    }
}
