//! The platform-neutral core: events in, actions out, and what sits between.

pub mod action;
pub mod changes;
pub mod clock;
pub mod commands;
pub mod context;
pub mod day;
pub mod delivery;
pub mod duration;
pub mod engine;
pub mod event;
pub mod feature;
pub mod hanzi;
pub mod i18n;
pub mod numbers;
pub mod reactions;
pub mod settings;
pub mod templates;

/// The core's own messages (unknown command, permission refused, usage…).
pub const MESSAGES: &str = include_str!("messages.toml");
