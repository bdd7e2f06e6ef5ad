//! qunbot: a community bot for group chats, and the framework it is built on.
//!
//! Updates from a platform adapter ([`telegram`], or the local simulator in [`sim`]) are stored
//! in the inbox, turned into platform-neutral [`core::event::Event`]s and routed to the
//! [`features`] enabled for each group. Features write their state through one database
//! transaction per event and queue [`core::action::Action`]s, which are delivered after it
//! commits. See docs/ARCHITECTURE.md for the whole picture.

pub mod app;
pub mod config;
pub mod core;
pub mod features;
pub mod http;
pub mod metrics;
pub mod scheduler;
pub mod sim;
pub mod store;
pub mod telegram;
