//! Group analytics: /stats [7d|30d|90d] gives admins a chart of the period (a photo) with a
//! summary beside it, /stats me gives a member their own numbers and sign-in calendar.
//!
//! The figures are read from what the other features already record (see `figures`); this
//! feature adds only `member_moves`, the day-by-day record of joins and leaves, written by the
//! always-on member tracking so that switching /stats off and on again leaves no hole.

pub mod chart;
pub mod figures;

use async_trait::async_trait;
use chrono::{Datelike, NaiveTime};
use minijinja::context;

use crate::args;
use crate::core::action::Action;
use crate::core::commands::Invocation;
use crate::core::context::{Cx, Role};
use crate::core::day::{date_of, day_of};
use crate::core::event::{ChatId, User};
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::store::Tx;
use figures::{Calendar, DayStats, Period};

/// How many days /stats me looks back for messages and the rank.
const MEMBER_DAYS: i64 = 30;

pub struct Stats;

#[async_trait]
impl Feature for Stats {
    fn name(&self) -> &'static str {
        "stats"
    }

    fn commands(&self) -> &'static [&'static str] {
        &["stats"]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests!["stats.toml"]
    }

    fn migrations(&self) -> Option<crate::store::Migrations> {
        Some(crate::migrations!(
            "src/features/stats/migrations/sqlite",
            "src/features/stats/migrations/postgres"
        ))
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        let Some(member) = cx.event.actor().cloned() else {
            return Ok(CommandOutcome::Done);
        };
        match parse(invocation.args.trim()) {
            Some(Request::Me) => me(cx, &member).await?,
            Some(Request::Group(days)) if cx.role >= Role::Admin => group(cx, days).await?,
            Some(Request::Group(_)) => {
                let text = cx.text("stats.admins_only", context! {});
                cx.reply(text);
            }
            None => return Ok(CommandOutcome::BadArguments),
        }
        Ok(CommandOutcome::Done)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    Group(i64),
    Me,
}

fn parse(args: &str) -> Option<Request> {
    let lowered = args.to_lowercase();
    match lowered.as_str() {
        "" | "7" | "7d" | "7天" | "week" | "周" | "本周" => Some(Request::Group(7)),
        "30" | "30d" | "30天" | "month" | "月" | "本月" => Some(Request::Group(30)),
        "90" | "90d" | "90天" => Some(Request::Group(90)),
        "me" | "我" | "我的" => Some(Request::Me),
        _ => None,
    }
}

fn calendar(cx: &Cx<'_>) -> Calendar {
    Calendar {
        zone: cx.group.timezone,
        signin_starts_at: cx.group.day_starts_at,
    }
}

/// Today in the group's zone, as days since 0001-01-01.
fn today(cx: &Cx<'_>) -> i64 {
    day_of(cx.event.at, cx.group.timezone, NaiveTime::MIN)
}

fn short_date(day: i64) -> String {
    date_of(day)
        .map(|date| date.format("%m-%d").to_string())
        .unwrap_or_default()
}

/// A share as a whole percentage, or a dash when there is nothing to divide by.
pub fn rate(part: f64, whole: i64) -> String {
    if whole <= 0 {
        return "—".to_owned();
    }
    format!("{:.0}%", part * 100.0 / whole as f64)
}

/// The change from `before` to `now` as a signed percentage.
fn change(before: f64, now: f64) -> String {
    if before <= 0.0 {
        return if now > 0.0 {
            "↑".to_owned()
        } else {
            "±0%".to_owned()
        };
    }
    let percent = ((now - before) * 100.0 / before).round();
    if percent == 0.0 {
        "±0%".to_owned()
    } else {
        format!("{percent:+.0}%")
    }
}

/// The busiest and quietest day among complete ones (today is still going), by active
/// members, then messages; the earlier day wins a tie.
fn best_and_worst(days: &[DayStats], today: i64) -> Option<(&DayStats, &DayStats)> {
    let complete: Vec<&DayStats> = days.iter().filter(|d| d.day < today).collect();
    let key = |d: &&DayStats| (d.active, d.messages);
    let best = complete
        .iter()
        .copied()
        .reduce(|a, b| if key(&b) > key(&a) { b } else { a })?;
    let worst = complete
        .iter()
        .copied()
        .reduce(|a, b| if key(&b) < key(&a) { b } else { a })?;
    Some((best, worst))
}

/// The scheduled report (a job of kind `stats`): the 7 complete days before the firing's day.
pub async fn weekly_report(cx: &mut Cx<'_>) -> FeatureResult {
    let yesterday = today(cx) - 1;
    report(cx, 7, yesterday).await
}

async fn group(cx: &mut Cx<'_>, days: i64) -> FeatureResult {
    let today = today(cx);
    report(cx, days, today).await
}

/// The chart and summary of the `days` days ending with day `last`.
async fn report(cx: &mut Cx<'_>, days: i64, last: i64) -> FeatureResult {
    let first = last - days + 1;
    let calendar = calendar(cx);
    let chat = cx.chat();
    let period = figures::period(cx.tx, chat, calendar, first, last).await?;
    let before = figures::period(cx.tx, chat, calendar, first - days, first - 1).await?;
    let caption = summary(cx, days, &period, &before, today(cx));
    let title = cx.text(
        "stats.chart_title",
        context! { days, from => short_date(first), to => short_date(last) },
    );
    // Drawing is a few milliseconds of CPU and no I/O, so it is done here, inside the
    // handler, and the PNG goes through the outbox like any other reply.
    match chart::render(&title, &period.days) {
        Some(png) => cx.queue(Action::SendPhoto {
            chat,
            file_name: format!("stats-{days}d.png"),
            png,
            caption: Some(caption),
            thread: cx.thread(),
        }),
        None => {
            let note = cx.text("stats.no_chart", context! {});
            cx.reply(format!("{caption}\n{note}"));
        }
    }
    Ok(())
}

/// `today` is the first day that is not over yet (the busiest and quietest are complete days).
fn summary(cx: &Cx<'_>, days: i64, period: &Period, before: &Period, today: i64) -> String {
    let members = period.members_at_end();
    let dau = period.mean(|d| d.active);
    let joins = period.total(|d| d.joins);
    let leaves = period.total(|d| d.leaves);
    let messages = period.total(|d| d.messages);
    let day_line = |d: &DayStats| context! { date => short_date(d.day), active => d.active };
    let (best, worst) = match best_and_worst(&period.days, today) {
        Some((best, worst)) => (Some(day_line(best)), Some(day_line(worst))),
        None => (None, None),
    };
    cx.text(
        "stats.summary",
        context! {
            chat => cx.event.chat.title.clone(),
            days,
            from => period.days.first().map(|d| short_date(d.day)),
            to => period.days.last().map(|d| short_date(d.day)),
            members,
            joins,
            join_rate => rate(joins as f64, period.members_before),
            leaves,
            leave_rate => rate(leaves as f64, period.members_before),
            dau => format!("{dau:.1}"),
            dau_rate => rate(dau, members),
            wau => period.weekly_active,
            wau_rate => rate(period.weekly_active as f64, members),
            messages,
            speakers => period.speakers,
            speak_rate => rate(period.speakers as f64, members),
            signins => period.total(|d| d.signins),
            relay => period.total(|d| d.relay_entries),
            players => period.total(|d| d.game_players),
            participants => period.participants,
            participation_rate => rate(period.participants as f64, members),
            best,
            worst,
            change => context! {
                messages => change(before.total(|d| d.messages) as f64, messages as f64),
                dau => change(before.mean(|d| d.active), dau),
                joins => change(before.total(|d| d.joins) as f64, joins as f64),
            },
        },
    )
}

async fn me(cx: &mut Cx<'_>, member: &User) -> FeatureResult {
    let last = today(cx);
    let first = last - MEMBER_DAYS + 1;
    // The sign-in calendar shows the current month of sign-in days, up to today.
    let signin_today = day_of(cx.event.at, cx.group.timezone, cx.group.day_starts_at);
    let Some(date) = date_of(signin_today) else {
        return Ok(());
    };
    let month_start = signin_today - i64::from(date.day0());
    let stats = figures::member(
        cx.tx,
        cx.chat(),
        member.id,
        first,
        last,
        month_start,
        signin_today,
    )
    .await?;
    let calendar = month_grid(month_start, signin_today, &stats.signin_days);
    let text = cx.text(
        "stats.me",
        context! {
            name => member.display_name(),
            days => MEMBER_DAYS,
            messages => stats.messages,
            days_spoken => stats.days_spoken,
            rank => stats.rank,
            ranked => stats.ranked,
            month => date.format("%Y-%m").to_string(),
            signed => stats.signin_days.len(),
            calendar,
        },
    );
    cx.reply(text);
    Ok(())
}

/// The month so far as rows of a week (Monday first): 🟩 signed in, ⬜ not, ➖ outside the
/// month or still to come.
fn month_grid(month_start: i64, today: i64, signed: &std::collections::HashSet<i64>) -> String {
    let offset = date_of(month_start)
        .map(|d| i64::from(d.weekday().num_days_from_monday()))
        .unwrap_or(0);
    let mut rows = Vec::new();
    let mut day = month_start - offset;
    while day <= today {
        let row: String = (day..day + 7)
            .map(|d| {
                if d < month_start || d > today {
                    "➖"
                } else if signed.contains(&d) {
                    "🟩"
                } else {
                    "⬜"
                }
            })
            .collect();
        rows.push(row);
        day += 7;
    }
    rows.join("\n")
}

/// Records that a member joined or left on the event's local day (called by member tracking,
/// which every group has, so the history has no holes while /stats is switched off).
pub async fn record_move(cx: &mut Cx<'_>, member: &User, joined: bool) -> FeatureResult {
    if member.is_bot {
        return Ok(());
    }
    let day = today(cx);
    let (joined, departed) = if joined { (1, 0) } else { (0, 1) };
    // Handling the same report twice sets the same flag again.
    cx.tx
        .execute(
            "INSERT INTO member_moves (chat_id, day, user_id, joined, departed) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (chat_id, day, user_id) DO UPDATE SET
                 joined = CASE WHEN excluded.joined = 1 THEN 1 ELSE member_moves.joined END,
                 departed = CASE WHEN excluded.departed = 1 THEN 1 ELSE member_moves.departed END",
            args![cx.chat(), day, member.id, joined, departed],
        )
        .await?;
    Ok(())
}

/// Moves the join and leave history to a group's new id (group → supergroup).
pub async fn migrate_moves(tx: &mut Tx, from: ChatId, to: ChatId) -> FeatureResult {
    tx.execute(
        "INSERT INTO member_moves (chat_id, day, user_id, joined, departed)
         SELECT $1, day, user_id, joined, departed FROM member_moves WHERE chat_id = $2
         ON CONFLICT (chat_id, day, user_id) DO UPDATE SET
             joined = CASE WHEN excluded.joined = 1 THEN 1 ELSE member_moves.joined END,
             departed = CASE WHEN excluded.departed = 1 THEN 1 ELSE member_moves.departed END",
        args![to, from],
    )
    .await?;
    tx.execute("DELETE FROM member_moves WHERE chat_id = $1", args![from])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_me_parse_in_both_languages() {
        assert_eq!(parse(""), Some(Request::Group(7)));
        assert_eq!(parse("30D"), Some(Request::Group(30)));
        assert_eq!(parse("90天"), Some(Request::Group(90)));
        assert_eq!(parse("me"), Some(Request::Me));
        assert_eq!(parse("我的"), Some(Request::Me));
        assert_eq!(parse("365d"), None);
        assert_eq!(parse("'; DROP TABLE members; --"), None);
    }

    #[test]
    fn rates_and_changes_read_as_people_expect() {
        assert_eq!(rate(3.0, 12), "25%");
        assert_eq!(rate(3.0, 0), "—");
        assert_eq!(change(10.0, 12.0), "+20%");
        assert_eq!(change(10.0, 5.0), "-50%");
        assert_eq!(change(10.0, 10.0), "±0%");
        assert_eq!(change(0.0, 4.0), "↑");
        assert_eq!(change(0.0, 0.0), "±0%");
    }

    #[test]
    fn the_calendar_starts_on_monday_and_stops_today() {
        // 2026-03-01 is a Sunday.
        let march_first = i64::from(
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                .unwrap()
                .num_days_from_ce(),
        );
        let signed = [march_first, march_first + 2].into_iter().collect();
        let grid = month_grid(march_first, march_first + 3, &signed);
        assert_eq!(grid, "➖➖➖➖➖➖🟩\n⬜🟩⬜➖➖➖➖");
    }
}
