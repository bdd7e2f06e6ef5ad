//! The text side of the rules: one normalisation of a message's text that every check reads
//! (`Normalised::of`), undoing the tricks spammers use to slip past a word list or a link check
//! — full-width letters, zero-width joiners, Cyrillic look-alikes, spaces between characters or
//! around a link's dots (`t . me / joinchat`), stand-ins for 微信 (`V信`, `薇信`, `+微信`, `vx`,
//! `wxid_`) — and finding links. Pure functions; the feature feeds them messages and settings.
//!
//! The same normalisation is applied to the words a group blocks, so a word and its disguises
//! meet in one form: the stand-ins are equivalence classes, not a list of spellings.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// A message's text in the forms the checks compare, made once per message.
#[derive(Clone, Debug, Default)]
pub struct Normalised {
    /// `fold`: width, case, invisible marks and look-alike letters undone. Patterns, mentions
    /// and repeats read this.
    pub folded: String,
    /// `folded` with link-like runs put back together (`t . me / x` → `t.me/x`, `t。me`,
    /// `t点me`). Only the link checks read it: joining prose would make links of sentences.
    pub linked: String,
    /// `folded` with the stand-ins for 微信 and 加 replaced (`加V信` → `加微信`). Patterns are
    /// tried on it as well as on `folded`.
    pub canonical: String,
    /// `canonical` with everything but letters and digits removed: what words are found in.
    pub squeezed: String,
}

impl Normalised {
    pub fn of(text: &str) -> Normalised {
        let folded = fold(text);
        let linked = join_links(&folded);
        let canonical = canonical(&folded);
        let squeezed = squeeze(&canonical);
        Normalised {
            folded,
            linked,
            canonical,
            squeezed,
        }
    }
}

/// A blocked word as it is compared: normalised the way messages are.
pub fn word_key(word: &str) -> String {
    squeeze(&canonical(&fold(word)))
}

/// The text as filters compare it: compatibility-normalised (full-width `ｗｅｉｘｉｎ` and `１２３`
/// become `weixin` and `123`, circled and styled letters become plain ones), lower-cased,
/// without invisible characters, and with Cyrillic and Greek look-alikes inside a run that has
/// Latin letters made Latin (`t.mе` with a Cyrillic `е`).
pub fn fold(text: &str) -> String {
    let folded: Vec<char> = text
        .nfkc()
        .filter(|c| !is_invisible(*c))
        .flat_map(char::to_lowercase)
        .collect();
    let mut out = String::with_capacity(folded.len());
    let mut start = 0;
    while start < folded.len() {
        let in_run = |c: char| c.is_alphanumeric() || matches!(c, '.' | '/' | '-' | '_');
        if !in_run(folded[start]) {
            out.push(folded[start]);
            start += 1;
            continue;
        }
        let end = (start..folded.len())
            .find(|&i| !in_run(folded[i]))
            .unwrap_or(folded.len());
        let run = &folded[start..end];
        let mixed = run.iter().any(char::is_ascii_lowercase)
            && run.iter().any(|c| latin_look_alike(*c).is_some());
        out.extend(run.iter().map(|c| {
            if mixed {
                latin_look_alike(*c).unwrap_or(*c)
            } else {
                *c
            }
        }));
        start = end;
    }
    out
}

/// The Latin letter a lower-case Cyrillic or Greek letter passes for.
fn latin_look_alike(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ё' | 'ε' => 'e',
        'һ' => 'h',
        'і' | 'ї' | 'ι' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'ӏ' => 'l',
        'м' => 'm',
        'п' | 'η' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' | 'ս' => 'u',
        'ν' | 'ѵ' => 'v',
        'ԝ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        _ => return None,
    })
}

/// Folded text with everything but letters and digits removed: `加 微 信`, `加-微-信` and
/// `w.e.i.x.i.n` become `加微信` and `weixin`.
pub fn squeeze(folded: &str) -> String {
    folded.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Characters that show nothing and exist in spam to break up words.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' // soft hyphen
        | '\u{034F}' // combining grapheme joiner
        | '\u{061C}' // Arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{180E}' // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, joiners, direction marks
        | '\u{202A}'..='\u{202E}' // embeddings and overrides
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, isolates
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}')
}

/// Characters typed in place of 微 (same sound or shape).
fn is_wei(c: char) -> bool {
    matches!(c, '微' | '薇' | '威' | '徽' | '嶶' | '溦' | '媺')
}

/// Characters typed in place of 信 after a 微 or a V.
fn is_xin(c: char) -> bool {
    matches!(c, '信' | '芯' | '心' | '❤' | '♥' | '♡' | '💗' | '💕')
}

/// Latin spellings of 微信, whole or spelled out (`weixin`, `w e i x i n`, `vx`).
const WEIXIN_WORDS: [&str; 7] = ["weixin", "wechat", "weixing", "vx", "wx", "vxin", "wxin"];

/// Separators spammers put between the letters of a word.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | '-' | '_' | '*' | '·' | '|' | '/' | '\\' | ',' | '~'
        )
}

/// `folded` with the stand-ins for 微信 and 加 replaced by them: `加V信`, `加薇信`, `+微信`,
/// `加 vx`, `w.e.c.h.a.t` and `wxid_…` (a WeChat id) all come out with 微信 in them.
fn canonical(folded: &str) -> String {
    let chars: Vec<char> = folded.chars().collect();
    // Latin letter runs, each (start, end).
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_lowercase() {
            let end = (i..chars.len())
                .find(|&j| !chars[j].is_ascii_lowercase())
                .unwrap_or(chars.len());
            runs.push((i, end));
            i = end;
        } else {
            i += 1;
        }
    }
    // What replaces a stretch of the text: (start, end, replacement).
    let mut replaced: Vec<(usize, usize, &str)> = Vec::new();
    let mut r = 0;
    while r < runs.len() {
        // The longest stretch of runs joined only by separators that spells a 微信 word.
        let mut spelled = String::new();
        let mut found = None;
        for (k, &(start, end)) in runs.iter().enumerate().skip(r).take(8) {
            if k > r {
                let gap = &chars[runs[k - 1].1..start];
                if gap.len() > 3 || !gap.iter().all(|c| is_separator(*c)) {
                    break;
                }
            }
            spelled.extend(&chars[start..end]);
            if WEIXIN_WORDS.contains(&spelled.as_str()) {
                found = Some((k, end));
            }
        }
        let (start, end) = runs[r];
        let run: String = chars[start..end].iter().collect();
        if let Some((k, end)) = found {
            replaced.push((start, end, "微信"));
            r = k + 1;
            continue;
        }
        if run.starts_with("wxid") {
            replaced.push((start, start + 4, "微信号"));
        } else if run == "v" || run == "w" {
            // `V信`, `加V`, `+v`: a lone V next to 信 or after 加 stands for 微.
            let next = chars[end..].iter().find(|c| !c.is_whitespace());
            let before = chars[..start].iter().rev().find(|c| !c.is_whitespace());
            if next.is_some_and(|c| is_xin(*c)) {
                replaced.push((start, end, "微"));
            } else if before.is_some_and(|c| matches!(c, '加' | '+' | '➕')) {
                replaced.push((start, end, "微信"));
            }
        } else if run == "x"
            && chars[..start]
                .iter()
                .rev()
                .find(|c| !c.is_whitespace())
                .is_some_and(|c| is_wei(*c))
        {
            // `微x`, `薇 x`.
            replaced.push((start, end, "信"));
        }
        r += 1;
    }
    let mut out = String::with_capacity(folded.len());
    let mut next_replacement = replaced.iter().peekable();
    let mut i = 0;
    let mut after_wei = false;
    while i < chars.len() {
        if let Some(&&(start, end, with)) = next_replacement.peek()
            && start == i
        {
            out.push_str(with);
            after_wei = with.ends_with('微');
            next_replacement.next();
            i = end;
            continue;
        }
        let c = chars[i];
        let next_word = chars[i + 1..].iter().find(|c| !c.is_whitespace());
        let mapped = if is_wei(c) {
            '微'
        } else if after_wei && is_xin(c) {
            '信'
        } else if matches!(c, '+' | '➕')
            && next_word.is_some_and(|n| is_cjk(*n) || matches!(n, 'v' | 'w' | 'q'))
        {
            // `+微信`, `+V`, `+q`; `+1` (a sign-up) and `+86` stay.
            '加'
        } else {
            c
        };
        if !c.is_whitespace() {
            after_wei = mapped == '微';
        }
        out.push(mapped);
        i += 1;
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

/// A blocked word: as the operator or an admin wrote it (what the log chat shows), and as it
/// is compared (`word_key`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub written: String,
    pub key: String,
}

impl Word {
    /// `None` for a word with nothing left to compare (`!!!`).
    pub fn new(written: &str) -> Option<Word> {
        let key = word_key(written);
        (!key.is_empty()).then(|| Word {
            written: written.trim().to_owned(),
            key,
        })
    }
}

/// The first blocked word or pattern the message contains.
pub fn blocked_phrase(text: &Normalised, words: &[Word], patterns: &[Regex]) -> Option<String> {
    if let Some(word) = words.iter().find(|word| text.squeezed.contains(&word.key)) {
        return Some(word.written.clone());
    }
    patterns
        .iter()
        .find(|pattern| pattern.is_match(&text.folded) || pattern.is_match(&text.canonical))
        .map(|pattern| pattern.as_str().to_owned())
}

/// Whitespace around a link's dots and slashes, put back together. Prose keeps its spaces:
/// a dot with a space only after it is a sentence's end unless a path follows (`t. me/x`).
fn join_links(folded: &str) -> String {
    static DOTS: LazyLock<Regex> = LazyLock::new(|| {
        // Between Latin letters or digits: a dot in disguise (`t。me`, `t点me`, `t[.]me`, `t·me`).
        Regex::new(
            r"([a-z0-9])[ \t]*(?:[。｡·・•]|点|\[\.\]|\(\.\)|（\.）|\(点\)|（点）)[ \t]*([a-z0-9])",
        )
        .expect("compiles")
    });
    static SPACED_DOT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"([a-z0-9])\s+\.\s*([a-z0-9])").expect("compiles"));
    static DOT_THEN_PATH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"([a-z0-9])\.\s+([a-z0-9][a-z0-9-]*\s*/)").expect("compiles"));
    static SPACED_SLASH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(
            r"(\.(?:{TLDS})(?:/[^\s/]+)*)(?:\s+/\s*|/\s+)([+a-z0-9_])"
        ))
        .expect("compiles")
    });
    let mut text = folded.to_owned();
    for pattern in [&*DOTS, &*SPACED_DOT, &*DOT_THEN_PATH] {
        // Each pass joins every other dot of `a . b . c`; a few passes join any real address.
        for _ in 0..4 {
            let joined = pattern.replace_all(&text, "$1.$2").into_owned();
            if joined == text {
                break;
            }
            text = joined;
        }
    }
    for _ in 0..6 {
        let joined = SPACED_SLASH.replace_all(&text, "$1/$2").into_owned();
        if joined == text {
            break;
        }
        text = joined;
    }
    text
}

/// Top-level domains common enough in spam and ordinary chat that a bare `name.tld` is taken
/// for an address. A scheme (`http://`) or `www.` makes anything an address.
const TLDS: &str = "com|net|org|cn|io|me|co|xyz|top|info|cc|tk|ru|app|dev|vip|club|shop|site|online|link|live|ly|gg|to|tv|biz|us|uk|de|jp|hk|tw|sg|in|ai|so|fun|icu|pro|work|ink|wang|ltd|group|store|tech|website|space|life|xin";

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?ix)
        (?: [a-z][a-z0-9+.-]*://[^\s/?\#]+ )                       # scheme://host
        | (?: www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+ )                  # www.host
        | (?: \b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.(?:{TLDS})\b (?:/\S*)? )
        "
    ))
    .expect("the address pattern compiles")
});

static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^a-z0-9_])@([a-z][a-z0-9_]{3,31})\b").expect("compiles")
});

/// Web addresses in the text, as hosts (`t.me/+abc` → `t.me/+abc`'s host `t.me`), plus those
/// the platform marked (text links hide their address from the text).
pub fn addresses(linked: &str, marked: &[String]) -> Vec<String> {
    let mut found: Vec<String> = ADDRESS
        .find_iter(linked)
        // `someone@qq.com` is an email address, not a link (a scheme's `user@host` is
        // matched whole by the scheme's branch).
        .filter(|m| !linked[..m.start()].ends_with('@'))
        .map(|m| m.as_str().to_owned())
        .collect();
    found.extend(marked.iter().map(|link| fold(link)));
    found
}

/// The host of an address: `https://Sub.Example.com/x` → `sub.example.com`.
pub fn host_of(address: &str) -> String {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default();
    host.split(':').next().unwrap_or_default().to_lowercase()
}

/// Whether an address is on the allow-list (a listed domain or one of its subdomains).
pub fn allowed(address: &str, allow_domains: &[String]) -> bool {
    let host = host_of(address);
    allow_domains
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
}

/// The first address in the message that is not allowed.
pub fn forbidden_address(
    linked: &str,
    marked: &[String],
    allow_domains: &[String],
) -> Option<String> {
    addresses(linked, marked)
        .into_iter()
        .find(|address| !allowed(address, allow_domains))
}

/// The @usernames in the text and those the platform marked, lower-cased, without the `@`.
pub fn mentioned_usernames(folded: &str, marked: &[String]) -> Vec<String> {
    let mut names: Vec<String> = MENTION
        .captures_iter(folded)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_owned()))
        .collect();
    names.extend(
        marked
            .iter()
            .map(|m| m.trim_start_matches('@').to_lowercase()),
    );
    names.sort();
    names.dedup();
    names
}

/// What a repeated message is recognised by: its squeezed text (so that adding a space or an
/// emoji does not make it new). Empty for messages with no letters or digits (stickers).
pub fn fingerprint(folded: &str) -> String {
    squeeze(folded).chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(text: &str, words: &[&str]) -> Option<String> {
        let words: Vec<Word> = words.iter().filter_map(|w| Word::new(w)).collect();
        blocked_phrase(&Normalised::of(text), &words, &[])
    }

    fn link(text: &str) -> Option<String> {
        forbidden_address(&Normalised::of(text).linked, &[], &[])
    }

    #[test]
    fn stand_ins_for_weixin_meet_the_word_they_stand_for() {
        let words = ["加微信"];
        for evasion in [
            "加V信 123456",
            "加v信",
            "加薇信",
            "加威信领红包",
            "+微信 abc",
            "＋薇信",
            "➕V信",
            "加 vx：abc123",
            "加 v x abc",
            "+vx",
            "加V：abc123",
            "加微x",
            "加 w.e.i.x.i.n",
            "加wechat",
            "加微❤",
            "加V芯",
        ] {
            assert_eq!(
                blocked(evasion, &words).as_deref(),
                Some("加微信"),
                "{evasion}"
            );
        }
        // A WeChat id is a WeChat contact.
        assert_eq!(blocked("wxid_k2j3h4l5", &["微信"]).as_deref(), Some("微信"));
        // Words written in a stand-in meet the real thing too.
        assert_eq!(
            blocked("我的微信是这个", &["weixin"]).as_deref(),
            Some("weixin")
        );
        // Ordinary words with those letters inside stay themselves.
        for fine in [
            "vxlan 的配置",
            "wxpython 教程",
            "+1",
            "+86 138",
            "我微博见",
            "devx",
        ] {
            assert_eq!(blocked(fine, &["微信", "加微信"]), None, "{fine}");
        }
    }

    #[test]
    fn link_parts_spaced_or_dotted_otherwise_are_joined() {
        for evasion in [
            "t . me / joinchat / AbCdEf",
            "t .me/joinchat",
            "t. me/joinchat",
            "t 。 me / somegroup",
            "t点me/somegroup",
            "t[.]me/x",
            "ｔ．ｍｅ／ｊｏｉｎｃｈａｔ",
            "t.mе/x",
            "spam . xyz",
        ] {
            assert!(link(evasion).is_some(), "{evasion}");
        }
        assert_eq!(
            link("t . me / joinchat / AbCdEf").as_deref(),
            Some("t.me/joinchat/abcdef")
        );
        // Sentences keep their spaces.
        for prose in [
            "ok. me too",
            "got it. to be honest",
            "I agree. co-founders welcome",
            "我在上海。明天见",
            "三点me too",
        ] {
            assert_eq!(link(prose), None, "{prose}");
        }
    }

    #[test]
    fn emails_are_not_links() {
        assert_eq!(link("发到 someone@qq.com 就行"), None);
        assert_eq!(link("mail me: first.last@example.co.uk"), None);
        // A scheme's user@host is still a link.
        assert!(link("https://someone@spam.xyz/x").is_some());
    }

    #[test]
    fn look_alike_letters_inside_latin_words_are_latin() {
        assert_eq!(fold("t.mе"), "t.me");
        assert_eq!(fold("sраm"), "spam");
        // Russian stays Russian.
        assert_eq!(fold("привет"), "привет");
    }

    #[test]
    fn folding_undoes_width_case_and_invisible_tricks() {
        assert_eq!(fold("ＷＥＩＸＩＮ１２３"), "weixin123");
        assert_eq!(fold("加\u{200B}微\u{200D}信"), "加微信");
        assert_eq!(squeeze(&fold("加 微 信")), "加微信");
        assert_eq!(squeeze(&fold("w.e.i-x i_n")), "weixin");
    }

    #[test]
    fn blocklist_catches_spaced_full_width_and_zero_width_spellings() {
        let words = ["加微信", "weixin"];
        assert_eq!(
            blocked("想赚钱 加 微 信 123", &words).as_deref(),
            Some("加微信")
        );
        assert_eq!(
            blocked("ｗｅｉｘｉｎ：abc", &words).as_deref(),
            Some("weixin")
        );
        assert_eq!(
            blocked("加\u{200B}微\u{2060}信", &words).as_deref(),
            Some("加微信")
        );
        assert_eq!(blocked("WeiXin", &words).as_deref(), Some("weixin"));
        assert_eq!(blocked("今天天气不错", &words), None);
    }

    #[test]
    fn patterns_run_on_folded_text() {
        let pattern = Regex::new(r"v\s*x\s*[:：]?\s*\d{5,}").unwrap();
        let found = blocked_phrase(&Normalised::of("ＶＸ：１２３４５６"), &[], &[pattern]);
        assert!(found.is_some());
    }

    #[test]
    fn finds_addresses_in_their_disguises() {
        let find = |text: &str| forbidden_address(&Normalised::of(text).linked, &[], &[]);
        assert!(find("join t.me/+AbCdEf now").is_some());
        assert!(find("看这里 ｔ．ｍｅ/somegroup").is_some());
        assert!(find("t。me/somegroup").is_some());
        assert!(find("https://example.org/x").is_some());
        assert!(find("www.example.net").is_some());
        assert!(find("spam.xyz").is_some());
        assert_eq!(find("see readme.md and main.rs, 3.14 is pi"), None);
        assert_eq!(find("我在上海。明天见"), None);
    }

    #[test]
    fn allow_list_covers_subdomains_only_of_the_named_domain() {
        let allow = vec!["github.com".to_owned()];
        assert!(allowed("https://github.com/x/y", &allow));
        assert!(allowed("gist.github.com/abc", &allow));
        assert!(!allowed("github.com.evil.io/x", &allow));
        assert!(!allowed("notgithub.com", &allow));
        assert_eq!(host_of("HTTPS://user@Example.COM:8080/path"), "example.com");
    }

    #[test]
    fn marked_links_count_even_when_the_text_hides_them() {
        let hidden = vec!["https://spam.example.ru/join".to_owned()];
        assert!(forbidden_address(&fold("点这里"), &hidden, &[]).is_some());
    }

    #[test]
    fn mentions_are_found_in_text_and_entities() {
        let names = mentioned_usernames(
            &fold("加入 @SpamChannel 或 email a@b.co"),
            &["@Other_Group".into()],
        );
        assert_eq!(names, vec!["other_group", "spamchannel"]);
    }
}
