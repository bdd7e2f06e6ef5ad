//! Reactions against the fake Bot API: the bot reads a group's allowed reactions with `getChat`
//! once, reacts with one of them that means the same, and when Telegram refuses one
//! (`REACTION_INVALID`: the admins changed the list) reads the list again and, where none is
//! left, says the refusal in reply.

mod support;

use support::fake_bot_api::FakeBotApi;
use support::run::{WAIT, start};

const GROUP: i64 = -1_001_234_567_890;
const ALICE: (i64, &str) = (7, "alice");

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A message of alice's in the group, pushed as an update; its message id.
fn alice_says(fake: &FakeBotApi, text: &str) -> i64 {
    let update = FakeBotApi::group_text(GROUP, ALICE, text, now());
    let id = update["message"]["message_id"].as_i64().unwrap();
    fake.push_update(update);
    id
}

fn emoji_of(call: &support::fake_bot_api::Call) -> String {
    let reaction = &call.params["reaction"];
    let reaction = match reaction {
        serde_json::Value::String(json) => serde_json::from_str(json).unwrap(),
        other => other.clone(),
    };
    reaction[0]["emoji"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_follow_the_groups_list_and_a_refusal_falls_back_to_a_reply() {
    let fake = FakeBotApi::start().await;
    fake.set_available_reactions(GROUP, &["🔥", "🤔"]);
    alice_says(&fake, "接龙 聚餐\n每人多条");
    let twenty: Vec<String> = (1..=20).map(|n| format!("{n}. 菜{n}")).collect();
    let pasted = alice_says(&fake, &format!("接龙 聚餐\n{}", twenty.join("\n")));
    let over_cap = alice_says(&fake, "/join 菜21");
    let bot = start(fake.clone(), "").await;

    // 👍 for the pasted lines and 🤷 for the line over alice's 20 are not allowed here: the
    // acknowledgement becomes 🔥, the refusal 🤔 (never a 🔥 for a "no").
    let reactions = fake.wait_for_call("setMessageReaction", 2, WAIT).await;
    let made: Vec<(i64, String)> = reactions
        .iter()
        .map(|call| (call.params["message_id"].as_i64().unwrap(), emoji_of(call)))
        .collect();
    assert_eq!(
        made,
        [(pasted, "🔥".to_owned()), (over_cap, "🤔".to_owned())]
    );
    assert_eq!(
        fake.count_calls("getChat"),
        1,
        "the group's reactions are read once"
    );

    // The admins switch reactions off. Telegram tells nobody: the next 🤔 is refused, the bot
    // reads the list again, finds nothing allowed and says the refusal in reply.
    fake.set_available_reactions(GROUP, &[]);
    let refused_line = alice_says(&fake, "/join 菜22");
    let deadline = tokio::time::Instant::now() + WAIT;
    let reply = loop {
        let reply = fake.calls_to("sendMessage").into_iter().find(|call| {
            call.params["text"]
                .as_str()
                .is_some_and(|text| text.contains("不能再加了"))
        });
        if let Some(reply) = reply {
            break reply;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reply for the refused line: {:?}",
            fake.calls()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        reply.params["reply_parameters"]["message_id"].as_i64(),
        Some(refused_line),
        "{}",
        reply.params
    );
    let reactions = fake.calls_to("setMessageReaction");
    assert_eq!(reactions.len(), 3, "one more try, refused: {reactions:?}");
    assert_eq!(emoji_of(&reactions[2]), "🤔");
    assert_eq!(
        fake.count_calls("getChat"),
        2,
        "read again after the refusal"
    );
    bot.stop().await.unwrap();
}
