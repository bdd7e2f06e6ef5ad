//! Benchmark: members of one group join one relay list (接龙) by pressing ➕, through the real
//! handler path (inbox → engine → relay feature → outbox), on SQLite and, when
//! `QUNBOT_TEST_PG_URL` names a server, on PostgreSQL. Each join re-renders the whole list, so
//! a longer list costs more per join: the figures are for a 200-line list (a typical event) and
//! a 1,000-line one (a large group purchase). Prints joins per second and latency percentiles.
//!
//!     cargo bench --bench relay
//!     QUNBOT_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench relay

mod support;

use std::time::Instant;

use chrono::{TimeZone, Utc};
use qunbot::config::Settings;
use qunbot::core::clock::ManualClock;
use qunbot::core::event::{Chat, ChatKind, Event, EventKind, Message, User};
use qunbot::store::{Db, inbox};

fn chat(id: i64) -> Chat {
    Chat {
        id,
        kind: ChatKind::Supergroup,
        title: Some("bench".into()),
    }
}

async fn run(name: &str, db: &Db, group: i64, members: i64) {
    let start = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
    let clock = ManualClock::starting_at(start);
    let engine = support::engine(db, &clock, Settings::built_in(&qunbot::features::all()));
    let create = Event {
        chat: chat(group),
        at: start,
        kind: EventKind::Message(Message::text(
            1,
            User::named(99, "organiser"),
            "接龙 周六爬山\n例 姓名 人数",
        )),
    };
    inbox::store_batch(db, "create", &[(group, create.clone())], start)
        .await
        .expect("inbox");
    engine
        .handle("create", group, &create)
        .await
        .expect("created");
    let (list,): (i64,) = db
        .fetch_one(
            "SELECT id FROM relay_lists WHERE chat_id = $1",
            vec![group.into()],
        )
        .await
        .expect("the list");
    // Everyone presses ➕ within the first minute.
    let events: Vec<(i64, Event)> = (0..members)
        .map(|n| {
            let event = Event {
                chat: chat(group),
                at: start + chrono::Duration::milliseconds(n * 60_000 / members),
                kind: EventKind::ButtonPressed {
                    from: User::named(100_000 + n, format!("member {n}")),
                    callback_id: format!("{group}:{n}"),
                    message_id: Some(2),
                    data: format!("relay:j:{list}"),
                },
            };
            (n, event)
        })
        .collect();
    let source = format!("bench{group}");
    for chunk in events.chunks(100) {
        inbox::store_batch(db, &source, chunk, start)
            .await
            .expect("inbox");
    }
    let mut latencies = Vec::with_capacity(events.len());
    let began = Instant::now();
    for (id, event) in &events {
        clock.set(event.at);
        let t = Instant::now();
        engine.handle(&source, *id, event).await.expect("handled");
        latencies.push(t.elapsed());
    }
    let total = began.elapsed();
    let (count,): (i64,) = db
        .fetch_one(
            "SELECT COUNT(*) FROM relay_entries WHERE list_id = $1",
            vec![list.into()],
        )
        .await
        .expect("count");
    assert_eq!(count, members, "every join recorded once");
    support::report(name, members, "joins", total, &mut latencies);
}

async fn both_sizes(name: &str, db: &Db) {
    run(name, db, -1_009_001, 200).await;
    run(name, db, -1_009_002, 1_000).await;
}

#[tokio::main]
async fn main() {
    support::on_each_database(|name, db| async move { both_sizes(name, &db).await }).await;
}
