//! The features, one folder each, holding its handlers, queries and messages.

pub mod basics;
pub mod games;
pub mod levels;
pub mod members;
pub mod moderation;
pub mod relay;
pub mod schedule;
pub mod settings;
pub mod signin;
pub mod stats;
pub mod welcome;

use std::sync::Arc;

use crate::core::feature::Feature;
use crate::store::Schema;

/// Every feature, in the order they see each event.
pub fn all() -> Vec<Arc<dyn Feature>> {
    vec![
        Arc::new(members::Members),
        // Before everything else: a message the rules remove goes no further.
        Arc::new(moderation::Moderation),
        Arc::new(basics::Basics),
        Arc::new(settings::Settings),
        Arc::new(signin::Signin),
        Arc::new(levels::Levels),
        Arc::new(schedule::Schedule),
        Arc::new(welcome::Welcome),
        Arc::new(relay::Relay),
        Arc::new(games::Games),
        Arc::new(stats::Stats),
    ]
}

/// The database schema of the built-in features: core's migrations and theirs.
pub fn schema() -> Schema {
    crate::app::schema(&all()).expect("the built-in features' migrations have distinct versions")
}
