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

/// Characters read more than one way in everyday words, with those readings (toned). Every
/// other character is read only its first, commonest, reading (`pinyin`'s first), so a rare
/// reading never makes a link: 怀 is huái, not also fù (which would reach 不 through "fu").
/// A hand-made list of the common polyphones; a reading not in the `pinyin` crate is ignored.
const EVERYDAY_POLYPHONES: &[(char, &[&str])] = &[
    ('长', &["cháng", "zhǎng"]),
    ('行', &["xíng", "háng"]),
    ('重', &["zhòng", "chóng"]),
    ('乐', &["lè", "yuè"]),
    ('还', &["hái", "huán"]),
    ('好', &["hǎo", "hào"]),
    ('为', &["wéi", "wèi"]),
    ('少', &["shǎo", "shào"]),
    ('数', &["shù", "shǔ"]),
    ('得', &["dé", "de", "děi"]),
    ('着', &["zhe", "zháo", "zhuó"]),
    ('了', &["le", "liǎo"]),
    ('差', &["chà", "chā", "chāi"]),
    ('调', &["diào", "tiáo"]),
    ('朝', &["cháo", "zhāo"]),
    ('降', &["jiàng", "xiáng"]),
    ('传', &["chuán", "zhuàn"]),
    ('便', &["biàn", "pián"]),
    ('藏', &["cáng", "zàng"]),
    ('曾', &["céng", "zēng"]),
    ('处', &["chù", "chǔ"]),
    ('当', &["dāng", "dàng"]),
    ('都', &["dōu", "dū"]),
    ('发', &["fā", "fà"]),
    ('分', &["fēn", "fèn"]),
    ('更', &["gèng", "gēng"]),
    ('干', &["gàn", "gān"]),
    ('给', &["gěi", "jǐ"]),
    ('和', &["hé", "hè", "huó"]),
    ('横', &["héng", "hèng"]),
    ('假', &["jiǎ", "jià"]),
    ('间', &["jiān", "jiàn"]),
    ('将', &["jiāng", "jiàng"]),
    ('教', &["jiào", "jiāo"]),
    ('觉', &["jué", "jiào"]),
    ('看', &["kàn", "kān"]),
    ('空', &["kōng", "kòng"]),
    ('累', &["lèi", "lěi"]),
    ('量', &["liàng", "liáng"]),
    ('难', &["nán", "nàn"]),
    ('宁', &["níng", "nìng"]),
    ('强', &["qiáng", "qiǎng"]),
    ('切', &["qiè", "qiē"]),
    ('曲', &["qǔ", "qū"]),
    ('散', &["sàn", "sǎn"]),
    ('色', &["sè", "shǎi"]),
    ('省', &["shěng", "xǐng"]),
    ('似', &["sì", "shì"]),
    ('相', &["xiāng", "xiàng"]),
    ('兴', &["xīng", "xìng"]),
    ('应', &["yīng", "yìng"]),
    ('与', &["yǔ", "yù"]),
    ('载', &["zài", "zǎi"]),
    ('中', &["zhōng", "zhòng"]),
    ('种', &["zhǒng", "zhòng"]),
    ('转', &["zhuǎn", "zhuàn"]),
    ('正', &["zhèng", "zhēng"]),
    ('只', &["zhī", "zhǐ"]),
    ('供', &["gōng", "gòng"]),
    ('冲', &["chōng", "chòng"]),
    ('参', &["cān", "shēn", "cēn"]),
    ('称', &["chēng", "chèn"]),
    ('度', &["dù", "duó"]),
    ('恶', &["è", "wù", "ě"]),
    ('观', &["guān", "guàn"]),
    ('华', &["huá", "huà"]),
    ('济', &["jì", "jǐ"]),
    ('结', &["jié", "jiē"]),
    ('解', &["jiě", "xiè"]),
    ('据', &["jù", "jū"]),
    ('卷', &["juàn", "juǎn"]),
    ('落', &["luò", "là", "lào"]),
    ('没', &["méi", "mò"]),
    ('模', &["mó", "mú"]),
    ('磨', &["mó", "mò"]),
    ('奇', &["qí", "jī"]),
    ('塞', &["sāi", "sè", "sài"]),
    ('丧', &["sàng", "sāng"]),
    ('扇', &["shàn", "shān"]),
    ('舍', &["shě", "shè"]),
    ('属', &["shǔ", "zhǔ"]),
    ('挑', &["tiāo", "tiǎo"]),
    ('鲜', &["xiān", "xiǎn"]),
    ('血', &["xuè", "xiě"]),
    ('要', &["yào", "yāo"]),
    ('薄', &["báo", "bó"]),
    ('背', &["bèi", "bēi"]),
    ('露', &["lù", "lòu"]),
    ('剥', &["bō", "bāo"]),
    ('创', &["chuàng", "chuāng"]),
    ('弹', &["tán", "dàn"]),
    ('担', &["dān", "dàn"]),
    ('倒', &["dǎo", "dào"]),
    ('钉', &["dīng", "dìng"]),
    ('混', &["hùn", "hún"]),
    ('几', &["jǐ", "jī"]),
    ('系', &["xì", "jì"]),
    ('校', &["xiào", "jiào"]),
    ('率', &["lǜ", "shuài"]),
    ('蒙', &["méng", "měng", "mēng"]),
    ('屏', &["píng", "bǐng"]),
    ('铺', &["pū", "pù"]),
    ('亲', &["qīn", "qìng"]),
    ('仇', &["chóu", "qiú"]),
    ('圈', &["quān", "juàn"]),
    ('盛', &["shèng", "chéng"]),
    ('识', &["shí", "zhì"]),
    ('说', &["shuō", "shuì"]),
    ('宿', &["sù", "xiǔ", "xiù"]),
    ('提', &["tí", "dī"]),
    ('吐', &["tǔ", "tù"]),
    ('吓', &["xià", "hè"]),
    ('晕', &["yūn", "yùn"]),
    ('扎', &["zhā", "zā"]),
    ('占', &["zhàn", "zhān"]),
    ('涨', &["zhǎng", "zhàng"]),
    ('折', &["zhé", "shé", "zhē"]),
    ('症', &["zhèng", "zhēng"]),
    ('钻', &["zuān", "zuàn"]),
    ('作', &["zuò", "zuō"]),
    ('大', &["dà", "dài"]),
    ('地', &["dì", "de"]),
    ('的', &["de", "dì", "dí"]),
    ('子', &["zǐ", "zi"]),
    ('头', &["tóu", "tou"]),
    ('一', &["yī"]),
    ('不', &["bù"]),
];

static POLYPHONES: LazyLock<HashMap<char, &'static [&'static str]>> =
    LazyLock::new(|| EVERYDAY_POLYPHONES.iter().copied().collect());

/// The readings a character has in common use: toneless (`plain`, "zhang") or toned
/// (`with_tone`, "zhǎng"). Its first reading, and for an everyday polyphone (长, 行, 重…) the
/// others it is commonly read with.
pub fn readings(c: char, toned: bool) -> Vec<&'static str> {
    let Some(multi) = c.to_pinyin_multi() else {
        return Vec::new();
    };
    let everyday = POLYPHONES.get(&c);
    let mut found: Vec<&'static str> = multi
        .into_iter()
        .enumerate()
        .filter(|(index, p)| {
            *index == 0 || everyday.is_some_and(|list| list.contains(&p.with_tone()))
        })
        .map(|(_, p)| if toned { p.with_tone() } else { p.plain() })
        .collect();
    found.dedup();
    let mut seen = Vec::new();
    found.retain(|r| {
        let new = !seen.contains(r);
        seen.push(*r);
        new
    });
    found
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
    fn only_readings_in_common_use_link() {
        // 怀 is huái; its rare fù must not reach 不 (fǒu/fū) through "fu".
        assert!(!links('怀', '不', LinkMode::Loose));
        assert_eq!(readings('怀', true), vec!["huái"]);
        // Everyday polyphones keep their readings.
        assert!(links('长', '掌', LinkMode::Loose));
        assert!(links('长', '常', LinkMode::Strict));
        assert!(links('行', '航', LinkMode::Loose));
        assert!(links('彩', '才', LinkMode::Loose));
        assert!(
            !IDIOM_LIST
                .continuations("耿耿于怀", LinkMode::Loose, &HashSet::new())
                .contains(&"不可思议")
        );
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
