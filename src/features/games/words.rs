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
const T2S: &str = include_str!("../../../data/games/t2s.tsv");

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

/// The lines of a `key<TAB>value` data file.
pub fn pairs(data: &'static str) -> Vec<(&'static str, &'static str)> {
    data.lines()
        .filter_map(|line| line.split_once('\t'))
        .collect()
}
