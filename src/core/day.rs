//! A group's days: its local calendar day, starting at its configured hour (the sign-in day,
//! which stats, levels, digests and member activity count by too). Days are counted as
//! calendar dates, so month ends, year ends and DST changes need no special case.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The sign-in day an instant belongs to, as days since 0001-01-01.
pub fn day_of(at: DateTime<Utc>, zone: Tz, starts_at: NaiveTime) -> i64 {
    let local = at.with_timezone(&zone).naive_local();
    let shifted = local - (starts_at - NaiveTime::MIN);
    i64::from(shifted.date().num_days_from_ce())
}

pub fn date_of(day: i64) -> Option<NaiveDate> {
    i32::try_from(day)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// When sign-in day `day` begins, as an instant (the first valid local time at or after the
/// start hour, should DST skip it).
pub fn start_of(day: i64, zone: Tz, starts_at: NaiveTime) -> Option<DateTime<Utc>> {
    let local = date_of(day)?.and_time(starts_at);
    (0..4)
        .find_map(|hours| {
            zone.from_local_datetime(&(local + Duration::hours(hours)))
                .earliest()
        })
        .map(|at| at.with_timezone(&Utc))
}

/// The first day of the week (Monday) and of the month that `day` is in.
pub fn week_and_month_start(day: i64) -> Option<(i64, i64)> {
    let date = date_of(day)?;
    let monday = day - i64::from(date.weekday().num_days_from_monday());
    let first = day - i64::from(date.day0());
    Some((monday, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_day_is_the_groups_local_day() {
        let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
        let midnight = NaiveTime::MIN;
        // 23:59:58 and 00:00:03 in Shanghai are different days, whatever the UTC date says.
        let late = day_of(at("2026-03-01T15:59:58Z"), shanghai, midnight);
        let early = day_of(at("2026-03-01T16:00:03Z"), shanghai, midnight);
        assert_eq!(early - late, 1);
        assert_eq!(date_of(late).unwrap().to_string(), "2026-03-01");
    }

    #[test]
    fn a_day_that_starts_at_four_keeps_night_owls_on_yesterday() {
        let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
        let four = NaiveTime::from_hms_opt(4, 0, 0).unwrap();
        let day = day_of(at("2026-03-01T19:30:00Z"), shanghai, four); // 03:30 local on 03-02
        assert_eq!(date_of(day).unwrap().to_string(), "2026-03-01");
        let start = start_of(day + 1, shanghai, four).unwrap();
        assert_eq!(start, at("2026-03-01T20:00:00Z"));
    }

    #[test]
    fn days_run_on_across_year_ends_and_dst_changes() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        let midnight = NaiveTime::MIN;
        let dec31 = day_of(at("2026-12-31T12:00:00Z"), new_york, midnight);
        let jan1 = day_of(at("2027-01-01T12:00:00Z"), new_york, midnight);
        assert_eq!(jan1 - dec31, 1);
        // 2026-03-08 has 23 hours in New York; 2026-11-01 has 25.
        let before = day_of(at("2026-03-08T04:30:00Z"), new_york, midnight); // 23:30 on 03-07
        let after = day_of(at("2026-03-09T03:30:00Z"), new_york, midnight); // 23:30 on 03-08
        assert_eq!(after - before, 1);
        let fall = day_of(at("2026-11-02T04:30:00Z"), new_york, midnight); // 23:30 on 11-01
        assert_eq!(date_of(fall).unwrap().to_string(), "2026-11-01");
    }

    #[test]
    fn weeks_start_on_monday() {
        let day = i64::from(
            NaiveDate::from_ymd_opt(2026, 11, 26)
                .unwrap()
                .num_days_from_ce(),
        ); // Thursday
        let (monday, first) = week_and_month_start(day).unwrap();
        assert_eq!(date_of(monday).unwrap().to_string(), "2026-11-23");
        assert_eq!(date_of(first).unwrap().to_string(), "2026-11-01");
    }
}
