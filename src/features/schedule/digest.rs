//! The day in numbers (日报): messages, speakers, the top talkers, newcomers and leavers,
//! sign-ins. A digest posted in the morning covers yesterday; from noon on, today so far.

use chrono::{Duration, NaiveTime, Timelike};
use minijinja::context;

use crate::args;
use crate::core::context::Cx;
use crate::core::feature::FeatureResult;
use crate::features::signin::{day_of, start_of};

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
    let zone = cx.group.timezone;
    let (Some(from), Some(to)) = (
        start_of(day, zone, NaiveTime::MIN),
        start_of(day + 1, zone, NaiveTime::MIN),
    ) else {
        return Ok(DayFigures::default());
    };
    // PostgreSQL sums BIGINTs as NUMERIC: cast back.
    let (messages, speakers): (i64, i64) = cx
        .tx
        .fetch_one(
            "SELECT CAST(COALESCE(SUM(messages), 0) AS BIGINT), COUNT(*) FROM member_days
             WHERE chat_id = $1 AND day = $2",
            args![chat, day],
        )
        .await?;
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
    let (joined, left): (i64, i64) = cx
        .tx
        .fetch_one(
            "SELECT CAST(COALESCE(SUM(CASE WHEN joined_at >= $2 AND joined_at < $3 THEN 1 ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN left_at >= $2 AND left_at < $3 THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM members WHERE chat_id = $1 AND is_bot = 0",
            args![chat, from.timestamp(), to.timestamp()],
        )
        .await?;
    // Sign-in days may start later than midnight; the digest counts the sign-in day of the
    // same date.
    let signin_day = day_of(
        from + Duration::hours(12),
        zone,
        cx.group.signin.day_starts_at,
    );
    let (signins,): (i64,) = cx
        .tx
        .fetch_one(
            "SELECT COUNT(*) FROM signins WHERE chat_id = $1 AND day = $2",
            args![chat, signin_day],
        )
        .await?;
    let (relay_lists, relay_entries): (i64, i64) = cx
        .tx
        .fetch_one(
            "SELECT (SELECT COUNT(*) FROM relay_lists
                     WHERE chat_id = $1 AND created_at >= $2 AND created_at < $3),
                    (SELECT COUNT(*) FROM relay_entries e JOIN relay_lists l ON l.id = e.list_id
                     WHERE l.chat_id = $1 AND e.created_at >= $2 AND e.created_at < $3)",
            args![chat, from.timestamp(), to.timestamp()],
        )
        .await?;
    let (games, players): (i64, i64) = cx
        .tx
        .fetch_one(
            "SELECT (SELECT COUNT(*) FROM games
                     WHERE chat_id = $1 AND started_at >= $2 AND started_at < $3),
                    (SELECT COUNT(DISTINCT m.user_id) FROM game_moves m JOIN games g ON g.id = m.game_id
                     WHERE g.chat_id = $1 AND m.by_bot = 0 AND m.at >= $2 AND m.at < $3)",
            args![chat, from.timestamp(), to.timestamp()],
        )
        .await?;
    Ok(DayFigures {
        games,
        players,
        relay_lists,
        relay_entries,
        messages,
        speakers,
        top,
        joined,
        left,
        signins,
    })
}

pub async fn post(cx: &mut Cx<'_>, template: Option<&String>) -> FeatureResult {
    let day = covered_day(cx);
    let figures = figures(cx, day).await?;
    let date = crate::features::signin::date_of(day)
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
