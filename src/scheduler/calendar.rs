//! The calendar groups live by.
//!
//! Chinese workdays: weekends and public holidays are off, and the 调休 make-up days (a Saturday
//! or Sunday declared a workday) are on. The official calendar comes from the `chinese_holiday`
//! crate (the State Council's notices, 2004 to the end of 2026). Each year's notice comes out in
//! November; until a newer crate ships, the operator adds it in `[scheduler] holidays` (see
//! `WorkCalendar`). Past both, Monday to Friday are workdays.
//!
//! Lunar dates, solar terms (节气) and festivals come from `tyme4rs`, which computes them.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use tyme4rs::tyme::Culture;
use tyme4rs::tyme::solar::SolarDay;

/// The last day the shipped calendar covers (the crate refuses later dates).
fn covered(date: NaiveDate) -> bool {
    let first = NaiveDate::from_ymd_opt(2004, 1, 1);
    let last = NaiveDate::from_ymd_opt(2026, 12, 25);
    first.is_some_and(|first| date >= first) && last.is_some_and(|last| date <= last)
}

/// Workdays by the shipped calendar alone.
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

/// The shipped calendar with the operator's additions: days off (holidays) and make-up
/// workdays (调休) from a newer notice than the shipped one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    pub off: BTreeSet<NaiveDate>,
    pub work: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    pub fn is_workday(&self, date: NaiveDate) -> bool {
        if self.work.contains(&date) {
            return true;
        }
        if self.off.contains(&date) {
            return false;
        }
        is_workday(date)
    }

    /// The last day this calendar knows holidays and make-up days for: the shipped one's or
    /// the latest the operator added.
    pub fn known_until(&self) -> NaiveDate {
        let shipped = NaiveDate::from_ymd_opt(2026, 12, 25).unwrap_or_default();
        [self.off.last(), self.work.last()]
            .into_iter()
            .flatten()
            .copied()
            .fold(shipped, NaiveDate::max)
    }

    /// A warning for the operator when the calendar knows nothing of the `days` after `today`:
    /// then only weekends are days off, with no holiday and no make-up workday.
    pub fn runs_out_within(&self, today: NaiveDate, days: i64) -> Option<String> {
        let until = self.known_until();
        (today + chrono::Duration::days(days) > until).then(|| {
            format!(
                "the workday calendar (调休) ends {until}: after it, workday jobs and {{{{ workday }}}} \
                 count only weekends as days off. Add the State Council's holiday notice for the \
                 next year under [scheduler.holidays] (off = [...], work = [...]; see \
                 config.example.toml), or update qunbot"
            )
        })
    }

    /// Reads `"2027-02-06"` or a range `"2027-02-06..2027-02-13"` (both ends included).
    pub fn parse_days(text: &str) -> Result<Vec<NaiveDate>, String> {
        let parse = |day: &str| {
            NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
                .map_err(|_| format!("`{day}` is not a date such as 2027-02-06"))
        };
        let (first, last) = match text.split_once("..") {
            Some((first, last)) => (parse(first)?, parse(last)?),
            None => (parse(text)?, parse(text)?),
        };
        if last < first || (last - first).num_days() > 60 {
            return Err(format!("`{text}`: a range runs forward, at most 60 days"));
        }
        Ok(first.iter_days().take_while(|day| *day <= last).collect())
    }
}

/// What a day is in the Chinese calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayFacts {
    /// 正月初一
    pub lunar: String,
    /// The solar term that begins on this day, if one does (立春, 清明…).
    pub solar_term: Option<String>,
    /// Festivals on this day, lunar and solar (春节, 中秋节, 国庆节…), and the solar term if it
    /// is one people celebrate by name (清明 is both).
    pub festivals: Vec<String>,
    /// The lunar month (negative for a leap month) and day, for lunar birthdays.
    pub lunar_month: i64,
    pub lunar_day: i64,
}

/// The English names of the festivals and solar terms `facts` gives, so that an English group
/// reads "Lunar New Year's Eve", not 除夕.
const ENGLISH_NAMES: &[(&str, &str)] = &[
    ("春节", "Spring Festival"),
    ("元宵节", "Lantern Festival"),
    ("龙头节", "Dragon Raising Its Head"),
    ("上巳节", "Shangsi Festival"),
    ("清明节", "Qingming Festival"),
    ("端午节", "Dragon Boat Festival"),
    ("七夕节", "Qixi Festival"),
    ("中元节", "Ghost Festival"),
    ("中秋节", "Mid-Autumn Festival"),
    ("重阳节", "Double Ninth Festival"),
    ("冬至节", "Winter Solstice Festival"),
    ("腊八节", "Laba Festival"),
    ("除夕", "Lunar New Year's Eve"),
    ("元旦", "New Year's Day"),
    ("妇女节", "International Women's Day"),
    ("植树节", "Tree Planting Day"),
    ("劳动节", "Labour Day"),
    ("青年节", "Youth Day"),
    ("儿童节", "Children's Day"),
    ("建党节", "Party Founding Day"),
    ("建军节", "Army Day"),
    ("教师节", "Teachers' Day"),
    ("国庆节", "National Day"),
    ("冬至", "Winter Solstice"),
    ("小寒", "Minor Cold"),
    ("大寒", "Major Cold"),
    ("立春", "Start of Spring"),
    ("雨水", "Rain Water"),
    ("惊蛰", "Awakening of Insects"),
    ("春分", "Spring Equinox"),
    ("清明", "Pure Brightness"),
    ("谷雨", "Grain Rain"),
    ("立夏", "Start of Summer"),
    ("小满", "Grain Buds"),
    ("芒种", "Grain in Ear"),
    ("夏至", "Summer Solstice"),
    ("小暑", "Minor Heat"),
    ("大暑", "Major Heat"),
    ("立秋", "Start of Autumn"),
    ("处暑", "End of Heat"),
    ("白露", "White Dew"),
    ("秋分", "Autumn Equinox"),
    ("寒露", "Cold Dew"),
    ("霜降", "Frost's Descent"),
    ("立冬", "Start of Winter"),
    ("小雪", "Minor Snow"),
    ("大雪", "Major Snow"),
];

/// A festival's or solar term's name in `language` (the Chinese name when it has no other).
pub fn name_in(name: &str, language: crate::core::i18n::Language) -> String {
    match language {
        crate::core::i18n::Language::ZhCn => name.to_owned(),
        crate::core::i18n::Language::En => ENGLISH_NAMES
            .iter()
            .find(|(chinese, _)| *chinese == name)
            .map_or(name, |(_, english)| english)
            .to_owned(),
    }
}

impl DayFacts {
    /// The lunar date in `language`: 正月十五, or "lunar 1/15" ("lunar leap 4/15").
    pub fn lunar_in(&self, language: crate::core::i18n::Language) -> String {
        match language {
            crate::core::i18n::Language::ZhCn => self.lunar.clone(),
            crate::core::i18n::Language::En if self.lunar_month < 0 => {
                format!("lunar leap {}/{}", -self.lunar_month, self.lunar_day)
            }
            crate::core::i18n::Language::En => {
                format!("lunar {}/{}", self.lunar_month, self.lunar_day)
            }
        }
    }
}

pub fn facts(date: NaiveDate) -> DayFacts {
    let (Ok(year), Ok(month), Ok(day)) = (
        isize::try_from(date.year()),
        usize::try_from(date.month()),
        usize::try_from(date.day()),
    ) else {
        return DayFacts {
            lunar: String::new(),
            solar_term: None,
            festivals: Vec::new(),
            lunar_month: 0,
            lunar_day: 0,
        };
    };
    let solar = SolarDay::from_ymd(year, month, day);
    let lunar = solar.get_lunar_day();
    let lunar_month = lunar.get_lunar_month();
    let term = solar.get_term_day();
    let solar_term = (term.get_day_index() == 0).then(|| term.get_solar_term().get_name());
    let mut festivals: Vec<String> = lunar
        .get_festival()
        .map(|f| f.get_name())
        .into_iter()
        .chain(solar.get_festival().map(|f| f.get_name()))
        .collect();
    festivals.dedup();
    DayFacts {
        lunar: format!("{}{}", lunar_month.get_name(), lunar.get_name()),
        solar_term,
        festivals,
        lunar_month: lunar_month.get_month_with_leap() as i64,
        lunar_day: lunar.get_day() as i64,
    }
}

/// The solar date of lunar `month`/`day` in the lunar year that starts in `year`, if that
/// year has such a day (a 30th in a short month does not exist).
pub fn lunar_to_solar(year: i32, month: i64, day: i64) -> Option<NaiveDate> {
    let (Ok(year), Ok(month), Ok(day)) = (
        isize::try_from(year),
        isize::try_from(month),
        usize::try_from(day),
    ) else {
        return None;
    };
    let lunar = tyme4rs::tyme::lunar::LunarDay::new(year, month, day).ok()?;
    let solar = lunar.get_solar_day();
    NaiveDate::from_ymd_opt(
        i32::try_from(solar.get_year()).ok()?,
        u32::try_from(solar.get_month()).ok()?,
        u32::try_from(solar.get_day()).ok()?,
    )
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

    #[test]
    fn an_override_file_adds_next_years_holidays_and_make_up_days() {
        let mut calendar = WorkCalendar::default();
        calendar
            .off
            .extend(WorkCalendar::parse_days("2027-02-06..2027-02-13").unwrap());
        calendar
            .work
            .extend(WorkCalendar::parse_days("2027-02-20").unwrap());
        assert!(
            !calendar.is_workday(day(2027, 2, 8)),
            "a Monday of the holiday"
        );
        assert!(calendar.is_workday(day(2027, 2, 20)), "a make-up Saturday");
        assert!(calendar.is_workday(day(2027, 2, 15)));
        assert!(WorkCalendar::parse_days("2027-02-13..2027-02-06").is_err());
        assert!(WorkCalendar::parse_days("next friday").is_err());
    }

    #[test]
    fn lunar_dates_terms_and_festivals() {
        let spring = facts(day(2026, 2, 17));
        assert_eq!(spring.lunar, "正月初一");
        assert_eq!(spring.festivals, vec!["春节"]);
        assert_eq!((spring.lunar_month, spring.lunar_day), (1, 1));
        let qingming = facts(day(2026, 4, 5));
        assert_eq!(qingming.solar_term.as_deref(), Some("清明"));
        assert_eq!(facts(day(2026, 10, 1)).festivals, vec!["国庆节"]);
        assert_eq!(facts(day(2026, 3, 3)).festivals, vec!["元宵节"]);
        assert_eq!(facts(day(2026, 3, 10)).festivals, Vec::<String>::new());
        assert_eq!(lunar_to_solar(2026, 8, 15), Some(day(2026, 9, 25)), "中秋");
        assert_eq!(lunar_to_solar(2026, 2, 31), None);
    }
}
