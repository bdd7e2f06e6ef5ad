//! Traditional characters as their simplified forms (data/games/t2s.tsv), so that `簽到` is
//! `签到` and `畫蛇添足` is `画蛇添足` wherever members' words are compared.

use std::collections::HashMap;
use std::sync::LazyLock;

const T2S: &str = include_str!("../../data/games/t2s.tsv");

/// Traditional → simplified, for the characters the shipped texts use.
pub static TRADITIONAL: LazyLock<HashMap<char, char>> = LazyLock::new(|| {
    T2S.lines()
        .filter_map(|line| {
            let mut chars = line.chars();
            let traditional = chars.next()?;
            let simplified = chars.nth(1)?;
            Some((traditional, simplified))
        })
        .collect()
});

/// One character in its simplified form (itself when it has no other).
pub fn simplified_char(c: char) -> char {
    TRADITIONAL.get(&c).copied().unwrap_or(c)
}

/// `text` with every traditional character made simplified.
pub fn simplified(text: &str) -> String {
    text.chars().map(simplified_char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_text_becomes_simplified() {
        assert_eq!(simplified("簽到"), "签到");
        assert_eq!(simplified("#接龍 週六"), "#接龙 周六");
        assert_eq!(simplified("签到 ok"), "签到 ok");
    }
}
