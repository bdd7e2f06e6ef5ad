//! Relay lists (接龙) through the real handler path: a rush of 200 members on SQLite and
//! PostgreSQL, a closed list refusing a stale button, and the Telegram adapter sending the
//! export files. The rest of the feature is in tests/scenarios/relay.chat.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use qunbot::app::prepare;
use qunbot::args;
use qunbot::config::Settings;
use qunbot::core::action::{Action, ChatPort, MessageRef};
use qunbot::core::clock::{Clock, ManualClock};
use qunbot::core::delivery::Deliverer;
use qunbot::core::engine::{Engine, Handled};
use qunbot::core::event::{Chat, ChatKind, Event, EventKind, Message, User};
use qunbot::store::{Db, inbox, outbox};
use support::db::TestDb;
use support::fake_bot_api::FakeBotApi;
use support::port::RecordingPort;

const GROUP: i64 = -1_001_777_000_001;
const MEMBERS: i64 = 200;

fn chat() -> Chat {
    Chat {
        id: GROUP,
        kind: ChatKind::Supergroup,
        title: Some("g".into()),
    }
}

fn member(n: i64) -> User {
    User::named(10_000 + n, format!("m{n}"))
}

fn message(from: User, id: i64, text: &str, at: DateTime<Utc>) -> Event {
    Event {
        chat: chat(),
        at,
        kind: EventKind::Message(Message::text(id, from, text)),
    }
}

fn press(from: User, callback: &str, list_message: i64, data: &str, at: DateTime<Utc>) -> Event {
    Event {
        chat: chat(),
        at,
        kind: EventKind::ButtonPressed {
            from,
            callback_id: callback.into(),
            message_id: Some(list_message),
            data: data.into(),
        },
    }
}

fn engine(db: &Db, clock: &ManualClock, port: Arc<dyn ChatPort>) -> Engine {
    let prepared = prepare(Settings::built_in(&qunbot::features::all())).unwrap();
    support::engine::build(&prepared, db, clock, port)
}

/// Delivers everything in the outbox, as often as asked, until `done` says the engine is done
/// and nothing is left.
async fn deliver_until_empty(deliverer: &Deliverer, done: impl Fn() -> bool) {
    loop {
        let finished = done();
        let batch = outbox::pending(&deliverer.db, 0, 500).await.unwrap();
        for queued in &batch {
            deliverer.deliver(queued).await.unwrap();
        }
        if batch.is_empty() && finished {
            return;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_members_joining_within_a_second_are_all_on_the_list_in_order() {
    for test in TestDb::each().await {
        let db = &test.db;
        let start = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        let clock = ManualClock::starting_at(start);
        let port = Arc::new(RecordingPort::default());
        let engines: Vec<Arc<Engine>> = (0..2)
            .map(|_| Arc::new(engine(db, &clock, port.clone())))
            .collect();
        let deliverer = Deliverer::new(db.clone(), port.clone(), Arc::new(clock.clone()));

        // The organiser starts the list; it is posted and remembered under its key.
        inbox::store_batch(
            db,
            "tg",
            &[(1, message(member(-1), 1, "接龙 周六爬山", start))],
            start,
        )
        .await
        .unwrap();
        engines[0].handle_pending().await.unwrap();
        deliver_until_empty(&deliverer, || true).await;
        let list_message = outbox::message_by_key(db, GROUP, "relay:1")
            .await
            .unwrap()
            .expect("the list was posted");

        // 200 members press ➕ within one second; twenty of them press twice, and Telegram
        // delivers one batch a second time.
        let mut batch = Vec::new();
        for n in 0..MEMBERS {
            let at = start + chrono::Duration::milliseconds(n * 1000 / MEMBERS);
            batch.push((
                100 + n,
                press(member(n), &format!("cb{n}"), list_message, "relay:j:1", at),
            ));
        }
        for n in 0..20 {
            let at = start + chrono::Duration::milliseconds(999);
            batch.push((
                400 + n,
                press(
                    member(n),
                    &format!("again{n}"),
                    list_message,
                    "relay:j:1",
                    at,
                ),
            ));
        }
        for chunk in batch.chunks(50) {
            inbox::store_batch(db, "tg", chunk, start).await.unwrap();
        }
        inbox::store_batch(db, "tg", &batch[..50], start)
            .await
            .unwrap();
        clock.set(start + chrono::Duration::seconds(1));

        // Two engines race over the inbox while delivery runs beside them.
        let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handles: Vec<_> = engines
            .iter()
            .map(|engine| {
                let (engine, finished) = (engine.clone(), finished.clone());
                tokio::spawn(async move {
                    let result = engine.handle_pending().await;
                    finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    result
                })
            })
            .collect();
        deliver_until_empty(&deliverer, || {
            finished.load(std::sync::atomic::Ordering::SeqCst) == engines.len()
        })
        .await;
        for handle in handles {
            handle.await.unwrap().unwrap();
        }

        let users: Vec<(i64,)> = db
            .fetch_all(
                "SELECT user_id FROM relay_entries WHERE list_id = 1 ORDER BY position",
                args![],
            )
            .await
            .unwrap();
        let expected: Vec<i64> = (0..MEMBERS).map(|n| 10_000 + n).collect();
        assert_eq!(
            users.into_iter().map(|(u,)| u).collect::<Vec<_>>(),
            expected,
            "{}: every member once, in order of arrival",
            test.backend
        );

        let actions = port.actions();
        let edits: Vec<&String> = actions
            .iter()
            .filter_map(|action| match action {
                Action::Edit {
                    target: MessageRef::Id(id),
                    text,
                    ..
                } if *id == list_message => Some(text),
                _ => None,
            })
            .collect();
        let last = edits.last().expect("the list was edited");
        let lines: Vec<&str> = last
            .lines()
            .filter(|line| {
                line.split_once(". ")
                    .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
            })
            .collect();
        let wanted: Vec<String> = (0..MEMBERS).map(|n| format!("{}. m{n}", n + 1)).collect();
        assert_eq!(
            lines, wanted,
            "{}: the last edit shows everyone",
            test.backend
        );
        assert!(last.contains("已接 200 人"), "{last}");
        assert!(
            edits.len() < MEMBERS as usize,
            "{}: pending edits are coalesced ({} edits)",
            test.backend,
            edits.len()
        );
        let toasts = actions
            .iter()
            .filter(|a| matches!(a, Action::AnswerButton { .. }))
            .count();
        assert_eq!(
            toasts,
            MEMBERS as usize + 20,
            "every press is answered once"
        );
        let sends = actions
            .iter()
            .filter(|a| matches!(a, Action::Send { .. }))
            .count();
        assert_eq!(sends, 1, "no message per member: {actions:?}");
        // Handling an update again is refused by the inbox; nothing changes.
        let (again_id, again) = &batch[0];
        assert_eq!(
            engines[0].handle("tg", *again_id, again).await.unwrap(),
            Handled::AlreadyHandled
        );
        test.finish().await;
    }
}

#[tokio::test]
async fn a_closed_list_refuses_a_stale_button_and_a_repeated_close() {
    let test = TestDb::sqlite().await;
    let db = &test.db;
    let start = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
    let clock = ManualClock::starting_at(start);
    let port = Arc::new(RecordingPort::default());
    let engine = engine(db, &clock, port.clone());
    let deliverer = Deliverer::new(db.clone(), port.clone(), Arc::new(clock.clone()));
    let organiser = member(0);
    let events = vec![
        (
            1,
            message(organiser.clone(), 1, "接龙 读书会\n截止 1h", start),
        ),
        (2, press(member(1), "a", 2, "relay:j:1", start)),
    ];
    inbox::store_batch(db, "tg", &events, start).await.unwrap();
    engine.handle_pending().await.unwrap();
    deliver_until_empty(&deliverer, || true).await;
    // The deadline passes while the bot is up: the timer closes the list.
    clock.set(start + chrono::Duration::hours(2));
    qunbot::scheduler::fire_due(&engine, clock.now())
        .await
        .unwrap();
    engine.handle_pending().await.unwrap();
    // A member whose client still shows the old buttons presses ➕; the organiser presses 🔒.
    let late = vec![
        (3, press(member(2), "b", 2, "relay:j:1", clock.now())),
        (4, press(organiser, "c", 2, "relay:c:1", clock.now())),
    ];
    inbox::store_batch(db, "tg", &late, clock.now())
        .await
        .unwrap();
    engine.handle_pending().await.unwrap();
    deliver_until_empty(&deliverer, || true).await;

    let (count,): (i64,) = db
        .fetch_one("SELECT COUNT(*) FROM relay_entries", args![])
        .await
        .unwrap();
    assert_eq!(count, 1, "the late press added nothing");
    let toasts: Vec<String> = port
        .actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::AnswerButton { text, .. } => text,
            _ => None,
        })
        .collect();
    assert_eq!(
        toasts,
        vec![
            "✅ 已接龙，第 1 位".to_owned(),
            "这个接龙已截止，不能再接龙或修改了。".to_owned(),
            "这个接龙已经截止了。".to_owned(),
        ]
    );
    let texts = port.texts();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("#接龙（已截止）") && t.contains("🔒 已截止｜共 1 人")),
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.starts_with("🔒 接龙「读书会」已截止"))
            .count(),
        1,
        "the close is announced once: {texts:?}"
    );
    test.finish().await;
}

/// The id of the message delivery remembered under `key`, once it has (the list's message).
async fn remembered(db: &Db, group: i64, key: &str, wait: Duration) -> i64 {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(id) = outbox::message_by_key(db, group, key).await.unwrap() {
            return id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{key} was never remembered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_telegram_buttons_join_and_the_export_arrives_as_two_files() {
    let fake = FakeBotApi::start().await;
    let bot = support::run::start(fake.clone(), "").await;
    let now = Utc::now().timestamp();
    let group = -1_001_234_567_890;
    fake.push_update(FakeBotApi::group_text(
        group,
        (7, "Ann"),
        "接龙 周六爬山\n上限 1",
        now,
    ));
    let wait = Duration::from_secs(20);
    let sent = fake.wait_for_call("sendMessage", 1, wait).await;
    let keyboard = sent[0].params["reply_markup"].to_string();
    assert!(
        keyboard.contains("relay:j:1") && keyboard.contains("➕ 接龙"),
        "{keyboard}"
    );
    // The list's message id, as delivery remembered it under the list's key.
    let db = bot.db().await;
    let list_id = remembered(&db, group, "relay:1", wait).await;
    db.close().await;
    fake.push_update(FakeBotApi::callback_query(
        group,
        (8, "Bo"),
        list_id,
        "relay:j:1",
    ));
    fake.push_update(FakeBotApi::callback_query(
        group,
        (9, "Cy,\"x\""),
        list_id,
        "relay:j:1",
    ));
    fake.push_update(FakeBotApi::callback_query(
        group,
        (8, "Bo"),
        list_id,
        "relay:x:1",
    ));
    let documents = fake.wait_for_call("sendDocument", 2, wait).await;
    let text_file = &documents[0].params["document"];
    let csv_file = &documents[1].params["document"];
    assert!(
        text_file["file_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("接龙-周六爬山-") && n.ends_with(".txt")),
        "{text_file}"
    );
    assert_eq!(
        text_file["content"].as_str().unwrap(),
        "#接龙\n周六爬山\n\n1. Bo\n\n候补：\n1. Cy,\"x\""
    );
    assert!(
        documents[0].params["caption"]
            .as_str()
            .is_some_and(|c| c.contains("周六爬山")),
    );
    let csv = csv_file["content"].as_str().unwrap();
    let rows: Vec<&str> = csv.trim_start_matches('\u{FEFF}').lines().collect();
    assert_eq!(rows[0], "序号,昵称,用户ID,内容,时间,候补");
    assert!(rows[1].starts_with("1,Bo,8,,"), "{csv}");
    assert!(rows[2].starts_with("2,\"Cy,\"\"x\"\"\",9,,"), "{csv}");
    assert!(rows[2].ends_with(",候补"), "{csv}");
    let toasts = fake.wait_for_call("answerCallbackQuery", 3, wait).await;
    assert!(
        toasts.iter().any(|c| c.params["text"]
            .as_str()
            .is_some_and(|t| t.contains("候补第 1 位"))),
        "{toasts:?}"
    );
    bot.stop().await.unwrap();
}

#[tokio::test]
async fn a_list_longer_than_one_message_is_split_into_pages_and_shrinks_back() {
    let test = TestDb::sqlite().await;
    let db = &test.db;
    let start = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
    let clock = ManualClock::starting_at(start);
    let port = Arc::new(RecordingPort::default());
    let engine = engine(db, &clock, port.clone());
    let deliverer = Deliverer::new(db.clone(), port.clone(), Arc::new(clock.clone()));
    let mut events = vec![(1, message(member(0), 1, "接龙 长名单", start))];
    // 60 lines of about 110 characters: about 6,600 characters, two messages' worth.
    for n in 1..=60 {
        let text = format!("/join {n:02} {}", "长".repeat(100));
        events.push((1 + n, message(member(n), 1 + n, &text, start)));
    }
    inbox::store_batch(db, "tg", &events, start).await.unwrap();
    engine.handle_pending().await.unwrap();
    deliver_until_empty(&deliverer, || true).await;
    let first = outbox::message_by_key(db, GROUP, "relay:1").await.unwrap();
    let second = outbox::message_by_key(db, GROUP, "relay:1:2")
        .await
        .unwrap();
    assert!(first.is_some() && second.is_some(), "two pages were posted");
    let shown: String = port
        .actions()
        .iter()
        .rev()
        .filter_map(|action| match action {
            Action::Send { text, .. } | Action::Edit { text, .. } => Some(text.clone()),
            _ => None,
        })
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    for text in port.texts() {
        assert!(text.chars().count() <= 4096, "every page fits one message");
    }
    for n in 1..=60 {
        assert!(
            shown.contains(&format!(". m{n} {n:02} ")),
            "line {n} is shown"
        );
    }
    assert!(shown.contains("（续，第 2/2 页）"), "{shown}");

    // Forty leave: the list fits one message again and the second page goes.
    let leaves: Vec<(i64, Event)> = (1..=40)
        .map(|n| (100 + n, message(member(n), 100 + n, "/leave", start)))
        .collect();
    inbox::store_batch(db, "tg", &leaves, start).await.unwrap();
    engine.handle_pending().await.unwrap();
    deliver_until_empty(&deliverer, || true).await;
    assert!(
        port.actions().iter().any(|action| matches!(
            action,
            Action::Delete { message: MessageRef::Id(id), .. } if Some(*id) == second
        )),
        "the empty second page is deleted"
    );
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_telegram_a_rush_of_presses_gets_toasts_and_a_few_paced_edits() {
    let fake = FakeBotApi::start().await;
    let bot = support::run::start(fake.clone(), "").await;
    let group = -1_001_234_567_891;
    fake.push_update(FakeBotApi::group_text(
        group,
        (7, "Ann"),
        "接龙 周六爬山",
        Utc::now().timestamp(),
    ));
    let wait = Duration::from_secs(30);
    fake.wait_for_call("sendMessage", 1, wait).await;
    let db = bot.db().await;
    let list_id = remembered(&db, group, "relay:1", wait).await;
    db.close().await;
    for n in 0..MEMBERS {
        fake.push_update(FakeBotApi::callback_query(
            group,
            (1000 + n, &format!("m{n}")),
            list_id,
            "relay:j:1",
        ));
    }
    fake.wait_for_call("answerCallbackQuery", MEMBERS as usize, wait)
        .await;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let complete = fake.calls_to("editMessageText").iter().any(|c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.contains("已接 200 人"))
        });
        if complete {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the list never showed everyone"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let edits = fake.calls_to("editMessageText");
    let last = edits.last().unwrap().params["text"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..MEMBERS {
        assert!(
            last.contains(&format!("\n{}. m{n}\n", n + 1)),
            "line {n} in {last}"
        );
    }
    assert!(edits.len() <= 10, "edits are coalesced: {}", edits.len());
    for pair in edits.windows(2) {
        assert!(
            pair[1].at.duration_since(pair[0].at) >= Duration::from_millis(2900),
            "edits come at most every 3 s, within Telegram's 20 a minute per group"
        );
    }
    assert_eq!(
        fake.calls_to("sendMessage").len(),
        1,
        "no message per member"
    );
    bot.stop().await.unwrap();
}

#[tokio::test]
async fn the_same_message_or_press_stored_twice_adds_one_line_even_where_members_may_add_several() {
    for test in TestDb::each().await {
        let db = &test.db;
        let start = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        let clock = ManualClock::starting_at(start);
        let port = Arc::new(RecordingPort::default());
        let engine = engine(db, &clock, port.clone());
        let join_text = message(member(1), 5, "/join 苹果 2斤", start);
        let join_press = press(member(2), "cb-1", 2, "relay:j:1", start);
        // The inbox's key is the update id; these reach it twice under different ids, which
        // only the relay's own unique keys can catch.
        let events = vec![
            (1, message(member(0), 1, "接龙 团购水果\n每人多条", start)),
            (2, join_text.clone()),
            (3, join_text),
            (4, join_press.clone()),
            (5, join_press),
            (6, message(member(1), 6, "/join 橙子 1箱", start)),
        ];
        inbox::store_batch(db, "tg", &events, start).await.unwrap();
        engine.handle_pending().await.unwrap();
        let lines: Vec<(Option<i64>, String)> = db
            .fetch_all(
                "SELECT user_id, content FROM relay_entries WHERE list_id = 1 ORDER BY position",
                args![],
            )
            .await
            .unwrap();
        assert_eq!(
            lines,
            vec![
                (Some(10_001), "苹果 2斤".to_owned()),
                (Some(10_002), String::new()),
                (Some(10_001), "橙子 1箱".to_owned()),
            ],
            "{}",
            test.backend
        );
        test.finish().await;
    }
}
