//! The engine as the tests build it: prepared settings over a test database, on a manual
//! clock, as the bot `@qunbot` (id 1).

use std::sync::Arc;

use qunbot::app::Prepared;
use qunbot::core::action::ChatPort;
use qunbot::core::clock::ManualClock;
use qunbot::core::context::BotIdentity;
use qunbot::core::engine::Engine;
use qunbot::store::Db;

pub fn build(prepared: &Prepared, db: &Db, clock: &ManualClock, port: Arc<dyn ChatPort>) -> Engine {
    prepared.engine(
        db.clone(),
        Arc::new(clock.clone()),
        BotIdentity {
            id: 1,
            username: "qunbot".into(),
        },
        port,
    )
}
