//! `qunbot run` in the test's own process against a fake Bot API server, with a fresh SQLite
//! database: the real polling, engine and delivery code paths.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use qunbot::app::prepare;
use qunbot::config::Settings;
use qunbot::store::Db;
use tokio::sync::{Notify, oneshot};

use super::fake_bot_api::FakeBotApi;

/// How long a test waits for the bot to stop.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Running {
    pub db_url: String,
    /// The config file, for a test that reloads it (`start_from_file`).
    pub config: Option<PathBuf>,
    reload: Arc<Notify>,
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

    /// Writes the config file again (with the test's [telegram] and [database] tables after
    /// `body`) and asks the bot to reload it, as SIGHUP does.
    pub fn rewrite_and_reload(&self, fake: &FakeBotApi, body: &str) {
        let path = self.config.as_ref().expect("started from a file");
        std::fs::write(path, config_text(fake, &self.db_url, "", body)).unwrap();
        self.reload.notify_one();
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
    let config = config_text(&fake, &db_url, top, extra);
    let settings = Settings::from_toml("test.toml", &config, &qunbot::features::all())
        .unwrap_or_else(|e| panic!("{e}"));
    launch(fake, settings, db_url, None, dir)
}

/// Starts the bot from a config file (`top` before the test's tables, `extra` after them), so
/// that it can be rewritten and reloaded.
pub async fn start_from_file(fake: FakeBotApi, top: &str, extra: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let path = dir.path().join("qunbot.toml");
    std::fs::write(&path, config_text(&fake, &db_url, top, extra)).unwrap();
    let settings =
        Settings::load(&path, &qunbot::features::all()).unwrap_or_else(|e| panic!("{e}"));
    launch(fake, settings, db_url, Some(path), dir)
}

fn config_text(fake: &FakeBotApi, db_url: &str, top: &str, extra: &str) -> String {
    format!(
        "{top}\n[telegram]\napi_url = \"{}\"\npolling_timeout_secs = 1\n\n[database]\nurl = \"{db_url}\"\n{extra}",
        fake.url()
    )
}

fn launch(
    fake: FakeBotApi,
    settings: Settings,
    db_url: String,
    config: Option<PathBuf>,
    dir: tempfile::TempDir,
) -> Running {
    let prepared = prepare(settings).unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let token = fake.token().to_owned();
    let reload = Arc::new(Notify::new());
    let control = qunbot::telegram::Control {
        reload: reload.clone(),
        pid_file: Some(dir.path().join("qunbot.pid")),
    };
    let task = tokio::spawn(qunbot::telegram::serve(
        prepared,
        token,
        async {
            let _ = stop_rx.await;
        },
        control,
    ));
    Running {
        db_url,
        config,
        reload,
        stop: Some(stop_tx),
        task,
        _dir: dir,
    }
}
