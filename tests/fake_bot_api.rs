//! Self-test of the fake Bot API against the real teloxide 0.17 client. The main point is that
//! every fixture and every answer deserializes with teloxide's strict types: an Update that
//! doesn't parse silently becomes `UpdateKind::Error`, and a bad answer an opaque InvalidJson.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fake_bot_api::{BOT_ID, Failure, FakeBotApi};
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::adaptors::throttle::Limits;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, ChatMemberKind, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, MessageKind,
    ReplyParameters, UpdateKind,
};

const GROUP: i64 = -4_000_000_001;
const SUPERGROUP: i64 = -1_001_234_567_890;
const ALICE: (i64, &str) = (1001, "Alice");
const BOB: (i64, &str) = (1002, "Bob");
const DATE: i64 = 1_760_000_000;

fn bot_for(fake: &FakeBotApi) -> Bot {
    Bot::new(fake.token()).set_api_url(url::Url::parse(&fake.url()).unwrap())
}

/// POSTs/GETs outside teloxide, for the form and query-string paths.
async fn raw(url: &str, content_type: Option<&str>, body: &str) -> (u16, Value) {
    let client = teloxide::net::client_from_env();
    let request = match content_type {
        Some(ct) => client
            .post(url)
            .header("content-type", ct)
            .body(body.to_owned()),
        None => client.get(url),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn get_me_and_every_fixture_parse_with_teloxide() {
    let fake = FakeBotApi::start().await;
    let bot = bot_for(&fake);
    let me = bot.get_me().await.unwrap();
    assert_eq!(me.id.0 as i64, BOT_ID);
    assert_eq!(FakeBotApi::BOT_ID, BOT_ID);
    assert_eq!(me.username(), "qunbot_test_bot");

    fake.push_update(FakeBotApi::group_text(
        SUPERGROUP,
        ALICE,
        "/signin@qunbot_test_bot now 🎉",
        DATE,
    ));
    fake.push_update(FakeBotApi::private_text(BOB, "hi", DATE));
    fake.push_update(FakeBotApi::edited_group_text(
        GROUP,
        ALICE,
        7,
        "fixed",
        DATE,
        DATE + 5,
    ));
    fake.push_update(FakeBotApi::new_members(
        GROUP,
        ALICE,
        &[BOB, (1003, "Carol")],
        DATE,
    ));
    fake.push_update(FakeBotApi::left_member(GROUP, BOB, DATE));
    fake.push_update(FakeBotApi::migrate_to_supergroup(GROUP, SUPERGROUP, DATE));
    fake.push_update(FakeBotApi::callback_query(SUPERGROUP, ALICE, 42, "join:1"));
    fake.push_update(FakeBotApi::migrate_from_group(SUPERGROUP, GROUP, DATE));

    let updates = bot.get_updates().await.unwrap();
    assert_eq!(updates.len(), 8);
    let ids: Vec<u32> = updates.iter().map(|u| u.id.0).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 8]);
    let message = |i: usize| match &updates[i].kind {
        UpdateKind::Message(m) => m.clone(),
        other => panic!("update {i} is not a message: {other:?}"),
    };

    let text = message(0);
    assert!(text.chat.is_supergroup());
    assert_eq!(text.text(), Some("/signin@qunbot_test_bot now 🎉"));
    assert_eq!(text.from.as_ref().unwrap().first_name, "Alice");
    let entity = &text.entities().unwrap()[0];
    assert_eq!((entity.offset, entity.length), (0, 23));

    assert!(message(1).chat.is_private());
    match &updates[2].kind {
        UpdateKind::EditedMessage(m) => {
            assert_eq!((m.id, m.text()), (MessageId(7), Some("fixed")));
            assert!(m.chat.is_group() && m.edit_date().is_some());
        }
        other => panic!("not an edited message: {other:?}"),
    }
    let joined = message(3);
    assert!(matches!(joined.kind, MessageKind::NewChatMembers(_)));
    assert_eq!(joined.new_chat_members().unwrap().len(), 2);
    assert_eq!(message(4).left_chat_member().unwrap().id.0, 1002);
    // Surprise: teloxide files migrate_to_chat_id under MessageKind::Common (MediaKind::Migration).
    let migrated = message(5);
    assert_eq!(migrated.migrate_to_chat_id(), Some(&ChatId(SUPERGROUP)));
    assert!(matches!(migrated.kind, MessageKind::Common(_)));
    match &updates[6].kind {
        UpdateKind::CallbackQuery(q) => {
            assert_eq!(q.data.as_deref(), Some("join:1"));
            // A regular (accessible) message: its date is not 0.
            assert_eq!(q.regular_message().unwrap().id, MessageId(42));
        }
        other => panic!("not a callback query: {other:?}"),
    }
    // The twin in the new supergroup, posted by GroupAnonymousBot for the chat itself.
    let twin = message(7);
    assert_eq!(twin.migrate_from_chat_id(), Some(&ChatId(GROUP)));
    assert_eq!(
        twin.sender_chat.as_ref().map(|c| c.id),
        Some(ChatId(SUPERGROUP))
    );
}

#[tokio::test]
async fn offsets_confirm_and_negative_offsets_forget() {
    let fake = FakeBotApi::start().await;
    let bot = bot_for(&fake);
    for i in 0..5 {
        fake.push_update(FakeBotApi::group_text(GROUP, ALICE, &format!("m{i}"), DATE));
    }
    assert_eq!(bot.get_updates().limit(2).await.unwrap().len(), 2);
    // Nothing is confirmed until a later offset.
    assert_eq!(fake.pending_update_ids(), [1, 2, 3, 4, 5]);
    let rest = bot.get_updates().offset(3).await.unwrap();
    assert_eq!(rest.iter().map(|u| u.id.0).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(fake.pending_update_ids(), [3, 4, 5]);
    // What drop_pending_updates sends: keep only the newest one.
    let last = bot
        .get_updates()
        .offset(-1)
        .limit(1)
        .timeout(0)
        .await
        .unwrap();
    assert_eq!(last[0].id.0, 5);
    assert_eq!(fake.pending_update_ids(), [5]);
    assert!(bot.get_updates().offset(6).await.unwrap().is_empty());
    assert!(fake.pending_update_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_returns_when_an_update_arrives() {
    let fake = FakeBotApi::start().await;
    let bot = bot_for(&fake);
    let started = Instant::now();
    let poll = tokio::spawn(async move { bot.get_updates().timeout(5).await });
    fake.wait_for_call("getUpdates", 1, Duration::from_secs(2))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    fake.push_update(FakeBotApi::group_text(GROUP, ALICE, "wake up", DATE));
    let updates = poll.await.unwrap().unwrap();
    assert_eq!(updates.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );

    // And an empty long poll waits for its timeout.
    let started = Instant::now();
    let empty = bot_for(&fake)
        .get_updates()
        .offset(2)
        .timeout(1)
        .await
        .unwrap();
    assert!(empty.is_empty() && started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_newer_poll_ends_the_older_one_with_conflict() {
    let fake = FakeBotApi::start().await;
    let first = tokio::spawn({
        let bot = bot_for(&fake);
        async move { bot.get_updates().timeout(5).await }
    });
    fake.wait_for_call("getUpdates", 1, Duration::from_secs(2))
        .await;
    assert!(bot_for(&fake).get_updates().await.unwrap().is_empty());
    let err = first.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn send_edit_delete_follow_telegram_rules() {
    let fake = FakeBotApi::start().await;
    // An empty and an over-long text, on purpose.
    fake.expect_refusals();
    let bot = bot_for(&fake);
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Join", "join")]]);
    let sent = bot
        .send_message(ChatId(GROUP), "Sign-ups: 0")
        .reply_markup(keyboard.clone())
        .await
        .unwrap();
    assert_eq!(sent.from.as_ref().unwrap().id.0 as i64, BOT_ID);
    assert_eq!(sent.reply_markup(), Some(&keyboard));

    // The button press now carries the real message.
    fake.push_update(FakeBotApi::callback_query(
        GROUP,
        ALICE,
        sent.id.0 as i64,
        "join",
    ));
    let updates = bot.get_updates().await.unwrap();
    let UpdateKind::CallbackQuery(query) = &updates[0].kind else {
        panic!("{updates:?}")
    };
    assert_eq!(query.regular_message().unwrap().text(), Some("Sign-ups: 0"));

    let edited = bot
        .edit_message_text(ChatId(GROUP), sent.id, "Sign-ups: 1")
        .reply_markup(keyboard.clone())
        .await
        .unwrap();
    assert_eq!(edited.text(), Some("Sign-ups: 1"));
    assert!(edited.edit_date().is_some());
    let same = bot
        .edit_message_text(ChatId(GROUP), sent.id, "Sign-ups: 1")
        .reply_markup(keyboard)
        .await;
    assert!(
        matches!(same, Err(RequestError::Api(ApiError::MessageNotModified))),
        "{same:?}"
    );
    // Same text without the keyboard is a change: it removes the keyboard.
    let bare = bot
        .edit_message_text(ChatId(GROUP), sent.id, "Sign-ups: 1")
        .await
        .unwrap();
    assert!(bare.reply_markup().is_none());
    assert!(
        fake.message(GROUP, sent.id.0 as i64)
            .unwrap()
            .get("reply_markup")
            .is_none()
    );

    // Users' messages can be deleted (moderation) but not edited.
    fake.push_update(FakeBotApi::group_text(GROUP, BOB, "spam", DATE));
    let spam = bot.get_updates().offset(2).await.unwrap();
    let UpdateKind::Message(spam) = &spam[0].kind else {
        panic!()
    };
    let err = bot
        .edit_message_text(ChatId(GROUP), spam.id, "x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageCantBeEdited)),
        "{err:?}"
    );
    let reply = bot
        .send_message(ChatId(GROUP), "no spam")
        .reply_parameters(ReplyParameters::new(spam.id))
        .await
        .unwrap();
    assert_eq!(reply.reply_to_message().unwrap().id, spam.id);
    bot.delete_message(ChatId(GROUP), spam.id).await.unwrap();

    bot.delete_message(ChatId(GROUP), sent.id).await.unwrap();
    let again = bot.delete_message(ChatId(GROUP), sent.id).await;
    assert!(
        matches!(
            again,
            Err(RequestError::Api(ApiError::MessageToDeleteNotFound))
        ),
        "{again:?}"
    );
    let gone = bot.edit_message_text(ChatId(GROUP), sent.id, "late").await;
    assert!(
        matches!(
            gone,
            Err(RequestError::Api(ApiError::MessageToEditNotFound))
        ),
        "{gone:?}"
    );

    let empty = bot.send_message(ChatId(GROUP), " ").await;
    assert!(
        matches!(empty, Err(RequestError::Api(ApiError::MessageTextIsEmpty))),
        "{empty:?}"
    );
    let long = bot.send_message(ChatId(GROUP), "é".repeat(4097)).await;
    assert!(
        matches!(long, Err(RequestError::Api(ApiError::MessageIsTooLong))),
        "{long:?}"
    );
    bot.send_message(ChatId(GROUP), "é".repeat(4096))
        .await
        .unwrap();

    // No DM before the user started the bot.
    let dm = bot.send_message(ChatId(ALICE.0), "hi").await.unwrap_err();
    assert!(
        matches!(&dm, RequestError::Api(ApiError::Unknown(s)) if s.contains("can't initiate")),
        "{dm:?}"
    );
    fake.add_private_chat(ALICE);
    assert!(
        bot.send_message(ChatId(ALICE.0), "hi")
            .await
            .unwrap()
            .chat
            .is_private()
    );
}

#[tokio::test]
async fn injected_failures_map_to_teloxide_errors() {
    let fake = FakeBotApi::start().await;
    let bot = bot_for(&fake);
    fake.fail_next("sendMessage", Failure::RetryAfter(1));
    fake.fail_next(
        "SENDMESSAGE",
        Failure::Forbidden("Forbidden: bot was blocked by the user".into()),
    );
    let err = bot.send_message(ChatId(GROUP), "a").await.unwrap_err();
    assert!(
        matches!(err, RequestError::RetryAfter(s) if s.seconds() == 1),
        "{err:?}"
    );
    let err = bot.send_message(ChatId(GROUP), "b").await.unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::BotBlocked)),
        "{err:?}"
    );
    bot.send_message(ChatId(GROUP), "c").await.unwrap();
    assert_eq!(fake.calls_to("sendmessage").len(), 3);

    // Throttle waits out a 429 and retries by itself.
    fake.fail_next("sendMessage", Failure::RetryAfter(1));
    let started = Instant::now();
    let throttled = bot.clone().throttle(Limits::default());
    throttled.send_message(ChatId(GROUP), "d").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(fake.calls_to("sendMessage").len(), 5);

    // A migrated group answers every chat call with the new id.
    fake.push_update(FakeBotApi::migrate_to_supergroup(GROUP, SUPERGROUP, DATE));
    let err = bot.send_message(ChatId(GROUP), "e").await.unwrap_err();
    assert!(
        matches!(err, RequestError::MigrateToChatId(ChatId(SUPERGROUP))),
        "{err:?}"
    );
    assert!(
        bot.send_message(ChatId(SUPERGROUP), "e")
            .await
            .unwrap()
            .chat
            .is_supergroup()
    );
}

#[tokio::test]
async fn admins_members_and_moderation() {
    let fake = FakeBotApi::start().await;
    let bot = bot_for(&fake);
    fake.set_admins(SUPERGROUP, &[ALICE.0, BOB.0]);
    let admins = bot
        .get_chat_administrators(ChatId(SUPERGROUP))
        .await
        .unwrap();
    assert_eq!(admins.len(), 3, "owner, admin and the bot itself");
    assert!(admins[0].kind.is_owner() && admins[1].kind.is_administrator());
    assert!(admins[2].user.is_bot && admins[2].kind.can_restrict_members());

    let me = bot
        .get_chat_member(ChatId(SUPERGROUP), UserId(BOT_ID as u64))
        .await
        .unwrap();
    assert!(me.kind.can_delete_messages());
    let carol = UserId(1003);
    assert!(
        bot.get_chat_member(ChatId(SUPERGROUP), carol)
            .await
            .unwrap()
            .kind
            .is_member()
    );

    let muted = teloxide::types::ChatPermissions::empty();
    bot.restrict_chat_member(ChatId(SUPERGROUP), carol, muted.clone())
        .await
        .unwrap();
    let member = bot
        .get_chat_member(ChatId(SUPERGROUP), carol)
        .await
        .unwrap();
    assert!(
        matches!(&member.kind, ChatMemberKind::Restricted(r) if !r.can_send_messages && r.is_member),
        "{member:?}"
    );
    bot.restrict_chat_member(
        ChatId(SUPERGROUP),
        carol,
        teloxide::types::ChatPermissions::all(),
    )
    .await
    .unwrap();
    assert!(
        bot.get_chat_member(ChatId(SUPERGROUP), carol)
            .await
            .unwrap()
            .kind
            .is_member()
    );

    let err = bot
        .restrict_chat_member(ChatId(SUPERGROUP), UserId(BOB.0 as u64), muted.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RequestError::Api(ApiError::Unknown(s)) if s.contains("administrator")),
        "{err:?}"
    );
    let err = bot
        .restrict_chat_member(ChatId(GROUP), carol, muted)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RequestError::Api(ApiError::Unknown(s)) if s.contains("only for supergroups")),
        "{err:?}"
    );

    bot.ban_chat_member(ChatId(SUPERGROUP), carol)
        .await
        .unwrap();
    assert!(
        bot.get_chat_member(ChatId(SUPERGROUP), carol)
            .await
            .unwrap()
            .kind
            .is_banned()
    );
    bot.unban_chat_member(ChatId(SUPERGROUP), carol)
        .only_if_banned(true)
        .await
        .unwrap();
    assert!(
        bot.get_chat_member(ChatId(SUPERGROUP), carol)
            .await
            .unwrap()
            .kind
            .is_left()
    );
}

#[tokio::test]
async fn commands_chats_and_the_rest() {
    let fake = FakeBotApi::start().await;
    // A command name with capitals, on purpose.
    fake.expect_refusals();
    let bot = bot_for(&fake);
    let commands = vec![
        BotCommand::new("signin", "Daily sign-in"),
        BotCommand::new("rules", "Show the rules"),
    ];
    bot.set_my_commands(commands.clone()).await.unwrap();
    assert_eq!(bot.get_my_commands().await.unwrap(), commands);
    let bad = bot
        .set_my_commands(vec![BotCommand::new("SignIn", "x")])
        .await;
    assert!(bad.is_err());
    bot.delete_my_commands().await.unwrap();
    assert!(bot.get_my_commands().await.unwrap().is_empty());

    fake.push_update(FakeBotApi::private_text(BOB, "/start", DATE));
    for id in [GROUP, SUPERGROUP, BOB.0] {
        let chat = bot.get_chat(ChatId(id)).await.unwrap();
        assert_eq!(chat.id, ChatId(id));
        assert_eq!(
            (chat.is_group(), chat.is_supergroup(), chat.is_private()),
            (id == GROUP, id == SUPERGROUP, id == BOB.0)
        );
    }

    bot.send_chat_action(ChatId(GROUP), teloxide::types::ChatAction::Typing)
        .await
        .unwrap();
    bot.answer_callback_query(teloxide::types::CallbackQueryId("123".into()))
        .await
        .unwrap();
    bot.delete_webhook().await.unwrap();
    let sent = bot.send_message(ChatId(GROUP), "pin me").await.unwrap();
    bot.pin_chat_message(ChatId(GROUP), sent.id).await.unwrap();
    bot.unpin_chat_message(ChatId(GROUP)).await.unwrap();
    bot.set_message_reaction(ChatId(GROUP), sent.id)
        .await
        .unwrap();
}

#[tokio::test]
async fn forms_queries_case_and_bad_requests() {
    let fake = FakeBotApi::start().await;
    // An unknown method and a body that is not JSON, on purpose.
    fake.expect_refusals();
    let base = format!("{}/bot{}", fake.url(), fake.token());

    let (status, body) = raw(
        &format!("{base}/sendmessage"),
        Some("application/x-www-form-urlencoded"),
        "chat_id=-42&text=hi%20there",
    )
    .await;
    assert_eq!(
        (status, body["result"]["text"].as_str()),
        (200, Some("hi there"))
    );
    let (status, body) = raw(&format!("{base}/GETME"), None, "").await;
    assert_eq!(
        (status, body["result"]["username"].as_str()),
        (200, Some("qunbot_test_bot"))
    );
    let (status, body) = raw(&format!("{base}/getChat?chat_id=-42"), None, "").await;
    assert_eq!((status, &body["result"]["id"]), (200, &json!(-42)));
    let (status, body) = raw(
        &format!("{base}/setMyCommands"),
        Some("application/x-www-form-urlencoded"),
        "commands=%5B%7B%22command%22%3A%22a%22%2C%22description%22%3A%22b%22%7D%5D",
    )
    .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));

    let (status, body) = raw(
        &format!("{base}/noSuchMethod"),
        Some("application/json"),
        "{}",
    )
    .await;
    assert_eq!(
        (status, body["description"].as_str()),
        (404, Some("Not Found: method not found"))
    );
    let (status, body) = raw(
        &format!("{}/botWRONG/getMe", fake.url()),
        Some("application/json"),
        "{",
    )
    .await;
    assert_eq!((status, &body["error_code"]), (401, &json!(401)));
    let (status, _) = raw(
        &format!("{base}/sendMessage"),
        Some("application/json"),
        "not json",
    )
    .await;
    assert_eq!(status, 400);

    let methods: Vec<String> = fake.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        [
            "sendMessage",
            "getMe",
            "getChat",
            "setMyCommands",
            "noSuchMethod",
            "getMe",
            "sendMessage"
        ]
    );
    assert_eq!(fake.calls_to("sendMessage")[0].params["chat_id"], "-42");
    let err = Bot::new("1:wrong")
        .set_api_url(fake.url().parse().unwrap())
        .get_me()
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::InvalidToken)),
        "{err:?}"
    );
}

#[tokio::test]
#[should_panic(expected = "waiting for 1 sendMessage call(s), saw 0; all calls:\n  #0")]
async fn wait_for_call_panics_with_the_call_list() {
    let fake = FakeBotApi::start().await;
    bot_for(&fake).get_me().await.unwrap();
    fake.wait_for_call("sendMessage", 1, Duration::from_millis(200))
        .await;
}

// ---- Judged by the Bot API reference (tests/fixtures/telegram-bot-api-spec.json) ----

fn emoji(emoji: &str) -> teloxide::types::ReactionType {
    teloxide::types::ReactionType::Emoji {
        emoji: emoji.into(),
    }
}

#[tokio::test]
async fn a_reaction_telegram_does_not_take_is_refused_with_its_words() {
    let fake = FakeBotApi::start().await;
    fake.expect_refusals();
    let bot = bot_for(&fake);
    let sent = bot.send_message(ChatId(GROUP), "a guess").await.unwrap();
    bot.set_message_reaction(ChatId(GROUP), sent.id)
        .reaction([emoji("👍")])
        .await
        .unwrap();

    let cross = bot
        .set_message_reaction(ChatId(GROUP), sent.id)
        .reaction([emoji("❌")])
        .await
        .unwrap_err();
    assert!(
        matches!(&cross, RequestError::Api(ApiError::Unknown(s)) if s == "Bad Request: REACTION_INVALID"),
        "{cross:?}"
    );
    let two = bot
        .set_message_reaction(ChatId(GROUP), sent.id)
        .reaction([emoji("👍"), emoji("🔥")])
        .await
        .unwrap_err();
    assert!(
        matches!(&two, RequestError::Api(ApiError::Unknown(s)) if s == "Bad Request: REACTIONS_TOO_MANY"),
        "bots may set one reaction: {two:?}"
    );
    let refused = fake.refused_calls();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].method, "setMessageReaction");
    assert_eq!(refused[0].refusal.fault.path, "reaction[0].emoji");
    assert!(
        refused[0]
            .to_string()
            .contains("\"❌\" is not one of the 73 values"),
        "{}",
        refused[0]
    );

    let list = support::fake_bot_api::BotApiSpec::get().reaction_emoji();
    assert!(list.iter().any(|e| e == "👍") && !list.iter().any(|e| e == "❌" || e == "🙅"));
}

/// Without `expect_refusals`, the test that made the request fails, whatever it asserted.
#[tokio::test]
#[should_panic(expected = "setMessageReaction: answered \"Bad Request: REACTION_INVALID\"")]
async fn an_unexpected_refusal_fails_the_test_that_caused_it() {
    let fake = FakeBotApi::start().await;
    let bot = bot_for(&fake);
    let sent = bot.send_message(ChatId(GROUP), "a guess").await.unwrap();
    let _ = bot
        .set_message_reaction(ChatId(GROUP), sent.id)
        .reaction([emoji("❌")])
        .await;
}

#[tokio::test]
async fn a_tolerated_refusal_is_answered_but_not_held_against_the_test() {
    let fake = FakeBotApi::start().await;
    fake.tolerate_refusal("setMessageReaction", "Bad Request: REACTION_INVALID");
    let bot = bot_for(&fake);
    let sent = bot.send_message(ChatId(GROUP), "a guess").await.unwrap();
    let refused = bot
        .set_message_reaction(ChatId(GROUP), sent.id)
        .reaction([emoji("❌")])
        .await;
    assert!(refused.is_err());
    assert_eq!(fake.refused_calls().len(), 1);
}

#[tokio::test]
async fn callback_data_of_65_bytes_is_refused_and_64_taken() {
    let fake = FakeBotApi::start().await;
    fake.expect_refusals();
    let bot = bot_for(&fake);
    // 21 × 3 bytes + 1: 64 bytes in 22 characters.
    let data_64 = format!("{}a", "签".repeat(21));
    assert_eq!(data_64.len(), 64);
    let keyboard =
        |data: &str| InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Join", data)]]);
    bot.send_message(ChatId(GROUP), "Sign-ups")
        .reply_markup(keyboard(&data_64))
        .await
        .unwrap();
    let err = bot
        .send_message(ChatId(GROUP), "Sign-ups")
        .reply_markup(keyboard(&format!("{data_64}b")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::ButtonDataInvalid)),
        "{err:?}"
    );
    let refused = fake.refused_calls();
    assert_eq!(
        refused[0].refusal.fault.path,
        "reply_markup.inline_keyboard[0][0].callback_data"
    );
    assert!(refused[0].to_string().contains("at most 64 bytes, is 65"));
}

#[tokio::test]
async fn unknown_fields_are_refused_naming_the_field() {
    let fake = FakeBotApi::start().await;
    fake.expect_refusals();
    let url = format!("{}/bot{}/sendMessage", fake.url(), fake.token());
    let send = |content_type: &'static str, body: &'static str| {
        let url = url.clone();
        async move {
            let (status, body) = raw(&url, Some(content_type), body).await;
            (status, body["description"].as_str().map(str::to_owned))
        }
    };
    let json = "application/json";
    let (status, description) =
        send(json, r#"{"chat_id": -42, "text": "hi", "colour": "red"}"#).await;
    let description = description.unwrap();
    assert_eq!(status, 400);
    assert!(
        description.starts_with("Bad Request: ") && description.contains("colour"),
        "{description}"
    );
    // Inside an object too, and in a form, where objects are JSON-serialized strings.
    let (status, description) = send(
        "application/x-www-form-urlencoded",
        "chat_id=-42&text=hi&reply_markup=%7B%22inline_keyboard%22%3A%5B%5D%2C%22size%22%3A1%7D",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        description.as_ref().unwrap().contains("reply_markup.size"),
        "{description:?}"
    );
    let (status, _) = send(
        json,
        r#"{"chat_id": -42, "text": "hi", "reply_markup": {"inline_keyboard": []}}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fake.refused_calls().len(), 2);
}

#[tokio::test]
async fn types_tags_lengths_and_entities_are_judged_as_telegram_counts_them() {
    let fake = FakeBotApi::start().await;
    fake.expect_refusals();
    let base = format!("{}/bot{}", fake.url(), fake.token());
    let send = |body: Value| {
        let url = format!("{base}/sendMessage");
        async move { raw(&url, Some("application/json"), &body.to_string()).await }
    };
    let description = |(status, body): (u16, Value)| match status {
        200 => None,
        _ => body["description"].as_str().map(str::to_owned),
    };

    // The text limit counts Unicode scalars: 4,096 😀 are 8,192 UTF-16 units, and fine.
    let grins = "😀".repeat(4096);
    assert_eq!(
        description(send(json!({ "chat_id": GROUP, "text": grins })).await),
        None
    );
    assert_eq!(
        description(send(json!({ "chat_id": GROUP, "text": grins.clone() + "😀" })).await)
            .as_deref(),
        Some("Bad Request: message is too long")
    );
    // Entities count UTF-16 units: "😀 hi" is 5 of them.
    let bold = |offset: i64, length: i64| {
        json!({ "chat_id": GROUP, "text": "😀 hi",
                "entities": [{ "type": "bold", "offset": offset, "length": length }] })
    };
    assert_eq!(description(send(bold(3, 2)).await), None);
    let outside = description(send(bold(3, 3)).await).unwrap();
    assert!(outside.contains("entities[0]"), "{outside}");

    assert_eq!(
        description(send(json!({ "chat_id": GROUP })).await).as_deref(),
        Some("Bad Request: message text is empty")
    );
    assert_eq!(
        description(send(json!({ "text": "hi" })).await).as_deref(),
        Some("Bad Request: chat_id is empty")
    );
    let wrong_type = description(
        send(json!({ "chat_id": GROUP, "text": "hi",
        "reply_parameters": { "message_id": "seven" } }))
        .await,
    )
    .unwrap();
    assert!(
        wrong_type.contains("reply_parameters.message_id must be Integer"),
        "{wrong_type}"
    );

    // Abstract types by their tag: a scope Telegram does not have.
    let (status, body) = raw(
        &format!("{base}/setMyCommands"),
        Some("application/json"),
        r#"{"commands": [{"command": "a", "description": "b"}], "scope": {"type": "everyone"}}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["description"].as_str().unwrap().contains("scope.type"),
        "{body}"
    );
    let bot = bot_for(&fake);
    bot.set_my_commands([BotCommand::new("a", "b")])
        .scope(teloxide::types::BotCommandScope::Chat {
            chat_id: teloxide::types::Recipient::Id(ChatId(GROUP)),
        })
        .await
        .unwrap();
    let over_a_hundred: Vec<BotCommand> = (0..101)
        .map(|n| BotCommand::new(format!("c{n}"), "x"))
        .collect();
    let err = bot.set_my_commands(over_a_hundred).await.unwrap_err();
    assert!(
        matches!(&err, RequestError::Api(ApiError::Unknown(s)) if s == "Bad Request: BOT_COMMANDS_TOO_MUCH"),
        "{err:?}"
    );

    // A toast is 0-200 characters; a multipart upload's caption 0-1024.
    let toast = bot
        .answer_callback_query(teloxide::types::CallbackQueryId("1".into()))
        .text("x".repeat(201))
        .await;
    assert!(toast.is_err());
    let file = || teloxide::types::InputFile::memory(b"a,b\n".to_vec()).file_name("list.csv");
    bot.send_document(ChatId(GROUP), file())
        .caption("c".repeat(1024))
        .await
        .unwrap();
    let long_caption = bot
        .send_document(ChatId(GROUP), file())
        .caption("c".repeat(1025))
        .await
        .unwrap_err();
    assert!(
        matches!(&long_caption, RequestError::Api(ApiError::Unknown(s)) if s == "Bad Request: message caption is too long"),
        "{long_caption:?}"
    );
}
