//! A group's numbers per local calendar day, read from what the other features record:
//! `members`, `member_days`, `member_moves`, `signins`, `relay_entries` and `game_moves`.
//!
//! Everything is read in a handful of range queries and bucketed here, so a 90-day chart costs
//! the same few queries as a one-day digest, on SQLite and PostgreSQL alike (time zones are
//! applied in Rust, not in SQL, which the two databases spell differently).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;

use crate::args;
use crate::core::day::{day_of, start_of};
use crate::core::event::{ChatId, UserId};
use crate::store::{StoreResult, Tx};

/// One local day's figures. `members` is a count at the end of the day; the others count
/// what happened during it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayStats {
    /// Days since 0001-01-01 in the group's zone.
    pub day: i64,
    /// Members qunbot knows to be in the group at the end of the day: seen (spoke, pressed,
    /// joined) and not seen leaving. Telegram gives bots no member list, so members who never
    /// did anything since the bot arrived are not counted.
    pub members: i64,
    pub joins: i64,
    pub leaves: i64,
    /// Members who did something qunbot records: spoke, signed in, put their name on a relay
    /// list or played a game.
    pub active: i64,
    /// Members who sent at least one message.
    pub speakers: i64,
    pub messages: i64,
    pub signins: i64,
    /// Lines members added to relay lists (and still there).
    pub relay_entries: i64,
    /// Members who played a word game or guessing round (a move or an answer that counted).
    pub game_players: i64,
}

/// Days `first..=last` plus the distinct members behind them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Period {
    pub days: Vec<DayStats>,
    /// Members at the end of the day before the period: the base for join and leave rates.
    pub members_before: i64,
    /// Distinct members active during the period's last 7 days.
    pub weekly_active: i64,
    /// Distinct members who spoke during the period.
    pub speakers: i64,
    /// Distinct members who signed in, joined a relay list or played a game during the period.
    pub participants: i64,
}

impl Period {
    pub fn total(&self, figure: impl Fn(&DayStats) -> i64) -> i64 {
        self.days.iter().map(figure).sum()
    }

    /// The mean of a daily figure, or 0 for an empty period.
    pub fn mean(&self, figure: impl Fn(&DayStats) -> i64) -> f64 {
        if self.days.is_empty() {
            return 0.0;
        }
        self.total(figure) as f64 / self.days.len() as f64
    }

    pub fn members_at_end(&self) -> i64 {
        self.days
            .last()
            .map_or(self.members_before, |day| day.members)
    }
}

/// Where a group's days begin: its zone and the hour its sign-in day starts.
#[derive(Clone, Copy, Debug)]
pub struct Calendar {
    pub zone: Tz,
    pub signin_starts_at: NaiveTime,
}

impl Calendar {
    /// The local calendar day of a Unix time.
    pub fn day_of_unix(&self, at: i64) -> Option<i64> {
        let at = chrono::DateTime::from_timestamp(at, 0)?;
        Some(day_of(at, self.zone, NaiveTime::MIN))
    }

    /// When local day `day` begins, as a Unix time.
    pub fn start(&self, day: i64) -> Option<i64> {
        start_of(day, self.zone, NaiveTime::MIN).map(|at| at.timestamp())
    }

    /// How far the sign-in day numbers sit from the calendar day they share a date with: a
    /// group whose sign-in day starts at 04:00 counts sign-ins of the same date (as the
    /// digest does).
    pub fn signin_shift(&self, day: i64) -> i64 {
        start_of(day, self.zone, NaiveTime::MIN)
            .map(|midnight| {
                day_of(
                    midnight + Duration::hours(12),
                    self.zone,
                    self.signin_starts_at,
                ) - day
            })
            .unwrap_or(0)
    }
}

/// The figures for local days `first..=last` of a group.
pub async fn period(
    tx: &mut Tx,
    chat: ChatId,
    calendar: Calendar,
    first: i64,
    last: i64,
) -> StoreResult<Period> {
    let (Some(from), Some(to)) = (calendar.start(first), calendar.start(last + 1)) else {
        return Ok(Period::default());
    };
    let mut days: BTreeMap<i64, DayStats> = (first..=last)
        .map(|day| {
            (
                day,
                DayStats {
                    day,
                    ..DayStats::default()
                },
            )
        })
        .collect();
    let mut active: HashMap<i64, HashSet<UserId>> = HashMap::new();
    let mut speakers = HashSet::new();
    let mut participants = HashSet::new();

    let spoke: Vec<(i64, i64, i64)> = tx
        .fetch_all(
            "SELECT day, user_id, messages FROM member_days
             WHERE chat_id = $1 AND day >= $2 AND day <= $3",
            args![chat, first, last],
        )
        .await?;
    for (day, user, messages) in spoke {
        if let Some(stats) = days.get_mut(&day) {
            stats.speakers += 1;
            stats.messages += messages;
            active.entry(day).or_default().insert(user);
            speakers.insert(user);
        }
    }

    let shift = calendar.signin_shift(last);
    let signed: Vec<(i64, i64)> = tx
        .fetch_all(
            "SELECT day, user_id FROM signins WHERE chat_id = $1 AND day >= $2 AND day <= $3",
            args![chat, first + shift, last + shift],
        )
        .await?;
    for (signin_day, user) in signed {
        let day = signin_day - shift;
        if let Some(stats) = days.get_mut(&day) {
            stats.signins += 1;
            active.entry(day).or_default().insert(user);
            participants.insert(user);
        }
    }

    // Lines taken over from a pasted WeChat list have no member behind them.
    let entries: Vec<(i64, i64)> = tx
        .fetch_all(
            "SELECT e.created_at, e.user_id FROM relay_entries e
             JOIN relay_lists l ON l.id = e.list_id
             WHERE l.chat_id = $1 AND e.user_id IS NOT NULL
               AND e.created_at >= $2 AND e.created_at < $3",
            args![chat, from, to],
        )
        .await?;
    for (at, user) in entries {
        let Some(day) = calendar.day_of_unix(at) else {
            continue;
        };
        if let Some(stats) = days.get_mut(&day) {
            stats.relay_entries += 1;
            active.entry(day).or_default().insert(user);
            participants.insert(user);
        }
    }

    let played: Vec<(i64, i64)> = tx
        .fetch_all(
            "SELECT MIN(m.at), m.user_id FROM game_moves m JOIN games g ON g.id = m.game_id
             WHERE g.chat_id = $1 AND m.by_bot = 0 AND m.at >= $2 AND m.at < $3
             GROUP BY m.game_id, m.user_id",
            args![chat, from, to],
        )
        .await?;
    let mut players: HashMap<i64, HashSet<UserId>> = HashMap::new();
    for (at, user) in played {
        let Some(day) = calendar.day_of_unix(at) else {
            continue;
        };
        if days.contains_key(&day) {
            players.entry(day).or_default().insert(user);
            active.entry(day).or_default().insert(user);
            participants.insert(user);
        }
    }
    for (day, users) in players {
        if let Some(stats) = days.get_mut(&day) {
            stats.game_players = users.len() as i64;
        }
    }

    let moves: Vec<(i64, i64, i64)> = tx
        .fetch_all(
            "SELECT day, CAST(SUM(joined) AS BIGINT), CAST(SUM(departed) AS BIGINT)
             FROM member_moves WHERE chat_id = $1 AND day >= $2 AND day <= $3 GROUP BY day",
            args![chat, first, last],
        )
        .await?;
    for (day, joins, leaves) in moves {
        if let Some(stats) = days.get_mut(&day) {
            stats.joins = joins;
            stats.leaves = leaves;
        }
    }

    let presence = Presence::load(tx, chat).await?;
    for stats in days.values_mut() {
        stats.members = calendar
            .start(stats.day + 1)
            .map_or(0, |end| presence.at(end));
        stats.active = active.get(&stats.day).map_or(0, |users| users.len() as i64);
    }
    let members_before = calendar.start(first).map_or(0, |end| presence.at(end));
    let weekly_active = (last - 6..=last)
        .filter_map(|day| active.get(&day))
        .flatten()
        .collect::<HashSet<_>>()
        .len() as i64;

    Ok(Period {
        days: days.into_values().collect(),
        members_before,
        weekly_active,
        speakers: speakers.len() as i64,
        participants: participants.len() as i64,
    })
}

/// When each known member arrived and, if they are gone, left.
struct Presence {
    spans: Vec<(i64, Option<i64>)>,
}

impl Presence {
    async fn load(tx: &mut Tx, chat: ChatId) -> StoreResult<Presence> {
        let rows: Vec<(i64, Option<i64>, Option<i64>)> = tx
            .fetch_all(
                "SELECT first_seen, joined_at, left_at FROM members WHERE chat_id = $1 AND is_bot = 0",
                args![chat],
            )
            .await?;
        let spans = rows
            .into_iter()
            .map(|(first_seen, joined_at, left_at)| {
                (joined_at.map_or(first_seen, |j| j.min(first_seen)), left_at)
            })
            .collect();
        Ok(Presence { spans })
    }

    /// How many were in the group just before `at`.
    fn at(&self, at: i64) -> i64 {
        self.spans
            .iter()
            .filter(|(arrived, left)| *arrived < at && left.is_none_or(|left| left >= at))
            .count() as i64
    }
}

/// One member's own numbers over days `first..=last`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberStats {
    pub messages: i64,
    pub days_spoken: i64,
    /// 1 for the most messages in the period; `None` when the member did not speak.
    pub rank: Option<i64>,
    /// How many members spoke in the period.
    pub ranked: i64,
    /// Sign-in days (in sign-in day numbers) from the start of the calendar month shown.
    pub signin_days: HashSet<i64>,
}

pub async fn member(
    tx: &mut Tx,
    chat: ChatId,
    user: UserId,
    first: i64,
    last: i64,
    signins_from: i64,
    signins_to: i64,
) -> StoreResult<MemberStats> {
    // PostgreSQL sums BIGINTs as NUMERIC: cast back.
    let totals: Vec<(i64, i64)> = tx
        .fetch_all(
            "SELECT user_id, CAST(SUM(messages) AS BIGINT) FROM member_days
             WHERE chat_id = $1 AND day >= $2 AND day <= $3 GROUP BY user_id",
            args![chat, first, last],
        )
        .await?;
    let mine = totals
        .iter()
        .find(|(who, _)| *who == user)
        .map(|(_, messages)| *messages);
    let rank = mine.map(|mine| 1 + totals.iter().filter(|(_, n)| *n > mine).count() as i64);
    let (days_spoken,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM member_days
             WHERE chat_id = $1 AND user_id = $2 AND day >= $3 AND day <= $4",
            args![chat, user, first, last],
        )
        .await?;
    let signed: Vec<(i64,)> = tx
        .fetch_all(
            "SELECT day FROM signins WHERE chat_id = $1 AND user_id = $2 AND day >= $3 AND day <= $4",
            args![chat, user, signins_from, signins_to],
        )
        .await?;
    Ok(MemberStats {
        messages: mine.unwrap_or(0),
        days_spoken,
        rank,
        ranked: totals.len() as i64,
        signin_days: signed.into_iter().map(|(day,)| day).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_counts_who_arrived_before_and_had_not_left() {
        let presence = Presence {
            spans: vec![(10, None), (20, Some(30)), (40, None)],
        };
        assert_eq!(presence.at(10), 0);
        assert_eq!(presence.at(11), 1);
        assert_eq!(presence.at(25), 2);
        // Someone who left at 30 was still there just before 30, and gone after.
        assert_eq!(presence.at(30), 2);
        assert_eq!(presence.at(31), 1);
        assert_eq!(presence.at(41), 2);
    }

    #[test]
    fn a_signin_day_starting_at_four_shares_its_date() {
        let calendar = Calendar {
            zone: "Asia/Shanghai".parse().unwrap(),
            signin_starts_at: NaiveTime::from_hms_opt(4, 0, 0).unwrap(),
        };
        assert_eq!(calendar.signin_shift(739_000), 0);
        let evening = Calendar {
            signin_starts_at: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
            ..calendar
        };
        assert_eq!(evening.signin_shift(739_000), -1);
    }
}
