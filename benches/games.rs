//! Benchmark: the idiom dictionary. Prints how long loading and indexing it takes, how much
//! resident memory that adds, and how many moves a second can be judged (normalise the text,
//! look the idiom up, check the link, and list the continuations for the dead-end check, as
//! every accepted move does), in each linking mode.
//!
//!     cargo bench --bench games

use std::collections::HashSet;
use std::time::Instant;

use qunbot::features::games::text::normalise;
use qunbot::features::games::words::{IDIOM_LIST, LinkMode, links};

/// Resident memory of this process in bytes (Linux), or 0 where that cannot be read.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn main() {
    let before = resident_bytes();
    let started = Instant::now();
    let idioms = &*IDIOM_LIST;
    let load = started.elapsed();
    let after = resident_bytes();
    println!(
        "dictionary: {} idioms indexed in {:.1} ms, resident memory +{:.1} MB",
        idioms.len(),
        load.as_secs_f64() * 1000.0,
        after.saturating_sub(before) as f64 / 1_048_576.0
    );

    // Moves as members type them: every idiom once, in the dictionary's order, each judged
    // against the one before it.
    let words: Vec<&str> = idioms.words().to_vec();
    for mode in [LinkMode::Loose, LinkMode::Strict, LinkMode::SameChar] {
        let used: HashSet<String> = HashSet::new();
        let started = Instant::now();
        let mut accepted = 0usize;
        let mut continuations = 0usize;
        for pair in words.windows(2) {
            let Some(typed) = normalise(pair[1]) else {
                continue;
            };
            if !idioms.contains(&typed) {
                continue;
            }
            let (Some(last), Some(first)) = (pair[0].chars().last(), typed.chars().next()) else {
                continue;
            };
            if links(last, first, mode) {
                accepted += 1;
            }
            continuations += idioms.continuations(&typed, mode, &used).len();
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "{:>9}: {} moves judged in {:.2} s = {:.0} moves/s ({} linked; {:.0} continuations on average)",
            mode.as_str(),
            words.len() - 1,
            elapsed,
            (words.len() - 1) as f64 / elapsed,
            accepted,
            continuations as f64 / (words.len() - 1) as f64
        );
    }
}
