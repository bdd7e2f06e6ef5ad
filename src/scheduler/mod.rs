//! The scheduler: turns each group's jobs into `Tick` events in the inbox, each firing exactly
//! once. A firing is claimed by inserting (chat, job, time) under a unique key in the same
//! transaction that stores its Tick; whoever inserts it runs it, so neither a restart nor a
//! second replica repeats a post.
//!
//! After downtime, firings missed by less than `[scheduler] grace_secs` (15 minutes by default)
//! run late; older ones are recorded as missed and logged, not posted.

pub mod calendar;
pub mod forecast;
pub mod jobs;
pub mod spec;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::args;
use crate::config::{GroupSettings, Job, Settings};
use crate::core::engine::Engine;
use crate::core::event::{Chat, ChatKind, Event, EventKind};
use crate::store::{StoreResult, inbox, timers};

/// Never look further back than this for missed firings.
const LOOKBACK: Duration = Duration::days(7);
/// Firings claimed per job per pass at most (a job fires at most every 10 minutes).
const MAX_FIRINGS_PER_PASS: usize = 1_100;

pub const INBOX_SOURCE: &str = "scheduler";

/// A group chat with jobs, and the settings its jobs come from. Groups that share a settings
/// table (most share the defaults) share the reference, which `plan` uses to compute each
/// schedule once, not once per group.
pub struct Target<'a> {
    pub chat: Chat,
    pub settings: &'a GroupSettings,
}

/// A firing that came due.
#[derive(Debug)]
pub struct Due<'a> {
    pub chat: &'a Chat,
    pub settings: &'a GroupSettings,
    pub job: &'a Job,
    pub at: DateTime<Utc>,
}

/// The group chats that have jobs, with their settings.
pub async fn targets<'s>(engine: &Engine, settings: &'s Settings) -> StoreResult<Vec<Target<'s>>> {
    // (id, kind, title, active, migrated to)
    type Row = (i64, String, Option<String>, i64, Option<i64>);
    let known: Vec<Row> = engine
        .db
        .fetch_all(
            "SELECT chat_id, kind, title, active, migrated_to FROM chats
             WHERE kind IN ('group', 'supergroup')",
            args![],
        )
        .await?;
    // Every chat the bot knows, served or not: a group the config names by an id that has
    // since moved, or that removed the bot, is not a target of its own.
    let seen: HashSet<i64> = known.iter().map(|(id, ..)| *id).collect();
    let mut chats: Vec<Chat> = known
        .into_iter()
        .filter(|(_, _, _, active, migrated_to)| *active == 1 && migrated_to.is_none())
        .map(|(id, kind, title, ..)| Chat {
            id,
            kind: if kind == "supergroup" {
                ChatKind::Supergroup
            } else {
                ChatKind::Group
            },
            title,
        })
        .collect();
    // Groups the config names but the bot has not heard from yet (not the example's
    // placeholder, which no chat has).
    for &id in settings.groups.keys() {
        if id < 0 && id != crate::config::PLACEHOLDER_CHAT_ID && !seen.contains(&id) {
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
    // A supergroup that was a group keeps the settings written for its old id: one query for
    // all of them rather than one per chat.
    let moved_from: HashMap<i64, i64> = if settings.groups.is_empty() {
        HashMap::new()
    } else {
        let rows: Vec<(i64, i64)> = engine
            .db
            .fetch_all(
                "SELECT migrated_to, chat_id FROM chats WHERE migrated_to IS NOT NULL",
                args![],
            )
            .await?;
        rows.into_iter().collect()
    };
    Ok(chats
        .into_iter()
        .map(|chat| {
            let table = if settings.has_group_table(chat.id) {
                chat.id
            } else {
                moved_from
                    .get(&chat.id)
                    .copied()
                    .filter(|old| settings.has_group_table(*old))
                    .unwrap_or(chat.id)
            };
            Target {
                settings: settings.group(table),
                chat,
            }
        })
        .filter(|target| !target.settings.jobs.is_empty())
        .collect())
}

/// Each (chat, job)'s latest claimed firing within the lookback window, in one query.
pub async fn last_firings(
    engine: &Engine,
    now: DateTime<Utc>,
) -> StoreResult<HashMap<(i64, String), DateTime<Utc>>> {
    let rows: Vec<(i64, String, i64)> = engine
        .db
        .fetch_all(
            "SELECT chat_id, job, MAX(fire_at) FROM job_firings WHERE fire_at >= $1 GROUP BY chat_id, job",
            args![(now - LOOKBACK).timestamp()],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(chat, job, at)| Some(((chat, job), DateTime::from_timestamp(at, 0)?)))
        .collect())
}

/// Every firing due by `now` that has not been claimed, in time order. Pure: the scheduler's
/// whole plan for a pass, from what the database said. A schedule is evaluated once per
/// (settings table, job, starting point), however many groups share it.
pub fn plan<'a>(
    targets: &'a [Target<'a>],
    last: &HashMap<(i64, String), DateTime<Utc>>,
    now: DateTime<Utc>,
    grace: Duration,
) -> Vec<Due<'a>> {
    let mut computed: HashMap<(usize, usize, i64), Vec<DateTime<Utc>>> = HashMap::new();
    let mut due = Vec::new();
    for target in targets {
        let settings = target.settings;
        for (index, job) in settings.jobs.iter().enumerate() {
            // A job seen for the first time starts from "now, give or take the grace", not
            // from the beginning of time.
            let cursor = last
                .get(&(target.chat.id, job.name.clone()))
                .copied()
                .unwrap_or(now - grace)
                .max(now - LOOKBACK);
            let key = (
                std::ptr::from_ref(settings) as usize,
                index,
                cursor.timestamp(),
            );
            let firings = computed.entry(key).or_insert_with(|| {
                let mut firings = Vec::new();
                let mut at = cursor;
                while firings.len() < MAX_FIRINGS_PER_PASS {
                    match job.schedule.next_after(settings.timezone, at) {
                        Some(next) if next <= now => {
                            firings.push(next);
                            at = next;
                        }
                        _ => break,
                    }
                }
                firings
            });
            due.extend(firings.iter().map(|&at| Due {
                chat: &target.chat,
                settings,
                job,
                at,
            }));
        }
    }
    // In time order within a chat, so that the minimum interval sees the earlier post first.
    due.sort_by_key(|d| (d.chat.id, d.at));
    due
}

/// Claims every job firing and every feature timer due by `now` and stores their events in
/// the inbox. Returns how many were queued to run.
pub async fn fire_due(engine: &Engine, now: DateTime<Utc>) -> StoreResult<usize> {
    fire_due_by(engine, now, now).await
}

/// Claims, at `now`, every job firing and every feature timer due by `due_by`: the time up to
/// which every update members sent is in the inbox, so that none is overtaken by what was due
/// after it (see `telegram::received`).
pub async fn fire_due_by(
    engine: &Engine,
    due_by: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    Ok(fire_jobs_by(engine, due_by, now).await?
        + timers::fire_due_by(&engine.db, due_by, now).await?)
}

/// Claims every job firing due by `now` and stores its Tick in the inbox. Returns how many
/// were queued to run.
pub async fn fire_jobs(engine: &Engine, now: DateTime<Utc>) -> StoreResult<usize> {
    fire_jobs_by(engine, now, now).await
}

/// Claims, at `now`, every job firing due by `due_by`; one more than the grace period late
/// (measured at `now`) is recorded as missed.
pub async fn fire_jobs_by(
    engine: &Engine,
    due_by: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let settings = engine.settings();
    let grace = Duration::seconds(settings.file.scheduler.grace_secs());
    let targets = targets(engine, &settings).await?;
    let last = last_firings(engine, due_by).await?;
    let mut queued = 0;
    for Due {
        chat,
        settings,
        job,
        at,
    } in plan(&targets, &last, due_by, grace)
    {
        let mut tx = engine.db.begin().await?;
        let outcome = if now - at > grace {
            Outcome::Missed
        } else if settings
            .schedule
            .is_quiet(at.with_timezone(&settings.timezone).time())
        {
            Outcome::Quiet
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
            Some(_) if outcome == Outcome::Missed => {
                crate::metrics::metrics()
                    .scheduled_posts_missed
                    .with_label_values(&["late"])
                    .inc();
                tracing::warn!(
                chat = chat.id,
                job = %job.name,
                due = %at,
                "scheduled post missed while the bot was down for longer than the grace period; skipped"
                );
            }
            Some(_) => tracing::info!(
                chat = chat.id,
                job = %job.name,
                due = %at,
                reason = outcome.as_str(),
                "scheduled post skipped: in the group's quiet hours"
            ),
            None => {}
        }
        tx.commit().await?;
    }
    Ok(queued)
}

/// Records that a fired post never went out: it waited in the outbox past its deadline (the
/// grace period), behind a queue longer than Telegram's budget could clear.
pub async fn record_expired(db: &crate::store::Db, firing: i64) -> StoreResult<()> {
    db.execute(
        "UPDATE job_firings SET outcome = $1 WHERE id = $2 AND outcome = $3",
        args![Outcome::Expired.as_str(), firing, Outcome::Fired.as_str()],
    )
    .await?;
    Ok(())
}

/// What became of a firing (`job_firings.outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Fired,
    /// The bot was down for longer than the grace period.
    Missed,
    /// In the group's quiet hours.
    Quiet,
    /// Too soon after another of the group's scheduled posts (`schedule.min_interval`),
    /// decided when its Tick is handled.
    Crowded,
    /// Ran and posted nothing (a festival job on an ordinary day); does not hold later posts
    /// back.
    Silent,
    /// Fired, but its post waited in the outbox past the grace period and was dropped.
    Expired,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fired => "fired",
            Outcome::Missed => "missed",
            Outcome::Quiet => "quiet",
            Outcome::Crowded => "crowded",
            Outcome::Silent => "silent",
            Outcome::Expired => "expired",
        }
    }
}

/// The scheduled post that keeps the firing of `job` at `at` from posting: one of the group's
/// firings that posted (outcome `fired`) less than `schedule.min_interval` before it, or at the
/// same time and claimed before it (an earlier job in the config). Read when the firing's Tick
/// is handled, not when it is claimed: by then every firing claimed before it has been handled
/// (a chat's Ticks are handled in the order they were claimed, one at a time under the chat's
/// lock), and one that posted nothing (a festival job on an ordinary day, birthdays with nobody
/// to wish) has been marked `silent`, so only posts that were made count. `None` when the
/// firing may post.
pub async fn crowded_by(
    tx: &mut crate::store::Tx,
    chat: i64,
    settings: &GroupSettings,
    job: &str,
    at: DateTime<Utc>,
) -> StoreResult<Option<(String, DateTime<Utc>)>> {
    let interval = settings.schedule.min_interval;
    if interval <= Duration::zero() {
        return Ok(None);
    }
    let row: Option<(String, i64)> = tx
        .fetch_optional(
            "SELECT f.job, f.fire_at FROM job_firings f, job_firings me
             WHERE me.chat_id = $1 AND me.job = $2 AND me.fire_at = $3
               AND f.chat_id = $1 AND f.outcome = 'fired' AND f.id < me.id
               AND f.fire_at > $4 AND f.fire_at <= $3
             ORDER BY f.fire_at DESC, f.id DESC LIMIT 1",
            args![
                chat,
                job.to_owned(),
                at.timestamp(),
                (at - interval).timestamp()
            ],
        )
        .await?;
    Ok(row.and_then(|(job, at)| Some((job, DateTime::from_timestamp(at, 0)?))))
}

/// Records, while its Tick is handled, what became of a claimed firing: `crowded` (too soon
/// after another post, see [`crowded_by`]) or `silent` (it ran and had nothing to post).
pub async fn record_outcome(
    tx: &mut crate::store::Tx,
    chat: i64,
    job: &str,
    at: DateTime<Utc>,
    outcome: Outcome,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE job_firings SET outcome = $1
         WHERE chat_id = $2 AND job = $3 AND fire_at = $4 AND outcome = $5",
        args![
            outcome.as_str(),
            chat,
            job.to_owned(),
            at.timestamp(),
            Outcome::Fired.as_str()
        ],
    )
    .await?;
    Ok(())
}

/// The earliest firing of any job or timer after `after` (for the simulator, which moves its
/// clock from one firing to the next). An overdue timer is due at `after`.
pub async fn next_due(engine: &Engine, after: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
    let mut next = timers::next_due(&engine.db, after).await?;
    let settings = engine.settings();
    for target in targets(engine, &settings).await? {
        for job in &target.settings.jobs {
            if let Some(at) = job.schedule.next_after(target.settings.timezone, after) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
    }
    Ok(next)
}
