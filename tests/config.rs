//! The config file as operators write it, read for the built-in features.

use qunbot::config::{PLACEHOLDER_CHAT_ID, Settings};
use qunbot::core::i18n::Language;
use qunbot::features;

#[test]
fn the_example_config_loads_and_names_every_section() {
    let source = include_str!("../config.example.toml");
    let settings = Settings::from_toml("config.example.toml", source, &features::all()).unwrap();
    assert_eq!(settings.defaults.language, Language::ZhCn);
    assert_eq!(settings.defaults.timezone, chrono_tz::Asia::Shanghai);
    // The example's group table is under an id no chat has, and check-config says so.
    assert!(settings.has_group_table(PLACEHOLDER_CHAT_ID));
    assert_eq!(settings.groups.len(), 1, "only the placeholder");
    // A day the shipped 调休 calendar still covers a month ahead (it warns of that too).
    let june = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 1, 0, 0, 0).unwrap();
    let warnings = settings.warnings_at(june);
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
