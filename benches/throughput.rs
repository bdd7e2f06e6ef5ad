//! Throughput benchmark: N updates over G groups (plain chat, 签到, relay sign-ups with /join,
//! and commands) through the real `qunbot run` (the release binary, a child process, every
//! update stored and handled durably) against an in-process fake Bot API, with the client-side
//! send limits off. It runs on SQLite (WAL) and, when `QUNBOT_TEST_PG_URL` names a server, on a
//! fresh PostgreSQL database as well. In the same run a bare teloxide echo bot takes the same
//! updates through a second fake, so the ratio holds on a noisy machine.
//!
//!     cargo bench --bench throughput                 # 5,000 updates over 50 groups
//!     QUNBOT_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench throughput
//!     QUNBOT_BENCH_UPDATES=20000 QUNBOT_BENCH_GROUPS=200 cargo bench --bench throughput
//!
//! Prints updates per second (until every update is handled and every reply delivered, and
//! until every update is handled), p50 and p99 handling time (from qunbot's own /metrics
//! histogram), and qunbot's resident memory when idle and at its peak.

#[path = "../tests/support/fake_bot_api.rs"]
mod fake_bot_api;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_bot_api::FakeBotApi;
use teloxide::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn group_id(g: usize) -> i64 {
    -1_001_700_000_000 - g as i64
}

/// The i-th update's text for a group: mostly chat, some sign-ins, relay sign-ups and
/// commands, the way a busy morning looks.
fn text_for(i: usize, first_in_group: bool) -> &'static str {
    if first_in_group {
        return "接龙 周六聚餐";
    }
    match i % 20 {
        0..=11 => "今天大家都在忙什么？",
        12..=14 => "签到",
        15..=17 => "/join",
        18 => "/me",
        _ => "/help",
    }
}

fn updates(n: usize, groups: usize, now: i64) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            let group = i % groups;
            let member = 1_000 + (i / groups) as i64 % 500;
            let text = text_for(i, i < groups);
            FakeBotApi::group_text(group_id(group), (member, "member"), text, now)
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// The value of an unlabelled metric line, or the sum over a metric's labelled lines.
fn metric_sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A quantile from Prometheus histogram buckets (summed over labels), interpolated linearly
/// within the bucket as `histogram_quantile` does.
fn quantile(metrics: &str, name: &str, q: f64) -> f64 {
    let mut buckets: BTreeMap<u64, f64> = BTreeMap::new();
    for line in metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}_bucket{{")))
    {
        let Some(le) = line.split("le=\"").nth(1).and_then(|r| r.split('"').next()) else {
            continue;
        };
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::INFINITY)
        };
        let count: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0.0);
        *buckets.entry(bound.to_bits()).or_default() += count;
    }
    let mut sorted: Vec<(f64, f64)> = buckets
        .into_iter()
        .map(|(bits, count)| (f64::from_bits(bits), count))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = sorted.last().map_or(0.0, |b| b.1);
    let rank = q * total;
    let mut previous = (0.0, 0.0);
    for (bound, count) in sorted {
        if count >= rank {
            if bound.is_infinite() {
                return previous.0;
            }
            let within = if count > previous.1 {
                (rank - previous.1) / (count - previous.1)
            } else {
                0.0
            };
            return previous.0 + (bound - previous.0) * within;
        }
        previous = (bound, count);
    }
    previous.0
}

/// Resident memory of a process, in MB: (now, peak).
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Qunbot {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Qunbot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The database a run uses: a fresh SQLite file, or a fresh PostgreSQL database dropped
/// afterwards.
enum Database {
    Sqlite,
    Postgres { admin_url: String, name: String },
}

impl Database {
    fn url(&self, dir: &std::path::Path) -> String {
        match self {
            Database::Sqlite => format!("sqlite://{}", dir.join("bench.db").display()),
            Database::Postgres { admin_url, name } => {
                let mut url = url::Url::parse(admin_url).expect("QUNBOT_TEST_PG_URL is a URL");
                url.set_path(name);
                url.to_string()
            }
        }
    }

    async fn admin(admin_url: &str, sql: String) {
        let admin = sqlx::PgPool::connect(admin_url)
            .await
            .expect("PostgreSQL answers");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .expect("PostgreSQL runs it");
        admin.close().await;
    }
}

async fn start_qunbot(fake: &FakeBotApi, database: &Database) -> Qunbot {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("qunbot.toml");
    std::fs::write(
        &config,
        format!(
            "[telegram]\npolling_timeout_secs = 1\nthrottle = false\n\n[database]\nurl = \"{}\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n",
            database.url(dir.path())
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_qunbot"))
        .args(["run", "--config"])
        .arg(&config)
        .env("QUNBOT_TOKEN", fake.token())
        .env("QUNBOT_API_URL", fake.url())
        .env(
            "QUNBOT_LOG",
            std::env::var("QUNBOT_BENCH_LOG").unwrap_or_else(|_| "error".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the qunbot binary runs");
    let qunbot = Qunbot {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(port, "/readyz").await.as_deref() != Some("ready\n") {
        assert!(Instant::now() < deadline, "qunbot did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    qunbot
}

struct Figures {
    /// Until every update was handled and every reply delivered.
    seconds: f64,
    /// Until every update was handled (committed with its replies queued).
    handled_seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    idle_mb: f64,
    peak_mb: f64,
}

async fn run_qunbot(all: &[serde_json::Value], database: &Database) -> Figures {
    let fake = FakeBotApi::start().await;
    let qunbot = start_qunbot(&fake, database).await;
    // Idle: connected, polling, nothing to do.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (idle_mb, _) = memory_mb(qunbot.child.id());
    let n = all.len() as f64;
    let started = Instant::now();
    for update in all {
        fake.push_update(update.clone());
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last_report = Instant::now();
    let mut handled_after = None;
    let metrics = loop {
        let metrics = get(qunbot.port, "/metrics").await.unwrap_or_default();
        let handled = metric_sum(&metrics, "qunbot_updates_handled_total");
        if handled >= n && handled_after.is_none() {
            handled_after = Some(started.elapsed().as_secs_f64());
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!(
                "  {handled} handled, inbox {}, outbox {}",
                metric_sum(&metrics, "qunbot_inbox_pending"),
                metric_sum(&metrics, "qunbot_outbox_pending")
            );
        }
        if handled >= n
            && metric_sum(&metrics, "qunbot_inbox_pending") == 0.0
            && metric_sum(&metrics, "qunbot_outbox_pending") == 0.0
        {
            break metrics;
        }
        assert!(
            Instant::now() < deadline,
            "qunbot did not finish: {handled} of {n} handled"
        );
        // Often enough to time the end well, seldom enough not to load what it measures.
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let (_, peak_mb) = memory_mb(qunbot.child.id());
    Figures {
        seconds,
        handled_seconds: handled_after.unwrap_or(seconds),
        p50_ms: quantile(&metrics, "qunbot_handler_seconds", 0.5) * 1000.0,
        p99_ms: quantile(&metrics, "qunbot_handler_seconds", 0.99) * 1000.0,
        idle_mb,
        peak_mb,
    }
}

/// The bare echo bot: teloxide's dispatcher answering every message with its text, nothing
/// stored.
async fn run_echo(all: &[serde_json::Value]) -> f64 {
    let fake = FakeBotApi::start().await;
    let bot = Bot::new(fake.token()).set_api_url(url::Url::parse(&fake.url()).unwrap());
    let handler = Update::filter_message().endpoint(|bot: Bot, message: Message| async move {
        if let Some(text) = message.text() {
            bot.send_message(message.chat.id, text).await?;
        }
        respond(())
    });
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let shutdown = dispatcher.shutdown_token();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });
    // Let it start polling.
    fake.wait_for_call("getUpdates", 1, Duration::from_secs(10))
        .await;
    let started = Instant::now();
    for update in all {
        fake.push_update(update.clone());
    }
    fake.wait_for_call("sendMessage", all.len(), Duration::from_secs(600))
        .await;
    let seconds = started.elapsed().as_secs_f64();
    if let Ok(stopping) = shutdown.shutdown() {
        stopping.await;
    }
    let _ = task.await;
    seconds
}

fn print_figures(database: &str, n: usize, figures: &Figures, echo_rate: f64) {
    let rate = n as f64 / figures.seconds;
    let handled_rate = n as f64 / figures.handled_seconds;
    println!("qunbot run on {database}:");
    println!(
        "  delivered:    {rate:>8.0} updates/s ({:.2} s, every update stored and handled, every reply delivered)",
        figures.seconds
    );
    println!(
        "  handled:      {handled_rate:>8.0} updates/s ({:.2} s until the last update was committed)",
        figures.handled_seconds
    );
    println!(
        "  ratio:        {:.2} of the echo's rate delivered, {:.2} handled",
        rate / echo_rate,
        handled_rate / echo_rate
    );
    println!(
        "  handling:     p50 {:.1} ms, p99 {:.1} ms (qunbot_handler_seconds, transaction included)",
        figures.p50_ms, figures.p99_ms
    );
    println!(
        "  memory (RSS): idle {:.1} MB, peak {:.1} MB",
        figures.idle_mb, figures.peak_mb
    );
}

#[tokio::main]
async fn main() {
    let n = env_number("QUNBOT_BENCH_UPDATES", 5_000);
    let groups = env_number("QUNBOT_BENCH_GROUPS", 50).max(1);
    let all = updates(n, groups, chrono::Utc::now().timestamp());
    println!(
        "throughput: {n} updates over {groups} groups (chat 60%, 签到 15%, /join 15%, commands 10%), send limits off"
    );
    let sqlite = run_qunbot(&all, &Database::Sqlite).await;
    let postgres = match std::env::var("QUNBOT_TEST_PG_URL") {
        Ok(admin_url) => {
            let name = format!("qunbot_throughput_{}", std::process::id());
            Database::admin(&admin_url, format!("CREATE DATABASE {name}")).await;
            let database = Database::Postgres { admin_url, name };
            let figures = run_qunbot(&all, &database).await;
            if let Database::Postgres { admin_url, name } = &database {
                Database::admin(admin_url, format!("DROP DATABASE {name} WITH (FORCE)")).await;
            }
            Some(figures)
        }
        Err(_) => None,
    };
    let echo_seconds = run_echo(&all).await;
    let echo_rate = n as f64 / echo_seconds;
    println!(
        "bare echo bot:  {echo_rate:>8.0} updates/s ({echo_seconds:.2} s, teloxide dispatcher, nothing stored)"
    );
    print_figures("SQLite (WAL)", n, &sqlite, echo_rate);
    match postgres {
        Some(figures) => print_figures("PostgreSQL", n, &figures, echo_rate),
        None => println!("PostgreSQL skipped (set QUNBOT_TEST_PG_URL)"),
    }
}
