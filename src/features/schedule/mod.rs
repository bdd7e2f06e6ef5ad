//! Scheduled posts: 早安 at 8, the weekly sharing session, 晚安 at 22, birthday and festival
//! wishes, the daily digest, the inactive-member review, recurring group tasks. The scheduler
//! turns each job's firing into a `Tick`; this feature does what the job's kind says.
//!
//! Text variables: `date` (2026-03-02), `weekday` (星期一 / Monday), `time` (08:00), `chat`
//! (the group's title), `members` (members seen and not gone), `signins_yesterday`, `workday`,
//! `lunar` (正月初一), `solar_term` (the 节气 starting today, if one does), `festival` (today's
//! festivals, joined).

pub mod birthday;
pub mod config;
pub mod digest;
pub mod inactive;
pub mod task;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Duration, Utc};
use minijinja::{Value, context};

use self::config::InactiveSettings;
use crate::args;
use crate::config::Job;
use crate::core::commands::Invocation;
use crate::core::context::Cx;
use crate::core::day::day_of;
use crate::core::event::EventKind;
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::i18n::Language;
use crate::core::numbers;
use crate::core::settings::SectionSlot;
use crate::scheduler::{self, Outcome, calendar};
use config::JobKind;

pub struct Schedule;

#[async_trait]
impl Feature for Schedule {
    fn name(&self) -> &'static str {
        "schedule"
    }

    fn commands(&self) -> &'static [&'static str] {
        &["jobs", "runjob", "inactive"]
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<config::InactiveSettings>()]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests!["jobs.toml", "runjob.toml", "inactive.toml"]
    }

    fn migrations(&self) -> Option<crate::store::Migrations> {
        Some(crate::migrations!(
            "src/features/schedule/migrations/sqlite",
            "src/features/schedule/migrations/postgres"
        ))
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        match &cx.event.kind {
            EventKind::Tick { job } => {
                let Some(job) = cx.group.jobs.iter().find(|j| j.name == *job).cloned() else {
                    tracing::warn!(chat = cx.chat(), %job, "a firing for a job the config no longer has");
                    return Ok(());
                };
                fire(cx, &job).await
            }
            EventKind::Timer { key, payload, .. } if key.starts_with("task:") => {
                match payload.parse() {
                    Ok(id) => task::close(cx, id).await,
                    Err(_) => Ok(()),
                }
            }
            EventKind::ButtonPressed {
                from,
                callback_id,
                data,
                ..
            } => match data.strip_prefix("sched:task:").map(str::parse) {
                Some(Ok(id)) => task::press(cx, from, callback_id, id).await,
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// A group that became a supergroup keeps its firing history (so nothing fires twice and
    /// the minimum interval holds), its tasks and the review's reminders. Rows the new id
    /// already has win.
    async fn migrate_chat(
        &self,
        tx: &mut crate::store::Tx,
        from: crate::core::event::ChatId,
        to: crate::core::event::ChatId,
    ) -> FeatureResult {
        for sql in [
            "UPDATE job_firings SET chat_id = $1 WHERE chat_id = $2 AND NOT EXISTS
                 (SELECT 1 FROM job_firings n WHERE n.chat_id = $1
                  AND n.job = job_firings.job AND n.fire_at = job_firings.fire_at)",
            "UPDATE tasks SET chat_id = $1 WHERE chat_id = $2 AND NOT EXISTS
                 (SELECT 1 FROM tasks n WHERE n.chat_id = $1
                  AND n.job = tasks.job AND n.posted_at = tasks.posted_at)",
            "UPDATE inactive_reminders SET chat_id = $1 WHERE chat_id = $2 AND NOT EXISTS
                 (SELECT 1 FROM inactive_reminders n WHERE n.chat_id = $1
                  AND n.user_id = inactive_reminders.user_id)",
        ] {
            tx.execute(sql, args![to, from]).await?;
        }
        for sql in [
            "DELETE FROM job_firings WHERE chat_id = $1",
            "DELETE FROM inactive_reminders WHERE chat_id = $1",
        ] {
            tx.execute(sql, args![from]).await?;
        }
        Ok(())
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        match invocation.name.as_str() {
            "jobs" => {
                let zone = cx.group.timezone;
                let missed = last_missed(cx).await?;
                // Which post held a crowded one back, to say so.
                let mut crowding = HashMap::new();
                for (name, (at, reason)) in &missed {
                    if reason == Outcome::Crowded.as_str() {
                        let chat = cx.chat();
                        if let Some((other, _)) =
                            scheduler::crowded_by(cx.tx, chat, cx.group, name, *at).await?
                        {
                            crowding.insert(name.clone(), other);
                        }
                    }
                }
                let interval = crate::core::duration::describe(
                    cx.group.schedule.min_interval,
                    cx.language() == Language::ZhCn,
                );
                let local = |at: DateTime<Utc>| at.with_timezone(&zone).format("%m-%d %H:%M");
                // The next post as it will really go: past the quiet hours and the minimum
                // interval, not merely the cron line's next minute.
                let forecasts = scheduler::forecast::forecast(cx.group, cx.now);
                let lines: Vec<String> = cx
                    .group
                    .jobs
                    .iter()
                    .zip(&forecasts)
                    .map(|(job, forecast)| {
                        let next = match forecast.next_post {
                            Some(at) => local(at).to_string(),
                            None if forecast.never_posts() => {
                                let after = forecast
                                    .crowded_by
                                    .filter(|_| forecast.crowded >= forecast.quiet)
                                    .map(|by| cx.group.jobs[by].name.clone());
                                cx.text(
                                    "schedule.never_posts",
                                    context! { after, interval => &interval },
                                )
                            }
                            None => "—".into(),
                        };
                        let mut line = format!("{} · {} · {next}", job.name, job.schedule.source());
                        if let Some((at, reason)) = missed.get(&job.name) {
                            let at = local(*at).to_string();
                            let after = crowding.get(&job.name);
                            let note = cx.text(
                                "schedule.missed",
                                context! { at, reason, after, interval => &interval },
                            );
                            line = format!("{line} · {note}");
                        }
                        line
                    })
                    .collect();
                let text = cx.text("schedule.jobs", context! { lines });
                cx.reply(text);
                Ok(CommandOutcome::Done)
            }
            "runjob" => {
                let name = invocation.args.trim();
                if name.is_empty() {
                    return Ok(CommandOutcome::BadArguments);
                }
                match cx.group.jobs.iter().find(|j| j.name == name).cloned() {
                    Some(job) => run(cx, &job).await?,
                    None => {
                        let text = cx.text("schedule.no_such_job", context! { name });
                        cx.reply(text);
                    }
                }
                Ok(CommandOutcome::Done)
            }
            "inactive" => {
                let arg = invocation.args.trim();
                let days = if arg.is_empty() {
                    cx.group.section::<InactiveSettings>().warn_after_days
                } else {
                    match numbers::whole_in(arg.trim_end_matches(['d', '天']), 1..=3650) {
                        Some(days) => days,
                        None => return Ok(CommandOutcome::BadArguments),
                    }
                };
                let silent = inactive::silent_members(cx, days).await?;
                let count = silent.len();
                let lines: Vec<String> = silent
                    .iter()
                    .take(50)
                    .map(|m| format!("{} · {}", m.user.display_name(), m.days))
                    .collect();
                let more = count.saturating_sub(lines.len());
                let text = cx.text(
                    "schedule.inactive_list",
                    context! { days, count, lines, more },
                );
                cx.reply(text);
                Ok(CommandOutcome::Done)
            }
            _ => Ok(CommandOutcome::Done),
        }
    }
}

const WEEKDAYS_ZH: [&str; 7] = [
    "星期一",
    "星期二",
    "星期三",
    "星期四",
    "星期五",
    "星期六",
    "星期日",
];

/// A job's firing, as its Tick is handled: not run when the group had another scheduled post
/// too shortly before (`schedule.min_interval`; at the same minute, the job earlier in the
/// config posts), marked `silent` when it ran and had nothing to post. What it was is written
/// in the Tick's transaction, so it is decided once, whatever restarts.
async fn fire(cx: &mut Cx<'_>, job: &Job) -> FeatureResult {
    let (chat, at) = (cx.chat(), cx.event.at);
    if let Some((other, other_at)) =
        scheduler::crowded_by(cx.tx, chat, cx.group, &job.name, at).await?
    {
        scheduler::record_outcome(cx.tx, chat, &job.name, at, Outcome::Crowded).await?;
        crate::metrics::metrics()
            .scheduled_posts_missed
            .with_label_values(&["crowded"])
            .inc();
        tracing::info!(
            chat,
            job = %job.name,
            due = %at,
            after = %other,
            after_due = %other_at,
            "scheduled post skipped: too soon after the group's last one (schedule.min_interval)"
        );
        return Ok(());
    }
    let before = cx.posts_queued();
    run(cx, job).await?;
    if cx.posts_queued() == before {
        scheduler::record_outcome(cx.tx, chat, &job.name, at, Outcome::Silent).await?;
    }
    Ok(())
}

/// Does what a job's kind says.
async fn run(cx: &mut Cx<'_>, job: &Job) -> FeatureResult {
    let first_text = job.templates.first();
    match &job.kind {
        JobKind::Message => {
            if let Some(text) = render_job_text(cx, job, cx.event.at, Value::UNDEFINED).await? {
                cx.send(text);
            }
            Ok(())
        }
        JobKind::Festival(templates) => festival(cx, templates).await,
        JobKind::Birthday => birthday::post(cx, first_text).await,
        JobKind::Digest => digest::post(cx, first_text).await,
        JobKind::InactiveReview => inactive::review(cx).await,
        JobKind::Stats => crate::features::stats::weekly_report(cx).await,
        JobKind::Task { deadline } => {
            let Some(text) = render_job_text(cx, job, cx.event.at, Value::UNDEFINED).await? else {
                return Ok(());
            };
            task::announce(cx, &job.name, text, *deadline).await
        }
    }
}

/// On a festival or the first day of a solar term the job has a template for (or `default`),
/// posts it.
async fn festival(
    cx: &mut Cx<'_>,
    templates: &std::collections::BTreeMap<String, String>,
) -> FeatureResult {
    let date = cx.event.at.with_timezone(&cx.group.timezone).date_naive();
    let facts = calendar::facts(date);
    let today: Vec<&String> = facts
        .festivals
        .iter()
        .chain(facts.solar_term.iter())
        .collect();
    let language = cx.language();
    // A job names a festival in Chinese or, for an English group, in English too.
    let chosen = today
        .iter()
        .find_map(|name| {
            templates
                .get(name.as_str())
                .or_else(|| templates.get(&calendar::name_in(name, language)))
                .map(|t| (name, t))
        })
        .or_else(|| {
            today
                .first()
                .and_then(|name| templates.get("default").map(|t| (name, t)))
        });
    let Some((name, template)) = chosen else {
        return Ok(());
    };
    let extra = context! { name => calendar::name_in(name, language) };
    let vars = job_vars(cx, cx.event.at).await?;
    if let Some(text) = cx
        .render(template, context! { ..extra, ..vars })
        .filter(|text| !text.trim().is_empty())
    {
        cx.send(text);
    }
    Ok(())
}

/// The variables every job text may use, for a firing at `at`.
async fn job_vars(cx: &mut Cx<'_>, at: DateTime<Utc>) -> FeatureResult<Value> {
    let zone = cx.group.timezone;
    let local = at.with_timezone(&zone);
    let date = local.date_naive();
    let weekday = match cx.language() {
        Language::ZhCn => WEEKDAYS_ZH[date.weekday().num_days_from_monday() as usize].to_owned(),
        Language::En => date.format("%A").to_string(),
    };
    let chat = cx.chat();
    let (members,): (i64,) = cx
        .tx
        .fetch_one(
            "SELECT COUNT(*) FROM members WHERE chat_id = $1 AND left_at IS NULL AND is_bot = 0",
            args![chat],
        )
        .await?;
    let yesterday = day_of(at - Duration::days(1), zone, cx.group.day_starts_at);
    let (signins_yesterday,): (i64,) = cx
        .tx
        .fetch_one(
            "SELECT COUNT(*) FROM signins WHERE chat_id = $1 AND day = $2",
            args![chat, yesterday],
        )
        .await?;
    let facts = calendar::facts(date);
    let workday = minijinja::Value::from_object(Workday {
        is: cx.settings.calendar.is_workday(date),
        language: cx.language(),
    });
    Ok(context! {
        date => date.to_string(),
        weekday,
        time => local.format("%H:%M").to_string(),
        chat => cx.event.chat.title.clone(),
        members,
        signins_yesterday,
        workday,
        lunar => facts.lunar_in(cx.language()),
        solar_term => facts.solar_term.as_deref().map(|term| calendar::name_in(term, cx.language())),
        festival => facts
            .festivals
            .iter()
            .map(|name| calendar::name_in(name, cx.language()))
            .collect::<Vec<_>>()
            .join(match cx.language() {
                Language::ZhCn => "、",
                Language::En => ", ",
            }),
    })
}

/// One of the job's texts rendered for a firing at `at` (the same firing always picks the same
/// text, so a repeat after a crash says the same), with `extra` variables.
pub async fn render_job_text(
    cx: &mut Cx<'_>,
    job: &Job,
    at: DateTime<Utc>,
    extra: Value,
) -> FeatureResult<Option<String>> {
    let pick = (at.timestamp().unsigned_abs() / 60) as usize % job.templates.len().max(1);
    let Some(template) = job.templates.get(pick) else {
        return Ok(None);
    };
    let vars = job_vars(cx, at).await?;
    Ok(cx
        .render(template, context! { ..extra, ..vars })
        .filter(|text| !text.trim().is_empty()))
}

/// Each job whose latest firing in this chat did not post, with when it was due and why
/// (`missed`: the bot was down past the grace period; `expired`: its post waited too long;
/// `crowded`: too soon after another scheduled post).
async fn last_missed(cx: &mut Cx<'_>) -> FeatureResult<HashMap<String, (DateTime<Utc>, String)>> {
    let chat = cx.chat();
    let rows: Vec<(String, i64, String)> = cx
        .tx
        .fetch_all(
            "SELECT f.job, f.fire_at, f.outcome FROM job_firings f WHERE f.chat_id = $1
             AND f.outcome IN ('missed', 'expired', 'crowded')
             AND f.fire_at = (SELECT MAX(g.fire_at) FROM job_firings g
                              WHERE g.chat_id = f.chat_id AND g.job = f.job)",
            args![chat],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(job, at, outcome)| Some((job, (DateTime::from_timestamp(at, 0)?, outcome))))
        .collect())
}

/// `{{ workday }}`: a word in the group's language when written out (工作日 / 休息日), true or
/// false in `{% if workday %}`.
#[derive(Debug)]
struct Workday {
    is: bool,
    language: Language,
}

impl minijinja::value::Object for Workday {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn is_true(self: &std::sync::Arc<Self>) -> bool {
        self.is
    }

    fn render(self: &std::sync::Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.is, self.language) {
            (true, Language::ZhCn) => "工作日",
            (false, Language::ZhCn) => "休息日",
            (true, Language::En) => "a workday",
            (false, Language::En) => "a day off",
        })
    }
}
