//! The text side of the rules: folding away the tricks spammers use to slip past a word list
//! (full-width letters, zero-width joiners, spaces between characters), and finding links.
//! Pure functions; the feature feeds them messages and settings.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// The text as filters compare it: compatibility-normalised (full-width `ｗｅｉｘｉｎ` and `１２３`
/// become `weixin` and `123`, circled and styled letters become plain ones), lower-cased, and
/// without invisible characters.
pub fn fold(text: &str) -> String {
    text.nfkc()
        .filter(|c| !is_invisible(*c))
        .flat_map(char::to_lowercase)
        .collect()
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

/// The first blocked word or pattern the message contains.
pub fn blocked_phrase(folded: &str, words: &[String], patterns: &[Regex]) -> Option<String> {
    let squeezed = squeeze(folded);
    if let Some(word) = words.iter().find(|word| squeezed.contains(word.as_str())) {
        return Some(word.clone());
    }
    patterns
        .iter()
        .find(|pattern| pattern.is_match(folded))
        .map(|pattern| pattern.as_str().to_owned())
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
pub fn addresses(folded: &str, marked: &[String]) -> Vec<String> {
    // The ideographic full stop is typed between domain parts to dodge filters: t。me.
    let dotted = folded.replace(['。', '｡'], ".");
    let mut found: Vec<String> = ADDRESS
        .find_iter(&dotted)
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
    folded: &str,
    marked: &[String],
    allow_domains: &[String],
) -> Option<String> {
    addresses(folded, marked)
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
        let words: Vec<String> = words.iter().map(|w| squeeze(&fold(w))).collect();
        blocked_phrase(&fold(text), &words, &[])
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
        let found = blocked_phrase(&fold("ＶＸ：１２３４５６"), &[], &[pattern]);
        assert!(found.is_some());
    }

    #[test]
    fn finds_addresses_in_their_disguises() {
        let find = |text: &str| forbidden_address(&fold(text), &[], &[]);
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
