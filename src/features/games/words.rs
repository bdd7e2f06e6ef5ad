//! The shipped word lists (data/games/, see SOURCES.md there), indexed once on first use:
//! idioms with their frequencies, per-character readings from the `pinyin` crate, and the English
//! words. Everything borrows from the embedded text, so the index is a few vectors and maps of
//! `&'static str`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use pinyin::ToPinyinMulti;

const IDIOMS: &str = include_str!("../../../data/games/idioms.tsv");
const ENGLISH: &str = include_str!("../../../data/games/english.txt");
const ENGLISH_COMMON: &str = include_str!("../../../data/games/english-common.txt");
pub(crate) const MEANINGS: &str = include_str!("../../../data/games/meanings.tsv");
pub(crate) const EMOJI: &str = include_str!("../../../data/games/emoji.tsv");
pub(crate) const XIEHOUYU: &str = include_str!("../../../data/games/xiehouyu.tsv");

/// Idioms at least this frequent (JioNLP's count) are the ones the bot starts with and plays.
pub const COMMON_FREQUENCY: u32 = 1000;

/// How a move must link to the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkMode {
    /// Same character, or any toneless reading in common (polyphones count): 宽松.
    Loose,
    /// Same character, or a reading in common including the tone: 严格.
    Strict,
    /// The same character only: 同字.
    SameChar,
}

impl LinkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMode::Loose => "loose",
            LinkMode::Strict => "strict",
            LinkMode::SameChar => "same_char",
        }
    }

    pub fn parse(text: &str) -> Option<LinkMode> {
        match text {
            "loose" => Some(LinkMode::Loose),
            "strict" => Some(LinkMode::Strict),
            "same_char" => Some(LinkMode::SameChar),
            _ => None,
        }
    }
}

/// Every reading of a character: toneless (`plain`, "zhang") or toned (`with_tone`, "zhǎng").
pub fn readings(c: char, toned: bool) -> Vec<&'static str> {
    match c.to_pinyin_multi() {
        Some(multi) => multi
            .into_iter()
            .map(|p| if toned { p.with_tone() } else { p.plain() })
            .collect(),
        None => Vec::new(),
    }
}

/// Whether a word ending in `last` may be followed by one starting with `first`.
pub fn links(last: char, first: char, mode: LinkMode) -> bool {
    if last == first {
        return true;
    }
    let toned = match mode {
        LinkMode::SameChar => return false,
        LinkMode::Strict => true,
        LinkMode::Loose => false,
    };
    let before = readings(last, toned);
    readings(first, toned).iter().any(|r| before.contains(r))
}

pub struct Idioms {
    /// Sorted, as in the file.
    words: Vec<&'static str>,
    frequency: Vec<u32>,
    index: HashMap<&'static str, usize>,
    /// First character → idioms starting with it, most frequent first.
    by_first: HashMap<char, Vec<usize>>,
    /// A reading (toneless and toned alike) → the first characters that have it.
    first_chars_by_sound: HashMap<&'static str, Vec<char>>,
    /// The common idioms, in file order.
    common: Vec<usize>,
}

impl Idioms {
    fn load() -> Idioms {
        let mut words = Vec::new();
        let mut frequency = Vec::new();
        for line in IDIOMS.lines() {
            let (word, freq) = line.split_once('\t').unwrap_or((line, "0"));
            words.push(word);
            frequency.push(freq.parse().unwrap_or(0));
        }
        let index = words.iter().enumerate().map(|(i, w)| (*w, i)).collect();
        let mut by_first: HashMap<char, Vec<usize>> = HashMap::new();
        for (i, word) in words.iter().enumerate() {
            if let Some(first) = word.chars().next() {
                by_first.entry(first).or_default().push(i);
            }
        }
        let mut first_chars_by_sound: HashMap<&'static str, Vec<char>> = HashMap::new();
        for (first, list) in by_first.iter_mut() {
            list.sort_by_key(|&i| (std::cmp::Reverse(frequency[i]), i));
            for toned in [false, true] {
                for sound in readings(*first, toned) {
                    first_chars_by_sound.entry(sound).or_default().push(*first);
                }
            }
        }
        for chars in first_chars_by_sound.values_mut() {
            chars.sort_unstable();
            chars.dedup();
        }
        let common = (0..words.len())
            .filter(|&i| frequency[i] >= COMMON_FREQUENCY)
            .collect();
        Idioms {
            words,
            frequency,
            index,
            by_first,
            first_chars_by_sound,
            common,
        }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn contains(&self, word: &str) -> bool {
        self.index.contains_key(word)
    }

    pub fn words(&self) -> &[&'static str] {
        &self.words
    }

    pub fn frequency(&self, word: &str) -> u32 {
        self.index.get(word).map_or(0, |&i| self.frequency[i])
    }

    pub fn common(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.common.iter().map(|&i| self.words[i])
    }

    /// The idioms that may follow `previous`, most frequent first, leaving out `used`.
    pub fn continuations(
        &self,
        previous: &str,
        mode: LinkMode,
        used: &HashSet<String>,
    ) -> Vec<&'static str> {
        let Some(last) = previous.chars().last() else {
            return Vec::new();
        };
        let mut firsts = vec![last];
        if mode != LinkMode::SameChar {
            for sound in readings(last, mode == LinkMode::Strict) {
                if let Some(chars) = self.first_chars_by_sound.get(sound) {
                    firsts.extend(chars);
                }
            }
        }
        firsts.sort_unstable();
        firsts.dedup();
        let mut found: Vec<usize> = firsts
            .iter()
            .filter_map(|c| self.by_first.get(c))
            .flatten()
            .copied()
            .filter(|&i| !used.contains(self.words[i]))
            .collect();
        found.sort_by_key(|&i| (std::cmp::Reverse(self.frequency[i]), i));
        found.into_iter().map(|i| self.words[i]).collect()
    }
}

pub static IDIOM_LIST: LazyLock<Idioms> = LazyLock::new(Idioms::load);

pub struct English {
    words: HashSet<&'static str>,
    /// First letter → words, in file order.
    by_first: HashMap<char, Vec<&'static str>>,
    pub common: Vec<&'static str>,
}

impl English {
    fn load() -> English {
        let words: HashSet<&'static str> = ENGLISH.lines().collect();
        let mut by_first: HashMap<char, Vec<&'static str>> = HashMap::new();
        for word in ENGLISH.lines() {
            if let Some(first) = word.chars().next() {
                by_first.entry(first).or_default().push(word);
            }
        }
        English {
            words,
            by_first,
            common: ENGLISH_COMMON.lines().collect(),
        }
    }

    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Unused words starting with `previous`'s last letter: the common ones first.
    pub fn continuations(&self, previous: &str, used: &HashSet<String>) -> Vec<&'static str> {
        let Some(last) = previous.chars().last() else {
            return Vec::new();
        };
        let mut found: Vec<&'static str> = self
            .common
            .iter()
            .copied()
            .filter(|w| w.starts_with(last) && !used.contains(*w))
            .collect();
        let common: HashSet<&str> = found.iter().copied().collect();
        if let Some(all) = self.by_first.get(&last) {
            found.extend(
                all.iter()
                    .copied()
                    .filter(|w| !used.contains(*w) && !common.contains(w)),
            );
        }
        found
    }
}

pub static ENGLISH_WORDS: LazyLock<English> = LazyLock::new(English::load);

pub use crate::core::hanzi::TRADITIONAL;

/// The lines of a `key<TAB>value` data file.
pub fn pairs(data: &'static str) -> Vec<(&'static str, &'static str)> {
    data.lines()
        .filter_map(|line| line.split_once('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::games::text::{is_han, looks_like_idiom, normalise};

    #[test]
    fn loose_mode_links_any_toneless_reading_polyphones_included() {
        // 长 reads cháng and zhǎng; 张 is zhāng.
        assert!(links('长', '张', LinkMode::Loose));
        assert!(links('长', '肠', LinkMode::Loose));
        // 意 yì and 以 yǐ: same syllable, different tone.
        assert!(links('意', '以', LinkMode::Loose));
        assert!(!links('意', '心', LinkMode::Loose));
    }

    #[test]
    fn strict_mode_needs_the_tone_too() {
        assert!(!links('长', '张', LinkMode::Strict));
        assert!(links('长', '掌', LinkMode::Strict));
        assert!(links('长', '常', LinkMode::Strict));
        assert!(!links('意', '以', LinkMode::Strict));
    }

    #[test]
    fn same_character_mode_needs_the_character() {
        assert!(links('长', '长', LinkMode::SameChar));
        assert!(!links('长', '常', LinkMode::SameChar));
    }

    #[test]
    fn continuations_follow_the_mode_and_skip_used_idioms() {
        let none = HashSet::new();
        let loose = IDIOM_LIST.continuations("来日方长", LinkMode::Loose, &none);
        assert!(loose.contains(&"张灯结彩") && loose.contains(&"长驱直入"));
        let strict = IDIOM_LIST.continuations("来日方长", LinkMode::Strict, &none);
        assert!(!strict.contains(&"张灯结彩") && strict.contains(&"掌上明珠"));
        let same = IDIOM_LIST.continuations("来日方长", LinkMode::SameChar, &none);
        assert!(same.iter().all(|w| w.starts_with('长')));
        // Most frequent first.
        let frequencies: Vec<u32> = loose.iter().map(|w| IDIOM_LIST.frequency(w)).collect();
        assert!(frequencies.windows(2).all(|pair| pair[0] >= pair[1]));
        let used = HashSet::from(["张灯结彩".to_owned()]);
        let after = IDIOM_LIST.continuations("来日方长", LinkMode::Loose, &used);
        assert_eq!(after.len(), loose.len() - 1);
        assert!(
            IDIOM_LIST
                .continuations("三番五次", LinkMode::SameChar, &none)
                .is_empty()
        );
    }

    #[test]
    fn every_idiom_is_four_han_characters_listed_once_with_readings_for_each() {
        assert!(IDIOM_LIST.len() > 29_000, "{}", IDIOM_LIST.len());
        let mut seen = HashSet::new();
        for word in IDIOM_LIST.words() {
            assert!(
                looks_like_idiom(word),
                "{word:?} is not four Han characters"
            );
            assert!(seen.insert(*word), "{word} is listed twice");
            for c in word.chars() {
                assert!(
                    !readings(c, false).is_empty(),
                    "no reading for {c} in {word}"
                );
            }
            // A member typing the idiom gets the same text back, so every entry can be played.
            assert_eq!(normalise(word).as_deref(), Some(*word));
        }
        assert!(IDIOM_LIST.common().count() > 2_000);
    }

    #[test]
    fn guessing_data_is_complete_and_answers_are_playable() {
        for (data, name) in [(MEANINGS, "meanings"), (EMOJI, "emoji")] {
            let rows = pairs(data);
            assert!(rows.len() > 300, "{name}: {}", rows.len());
            assert_eq!(
                rows.len(),
                data.lines().count(),
                "{name}: a line without a tab"
            );
            let mut seen = HashSet::new();
            for (idiom, question) in rows {
                assert!(
                    IDIOM_LIST.contains(idiom),
                    "{name}: {idiom} is not in the idiom list"
                );
                assert!(
                    !question.trim().is_empty(),
                    "{name}: {idiom} has no question"
                );
                assert!(
                    !question.contains(idiom),
                    "{name}: {idiom} gives itself away"
                );
                assert!(seen.insert(idiom), "{name}: {idiom} twice");
            }
        }
        let riddles = pairs(XIEHOUYU);
        assert!(riddles.len() > 1_000);
        let mut seen = HashSet::new();
        for (riddle, answers) in riddles {
            assert!(riddle.chars().all(is_han), "{riddle}");
            assert!(seen.insert(riddle), "{riddle} twice");
            for answer in answers.split('|') {
                assert!(
                    !answer.is_empty() && answer.chars().all(is_han),
                    "{riddle}: {answer:?}"
                );
                assert_eq!(
                    normalise(answer).as_deref(),
                    Some(answer),
                    "{answer} is not typeable"
                );
            }
        }
    }

    #[test]
    fn english_words_are_lower_case_letters_listed_once() {
        assert!(ENGLISH_WORDS.len() > 30_000);
        assert_eq!(
            ENGLISH_WORDS.len(),
            ENGLISH.lines().count(),
            "a word listed twice"
        );
        assert!(
            ENGLISH
                .lines()
                .all(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_lowercase()))
        );
        assert!(ENGLISH_WORDS.common.len() > 2_000);
        assert!(
            ENGLISH_WORDS
                .common
                .iter()
                .all(|w| ENGLISH_WORDS.contains(w))
        );
        assert!(ENGLISH_WORDS.contains("elephant") && !ENGLISH_WORDS.contains("qwzx"));
    }

    #[test]
    fn traditional_map_only_changes_characters() {
        assert!(TRADITIONAL.len() > 1_000);
        for (traditional, simplified) in TRADITIONAL.iter() {
            assert_ne!(traditional, simplified);
            assert!(is_han(*traditional) || traditional.is_alphanumeric());
            assert!(
                !TRADITIONAL.contains_key(simplified),
                "{simplified} maps on again"
            );
        }
    }
}
