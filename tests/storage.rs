//! The storage layer and the engine's once-only guarantees, on SQLite and PostgreSQL.

mod support;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunbot::app::prepare_with;
use qunbot::args;
use qunbot::config::Settings;
use qunbot::core::action::{Action, MessageRef, PortError};
use qunbot::core::clock::{Clock, ManualClock};
use qunbot::core::context::Cx;
use qunbot::core::delivery::{Deliverer, Outcome};
use qunbot::core::engine::{Engine, Handled};
use qunbot::core::event::{EventKind, User};
use qunbot::core::feature::{Feature, FeatureError, FeatureResult};
use qunbot::store::{Db, inbox, leases, outbox, timers};
use support::db::TestDb;
use support::events::said;
use support::port::RecordingPort;

const GROUP: i64 = -1001;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
}

fn user(id: i64, name: &str) -> User {
    User::named(id, name)
}

fn engine(db: &Db, port: Arc<RecordingPort>, clock: ManualClock, config: &str) -> Engine {
    engine_with(db, port, clock, config, qunbot::features::all())
}

fn engine_with(
    db: &Db,
    port: Arc<RecordingPort>,
    clock: ManualClock,
    config: &str,
    features: Vec<Arc<dyn Feature>>,
) -> Engine {
    let settings = Settings::from_toml("test.toml", config, &qunbot::features::all()).unwrap();
    let prepared = prepare_with(settings, features).unwrap();
    support::engine::build(&prepared, db, &clock, port)
}

fn deliverer(db: &Db, port: &Arc<RecordingPort>, clock: &ManualClock) -> Deliverer {
    Deliverer::new(db.clone(), port.clone(), Arc::new(clock.clone()))
}

async fn message_count(db: &Db, chat: i64, user: i64) -> Option<i64> {
    db.fetch_optional::<(i64,)>(
        "SELECT message_count FROM members WHERE chat_id = $1 AND user_id = $2",
        args![chat, user],
    )
    .await
    .unwrap()
    .map(|(n,)| n)
}

#[tokio::test]
async fn migrations_apply_once() {
    for test in TestDb::each().await {
        assert_eq!(
            test.db.migrate(&qunbot::features::schema()).await.unwrap(),
            0,
            "{}",
            test.backend
        );
        test.finish().await;
    }
}

#[tokio::test]
async fn a_redelivered_update_is_stored_and_handled_once() {
    for test in TestDb::each().await {
        let db = &test.db;
        let port = Arc::new(RecordingPort::default());
        let engine = engine(db, port.clone(), ManualClock::starting_at(t0()), "");
        let event = said(GROUP, user(7, "ana"), 1, "hello", t0());
        assert_eq!(
            inbox::store_batch(db, "tg", &[(5, event.clone())], t0())
                .await
                .unwrap(),
            1
        );
        // Telegram sends the same update again (the offset was not confirmed before a crash).
        assert_eq!(
            inbox::store_batch(db, "tg", &[(5, event.clone())], t0())
                .await
                .unwrap(),
            0
        );
        assert_eq!(engine.handle_pending().await.unwrap(), 1);
        assert_eq!(
            engine.handle("tg", 5, &event).await.unwrap(),
            Handled::AlreadyHandled
        );
        assert_eq!(
            message_count(db, GROUP, 7).await,
            Some(1),
            "{}",
            test.backend
        );
        test.finish().await;
    }
}

#[tokio::test]
async fn two_workers_racing_for_one_update_apply_it_once() {
    for test in TestDb::each().await {
        let db = &test.db;
        let clock = ManualClock::starting_at(t0());
        let port = Arc::new(RecordingPort::default());
        let a = Arc::new(engine(db, port.clone(), clock.clone(), ""));
        let b = Arc::new(engine(db, port.clone(), clock.clone(), ""));
        let mut batch = Vec::new();
        for n in 0..20 {
            batch.push((n, said(GROUP, user(7, "ana"), n, "/help", t0())));
        }
        inbox::store_batch(db, "tg", &batch, t0()).await.unwrap();
        let (x, y) = tokio::join!(a.handle_pending(), b.handle_pending());
        x.unwrap();
        y.unwrap();
        assert_eq!(
            message_count(db, GROUP, 7).await,
            Some(20),
            "{}",
            test.backend
        );
        let (queued,): (i64,) = db
            .fetch_one("SELECT COUNT(*) FROM outbox", args![])
            .await
            .unwrap();
        assert_eq!(
            queued, 20,
            "one /help answer per message on {}",
            test.backend
        );
        test.finish().await;
    }
}

#[tokio::test]
async fn many_chats_at_once_are_each_handled_in_order() {
    // On PostgreSQL the chats are split into batches handled side by side; on SQLite one batch
    // follows another. Either way every message counts once and each chat's replies follow its
    // messages.
    for test in TestDb::each().await {
        let db = &test.db;
        let port = Arc::new(RecordingPort::default());
        let engine = engine(db, port.clone(), ManualClock::starting_at(t0()), "");
        let chats = [-2001, -2002, -2003, -2004, -2005, -2006];
        let mut batch = Vec::new();
        for n in 0..120 {
            let chat = chats[n as usize % chats.len()];
            batch.push((n, said(chat, user(7, "ana"), n, "/help", t0())));
        }
        inbox::store_batch(db, "tg", &batch, t0()).await.unwrap();
        assert_eq!(
            engine.handle_pending().await.unwrap(),
            120,
            "{}",
            test.backend
        );
        for chat in chats {
            assert_eq!(
                message_count(db, chat, 7).await,
                Some(20),
                "{}",
                test.backend
            );
        }
        let queued = outbox::pending(db, 0, 1_000).await.unwrap();
        assert_eq!(queued.len(), 120, "{}", test.backend);
        for chat in chats {
            let replied_to: Vec<i64> = queued
                .iter()
                .filter_map(|q| match &q.action {
                    Action::Send {
                        chat: to,
                        reply_to: Some(message),
                        ..
                    } if *to == chat => Some(*message),
                    _ => None,
                })
                .collect();
            let mut in_order = replied_to.clone();
            in_order.sort_unstable();
            assert_eq!(replied_to.len(), 20, "{}", test.backend);
            assert_eq!(replied_to, in_order, "chat {chat} on {}", test.backend);
        }
        test.finish().await;
    }
}

#[tokio::test]
async fn a_failing_feature_changes_nothing_and_does_not_block_the_queue() {
    for test in TestDb::each().await {
        let db = &test.db;
        let port = Arc::new(RecordingPort::default());
        let engine = engine(db, port.clone(), ManualClock::starting_at(t0()), "");
        // An event whose stored form no longer reads, followed by a good one.
        db.execute(
            "INSERT INTO inbox (source, update_id, chat_id, event, received_at) VALUES ('tg', 1, $1, '{\"nonsense\":1}', $2)",
            args![GROUP, t0().timestamp()],
        )
        .await
        .unwrap();
        inbox::store_batch(
            db,
            "tg",
            &[(2, said(GROUP, user(7, "ana"), 1, "hi", t0()))],
            t0(),
        )
        .await
        .unwrap();
        assert_eq!(engine.handle_pending().await.unwrap(), 2);
        assert_eq!(inbox::pending_count(db).await.unwrap(), 0);
        assert_eq!(message_count(db, GROUP, 7).await, Some(1));
        test.finish().await;
    }
}

/// Fails on any message containing its word, after writing something, the way a feature that
/// hits a bug half-way would: with an error, or by panicking.
struct FailsOn {
    word: &'static str,
    panics: bool,
}

const BOOM: FailsOn = FailsOn {
    word: "boom",
    panics: false,
};
const POISON: FailsOn = FailsOn {
    word: "poison",
    panics: true,
};

#[async_trait::async_trait]
impl Feature for FailsOn {
    fn name(&self) -> &'static str {
        self.word
    }

    fn always_on(&self) -> bool {
        true
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        let Some(message) = cx.event.message() else {
            return Ok(());
        };
        if message.text.contains(self.word) {
            cx.tx
                .execute(
                    "UPDATE members SET message_count = message_count + 100 WHERE chat_id = $1",
                    args![cx.chat()],
                )
                .await?;
            if self.panics {
                let words: Vec<&str> = message.text.split(' ').collect();
                // Out of bounds: the kind of slip that panics.
                let _ = words[words.len() + 1];
            }
            return Err(FeatureError::Other(self.word.into()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_feature_failing_on_one_update_of_a_batch_costs_that_update_only() {
    for test in TestDb::each().await {
        let db = &test.db;
        let port = Arc::new(RecordingPort::default());
        let mut features = qunbot::features::all();
        features.push(Arc::new(BOOM));
        let clock = ManualClock::starting_at(t0());
        let engine = engine_with(db, port.clone(), clock.clone(), "", features);
        // Handled together as one batch, the fourth (a command) fails half-way.
        let texts = ["one", "two", "three", "/help boom", "five", "six"];
        let batch: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(n, text)| (n as i64, said(GROUP, user(7, "ana"), n as i64, text, t0())))
            .collect();
        inbox::store_batch(db, "tg", &batch, t0()).await.unwrap();
        assert_eq!(
            engine.handle_pending().await.unwrap(),
            6,
            "{}",
            test.backend
        );
        assert_eq!(inbox::pending_count(db).await.unwrap(), 0);
        let failures = inbox::failures(db, 10).await.unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!((failures[0].1, failures[0].3.as_str()), (3, "boom"));
        // Five messages counted; the failed one's writes (its count and the +100) are gone.
        assert_eq!(
            message_count(db, GROUP, 7).await,
            Some(5),
            "{}",
            test.backend
        );
        let deliverer = deliverer(db, &port, &clock);
        for queued in outbox::pending(db, 0, 10).await.unwrap() {
            deliverer.deliver(&queued).await.unwrap();
        }
        assert_eq!(
            port.texts(),
            vec!["抱歉，处理时出了点问题，请稍后再试。".to_owned()],
            "only the failed command is answered, with an apology, on {}",
            test.backend
        );
        test.finish().await;
    }
}

#[tokio::test]
async fn an_update_that_panics_is_closed_with_its_error_and_the_next_fifty_are_handled() {
    for test in TestDb::each().await {
        let db = &test.db;
        let port = Arc::new(RecordingPort::default());
        let mut features = qunbot::features::all();
        features.push(Arc::new(POISON));
        let clock = ManualClock::starting_at(t0());
        let engine = engine_with(db, port.clone(), clock.clone(), "", features);
        let mut batch = vec![(0, said(GROUP, user(7, "ana"), 0, "/help poison", t0()))];
        batch.extend((1..=50).map(|n| (n, said(GROUP, user(7, "ana"), n, "hello", t0()))));
        inbox::store_batch(db, "tg", &batch, t0()).await.unwrap();
        assert_eq!(
            engine.handle_pending().await.unwrap(),
            51,
            "{}",
            test.backend
        );
        assert_eq!(inbox::pending_count(db).await.unwrap(), 0);
        assert_eq!(
            message_count(db, GROUP, 7).await,
            Some(50),
            "{}",
            test.backend
        );
        let failures = inbox::failures(db, 10).await.unwrap();
        assert_eq!(failures.len(), 1, "{}", test.backend);
        let (source, update_id, chat, error) = &failures[0];
        assert_eq!((source.as_str(), *update_id, *chat), ("tg", 0, Some(GROUP)));
        assert!(
            error.contains("panicked") && error.contains("out of bounds"),
            "{error}"
        );
        assert!(
            qunbot::metrics::metrics()
                .render()
                .contains("qunbot_update_failures_total{cause=\"panic\",stage=\"handle\"}"),
            "counted in /metrics"
        );
        // The poison command is apologised for, once; handling again replays nothing.
        let deliverer = deliverer(db, &port, &clock);
        for queued in outbox::pending(db, 0, 100).await.unwrap() {
            deliverer.deliver(&queued).await.unwrap();
        }
        assert_eq!(
            port.texts(),
            vec!["抱歉，处理时出了点问题，请稍后再试。".to_owned()]
        );
        assert_eq!(engine.handle_pending().await.unwrap(), 0);
        test.finish().await;
    }
}

#[tokio::test]
async fn stale_replies_are_dropped_but_their_state_changes_stay() {
    for test in TestDb::each().await {
        let db = &test.db;
        let clock = ManualClock::starting_at(t0());
        let port = Arc::new(RecordingPort::default());
        let engine = engine(
            db,
            port.clone(),
            clock.clone(),
            "[telegram]\nmax_reply_age_secs = 60\n",
        );
        let deliverer = deliverer(db, &port, &clock);
        // Sent before an outage, handled ten minutes later.
        let event = said(GROUP, user(7, "ana"), 1, "/help", t0());
        inbox::store_batch(db, "tg", &[(1, event)], t0())
            .await
            .unwrap();
        clock.advance(Duration::minutes(10));
        engine.handle_pending().await.unwrap();
        let stale = || {
            qunbot::metrics::metrics()
                .stale_dropped
                .with_label_values(&["send"])
                .get()
        };
        let stale_before = stale();
        for queued in outbox::pending(db, 0, 10).await.unwrap() {
            assert_eq!(deliverer.deliver(&queued).await.unwrap(), Outcome::Expired);
        }
        assert!(port.actions().is_empty());
        assert!(stale() > stale_before, "the dropped reply is counted");
        assert_eq!(
            message_count(db, GROUP, 7).await,
            Some(1),
            "the activity still counts"
        );
        test.finish().await;
    }
}

#[tokio::test]
async fn keyed_messages_are_edited_in_place_and_only_the_last_edit_is_made() {
    for test in TestDb::each().await {
        let db = &test.db;
        let port = Arc::new(RecordingPort::default());
        let clock = ManualClock::starting_at(t0());
        let deliverer = deliverer(db, &port, &clock);
        let key = || MessageRef::Key("relay:1".into());
        let edit = |text: &str| Action::Edit {
            chat: GROUP,
            target: key(),
            text: text.into(),
            buttons: vec![],
            thread: None,
        };
        let mut tx = db.begin().await.unwrap();
        // Four quick changes to a list that was never posted: only the last goes out, as a
        // new message remembered under the key.
        for text in [
            "list: ana",
            "list: ana bo",
            "list: ana bo cy",
            "list: ana bo cy di",
        ] {
            outbox::enqueue(&mut tx, &edit(text), t0(), None)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut outcomes = Vec::new();
        for queued in outbox::pending(db, 0, 10).await.unwrap() {
            outcomes.push(deliverer.deliver(&queued).await.unwrap());
        }
        assert_eq!(
            &outcomes[..3],
            &[
                Outcome::Superseded,
                Outcome::Superseded,
                Outcome::Superseded
            ]
        );
        assert!(matches!(outcomes[3], Outcome::Sent(_)));
        // A later change edits that message in place.
        let mut tx = db.begin().await.unwrap();
        outbox::enqueue(&mut tx, &edit("list: ana bo cy di ed"), t0(), None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        for queued in outbox::pending(db, 0, 10).await.unwrap() {
            deliverer.deliver(&queued).await.unwrap();
        }
        let actions = port.actions();
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(
            matches!(&actions[0], Action::Send { key: Some(k), text, .. } if k == "relay:1" && text == "list: ana bo cy di")
        );
        assert!(
            matches!(&actions[1], Action::Edit { target: MessageRef::Id(1001), text, .. } if text == "list: ana bo cy di ed")
        );
        assert_eq!(
            outbox::message_by_key(db, GROUP, "relay:1").await.unwrap(),
            Some(1001)
        );
        test.finish().await;
    }
}

#[tokio::test]
async fn a_chat_that_removed_the_bot_gets_no_more_sends_and_outages_leave_actions_queued() {
    for test in TestDb::each().await {
        let db = &test.db;
        let port = Arc::new(RecordingPort::default());
        let clock = ManualClock::starting_at(t0());
        let deliverer = deliverer(db, &port, &clock);
        let send = |text: &str| Action::Send {
            chat: GROUP,
            text: text.into(),
            reply_to: None,
            thread: None,
            key: None,
            buttons: vec![],
        };
        let mut tx = db.begin().await.unwrap();
        for text in ["one", "two", "three"] {
            outbox::enqueue(&mut tx, &send(text), t0(), None)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        port.failures.lock().unwrap().extend([
            PortError::Unavailable("timeout".into()),
            PortError::ChatGone("Forbidden: bot was kicked".into()),
        ]);
        let queued = outbox::pending(db, 0, 10).await.unwrap();
        assert!(matches!(
            deliverer.deliver(&queued[0]).await.unwrap(),
            Outcome::RetryLater(_)
        ));
        assert_eq!(
            outbox::pending(db, 0, 10).await.unwrap().len(),
            3,
            "still queued after an outage"
        );
        assert!(matches!(
            deliverer.deliver(&queued[0]).await.unwrap(),
            Outcome::Failed(_)
        ));
        assert!(matches!(
            deliverer.deliver(&queued[1]).await.unwrap(),
            Outcome::Skipped(_)
        ));
        assert!(port.actions().is_empty());
        test.finish().await;
    }
}

#[tokio::test]
async fn only_one_process_holds_the_polling_lease_and_a_dead_ones_is_free_at_once() {
    for test in TestDb::each().await {
        let db = &test.db;
        let leases::Taken::Yes(a) = leases::take(db, "poll", "a", t0()).await.unwrap() else {
            panic!("nobody holds it yet");
        };
        assert!(
            matches!(
                leases::take(db, "poll", "b", t0()).await.unwrap(),
                leases::Taken::HeldBy(Some(ref holder)) if holder == "a"
            ),
            "{}",
            test.backend
        );
        // a dies without a word: its file is closed, its connection dropped.
        drop(a);
        let mut b = None;
        for _ in 0..50 {
            if let leases::Taken::Yes(lease) = leases::take(db, "poll", "b", t0()).await.unwrap() {
                b = Some(lease);
                break;
            }
            // PostgreSQL ends a dropped session a moment after its socket closes.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let mut b = b.unwrap_or_else(|| panic!("{}: a's lease was not freed", test.backend));
        assert!(b.still_held(db).await.unwrap());
        b.release(db).await.unwrap();
        assert!(matches!(
            leases::take(db, "poll", "c", t0()).await.unwrap(),
            leases::Taken::Yes(_)
        ));
        test.finish().await;
    }
}

#[tokio::test]
async fn a_group_upgraded_to_a_supergroup_keeps_its_members_and_settings() {
    for test in TestDb::each().await {
        let db = &test.db;
        let clock = ManualClock::starting_at(t0());
        let port = Arc::new(RecordingPort::default());
        let config = "[groups.\"-55\"]\nlanguage = \"en\"\nrules = \"Be kind.\"\n";
        let engine = engine(db, port.clone(), clock.clone(), config);
        let old = -55;
        let new = -100_555;
        let mut events = vec![
            (1, said(old, user(7, "ana"), 1, "hi", t0())),
            (2, said(old, user(7, "ana"), 2, "hi again", t0())),
            (3, said(old, user(8, "bo"), 3, "hey", t0())),
        ];
        // The supergroup's first message can arrive before the notice in the old group.
        events.push((
            4,
            said(
                new,
                user(7, "ana"),
                4,
                "moved?",
                t0() + Duration::seconds(1),
            ),
        ));
        let mut notice = said(old, user(7, "ana"), 5, "", t0() + Duration::seconds(2));
        notice.kind = EventKind::ChatMigrated { to: new };
        events.push((5, notice));
        events.push((
            6,
            said(new, user(8, "bo"), 6, "/rules", t0() + Duration::seconds(3)),
        ));
        inbox::store_batch(db, "tg", &events, t0()).await.unwrap();
        engine.handle_pending().await.unwrap();
        assert_eq!(message_count(db, new, 7).await, Some(3), "{}", test.backend);
        assert_eq!(message_count(db, new, 8).await, Some(2));
        assert_eq!(message_count(db, old, 7).await, None);
        let deliverer = deliverer(db, &port, &clock);
        for queued in outbox::pending(db, 0, 10).await.unwrap() {
            deliverer.deliver(&queued).await.unwrap();
        }
        assert_eq!(
            port.texts(),
            vec!["Be kind.".to_owned()],
            "the old group's rules and language"
        );
        assert_eq!(
            engine.group_settings(new).await.unwrap().language.tag(),
            "en"
        );
        test.finish().await;
    }
}

#[tokio::test]
async fn the_clock_is_the_one_the_engine_was_given() {
    // Guard for the design rule "nothing calls Utc::now() inside features": the handled_at
    // stamp comes from the engine's clock, not the machine's.
    let test = TestDb::sqlite().await;
    let clock = ManualClock::starting_at(t0());
    let engine = engine(
        &test.db,
        Arc::new(RecordingPort::default()),
        clock.clone(),
        "",
    );
    inbox::store_batch(
        &test.db,
        "tg",
        &[(1, said(GROUP, user(7, "ana"), 1, "hi", t0()))],
        t0(),
    )
    .await
    .unwrap();
    clock.advance(Duration::hours(3));
    engine.handle_pending().await.unwrap();
    let (handled_at,): (i64,) = test
        .db
        .fetch_one("SELECT handled_at FROM inbox WHERE update_id = 1", args![])
        .await
        .unwrap();
    assert_eq!(handled_at, clock.now().timestamp());
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_sharing_a_database_post_each_firing_once() {
    for test in TestDb::each().await {
        let db = &test.db;
        let config = "[[groups.\"-1001\".jobs]]\nname = \"hello\"\nschedule = \"每天 08:00\"\ntexts = [\"早\"]\n";
        let clock = ManualClock::starting_at(Utc.with_ymd_and_hms(2026, 3, 1, 23, 50, 0).unwrap());
        let a = Arc::new(engine(
            db,
            Arc::new(RecordingPort::default()),
            clock.clone(),
            config,
        ));
        let b = Arc::new(engine(
            db,
            Arc::new(RecordingPort::default()),
            clock.clone(),
            config,
        ));
        // 08:00 in Shanghai is 00:00 UTC; run both schedulers around it, racing.
        for minute in 0..30 {
            clock.set(
                Utc.with_ymd_and_hms(2026, 3, 1, 23, 50, 0).unwrap() + Duration::minutes(minute),
            );
            let now = clock.now();
            let (x, y) = tokio::join!(
                qunbot::scheduler::fire_due(&a, now),
                qunbot::scheduler::fire_due(&b, now)
            );
            x.unwrap();
            y.unwrap();
        }
        let (ticks,): (i64,) = db
            .fetch_one(
                "SELECT COUNT(*) FROM inbox WHERE source = 'scheduler'",
                args![],
            )
            .await
            .unwrap();
        assert_eq!(ticks, 1, "one firing, one tick, on {}", test.backend);
        let (a_done, b_done) = tokio::join!(a.handle_pending(), b.handle_pending());
        assert_eq!(a_done.unwrap() + b_done.unwrap(), 1);
        let (posts,): (i64,) = db
            .fetch_one("SELECT COUNT(*) FROM outbox", args![])
            .await
            .unwrap();
        assert_eq!(posts, 1, "{}", test.backend);
        test.finish().await;
    }
}

/// `schedule.min_interval` keeps a group's scheduled posts apart, jobs at the same minute
/// included: of those the first in the config that posts goes out, and one that posts nothing
/// (a festival job on an ordinary day) holds nothing back. Decided once, with two schedulers
/// and two engines racing, and again after a "restart" that runs everything a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minimum_interval_separates_jobs_at_the_same_minute_once() {
    for test in TestDb::each().await {
        let db = &test.db;
        let job = |name: &str, at: &str, extra: &str| {
            format!(
                "[[groups.\"-1001\".jobs]]\nname = \"{name}\"\nschedule = \"每天 {at}\"\n{extra}\n"
            )
        };
        let config = [
            "[groups.\"-1001\".schedule]\nmin_interval = \"10m\"\n".to_owned(),
            job(
                "节日",
                "08:00",
                "kind = \"festival\"\nfestivals = { default = \"📅 {{ name }}\" }",
            ),
            job("早安", "08:00", "texts = [\"早\"]"),
            job("通知", "08:00", "texts = [\"通知\"]"),
            job("稍后", "08:05", "texts = [\"稍后\"]"),
            job("十分钟后", "08:10", "texts = [\"十分钟后\"]"),
        ]
        .concat();
        // 2026-03-02 is neither a festival nor the first day of a solar term.
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 23, 55, 0).unwrap();
        let clock = ManualClock::starting_at(start);
        let engines: Vec<_> = (0..2)
            .map(|_| {
                Arc::new(engine(
                    db,
                    Arc::new(RecordingPort::default()),
                    clock.clone(),
                    &config,
                ))
            })
            .collect();
        // Twice over the morning: the second time is a restart that finds everything claimed.
        for _ in 0..2 {
            for minute in 0..20 {
                clock.set(start + Duration::minutes(minute));
                let now = clock.now();
                let (x, y) = tokio::join!(
                    qunbot::scheduler::fire_due(&engines[0], now),
                    qunbot::scheduler::fire_due(&engines[1], now)
                );
                x.unwrap();
                y.unwrap();
                let (x, y) = tokio::join!(engines[0].handle_pending(), engines[1].handle_pending());
                x.unwrap();
                y.unwrap();
            }
        }
        let outcomes: std::collections::HashMap<String, String> = db
            .fetch_all::<(String, String)>("SELECT job, outcome FROM job_firings", args![])
            .await
            .unwrap()
            .into_iter()
            .collect();
        let expected: std::collections::HashMap<String, String> = [
            ("节日", "silent"),
            ("早安", "fired"),
            ("通知", "crowded"),
            ("稍后", "crowded"),
            ("十分钟后", "fired"),
        ]
        .into_iter()
        .map(|(job, outcome)| (job.to_owned(), outcome.to_owned()))
        .collect();
        assert_eq!(outcomes, expected, "{}", test.backend);
        let posts: Vec<(String,)> = db
            .fetch_all("SELECT action FROM outbox ORDER BY id", args![])
            .await
            .unwrap();
        assert_eq!(posts.len(), 2, "{posts:?} on {}", test.backend);
        assert!(posts[0].0.contains("早"), "{posts:?}");
        assert!(posts[1].0.contains("十分钟后"), "{posts:?}");
        test.finish().await;
    }
}

/// The example config's group table is under an id no chat has: copied as it is, its jobs
/// post nowhere, while a real group the config names (not heard from yet) gets its post.
#[tokio::test]
async fn the_example_placeholder_group_is_never_posted_to() {
    let test = TestDb::sqlite().await;
    let db = &test.db;
    let jobs = "jobs = [{ name = \"hello\", schedule = \"每天 08:00\", texts = [\"早\"] }]\n";
    let config = format!(
        "[groups.\"{}\"]\n{jobs}[groups.\"-1001\"]\n{jobs}",
        qunbot::config::PLACEHOLDER_CHAT_ID
    );
    let due = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let clock = ManualClock::starting_at(due);
    let engine = engine(db, Arc::new(RecordingPort::default()), clock, &config);
    assert_eq!(qunbot::scheduler::fire_due(&engine, due).await.unwrap(), 1);
    engine.handle_pending().await.unwrap();
    let chats: Vec<(i64,)> = db
        .fetch_all("SELECT chat_id FROM outbox", args![])
        .await
        .unwrap();
    assert_eq!(chats, vec![(-1001,)]);
    test.finish().await;
}

#[tokio::test]
async fn an_action_queued_for_a_group_that_just_moved_goes_to_its_new_id() {
    let test = TestDb::sqlite().await;
    let db = &test.db;
    let port = Arc::new(RecordingPort::default());
    let clock = ManualClock::starting_at(t0());
    let deliverer = deliverer(db, &port, &clock);
    let mut tx = db.begin().await.unwrap();
    let send = Action::Send {
        chat: -55,
        text: "hi".into(),
        reply_to: None,
        thread: None,
        key: None,
        buttons: vec![],
    };
    outbox::enqueue(&mut tx, &send, t0(), None).await.unwrap();
    tx.commit().await.unwrap();
    port.failures
        .lock()
        .unwrap()
        .push(PortError::ChatMoved(-100_555));
    let queued = outbox::pending(db, 0, 10).await.unwrap();
    assert!(matches!(
        deliverer.deliver(&queued[0]).await.unwrap(),
        Outcome::Sent(_)
    ));
    assert_eq!(port.actions(), vec![send.in_chat(-100_555)]);
    test.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_fires_once_even_when_two_schedulers_race_and_can_be_set_again() {
    for test in TestDb::each().await {
        let db = &test.db;
        let due = t0() + Duration::minutes(5);
        let mut tx = db.begin().await.unwrap();
        timers::set(&mut tx, GROUP, "relay", "close:7", due, "7")
            .await
            .unwrap();
        timers::set(&mut tx, GROUP, "relay", "close:8", due, "8")
            .await
            .unwrap();
        timers::cancel(&mut tx, GROUP, "relay", "close:8")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        assert_eq!(
            timers::fire_due(db, due - Duration::seconds(1))
                .await
                .unwrap(),
            0
        );
        assert_eq!(timers::next_due(db, t0()).await.unwrap(), Some(due));
        // Overdue: due "now", never in the past.
        let late = due + Duration::hours(3);
        assert_eq!(timers::next_due(db, late).await.unwrap(), Some(late));

        let (x, y) = tokio::join!(timers::fire_due(db, late), timers::fire_due(db, late));
        assert_eq!(x.unwrap() + y.unwrap(), 1, "{}", test.backend);
        let stored = inbox::next_pending(db, 10).await.unwrap();
        assert_eq!(stored.len(), 1);
        let event = &stored[0].as_ref().unwrap().event;
        assert_eq!(event.at, due, "the event is dated when the timer was due");
        assert_eq!(
            event.kind,
            EventKind::Timer {
                feature: "relay".into(),
                key: "close:7".into(),
                payload: "7".into(),
            }
        );
        assert_eq!(timers::next_due(db, late).await.unwrap(), None);

        // Set again after it fired: it fires again, as a new inbox entry.
        let mut tx = db.begin().await.unwrap();
        timers::set(&mut tx, GROUP, "relay", "close:7", late, "7")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(timers::fire_due(db, late).await.unwrap(), 1);
        let (entries,): (i64,) = db
            .fetch_one("SELECT COUNT(*) FROM inbox WHERE source = 'timer'", args![])
            .await
            .unwrap();
        assert_eq!(entries, 2, "{}", test.backend);
        test.finish().await;
    }
}

#[tokio::test]
async fn a_timer_cancelled_after_its_firing_was_claimed_does_nothing() {
    for test in TestDb::each().await {
        let db = &test.db;
        let clock = ManualClock::starting_at(t0());
        let engine = engine(db, Arc::new(RecordingPort::default()), clock.clone(), "");
        // Two of the rules' "delete this notice" timers: one is cancelled once claimed.
        let due = t0() + Duration::minutes(1);
        let mut tx = db.begin().await.unwrap();
        for key in ["notice:a", "notice:b"] {
            timers::set(
                &mut tx,
                GROUP,
                "moderation",
                key,
                due,
                &format!("mod:{key}"),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(timers::fire_due(db, due).await.unwrap(), 2);
        let mut tx = db.begin().await.unwrap();
        timers::cancel(&mut tx, GROUP, "moderation", "notice:a")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        clock.set(due);
        assert_eq!(engine.handle_pending().await.unwrap(), 2);
        let queued: Vec<(String,)> = db
            .fetch_all("SELECT action FROM outbox ORDER BY id", args![])
            .await
            .unwrap();
        assert_eq!(queued.len(), 1, "{}: {queued:?}", test.backend);
        assert!(queued[0].0.contains("mod:notice:b"), "{queued:?}");
        test.finish().await;
    }
}

#[tokio::test]
async fn a_batch_records_each_chat_once_as_its_events_would_in_turn() {
    use qunbot::core::event::{Chat, ChatKind};
    use qunbot::store::chats;
    for test in TestDb::each().await {
        let db = &test.db;
        let titled = Chat {
            id: GROUP,
            kind: ChatKind::Supergroup,
            title: Some("读书会".into()),
        };
        // A later event of the same chat without a title (as some updates come) keeps it.
        let untitled = Chat {
            title: None,
            ..titled.clone()
        };
        let other = Chat {
            id: GROUP - 1,
            ..titled.clone()
        };
        let mut tx = db.begin().await.unwrap();
        chats::touch_all(
            &mut tx,
            &[
                (&titled, t0() + Duration::seconds(5)),
                (&other, t0()),
                (&untitled, t0() + Duration::seconds(9)),
                (&titled, t0() + Duration::seconds(2)),
            ],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let row: (Option<String>, i64, i64, i64) = db
            .fetch_one(
                "SELECT title, first_seen, last_active, active FROM chats WHERE chat_id = $1",
                args![GROUP],
            )
            .await
            .unwrap();
        let t = t0().timestamp();
        assert_eq!(
            row,
            (Some("读书会".into()), t + 2, t + 9, 1),
            "{}",
            test.backend
        );
        let (chats,): (i64,) = db
            .fetch_one("SELECT COUNT(*) FROM chats", args![])
            .await
            .unwrap();
        assert_eq!(chats, 2, "{}", test.backend);
        test.finish().await;
    }
}

/// A full disk (here SQLite's `max_page_count`, which fails writes with the same
/// "database or disk is full") must not close updates as failed nor wedge the connection: the
/// engine stops, says why, and handles every update once when there is room again.
#[tokio::test]
async fn a_full_disk_leaves_updates_queued_and_every_one_is_handled_once_afterwards() {
    let test = TestDb::sqlite().await;
    let db = &test.db;
    let port = Arc::new(RecordingPort::default());
    let clock = ManualClock::starting_at(t0());
    let engine = Arc::new(engine(db, port.clone(), clock.clone(), ""));
    let http = serve_health(engine.clone()).await;
    let members = 300;
    let batch: Vec<_> = (0..members)
        .map(|n| {
            let text = format!("hello from member {n}, with enough words to need pages");
            (n, said(GROUP, user(100 + n, "member"), n, &text, t0()))
        })
        .collect();
    inbox::store_batch(db, "tg", &batch, t0()).await.unwrap();
    let (pages,): (i64,) = db.fetch_one("PRAGMA page_count", args![]).await.unwrap();
    // The writer is a pool of one connection: the limit holds for every write from now on.
    let Db::Sqlite { writer, .. } = db else {
        unreachable!("an SQLite test database")
    };
    let limit = |pages: i64| {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA max_page_count = {pages}"
        )))
        .execute(writer)
    };
    limit(pages).await.unwrap();
    for _ in 0..5 {
        let error = engine.handle_pending().await.unwrap_err();

        assert!(error.is_transient(), "{error}");
    }
    let (trouble_since, trouble) = engine.write_trouble().expect("the trouble is known");
    assert_eq!(trouble_since, t0());
    assert!(trouble.contains("full"), "{trouble}");
    assert!(
        inbox::failures(db, 10).await.unwrap().is_empty(),
        "nothing closed as failed"
    );
    let (status, body) = get(http, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("database: cannot write since"), "{body}");
    assert_eq!(get(http, "/healthz").await.0, 200, "alive for a while");
    clock.advance(Duration::minutes(3));
    let (status, body) = get(http, "/healthz").await;
    assert_eq!(status, 503, "a restart may help after minutes: {body}");

    limit(1_073_741_823).await.unwrap();
    // Entries that fitted in the pages still free were handled before the disk filled up.
    let handled = engine.handle_pending().await.unwrap();
    assert!(handled > 0 && handled < members as usize, "{handled}");
    assert_eq!(inbox::pending_count(db).await.unwrap(), 0);
    assert!(engine.write_trouble().is_none());
    assert_eq!(get(http, "/healthz").await.0, 200);
    let (_, body) = get(http, "/readyz").await;
    assert!(!body.contains("database"), "{body}");
    let (counted, messages): (i64, i64) = db
        .fetch_one(
            "SELECT COUNT(*), CAST(SUM(message_count) AS BIGINT) FROM members WHERE chat_id = $1",
            args![GROUP],
        )
        .await
        .unwrap();
    assert_eq!((counted, messages), (members, members), "each update once");
    assert!(inbox::failures(db, 10).await.unwrap().is_empty());
    test.finish().await;
}

/// Serves /healthz and /readyz for `engine` on a free local port.
async fn serve_health(engine: Arc<Engine>) -> u16 {
    let state = Arc::new(qunbot::http::HttpState {
        engine,
        dashboard_token: None,
        poll_stale_after_secs: 60,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, qunbot::http::router(state)).await });
    port
}

/// A GET on the local port: its status and body.
async fn get(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// A scheduled post is not a reply: when thousands of groups' posts queue behind Telegram's
/// budget, one still goes out minutes later (within the scheduler's grace period), and one that
/// waited longer is recorded as missed on its firing, where /jobs shows it.
#[tokio::test]
async fn a_scheduled_post_waits_out_the_grace_period_and_is_recorded_as_missed_after_it() {
    for test in TestDb::each().await {
        let db = &test.db;
        let config = "[scheduler]\ngrace_secs = 1800\n\
                      [[groups.\"-1001\".jobs]]\nname = \"hello\"\nschedule = \"每天 08:00\"\ntexts = [\"早\"]\n\
                      [[groups.\"-1002\".jobs]]\nname = \"hello\"\nschedule = \"每天 08:00\"\ntexts = [\"早\"]\n";
        // 08:00 in Shanghai is 00:00 UTC.
        let due = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let clock = ManualClock::starting_at(due);
        let port = Arc::new(RecordingPort::default());
        let engine = engine(db, port.clone(), clock.clone(), config);
        assert_eq!(qunbot::scheduler::fire_due(&engine, due).await.unwrap(), 2);
        assert_eq!(engine.handle_pending().await.unwrap(), 2);
        let deliverer = deliverer(db, &port, &clock);
        let queued = outbox::pending(db, 0, 10).await.unwrap();
        assert_eq!(queued.len(), 2);
        // Twenty minutes in the queue: four times a reply's five minutes, within the grace.
        clock.advance(Duration::minutes(20));
        let first = deliverer.deliver(&queued[0]).await.unwrap();
        assert!(matches!(first, Outcome::Sent(_)), "{first:?}");
        // Past the grace period: not posted, and the firing says so.
        clock.advance(Duration::minutes(15));
        let second = deliverer.deliver(&queued[1]).await.unwrap();
        assert!(matches!(second, Outcome::Expired), "{second:?}");
        let outcomes: std::collections::HashMap<i64, String> = db
            .fetch_all::<(i64, String)>("SELECT chat_id, outcome FROM job_firings", args![])
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(outcomes[&queued[0].chat], "fired", "{}", test.backend);
        assert_eq!(outcomes[&queued[1].chat], "expired", "{}", test.backend);
        test.finish().await;
    }
}

#[tokio::test]
async fn a_groups_own_settings_survive_a_restart_and_its_move_to_a_supergroup() {
    for test in TestDb::each().await {
        let db = &test.db;
        let clock = ManualClock::starting_at(t0());
        let port = Arc::new(RecordingPort::default());
        port.admins
            .lock()
            .unwrap()
            .push(qunbot::core::action::Admin {
                user: 7,
                owner: true,
                can_delete_messages: true,
                can_restrict_members: true,
            });
        let (old, new) = (-56, -100_556);
        let first = engine(db, port.clone(), clock.clone(), "");
        let events = vec![
            (1, said(old, user(7, "ana"), 1, "/lang en", t0())),
            (2, said(old, user(7, "ana"), 2, "/setrules Be kind.", t0())),
        ];
        inbox::store_batch(db, "tg", &events, t0()).await.unwrap();
        first.handle_pending().await.unwrap();
        drop(first);

        // A new process on the same database: the changes are the database's, not memory's.
        let second = engine(db, port.clone(), clock.clone(), "");
        assert_eq!(
            second.group_settings(old).await.unwrap().language.tag(),
            "en",
            "{}",
            test.backend
        );
        let mut notice = said(old, user(7, "ana"), 3, "", t0() + Duration::seconds(1));
        notice.kind = EventKind::ChatMigrated { to: new };
        let events = vec![
            (3, notice),
            (
                4,
                said(new, user(8, "bo"), 4, "/rules", t0() + Duration::seconds(2)),
            ),
        ];
        inbox::store_batch(db, "tg", &events, t0()).await.unwrap();
        second.handle_pending().await.unwrap();
        let settings = second.group_settings(new).await.unwrap();
        assert_eq!(settings.language.tag(), "en", "{}", test.backend);
        let deliverer = deliverer(db, &port, &clock);
        for queued in outbox::pending(db, 0, 20).await.unwrap() {
            deliverer.deliver(&queued).await.unwrap();
        }
        assert_eq!(
            port.texts().last().map(String::as_str),
            Some("Be kind."),
            "the supergroup shows the rules its admin set: {:?}",
            port.texts()
        );
        test.finish().await;
    }
}
