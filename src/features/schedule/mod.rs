//! Scheduled posts: 早安 at 8, the weekly sharing session, 晚安 at 22. The scheduler turns each
//! job's firing into a `Tick`; this feature posts one of the job's texts.
//!
//! Text variables: `date` (2026-03-02), `weekday` (星期一 / Monday), `time` (08:00), `chat`
//! (the group's title), `members` (members seen and not gone), `signins_yesterday`, `workday`.

use async_trait::async_trait;
use chrono::{Datelike, Duration};
use minijinja::context;

use crate::args;
use crate::config::Job;
use crate::core::commands::Invocation;
use crate::core::context::Cx;
use crate::core::event::EventKind;
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::i18n::Language;
use crate::features::signin::day_of;
use crate::scheduler::calendar;

pub struct Schedule;

#[async_trait]
impl Feature for Schedule {
    fn name(&self) -> &'static str {
        "schedule"
    }

    fn commands(&self) -> &'static [&'static str] {
        &["jobs", "runjob"]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        let EventKind::Tick { job } = &cx.event.kind else {
            return Ok(());
        };
        let Some(job) = cx.group.jobs.iter().find(|j| j.name == *job).cloned() else {
            tracing::warn!(chat = cx.chat(), %job, "a firing for a job the config no longer has");
            return Ok(());
        };
        post(cx, &job).await
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        match invocation.name.as_str() {
            "jobs" => {
                let zone = cx.group.timezone;
                let lines: Vec<String> = cx
                    .group
                    .jobs
                    .iter()
                    .map(|job| {
                        let next = job
                            .schedule
                            .next_after(zone, cx.now)
                            .map(|at| at.with_timezone(&zone).format("%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "—".into());
                        format!("{} · {} · {next}", job.name, job.schedule.source())
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
                    Some(job) => post(cx, &job).await?,
                    None => {
                        let text = cx.text("schedule.no_such_job", context! { name });
                        cx.reply(text);
                    }
                }
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

async fn post(cx: &mut Cx<'_>, job: &Job) -> FeatureResult {
    let zone = cx.group.timezone;
    let local = cx.event.at.with_timezone(&zone);
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
    let yesterday = day_of(
        cx.event.at - Duration::days(1),
        zone,
        cx.group.signin.day_starts_at,
    );
    let (signins_yesterday,): (i64,) = cx
        .tx
        .fetch_one(
            "SELECT COUNT(*) FROM signins WHERE chat_id = $1 AND day = $2",
            args![chat, yesterday],
        )
        .await?;
    // The same firing always picks the same text, so a repeat after a crash says the same.
    let pick = (cx.event.at.timestamp().unsigned_abs() / 60) as usize % job.templates.len().max(1);
    let Some(template) = job.templates.get(pick) else {
        return Ok(());
    };
    let vars = context! {
        date => date.to_string(),
        weekday,
        time => local.format("%H:%M").to_string(),
        chat => cx.event.chat.title.clone(),
        members,
        signins_yesterday,
        workday => calendar::is_workday(date),
    };
    if let Some(text) = cx
        .render(template, vars)
        .filter(|text| !text.trim().is_empty())
    {
        cx.send(text);
    }
    Ok(())
}
