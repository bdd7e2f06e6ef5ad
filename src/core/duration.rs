//! Durations as people type them: `30s`, `10m`, `2h`, `1d`, `1w`, `1d12h`, and the Chinese units
//! members use (`10分钟`, `2小时`, `3天`, `1周`). One grammar for config files, admin commands and
//! the simulator.

use std::ops::RangeInclusive;

use chrono::Duration;

/// The lengths a mute or a ban may have. Telegram takes an end less than 30 seconds or more
/// than 366 days away as no end at all (`until_date` in restrictChatMember and banChatMember),
/// so `/mute 10s` or `/ban 400d` would restrict for good.
pub const RESTRICTION: RangeInclusive<Duration> = Duration::seconds(30)..=Duration::days(366);

/// Reads a duration; `None` when the text is not one (or is zero, or absurdly long).
/// Full-width digits read as ASCII ones.
pub fn parse(text: &str) -> Option<Duration> {
    let text = crate::core::numbers::ascii_digits(text.trim());
    let mut total = Duration::zero();
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    let mut saw_unit = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let amount: i64 = number.parse().ok()?;
        number.clear();
        let unit: fn(i64) -> Option<Duration> = match c {
            'w' | 'W' | '周' => |n| Duration::try_weeks(n),
            'd' | 'D' | '天' | '日' => |n| Duration::try_days(n),
            'h' | 'H' | '时' => |n| Duration::try_hours(n),
            '小' if chars.next_if_eq(&'时').is_some() => |n| Duration::try_hours(n),
            '个' if chars.next_if_eq(&'小').is_some() && chars.next_if_eq(&'时').is_some() => {
                |n| Duration::try_hours(n)
            }
            'm' | 'M' => |n| Duration::try_minutes(n),
            '分' => {
                chars.next_if_eq(&'钟');
                |n| Duration::try_minutes(n)
            }
            's' | 'S' | '秒' => |n| Duration::try_seconds(n),
            _ => return None,
        };
        total = total.checked_add(&unit(amount)?)?;
        saw_unit = true;
    }
    let sane = Duration::zero() < total && total <= Duration::days(3_660);
    (number.is_empty() && saw_unit && sane).then_some(total)
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
