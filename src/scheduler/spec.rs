//! When a job fires: friendly presets (每天 08:00, 工作日 08:30, 周末 10:00, 每周一 09:00,
//! 每月1日 09:00) or the 5-field crontab expressions operators know (minute hour day month
//! weekday, 0 = Sunday), evaluated on the group's wall clock.
//!
//! The `cron` crate does the matching, with two corrections (rust-stack-guide.md §4): it wants a
//! seconds field and numbers weekdays 1 = Sunday, so expressions are translated; and in its own
//! time-zone mode it skips a run that falls in a DST gap and runs twice in a fold. Here it
//! iterates wall-clock times instead, and each wall time becomes one instant: the earlier one in
//! a fold, the moment the clocks jump to in a gap. A daily job fires exactly once on both change days.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::calendar::WorkCalendar;

/// Jobs may not fire more often than this: a typo must not make the bot post every minute.
pub const MIN_INTERVAL: Duration = Duration::minutes(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DayFilter {
    Every,
    /// Chinese workdays, with 调休 make-up days.
    Workdays,
    /// Weekends and public holidays.
    OffDays,
}

#[derive(Clone, Debug)]
pub struct JobSchedule {
    cron: cron::Schedule,
    days: DayFilter,
    source: String,
    /// Which days are workdays: the shipped calendar and the operator's additions.
    calendar: Arc<WorkCalendar>,
}

impl PartialEq for JobSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

const WEEKDAYS: [(&str, &str); 8] = [
    ("一", "Mon"),
    ("二", "Tue"),
    ("三", "Wed"),
    ("四", "Thu"),
    ("五", "Fri"),
    ("六", "Sat"),
    ("日", "Sun"),
    ("天", "Sun"),
];

impl FromStr for JobSchedule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (cron_text, days) = translate(text)?;
        // The crate's own message shows its 6-field form and its own bounds; ours names the
        // field the operator wrote. Whatever still slips past gets the general hint.
        let cron = cron::Schedule::from_str(&cron_text).map_err(|_| unknown(text))?;
        let schedule = JobSchedule {
            cron,
            days,
            source: text.to_owned(),
            calendar: Arc::default(),
        };
        schedule.check_interval()?;
        Ok(schedule)
    }
}

/// A preset or a 5-field expression → the `cron` crate's 6-field form, and a day filter.
fn translate(text: &str) -> Result<(String, DayFilter), String> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    if let [preset, time] = parts[..] {
        let (hour, minute) =
            parse_time(time).ok_or_else(|| format!("`{time}` is not a time such as 08:00"))?;
        let at = |dom: &str, dow: &str| format!("0 {minute} {hour} {dom} * {dow}");
        let preset_lower = preset.to_lowercase();
        return match preset_lower.as_str() {
            "每天" | "daily" => Ok((at("*", "*"), DayFilter::Every)),
            "工作日" | "workdays" => Ok((at("*", "*"), DayFilter::Workdays)),
            "休息日" | "offdays" => Ok((at("*", "*"), DayFilter::OffDays)),
            "周末" | "weekends" => Ok((at("*", "Sat,Sun"), DayFilter::Every)),
            _ => {
                if let Some(day) = preset
                    .strip_prefix("每周")
                    .or_else(|| preset.strip_prefix("周"))
                {
                    let name = WEEKDAYS
                        .iter()
                        .find(|(cn, _)| *cn == day)
                        .map(|(_, en)| *en)
                        .ok_or_else(|| format!("`{preset}`: expected 每周一 … 每周日"))?;
                    return Ok((at("*", name), DayFilter::Every));
                }
                if let Some(day) = preset
                    .strip_prefix("每月")
                    .and_then(|d| d.strip_suffix(['日', '号']))
                {
                    let day: u32 = day
                        .parse()
                        .ok()
                        .filter(|d| (1..=31).contains(d))
                        .ok_or_else(|| {
                            format!("`{preset}`: expected a day of the month, such as 每月1日")
                        })?;
                    return Ok((at(&day.to_string(), "*"), DayFilter::Every));
                }
                Err(unknown(text))
            }
        };
    }
    if let [minute, hour, dom, month, dow] = parts[..] {
        for (field, value, range) in [
            ("minute", minute, 0..=59),
            ("hour", hour, 0..=23),
            ("day of the month", dom, 1..=31),
            ("month", month, 1..=12),
        ] {
            check_field(text, field, value, range)?;
        }
        let dow = translate_weekdays(dow)
            .ok_or_else(|| format!("`{dow}`: weekdays are 0-7 (0 and 7 = Sunday) or names"))?;
        return Ok((
            format!("0 {minute} {hour} {dom} {month} {dow}"),
            DayFilter::Every,
        ));
    }
    Err(unknown(text))
}

/// A crontab field's numbers must lie in its range: `0 25 * * *` names the hour, in the form
/// the operator wrote, rather than the crate's 6-field rewrite. Names (`mon`, `jan`) and other
/// shapes are left to the crate.
fn check_field(
    text: &str,
    field: &str,
    value: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<(), String> {
    for item in value.split(',') {
        let (positions, step) = match item.split_once('/') {
            Some((positions, step)) => (positions, Some(step)),
            None => (item, None),
        };
        for position in positions.split('-') {
            if let Ok(number) = position.parse::<u32>()
                && !range.contains(&number)
            {
                return Err(out_of_range(text, field, position, &range));
            }
        }
        if let Some(step) = step
            && step
                .parse::<u32>()
                .is_ok_and(|n| n == 0 || n > *range.end())
        {
            return Err(out_of_range(text, field, item, &range));
        }
    }
    Ok(())
}

fn out_of_range(
    text: &str,
    field: &str,
    number: &str,
    range: &std::ops::RangeInclusive<u32>,
) -> String {
    format!(
        "`{text}`: the {field} is {number}, but must be {} to {} (fields: minute hour day month weekday)",
        range.start(),
        range.end()
    )
}

fn unknown(text: &str) -> String {
    format!(
        "`{text}` is not a schedule: use 每天 08:00, 工作日 08:30, 周末 10:00, 每周一 09:00, 每月1日 09:00 \
         or a 5-field cron expression such as `30 8 * * 1-5`"
    )
}

fn parse_time(text: &str) -> Option<(u32, u32)> {
    let (hour, minute) = text
        .replace('：', ":")
        .split_once(':')
        .map(|(h, m)| (h.to_owned(), m.to_owned()))?;
    let (hour, minute) = (hour.parse().ok()?, minute.parse().ok()?);
    (hour < 24 && minute < 60).then_some((hour, minute))
}

/// crontab weekdays (0 or 7 = Sunday) → the `cron` crate's names, which cannot be misread.
fn translate_weekdays(field: &str) -> Option<String> {
    const NAMES: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if field == "*" || field == "?" {
        return Some(field.to_owned());
    }
    let name = |part: &str| -> Option<String> {
        match part.parse::<usize>() {
            Ok(n) => NAMES.get(n).map(|s| (*s).to_owned()),
            Err(_) => Some(part.to_owned()),
        }
    };
    field
        .split(',')
        .map(|item| match item.split_once('-') {
            Some((from, to)) => Some(format!("{}-{}", name(from)?, name(to)?)),
            None => name(item),
        })
        .collect::<Option<Vec<_>>>()
        .map(|items| items.join(","))
}

impl JobSchedule {
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The schedule, counting workdays by `calendar` (with the operator's holiday additions).
    pub fn with_calendar(mut self, calendar: Arc<WorkCalendar>) -> JobSchedule {
        self.calendar = calendar;
        self
    }

    /// The first firing strictly after `after`, in `zone`.
    pub fn next_after(&self, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wall_after = after.with_timezone(&zone).naive_local();
        // Iterating in UTC over wall-clock values keeps the wall clock free of DST jumps.
        let walls = self.cron.after(&Utc.from_utc_datetime(&wall_after));
        walls
            .take(5_000)
            .map(|wall| wall.naive_utc())
            .filter(|wall| self.allows(wall.date()))
            .filter_map(|wall| instant(zone, wall))
            .find(|at| *at > after)
    }

    fn allows(&self, date: NaiveDate) -> bool {
        match self.days {
            DayFilter::Every => true,
            DayFilter::Workdays => self.calendar.is_workday(date),
            DayFilter::OffDays => !self.calendar.is_workday(date),
        }
    }

    fn check_interval(&self) -> Result<(), String> {
        let zone = chrono_tz::UTC;
        let mut at = Utc
            .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let mut previous: Option<DateTime<Utc>> = None;
        for _ in 0..50 {
            let Some(next) = self.next_after(zone, at) else {
                break;
            };
            if let Some(previous) = previous
                && next - previous < MIN_INTERVAL
            {
                return Err(format!(
                    "`{}` fires more often than every {} minutes",
                    self.source,
                    MIN_INTERVAL.num_minutes()
                ));
            }
            previous = Some(next);
            at = next;
        }
        Ok(())
    }
}

/// One instant for a wall-clock time: the earlier of two in a fold; in a gap, the moment the
/// clocks jump to.
fn instant(zone: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    // A gap is at most a couple of hours; its end is the first minute that exists again.
    (0..=180).find_map(|shift| {
        zone.from_local_datetime(&(wall + Duration::minutes(shift)))
            .earliest()
            .map(|at| at.with_timezone(&Utc))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fires(schedule: &str, zone: &str, from: &str, count: usize) -> Vec<String> {
        let schedule: JobSchedule = schedule.parse().unwrap();
        let zone: Tz = zone.parse().unwrap();
        let mut after = at(from);
        let mut out = Vec::new();
        for _ in 0..count {
            after = schedule.next_after(zone, after).unwrap();
            out.push(
                after
                    .with_timezone(&zone)
                    .format("%Y-%m-%d %a %H:%M %Z")
                    .to_string(),
            );
        }
        out
    }

    #[test]
    fn a_field_out_of_range_is_named_in_the_form_the_operator_wrote() {
        let error = "0 25 * * *".parse::<JobSchedule>().unwrap_err();
        assert_eq!(
            error,
            "`0 25 * * *`: the hour is 25, but must be 0 to 23 (fields: minute hour day month weekday)"
        );
        let error = "*/0 8 * * *".parse::<JobSchedule>().unwrap_err();
        assert!(error.contains("the minute is */0"), "{error}");
        let error = "0 8 32 * *".parse::<JobSchedule>().unwrap_err();
        assert!(error.contains("day of the month is 32"), "{error}");
        let error = "0 8 * 13 *".parse::<JobSchedule>().unwrap_err();
        assert!(!error.contains("0 0 8"), "no 6-field rewrite: {error}");
        for fine in ["*/15 8-18 * * 1-5", "0 8,20 1 jan,jul *", "59 23 31 12 7"] {
            assert!(fine.parse::<JobSchedule>().is_ok(), "{fine}");
        }
    }

    #[test]
    fn a_daily_job_fires_once_on_both_dst_change_days_in_new_york() {
        // 2026-03-08: 02:00 → 03:00; 2026-11-01: 02:00 → 01:00.
        assert_eq!(
            fires("每天 02:30", "America/New_York", "2026-03-07T12:00:00Z", 3),
            [
                "2026-03-08 Sun 03:00 EDT",
                "2026-03-09 Mon 02:30 EDT",
                "2026-03-10 Tue 02:30 EDT"
            ]
        );
        assert_eq!(
            fires("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3),
            [
                "2026-11-01 Sun 01:30 EDT",
                "2026-11-02 Mon 01:30 EST",
                "2026-11-03 Tue 01:30 EST"
            ]
        );
    }

    #[test]
    fn a_daily_job_fires_once_on_both_dst_change_days_in_berlin() {
        // 2026-03-29: 02:00 → 03:00; 2026-10-25: 03:00 → 02:00.
        assert_eq!(
            fires("每天 02:15", "Europe/Berlin", "2026-03-28T12:00:00Z", 2),
            ["2026-03-29 Sun 03:00 CEST", "2026-03-30 Mon 02:15 CEST"]
        );
        assert_eq!(
            fires("每天 02:15", "Europe/Berlin", "2026-10-24T12:00:00Z", 2),
            ["2026-10-25 Sun 02:15 CEST", "2026-10-26 Mon 02:15 CET"]
        );
    }

    #[test]
    fn crontab_weekdays_count_from_sunday_zero() {
        assert_eq!(
            fires("30 8 * * 1-5", "Asia/Shanghai", "2026-11-20T00:00:00Z", 3),
            [
                "2026-11-20 Fri 08:30 CST",
                "2026-11-23 Mon 08:30 CST",
                "2026-11-24 Tue 08:30 CST"
            ]
        );
        assert_eq!(
            fires("0 10 * * 0", "Asia/Shanghai", "2026-11-20T00:00:00Z", 1),
            ["2026-11-22 Sun 10:00 CST"]
        );
        assert_eq!(
            fires("0 10 * * 7", "Asia/Shanghai", "2026-11-20T00:00:00Z", 1),
            ["2026-11-22 Sun 10:00 CST"]
        );
    }

    #[test]
    fn workdays_follow_the_chinese_calendar_through_the_spring_festival() {
        let days = fires("工作日 08:30", "Asia/Shanghai", "2026-02-12T12:00:00Z", 5);
        assert_eq!(
            days,
            [
                "2026-02-13 Fri 08:30 CST",
                "2026-02-14 Sat 08:30 CST", // 调休
                "2026-02-24 Tue 08:30 CST", // after the holiday
                "2026-02-25 Wed 08:30 CST",
                "2026-02-26 Thu 08:30 CST",
            ]
        );
    }

    #[test]
    fn presets_read_as_operators_write_them() {
        assert_eq!(
            fires("周末 10:00", "Asia/Shanghai", "2026-11-23T00:00:00Z", 2),
            ["2026-11-28 Sat 10:00 CST", "2026-11-29 Sun 10:00 CST"]
        );
        assert_eq!(
            fires("每周一 09:00", "Asia/Shanghai", "2026-11-23T02:00:00Z", 1),
            ["2026-11-30 Mon 09:00 CST"]
        );
        assert_eq!(
            fires("每月1日 09:00", "Asia/Shanghai", "2026-11-23T00:00:00Z", 1),
            ["2026-12-01 Tue 09:00 CST"]
        );
        assert_eq!(
            fires("daily 7：05", "Asia/Shanghai", "2026-11-23T00:00:00Z", 1),
            ["2026-11-24 Tue 07:05 CST"]
        );
    }

    #[test]
    fn typos_and_floods_are_refused_with_a_reason() {
        let error = "每天 8点".parse::<JobSchedule>().unwrap_err();
        assert!(error.contains("is not a time"), "{error}");
        let error = "30 25 * * *".parse::<JobSchedule>().unwrap_err();
        assert!(error.contains("30 25 * * *"), "{error}");
        let error = "* * * * *".parse::<JobSchedule>().unwrap_err();
        assert!(
            error.contains("more often than every 10 minutes"),
            "{error}"
        );
        let error = "每周八 09:00".parse::<JobSchedule>().unwrap_err();
        assert!(error.contains("每周一 … 每周日"), "{error}");
        assert!("0 8".parse::<JobSchedule>().is_err());
    }
}
