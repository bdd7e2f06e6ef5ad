use serde::Deserialize;
use toml::Spanned;

use super::*;
use crate::core::settings::{Section, SectionCx};

/// A feature of the tests' own: the loader serves any feature's section the same way, and
/// knows none by name.
struct Knock;

#[derive(Clone, Debug, Default, PartialEq)]
struct KnockSettings {
    times: i64,
    /// Set by `finish` for every group, table or not.
    language: Language,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnockSection {
    times: Option<Spanned<i64>>,
}

impl Section for KnockSettings {
    const KEY: &'static str = "knock";
    type File = KnockSection;

    fn apply(&self, file: &KnockSection, cx: &mut SectionCx<'_>) -> KnockSettings {
        let mut settings = self.clone();
        take_in_range(
            &file.times,
            &mut settings.times,
            "knock.times",
            1..=9,
            cx.problems,
        );
        settings
    }

    fn finish(mut self, cx: &mut SectionCx<'_>) -> KnockSettings {
        self.language = cx.language;
        self
    }
}

#[async_trait::async_trait]
impl Feature for Knock {
    fn name(&self) -> &'static str {
        "knock"
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<KnockSettings>()]
    }
}

fn features() -> Vec<Arc<dyn Feature>> {
    vec![Arc::new(Knock)]
}

#[test]
fn a_features_section_is_read_over_the_defaults_and_faults_are_placed() {
    let source = r#"
[defaults.knock]
times = 3

[groups."-7"]
language = "en"

[groups."-8".knock]
times = 12
"#;
    let errors = Settings::from_toml("q.toml", source, &features()).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "q.toml:9:9: knock.times must be between 1 and 9"
    );
    let settings = Settings::from_toml("q.toml", &source.replace("12", "5"), &features()).unwrap();
    assert_eq!(settings.defaults.section::<KnockSettings>().times, 3);
    let seven = settings.group(-7).section::<KnockSettings>();
    assert_eq!(
        (seven.times, seven.language),
        (3, Language::En),
        "inherited, then finished"
    );
    assert_eq!(settings.group(-8).section::<KnockSettings>().times, 5);
    assert_eq!(settings.defaults.features, ["knock".to_owned()].into());

    let typo = "[groups.\"-8\".knock]\ntimes = 2\ntmies = 3\n";
    let errors = Settings::from_toml("q.toml", typo, &features()).unwrap_err();
    assert_eq!((errors.0[0].line, errors.0[0].column), (3, 1), "{errors}");
    let stray = "[defaults.knok]\ntimes = 2\n";
    let errors = Settings::from_toml("q.toml", stray, &features()).unwrap_err();
    assert!(
        errors
            .to_string()
            .starts_with("q.toml:1:11: unknown field `knok`, expected one of `language`"),
        "{errors}"
    );
    assert!(errors.to_string().contains("`locked`, `knock`"), "{errors}");
    let not_a_table = "[defaults]\nknock = 3\n";
    let errors = Settings::from_toml("q.toml", not_a_table, &features()).unwrap_err();
    assert_eq!(errors.to_string(), "q.toml:2:9: `knock` must be a table");
}

#[test]
fn the_core_keys_are_the_group_sections_fields() {
    // serde names every field of GroupSection when it refuses one it does not know.
    let refusal = toml::from_str::<GroupSection>("zzz = 1").unwrap_err();
    let expected = refusal
        .message()
        .split("expected one of ")
        .nth(1)
        .unwrap_or_default();
    let fields: Vec<&str> = expected
        .split(", ")
        .map(|f| f.trim().trim_matches('`'))
        .collect();
    assert_eq!(
        fields,
        file::CORE_KEYS,
        "keep CORE_KEYS in step with GroupSection"
    );
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_column() {
    let source = "[defaults]\nlanguage = \"en\"\ntimezon = \"Asia/Shanghai\"\n";
    let errors = Settings::from_toml("q.toml", source, &features()).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    let error = &errors.0[0];
    assert_eq!((error.line, error.column), (3, 1), "{error}");
    assert!(error.message.contains("unknown field `timezon`"), "{error}");
    assert!(error.to_string().starts_with("q.toml:3:1: "), "{error}");
}

#[test]
fn every_semantic_problem_is_reported_not_just_the_first() {
    let source = r#"
[telegram]
polling_timeout_secs = 60

[defaults]
language = "fr"
timezone = "Mars/Olympus"

[groups."not-a-number"]
language = "en"

[groups."-100"]
rules = "{% if %}"
"#;
    let errors = Settings::from_toml("q.toml", source, &features()).unwrap_err();
    let text = errors.to_string();
    assert_eq!(errors.0.len(), 5, "{text}");
    assert!(
        text.contains("q.toml:3:24: telegram.polling_timeout_secs must be between 1 and 15"),
        "{text}"
    );
    assert!(
        text.contains("q.toml:6:12: unknown language `fr`"),
        "{text}"
    );
    assert!(
        text.contains("q.toml:7:12: unknown time zone `Mars/Olympus`"),
        "{text}"
    );
    assert!(
        text.contains("q.toml:9:9: group key `not-a-number` must be a numeric chat id"),
        "{text}"
    );
    assert!(text.contains("q.toml:13:9: rules template"), "{text}");
}

#[test]
fn a_group_table_inherits_what_it_does_not_say() {
    let source = r#"
[defaults]
language = "en"
timezone = "Asia/Tokyo"

[groups."-42"]
timezone = "Europe/London"
"#;
    let settings = Settings::from_toml("q.toml", source, &features()).unwrap();
    let group = settings.group(-42);
    assert_eq!(group.language, Language::En);
    assert_eq!(group.timezone, chrono_tz::Europe::London);
    assert_eq!(settings.group(-43).timezone, chrono_tz::Asia::Tokyo);
}

#[test]
fn the_empty_config_is_the_built_in_defaults() {
    let settings = Settings::built_in(&features());
    assert_eq!(settings.defaults.language, Language::ZhCn);
    assert!(settings.groups.is_empty());
}

#[test]
fn positions_count_characters_not_bytes() {
    assert_eq!(line_and_column("签到\nab", 7), (2, 1));
    assert_eq!(line_and_column("签到 x", 7), (1, 4));
}

#[test]
fn a_job_with_a_schedule_typo_or_a_bad_template_is_refused_where_it_is() {
    let source = r#"
[[defaults.jobs]]
name = "早安"
schedule = "每天 8点"
texts = ["早上好"]

[[defaults.jobs]]
name = "晚安"
schedule = "0 22 * * *"
texts = ["{% if %}"]
"#;
    let errors = Settings::from_toml("q.toml", source, &features())
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("q.toml:4:12: `8点` is not a time such as 08:00"),
        "{errors}"
    );
    assert!(
        errors.contains("q.toml:10:9: job `晚安` text 1: syntax error"),
        "{errors}"
    );
    let fine = source
        .replace("每天 8点", "每天 08:00")
        .replace("{% if %}", "晚安");
    let settings = Settings::from_toml("q.toml", &fine, &features()).unwrap();
    assert_eq!(settings.defaults.jobs.len(), 2);
}

#[test]
fn a_bad_http_address_or_a_short_dashboard_token_is_refused_where_it_is() {
    let source = "[http]\nlisten = \"localhost\"\ndashboard_token = \"short\"\n";
    let errors = Settings::from_toml("q.toml", source, &features())
        .unwrap_err()
        .to_string();
    assert!(errors.contains("q.toml:2:"), "{errors}");
    assert!(
        errors.contains("http.listen `localhost` is not an address"),
        "{errors}"
    );
    assert!(errors.contains("q.toml:3:"), "{errors}");
    assert!(errors.contains("at least 16 characters"), "{errors}");
    // The token is never printed, even in a debug dump of the config.
    let ok =
        "[http]\nlisten = \"127.0.0.1:8080\"\ndashboard_token = \"a-token-long-enough-1234\"\n";
    let settings = Settings::from_toml("q.toml", ok, &features()).unwrap();
    assert_eq!(settings.http_listen().map(|a| a.port()), Some(8080));
    assert!(!format!("{:?}", settings.file).contains("a-token-long-enough-1234"));
}

#[test]
fn jobs_that_can_never_post_and_a_calendar_running_out_are_warned_of() {
    let source = r#"
[defaults.schedule]
quiet_hours = "22:00-07:00"
min_interval = "30m"

[[defaults.jobs]]
name = "night"
schedule = "每天 23:00"
texts = ["晚安"]

[[defaults.jobs]]
name = "morning"
schedule = "每天 08:00"
texts = ["早上好"]

[[defaults.jobs]]
name = "tip"
schedule = "每天 08:10"
texts = ["今日提示"]
"#;
    let settings = Settings::from_toml("qunbot.toml", source, &features()).unwrap();
    let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 1, 0, 0, 0).unwrap();
    let warnings = settings.warnings_at(now);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("job `night`") && w.contains("quiet_hours (22:00-07:00)")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("job `tip`") && w.contains("after job `morning`")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("job `morning` (")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("calendar")),
        "{warnings:?}"
    );
    let december = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 8, 0, 0, 0).unwrap();
    assert!(
        settings
            .warnings_at(december)
            .iter()
            .any(|w| w.contains("ends 2026-12-25")),
        "the shipped calendar runs out within 30 days"
    );
    let added = format!("{source}\n[scheduler.holidays]\noff = [\"2027-10-01..2027-10-07\"]\n");
    let settings = Settings::from_toml("qunbot.toml", &added, &features()).unwrap();
    assert!(
        !settings
            .warnings_at(december)
            .iter()
            .any(|w| w.contains("calendar"))
    );
}
