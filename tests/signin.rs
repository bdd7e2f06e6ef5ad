//! Sign-in under concurrency, on SQLite and PostgreSQL: ranks stay distinct, points are given
//! once, whatever races.

mod support;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use qunbot::app::prepare;
use qunbot::args;
use qunbot::config::Settings;
use qunbot::core::clock::ManualClock;
use qunbot::core::event::Event;
use qunbot::store::inbox;
use support::db::TestDb;
use support::events::member_said;
use support::port::RecordingPort;

const GROUP: i64 = -100_777;

fn signin(user: i64, message: i64, at: chrono::DateTime<Utc>) -> Event {
    member_said(GROUP, user, message, "签到", at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_sign_ins_get_fifty_distinct_ranks_and_points_once() {
    for test in TestDb::each().await {
        let db = &test.db;
        let start = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 1).unwrap();
        let clock = ManualClock::starting_at(start);
        let prepared = prepare(
            Settings::from_toml(
                "t.toml",
                "[defaults.signin]\nbase_points = 10\n",
                &qunbot::features::all(),
            )
            .unwrap(),
        )
        .unwrap();
        let engines: Vec<_> = (0..4)
            .map(|_| {
                Arc::new(support::engine::build(
                    &prepared,
                    db,
                    &clock,
                    Arc::new(RecordingPort::default()),
                ))
            })
            .collect();
        // Every member signs in twice (a double tap), and Telegram delivers one update again.
        let mut batch = Vec::new();
        for user in 0..50 {
            batch.push((user * 2, signin(1000 + user, user * 2, start)));
            batch.push((user * 2 + 1, signin(1000 + user, user * 2 + 1, start)));
        }
        inbox::store_batch(db, "tg", &batch, start).await.unwrap();
        inbox::store_batch(db, "tg", &batch[..1], start)
            .await
            .unwrap();
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
        let ranks: Vec<(i64,)> = db
            .fetch_all(
                "SELECT rank FROM signins WHERE chat_id = $1 ORDER BY rank",
                args![GROUP],
            )
            .await
            .unwrap();
        let ranks: Vec<i64> = ranks.into_iter().map(|(r,)| r).collect();
        assert_eq!(ranks, (1..=50).collect::<Vec<_>>(), "{}", test.backend);
        let (entries, total): (i64, i64) = db
            .fetch_one(
                "SELECT COUNT(*), CAST(SUM(delta) AS BIGINT) FROM points_ledger WHERE chat_id = $1",
                args![GROUP],
            )
            .await
            .unwrap();
        assert_eq!(entries, 50, "{}", test.backend);
        // 10 each, plus the default early-bird bonus 5 + 3 + 1
        assert_eq!(total, 50 * 10 + 9, "{}", test.backend);
        test.finish().await;
    }
}

/// A database an earlier qunbot let take `/points -9223372036854775808` is healed by the
/// migration that bounds admin adjustments: the member's balance sums again.
#[tokio::test]
async fn an_adjustment_stored_out_of_range_by_an_earlier_version_is_brought_into_range() {
    for test in TestDb::each().await {
        let db = &test.db;
        db.execute(
            "INSERT INTO points_ledger (chat_id, user_id, delta, reason, reference, at)
             VALUES ($1, 7, $2, 'admin', 'by:1 test', 0), ($1, 7, -100, 'admin', NULL, 1),
                    ($1, 8, -5, 'admin', NULL, 1)",
            args![GROUP, i64::MIN],
        )
        .await
        .unwrap();
        // Run the migration again, as an upgraded install would on such a database.
        db.execute(
            "DELETE FROM _sqlx_migrations WHERE description = 'points ledger bounds'",
            args![],
        )
        .await
        .unwrap();
        assert_eq!(
            db.migrate(&qunbot::features::schema()).await.unwrap(),
            1,
            "{}",
            test.backend
        );
        let balances: Vec<(i64, i64)> = db
            .fetch_all(
                "SELECT user_id, CAST(SUM(delta) AS BIGINT) FROM points_ledger
                 WHERE chat_id = $1 GROUP BY user_id ORDER BY user_id",
                args![GROUP],
            )
            .await
            .unwrap();
        assert_eq!(balances, vec![(7, -100_100), (8, -5)], "{}", test.backend);
        test.finish().await;
    }
}
