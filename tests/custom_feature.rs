//! The example feature (`examples/custom_feature/`) as a real bot would run it: its config
//! section read and placed like a built-in one, its commands, its zh/en messages and its own
//! table, switched on and off per group, on both databases. Adding it to a database the
//! built-in features already migrated is the upgrade an operator makes.

#[path = "../examples/custom_feature/pingpong.rs"]
mod pingpong;
mod support;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use qunbot::app::{prepare_with, schema};
use qunbot::config::Settings;
use qunbot::core::feature::Feature;
use qunbot::sim::{Simulator, transcript};
use support::db::TestDb;

fn features() -> Vec<Arc<dyn Feature>> {
    let mut features = qunbot::features::all();
    features.push(Arc::new(pingpong::PingPong));
    features
}

/// The operator's defaults for the feature; each test group adds its own table.
const DEFAULTS: &str = "[defaults.pingpong]\nanswer = \"乓\"\ndaily_limit = 2\n";

const GROUPS: &str = r#"
[groups."-1001"]
language = "en"

[groups."-1001".pingpong]
answer = "pong"

[groups."-1002"]
features = ["signin"]
"#;

/// A week in three groups: one on the defaults, an English one with its own answer, one with
/// the feature switched off.
const SCRIPT: &str = ":group -1003
alice: /ping
bob: 乒
alice: 乒
alice: /ping
bob: /pings
:advance 1d
alice: /ping
:group -1001
carol: /ping
carol: /pings
:group -1002
dave: /ping
";

async fn on_both_databases(check: impl AsyncFn(&TestDb)) {
    let schema = schema(&features()).unwrap();
    let mut databases = vec![TestDb::sqlite().await];
    databases.extend(TestDb::postgres().await);
    for test in &databases {
        // The built-in features' schema is there already; the feature's own table is added.
        assert_eq!(
            test.db.migrate(&schema).await.unwrap(),
            1,
            "{}",
            test.backend
        );
        check(test).await;
    }
}

#[tokio::test]
async fn the_example_feature_runs_with_its_own_section_commands_messages_and_table() {
    on_both_databases(async |test| {
        let features = features();
        let config = format!("{DEFAULTS}{GROUPS}");
        let settings = Settings::from_toml("pingpong.toml", &config, &features).unwrap();
        let prepared = prepare_with(settings, features).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 1, 5, 1, 0, 0).unwrap();
        let mut sim = Simulator::new(&prepared, test.db.clone(), start);
        let played = transcript(&mut sim, SCRIPT).await.unwrap();
        assert_eq!(played, EXPECTED, "{}", test.backend);
        // Dave's ping in the group that switched it off changed nothing.
        let (daves,): (i64,) = test
            .db
            .fetch_one(
                "SELECT COUNT(*) FROM pingpong_counts WHERE name = 'dave'",
                Vec::new(),
            )
            .await
            .unwrap();
        assert_eq!(daves, 0);
    })
    .await;
}

/// The daily limit holds and the next day starts afresh (the counts are in the table); the
/// English group answers in English with its own word; the group without it says so.
const EXPECTED: &str = r#":group -1003
alice: /ping
> bot → alice: 乓！alice 今天第 1 次
bob: 乒
> bot → bob: 乓！bob 今天第 1 次
alice: 乒
> bot → alice: 乓！alice 今天第 2 次
alice: /ping
> bot → alice: alice 今天已经乒了 2 次，明天再来
bob: /pings
> bot → bob: 今日乒乓榜：
>   alice × 2
>   bob × 1
:advance 1d
alice: /ping
> bot → alice: 乓！alice 今天第 1 次
:group -1001
carol: /ping
> bot → carol: pong! carol, that is 1 time today
carol: /pings
> bot → carol: Today's pings:
>   carol × 1
:group -1002
dave: /ping
> bot → dave: 本群没有开启 /ping 对应的功能。
"#;

#[test]
fn the_example_features_section_is_checked_where_the_operator_wrote_it() {
    let source = "[defaults.pingpong]\nanswer = \"\"\ndaily_limit = 1000\nanswr = 1\n";
    let errors = Settings::from_toml("q.toml", source, &features())
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("q.toml:4:1: unknown field `answr`"),
        "{errors}"
    );
    let source = "[defaults.pingpong]\nanswer = \"\"\ndaily_limit = 1000\n";
    let errors = Settings::from_toml("q.toml", source, &features())
        .unwrap_err()
        .to_string();
    assert_eq!(
        errors,
        "q.toml:2:10: pingpong.answer must be 1 to 32 characters\n\
         q.toml:3:15: pingpong.daily_limit must be between 1 and 100"
    );
    // Without the feature, its table is a key nobody knows.
    let errors = Settings::from_toml("q.toml", source, &qunbot::features::all())
        .unwrap_err()
        .to_string();
    assert!(errors.contains("unknown field `pingpong`"), "{errors}");
}
