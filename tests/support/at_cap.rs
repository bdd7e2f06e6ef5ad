//! A group held at Telegram's 20 messages a minute by its members' chatter, then a newcomer's
//! spam link and an admin's `/warn`: how long each took to go out, measured at the fake from
//! when the updates were there to be fetched. The test (`telegram_run at_its_cap`) holds the
//! targets; the bench (`cargo bench --bench at_cap`) reports the figures over several runs.

use std::time::{Duration, Instant};

use super::fake_bot_api::FakeBotApi;
use super::run::{WAIT, start};

const GROUP: i64 = -1_001_234_567_890;
/// Members whose `/me` replies hold the group at its cap.
pub const MEMBERS: usize = 30;

/// What one run measured.
#[derive(Debug)]
pub struct AtCap {
    pub spam_deleted_after: Duration,
    pub newcomer_muted_after: Duration,
    pub warn_answered_after: Duration,
    /// Member replies sent before the `/warn` reply (of `MEMBERS` queued).
    pub member_replies_before_warn: usize,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn text_of(call: &super::fake_bot_api::Call) -> &str {
    call.params["text"].as_str().unwrap_or_default()
}

/// Runs the bot against a fresh fake through the scenario; panics if anything never goes out.
pub async fn measure() -> AtCap {
    let fake = FakeBotApi::start().await;
    fake.set_admins(GROUP, &[7]);
    for n in 0..MEMBERS as i64 {
        fake.push_update(FakeBotApi::group_text(
            GROUP,
            (2_000 + n, &format!("m{n}")),
            "/me",
            now(),
        ));
    }
    let bot = start(
        fake.clone(),
        "[defaults.moderation.links]\naction = \"mute\"\nmute_for = \"1d\"\n",
    )
    .await;
    // Member replies have used their share of the minute; the rest wait.
    let replies_before = fake.wait_for_call("sendMessage", 15, WAIT).await.len();
    assert!(replies_before < MEMBERS, "member replies are still queued");
    let spam = FakeBotApi::group_text(
        GROUP,
        (3_000, "newcomer"),
        "加我领红包 https://spam.example/hb",
        now(),
    );
    let spam_id = spam["message"]["message_id"].as_i64();
    fake.push_update(spam);
    fake.push_update(FakeBotApi::group_text(
        GROUP,
        (7, "Ana"),
        "/warn 2001 刷屏",
        now(),
    ));
    let pushed = Instant::now();

    let deleted = fake.wait_for_call("deleteMessage", 1, WAIT).await;
    assert_eq!(deleted[0].params["message_id"].as_i64(), spam_id);
    let muted = fake.wait_for_call("restrictChatMember", 1, WAIT).await;
    assert_eq!(muted[0].params["user_id"].as_i64(), Some(3_000));
    let deadline = pushed + WAIT;
    let warned = loop {
        if let Some(call) = fake
            .calls_to("sendMessage")
            .into_iter()
            .find(|call| text_of(call).contains("被警告"))
        {
            break call;
        }
        assert!(Instant::now() < deadline, "no /warn reply");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let member_replies_before_warn = fake
        .calls_to("sendMessage")
        .iter()
        .filter(|call| call.at < warned.at && text_of(call).contains("📇"))
        .count();
    bot.stop().await.unwrap();
    AtCap {
        spam_deleted_after: deleted[0].at - pushed,
        newcomer_muted_after: muted[0].at - pushed,
        warn_answered_after: warned.at - pushed,
        member_replies_before_warn,
    }
}
