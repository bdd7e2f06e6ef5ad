//! The scheduler: turns each group's jobs into `Tick` events in the inbox, each firing exactly
//! once. A firing is claimed by inserting (chat, job, time) under a unique key in the same
//! transaction that stores its Tick; whoever inserts it runs it, so neither a restart nor a
//! second replica repeats a post.
//!
//! After downtime, firings missed by less than `[scheduler] grace_secs` (15 minutes by default)
//! run late; older ones are recorded as missed and logged, not posted.

pub mod calendar;
pub mod spec;

use chrono::{DateTime, Duration, Utc};

use crate::args;
use crate::config::GroupSettings;
use crate::core::engine::Engine;
use crate::core::event::{Chat, ChatKind, Event, EventKind};
use crate::store::{StoreResult, inbox, timers};

/// Never look further back than this for missed firings.
const LOOKBACK: Duration = Duration::days(7);
/// Firings claimed per job per pass at most (a job fires at most every 10 minutes).
const MAX_FIRINGS_PER_PASS: usize = 1_100;

pub const INBOX_SOURCE: &str = "scheduler";

/// The group chats that have jobs, with their settings.
async fn targets(engine: &Engine) -> StoreResult<Vec<(Chat, GroupSettings)>> {
    let known: Vec<(i64, String, Option<String>)> = engine
        .db
        .fetch_all(
            "SELECT chat_id, kind, title FROM chats
             WHERE active = 1 AND migrated_to IS NULL AND kind IN ('group', 'supergroup')",
            args![],
        )
        .await?;
    let mut chats: Vec<Chat> = known
        .into_iter()
        .map(|(id, kind, title)| Chat {
            id,
            kind: if kind == "supergroup" {
                ChatKind::Supergroup
            } else {
                ChatKind::Group
            },
            title,
        })
        .collect();
    // Groups the config names but the bot has not heard from yet.
    for &id in engine.settings.groups.keys() {
        if id < 0 && !chats.iter().any(|chat| chat.id == id) {
            let kind = if id <= -1_000_000_000_000 {
                ChatKind::Supergroup
            } else {
                ChatKind::Group
            };
            chats.push(Chat {
                id,
                kind,
                title: None,
            });
        }
    }
    let mut targets = Vec::new();
    for chat in chats {
        let settings = engine.group_settings(chat.id).await?;
        if !settings.jobs.is_empty() {
            targets.push((chat, settings.clone()));
        }
    }
    Ok(targets)
}

/// Claims every job firing and every feature timer due by `now` and stores their events in
/// the inbox. Returns how many were queued to run.
pub async fn fire_due(engine: &Engine, now: DateTime<Utc>) -> StoreResult<usize> {
    Ok(fire_jobs(engine, now).await? + timers::fire_due(&engine.db, now).await?)
}

/// Claims every job firing due by `now` and stores its Tick in the inbox. Returns how many
/// were queued to run.
pub async fn fire_jobs(engine: &Engine, now: DateTime<Utc>) -> StoreResult<usize> {
    let grace = Duration::seconds(engine.settings.file.scheduler.grace_secs());
    let mut queued = 0;
    for (chat, settings) in targets(engine).await? {
        for job in &settings.jobs {
            let last: Option<(Option<i64>,)> = engine
                .db
                .fetch_optional(
                    "SELECT MAX(fire_at) FROM job_firings WHERE chat_id = $1 AND job = $2",
                    args![chat.id, job.name.clone()],
                )
                .await?;
            let last = last
                .and_then(|(at,)| at)
                .and_then(|at| DateTime::from_timestamp(at, 0));
            // A job seen for the first time starts from "now, give or take the grace", not
            // from the beginning of time.
            let mut cursor = last.unwrap_or(now - grace).max(now - LOOKBACK);
            for _ in 0..MAX_FIRINGS_PER_PASS {
                let Some(at) = job.schedule.next_after(settings.timezone, cursor) else {
                    break;
                };
                if at > now {
                    break;
                }
                cursor = at;
                let mut tx = engine.db.begin().await?;
                let outcome = if now - at > grace {
                    Outcome::Missed
                } else if settings
                    .schedule
                    .is_quiet(at.with_timezone(&settings.timezone).time())
                {
                    Outcome::Quiet
                } else if posted_within(&mut tx, chat.id, at, settings.schedule.min_interval)
                    .await?
                {
                    Outcome::Crowded
                } else {
                    Outcome::Fired
                };
                let claimed: Option<(i64,)> = tx
                    .fetch_optional(
                        "INSERT INTO job_firings (chat_id, job, fire_at, outcome) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (chat_id, job, fire_at) DO NOTHING RETURNING id",
                        args![chat.id, job.name.clone(), at.timestamp(), outcome.as_str()],
                    )
                    .await?;
                match claimed {
                    Some((id,)) if outcome == Outcome::Fired => {
                        let tick = Event {
                            chat: chat.clone(),
                            at,
                            kind: EventKind::Tick {
                                job: job.name.clone(),
                            },
                        };
                        inbox::store(&mut tx, INBOX_SOURCE, id, &tick, now).await?;
                        queued += 1;
                    }
                    Some(_) if outcome == Outcome::Missed => tracing::warn!(
                        chat = chat.id,
                        job = %job.name,
                        due = %at,
                        "scheduled post missed while the bot was down for longer than the grace period; skipped"
                    ),
                    Some(_) => tracing::info!(
                        chat = chat.id,
                        job = %job.name,
                        due = %at,
                        reason = outcome.as_str(),
                        "scheduled post skipped (quiet hours, or too soon after the group's last one)"
                    ),
                    None => {}
                }
                tx.commit().await?;
            }
        }
    }
    Ok(queued)
}

/// What became of a firing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Fired,
    /// The bot was down for longer than the grace period.
    Missed,
    /// In the group's quiet hours.
    Quiet,
    /// Too soon after the group's last scheduled post (`schedule.min_interval`).
    Crowded,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Fired => "fired",
            Outcome::Missed => "missed",
            Outcome::Quiet => "quiet",
            Outcome::Crowded => "crowded",
        }
    }
}

/// Whether the group had a scheduled post less than `interval` before `at`.
async fn posted_within(
    tx: &mut crate::store::Tx,
    chat: i64,
    at: DateTime<Utc>,
    interval: Duration,
) -> StoreResult<bool> {
    if interval <= Duration::zero() {
        return Ok(false);
    }
    let row: Option<(i64,)> = tx
        .fetch_optional(
            "SELECT fire_at FROM job_firings
             WHERE chat_id = $1 AND outcome = 'fired' AND fire_at > $2 AND fire_at <= $3 LIMIT 1",
            args![chat, (at - interval).timestamp(), at.timestamp()],
        )
        .await?;
    Ok(row.is_some())
}

/// The earliest firing of any job or timer after `after` (for the simulator, which moves its
/// clock from one firing to the next). An overdue timer is due at `after`.
pub async fn next_due(engine: &Engine, after: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
    let mut next = timers::next_due(&engine.db, after).await?;
    for (_, settings) in targets(engine).await? {
        for job in &settings.jobs {
            if let Some(at) = job.schedule.next_after(settings.timezone, after) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
    }
    Ok(next)
}
