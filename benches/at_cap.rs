//! Benchmark: in a group held at Telegram's 20 messages a minute by 30 members' `/me` replies,
//! how long a newcomer's spam link takes to be deleted, the newcomer to be muted, and an
//! admin's `/warn` to be answered (the real `qunbot run` in-process against the fake Bot API,
//! the per-group pace on, times taken at the fake). Each run takes about 20 s.
//!
//!     cargo bench --bench at_cap                 # 3 runs
//!     QUNBOT_BENCH_RUNS=5 cargo bench --bench at_cap

#[path = "../tests/support/at_cap.rs"]
mod at_cap;
#[path = "../tests/support/fake_bot_api.rs"]
mod fake_bot_api;
#[allow(dead_code)]
#[path = "../tests/support/run.rs"]
mod run;

use std::time::Duration;

fn main() {
    let runs: usize = std::env::var("QUNBOT_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut worst = [Duration::ZERO; 3];
    for run in 1..=runs {
        let measured = runtime.block_on(at_cap::measure());
        println!(
            "run {run}: spam deleted after {:>8.1?}, newcomer muted after {:>8.1?}, /warn answered after {:>8.1?} ({} of {} member replies before it)",
            measured.spam_deleted_after,
            measured.newcomer_muted_after,
            measured.warn_answered_after,
            measured.member_replies_before_warn,
            at_cap::MEMBERS,
        );
        for (worst, this) in worst.iter_mut().zip([
            measured.spam_deleted_after,
            measured.newcomer_muted_after,
            measured.warn_answered_after,
        ]) {
            *worst = (*worst).max(this);
        }
    }
    println!(
        "worst of {runs}: spam deleted after {:.1?} (target 2 s), newcomer muted after {:.1?} (2 s), /warn answered after {:.1?} (5 s)",
        worst[0], worst[1], worst[2]
    );
}
