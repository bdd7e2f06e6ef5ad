//! End to end: the real `run` code path (polling into the inbox, the engine, delivery through
//! teloxide's Throttle) against a fake Bot API server. An update goes in; the expected API call
//! comes out.

mod support;

use std::time::Duration;

use qunbot::app::prepare;
use qunbot::args;
use qunbot::config::Settings;
use qunbot::store::Db;
use qunbot::telegram::delivery::REACTIONS_PER_MINUTE;
use qunbot::telegram::port::CALLS_PER_SECOND;
use serde_json::Value;
use support::fake_bot_api::{Failure, FakeBotApi};
use support::run::{WAIT, start, start_with};
use tokio::sync::oneshot;

const GROUP: i64 = -1_001_234_567_890;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn text_of(call: &support::fake_bot_api::Call) -> String {
    call.params["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_help_command_in_a_group_gets_a_reply_to_that_message() {
    let fake = FakeBotApi::start().await;
    let update = FakeBotApi::group_text(GROUP, (7, "Ana"), "/help@qunbot_test_bot", now());
    let message_id = update["message"]["message_id"].as_i64().unwrap();
    fake.push_update(update);
    let bot = start(fake.clone(), "").await;

    let sent = fake.wait_for_call("sendMessage", 1, WAIT).await;
    let params = &sent[0].params;
    assert_eq!(params["chat_id"].as_i64(), Some(GROUP));
    assert!(text_of(&sent[0]).starts_with("可用命令："), "{params}");
    assert_eq!(
        params["reply_parameters"]["message_id"].as_i64(),
        Some(message_id),
        "{params}"
    );

    // The first getUpdates asks for chat_member updates explicitly (Telegram leaves them out
    // otherwise), and the batch is confirmed by the next offset.
    let polls = fake.wait_for_call("getUpdates", 2, WAIT).await;
    let allowed = polls[0].params["allowed_updates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        allowed.contains(&Value::from("chat_member")),
        "{:?}",
        polls[0].params
    );
    assert!(
        polls.iter().any(|p| p.params["offset"].as_i64() == Some(2)),
        "{polls:?}"
    );
    bot.stop().await.unwrap();
    assert!(
        fake.pending_update_ids().is_empty(),
        "everything received was confirmed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_for_other_bots_are_ignored_and_unknown_ones_for_us_get_a_hint() {
    let fake = FakeBotApi::start().await;
    fake.push_update(FakeBotApi::group_text(
        GROUP,
        (7, "Ana"),
        "/help@some_other_bot",
        now(),
    ));
    fake.push_update(FakeBotApi::group_text(GROUP, (7, "Ana"), "/weather", now()));
    fake.push_update(FakeBotApi::group_text(
        GROUP,
        (7, "Ana"),
        "/weather@qunbot_test_bot",
        now(),
    ));
    let bot = start(fake.clone(), "").await;
    let sent = fake.wait_for_call("sendMessage", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_all = fake.calls_to("sendMessage");
    assert_eq!(sent_all.len(), 1, "{sent_all:?}");
    assert!(
        text_of(&sent[0]).contains("/weather"),
        "{:?}",
        sent[0].params
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_send_waits_as_told_and_is_delivered_once() {
    let fake = FakeBotApi::start().await;
    fake.fail_next("sendMessage", Failure::RetryAfter(1));
    fake.push_update(FakeBotApi::group_text(GROUP, (7, "Ana"), "群规", now()));
    let bot = start(fake.clone(), "").await;
    fake.wait_for_call("sendMessage", 2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let attempts = fake.calls_to("sendMessage");
    assert_eq!(
        attempts.len(),
        2,
        "one refused, one delivered: {attempts:?}"
    );
    let waited = attempts[1].at.duration_since(attempts[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}, before retry_after"
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_leaves_and_messages_are_tracked_and_edits_do_not_rerun_commands() {
    let fake = FakeBotApi::start().await;
    fake.push_update(FakeBotApi::new_members(
        GROUP,
        (7, "Ana"),
        &[(8, "Bo"), (9, "Cy")],
        now(),
    ));
    let help = FakeBotApi::group_text(GROUP, (8, "Bo"), "hello", now());
    let hello_id = help["message"]["message_id"].as_i64().unwrap();
    fake.push_update(help);
    fake.push_update(FakeBotApi::edited_group_text(
        GROUP,
        (8, "Bo"),
        hello_id,
        "/help",
        now(),
        now(),
    ));
    fake.push_update(FakeBotApi::left_member(GROUP, (9, "Cy"), now()));
    fake.push_update(FakeBotApi::group_text(GROUP, (8, "Bo"), "/rules", now()));
    let bot = start(fake.clone(), "").await;
    let sent = fake.wait_for_call("sendMessage", 1, WAIT).await;
    assert_eq!(
        text_of(&sent[0]),
        "本群还没有设置群规。",
        "the edit to /help was not run"
    );
    let db = bot.db().await;
    let rows: Vec<(i64, i64, Option<i64>, Option<i64>)> = db
        .fetch_all(
            "SELECT user_id, message_count, joined_at, left_at FROM members WHERE chat_id = $1 ORDER BY user_id",
            args![GROUP],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "the two who joined: {rows:?}");
    assert_eq!(rows[0].0, 8);
    assert_eq!(rows[0].1, 2, "hello and /rules count; the edit does not");
    assert!(
        rows[0].2.is_some() && rows[0].3.is_none(),
        "Bo joined and stayed"
    );
    assert!(
        rows[1].2.is_some() && rows[1].3.is_some(),
        "Cy joined and left"
    );
    db.close().await;
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_after_downtime_is_applied_but_stale_replies_are_not_sent() {
    let fake = FakeBotApi::start().await;
    let an_hour_ago = now() - 3600;
    fake.push_update(FakeBotApi::group_text(
        GROUP,
        (7, "Ana"),
        "/help",
        an_hour_ago,
    ));
    fake.push_update(FakeBotApi::group_text(GROUP, (7, "Ana"), "/rules", now()));
    let bot = start(fake.clone(), "").await;
    let sent = fake.wait_for_call("sendMessage", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.calls_to("sendMessage").len(), 1);
    assert_eq!(
        text_of(&sent[0]),
        "本群还没有设置群规。",
        "only the fresh command is answered"
    );
    let db = bot.db().await;
    let (count,): (i64,) = db
        .fetch_one(
            "SELECT message_count FROM members WHERE user_id = 7",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(count, 2, "the old message still counts as activity");
    db.close().await;
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_upgraded_to_a_supergroup_keeps_its_settings() {
    let fake = FakeBotApi::start().await;
    let old = -4242;
    let new = -1_004_242;
    fake.push_update(FakeBotApi::group_text(old, (7, "Ana"), "hi", now()));
    fake.push_update(FakeBotApi::migrate_to_supergroup(old, new, now()));
    fake.push_update(FakeBotApi::group_text(new, (7, "Ana"), "/rules", now()));
    let bot = start(
        fake.clone(),
        "[groups.\"-4242\"]\nlanguage = \"en\"\nrules = \"Be kind.\"\n",
    )
    .await;
    let sent = fake.wait_for_call("sendMessage", 1, WAIT).await;
    assert_eq!(sent[0].params["chat_id"].as_i64(), Some(new));
    assert_eq!(text_of(&sent[0]), "Be kind.");
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_check_the_chat_administrators() {
    let fake = FakeBotApi::start().await;
    fake.set_admins(GROUP, &[7]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("announce.toml"),
        "name = \"announce\"\ndescription = \"a\"\npermission = \"admin\"\nreply = \"📢 {{ args }}\"\n",
    )
    .unwrap();
    fake.push_update(FakeBotApi::group_text(
        GROUP,
        (8, "Bo"),
        "/announce hi",
        now(),
    ));
    fake.push_update(FakeBotApi::group_text(
        GROUP,
        (7, "Ana"),
        "/announce hi",
        now(),
    ));
    let extra = format!("commands_dir = \"{}\"\n", dir.path().display());
    // commands_dir is a top-level key: put it before any table.
    let bot = start_with(fake.clone(), &extra, "").await;
    let sent = fake.wait_for_call("sendMessage", 2, WAIT).await;
    // The admin's answer may go first: replies to admins are ahead of members' in the queue.
    let mut texts: Vec<String> = sent.iter().map(text_of).collect();
    texts.sort();
    assert_eq!(texts, ["只有管理员可以使用 /announce。", "📢 hi"]);
    assert_eq!(
        fake.calls_to("getChatAdministrators").len(),
        1,
        "the list is cached"
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_poller_is_refused_with_a_clear_message() {
    let fake = FakeBotApi::start().await;
    fake.fail_next("getUpdates", Failure::Conflict);
    let bot = start(fake.clone(), "").await;
    let result = bot.finished().await;
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("another process is polling this bot token"),
        "{error}"
    );
    assert!(!error.contains(fake.token()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_on_one_database_do_not_both_poll() {
    let fake = FakeBotApi::start().await;
    let first = start(fake.clone(), "").await;
    fake.wait_for_call("getUpdates", 1, WAIT).await;
    let config = format!(
        "[telegram]\napi_url = \"{}\"\n\n[database]\nurl = \"{}\"\n",
        fake.url(),
        first.db_url
    );
    let prepared =
        prepare(Settings::from_toml("second.toml", &config, &qunbot::features::all()).unwrap())
            .unwrap();
    let second =
        qunbot::telegram::run_until(prepared, fake.token().to_owned(), std::future::pending())
            .await;
    let error = second.unwrap_err().to_string();
    assert!(
        error.contains("already polling this bot's updates"),
        "{error}"
    );
    first.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_bot_stops_writing_to_that_chat() {
    let fake = FakeBotApi::start().await;
    fake.fail_next(
        "sendMessage",
        Failure::Forbidden("Forbidden: bot was kicked from the supergroup chat".into()),
    );
    fake.push_update(FakeBotApi::group_text(GROUP, (7, "Ana"), "/help", now()));
    let bot = start(fake.clone(), "").await;
    fake.wait_for_call("sendMessage", 1, WAIT).await;
    let db = bot.db().await;
    let mut active = 1;
    for _ in 0..50 {
        let (a,): (i64,) = db
            .fetch_one("SELECT active FROM chats WHERE chat_id = $1", args![GROUP])
            .await
            .unwrap();
        active = a;
        if active == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(active, 0);
    db.close().await;
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_pollers_lease_row_does_not_keep_a_restart_out() {
    let fake = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let db = Db::connect(&db_url, &qunbot::features::schema())
        .await
        .unwrap();
    // A process that died still names itself in the table; its lock went with it.
    db.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, 'crashed-host:4242', $2)",
        args![format!("telegram-poller:{}", FakeBotApi::BOT_ID), now() + 2],
    )
    .await
    .unwrap();
    db.close().await;
    fake.push_update(FakeBotApi::group_text(GROUP, (7, "Ana"), "群规", now()));
    let config = format!(
        "[telegram]\napi_url = \"{}\"\npolling_timeout_secs = 1\n\n[database]\nurl = \"{db_url}\"\n",
        fake.url()
    );
    let prepared =
        prepare(Settings::from_toml("t.toml", &config, &qunbot::features::all()).unwrap()).unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(qunbot::telegram::run_until(
        prepared,
        fake.token().to_owned(),
        async {
            let _ = stop_rx.await;
        },
    ));
    fake.wait_for_call("sendMessage", 1, WAIT).await;
    let _ = stop_tx.send(());
    tokio::time::timeout(WAIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sync_registers_each_scope_in_each_language() {
    let fake = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{}\n", fake.token())).unwrap();
    std::fs::write(
        dir.path().join("kick.toml"),
        "name = \"kick\"\ndescription = { zh-CN = \"移出成员\", en = \"Remove a member\" }\npermission = \"admin\"\nwhere = \"group\"\nreply = \"…\"\n",
    )
    .unwrap();
    let config = format!(
        "commands_dir = \"{}\"\n[telegram]\napi_url = \"{}\"\ntoken_file = \"{}\"\n",
        dir.path().display(),
        fake.url(),
        token_file.display()
    );
    let prepared =
        prepare(Settings::from_toml("t.toml", &config, &qunbot::features::all()).unwrap()).unwrap();
    qunbot::telegram::sync_commands(&prepared).await.unwrap();
    let calls = fake.calls_to("setMyCommands");
    assert_eq!(calls.len(), 9, "3 scopes × (zh, en, default)");
    let find = |scope: &str, language: Option<&str>| {
        calls
            .iter()
            .find(|c| {
                c.params["scope"]["type"] == scope && c.params["language_code"].as_str() == language
            })
            .unwrap_or_else(|| panic!("no call for {scope} {language:?}: {calls:?}"))
            .params["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["command"].as_str().unwrap(),
                    c["description"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    let groups_zh = find("all_group_chats", Some("zh"));
    assert!(
        groups_zh.contains(&"help=查看可用命令".to_owned()),
        "{groups_zh:?}"
    );
    assert!(
        !groups_zh.iter().any(|c| c.starts_with("kick=")),
        "members do not see admin commands"
    );
    let admins_en = find("all_chat_administrators", Some("en"));
    assert!(
        admins_en.contains(&"kick=Remove a member".to_owned()),
        "{admins_en:?}"
    );
    let private = find("all_private_chats", None);
    assert!(
        !private.iter().any(|c| c.starts_with("rules=")),
        "/rules is for groups: {private:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_rush_gets_reactions_and_one_board_edited_at_a_measured_pace() {
    let fake = FakeBotApi::start().await;
    let members = 30;
    for n in 0..members {
        fake.push_update(FakeBotApi::group_text(
            GROUP,
            (100 + n, &format!("m{n}")),
            "签到",
            now(),
        ));
    }
    let bot = start(fake.clone(), "[defaults.signin]\nbusy_per_minute = 5\n").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let board_complete = fake
            .calls()
            .iter()
            .filter(|c| c.method == "sendMessage" || c.method == "editMessageText")
            .any(|c| text_of(c).contains(&format!("（{members} 人）")));
        if board_complete {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the board never showed everyone: {:?}",
            fake.calls_to("editMessageText")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sends = fake.calls_to("sendMessage");
    let edits = fake.calls_to("editMessageText");
    let reactions = fake.calls_to("setMessageReaction");
    assert_eq!(sends.len(), 6, "five replies, then one board: {sends:?}");
    // 25 reacted to, of whom the first ten a minute get theirs (the board names the rest).
    assert_eq!(reactions.len(), REACTIONS_PER_MINUTE);
    assert!(
        edits.len() < 10,
        "edits are coalesced, not one per sign-in: {}",
        edits.len()
    );
    for pair in edits.windows(2) {
        assert!(
            pair[1].at.duration_since(pair[0].at) >= Duration::from_millis(2900),
            "edits come at most every 3 s"
        );
    }
    bot.stop().await.unwrap();
}

/// Calls the port does not make: `qunbot run` asks who it is once, and the poller keeps one long
/// poll open.
fn made_by_the_port(call: &support::fake_bot_api::Call) -> bool {
    !["getMe", "deleteWebhook", "getUpdates"].contains(&call.method.as_str())
}

/// Waits until every queued action has been delivered or recorded as not made.
async fn outbox_drained(db: &Db) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (pending,): (i64,) = db
            .fetch_one("SELECT COUNT(*) FROM outbox WHERE done_at IS NULL", args![])
            .await
            .unwrap();
        if pending == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} actions still queued"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_rush_of_hundreds_keeps_the_reaction_and_call_budgets_and_loses_no_sign_in() {
    let fake = FakeBotApi::start().await;
    let members: i64 = 200;
    let sign_in =
        |n: i64| FakeBotApi::group_text(GROUP, (1_000 + n, &format!("m{n}")), "签到", now());
    for n in 0..members / 2 {
        fake.push_update(sign_in(n));
    }
    // One reply, then the busy mode: a reaction and the board for everyone else.
    let bot = start(fake.clone(), "[defaults.signin]\nbusy_per_minute = 1\n").await;
    fake.wait_for_call("sendMessage", 2, WAIT).await;
    // The second half comes once the board is up, so it has to be edited.
    for n in members / 2..members {
        fake.push_update(sign_in(n));
    }
    let everyone = format!("（{members} 人）");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !fake
        .calls_to("editMessageText")
        .iter()
        .any(|edit| text_of(edit).contains(&everyone))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the board was never edited to show everyone: {:?}",
            fake.calls_to("editMessageText")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let db = bot.db().await;
    outbox_drained(&db).await;

    let signed_in: Vec<(i64,)> = db
        .fetch_all(
            "SELECT user_id FROM signins WHERE chat_id = $1 ORDER BY user_id",
            args![GROUP],
        )
        .await
        .unwrap();
    let expected: Vec<(i64,)> = (0..members).map(|n| (1_000 + n,)).collect();
    assert_eq!(signed_in, expected, "every member's sign-in is kept");

    let reactions_in_a_minute = fake.most_calls_within(Duration::from_secs(60), |call| {
        call.method == "setMessageReaction" && call.params["chat_id"].as_i64() == Some(GROUP)
    });
    assert_eq!(
        reactions_in_a_minute, REACTIONS_PER_MINUTE,
        "the group's first reactions a minute are made, no more"
    );
    let (skipped,): (i64,) = db
        .fetch_one(
            "SELECT COUNT(*) FROM outbox WHERE action LIKE '%\"do\":\"react\"%' AND outcome LIKE 'skipped: %reaction%'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(
        skipped,
        members - 1 - REACTIONS_PER_MINUTE as i64,
        "the others are recorded as skipped, with the reason"
    );
    assert!(qunbot::metrics::metrics().reactions_skipped.get() >= skipped as u64);

    let calls_in_a_second = fake.most_calls_within(Duration::from_secs(1), made_by_the_port);
    assert!(
        calls_in_a_second <= CALLS_PER_SECOND as usize,
        "{calls_in_a_second} calls within a second"
    );
    db.close().await;
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_many_groups_at_once_keep_the_bots_budget_per_second() {
    let fake = FakeBotApi::start().await;
    let groups: i64 = 40;
    for group in 0..groups {
        for member in 0..2 {
            fake.push_update(FakeBotApi::group_text(
                GROUP - group,
                (100 + member, &format!("m{member}")),
                "签到",
                now(),
            ));
        }
    }
    // In each group a reply, then a reaction and the board: 120 calls wanted at once.
    let bot = start(fake.clone(), "[defaults.signin]\nbusy_per_minute = 1\n").await;
    fake.wait_for_call("setMessageReaction", groups as usize, WAIT)
        .await;
    fake.wait_for_call("sendMessage", 2 * groups as usize, WAIT)
        .await;
    let calls_in_a_second = fake.most_calls_within(Duration::from_secs(1), made_by_the_port);
    assert!(
        calls_in_a_second <= CALLS_PER_SECOND as usize,
        "{calls_in_a_second} calls within a second"
    );
    let reactions = fake.calls_to("setMessageReaction");
    let sends = fake.calls_to("sendMessage");
    assert_eq!(
        reactions.len(),
        groups as usize,
        "each group's one reaction"
    );
    assert_eq!(
        sends.len(),
        2 * groups as usize,
        "each group's reply and board"
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_and_leaves_reported_only_as_chat_member_updates_are_tracked() {
    let fake = FakeBotApi::start().await;
    fake.push_update(FakeBotApi::chat_member(
        GROUP,
        (8, "Bo"),
        (8, "Bo"),
        "left",
        "member",
        now(),
    ));
    // The same join also as a service message: the twin changes nothing.
    fake.push_update(FakeBotApi::new_members(
        GROUP,
        (8, "Bo"),
        &[(8, "Bo")],
        now(),
    ));
    fake.push_update(FakeBotApi::chat_member(
        GROUP,
        (7, "Ana"),
        (9, "Cy"),
        "member",
        "kicked",
        now(),
    ));
    fake.push_update(FakeBotApi::group_text(GROUP, (8, "Bo"), "群规", now()));
    let bot = start(fake.clone(), "").await;
    fake.wait_for_call("sendMessage", 1, WAIT).await;
    let db = bot.db().await;
    let rows: Vec<(i64, Option<i64>, Option<i64>)> = db
        .fetch_all(
            "SELECT user_id, joined_at, left_at FROM members WHERE chat_id = $1 ORDER BY user_id",
            args![GROUP],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].0 == 8 && rows[0].1.is_some() && rows[0].2.is_none(),
        "Bo joined: {rows:?}"
    );
    assert!(
        rows[1].0 == 9 && rows[1].2.is_some(),
        "Cy was removed: {rows:?}"
    );
    db.close().await;
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_forum_topic_the_bot_answers_in_that_topic() {
    let fake = FakeBotApi::start().await;
    let mut update = FakeBotApi::group_text(GROUP, (7, "Ana"), "群规", now());
    let message_id = update["message"]["message_id"].as_i64().unwrap();
    // Telegram marks a topic message with its thread and shows it as a reply to the topic's
    // first message, although Ana replied to nothing.
    update["message"]["message_thread_id"] = serde_json::json!(77);
    update["message"]["is_topic_message"] = serde_json::json!(true);
    update["message"]["reply_to_message"] = serde_json::json!({
        "message_id": 77, "date": now() - 3600,
        "chat": update["message"]["chat"].clone(), "from": update["message"]["from"].clone(),
        "message_thread_id": 77, "is_topic_message": true,
        "forum_topic_created": { "name": "活动", "icon_color": 7322096 },
    });
    fake.push_update(update);
    let bot = start(fake.clone(), "").await;
    let sent = fake.wait_for_call("sendMessage", 1, WAIT).await;
    assert_eq!(
        sent[0].params["message_thread_id"].as_i64(),
        Some(77),
        "{}",
        sent[0].params
    );
    assert_eq!(
        sent[0].params["reply_parameters"]["message_id"].as_i64(),
        Some(message_id)
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_a_clear_error_that_does_not_repeat_the_token() {
    let fake = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[telegram]\napi_url = \"{}\"\n\n[database]\nurl = \"sqlite://{}\"\n",
        fake.url(),
        dir.path().join("bot.db").display()
    );
    let prepared =
        prepare(Settings::from_toml("t.toml", &config, &qunbot::features::all()).unwrap()).unwrap();
    let wrong = "999999:WRONG-token-abcdefghijklmnopqrstuvwx";
    let error = qunbot::telegram::run_until(prepared, wrong.to_owned(), std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("Telegram rejected the bot token"), "{error}");
    assert!(!error.contains("WRONG-token"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_is_restricted_asked_in_the_welcome_and_freed_by_the_right_button() {
    let fake = FakeBotApi::start().await;
    let join = FakeBotApi::new_members(GROUP, (8, "Bo"), &[(8, "Bo")], now());
    let join_id = join["message"]["message_id"].as_i64().unwrap();
    fake.push_update(join);
    let bot = start(
        fake.clone(),
        "[defaults.welcome]\ndelay_secs = 0\ncaptcha = \"button\"\ndelete_service_messages = true\n",
    )
    .await;
    let deleted = fake.wait_for_call("deleteMessage", 1, WAIT).await;
    assert_eq!(deleted[0].params["message_id"].as_i64(), Some(join_id));
    let restricted = fake.wait_for_call("restrictChatMember", 1, WAIT).await;
    assert_eq!(restricted[0].params["user_id"].as_i64(), Some(8));
    // Telegram reads a permission left out as not granted.
    assert!(
        !restricted[0].params["permissions"]["can_send_messages"]
            .as_bool()
            .unwrap_or(false),
        "{}",
        restricted[0].params
    );

    // The welcome, from the timer, carries the question and its buttons.
    let sent = fake.wait_for_call("sendMessage", 1, WAIT).await;
    let welcome = &sent[0];
    assert!(text_of(welcome).contains("欢迎 Bo"), "{}", welcome.params);
    let buttons = welcome.params["reply_markup"]["inline_keyboard"][0]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(buttons.len(), 4, "{}", welcome.params);
    let target = text_of(welcome)
        .split("点击下面的「")
        .nth(1)
        .and_then(|rest| rest.split('」').next())
        .unwrap_or_default()
        .to_owned();
    let right = buttons
        .iter()
        .find(|button| button["text"] == target.as_str())
        .expect("the named button is there");
    let data = right["callback_data"].as_str().unwrap();
    // The id the fake gave the welcome, as the bot remembered it under its key.
    // (The fake sees the call a moment before the bot has stored the answer.)
    let db = bot.db().await;
    let started = std::time::Instant::now();
    let welcome_id = loop {
        let row: Option<(i64,)> = db
            .fetch_optional(
                "SELECT message_id FROM bot_messages WHERE chat_id = $1 AND key LIKE 'welcome:%'",
                args![GROUP],
            )
            .await
            .unwrap();
        match row {
            Some((id,)) => break id,
            None if started.elapsed() < WAIT => tokio::time::sleep(Duration::from_millis(50)).await,
            None => panic!("the welcome's id was never stored"),
        }
    };
    db.close().await;

    // Someone else pressing changes nothing; Bo pressing the named button frees him.
    fake.push_update(FakeBotApi::callback_query(
        GROUP,
        (7, "Ana"),
        welcome_id,
        data,
    ));
    fake.push_update(FakeBotApi::callback_query(
        GROUP,
        (8, "Bo"),
        welcome_id,
        data,
    ));
    let answers = fake.wait_for_call("answerCallbackQuery", 2, WAIT).await;
    assert!(
        answers[0].params["text"]
            .as_str()
            .unwrap_or_default()
            .contains("不是给你的"),
        "{}",
        answers[0].params
    );
    let freed = fake.wait_for_call("restrictChatMember", 2, WAIT).await;
    assert_eq!(freed[1].params["user_id"].as_i64(), Some(8));
    assert_eq!(
        freed[1].params["permissions"]["can_send_messages"].as_bool(),
        Some(true),
        "{}",
        freed[1].params
    );
    assert!(fake.calls_to("banChatMember").is_empty());
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_button_press_is_answered_once_whatever_its_data() {
    let fake = FakeBotApi::start().await;
    // Data no feature knows, a relay list that does not exist, a garbled relay payload, and
    // a press with no data at all: none of them may leave the member's client spinning.
    let presses = [
        FakeBotApi::callback_query(GROUP, (7, "Ana"), 1, "xyz"),
        FakeBotApi::callback_query(GROUP, (7, "Ana"), 1, "relay:j:424242"),
        FakeBotApi::callback_query(GROUP, (8, "Bo"), 1, "relay:?:"),
        FakeBotApi::callback_query(GROUP, (8, "Bo"), 1, ""),
    ];
    let ids: Vec<String> = presses
        .iter()
        .map(|press| press["callback_query"]["id"].as_str().unwrap().to_owned())
        .collect();
    for press in presses {
        fake.push_update(press);
    }
    let bot = start(fake.clone(), "").await;
    let answers = fake
        .wait_for_call("answerCallbackQuery", ids.len(), WAIT)
        .await;
    let mut answered: Vec<String> = answers
        .iter()
        .map(|call| {
            call.params["callback_query_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    answered.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(answered, expected, "each press answered, none twice");
    for call in &answers {
        assert!(call.params.get("text").is_none(), "{}", call.params);
    }
    // Nothing else was said or done about them.
    assert!(fake.calls_to("sendMessage").is_empty());
    assert!(fake.calls_to("editMessageText").is_empty());
    // And no second answer comes later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.calls_to("answerCallbackQuery").len(), ids.len());
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_an_admin_added_is_welcomed_without_the_captcha() {
    let fake = FakeBotApi::start().await;
    fake.set_admins(GROUP, &[7]);
    fake.push_update(FakeBotApi::new_members(
        GROUP,
        (7, "Ana"),
        &[(9, "Cy")],
        now(),
    ));
    let bot = start(
        fake.clone(),
        "[defaults.welcome]\ndelay_secs = 0\ncaptcha = \"math\"\n",
    )
    .await;
    let sent = fake.wait_for_call("sendMessage", 1, WAIT).await;
    assert!(text_of(&sent[0]).contains("欢迎 Cy"), "{}", sent[0].params);
    assert!(sent[0].params.get("reply_markup").is_none(), "no question");
    assert!(fake.calls_to("restrictChatMember").is_empty());
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_join_line_is_deleted_when_the_chat_member_update_came_first() {
    let fake = FakeBotApi::start().await;
    // Telegram reports the join twice; here the report without the service message is first.
    fake.push_update(FakeBotApi::chat_member(
        GROUP,
        (9, "Cy"),
        (9, "Cy"),
        "left",
        "member",
        now(),
    ));
    let join = FakeBotApi::new_members(GROUP, (9, "Cy"), &[(9, "Cy")], now());
    let join_id = join["message"]["message_id"].as_i64().unwrap();
    fake.push_update(join);
    let bot = start(
        fake.clone(),
        "[defaults.welcome]\ndelay_secs = 0\ndelete_service_messages = true\n",
    )
    .await;
    let deleted = fake.wait_for_call("deleteMessage", 1, WAIT).await;
    assert_eq!(deleted[0].params["message_id"].as_i64(), Some(join_id));
    let sent = fake.wait_for_call("sendMessage", 1, WAIT).await;
    assert!(text_of(&sent[0]).contains("欢迎 Cy"), "{}", sent[0].params);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        fake.calls_to("sendMessage").len(),
        1,
        "one welcome, not one per report"
    );
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_see_links_in_captions_and_text_links_and_channel_forwards() {
    let fake = FakeBotApi::start().await;
    fake.set_admins(GROUP, &[7]);
    let chat = serde_json::json!({ "id": GROUP, "type": "supergroup", "title": "Test supergroup" });
    let from =
        |id: i64, name: &str| serde_json::json!({ "id": id, "is_bot": false, "first_name": name });
    // A photo whose caption hides the address behind a text link.
    fake.push_update(serde_json::json!({ "message": {
        "message_id": 9001, "date": now(), "chat": chat, "from": from(20, "Spam"),
        "photo": [{ "file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90 }],
        "caption": "点这里领红包",
        "caption_entities": [{ "type": "text_link", "offset": 0, "length": 3, "url": "https://red-packet.example.ru/x" }]
    }}));
    // Plain text with a text link, the address nowhere in the text.
    fake.push_update(serde_json::json!({ "message": {
        "message_id": 9002, "date": now(), "chat": chat, "from": from(21, "Spam2"),
        "text": "官方通知",
        "entities": [{ "type": "text_link", "offset": 0, "length": 4, "url": "http://phish.example.com/login" }]
    }}));
    // A channel's post forwarded into the group.
    fake.push_update(serde_json::json!({ "message": {
        "message_id": 9003, "date": now(), "chat": chat, "from": from(22, "Fwd"),
        "text": "频道推广",
        "forward_origin": { "type": "channel", "date": now() - 60, "message_id": 5,
            "chat": { "id": -1_009_876_543_210_i64, "type": "channel", "title": "Ads" } }
    }}));
    // A clean message, then an admin mutes its author by replying.
    fake.push_update(serde_json::json!({ "message": {
        "message_id": 9004, "date": now(), "chat": chat, "from": from(23, "Loud"), "text": "哈哈哈"
    }}));
    fake.push_update(serde_json::json!({ "message": {
        "message_id": 9005, "date": now(), "chat": chat, "from": from(7, "Ana"), "text": "/mute 2h 太吵",
        "entities": [{ "type": "bot_command", "offset": 0, "length": 5 }],
        "reply_to_message": { "message_id": 9004, "date": now(), "chat": chat, "from": from(23, "Loud"), "text": "哈哈哈" }
    }}));
    let bot = start(
        fake.clone(),
        "[defaults.moderation.links]\naction = \"warn\"\n[defaults.moderation.channel_forwards]\naction = \"delete\"\n",
    )
    .await;
    let deleted = fake.wait_for_call("deleteMessage", 3, WAIT).await;
    let mut ids: Vec<i64> = deleted
        .iter()
        .map(|call| call.params["message_id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, vec![9001, 9002, 9003]);
    let muted = fake.wait_for_call("restrictChatMember", 1, WAIT).await;
    assert_eq!(muted[0].params["user_id"], 23);
    let permissions = muted[0].params["permissions"].as_object().unwrap();
    assert!(
        permissions.values().all(|allowed| allowed != true),
        "nothing is allowed: {permissions:?}"
    );
    let until = muted[0].params["until_date"].as_i64().unwrap();
    assert!((until - (now() + 7200)).abs() < 60, "muted for two hours");
    bot.stop().await.unwrap();
    assert!(
        fake.calls_to("restrictChatMember")
            .iter()
            .all(|call| call.params["user_id"] == 23),
        "nobody else was restricted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_takes_effect_at_once_not_when_the_admin_cache_expires() {
    let fake = FakeBotApi::start().await;
    fake.set_admins(GROUP, &[7]);
    let chat = serde_json::json!({ "id": GROUP, "type": "supergroup", "title": "Test supergroup" });
    let from =
        |id: i64, name: &str| serde_json::json!({ "id": id, "is_bot": false, "first_name": name });
    let warn_cy = |message_id: i64| {
        serde_json::json!({ "message": {
            "message_id": message_id, "date": now(), "chat": chat, "from": from(8, "Bo"), "text": "/warn 刷屏",
            "entities": [{ "type": "bot_command", "offset": 0, "length": 5 }],
            "reply_to_message": { "message_id": 8000, "date": now(), "chat": chat, "from": from(9, "Cy"), "text": "……" }
        }})
    };
    fake.push_update(FakeBotApi::group_text(GROUP, (9, "Cy"), "……", now()));
    fake.push_update(warn_cy(8001));
    let bot = start(fake.clone(), "").await;
    let refused = fake.wait_for_call("sendMessage", 1, WAIT).await;
    assert_eq!(text_of(&refused[0]), "只有管理员可以使用 /warn。");

    fake.set_admins(GROUP, &[7, 8]);
    fake.push_update(FakeBotApi::chat_member(
        GROUP,
        (7, "Ana"),
        (8, "Bo"),
        "member",
        "administrator",
        now(),
    ));
    fake.push_update(warn_cy(8002));
    let sent = fake.wait_for_call("sendMessage", 2, WAIT).await;
    assert_eq!(text_of(&sent[1]), "⚠️ Cy 被警告（1/3）：刷屏。");
    bot.stop().await.unwrap();
}

/// A message whose entities do not fit its text (one ending inside a surrogate pair, one past
/// the end) made teloxide panic while reading it, which stopped polling, and the unconfirmed
/// update stopped the bot again on every restart. Now the bad entities are left out, the rest
/// of the message is handled, and the updates after it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_with_entities_that_do_not_fit_its_text_stops_nothing() {
    let fake = FakeBotApi::start().await;
    let mut poison = FakeBotApi::group_text(GROUP, (7, "Ana"), "/rules 😀", now());
    poison["message"]["entities"] = serde_json::json!([
        { "type": "bot_command", "offset": 0, "length": 6 },
        // "/rules " is 7 UTF-16 units; 😀 takes two, so 8 is the middle of it.
        { "type": "url", "offset": 8, "length": 1 },
        { "type": "mention", "offset": 0, "length": 99 },
        { "type": "bold", "offset": 4_294_967_295u64, "length": 4_294_967_295u64 },
    ]);
    fake.push_update(poison);
    // And one teloxide cannot read at all: kept, closed, with its error.
    let mut unreadable = FakeBotApi::group_text(GROUP, (8, "Bo"), "/rules", now());
    unreadable["message"]["date"] = serde_json::json!("yesterday");
    fake.push_update(unreadable);
    // One member per chat, so that the per-group send limit does not make the test slow.
    let chats: Vec<i64> = (1..=50).map(|n| -1_000_000_000_000 - n).collect();
    for (n, chat) in chats.iter().enumerate() {
        fake.push_update(FakeBotApi::group_text(
            *chat,
            (100 + n as i64, "member"),
            "/rules",
            now(),
        ));
    }
    let bot = start(fake.clone(), "").await;
    let sent = fake.wait_for_call("sendMessage", 51, WAIT).await;
    let answered: std::collections::HashSet<i64> = sent
        .iter()
        .filter_map(|call| call.params["chat_id"].as_i64())
        .collect();
    assert!(
        answered.contains(&GROUP),
        "the malformed message was still answered"
    );
    assert!(chats.iter().all(|chat| answered.contains(chat)));
    let db = bot.db().await;
    let (unhandled,): (i64,) = db
        .fetch_one("SELECT COUNT(*) - COUNT(handled_at) FROM inbox", args![])
        .await
        .unwrap();
    assert_eq!(unhandled, 0);
    let failures = qunbot::store::inbox::failures(&db, 10).await.unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].2, Some(GROUP));
    assert!(failures[0].3.contains("could not be read"), "{failures:?}");
    db.close().await;
    bot.stop().await.unwrap();
    assert!(
        fake.pending_update_ids().is_empty(),
        "everything was confirmed: a restart gets none of it again"
    );
}

/// A group held at Telegram's 20 messages a minute by its members' chatter: a newcomer's spam
/// link is removed and the newcomer muted at once, and an admin's `/warn` answered within
/// seconds, ahead of the member replies still waiting (see `support::at_cap`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_its_cap_a_group_still_removes_spam_and_answers_its_admin_first() {
    let measured = support::at_cap::measure().await;
    eprintln!("at the cap: {measured:?}");
    assert!(
        measured.spam_deleted_after <= Duration::from_secs(2),
        "{measured:?}"
    );
    assert!(
        measured.newcomer_muted_after <= Duration::from_secs(2),
        "{measured:?}"
    );
    assert!(
        measured.warn_answered_after <= Duration::from_secs(5),
        "{measured:?}"
    );
    assert!(
        measured.member_replies_before_warn < support::at_cap::MEMBERS,
        "the /warn reply overtook member replies: {measured:?}"
    );
}
