//! Scenario transcripts: each `tests/scenarios/NAME.chat` is a script for the simulator with the
//! bot's expected answers written under each line (`> …`). The test plays the script through the
//! real engine, features and database code and compares the transcript with the file.
//! `NAME.toml` beside it, if present, is the config. Run with `QUNBOT_BLESS=1` to rewrite the
//! files from the actual output after a deliberate change, then read the diff.

mod support;

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use qunbot::app::prepare;
use qunbot::config::Settings;
use qunbot::sim::{Simulator, transcript};
use support::db::TestDb;

async fn play(chat_file: &Path, test: &TestDb) -> (String, String) {
    let expected = std::fs::read_to_string(chat_file).unwrap();
    let config = chat_file.with_extension("toml");
    let settings = if config.exists() {
        Settings::load(&config, &qunbot::features::all()).unwrap_or_else(|e| panic!("{e}"))
    } else {
        Settings::built_in(&qunbot::features::all())
    };
    let prepared = prepare(settings).unwrap_or_else(|e| panic!("{e:?}"));
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 1, 0, 0).unwrap();
    let mut sim = Simulator::new(&prepared, test.db.clone(), start);
    let actual = transcript(&mut sim, &expected).await.unwrap();
    (expected, actual)
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "chat"))
        // `QUNBOT_SCENARIO=relay` plays only the transcripts whose name contains it.
        .filter(|path| match std::env::var("QUNBOT_SCENARIO") {
            Ok(only) => path
                .file_stem()
                .is_some_and(|stem| stem.to_string_lossy().contains(only.as_str())),
            Err(_) => true,
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_scenario_transcript_matches() {
    let files = scenario_files();
    assert!(
        files.len() >= 4 || std::env::var_os("QUNBOT_SCENARIO").is_some(),
        "scenario files are missing"
    );
    let bless = std::env::var_os("QUNBOT_BLESS").is_some();
    let mut failures = Vec::new();
    // Each scenario runs on a fresh SQLite database, and on PostgreSQL when one is configured:
    // the transcripts must be the same on both.
    // Each database is made just before its run and dropped after it, so that the number of
    // scenarios does not decide how many PostgreSQL connections are open at once.
    let postgres = std::env::var_os("QUNBOT_TEST_PG_URL").is_some();
    let runs = files
        .iter()
        .map(|file| (file, false))
        .chain(files.iter().filter(|_| postgres).map(|file| (file, true)));
    for (file, on_postgres) in runs {
        let test = if on_postgres {
            match TestDb::postgres().await {
                Some(test) => test,
                None => break,
            }
        } else {
            TestDb::sqlite().await
        };
        let (expected, actual) = play(file, &test).await;
        let backend = test.backend;
        test.finish().await;
        if expected == actual {
            continue;
        }
        if bless {
            std::fs::write(file, &actual).unwrap();
            continue;
        }
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines().chain(std::iter::repeat("<missing>")))
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(n, (e, a))| format!("  line {}:\n    expected: {e}\n    actual:   {a}", n + 1))
            .collect();
        failures.push(format!(
            "{} on {backend}:\n{}{}",
            file.display(),
            diff.join("\n"),
            if expected.lines().count() != actual.lines().count() {
                format!(
                    "\n  (expected {} lines, got {})",
                    expected.lines().count(),
                    actual.lines().count()
                )
            } else {
                String::new()
            }
        ));
    }
    assert!(
        failures.is_empty(),
        "transcripts differ (QUNBOT_BLESS=1 rewrites them):\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_demo_script_runs_without_errors() {
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.chat"))
            .unwrap();
    let prepared = prepare(Settings::built_in(&qunbot::features::all())).unwrap();
    let test = TestDb::sqlite().await;
    let mut sim = Simulator::new(&prepared, test.db.clone(), Utc::now());
    let out = transcript(&mut sim, &demo).await.unwrap();
    assert!(!out.contains("(error:"), "{out}");
    assert!(out.contains("> bot → bob: 可用命令："), "{out}");
    test.finish().await;
}
