//! The day in numbers (日报): messages, speakers, the top talkers, newcomers and leavers,
//! sign-ins. A digest posted in the morning covers yesterday; from noon on, today so far.

use chrono::{NaiveTime, Timelike};
use minijinja::context;

use crate::args;
use crate::core::context::Cx;
use crate::core::day::day_of;
use crate::core::feature::FeatureResult;
use crate::features::stats::{self, figures::Calendar};

/// How many top talkers the digest names.
const TOP: i64 = 3;

/// The figures for one local day.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DayFigures {
    pub messages: i64,
    pub speakers: i64,
    /// (name, messages), most first.
    pub top: Vec<(String, i64)>,
    pub joined: i64,
    pub left: i64,
    pub signins: i64,
    /// Relay lists started, and lines added to any list, that day.
    pub relay_lists: i64,
    pub relay_entries: i64,
    /// Games and guessing rounds started, and the members who played (moved or answered).
    pub games: i64,
    pub players: i64,
}

/// The day a digest fired at `cx.event.at` reports on.
pub fn covered_day(cx: &Cx<'_>) -> i64 {
    let zone = cx.group.timezone;
    let local = cx.event.at.with_timezone(&zone);
    let today = day_of(cx.event.at, zone, NaiveTime::MIN);
    if local.hour() < 12 { today - 1 } else { today }
}

pub async fn figures(cx: &mut Cx<'_>, day: i64) -> FeatureResult<DayFigures> {
    let chat = cx.chat();
    // The counts are the statistics' own, so the digest and /stats never disagree.
    let calendar = Calendar {
        zone: cx.group.timezone,
        signin_starts_at: cx.group.day_starts_at,
    };
    let period = stats::figures::period(cx.tx, chat, calendar, day, day).await?;
    let Some(counts) = period.days.first() else {
        return Ok(DayFigures::default());
    };
    let top: Vec<(String, i64)> = cx
        .tx
        .fetch_all(
            "SELECT m.display_name, d.messages FROM member_days d
             JOIN members m ON m.chat_id = d.chat_id AND m.user_id = d.user_id
             WHERE d.chat_id = $1 AND d.day = $2
             ORDER BY d.messages DESC, d.user_id LIMIT $3",
            args![chat, day, TOP],
        )
        .await?;
    // Lists and games started that day; the lines and players are the statistics' counts.
    let (Some(from), Some(to)) = (calendar.start(day), calendar.start(day + 1)) else {
        return Ok(DayFigures::default());
    };
    let (relay_lists, games): (i64, i64) = cx
        .tx
        .fetch_one(
            "SELECT (SELECT COUNT(*) FROM relay_lists
                     WHERE chat_id = $1 AND created_at >= $2 AND created_at < $3),
                    (SELECT COUNT(*) FROM games
                     WHERE chat_id = $1 AND started_at >= $2 AND started_at < $3)",
            args![chat, from, to],
        )
        .await?;
    Ok(DayFigures {
        messages: counts.messages,
        speakers: counts.speakers,
        top,
        joined: counts.joins,
        left: counts.leaves,
        signins: counts.signins,
        relay_lists,
        relay_entries: counts.relay_entries,
        games,
        players: counts.game_players,
    })
}

pub async fn post(cx: &mut Cx<'_>, template: Option<&String>) -> FeatureResult {
    let day = covered_day(cx);
    let figures = figures(cx, day).await?;
    let date = crate::core::day::date_of(day)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let top: Vec<_> = figures
        .top
        .iter()
        .map(|(name, count)| context! { name, count })
        .collect();
    let vars = context! {
        date,
        chat => cx.event.chat.title.clone(),
        messages => figures.messages,
        speakers => figures.speakers,
        top,
        joined => figures.joined,
        left => figures.left,
        signins => figures.signins,
        relay_lists => figures.relay_lists,
        relay_entries => figures.relay_entries,
        games => figures.games,
        players => figures.players,
    };
    let text = match template {
        Some(template) => cx.render(template, vars),
        None => Some(cx.text("schedule.digest", vars)),
    };
    if let Some(text) = text.filter(|text| !text.trim().is_empty()) {
        cx.send(text);
    }
    Ok(())
}
