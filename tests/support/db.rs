//! Databases for tests: a fresh SQLite file always, and a fresh PostgreSQL database when
//! `QUNBOT_TEST_PG_URL` names a server (`.ci/run` sets it when one answers).

use std::sync::atomic::{AtomicU32, Ordering};

use qunbot::store::Db;

pub struct TestDb {
    pub db: Db,
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb {
            db: Db::connect(&url, &qunbot::features::schema())
                .await
                .expect("SQLite opens"),
            backend: "sqlite",
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A new, empty PostgreSQL database, or `None` (with a note in the output) when no server
    /// is configured.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var("QUNBOT_TEST_PG_URL") else {
            eprintln!("note: PostgreSQL part skipped (set QUNBOT_TEST_PG_URL to run it)");
            return None;
        };
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "qunbot_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let admin = sqlx::PgPool::connect(&admin_url)
            .await
            .expect("QUNBOT_TEST_PG_URL must point at a running PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("creating a test database");
        admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("a URL");
        url.set_path(&name);
        Some(TestDb {
            db: Db::connect(url.as_str(), &qunbot::features::schema())
                .await
                .expect("the new database opens"),
            backend: "postgres",
            _dir: None,
            postgres: Some((admin_url, name)),
        })
    }

    /// SQLite, and PostgreSQL when available.
    pub async fn each() -> Vec<TestDb> {
        let mut all = vec![TestDb::sqlite().await];
        all.extend(TestDb::postgres().await);
        all
    }

    pub fn url(&self) -> Option<String> {
        self.postgres.as_ref().map(|(admin, name)| {
            let mut url = url::Url::parse(admin).expect("a URL");
            url.set_path(name);
            url.to_string()
        })
    }

    /// Closes the pool and drops a PostgreSQL test database.
    pub async fn finish(self) {
        self.db.close().await;
        if let Some((admin_url, name)) = self.postgres
            && let Ok(admin) = sqlx::PgPool::connect(&admin_url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }
}
