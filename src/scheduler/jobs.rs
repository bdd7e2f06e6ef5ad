//! A group's scheduled posts as the scheduler runs them: the jobs (`[[defaults.jobs]]`), the kinds
//! a job can be, and when posts may go out (`[defaults.schedule]`). These are core keys of a
//! group, not a feature's section: the scheduler fires the jobs, and the schedule feature writes
//! what each kind posts.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveTime};
use serde::Deserialize;
use toml::Spanned;

use crate::core::duration;

/// A scheduled post, checked.
#[derive(Clone, Debug)]
pub struct Job {
    pub name: String,
    pub schedule: super::spec::JobSchedule,
    pub kind: JobKind,
    /// Names of its message templates in `Settings::templates`.
    pub templates: Vec<String>,
}

/// What a job does when it fires.
#[derive(Clone, Debug, PartialEq)]
pub enum JobKind {
    /// Posts one of its texts.
    Message,
    /// Wishes the members whose profile birthday (solar or lunar) is today.
    Birthday,
    /// On a festival or the first day of a solar term that has a template, posts it
    /// (festival name → template name in `Settings::templates`).
    Festival(BTreeMap<String, String>),
    /// The day in numbers: messages, speakers, top talkers, newcomers, sign-ins…
    Digest,
    /// The inactive-member review (`[defaults.inactive]`).
    InactiveReview,
    /// A task announcement with a ✅ button; a summary of who did it after `deadline`.
    Task { deadline: Duration },
    /// The statistics report: the chart and summary of the 7 days before the firing's day.
    Stats,
}

impl JobKind {
    pub fn name(&self) -> &'static str {
        match self {
            JobKind::Message => "message",
            JobKind::Birthday => "birthday",
            JobKind::Festival(_) => "festival",
            JobKind::Digest => "digest",
            JobKind::InactiveReview => "inactive_review",
            JobKind::Task { .. } => "task",
            JobKind::Stats => "stats",
        }
    }

    /// Whether the job's `texts` are required (the others have built-in messages).
    pub fn needs_texts(&self) -> bool {
        matches!(self, JobKind::Message | JobKind::Task { .. })
    }
}

/// `[defaults.schedule]`, as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    /// No scheduled post in these hours, local time: "23:00-07:00".
    #[serde(default)]
    pub quiet_hours: Option<Spanned<String>>,
    /// At least this long between two scheduled posts in the group ("30m").
    #[serde(default)]
    pub min_interval: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScheduleSettings {
    /// From, to (local time); the hours wrap past midnight when from > to.
    pub quiet_hours: Option<(NaiveTime, NaiveTime)>,
    pub min_interval: Duration,
}

impl ScheduleSettings {
    pub fn apply(
        &self,
        section: &ScheduleSection,
        problems: &mut crate::core::settings::Problems,
    ) -> ScheduleSettings {
        let mut settings = self.clone();
        if let Some(hours) = &section.quiet_hours {
            let parsed = hours.get_ref().split_once('-').and_then(|(from, to)| {
                Some((
                    NaiveTime::parse_from_str(from.trim(), "%H:%M").ok()?,
                    NaiveTime::parse_from_str(to.trim(), "%H:%M").ok()?,
                ))
            });
            match parsed {
                Some((from, to)) if from != to => settings.quiet_hours = Some((from, to)),
                _ => problems.push((
                    hours.span(),
                    format!(
                        "schedule.quiet_hours `{}` must be two different times such as 23:00-07:00",
                        hours.get_ref()
                    ),
                )),
            }
        }
        if let Some(interval) = &section.min_interval {
            match duration::parse(interval.get_ref()) {
                Some(d) if d <= Duration::days(1) => settings.min_interval = d,
                _ => problems.push((
                    interval.span(),
                    format!(
                        "schedule.min_interval `{}` must be a duration up to a day, such as 30m",
                        interval.get_ref()
                    ),
                )),
            }
        }
        settings
    }

    /// Whether `time` (local) falls in the quiet hours.
    pub fn is_quiet(&self, time: NaiveTime) -> bool {
        match self.quiet_hours {
            None => false,
            Some((from, to)) if from < to => from <= time && time < to,
            Some((from, to)) => time >= from || time < to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn quiet_hours_may_wrap_past_midnight() {
        let mut problems = Vec::new();
        let night = ScheduleSettings::default().apply(
            &ScheduleSection {
                quiet_hours: Some(Spanned::new(0..0, "23:00-07:00".into())),
                min_interval: None,
            },
            &mut problems,
        );
        assert!(problems.is_empty());
        assert!(night.is_quiet(at(23, 30)));
        assert!(night.is_quiet(at(3, 0)));
        assert!(!night.is_quiet(at(7, 0)));
        assert!(!night.is_quiet(at(12, 0)));
        let noon = ScheduleSettings {
            quiet_hours: Some((at(12, 0), at(14, 0))),
            ..Default::default()
        };
        assert!(noon.is_quiet(at(13, 0)));
        assert!(!noon.is_quiet(at(14, 0)));
    }
}
