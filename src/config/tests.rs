use super::*;

#[test]
fn the_example_config_loads_and_names_every_section() {
    let source = include_str!("../../config.example.toml");
    let settings = Settings::from_toml("config.example.toml", source).unwrap();
    assert_eq!(settings.defaults.language, Language::ZhCn);
    assert_eq!(settings.defaults.timezone, chrono_tz::Asia::Shanghai);
    // The example's group table is under an id no chat has, and check-config says so.
    assert!(settings.has_group_table(PLACEHOLDER_CHAT_ID));
    assert_eq!(settings.groups.len(), 1, "only the placeholder");
    let warnings = settings.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("placeholder"), "{warnings:?}");
    let group = settings.group(PLACEHOLDER_CHAT_ID);
    assert_eq!(group.language, Language::En);
    assert_eq!(group.timezone, chrono_tz::Europe::Berlin);
    assert!(group.rules_template.is_some());
    assert_eq!(settings.file.telegram.polling_timeout_secs(), 10);
    assert_eq!(
        settings.file.database.url.as_deref(),
        Some("sqlite://qunbot.db")
    );
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_column() {
    let source = "[defaults]\nlanguage = \"en\"\ntimezon = \"Asia/Shanghai\"\n";
    let errors = Settings::from_toml("q.toml", source).unwrap_err();
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
    let errors = Settings::from_toml("q.toml", source).unwrap_err();
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
    let settings = Settings::from_toml("q.toml", source).unwrap();
    let group = settings.group(-42);
    assert_eq!(group.language, Language::En);
    assert_eq!(group.timezone, chrono_tz::Europe::London);
    assert_eq!(settings.group(-43).timezone, chrono_tz::Asia::Tokyo);
}

#[test]
fn the_empty_config_is_the_built_in_defaults() {
    let settings = Settings::built_in();
    assert_eq!(settings.defaults.language, Language::ZhCn);
    assert!(settings.groups.is_empty());
}

#[test]
fn positions_count_characters_not_bytes() {
    assert_eq!(line_and_column("签到\nab", 7), (2, 1));
    assert_eq!(line_and_column("签到 x", 7), (1, 4));
}

#[test]
fn feature_sections_apply_and_report_bad_values_where_they_are() {
    let source = r#"
[defaults.signin]
day_starts_at = "04:00"
base_points = [1, 3]

[defaults.levels]
titles = ["a", "b"]

[groups."-7".signin]
base_points = 5
busy_per_minute = 0
"#;
    let errors = Settings::from_toml("q.toml", source).unwrap_err();
    assert_eq!(errors.0.len(), 1, "{errors}");
    assert!(
        errors
            .to_string()
            .contains("q.toml:11:19: signin.busy_per_minute must be between 1 and 10000"),
        "{errors}"
    );
    let settings = Settings::from_toml(
        "q.toml",
        &source.replace("busy_per_minute = 0", "busy_per_minute = 30"),
    )
    .unwrap();
    let group = settings.group(-7);
    assert_eq!(
        group.signin.day_starts_at.to_string(),
        "04:00:00",
        "inherited from the defaults"
    );
    assert_eq!(
        group.signin.base_points,
        crate::features::signin::config::BasePoints::Fixed(5)
    );
    assert_eq!(group.signin.busy_per_minute, 30);
    assert_eq!(group.levels.titles, vec!["a".to_owned(), "b".to_owned()]);
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
    let errors = Settings::from_toml("q.toml", source)
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
    let settings = Settings::from_toml("q.toml", &fine).unwrap();
    assert_eq!(settings.defaults.jobs.len(), 2);
}

#[test]
fn moderation_rules_apply_over_the_defaults_and_typos_are_refused_where_they_are() {
    use crate::features::moderation::config::Penalty;
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
    let settings = Settings::from_toml("q.toml", source).unwrap();
    let rules = &settings.defaults.moderation;
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
    let group = &settings.group(-1002).moderation;
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
    let errors = Settings::from_toml("q.toml", broken).unwrap_err();
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
    let errors = Settings::from_toml("q.toml", forever).unwrap_err();
    let lines: Vec<usize> = errors.0.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 6], "{errors}");
    assert!(errors.to_string().contains("from 30s to 366d"), "{errors}");

    let typo = "[defaults.moderation.flood]\nmesages = 5\n";
    let errors = Settings::from_toml("q.toml", typo).unwrap_err();
    assert_eq!((errors.0[0].line, errors.0[0].column), (2, 1), "{errors}");
}

#[test]
fn a_bad_http_address_or_a_short_dashboard_token_is_refused_where_it_is() {
    let source = "[http]\nlisten = \"localhost\"\ndashboard_token = \"short\"\n";
    let errors = Settings::from_toml("q.toml", source)
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
    let settings = Settings::from_toml("q.toml", ok).unwrap();
    assert_eq!(settings.http_listen().map(|a| a.port()), Some(8080));
    assert!(!format!("{:?}", settings.file).contains("a-token-long-enough-1234"));
}
