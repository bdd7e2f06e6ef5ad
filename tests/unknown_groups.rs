//! `unknown_groups`: what the bot does in a group the operator never listed. "serve" as a
//! listed one; "quiet" answers commands but posts none of the defaults' scheduled posts;
//! "leave" says one line and leaves. The example config keeps unlisted groups quiet.

mod support;

use chrono::{TimeZone, Utc};
use qunbot::app::prepare;
use qunbot::config::{Settings, UnknownGroups};
use qunbot::sim::Simulator;
use support::db::TestDb;

/// The simulator's group when the config lists none.
const SIM_GROUP: i64 = -1_001_000_000_001;

const JOBS: &str = r#"
[[defaults.jobs]]
name = "早安"
schedule = "每天 08:00"
texts = ["☀️ 早上好"]
"#;

async fn sim_with(config: &str, test: &TestDb) -> Simulator {
    let settings = Settings::from_toml("test.toml", config, &qunbot::features::all())
        .unwrap_or_else(|e| panic!("{e}"));
    let prepared = prepare(settings).unwrap();
    // 15:00 in Shanghai: the next 08:00 is tomorrow's.
    let start = Utc.with_ymd_and_hms(2026, 2, 13, 7, 0, 0).unwrap();
    Simulator::new(&prepared, test.db.clone(), start)
}

async fn said(sim: &mut Simulator, line: &str) -> String {
    sim.step(line).await.unwrap().join("\n")
}

#[tokio::test]
async fn serve_gives_an_unlisted_group_the_defaults_posts() {
    let test = TestDb::sqlite().await;
    let mut sim = sim_with(&format!("unknown_groups = \"serve\"\n{JOBS}"), &test).await;
    said(&mut sim, "bob: hello").await;
    let day = said(&mut sim, ":advance 1d").await;
    assert!(day.contains("☀️ 早上好"), "{day}");
    test.finish().await;
}

#[tokio::test]
async fn quiet_answers_commands_but_posts_nothing_on_a_schedule() {
    let test = TestDb::sqlite().await;
    let mut sim = sim_with(&format!("unknown_groups = \"quiet\"\n{JOBS}"), &test).await;
    let rules = said(&mut sim, "bob: /rules").await;
    assert!(rules.contains("bot → bob"), "{rules}");
    let day = said(&mut sim, ":advance 1d").await;
    assert!(!day.contains("早上好"), "{day}");
    // /jobs says what really happens: nothing.
    sim.step(":admin alice").await.unwrap();
    let jobs = said(&mut sim, "alice: /jobs").await;
    assert!(!jobs.contains("早安"), "{jobs}");
    test.finish().await;
}

#[tokio::test]
async fn quiet_still_posts_in_a_listed_group() {
    let test = TestDb::sqlite().await;
    let config = format!("unknown_groups = \"quiet\"\n{JOBS}\n[groups.\"{SIM_GROUP}\"]\n");
    let mut sim = sim_with(&config, &test).await;
    said(&mut sim, "bob: hello").await;
    let day = said(&mut sim, ":advance 1d").await;
    assert!(day.contains("☀️ 早上好"), "{day}");
    test.finish().await;
}

#[tokio::test]
async fn leave_says_one_line_and_leaves_once() {
    let test = TestDb::sqlite().await;
    let mut sim = sim_with(
        "unknown_groups = \"leave\"\n[defaults]\nlanguage = \"en\"\n",
        &test,
    )
    .await;
    let first = said(&mut sim, "bob: /help").await;
    assert_eq!(
        first,
        "bot: Hello! This bot only serves groups its operator has set up, so it is leaving. \
         To use it here, ask the bot's operator.\nbot leaves the group",
    );
    // Whatever else was on its way from the group gets nothing.
    assert_eq!(said(&mut sim, "bob: /help").await, "");
    test.finish().await;
}

#[tokio::test]
async fn leave_spares_the_groups_the_operator_listed() {
    let test = TestDb::sqlite().await;
    let config =
        format!("unknown_groups = \"leave\"\n[groups.\"{SIM_GROUP}\"]\nlanguage = \"en\"\n");
    let mut sim = sim_with(&config, &test).await;
    let help = said(&mut sim, "bob: /help").await;
    assert!(!help.contains("leaves"), "{help}");
    assert!(help.contains("bot → bob"), "{help}");
    test.finish().await;
}

#[test]
fn the_example_config_keeps_unlisted_groups_quiet() {
    let source = include_str!("../config.example.toml");
    let settings =
        Settings::from_toml("config.example.toml", source, &qunbot::features::all()).unwrap();
    assert_eq!(settings.unknown_groups, UnknownGroups::Quiet);
    assert!(!settings.defaults.jobs.is_empty(), "the example has posts");
    // A group it does not list gets none of them.
    assert!(settings.group(-1_009_876_543_210).jobs.is_empty());
}

#[test]
fn a_misspelt_mode_is_refused_in_plain_words() {
    let errors = Settings::from_toml(
        "t.toml",
        "unknown_groups = \"ignore\"\n",
        &qunbot::features::all(),
    )
    .unwrap_err()
    .to_string();
    assert!(errors.starts_with("t.toml:1:18:"), "{errors}");
    assert!(errors.contains("\"serve\""), "{errors}");
}
