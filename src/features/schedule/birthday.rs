//! Birthday wishes: members whose introduction card gives a birthday (solar, or lunar with
//! 农历) and who are still in the group are wished well on the day, all in one message.
//!
//! A 29 February birthday is kept on 28 February in other years; a lunar 30th in a month of 29
//! days is kept on the 29th. A birthday in a lunar leap month is not given; people keep the
//! ordinary month, as the cards record it.

use chrono::{Datelike, Duration, NaiveDate};
use minijinja::context;

use crate::core::context::Cx;
use crate::core::feature::FeatureResult;
use crate::scheduler::calendar;

/// The (month, day) pairs of solar birthdays kept on `date`.
fn solar_days(date: NaiveDate) -> Vec<(i64, i64)> {
    let mut days = vec![(i64::from(date.month()), i64::from(date.day()))];
    let leap_year = NaiveDate::from_ymd_opt(date.year(), 2, 29).is_some();
    if date.month() == 2 && date.day() == 28 && !leap_year {
        days.push((2, 29));
    }
    days
}

/// The (month, day) pairs of lunar birthdays kept on `date`.
fn lunar_days(date: NaiveDate) -> Vec<(i64, i64)> {
    let today = calendar::facts(date);
    if today.lunar_month <= 0 {
        // A leap month: its days are nobody's birthday.
        return Vec::new();
    }
    let mut days = vec![(today.lunar_month, today.lunar_day)];
    let month_ends_today = calendar::facts(date + Duration::days(1)).lunar_day == 1;
    if month_ends_today && today.lunar_day == 29 {
        days.push((today.lunar_month, 30));
    }
    days
}

/// The members whose birthday is on `date`: (name, username).
pub async fn celebrants(
    cx: &mut Cx<'_>,
    date: NaiveDate,
) -> FeatureResult<Vec<(String, Option<String>)>> {
    let chat = cx.chat();
    let mut found = Vec::new();
    for (lunar, days) in [(false, solar_days(date)), (true, lunar_days(date))] {
        for (month, day) in days {
            // The cards are welcome's; it says whose birthday a date is.
            found.extend(
                crate::features::welcome::birthday::members_born_on(cx.tx, chat, lunar, month, day)
                    .await?,
            );
        }
    }
    Ok(found)
}

pub async fn post(cx: &mut Cx<'_>, template: Option<&String>) -> FeatureResult {
    let date = cx.event.at.with_timezone(&cx.group.timezone).date_naive();
    let people = celebrants(cx, date).await?;
    if people.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = people
        .iter()
        .map(|(name, username)| match username {
            Some(username) => format!("@{username}"),
            None => name.clone(),
        })
        .collect();
    let vars =
        context! { names => names.join(" "), count => names.len(), date => date.to_string() };
    let text = match template {
        Some(template) => cx.render(template, vars),
        None => Some(cx.text("schedule.birthday", vars)),
    };
    if let Some(text) = text.filter(|text| !text.trim().is_empty()) {
        cx.send(text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn february_29th_is_kept_on_the_28th_in_common_years() {
        assert_eq!(solar_days(day(2027, 2, 28)), vec![(2, 28), (2, 29)]);
        assert_eq!(solar_days(day(2028, 2, 28)), vec![(2, 28)]);
        assert_eq!(solar_days(day(2028, 2, 29)), vec![(2, 29)]);
    }

    #[test]
    fn a_lunar_30th_is_kept_on_the_last_day_of_a_short_month() {
        // 2026-09-25 is 八月十五.
        assert_eq!(lunar_days(day(2026, 9, 25)), vec![(8, 15)]);
        // Find a short lunar month's 29th in 2026 and check the 30th joins it.
        let short = (1..365)
            .map(|n| day(2026, 1, 1) + Duration::days(n))
            .find(|d| {
                let f = calendar::facts(*d);
                f.lunar_month > 0
                    && f.lunar_day == 29
                    && calendar::facts(*d + Duration::days(1)).lunar_day == 1
            })
            .expect("some lunar month of 2026 has 29 days");
        let facts = calendar::facts(short);
        assert_eq!(
            lunar_days(short),
            vec![(facts.lunar_month, 29), (facts.lunar_month, 30)]
        );
    }
}
