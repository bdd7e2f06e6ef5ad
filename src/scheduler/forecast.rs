//! What a group's jobs will really do: each firing of the coming days played through the rules
//! the scheduler and the schedule feature apply (no post in the quiet hours; none sooner than
//! `schedule.min_interval` after the group's last post), so that `/jobs` and `check-config` can
//! say what happens rather than what the cron line says. A job whose every firing is skipped
//! never posts as written.

use chrono::{DateTime, Duration, Utc};

use super::jobs::{Job, JobKind};
use crate::core::settings::GroupSettings;

/// How far ahead the forecast looks: two weeks see every weekday twice.
pub const HORIZON: Duration = Duration::days(14);
/// Firings per job played at most (a job fires at most every 10 minutes: 2,160 in 15 days).
const MAX_FIRINGS: usize = 2_300;

/// Why a firing will not post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// In the group's quiet hours.
    Quiet,
    /// Sooner than the minimum interval after the post of the job at this index.
    Crowded { by: usize },
}

/// One job's coming firings, as they will go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobForecast {
    /// Its next firing that posts (or may: a festival or birthday job posts only on its days).
    pub next_post: Option<DateTime<Utc>>,
    /// Its firings in the horizon, and how many of them are skipped for each reason.
    pub firings: usize,
    pub quiet: usize,
    pub crowded: usize,
    /// The job that crowds it out most often, by index.
    pub crowded_by: Option<usize>,
}

impl JobForecast {
    /// Fires in the horizon, yet never posts.
    pub fn never_posts(&self) -> bool {
        self.firings > 0 && self.next_post.is_none()
    }
}

/// Whether a job's firing always posts something: a festival or birthday job is silent on
/// most days and then holds no later post back.
fn always_posts(job: &Job) -> bool {
    !matches!(job.kind, JobKind::Festival(_) | JobKind::Birthday)
}

/// The forecast of each of `group`'s jobs (in their order) from `from` to `from + HORIZON`.
pub fn forecast(group: &GroupSettings, from: DateTime<Utc>) -> Vec<JobForecast> {
    let zone = group.timezone;
    let until = from + HORIZON;
    let mut firings: Vec<(DateTime<Utc>, usize)> = Vec::new();
    // Played from a day before, so that the first firings meet the posts before them as the
    // scheduler will; only those after `from` are counted.
    let start = from - Duration::days(1);
    for (index, job) in group.jobs.iter().enumerate() {
        let mut at = start;
        for _ in 0..MAX_FIRINGS {
            match job.schedule.next_after(zone, at) {
                Some(next) if next < until => {
                    firings.push((next, index));
                    at = next;
                }
                _ => break,
            }
        }
    }
    // The scheduler runs a chat's firings in time order, jobs of one minute in their order.
    firings.sort();
    let mut forecasts = vec![JobForecast::default(); group.jobs.len()];
    let mut crowders: Vec<Vec<usize>> = vec![Vec::new(); group.jobs.len()];
    let mut last_post: Option<(DateTime<Utc>, usize)> = None;
    let interval = group.schedule.min_interval;
    for (at, index) in firings {
        let local = at.with_timezone(&zone).time();
        let skipped = if group.schedule.is_quiet(local) {
            Some(Skipped::Quiet)
        } else {
            match last_post {
                Some((posted, by)) if interval > Duration::zero() && at - posted < interval => {
                    Some(Skipped::Crowded { by })
                }
                _ => None,
            }
        };
        if skipped.is_none() && always_posts(&group.jobs[index]) {
            last_post = Some((at, index));
        }
        if at <= from {
            continue;
        }
        let forecast = &mut forecasts[index];
        forecast.firings += 1;
        match skipped {
            Some(Skipped::Quiet) => forecast.quiet += 1,
            Some(Skipped::Crowded { by }) => {
                forecast.crowded += 1;
                crowders[index].push(by);
            }
            None => {
                forecast.next_post.get_or_insert(at);
            }
        }
    }
    for (forecast, mut by) in forecasts.iter_mut().zip(crowders) {
        by.sort_unstable();
        forecast.crowded_by = by
            .chunk_by(|a, b| a == b)
            .max_by_key(|run| run.len())
            .map(|run| run[0]);
    }
    forecasts
}

/// Why `job` never posts, in plain words for the operator; `None` when it does.
pub fn never_posts_because(
    group: &GroupSettings,
    index: usize,
    forecast: &JobForecast,
) -> Option<String> {
    if !forecast.never_posts() {
        return None;
    }
    let job = &group.jobs[index];
    let quiet = group
        .schedule
        .quiet_hours
        .map(|(from, to)| format!("{}-{}", from.format("%H:%M"), to.format("%H:%M")))
        .unwrap_or_default();
    let reason = match forecast.crowded_by {
        Some(by) if forecast.crowded >= forecast.quiet => format!(
            "each firing comes less than schedule.min_interval ({}) after job `{}` posts",
            crate::core::duration::describe(group.schedule.min_interval, false),
            group.jobs[by].name
        ),
        _ => format!("each firing falls in schedule.quiet_hours ({quiet})"),
    };
    Some(format!(
        "job `{}` ({}) never posts as written: {reason}",
        job.name,
        job.schedule.source()
    ))
}
