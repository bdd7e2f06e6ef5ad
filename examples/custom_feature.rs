//! Building your own group bot on qunbot: a feature of your own next to the built-in ones.
//!
//! `cargo run --example custom_feature` plays a short scene in the simulator. The feature here
//! answers "ping" with "pong" and counts how often each member asked, in the database.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use qunbot::app::prepare_with;
use qunbot::args;
use qunbot::config::Settings;
use qunbot::core::context::Cx;
use qunbot::core::feature::{Feature, FeatureResult};
use qunbot::sim::{Simulator, transcript};
use qunbot::store::Db;

struct PingPong;

#[async_trait]
impl Feature for PingPong {
    fn name(&self) -> &'static str {
        "pingpong"
    }

    fn always_on(&self) -> bool {
        true
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        let Some(message) = cx.event.message() else {
            return Ok(());
        };
        if message.text.trim() != "ping" {
            return Ok(());
        }
        // A real feature keeps its tables in migrations/; this one reuses admin_actions as a
        // log so the example needs no schema of its own.
        cx.audit(Some(&message.from), None, "ping", "").await?;
        let (count,): (i64,) = cx
            .tx
            .fetch_one(
                "SELECT COUNT(*) FROM admin_actions WHERE chat_id = $1 AND actor_id = $2 AND action = 'ping'",
                args![cx.chat(), message.from.id],
            )
            .await?;
        let name = message.from.display_name();
        cx.reply(minijinja::render!("pong #{{ n }} for {{ name }}", n => count, name => name));
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut features = qunbot::features::all();
    features.push(Arc::new(PingPong));
    let prepared = prepare_with(Settings::built_in(&qunbot::features::all()), features)
        .map_err(|errors| anyhow::anyhow!(errors.join("\n")))?;
    let dir = tempfile::tempdir()?;
    let db = Db::connect(
        &format!("sqlite://{}", dir.path().join("example.db").display()),
        &prepared.schema,
    )
    .await?;
    let mut sim = Simulator::new(&prepared, db, Utc::now());
    print!(
        "{}",
        transcript(
            &mut sim,
            "alice: ping\nbob: ping\nalice: ping\nalice: /links\n"
        )
        .await?
    );
    Ok(())
}
