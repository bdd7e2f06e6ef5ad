//! Word games across restarts and races, on SQLite and PostgreSQL: a game lives in the
//! database, so a new engine carries it on and its timers still fire; two answers for the same
//! turn, handled by several engines at once, give one move and one payment.

mod support;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunbot::app::{Prepared, prepare};
use qunbot::args;
use qunbot::config::Settings;
use qunbot::core::clock::ManualClock;
use qunbot::core::engine::Engine;
use qunbot::core::event::Event;
use qunbot::store::{Db, inbox, timers};
use support::db::TestDb;
use support::events::member_said;
use support::port::RecordingPort;

const GROUP: i64 = -100_888;

fn say(user: i64, message: i64, text: &str, at: DateTime<Utc>) -> Event {
    member_said(GROUP, user, message, text, at)
}

fn engine(prepared: &Prepared, db: &Db, clock: &ManualClock) -> (Engine, Arc<RecordingPort>) {
    let port = Arc::new(RecordingPort::default());
    let engine = support::engine::build(prepared, db, clock, port.clone());
    (engine, port)
}

async fn moves(db: &Db) -> Vec<(i64, i64, String)> {
    db.fetch_all(
        "SELECT m.turn, m.user_id, m.word FROM game_moves m JOIN games g ON g.id = m.game_id
         WHERE g.chat_id = $1 ORDER BY g.id, m.turn",
        args![GROUP],
    )
    .await
    .unwrap()
}

async fn game_points(db: &Db) -> Vec<(i64, i64)> {
    db.fetch_all(
        "SELECT user_id, CAST(SUM(delta) AS BIGINT) FROM points_ledger
         WHERE chat_id = $1 AND reason = 'game' GROUP BY user_id ORDER BY user_id",
        args![GROUP],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_game_carries_on_after_a_restart_and_its_timers_still_fire() {
    for test in TestDb::each().await {
        let db = &test.db;
        let start = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        let clock = ManualClock::starting_at(start);
        let prepared = prepare(
            Settings::from_toml(
                "t.toml",
                "[defaults.games]\nbot_moves = false\n",
                &qunbot::features::all(),
            )
            .unwrap(),
        )
        .unwrap();
        {
            let (before, _) = engine(&prepared, db, &clock);
            let batch = [
                (1, say(101, 1, "/idiom 来日方长", start)),
                (2, say(102, 2, "张灯结彩", start + Duration::seconds(5))),
            ];
            inbox::store_batch(db, "tg", &batch, start).await.unwrap();
            before.handle_pending().await.unwrap();
        }
        // A new process: nothing of the game is in memory any more.
        let (after, _port) = engine(&prepared, db, &clock);
        let later = start + Duration::seconds(30);
        clock.set(later);
        let batch = [(3, say(103, 3, "彩云易散", later))];
        inbox::store_batch(db, "tg", &batch, later).await.unwrap();
        after.handle_pending().await.unwrap();
        assert_eq!(
            moves(db).await,
            vec![
                (0, 101, "来日方长".to_owned()),
                (1, 102, "张灯结彩".to_owned()),
                (2, 103, "彩云易散".to_owned()),
            ],
            "{}",
            test.backend
        );
        // The turn runs out 90 s after the last move; the old turn's timer was replaced.
        let due = later + Duration::seconds(90);
        clock.set(due);
        assert!(timers::fire_due(db, due).await.unwrap() >= 1);
        after.handle_pending().await.unwrap();
        let (reason,): (Option<String>,) = db
            .fetch_one(
                "SELECT end_reason FROM games WHERE chat_id = $1",
                args![GROUP],
            )
            .await
            .unwrap();
        assert_eq!(reason.as_deref(), Some("timeout"), "{}", test.backend);
        assert_eq!(
            game_points(db).await,
            vec![(102, 1), (103, 1)],
            "{}",
            test.backend
        );
        // A second firing of the same deadline finds nothing to do.
        assert_eq!(timers::fire_due(db, due).await.unwrap(), 0);
        test.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_racing_for_one_turn_give_one_move_and_one_payment() {
    for test in TestDb::each().await {
        let db = &test.db;
        let start = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        let clock = ManualClock::starting_at(start);
        let prepared = prepare(Settings::built_in(&qunbot::features::all())).unwrap();
        let engines: Vec<_> = (0..4)
            .map(|_| Arc::new(engine(&prepared, db, &clock).0))
            .collect();
        inbox::store_batch(
            db,
            "tg",
            &[(1, say(101, 1, "/idiom 来日方长", start))],
            start,
        )
        .await
        .unwrap();
        engines[0].handle_pending().await.unwrap();
        // Both answers follow 来日方长; Telegram delivers the first one twice.
        let at = start + Duration::seconds(3);
        let batch = [
            (2, say(102, 2, "张灯结彩", at)),
            (3, say(103, 3, "长驱直入", at)),
        ];
        inbox::store_batch(db, "tg", &batch, at).await.unwrap();
        inbox::store_batch(db, "tg", &batch[..1], at).await.unwrap();
        let handles: Vec<_> = engines
            .iter()
            .map(|engine| {
                let engine = engine.clone();
                tokio::spawn(async move { engine.handle_pending().await })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap().unwrap();
        }
        assert_eq!(
            moves(db).await,
            vec![
                (0, 101, "来日方长".to_owned()),
                (1, 102, "张灯结彩".to_owned())
            ],
            "{}",
            test.backend
        );
        assert_eq!(game_points(db).await, vec![(102, 1)], "{}", test.backend);
        test.finish().await;
    }
}
