//! What the operator does to a running bot, end to end against the fake Bot API: reloading the
//! config (SIGHUP), the groups they never listed (`unknown_groups`), and the command menus
//! `run` keeps in step with each group's features.

mod support;

use std::time::Duration;

use support::fake_bot_api::{Call, FakeBotApi};
use support::run::{WAIT, start_from_file};

const GROUP: i64 = -1_001_234_567_890;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn text_of(call: &Call) -> String {
    call.params["text"].as_str().unwrap_or_default().to_owned()
}

/// Sends `/rules` until the bot's answer contains `wanted` (a reload takes effect from the
/// next update on, a moment after it was asked for), and returns the answers seen.
async fn rules_until(fake: &FakeBotApi, wanted: &str) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let before = fake.calls_to("sendMessage").len();
        fake.push_update(FakeBotApi::group_text(GROUP, (7, "Ana"), "/rules", now()));
        let sent = fake.wait_for_call("sendMessage", before + 1, WAIT).await;
        let answer = text_of(sent.last().unwrap());
        seen.push(answer.clone());
        if answer.contains(wanted) || tokio::time::Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_a_good_config_and_keeps_the_old_one_when_the_new_is_broken() {
    let fake = FakeBotApi::start().await;
    let bot = start_from_file(fake.clone(), "", "[defaults]\nrules = \"1. 友善交流\"\n").await;
    let first = rules_until(&fake, "友善交流").await;
    assert!(first.last().unwrap().contains("1. 友善交流"), "{first:?}");

    // A broken file: the bot goes on with the old rules.
    bot.rewrite_and_reload(&fake, "[defaults]\nrules = 1. 不发广告\n");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kept = rules_until(&fake, "友善交流").await;
    assert_eq!(kept.len(), 1, "{kept:?}");

    // A good one: the new language and rules from the next update on.
    bot.rewrite_and_reload(
        &fake,
        "[defaults]\nlanguage = \"en\"\nrules = \"1. Be kind\"\n",
    );
    let seen = rules_until(&fake, "Be kind").await;
    assert!(seen.last().unwrap().contains("1. Be kind"), "{seen:?}");
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_group_under_leave_gets_one_line_and_the_bot_leaves() {
    let fake = FakeBotApi::start().await;
    fake.push_update(FakeBotApi::group_text(GROUP, (7, "Ana"), "签到", now()));
    fake.push_update(FakeBotApi::group_text(GROUP, (8, "Bo"), "/help", now()));
    let bot = start_from_file(fake.clone(), "unknown_groups = \"leave\"", "").await;
    let left = fake.wait_for_call("leaveChat", 1, WAIT).await;
    assert_eq!(left[0].params["chat_id"].as_i64(), Some(GROUP));
    let sent = fake.calls_to("sendMessage");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(text_of(&sent[0]).contains("先告辞"), "{sent:?}");
    // The goodbye went before the bot left.
    assert!(sent[0].at <= left[0].at);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.calls_to("leaveChat").len(), 1);
    bot.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_sets_the_menus_and_a_listed_group_with_fewer_features_gets_its_own() {
    let fake = FakeBotApi::start().await;
    fake.push_update(FakeBotApi::group_text(GROUP, (7, "Ana"), "hello", now()));
    let extra = format!("[groups.\"{GROUP}\"]\nfeatures = [\"signin\"]\n");
    let bot = start_from_file(fake.clone(), "", &extra).await;
    // The bot-wide menus at start, then the group's own once the bot knows the group.
    let deadline = tokio::time::Instant::now() + WAIT;
    let group_menu = loop {
        let calls = fake.calls_to("setMyCommands");
        if let Some(call) = calls
            .iter()
            .find(|c| c.params["scope"]["type"] == "chat" && c.params["scope"]["chat_id"] == GROUP)
        {
            break call.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{calls:?}");
        // The group becomes known with its first update; the keeper looks again after a
        // reload.
        bot.rewrite_and_reload(&fake, &extra);
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let names: Vec<&str> = group_menu.params["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"signin"), "{names:?}");
    assert!(
        !names.contains(&"idiom") && !names.contains(&"relay"),
        "{names:?}"
    );
    let bot_wide = fake.calls_to("setMyCommands");
    assert!(
        bot_wide
            .iter()
            .any(|c| c.params["scope"]["type"] == "all_group_chats")
    );
    bot.stop().await.unwrap();
}
