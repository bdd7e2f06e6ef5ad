//! What a message says once the typing noise is gone: spaces, punctuation and emoji stripped,
//! full-width letters made half-width, traditional characters made simplified, letters lower-case.
//! "心 曠神怡！" and "心旷神怡" are the same answer.

use super::words::TRADITIONAL;

/// Longest message taken as a possible answer: anything longer is conversation.
const MAX_ANSWER_CHARS: usize = 24;

/// The message as an answer, or `None` when it is too long to be one or has nothing left.
pub fn normalise(text: &str) -> Option<String> {
    let text = text.trim();
    if text.chars().count() > MAX_ANSWER_CHARS {
        return None;
    }
    let normal: String = text
        .chars()
        .map(half_width)
        .filter(|c| c.is_alphanumeric())
        .map(|c| TRADITIONAL.get(&c).copied().unwrap_or(c))
        .flat_map(char::to_lowercase)
        .collect();
    (!normal.is_empty()).then_some(normal)
}

/// Full-width ASCII forms (Ａ, ｂ, ３) as their ordinary letters.
fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// A CJK unified ideograph (the idioms use only these).
pub fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// Four Han characters: the shape of an idiom.
pub fn looks_like_idiom(text: &str) -> bool {
    text.chars().count() == 4 && text.chars().all(is_han)
}

/// A plain English word.
pub fn looks_like_word(text: &str) -> bool {
    text.len() >= 2 && text.chars().all(|c| c.is_ascii_lowercase())
}

/// "心旷神怡" → "心＿＿＿" with `shown` characters left visible.
pub fn masked(answer: &str, shown: usize) -> String {
    answer
        .chars()
        .enumerate()
        .map(|(i, c)| if i < shown { c } else { '＿' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_punctuation_and_emoji_go() {
        assert_eq!(normalise("  心 旷神怡！").as_deref(), Some("心旷神怡"));
        assert_eq!(normalise("心旷，神怡。😀").as_deref(), Some("心旷神怡"));
        assert_eq!(normalise("「一心一意」").as_deref(), Some("一心一意"));
        assert_eq!(normalise("！？。"), None);
        assert_eq!(normalise(""), None);
    }

    #[test]
    fn full_width_and_capitals_become_plain_letters() {
        assert_eq!(normalise("ＡＰＰＬＥ").as_deref(), Some("apple"));
        assert_eq!(
            normalise("Ｈｅｌｌｏ　ｗｏｒｌｄ").as_deref(),
            Some("helloworld")
        );
        assert_eq!(normalise("Apple.").as_deref(), Some("apple"));
    }

    #[test]
    fn traditional_characters_become_simplified() {
        assert_eq!(normalise("心曠神怡").as_deref(), Some("心旷神怡"));
        assert_eq!(normalise("畫蛇添足").as_deref(), Some("画蛇添足"));
        assert_eq!(normalise("龍飛鳳舞").as_deref(), Some("龙飞凤舞"));
    }

    #[test]
    fn long_messages_are_conversation() {
        assert_eq!(normalise(&"好".repeat(25)), None);
        assert!(normalise(&"好".repeat(24)).is_some());
    }

    #[test]
    fn shapes_and_masks() {
        assert!(looks_like_idiom("心旷神怡"));
        assert!(!looks_like_idiom("心旷神怡了"));
        assert!(!looks_like_idiom("abcd"));
        assert!(looks_like_word("apple"));
        assert!(!looks_like_word("a"));
        assert_eq!(masked("心旷神怡", 1), "心＿＿＿");
        assert_eq!(masked("心旷神怡", 0), "＿＿＿＿");
    }
}
