//! Shared test helpers. Each integration test file includes this with `mod support;` and uses
//! what it needs.
#![allow(dead_code)]

pub mod at_cap;
pub mod db;
pub mod engine;
pub mod events;
pub mod fake_bot_api;
pub mod port;
pub mod run;
