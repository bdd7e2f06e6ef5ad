//! Benchmark: 10,000 members of one group sign in, through the real handler path (inbox →
//! engine → sign-in feature → outbox), on SQLite and, when `QUNBOT_TEST_PG_URL` names a server,
//! on PostgreSQL. Prints sign-ins per second and latency percentiles per sign-in. Then 10,000
//! groups sign in once each, with the built-in settings and with one `[groups."…"]` table for
//! another group: a per-group table must cost nothing measurable (it once made every event look
//! its chat up among all the chats).
//!
//!     cargo bench --bench signin
//!     QUNBOT_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench signin

mod support;

use std::time::Instant;

use chrono::{TimeZone, Utc};
use qunbot::config::Settings;
use qunbot::core::clock::ManualClock;
use qunbot::core::event::{Chat, ChatKind, Event, EventKind, Message, User};
use qunbot::store::{Db, inbox};

const MEMBERS: i64 = 10_000;
const GROUP: i64 = -1_009_999;

fn signin(group: i64, user: i64, at: chrono::DateTime<Utc>) -> Event {
    Event {
        chat: Chat {
            id: group,
            kind: ChatKind::Supergroup,
            title: Some("bench".into()),
        },
        at,
        kind: EventKind::Message(Message::text(
            user,
            User::named(100_000 + user, format!("member {user}")),
            "签到",
        )),
    }
}

/// Who signs in where: one group's members, or one member in each of as many groups.
#[derive(Clone, Copy)]
enum Spread {
    OneGroup,
    OneGroupEach,
}

async fn run(name: &str, db: Db, spread: Spread, settings: Settings) {
    let start = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let clock = ManualClock::starting_at(start);
    let engine = support::engine(&db, &clock, settings);
    // Half within the first five seconds after midnight, the rest over the minute.
    let events: Vec<(i64, Event)> = (0..MEMBERS)
        .map(|n| {
            let offset_ms = if n < MEMBERS / 2 {
                n * 5_000 / (MEMBERS / 2)
            } else {
                5_000 + (n - MEMBERS / 2) * 55_000 / (MEMBERS / 2)
            };
            let group = match spread {
                Spread::OneGroup => GROUP,
                Spread::OneGroupEach => GROUP - 1 - n,
            };
            (
                n,
                signin(group, n, start + chrono::Duration::milliseconds(offset_ms)),
            )
        })
        .collect();
    for chunk in events.chunks(100) {
        inbox::store_batch(&db, "bench", chunk, start)
            .await
            .expect("inbox");
    }
    let mut latencies = Vec::with_capacity(events.len());
    let began = Instant::now();
    for (id, event) in &events {
        clock.set(event.at);
        let t = Instant::now();
        engine.handle("bench", *id, event).await.expect("handled");
        latencies.push(t.elapsed());
    }
    let total = began.elapsed();
    let (count,): (i64,) = db
        .fetch_one("SELECT COUNT(*) FROM signins", Vec::new())
        .await
        .expect("count");
    assert_eq!(count, MEMBERS, "every sign-in recorded once");
    support::report(name, MEMBERS, "sign-ins", total, &mut latencies);
}

/// The built-in settings plus a table for one group that does not take part.
fn with_a_group_table() -> Settings {
    Settings::from_toml(
        "bench.toml",
        "[groups.\"-1000000000001\"]\nlanguage = \"en\"\n",
        &qunbot::features::all(),
    )
    .expect("a valid config")
}

#[tokio::main]
async fn main() {
    support::on_each_database(|name, db| {
        run(
            name,
            db,
            Spread::OneGroup,
            Settings::built_in(&qunbot::features::all()),
        )
    })
    .await;
    let groups = |name: &'static str, db: Db, settings: Settings| async move {
        println!("10,000 groups, one sign-in each:");
        run(name, db, Spread::OneGroupEach, settings).await
    };
    support::on_each_database(|name, db| {
        groups(name, db, Settings::built_in(&qunbot::features::all()))
    })
    .await;
    println!("the same with a [groups.\"…\"] table in the config:");
    support::on_each_database(|name, db| groups(name, db, with_a_group_table())).await;
}
