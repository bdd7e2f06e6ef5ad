//! Group statistics through the Telegram adapter: /stats arrives at the (fake) Bot API as a
//! real sendPhoto upload of a PNG with the summary as its caption. The figures themselves are
//! checked line by line in tests/scenarios/stats.chat, on SQLite and PostgreSQL.

mod support;

use std::time::Duration;

use chrono::Utc;
use support::fake_bot_api::FakeBotApi;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_telegram_stats_arrive_as_a_png_photo_with_the_summary() {
    let fake = FakeBotApi::start().await;
    let group = -1_001_234_567_890;
    fake.set_admins(group, &[7]);
    let bot = support::run::start(fake.clone(), "").await;
    let now = Utc::now().timestamp();
    fake.push_update(FakeBotApi::group_text(group, (7, "Ann"), "签到", now));
    fake.push_update(FakeBotApi::group_text(group, (8, "Bo"), "早上好", now));
    fake.push_update(FakeBotApi::group_text(group, (8, "Bo"), "/stats", now));
    fake.push_update(FakeBotApi::group_text(group, (7, "Ann"), "/stats 30d", now));
    let wait = Duration::from_secs(20);
    let photos = fake.wait_for_call("sendPhoto", 1, wait).await;
    let photo = &photos[0].params;
    assert_eq!(photo["photo"]["png"], true, "{photo}");
    assert_eq!(photo["photo"]["file_name"], "stats-30d.png");
    let size = photo["photo"]["size"].as_u64().unwrap();
    assert!((8_000..1_000_000).contains(&size), "{size} bytes");
    let caption = photo["caption"].as_str().unwrap();
    // Ann and Bo spoke (Ann's /stats 30d included): four messages, two speakers, one sign-in.
    assert!(caption.contains("💬 消息 4 条｜发言 2 人"), "{caption}");
    assert!(caption.contains("🎯 签到 1 人次"), "{caption}");
    // A member asking for the group's chart is told it is for admins, in text.
    let texts: Vec<String> = fake
        .wait_for_call("sendMessage", 2, wait)
        .await
        .iter()
        .filter_map(|call| call.params["text"].as_str().map(str::to_owned))
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("群统计只有管理员能看")),
        "{texts:?}"
    );
    bot.stop().await.unwrap();
}
