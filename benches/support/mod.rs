//! What the benchmarks share: a platform that delivers nowhere, the databases to run on, and
//! the report of a run.

// Each benchmark is its own crate and uses some of these.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use qunbot::app::prepare;
use qunbot::config::Settings;
use qunbot::core::action::{Action, Admin, ChatPort, Delivered, PortError};
use qunbot::core::clock::ManualClock;
use qunbot::core::engine::Engine;
use qunbot::store::Db;

/// The platform is not measured: nothing is delivered during a run.
pub struct Nowhere;

#[async_trait]
impl ChatPort for Nowhere {
    async fn execute(&self, _action: &Action) -> Result<Delivered, PortError> {
        Ok(Delivered::Done)
    }
    async fn administrators(&self, _chat: i64) -> Result<Vec<Admin>, PortError> {
        Ok(Vec::new())
    }
}

/// The engine as the tests build it (same bot identity), shared rather than written twice.
#[path = "../../tests/support/engine.rs"]
mod test_engine;

/// The built-in features with `settings` over `db`, on `clock`, delivering nowhere.
pub fn engine(db: &Db, clock: &ManualClock, settings: Settings) -> Engine {
    let prepared = prepare(settings).expect("settings the features accept");
    test_engine::build(&prepared, db, clock, Arc::new(Nowhere))
}

/// Runs `bench` on a fresh SQLite database and, when `QUNBOT_TEST_PG_URL` names a server, on a
/// fresh PostgreSQL database that is dropped afterwards.
pub async fn on_each_database<F, Fut>(bench: F)
where
    F: Fn(&'static str, Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = Db::connect(&url, &qunbot::features::schema())
        .await
        .expect("sqlite");
    bench("SQLite", db.clone()).await;
    db.close().await;

    let Ok(admin_url) = std::env::var("QUNBOT_TEST_PG_URL") else {
        println!("PostgreSQL  skipped (set QUNBOT_TEST_PG_URL)");
        return;
    };
    let admin = sqlx::PgPool::connect(&admin_url).await.expect("PostgreSQL");
    let name = format!("qunbot_bench_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create");
    let mut url = url::Url::parse(&admin_url).expect("url");
    url.set_path(&name);
    let db = Db::connect(url.as_str(), &qunbot::features::schema())
        .await
        .expect("connect");
    bench("PostgreSQL", db.clone()).await;
    db.close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await;
}

/// Prints a run's rate and latency percentiles: `SQLite 10000 sign-ins in 1.23 s = …/s p50 …`.
pub fn report(name: &str, count: i64, what: &str, total: Duration, latencies: &mut [Duration]) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{name:<10} {count:>5} {what} in {:.2} s = {:>6.0}/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms",
        total.as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
}
