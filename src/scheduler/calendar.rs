//! Chinese workdays: weekends and public holidays are off, and the 调休 make-up days (a
//! Saturday or Sunday declared a workday) are on. The official calendar comes from the
//! `chinese_holiday` crate (the State Council's notices, 2004 to the end of 2026); after that,
//! until a newer calendar ships, Monday to Friday are workdays.

use chrono::{Datelike, NaiveDate, Weekday};

/// The last day the shipped calendar covers (the crate refuses later dates).
fn covered(date: NaiveDate) -> bool {
    let first = NaiveDate::from_ymd_opt(2004, 1, 1);
    let last = NaiveDate::from_ymd_opt(2026, 12, 25);
    first.is_some_and(|first| date >= first) && last.is_some_and(|last| date <= last)
}

pub fn is_workday(date: NaiveDate) -> bool {
    if covered(date) {
        let (Ok(year), Ok(month), Ok(day)) = (
            u16::try_from(date.year()),
            u8::try_from(date.month()),
            u8::try_from(date.day()),
        ) else {
            return false;
        };
        return chinese_holiday::chinese_holiday((year, month, day)).is_workday();
    }
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_2026_spring_festival_week_and_its_make_up_saturdays() {
        assert!(is_workday(day(2026, 2, 13)), "Friday before the holiday");
        assert!(is_workday(day(2026, 2, 14)), "调休: Saturday worked");
        for d in 15..=23 {
            assert!(!is_workday(day(2026, 2, d)), "02-{d} is a holiday");
        }
        assert!(is_workday(day(2026, 2, 24)));
        assert!(is_workday(day(2026, 2, 28)), "调休: Saturday worked");
        assert!(!is_workday(day(2026, 3, 1)), "an ordinary Sunday");
    }

    #[test]
    fn past_the_shipped_calendar_weekdays_are_workdays() {
        assert!(is_workday(day(2027, 3, 3)));
        assert!(!is_workday(day(2027, 3, 6)));
    }
}
