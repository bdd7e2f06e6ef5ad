//! What the benchmarks share: a platform that delivers nowhere, and the databases to run on.

use std::future::Future;

use async_trait::async_trait;
use qunbot::core::action::{Action, Admin, ChatPort, Delivered, PortError};
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

/// Runs `bench` on a fresh SQLite database and, when `QUNBOT_TEST_PG_URL` names a server, on a
/// fresh PostgreSQL database that is dropped afterwards.
pub async fn on_each_database<F, Fut>(bench: F)
where
    F: Fn(&'static str, Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = Db::connect(&url).await.expect("sqlite");
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
    let db = Db::connect(url.as_str()).await.expect("connect");
    bench("PostgreSQL", db.clone()).await;
    db.close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await;
}
