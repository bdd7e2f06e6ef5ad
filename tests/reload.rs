//! Reloading the config without a restart (`app::reload`, what SIGHUP and `qunbot reload` run):
//! a broken file is refused with its file:line:column and the bot keeps the old settings; a good
//! one takes effect from the next update, scheduled posts included, and a group's own changes
//! made in the chat stay over the new file.

mod support;

use chrono::{TimeZone, Utc};
use qunbot::app::{prepare, reload};
use qunbot::config::Settings;
use qunbot::sim::Simulator;
use support::db::TestDb;

const FIRST: &str = r#"
[defaults]
rules = "1. 友善交流"

[[defaults.jobs]]
name = "早安"
schedule = "每天 08:00"
texts = ["☀️ 早上好"]
"#;

/// A syntax error on line 3.
const BROKEN: &str = r#"
[defaults]
rules = "1. 不发广告
"#;

const SECOND: &str = r#"
[defaults]
language = "en"
rules = "1. Be kind"

[[defaults.jobs]]
name = "evening"
schedule = "每天 20:00"
texts = ["🌙 Good evening"]
"#;

async fn said(sim: &mut Simulator, line: &str) -> String {
    sim.step(line).await.unwrap().join("\n")
}

async fn reloads_on(test: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qunbot.toml");
    std::fs::write(&path, FIRST).unwrap();
    let features = qunbot::features::all();
    let prepared = prepare(Settings::load(&path, &features).unwrap()).unwrap();
    let start = Utc.with_ymd_and_hms(2026, 2, 13, 7, 0, 0).unwrap(); // 15:00 in Shanghai
    let mut sim = Simulator::new(&prepared, test.db.clone(), start);
    sim.step(":admin alice").await.unwrap();
    assert!(said(&mut sim, "bob: /rules").await.contains("1. 友善交流"));

    // A broken file: refused with where the problem is; everything stays as it was.
    std::fs::write(&path, BROKEN).unwrap();
    let errors = reload(sim.engine(), &prepared.schema).unwrap_err();
    let shown = errors.join("\n");
    assert!(shown.contains("qunbot.toml:3:"), "{shown}");
    assert!(said(&mut sim, "bob: /rules").await.contains("1. 友善交流"));
    assert!(said(&mut sim, "alice: /jobs").await.contains("早安"));

    // An admin's own change, made in the chat, before the good reload.
    let set = said(&mut sim, "alice: /setrules 1. 群里自己的规则").await;
    assert!(set.contains("1. 群里自己的规则"), "{set}");

    // A good file: the new language and jobs from the next update on; the group's own rules
    // stay over the new file's.
    std::fs::write(&path, SECOND).unwrap();
    let notes = reload(sim.engine(), &prepared.schema).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let rules = said(&mut sim, "bob: /rules").await;
    assert!(rules.contains("1. 群里自己的规则"), "{rules}");
    let jobs = said(&mut sim, "alice: /jobs").await;
    assert!(jobs.contains("evening") && !jobs.contains("早安"), "{jobs}");
    // In the new file's language.
    assert!(jobs.is_ascii() || !jobs.contains("本群"), "{jobs}");

    // The old 08:00 job never fires; the new 20:00 one does.
    let day = said(&mut sim, ":advance 1d").await;
    assert!(day.contains("🌙 Good evening"), "{day}");
    assert!(!day.contains("早上好"), "{day}");

    // Resetting the group's rules shows the new file's.
    said(&mut sim, "alice: /resetsetting rules").await;
    let rules = said(&mut sim, "bob: /rules").await;
    assert!(rules.contains("1. Be kind"), "{rules}");
    test.finish().await;
}

#[tokio::test]
async fn a_reload_takes_a_good_file_and_refuses_a_broken_one_sqlite() {
    reloads_on(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn a_reload_takes_a_good_file_and_refuses_a_broken_one_postgres() {
    if let Some(test) = TestDb::postgres().await {
        reloads_on(test).await;
    }
}

#[tokio::test]
async fn a_reload_refuses_a_bad_manifest_and_keeps_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qunbot.toml");
    let commands = dir.path().join("cmds");
    std::fs::create_dir(&commands).unwrap();
    std::fs::write(&path, "commands_dir = \"cmds\"\n").unwrap();
    std::fs::write(
        commands.join("links.toml"),
        "name = \"links\"\ndescription = \"链接\"\nreply = \"https://example.org\"\n",
    )
    .unwrap();
    let features = qunbot::features::all();
    let prepared = prepare(Settings::load(&path, &features).unwrap()).unwrap();
    let test = TestDb::sqlite().await;
    let mut sim = Simulator::new(&prepared, test.db.clone(), Utc::now());
    assert!(
        said(&mut sim, "bob: /links")
            .await
            .contains("https://example.org")
    );
    std::fs::write(commands.join("links.toml"), "name = \"links\"\n").unwrap();
    assert!(reload(sim.engine(), &prepared.schema).is_err());
    assert!(
        said(&mut sim, "bob: /links")
            .await
            .contains("https://example.org")
    );
    std::fs::write(
        commands.join("links.toml"),
        "name = \"links\"\ndescription = \"链接\"\nreply = \"https://example.com/new\"\n",
    )
    .unwrap();
    reload(sim.engine(), &prepared.schema).unwrap();
    assert!(
        said(&mut sim, "bob: /links")
            .await
            .contains("https://example.com/new")
    );
    test.finish().await;
}
