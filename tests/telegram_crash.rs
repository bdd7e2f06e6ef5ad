//! `kill -9` at arbitrary moments loses no update and applies none twice: the real binary,
//! killed while it works through a stream of updates from the fake Bot API, then restarted.

mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use qunbot::args;
use qunbot::store::Db;
use support::db::TestDb;
use support::fake_bot_api::FakeBotApi;

const MESSAGES: i64 = 60;
const KILLS: usize = 4;

/// `qunbot run` against the fake on `db_url`, its output discarded unless asked for.
fn qunbot_run(fake: &FakeBotApi, db_url: &str, dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qunbot"));
    command
        .arg("run")
        .current_dir(dir)
        .env("QUNBOT_TOKEN", fake.token())
        .env("QUNBOT_API_URL", fake.url())
        .env("QUNBOT_DATABASE_URL", db_url)
        .env("QUNBOT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn spawn(fake: &FakeBotApi, db_url: &str, dir: &std::path::Path) -> Child {
    qunbot_run(fake, db_url, dir)
        .spawn()
        .expect("the binary starts")
}

/// Which message each reply answered, counted.
fn replies_per_message(fake: &FakeBotApi) -> HashMap<(i64, i64), usize> {
    let mut counts = HashMap::new();
    for call in fake.calls_to("sendMessage") {
        let chat = call.params["chat_id"].as_i64().unwrap_or_default();
        let message = call.params["reply_parameters"]["message_id"]
            .as_i64()
            .unwrap_or_default();
        *counts.entry((chat, message)).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_nothing_and_repeats_no_effect() {
    let fake = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let now = chrono::Utc::now().timestamp();
    // One member per chat, so that the per-group send limit does not make the test slow.
    let mut expected = Vec::new();
    let push = |n: i64, expected: &mut Vec<(i64, i64)>| {
        let chat = -1_000_000_000_000 - n;
        let update = FakeBotApi::group_text(chat, (100 + n, "member"), "群规", now);
        expected.push((chat, update["message"]["message_id"].as_i64().unwrap()));
        fake.push_update(update);
    };
    let per_round = MESSAGES / (KILLS as i64 + 1);
    let mut next = 0;
    for round in 0..KILLS {
        for _ in 0..per_round {
            push(next, &mut expected);
            next += 1;
        }
        let mut child = spawn(&fake, &db_url, dir.path());
        // Kill at a different point each round: while starting, while polling, mid-batch.
        tokio::time::sleep(Duration::from_millis([60, 150, 250, 400][round % 4])).await;
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        eprintln!(
            "kill {round}: {} of {} messages answered so far",
            replies_per_message(&fake).len(),
            expected.len()
        );
        // The killed process's polling lease went with it: the next start takes it over at
        // once (its own test is below).
    }
    while next < MESSAGES {
        push(next, &mut expected);
        next += 1;
    }
    let mut child = spawn(&fake, &db_url, dir.path());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answered = replies_per_message(&fake);
        if expected.iter().all(|key| answered.contains_key(key)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every message was answered: {} of {}",
            answered.len(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A clean stop (SIGTERM) exits 0.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    let answered = replies_per_message(&fake);
    let repeats: usize = answered.values().map(|n| n - 1).sum();
    eprintln!(
        "{} messages, {KILLS} kills, {repeats} repeated replies",
        expected.len()
    );
    // Only a send that succeeded just before a kill, and was not yet recorded, can repeat:
    // at most the one call each chat had in flight (chats deliver side by side, and every
    // message here has a chat of its own), so no reply goes out more than twice.
    let most = answered.values().copied().max().unwrap_or(0);
    assert!(
        most <= 2,
        "a reply went out {most} times ({repeats} repeats over {KILLS} kills)"
    );
    let db = Db::connect(&db_url, &qunbot::features::schema())
        .await
        .unwrap();
    let (members, messages): (i64, i64) = db
        .fetch_one(
            "SELECT COUNT(*), CAST(SUM(message_count) AS BIGINT) FROM members",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(members, MESSAGES, "every update was applied");
    assert_eq!(messages, MESSAGES, "and none twice");
    let (unhandled,): (i64,) = db
        .fetch_one(
            "SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(unhandled, 0);
    db.close().await;
    assert!(
        fake.pending_update_ids().is_empty(),
        "the final offset confirmed everything"
    );
}

/// A supervisor (systemd's `Restart=always`) restarts a killed bot within a second; the group
/// must not then wait for the dead process's polling lease to time out. Meanwhile a second
/// process on the same database, while the first is alive, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_a_restart_polls_again_within_five_seconds_and_a_live_poller_keeps_others_out()
{
    let mut databases = vec![];
    let dir = tempfile::tempdir().unwrap();
    databases.push((
        format!("sqlite://{}", dir.path().join("bot.db").display()),
        None,
    ));
    if let Some(postgres) = TestDb::postgres().await {
        databases.push((postgres.url().unwrap(), Some(postgres)));
    }
    for (db_url, postgres) in databases {
        let fake = FakeBotApi::start().await;
        let mut first = spawn(&fake, &db_url, dir.path());
        fake.wait_for_call("getUpdates", 1, Duration::from_secs(30))
            .await;

        let second = qunbot_run(&fake, &db_url, dir.path())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let refused = tokio::task::spawn_blocking(move || second.wait_with_output().unwrap())
            .await
            .unwrap();
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{db_url}: {said}");
        assert!(said.contains("already polling"), "{db_url}: {said}");

        first.kill().expect("SIGKILL");
        first.wait().unwrap();
        let killed = std::time::Instant::now();
        let now = chrono::Utc::now().timestamp();
        let update = FakeBotApi::group_text(-1_000_000_000_001, (7, "Ana"), "群规", now);
        fake.push_update(update);
        let mut restarted = spawn(&fake, &db_url, dir.path());
        fake.wait_for_call("sendMessage", 1, Duration::from_secs(30))
            .await;
        let waited = killed.elapsed();
        restarted.kill().unwrap();
        restarted.wait().unwrap();
        assert!(
            waited < Duration::from_secs(5),
            "{db_url}: the restarted bot answered {waited:?} after the kill"
        );
        if let Some(postgres) = postgres {
            postgres.finish().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_appears_in_the_log_even_at_trace_level() {
    let fake = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("bot.db").display());
    fake.fail_next(
        "sendMessage",
        support::fake_bot_api::Failure::BadRequest("Bad Request: chat not found".into()),
    );
    fake.push_update(FakeBotApi::group_text(
        -1001,
        (7, "Ana"),
        "/help",
        chrono::Utc::now().timestamp(),
    ));
    fake.push_update(FakeBotApi::group_text(
        -1002,
        (7, "Ana"),
        "/help",
        chrono::Utc::now().timestamp(),
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_qunbot"))
        .arg("run")
        .current_dir(dir.path())
        .env("QUNBOT_TOKEN", fake.token())
        .env("QUNBOT_API_URL", fake.url())
        .env("QUNBOT_DATABASE_URL", &db_url)
        .env("QUNBOT_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the log while the bot runs: at trace level it outgrows a pipe's buffer, and a bot
    // blocked on writing its log would never send anything.
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut log = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut log).unwrap();
        log
    });
    fake.wait_for_call("sendMessage", 2, Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let log = reader.join().unwrap();
    let log = String::from_utf8_lossy(&log);
    assert!(log.len() > 1000, "trace logging is on: {log}");
    let secret_part = fake.token().split(':').nth(1).unwrap();
    assert!(!log.contains(secret_part), "the token leaked into the log");
    assert!(status.success());
}

/// Sign-ups sent before a list's deadline count however late the bot gets to them: the bot is
/// down across the deadline, and on restart the deadline's timer must not close the list ahead
/// of the `+1`s still waiting at Telegram (they were once refused as "closed", and their stale
/// replies dropped, so nobody knew).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_sent_before_a_deadline_count_when_the_bot_was_down_across_it() {
    use chrono::Timelike;
    const GROUP: i64 = -1_000_000_000_077;
    let fake = FakeBotApi::start().await;
    fake.set_admins(GROUP, &[1]);
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("bot.db").display());

    // The deadline is the first whole minute at least 20 s away, in the bot's default zone.
    let shanghai = chrono_tz::Asia::Shanghai;
    let soon = chrono::Utc::now() + chrono::Duration::seconds(80);
    let deadline = soon.with_second(0).unwrap().with_nanosecond(0).unwrap();
    let written = deadline.with_timezone(&shanghai).format("%Y-%m-%d %H:%M");
    let mut bot = spawn(&fake, &db_url, dir.path());
    fake.push_update(FakeBotApi::group_text(
        GROUP,
        (1, "organiser"),
        &format!("接龙 周六爬山\n截止 {written}"),
        chrono::Utc::now().timestamp(),
    ));
    fake.wait_for_call("sendMessage", 1, Duration::from_secs(30))
        .await;
    Command::new("kill")
        .args(["-TERM", &bot.id().to_string()])
        .status()
        .unwrap();
    assert!(bot.wait().unwrap().success());

    // While the bot is down, three members sign up in time, replying to the list.
    let list = fake.bot_messages(GROUP).remove(0);
    assert!(
        list["text"].as_str().unwrap().starts_with("#接龙"),
        "{list}"
    );
    for member in 0..3 {
        let mut update = FakeBotApi::group_text(
            GROUP,
            (100 + member, "member"),
            "+1",
            chrono::Utc::now().timestamp(),
        );
        update["message"]["reply_to_message"] = list.clone();
        fake.push_update(update);
    }
    assert!(chrono::Utc::now() < deadline, "the test was too slow");
    let wait = deadline - chrono::Utc::now() + chrono::Duration::seconds(2);
    tokio::time::sleep(wait.to_std().unwrap()).await;

    // The backlog is on its way over a slow network when the restarted bot's scheduler
    // first looks at its timers.
    fake.set_latency("getUpdates", Duration::from_millis(1500));
    let mut bot = spawn(&fake, &db_url, dir.path());
    let closed = wait_for_text(&fake, "已截止", Duration::from_secs(30)).await;
    bot.kill().unwrap();
    bot.wait().unwrap();
    assert!(closed.contains("共 3 人"), "{closed}");
    let refusals: Vec<String> = fake
        .calls_to("sendMessage")
        .iter()
        .map(|call| call.params["text"].as_str().unwrap_or_default().to_owned())
        .filter(|text| text.contains("不能再接龙"))
        .collect();
    assert!(refusals.is_empty(), "{refusals:?}");
}

/// The first message the bot sent containing `needle`.
async fn wait_for_text(fake: &FakeBotApi, needle: &str, timeout: Duration) -> String {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let sent = fake
            .calls_to("sendMessage")
            .into_iter()
            .filter_map(|call| call.params["text"].as_str().map(str::to_owned))
            .find(|text| text.contains(needle));
        if let Some(text) = sent {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no message with {needle:?} within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
