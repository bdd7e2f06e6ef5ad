//! Building your own group bot on qunbot: a feature of your own next to the built-in ones.
//!
//! `cargo run --example custom_feature` plays a short scene in the simulator. The feature
//! (`pingpong.rs`) brings its own config section, commands, messages and table; registering
//! it is one line, and a group switches it on or off like any built-in feature.

mod pingpong;

use std::sync::Arc;

use chrono::Utc;
use qunbot::app::prepare_with;
use qunbot::config::Settings;
use qunbot::sim::{Simulator, transcript};
use qunbot::store::Db;

/// The operator's config: the feature's own section, as for any built-in one.
const CONFIG: &str = r#"
[defaults.pingpong]
answer = "乓"
daily_limit = 2
"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut features = qunbot::features::all();
    features.push(Arc::new(pingpong::PingPong));
    let settings = Settings::from_toml("example.toml", CONFIG, &features)?;
    let prepared =
        prepare_with(settings, features).map_err(|errors| anyhow::anyhow!(errors.join("\n")))?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("example.db").display());
    let db = Db::connect(&url, &prepared.schema).await?;
    let mut sim = Simulator::new(&prepared, db, Utc::now());
    let scene = "alice: /ping\nbob: 乒\nalice: 乒\nalice: /ping\nbob: /pings\n";
    print!("{}", transcript(&mut sim, scene).await?);
    Ok(())
}
