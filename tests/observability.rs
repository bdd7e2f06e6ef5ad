//! What the on-call engineer sees: `qunbot run` (the real binary) against the fake Bot API with
//! `[http] listen` set serves /healthz, /readyz and /metrics, and `--log-format json` writes
//! JSON lines that name the chat and update being handled.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::fake_bot_api::{Failure, FakeBotApi};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A plain HTTP/1.1 GET: (status, body).
async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A config in `dir` with the database at `database_url`, the HTTP server on `port` and
/// `extra` at the end.
fn config_file(
    dir: &std::path::Path,
    database_url: &str,
    port: u16,
    extra: &str,
) -> std::path::PathBuf {
    let config = dir.join("qunbot.toml");
    std::fs::write(
        &config,
        format!(
            "[telegram]\npolling_timeout_secs = 1\n\n[database]\nurl = \"{database_url}\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n{extra}"
        ),
    )
    .unwrap();
    config
}

/// The qunbot binary pointed at the fake, logging at `log`; the caller adds the arguments.
fn qunbot(fake: &FakeBotApi, log: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qunbot"));
    command
        .env("QUNBOT_TOKEN", fake.token())
        .env("QUNBOT_API_URL", fake.url())
        .env("QUNBOT_LOG", log)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// `qunbot run` with `config`, logging JSON lines at `log`; the lines are collected until it
/// ends.
fn run_logging_json(
    fake: &FakeBotApi,
    log: &str,
    config: &std::path::Path,
) -> (std::process::Child, std::thread::JoinHandle<Vec<String>>) {
    let mut child = qunbot(fake, log)
        .args(["--log-format", "json", "run", "--config"])
        .arg(config)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    (child, lines)
}

/// Stops the bot with SIGTERM, as a service manager does, and returns its log lines, read as
/// JSON too.
async fn stop(
    mut child: std::process::Child,
    lines: std::thread::JoinHandle<Vec<String>>,
) -> (Vec<String>, Vec<serde_json::Value>) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "qunbot did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lines = lines.join().unwrap();
    let parsed = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    (lines, parsed)
}

/// Asks until `check` holds for the answer, for up to 20 s.
async fn until(port: u16, path: &str, check: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = get(port, path).await;
        if let Some((status, body)) = &answer
            && check(*status, body)
        {
            return (*status, body.clone());
        }
        assert!(Instant::now() < deadline, "{path}: last answer {answer:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_health_readiness_and_metrics_and_logs_json_with_the_update() {
    let fake = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let database = format!("sqlite://{}", dir.path().join("bot.db").display());
    let config = config_file(dir.path(), &database, port, "");
    let group = -1_001_555_000_001;
    // sqlx logs each statement at debug level: lines logged inside the handler's span.
    let (child, lines) = run_logging_json(&fake, "info,sqlx=debug", &config);

    let (status, body) = until(port, "/healthz", |status, _| status == 200).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    // Ready once the database answers and a getUpdates has come back.
    until(port, "/readyz", |status, body| {
        status == 200 && body == "ready\n"
    })
    .await;

    let now = chrono::Utc::now().timestamp();
    let update_id = fake.push_update(FakeBotApi::group_text(group, (7, "Ann"), "签到", now));
    fake.wait_for_call("sendMessage", 1, Duration::from_secs(20))
        .await;
    // The fake saw the reply; the bot counts it once Telegram's answer is back and recorded.
    let (_, metrics) = until(port, "/metrics", |_, body| {
        body.contains("qunbot_updates_handled_total{kind=\"message\",outcome=\"done\"} 1")
            && body.contains("qunbot_outbox_pending 0")
    })
    .await;
    for expected in [
        "qunbot_updates_received_total{kind=\"message\"} 1",
        "qunbot_handler_seconds_count{kind=\"message\"} 1",
        "qunbot_telegram_calls_total{method=\"getUpdates\",outcome=\"ok\"}",
        "qunbot_telegram_calls_total{method=\"sendMessage\",outcome=\"ok\"} 1",
        "qunbot_telegram_retry_after_seconds_total 0",
        "qunbot_inbox_pending 0",
        "# TYPE qunbot_scheduler_lag_seconds histogram",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from\n{metrics}"
        );
    }

    // SIGTERM: the bot stops cleanly, and the log is complete.
    let (lines, parsed) = stop(child, lines).await;
    // Inbox keys are the update id times 1024 plus the event's index in the update.
    let inbox_key = update_id * 1024;
    let handled: Vec<&serde_json::Value> = parsed
        .iter()
        .filter(|line| line["span"]["update_id"] == inbox_key)
        .collect();
    assert!(!handled.is_empty(), "no line names the update: {lines:#?}");
    assert!(
        handled.iter().all(|line| line["span"]["chat_id"] == group),
        "{handled:#?}"
    );
    assert!(
        !lines.iter().any(|line| line.contains(fake.token())),
        "the token leaked into the log"
    );
}

/// On PostgreSQL too: the readiness check's own query must read there (`SELECT 1` is an INT4,
/// which once kept /readyz at 503 forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_holds_on_postgresql_too() {
    let Some(test) = support::db::TestDb::postgres().await else {
        return;
    };
    let url = test.url().expect("a PostgreSQL test database has a URL");
    let fake = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config_file(dir.path(), &url, port, "");
    let mut child = qunbot(&fake, "warn")
        .args(["run", "--config"])
        .arg(&config)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    until(port, "/readyz", |status, body| {
        status == 200 && body == "ready\n"
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    test.finish().await;
}

/// 27 reactions refused in a sign-in rush (three groups, the reply to the first member and a
/// reaction for each of the other nine): /metrics counts them by method and Telegram's words,
/// and the log has one line for the first and one with the count of the rest, not 27.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_calls_are_counted_by_their_words_and_a_burst_is_logged_once() {
    let fake = FakeBotApi::start().await;
    let refused = 27;
    for _ in 0..refused {
        fake.fail_next(
            "setMessageReaction",
            Failure::BadRequest("Bad Request: REACTION_INVALID".into()),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let database = format!("sqlite://{}", dir.path().join("bot.db").display());
    let config = config_file(
        dir.path(),
        &database,
        port,
        "\n[defaults.signin]\nbusy_per_minute = 1\n",
    );
    let now = chrono::Utc::now().timestamp();
    for group in 0..3 {
        for member in 0..10 {
            let from = (100 + member, "m");
            let text = FakeBotApi::group_text(-1_001_555_000_100 - group, from, "签到", now);
            fake.push_update(text);
        }
    }
    // At the default level, where a line per refused call would show.
    let (child, lines) = run_logging_json(&fake, "info", &config);
    fake.wait_for_call("setMessageReaction", refused, Duration::from_secs(20))
        .await;
    let counted = format!(
        "qunbot_telegram_refusals_total{{error=\"REACTION_INVALID\",method=\"setMessageReaction\"}} {refused}"
    );
    let (_, metrics) = until(port, "/metrics", |_, body| body.contains(&counted)).await;
    assert!(
        metrics.contains(
            "qunbot_telegram_calls_total{method=\"setMessageReaction\",outcome=\"error\"} 27"
        ),
        "{metrics}"
    );

    let (lines, parsed) = stop(child, lines).await;
    let about_reactions: Vec<&serde_json::Value> = parsed
        .iter()
        .filter(|line| line["method"] == "setMessageReaction")
        .collect();
    assert_eq!(
        about_reactions.len(),
        2,
        "the first refusal, then one line for the rest: {lines:#?}"
    );
    assert_eq!(about_reactions[0]["error"], "Bad Request: REACTION_INVALID");
    assert_eq!(about_reactions[1]["times"], refused as u64 - 1);
    let about_refusals = lines
        .iter()
        .filter(|line| line.contains("REACTION_INVALID"));
    assert_eq!(
        about_refusals.count(),
        2,
        "no other line per refused reaction: {lines:#?}"
    );
}
