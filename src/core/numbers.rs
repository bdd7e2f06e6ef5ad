//! Whole numbers as people type them: ASCII or full-width digits (Chinese keyboards give `１０`),
//! an optional sign (`+10`, `-5`, `－5`). Every number a member or an admin types is read here into
//! a stated range, so an out-of-range one is told apart from words and refused, never stored.

use std::borrow::Cow;
use std::ops::RangeInclusive;

/// `text` with full-width digits and signs made ASCII, and the minus sign `−` made `-`.
pub fn ascii_digits(text: &str) -> Cow<'_, str> {
    let fold = |c: char| match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '＋' => '+',
        '－' | '−' => '-',
        _ => c,
    };
    if text.chars().all(|c| fold(c) == c) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().map(fold).collect())
    }
}

/// Whether `text` is meant as a number, or as a number with a unit after it (`-5m`, `３０人`): a
/// digit first, after an optional sign. Such a word is a wrong number when it does not read, not
/// the start of a reason or a title.
pub fn looks_like_number(text: &str) -> bool {
    let text = ascii_digits(text.trim());
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(&text);
    unsigned.starts_with(|c: char| c.is_ascii_digit())
}

/// `text` as a whole number within `range`; `None` when it is not a whole number (`3.5`, `十`)
/// or lies outside, however far (`-9223372036854775808`, twenty nines).
pub fn whole_in(text: &str, range: RangeInclusive<i64>) -> Option<i64> {
    let text = ascii_digits(text.trim());
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Digits alone, so parsing fails only on overflow: beyond i64 is beyond any range here.
    let magnitude: i64 = digits.parse().ok()?;
    let number = if negative { -magnitude } else { magnitude };
    range.contains(&number).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_signs_and_full_width_digits() {
        assert_eq!(whole_in("10", 1..=100), Some(10));
        assert_eq!(whole_in("+10", -100..=100), Some(10));
        assert_eq!(whole_in("-5", -100..=100), Some(-5));
        assert_eq!(whole_in("＋１０", -100..=100), Some(10));
        assert_eq!(whole_in("－５", -100..=100), Some(-5));
        assert_eq!(whole_in(" 7 ", 1..=10), Some(7));
    }

    #[test]
    fn refuses_what_lies_outside_however_far() {
        assert_eq!(whole_in("-9223372036854775808", -100..=100), None);
        assert_eq!(whole_in("9223372036854775807", -100..=100), None);
        assert_eq!(whole_in("99999999999999999999", 1..=100), None);
        assert_eq!(whole_in("-1", 1..=100), None);
        assert_eq!(whole_in("101", 1..=100), None);
    }

    #[test]
    fn refuses_what_is_not_a_whole_number() {
        for text in [
            "", "+", "-", "3.5", "十", "1e3", "--1", "+-1", "1 2", "0x10",
        ] {
            assert_eq!(whole_in(text, i64::MIN + 1..=i64::MAX), None, "{text:?}");
        }
    }

    #[test]
    fn a_signed_or_full_width_number_looks_like_one_and_words_do_not() {
        for text in [
            "5",
            "-5m",
            "+1d",
            "－５分钟",
            "３０人",
            "99999999999999999999",
        ] {
            assert!(looks_like_number(text), "{text:?}");
        }
        for text in ["", "刷屏", "-", "+", "m5", "-m"] {
            assert!(!looks_like_number(text), "{text:?}");
        }
    }
}
