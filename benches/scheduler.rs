//! Benchmark: 100,000 groups with three jobs each (每天 08:00, 工作日 08:30, `0 22 * * *`).
//!
//! 1. The scheduler's plan (which firings are due) for all of them, when groups share the
//!    defaults (the usual case) and when every group has its own settings table (the worst
//!    case: nothing can be computed once for many), and the memory each takes.
//! 2. One scheduler pass against a database holding the 100,000 groups and a day of firings
//!    (300,000 rows), when nothing is due: what the bot pays every 30 seconds; and the pass at
//!    08:00, claiming 100,000 firings (timed on the first 10,000 groups).
//!
//! ```text
//! cargo bench --bench scheduler
//! QUNBOT_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench scheduler
//! ```

mod support;

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunbot::args;
use qunbot::config::{GroupSettings, Settings};
use qunbot::core::clock::ManualClock;
use qunbot::core::event::{Chat, ChatKind};
use qunbot::scheduler::{self, Target};
use qunbot::store::Db;

const GROUPS: i64 = 100_000;
const CONFIG: &str = r#"
[[defaults.jobs]]
name = "早安"
schedule = "每天 08:00"
texts = ["早安"]

[[defaults.jobs]]
name = "站会"
schedule = "工作日 08:30"
texts = ["站会"]

[[defaults.jobs]]
name = "晚安"
schedule = "0 22 * * *"
texts = ["晚安"]
"#;

/// Resident memory of this process, in MiB.
fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn chat(i: i64) -> Chat {
    Chat {
        id: -1_000_000_000_000 - i,
        kind: ChatKind::Supergroup,
        title: None,
    }
}

/// Monday 2026-06-01, 08:00 and 08:30 in Shanghai; the day before's firings are claimed.
fn monday(hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 6, 1, hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn yesterdays_firings(settings: &GroupSettings) -> Vec<(String, DateTime<Utc>)> {
    let sunday_morning = monday(0, 0) - Duration::days(1);
    settings
        .jobs
        .iter()
        .filter_map(|job| {
            // The last firing before Monday 00:00 (the workday job's was on Friday).
            let mut last = None;
            let mut at = sunday_morning - Duration::days(3);
            while let Some(next) = job.schedule.next_after(settings.timezone, at) {
                if next >= monday(0, 0) {
                    break;
                }
                last = Some(next);
                at = next;
            }
            Some((job.name.clone(), last?))
        })
        .collect()
}

fn time<T>(label: &str, mut run: impl FnMut() -> T, describe: impl Fn(&T) -> String) {
    let mut timings = Vec::new();
    let mut result = None;
    for _ in 0..5 {
        let started = Instant::now();
        result = Some(run());
        timings.push(started.elapsed());
    }
    timings.sort();
    println!(
        "{label:<58} median {:>9.1} ms   ({})",
        timings[2].as_secs_f64() * 1000.0,
        result.as_ref().map(describe).unwrap_or_default()
    );
}

fn plan_benchmarks(settings: &Settings) {
    let grace = Duration::minutes(15);
    let before = resident_mib();
    let targets: Vec<Target<'_>> = (0..GROUPS)
        .map(|i| Target {
            chat: chat(i),
            settings: &settings.defaults,
        })
        .collect();
    let firings = yesterdays_firings(&settings.defaults);
    let last: HashMap<(i64, String), DateTime<Utc>> = (0..GROUPS)
        .flat_map(|i| {
            firings
                .iter()
                .map(move |(job, at)| ((chat(i).id, job.clone()), *at))
        })
        .collect();
    println!(
        "100,000 groups sharing the defaults: targets and last firings take {:.0} MiB",
        resident_mib() - before
    );
    time(
        "plan, shared settings, nothing due (07:00)",
        || scheduler::plan(&targets, &last, monday(7, 0), grace).len(),
        |n| format!("{n} due"),
    );
    time(
        "plan, shared settings, at 08:31 (two jobs due per group)",
        || scheduler::plan(&targets, &last, monday(8, 31), grace).len(),
        |n| format!("{n} due"),
    );

    // Worst case: every group its own table (here: its own time zone among 8).
    let zones = [
        chrono_tz::Asia::Shanghai,
        chrono_tz::Asia::Tokyo,
        chrono_tz::Europe::Berlin,
        chrono_tz::Europe::London,
        chrono_tz::America::New_York,
        chrono_tz::America::Los_Angeles,
        chrono_tz::Australia::Sydney,
        chrono_tz::Asia::Singapore,
    ];
    let before = resident_mib();
    let own: Vec<GroupSettings> = (0..GROUPS as usize)
        .map(|i| {
            let mut group = settings.defaults.clone();
            group.timezone = zones[i % zones.len()];
            group
        })
        .collect();
    println!(
        "100,000 groups with their own settings tables take {:.0} MiB more",
        resident_mib() - before
    );
    let targets: Vec<Target<'_>> = own
        .iter()
        .enumerate()
        .map(|(i, group)| Target {
            chat: chat(i as i64),
            settings: group,
        })
        .collect();
    // Each group's own last firings, in its own zone (the same for groups of one zone).
    let by_zone: Vec<Vec<(String, DateTime<Utc>)>> =
        own[..zones.len()].iter().map(yesterdays_firings).collect();
    let last: HashMap<(i64, String), DateTime<Utc>> = (0..GROUPS)
        .flat_map(|i| {
            by_zone[i as usize % zones.len()]
                .iter()
                .map(move |(job, at)| ((chat(i).id, job.clone()), *at))
        })
        .collect();
    // Monday 00:00 in Shanghai: every group's last firing is behind, its next one ahead.
    let quiet = monday(0, 0);
    let due_at = quiet + Duration::days(1);
    time(
        "plan, a settings table per group, nothing due",
        || scheduler::plan(&targets, &last, quiet, grace).len(),
        |n| format!("{n} due"),
    );
    time(
        "plan, a settings table per group, a day later",
        || scheduler::plan(&targets, &last, due_at, grace).len(),
        |n| format!("{n} due"),
    );
}

async fn database_pass(name: &str, db: Db) {
    db.migrate(&qunbot::features::schema())
        .await
        .expect("migrations");
    let settings =
        Settings::from_toml("bench.toml", CONFIG, &qunbot::features::all()).expect("config");
    let firings = yesterdays_firings(&settings.defaults);
    let day_before = monday(0, 0) - Duration::days(1);
    // 100,000 groups and a day of firings, written in batches.
    for start in (0..GROUPS).step_by(1_000) {
        let mut tx = db.begin().await.expect("tx");
        for i in start..start + 1_000 {
            let id = chat(i).id;
            tx.execute(
                "INSERT INTO chats (chat_id, kind, first_seen, last_active) VALUES ($1, 'supergroup', $2, $2)",
                args![id, day_before.timestamp()],
            )
            .await
            .expect("chat");
            for (job, at) in &firings {
                tx.execute(
                    "INSERT INTO job_firings (chat_id, job, fire_at, outcome) VALUES ($1, $2, $3, 'fired')",
                    args![id, job.clone(), at.timestamp()],
                )
                .await
                .expect("firing");
            }
        }
        tx.commit().await.expect("commit");
    }
    let clock = ManualClock::starting_at(monday(7, 0));
    let engine = support::engine(&db, &clock, settings);
    let mut timings = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let queued = scheduler::fire_jobs(&engine, monday(7, 0))
            .await
            .expect("pass");
        timings.push(started.elapsed());
        assert_eq!(queued, 0);
    }
    timings.sort();
    println!(
        "{name:<11} a pass with nothing due (100,000 groups, 300,000 firings): median {:.0} ms",
        timings[1].as_secs_f64() * 1000.0
    );

    // At 08:00 every group's greeting comes due: time the claims on 10,000 of them.
    db.execute(
        "UPDATE chats SET active = 0 WHERE chat_id <= $1",
        args![chat(10_000).id],
    )
    .await
    .expect("narrow");
    let started = Instant::now();
    let queued = scheduler::fire_jobs(&engine, monday(8, 0))
        .await
        .expect("pass");
    let elapsed = started.elapsed();
    println!(
        "{name:<11} 08:00, {queued} firings claimed and queued: {:.1} s ({:.0} a second)",
        elapsed.as_secs_f64(),
        queued as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let settings =
        Settings::from_toml("bench.toml", CONFIG, &qunbot::features::all()).expect("config");
    plan_benchmarks(&settings);

    support::on_each_database(database_pass).await;
}
