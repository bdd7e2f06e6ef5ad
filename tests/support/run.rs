//! `qunbot run` in the test's own process against a fake Bot API server, with a fresh SQLite
//! database: the real polling, engine and delivery code paths.

use std::time::Duration;

use qunbot::app::prepare;
use qunbot::config::Settings;
use qunbot::store::Db;
use tokio::sync::oneshot;

use super::fake_bot_api::FakeBotApi;

/// How long a test waits for the bot to stop.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Running {
    pub db_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Asks the bot to stop (it finishes the work in hand) and returns how `run` ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("run stops in time")
            .expect("no panic")
    }

    /// Waits for `run` to end by itself (a fatal error) and returns how it ended.
    pub async fn finished(self) -> anyhow::Result<()> {
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("run ends in time")
            .expect("no panic")
    }

    pub async fn db(&self) -> Db {
        Db::connect(&self.db_url, &qunbot::features::schema())
            .await
            .unwrap()
    }
}

/// Starts the bot against `fake`, with `extra` appended to the config.
pub async fn start(fake: FakeBotApi, extra: &str) -> Running {
    start_with(fake, "", extra).await
}

/// `top` goes before the config's first table (top-level keys), `extra` after its last.
pub async fn start_with(fake: FakeBotApi, top: &str, extra: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let config = format!(
        "{top}\n[telegram]\napi_url = \"{}\"\npolling_timeout_secs = 1\n\n[database]\nurl = \"{db_url}\"\n{extra}",
        fake.url()
    );
    let settings = Settings::from_toml("test.toml", &config, &qunbot::features::all())
        .unwrap_or_else(|e| panic!("{e}"));
    let prepared = prepare(settings).unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let token = fake.token().to_owned();
    let task = tokio::spawn(qunbot::telegram::run_until(prepared, token, async {
        let _ = stop_rx.await;
    }));
    Running {
        db_url,
        stop: Some(stop_tx),
        task,
        _dir: dir,
    }
}
