//! Birthdays as members write them: 3月5日, 3月5号, 03-05, 3/5, 1990-03-05, 1990年3月5日, and
//! lunar dates after 农历 or 阴历 (农历八月十五, 农历正月初五, 农历腊月廿三, 农历3月5日). Stored as
//! month, day, a lunar flag and an optional year, for birthday wishes on the day.

use crate::args;
use crate::core::event::ChatId;
use crate::store::{StoreResult, Tx};

/// The members still in `chat` whose introduction card gives this birthday: (name, username).
/// What other features know of the cards' birthdays (the schedule's birthday wishes) they learn
/// here, not from the table.
pub async fn members_born_on(
    tx: &mut Tx,
    chat: ChatId,
    lunar: bool,
    month: i64,
    day: i64,
) -> StoreResult<Vec<(String, Option<String>)>> {
    tx.fetch_all(
        "SELECT m.display_name, m.username FROM intro_profiles p
         JOIN members m ON m.chat_id = p.chat_id AND m.user_id = p.user_id
         WHERE p.chat_id = $1 AND p.birthday_lunar = $2
           AND p.birthday_month = $3 AND p.birthday_day = $4
           AND m.left_at IS NULL
         ORDER BY m.user_id",
        args![chat, i64::from(lunar), month, day],
    )
    .await
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Birthday {
    pub month: u32,
    pub day: u32,
    /// A date of the Chinese lunar calendar.
    pub lunar: bool,
    pub year: Option<i32>,
}

/// What a birthday field means, or `None` when it cannot be read as a date.
pub fn parse(text: &str) -> Option<Birthday> {
    let text = text.trim();
    let (lunar, rest) = match text
        .strip_prefix("农历")
        .or_else(|| text.strip_prefix("阴历"))
    {
        Some(rest) => (true, rest.trim()),
        None => (false, text),
    };
    let rest = rest.trim_end_matches(['。', '.', '!', '！', ' ']);
    let (year, month, day) = if lunar {
        lunar_names(rest)
            .map(|(m, d)| (None, m, d))
            .or_else(|| numeric(rest))?
    } else {
        numeric(rest)?
    };
    valid(month, day, lunar).then_some(Birthday {
        month,
        day,
        lunar,
        year,
    })
}

fn valid(month: u32, day: u32, lunar: bool) -> bool {
    let longest = match (lunar, month) {
        (true, 1..=12) => 30,
        (false, 2) => 29,
        (false, 4 | 6 | 9 | 11) => 30,
        (false, 1..=12) => 31,
        _ => return false,
    };
    (1..=longest).contains(&day)
}

/// `[year sep] month sep day [日|号]` with digits; separators `-`, `/`, `.`, 年, 月.
fn numeric(text: &str) -> Option<(Option<i32>, u32, u32)> {
    let text = text.trim_end_matches(['日', '号']);
    let parts: Vec<&str> = text
        .split(['-', '/', '.', '年', '月'])
        .map(str::trim)
        .collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) || p.len() > 4)
    {
        return None;
    }
    match parts.as_slice() {
        [month, day] => Some((None, month.parse().ok()?, day.parse().ok()?)),
        [year, month, day] if year.len() == 4 => {
            let year: i32 = year.parse().ok()?;
            (1900..=2100).contains(&year).then_some((
                Some(year),
                month.parse().ok()?,
                day.parse().ok()?,
            ))
        }
        _ => None,
    }
}

/// Lunar month and day in Chinese numerals: 正月初五, 八月十五, 腊月廿三, 冬月初一, 闰四月初八.
fn lunar_names(text: &str) -> Option<(u32, u32)> {
    let text = text.strip_prefix('闰').unwrap_or(text);
    let (month, day) = text.split_once('月')?;
    let month = match month {
        "正" => 1,
        "冬" => 11,
        "腊" => 12,
        other => chinese_number(other)?,
    };
    let day = day.trim_end_matches(['日', '号']);
    let day = match day.strip_prefix('初') {
        Some(rest) => chinese_number(rest)?,
        None => chinese_number(day)?,
    };
    Some((month, day))
}

/// 一 … 三十, with 廿 for twenty and 卅 for thirty.
fn chinese_number(text: &str) -> Option<u32> {
    let digit = |c: char| "一二三四五六七八九".find(c).map(|i| i as u32 / 3 + 1);
    let chars: Vec<char> = text.chars().collect();
    match chars.as_slice() {
        [c] if *c == '十' => Some(10),
        [c] if *c == '廿' => Some(20),
        [c] if *c == '卅' => Some(30),
        [c] => digit(*c),
        ['十', c] => Some(10 + digit(*c)?),
        ['廿', c] => Some(20 + digit(*c)?),
        [tens, '十'] => Some(digit(*tens)? * 10),
        [tens, '十', c] => Some(digit(*tens)? * 10 + digit(*c)?),
        _ => None,
    }
}

/// How a birthday reads in a card.
pub fn describe(birthday: &Birthday, language: crate::core::i18n::Language) -> String {
    use crate::core::i18n::Language;
    match (language, birthday.lunar) {
        (Language::ZhCn, true) => format!("农历{}月{}日", birthday.month, birthday.day),
        (Language::ZhCn, false) => format!("{}月{}日", birthday.month, birthday.day),
        (Language::En, true) => format!("{:02}-{:02} (lunar)", birthday.month, birthday.day),
        (Language::En, false) => format!("{:02}-{:02}", birthday.month, birthday.day),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solar(month: u32, day: u32, year: Option<i32>) -> Option<Birthday> {
        Some(Birthday {
            month,
            day,
            lunar: false,
            year,
        })
    }

    fn lunar(month: u32, day: u32) -> Option<Birthday> {
        Some(Birthday {
            month,
            day,
            lunar: true,
            year: None,
        })
    }

    #[test]
    fn the_usual_ways_of_writing_a_birthday() {
        assert_eq!(parse("3月5日"), solar(3, 5, None));
        assert_eq!(parse("3月5号"), solar(3, 5, None));
        assert_eq!(parse("03-05"), solar(3, 5, None));
        assert_eq!(parse("3/5"), solar(3, 5, None));
        assert_eq!(parse("1990-03-05"), solar(3, 5, Some(1990)));
        assert_eq!(parse("1990年3月5日"), solar(3, 5, Some(1990)));
        assert_eq!(parse(" 12.31 "), solar(12, 31, None));
        assert_eq!(parse("2月29日"), solar(2, 29, None));
    }

    #[test]
    fn lunar_dates_in_digits_or_chinese_numerals() {
        assert_eq!(parse("农历八月十五"), lunar(8, 15));
        assert_eq!(parse("农历正月初五"), lunar(1, 5));
        assert_eq!(parse("农历腊月廿三"), lunar(12, 23));
        assert_eq!(parse("阴历冬月初十"), lunar(11, 10));
        assert_eq!(parse("农历十二月三十"), lunar(12, 30));
        assert_eq!(parse("农历 3月5日"), lunar(3, 5));
        assert_eq!(parse("农历闰四月初八"), lunar(4, 8));
    }

    #[test]
    fn nonsense_is_not_a_birthday() {
        for text in [
            "",
            "保密",
            "13月1日",
            "2月30日",
            "4月31日",
            "0-5",
            "1990-03",
            "1-2-3-4",
            "农历十三月初一",
            "农历八月三十一",
            "99999-1-1",
            "3月5日下午",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
