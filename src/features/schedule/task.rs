//! Recurring group tasks (群任务): a job posts the task with a ✅ button; members press it when
//! done (once each, kept in the database); at the deadline the button goes and a summary names
//! who did it. The task message is edited in place as people press, so a busy group gets one
//! message, not one per member.

use chrono::{DateTime, Duration};
use minijinja::context;

use crate::args;
use crate::core::action::{Action, Button};
use crate::core::context::Cx;
use crate::core::event::User;
use crate::core::feature::FeatureResult;

const FEATURE: &str = "schedule";
/// Names listed on the task message before "and N more".
const NAMES_SHOWN: usize = 30;

fn key(id: i64) -> String {
    format!("task:{id}")
}

/// Posts the task of `job` (text already rendered) and sets its deadline.
pub async fn announce(
    cx: &mut Cx<'_>,
    job: &str,
    text: String,
    deadline: Duration,
) -> FeatureResult {
    let chat = cx.chat();
    let posted_at = cx.event.at.timestamp();
    let due = cx.event.at + deadline;
    let inserted: Option<(i64,)> = cx
        .tx
        .fetch_optional(
            "INSERT INTO tasks (chat_id, job, posted_at, deadline_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (chat_id, job, posted_at) DO NOTHING RETURNING id",
            args![chat, job, posted_at, due.timestamp()],
        )
        .await?;
    let Some((id,)) = inserted else {
        return Ok(());
    };
    let (body, buttons) = render(cx, id, &text, &[], 0, Some(due))?;
    cx.send_keyed(key(id), body, buttons);
    cx.set_timer(FEATURE, &key(id), due, &id.to_string())
        .await?;
    Ok(())
}

/// The task message: its text, who is done, and the button while it is open.
fn render(
    cx: &Cx<'_>,
    id: i64,
    text: &str,
    names: &[String],
    count: usize,
    open_until: Option<DateTime<chrono::Utc>>,
) -> FeatureResult<(String, Vec<Vec<Button>>)> {
    let deadline = open_until.map(|at| {
        at.with_timezone(&cx.group.timezone)
            .format("%m-%d %H:%M")
            .to_string()
    });
    let more = count.saturating_sub(names.len());
    let body = cx.text(
        "schedule.task",
        context! { text, names => names.to_vec(), count, more, deadline, closed => open_until.is_none() },
    );
    let buttons = match open_until {
        Some(_) => {
            let label = cx.text("schedule.task_button", context! { count });
            Button::new(label, format!("sched:task:{id}"))
                .map(|b| vec![vec![b]])
                .unwrap_or_default()
        }
        None => Vec::new(),
    };
    Ok((body, buttons))
}

struct TaskRow {
    text_job: String,
    posted_at: i64,
    deadline_at: i64,
    closed: bool,
}

async fn load(cx: &mut Cx<'_>, id: i64) -> FeatureResult<Option<TaskRow>> {
    let row: Option<(String, i64, i64, Option<i64>)> = cx
        .tx
        .fetch_optional(
            "SELECT job, posted_at, deadline_at, closed_at FROM tasks WHERE id = $1 AND chat_id = $2",
            args![id, cx.chat()],
        )
        .await?;
    Ok(row.map(|(job, posted_at, deadline_at, closed_at)| TaskRow {
        text_job: job,
        posted_at,
        deadline_at,
        closed: closed_at.is_some(),
    }))
}

async fn done_names(cx: &mut Cx<'_>, id: i64) -> FeatureResult<(Vec<String>, usize)> {
    let rows: Vec<(String,)> = cx
        .tx
        .fetch_all(
            "SELECT name FROM task_done WHERE task_id = $1 ORDER BY at, user_id",
            args![id],
        )
        .await?;
    let count = rows.len();
    Ok((
        rows.into_iter().take(NAMES_SHOWN).map(|(n,)| n).collect(),
        count,
    ))
}

/// The task's text as first posted (the job's template rendered at the posting time).
async fn task_text(cx: &mut Cx<'_>, job: &str, posted_at: i64) -> FeatureResult<String> {
    let Some(job) = cx.group.jobs.iter().find(|j| j.name == job).cloned() else {
        return Ok(job.to_owned());
    };
    let at = DateTime::from_timestamp(posted_at, 0).unwrap_or(cx.event.at);
    Ok(
        super::render_job_text(cx, &job, at, minijinja::Value::UNDEFINED)
            .await?
            .unwrap_or_else(|| job.name.clone()),
    )
}

/// A member pressed ✅.
pub async fn press(cx: &mut Cx<'_>, from: &User, callback_id: &str, id: i64) -> FeatureResult {
    let Some(task) = load(cx, id).await? else {
        return Ok(());
    };
    let answer = |cx: &mut Cx<'_>, key: &str| {
        let text = cx.text(key, context! {});
        cx.queue(Action::AnswerButton {
            chat: cx.chat(),
            callback_id: callback_id.to_owned(),
            text: Some(text),
            alert: false,
        });
    };
    if task.closed || cx.event.at.timestamp() >= task.deadline_at {
        answer(cx, "schedule.task_closed");
        return Ok(());
    }
    let added = cx
        .tx
        .execute(
            "INSERT INTO task_done (task_id, user_id, name, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (task_id, user_id) DO NOTHING",
            args![id, from.id, from.display_name(), cx.event.at.timestamp()],
        )
        .await?;
    if added == 0 {
        answer(cx, "schedule.task_already");
        return Ok(());
    }
    answer(cx, "schedule.task_recorded");
    let (names, count) = done_names(cx, id).await?;
    let text = task_text(cx, &task.text_job, task.posted_at).await?;
    let due = DateTime::from_timestamp(task.deadline_at, 0);
    let (body, buttons) = render(cx, id, &text, &names, count, due)?;
    cx.edit_keyed(key(id), body, buttons);
    Ok(())
}

/// The deadline: the button goes, and a summary names who did it.
pub async fn close(cx: &mut Cx<'_>, id: i64) -> FeatureResult {
    let closed = cx
        .tx
        .execute(
            "UPDATE tasks SET closed_at = $1 WHERE id = $2 AND chat_id = $3 AND closed_at IS NULL",
            args![cx.event.at.timestamp(), id, cx.chat()],
        )
        .await?;
    if closed == 0 {
        return Ok(());
    }
    let Some(task) = load(cx, id).await? else {
        return Ok(());
    };
    let (names, count) = done_names(cx, id).await?;
    let text = task_text(cx, &task.text_job, task.posted_at).await?;
    let (body, _) = render(cx, id, &text, &names, count, None)?;
    cx.edit_keyed(key(id), body, Vec::new());
    let more = count.saturating_sub(names.len());
    let summary = cx.text(
        "schedule.task_summary",
        context! { job => task.text_job, names, count, more },
    );
    cx.send(summary);
    Ok(())
}
