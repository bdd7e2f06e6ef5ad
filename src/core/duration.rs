//! Durations as people type them: `30s`, `10m`, `2h`, `1d`, `1w`, `1d12h`, and the Chinese units
//! members use (`10分钟`, `2小时`, `3天`, `1周`), and English words (`90min`, `2 hours`). One
//! grammar for config files, admin commands, relay deadlines and the simulator.

use std::ops::RangeInclusive;

use chrono::Duration;

/// The lengths a mute or a ban may have. Telegram takes an end less than 30 seconds or more
/// than 366 days away as no end at all (`until_date` in restrictChatMember and banChatMember),
/// so `/mute 10s` or `/ban 400d` would restrict for good.
pub const RESTRICTION: RangeInclusive<Duration> = Duration::seconds(30)..=Duration::days(366);

/// Reads a duration; `None` when the text is not one (or is zero, or absurdly long).
/// Full-width digits read as ASCII ones; a number and its unit may have a space between them.
pub fn parse(text: &str) -> Option<Duration> {
    let text = crate::core::numbers::ascii_digits(text.trim());
    let mut rest = text.as_ref();
    let mut total = Duration::zero();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let amount: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // The unit runs to the next number.
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let per_unit = unit(rest[..unit_end].trim())?;
        total = total.checked_add(&per_unit(amount)?)?;
        rest = rest[unit_end..].trim_start();
    }
    (Duration::zero() < total && total <= Duration::days(3_660)).then_some(total)
}

/// A unit's length, as people write it in Chinese or English.
fn unit(name: &str) -> Option<fn(i64) -> Option<Duration>> {
    Some(match name.to_ascii_lowercase().as_str() {
        "w" | "week" | "weeks" | "周" | "星期" => Duration::try_weeks,
        "d" | "day" | "days" | "天" | "日" => Duration::try_days,
        "h" | "hr" | "hrs" | "hour" | "hours" | "时" | "小时" | "个小时" => {
            Duration::try_hours
        }
        "m" | "min" | "mins" | "minute" | "minutes" | "分" | "分钟" => Duration::try_minutes,
        "s" | "sec" | "secs" | "second" | "seconds" | "秒" | "秒钟" => Duration::try_seconds,
        _ => return None,
    })
}

/// A duration as the bot writes it, in the largest whole units: `1天2小时` / `1d 2h`.
pub fn describe(duration: Duration, chinese: bool) -> String {
    let mut left = duration.num_seconds().max(0);
    let units: [(i64, &str, &str); 4] = [
        (86_400, "天", "d"),
        (3_600, "小时", "h"),
        (60, "分钟", "min"),
        (1, "秒", "s"),
    ];
    let mut parts = Vec::new();
    for (size, zh, en) in units {
        let count = left / size;
        if count > 0 {
            parts.push(if chinese {
                format!("{count}{zh}")
            } else {
                format!("{count} {en}")
            });
            left %= size;
        }
    }
    if parts.is_empty() {
        return if chinese { "0秒".into() } else { "0 s".into() };
    }
    parts.join(if chinese { "" } else { " " })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_people_type() {
        assert_eq!(parse("10m"), Some(Duration::minutes(10)));
        assert_eq!(parse("2h"), Some(Duration::hours(2)));
        assert_eq!(parse("1d12h"), Some(Duration::hours(36)));
        assert_eq!(parse("1w"), Some(Duration::days(7)));
        assert_eq!(parse("30s"), Some(Duration::seconds(30)));
        assert_eq!(parse("10分钟"), Some(Duration::minutes(10)));
        assert_eq!(parse("10分"), Some(Duration::minutes(10)));
        assert_eq!(parse("2小时"), Some(Duration::hours(2)));
        assert_eq!(parse("2个小时"), Some(Duration::hours(2)));
        assert_eq!(parse("3天"), Some(Duration::days(3)));
        assert_eq!(parse("1周"), Some(Duration::days(7)));
        assert_eq!(parse("１０m"), Some(Duration::minutes(10)));
        assert_eq!(parse("90min"), Some(Duration::minutes(90)));
        assert_eq!(parse("2 hours"), Some(Duration::hours(2)));
        assert_eq!(parse("1d 12h"), Some(Duration::hours(36)));
        assert_eq!(parse("3 days"), Some(Duration::days(3)));
        assert_eq!(parse("３天"), Some(Duration::days(3)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for text in [
            "",
            "10",
            "m",
            "ten minutes",
            "0m",
            "-5m",
            "1x",
            "5m3",
            "99999999999999999999d",
            "100000d",
            "小时",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn writes_durations_in_whole_units() {
        assert_eq!(describe(Duration::hours(26), true), "1天2小时");
        assert_eq!(describe(Duration::minutes(10), false), "10 min");
    }
}
