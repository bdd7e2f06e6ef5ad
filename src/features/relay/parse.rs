//! Reading what members type: a new list with its options, a pasted WeChat #接龙 block, a
//! deadline in the forms people write it, and the short replies (`+1`, `修改 …`, `退出`) they
//! send to a list.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::core::numbers;

/// Longest title, example, note or entry text kept, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Most lines taken over from a pasted list.
pub const MAX_IMPORTED_ENTRIES: usize = 500;

/// A list as the member described it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListSpec {
    pub title: String,
    pub example: Option<String>,
    pub note: Option<String>,
    pub capacity: Option<i64>,
    pub one_per_member: Option<bool>,
    pub deadline: Option<String>,
    pub remind_minutes: Option<i64>,
    /// Lines of a pasted WeChat list, in their order.
    pub entries: Vec<String>,
}

/// Why a description could not be read; each has a message for the member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecError {
    NoTitle,
    BadCapacity(String),
    BadRemind(String),
}

/// An option line: which one, and the value after its keyword.
enum Opt<'a> {
    Example(&'a str),
    Capacity(&'a str),
    Deadline(&'a str),
    Remind(&'a str),
    NoRemind,
    OnePerMember(bool),
    Note(&'a str),
}

/// Keywords that start an option, longest first so that `截止时间` wins over `截止`.
const KEYWORDS: &[&str] = &[
    "人数上限",
    "截止时间",
    "截至时间",
    "提前提醒",
    "每人限",
    "每人",
    "上限",
    "名额",
    "截止",
    "截至",
    "限",
    "提醒",
    "备注",
    "例",
    "limit",
    "max",
    "deadline",
    "until",
    "remind",
    "example",
    "note",
];

/// Whether words after `截止` are meant as a time (a digit, or a day or time word), so that one
/// that does not read is said to be wrong rather than taken for part of the title:
/// `截止 周八` is a bad deadline, `截止报名看公告` words.
fn looks_like_time(value: &str) -> bool {
    numbers::ascii_digits(value)
        .chars()
        .any(|c| c.is_ascii_digit() || "今明后周星礼月号点晚午".contains(c))
}

/// `10人`, `10 人`, `30名`: a head count on its own, the list's capacity.
fn bare_capacity(line: &str) -> Option<&str> {
    let number = line.trim().strip_suffix(['人', '名'])?.trim();
    (numbers::whole_in(number, 1..=10_000).is_some()).then_some(line.trim())
}

/// Reads a line as an option, if it is one.
fn option(line: &str) -> Option<Opt<'_>> {
    let line = line.trim();
    match line {
        "不提醒" | "no reminder" => return Some(Opt::NoRemind),
        "每人一条" | "每人限一条" | "每人限1条" | "每人1条" | "每人限 1 条" | "one each" =>
        {
            return Some(Opt::OnePerMember(true));
        }
        "每人多条" | "可多条" | "不限条数" | "每人不限" | "multi" | "multiple" => {
            return Some(Opt::OnePerMember(false));
        }
        _ => {}
    }
    // `明天18点截止`, `周五18:00前截止`: the time first.
    if let Some(rest) = ["截止", "截至"].iter().find_map(|w| line.strip_suffix(w)) {
        let rest = rest.trim();
        if !rest.is_empty() && looks_like_time(rest) {
            return Some(Opt::Deadline(rest));
        }
    }
    if let Some(capacity) = bare_capacity(line) {
        return Some(Opt::Capacity(capacity));
    }
    let keyword = KEYWORDS.iter().find(|k| {
        line.get(..k.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(k))
    })?;
    let rest = &line[keyword.len()..];
    let value = rest.trim_start_matches([':', '：', ' ', '\u{3000}']).trim();
    // "例会报名" and "maximum" are words of their own, not an option: these keywords need a
    // space or a colon after them.
    let needs_separator = *keyword == "例" || *keyword == "备注" || keyword.is_ascii();
    if needs_separator && !rest.is_empty() && !rest.starts_with([':', '：', ' ', '\u{3000}']) {
        return None;
    }
    // "名额有限", "提醒大家带水": ordinary words, unless a number follows.
    if matches!(*keyword, "名额" | "提醒" | "提前提醒" | "限") && !numbers::looks_like_number(value)
    {
        return None;
    }
    Some(match *keyword {
        "例" | "example" => Opt::Example(value),
        "人数上限" | "上限" | "名额" | "限" | "limit" | "max" => Opt::Capacity(value),
        "截止时间" | "截至时间" | "截止" | "截至" | "deadline" | "until" => {
            Opt::Deadline(value)
        }
        "提前提醒" | "提醒" | "remind" => Opt::Remind(value),
        "每人限" | "每人" => match value.trim_end_matches(['条', '次', '个']).trim() {
            "1" | "一" => Opt::OnePerMember(true),
            "多" | "不限" => Opt::OnePerMember(false),
            _ => return None,
        },
        _ => Opt::Note(value),
    })
}

/// `1. 张三`, `2、李四`, `3.王五`, `4．赵六`: a numbered line and its text.
pub fn numbered(line: &str) -> Option<&str> {
    let line = line.trim();
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 4 {
        return None;
    }
    let rest = &line[digits..];
    let separator = rest.chars().next()?;
    // `4 赵六`: WeChat users who type the next number by hand often leave the dot out.
    if separator.is_whitespace() && digits <= 3 {
        let text = rest.trim();
        let starts_as_words = text
            .chars()
            .next()
            .is_some_and(|c| !c.is_ascii_digit() && !"人名位个份条".contains(c));
        return starts_as_words.then_some(text);
    }
    if !matches!(separator, '.' | '、' | '．' | '。' | ')' | '）') {
        return None;
    }
    Some(rest[separator.len_utf8()..].trim())
}

fn clip(text: &str) -> String {
    text.trim().chars().take(MAX_TEXT_CHARS).collect()
}

/// Splits options written on the title line (`周六爬山 上限 30 截止 周五 18:00`) onto lines
/// of their own. An option word only counts after a space and with a value that reads, so a
/// title such as `周六爬山 名额有限` or `读书会 提醒大家带书` stays whole.
fn split_inline_options(line: &str) -> Vec<String> {
    let mut cuts = Vec::new();
    for (at, c) in line.char_indices() {
        if !(c == ' ' || c == '\u{3000}') {
            continue;
        }
        let after = &line[at + c.len_utf8()..];
        let first_word = after.split([' ', '\u{3000}']).next().unwrap_or_default();
        // `限 10 人`: the value of the keyword before, not an option of its own.
        let word_before = line[..at]
            .rsplit([' ', '\u{3000}'])
            .next()
            .unwrap_or_default();
        if KEYWORDS.contains(&word_before) {
            continue;
        }
        if option(after).is_some_and(|opt| !matches!(opt, Opt::Note(_)))
            || option(first_word)
                .is_some_and(|opt| matches!(opt, Opt::Capacity(_) | Opt::Deadline(_)))
        {
            cuts.push(at);
        }
    }
    cuts.push(line.len());
    let mut parts = vec![line[..cuts[0]].to_owned()];
    for pair in cuts.windows(2) {
        let segment = &line[pair[0]..pair[1]];
        if reads(segment) {
            parts.push(segment.trim().to_owned());
        } else if let Some(last) = parts.last_mut() {
            last.push_str(segment);
        }
    }
    parts
}

/// Whether an option's value makes sense (for options found inside a title line).
fn reads(segment: &str) -> bool {
    match option(segment) {
        Some(Opt::Capacity(value)) => capacity(value).is_ok(),
        Some(Opt::Remind(value)) => minutes(value).is_ok(),
        Some(Opt::Deadline(value)) => {
            // Any instant will do to see whether the words are a time at all; words meant as
            // one that do not read are kept apart too, to be answered, not put in the title.
            let long_ago = Utc.with_ymd_and_hms(2000, 1, 3, 0, 0, 0).single();
            long_ago.is_some_and(|t| deadline(value, t, chrono_tz::UTC).is_some())
                || looks_like_time(value)
        }
        Some(Opt::Example(value)) => !value.is_empty(),
        Some(Opt::Note(_)) | None => false,
        Some(_) => true,
    }
}

/// Reads the text after `/relay` or `接龙`: a title (one or more lines), then option lines in any
/// order, then, for a pasted WeChat list, numbered entries and a closing note.
pub fn list_spec(text: &str) -> Result<ListSpec, SpecError> {
    let mut spec = ListSpec::default();
    let mut title_lines: Vec<String> = Vec::new();
    let mut note_lines: Vec<String> = Vec::new();
    let mut seen_entries = false;
    let mut in_title = true;
    let mut after_blank = false;
    let mut lines: Vec<String> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if index == 0 {
            lines.extend(split_inline_options(line));
        } else {
            lines.push(line.to_owned());
        }
    }
    for raw in &lines {
        let line = raw.trim();
        // A header line in a paste ("#接龙" on its own) adds nothing.
        if matches!(line, "#接龙" | "#接龍" | "#Group Note") {
            continue;
        }
        if line.is_empty() {
            if !title_lines.is_empty() {
                in_title = false;
            }
            after_blank = true;
            continue;
        }
        // The first line is the title, whatever it says.
        if title_lines.is_empty() {
            title_lines.push(line.to_owned());
            continue;
        }
        if let Some(entry) = numbered(line) {
            in_title = false;
            seen_entries = true;
            after_blank = false;
            if !entry.is_empty() && spec.entries.len() < MAX_IMPORTED_ENTRIES {
                spec.entries.push(clip(entry));
            }
            continue;
        }
        if let Some(opt) = option(line) {
            in_title = false;
            match opt {
                Opt::Example(value) if !value.is_empty() => spec.example = Some(clip(value)),
                Opt::Capacity(value) => spec.capacity = Some(capacity(value)?),
                Opt::Deadline(value) => spec.deadline = Some(value.to_owned()),
                Opt::Remind(value) => spec.remind_minutes = Some(minutes(value)?),
                Opt::NoRemind => spec.remind_minutes = Some(0),
                Opt::OnePerMember(one) => spec.one_per_member = Some(one),
                Opt::Note(value) if !value.is_empty() => note_lines.push(value.to_owned()),
                _ => {}
            }
            continue;
        }
        if in_title {
            title_lines.push(line.to_owned());
        } else if seen_entries && !after_blank {
            // WeChat lets an entry run on over several lines ("2. 倪彩霞\ngt7").
            if let Some(last) = spec.entries.last_mut() {
                *last = clip(&format!("{last} {line}"));
            }
        } else {
            note_lines.push(line.to_owned());
        }
    }
    let title = clip(&title_lines.join("\n"));
    if title.is_empty() {
        return Err(SpecError::NoTitle);
    }
    spec.title = title;
    if !note_lines.is_empty() {
        spec.note = Some(clip(&note_lines.join("\n")));
    }
    Ok(spec)
}

/// Whether the text after `接龙` is a member's line rather than a new list, while lists are
/// open: one line with no list option in it (`接龙 张三 2份`). What an organiser writes to start
/// a list has more: an option (`上限 30`, `截止 周五 18:00`, `例 …`, on the title line or a line
/// of its own), a second line, or a pasted WeChat list. A text that does not read as a list at
/// all (a bad option) is left to the list parser, which says what is wrong.
pub fn is_entry_line(text: &str) -> bool {
    let text = text.trim();
    if text.lines().count() > 1 {
        return false;
    }
    // `张三 3人` is a member saying how many come, not a capacity.
    let text = match text.rsplit_once([' ', '\u{3000}']) {
        Some((rest, last)) if bare_capacity(last).is_some() => rest.trim(),
        _ => text,
    };
    match list_spec(text) {
        Ok(spec) => {
            spec.entries.is_empty()
                && spec.example.is_none()
                && spec.note.is_none()
                && spec.capacity.is_none()
                && spec.one_per_member.is_none()
                && spec.deadline.is_none()
                && spec.remind_minutes.is_none()
        }
        Err(_) => false,
    }
}

/// `30`, `30人`, `30 名`.
fn capacity(value: &str) -> Result<i64, SpecError> {
    let number = value
        .trim()
        .trim_end_matches(['人', '名', '位', '个', '份'])
        .trim();
    numbers::whole_in(number, 1..=10_000).ok_or_else(|| SpecError::BadCapacity(value.to_owned()))
}

/// `30`, `30分钟`, `30m`, `1h`, `1小时`: minutes before the deadline.
fn minutes(value: &str) -> Result<i64, SpecError> {
    let bad = || SpecError::BadRemind(value.to_owned());
    let value = value.trim().trim_start_matches("提前").trim();
    let value = value.trim_end_matches("提醒").trim();
    if value.is_empty() {
        return Err(bad());
    }
    let most = 10_080; // a week
    match duration(value) {
        Some(duration) => Some(duration.num_minutes()).filter(|m| (0..=most).contains(m)),
        None => numbers::whole_in(value, 0..=most),
    }
    .ok_or_else(bad)
}

/// `2h`, `30m`, `90min`, `2小时`, `30分钟`, `1天`, `1d`: a span of time, in the grammar
/// everything else uses. A list runs for a year at most; anything longer is a typo (and would
/// overflow a date).
pub fn duration(text: &str) -> Option<Duration> {
    crate::core::duration::parse(text).filter(|duration| *duration <= Duration::days(366))
}

fn weekday(word: &str) -> Option<Weekday> {
    let day = word
        .strip_prefix("星期")
        .or_else(|| word.strip_prefix("礼拜"))
        .or_else(|| word.strip_prefix('周'))?;
    Some(match day {
        "一" | "1" => Weekday::Mon,
        "二" | "2" => Weekday::Tue,
        "三" | "3" => Weekday::Wed,
        "四" | "4" => Weekday::Thu,
        "五" | "5" => Weekday::Fri,
        "六" | "6" => Weekday::Sat,
        "日" | "天" | "7" => Weekday::Sun,
        _ => return None,
    })
}

fn english_weekday(word: &str) -> Option<Weekday> {
    let word = word.to_lowercase();
    [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ]
    .iter()
    .find(|(prefix, _)| word.starts_with(prefix) && word.len() <= 9)
    .map(|(_, day)| *day)
}

/// `18:00`, `18：00`, `18点`, `18点半`, `6点30`, with 上午/下午/晚上 before it.
fn time_of_day(text: &str) -> Option<NaiveTime> {
    time_of_day_in(text, false)
}

/// `time_of_day`, where `evening` (今晚, 明晚) makes a bare `8点` 20:00.
fn time_of_day_in(text: &str, evening: bool) -> Option<NaiveTime> {
    let text = text.trim();
    let (part, text) = ["下午", "晚上", "傍晚", "pm"]
        .iter()
        .find_map(|p| text.strip_prefix(p).map(|rest| (Some(true), rest)))
        .or_else(|| {
            ["上午", "早上", "早晨", "am"]
                .iter()
                .find_map(|p| text.strip_prefix(p).map(|rest| (Some(false), rest)))
        })
        .or_else(|| text.strip_prefix("中午").map(|rest| (None, rest)))
        .unwrap_or((Some(evening), text));
    let text = text.trim().trim_end_matches(['前', '整']).trim();
    let (hour, minute) = if let Some((h, m)) = text.split_once([':', '：']) {
        (h.trim().parse::<u32>().ok()?, m.trim().parse::<u32>().ok()?)
    } else if let Some((h, m)) = text.split_once(['点', '时']) {
        let minute = match m.trim().trim_end_matches('分') {
            "" => 0,
            "半" => 30,
            m => numbers::whole_in(m, 0..=59)? as u32,
        };
        (numbers::whole_in(h, 0..=24)? as u32, minute)
    } else {
        return None;
    };
    let hour = match part {
        Some(true) if hour < 12 => hour + 12,
        // 中午12点 is noon, 中午1点 one in the afternoon.
        None if hour < 6 => hour + 12,
        _ => hour,
    };
    NaiveTime::from_hms_opt(hour, minute, 0)
}

/// Words that name a day, longest first, with whether they mean the evening (今晚 8点 = 20:00).
const DAY_WORDS: &[(&str, bool)] = &[
    ("今天", false),
    ("今日", false),
    ("今晚", true),
    ("明天", false),
    ("明日", false),
    ("明晚", true),
    ("后天", false),
    ("tonight", true),
    ("tomorrow", false),
    ("today", false),
];

/// Splits `今晚8点`, `周五18:00`, `下周一上午9点`, `3月8日18点` into the day and the time written
/// after it with no space between; `None` when the text does not start with a day.
fn glued_day(text: &str) -> Option<(&str, &str)> {
    let lowered = text.to_lowercase();
    if let Some((word, _)) = DAY_WORDS.iter().find(|(w, _)| lowered.starts_with(w)) {
        return Some(text.split_at(word.len()));
    }
    // 本周五, 这周五, 下周五, 星期五, 礼拜五, 周五.
    let after_prefix = ["本", "这", "下"]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(text);
    for week in ["星期", "礼拜", "周"] {
        if let Some(rest) = after_prefix.strip_prefix(week) {
            let day = rest.chars().next()?;
            let at = text.len() - rest.len() + day.len_utf8();
            return Some(text.split_at(at));
        }
    }
    // 3月8日, 3月8号, 12-01 (the date forms `month_day` reads).
    if let Some(end) = text.find(['日', '号']) {
        let at = end + '日'.len_utf8();
        return Some(text.split_at(at));
    }
    None
}

/// When a list closes, from what the member wrote, in the group's zone: `2h`, `18:00` (today, or
/// tomorrow once past), `明天 18:00`, `周五 18:00`, `下周五`, `12-01 18:00`, `12月1日 18:00`,
/// `2026-12-01 18:00`, and the day glued to its time as people type it (`今晚8点`, `明天18点`,
/// `周五18:00`, `本周五 18:00`, `明天中午12点`, `下周一上午9点`, `明天18点截止`). A day without a time means the end of that day (23:59). `None` when
/// it cannot be read or is not in the future.
pub fn deadline(text: &str, now: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some(span) = duration(text) {
        return Some(now + span);
    }
    let local_now = now.with_timezone(&zone);
    let today = local_now.date_naive();
    let end_of_day = NaiveTime::from_hms_opt(23, 59, 0)?;
    // `截止` after the time (`明天18点截止`) and `本周五` for `周五`.
    let text = ["截止", "截至", "前"]
        .iter()
        .find_map(|word| text.strip_suffix(word))
        .unwrap_or(text)
        .trim();
    let (day_word, time_word) = match text.split_once([' ', '\u{3000}']) {
        Some((day, time)) => (day.trim(), Some(time.trim())),
        None => match glued_day(text) {
            Some((day, time)) if !time.trim().is_empty() => (day.trim(), Some(time.trim())),
            _ => (text, None),
        },
    };
    let evening = DAY_WORDS
        .iter()
        .any(|(word, evening)| *evening && day_word.eq_ignore_ascii_case(word));
    let day_word = ["本", "这"]
        .iter()
        .find_map(|p| {
            day_word
                .strip_prefix(p)
                .filter(|rest| weekday(rest).is_some())
        })
        .unwrap_or(day_word);
    let at_time = |date: NaiveDate, time: Option<NaiveTime>| {
        zone.from_local_datetime(&date.and_time(time.unwrap_or(end_of_day)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    // Ahead, and not absurdly far: a list open for years would hold a slot for nothing.
    let in_future = |t: DateTime<Utc>| (t > now && t <= now + Duration::days(366)).then_some(t);

    // A time alone: today, or tomorrow if that time has passed.
    if time_word.is_none()
        && let Some(time) = time_of_day(day_word)
    {
        let candidate = at_time(today, Some(time))?;
        return if candidate > now {
            Some(candidate)
        } else {
            at_time(today.succ_opt()?, Some(time))
        };
    }
    let time = match time_word {
        Some(word) => Some(time_of_day_in(word, evening)?),
        None => None,
    };
    let relative_day = match day_word.to_lowercase().as_str() {
        "今天" | "今日" | "今晚" | "today" | "tonight" => Some(0),
        "明天" | "明日" | "明晚" | "tomorrow" => Some(1),
        "后天" => Some(2),
        _ => None,
    };
    if let Some(days) = relative_day {
        return in_future(at_time(today + Duration::days(days), time)?);
    }
    let (next_week, week_word) = match day_word.strip_prefix("下") {
        Some(rest) => (true, rest),
        None => (false, day_word),
    };
    if let Some(day) = weekday(week_word).or_else(|| english_weekday(week_word)) {
        let ahead = (7 + day.num_days_from_monday() as i64
            - today.weekday().num_days_from_monday() as i64)
            % 7;
        let mut date = today + Duration::days(ahead);
        if next_week {
            // 下周五: Friday of next week (Monday-based), not merely the next Friday.
            let monday_next =
                today + Duration::days(7 - today.weekday().num_days_from_monday() as i64);
            date = monday_next + Duration::days(day.num_days_from_monday() as i64);
        } else if at_time(date, time)? <= now {
            date += Duration::days(7);
        }
        return in_future(at_time(date, time)?);
    }
    let date = full_date(day_word).or_else(|| {
        let (month, day) = month_day(day_word)?;
        let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
        if at_time(this_year, time)? > now {
            Some(this_year)
        } else {
            NaiveDate::from_ymd_opt(today.year() + 1, month, day)
        }
    })?;
    in_future(at_time(date, time)?)
}

/// `2026-12-01`, `2026/12/01`, `2026.12.1`, `2026年12月1日`.
fn full_date(word: &str) -> Option<NaiveDate> {
    let cleaned: String = word
        .chars()
        .map(|c| match c {
            '/' | '.' | '年' | '月' => '-',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim_end_matches(['日', '号']);
    let mut parts = cleaned.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || year < 1000 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// `12-01`, `12/1`, `12月1日`, `12月1号`.
fn month_day(word: &str) -> Option<(u32, u32)> {
    let cleaned: String = word
        .chars()
        .map(|c| match c {
            '/' | '.' | '月' => '-',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim_end_matches(['日', '号']);
    let (month, day) = cleaned.split_once('-')?;
    Some((month.parse().ok()?, day.parse().ok()?))
}

/// What a member's reply to a list means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyIntent {
    /// `+1`, `+1 带两个人`: add me (with this text).
    Join(String),
    /// `修改 新内容`: change my line.
    Edit(String),
    /// `-1`, `退出`, `取消`: take my line off.
    Leave,
    /// `截止`, `结束接龙`: close the list (its creator or an admin).
    Close,
    /// `删除 3`, `删除 候补 1`: take a line off (its creator or an admin).
    Remove(LineNumber),
}

/// A line as the list numbers it: on the list proper, or on the waitlist (numbered from 1 too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineNumber {
    Listed(usize),
    Waiting(usize),
}

/// `3`, `候补 1`, `候补1`, `waitlist 1`.
fn line_number(text: &str) -> Option<LineNumber> {
    let text = text.trim().trim_start_matches(['第', '#']).trim();
    let (waiting, number) = match text
        .strip_prefix("候补")
        .or_else(|| text.strip_prefix("waitlist"))
    {
        Some(rest) => (true, rest.trim()),
        None => (false, text),
    };
    let number = number.trim_end_matches(['条', '个', '位']).trim();
    if !numbers::looks_like_number(number) {
        return None;
    }
    // `删除 -1` or twenty nines names no line, and is answered so: 0 is no line's number.
    let number = numbers::whole_in(number, 1..=i64::MAX)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    Some(if waiting {
        LineNumber::Waiting(number)
    } else {
        LineNumber::Listed(number)
    })
}

/// Reads a reply to a list; `None` for ordinary conversation.
pub fn reply_intent(text: &str) -> Option<ReplyIntent> {
    let text = text.trim();
    if matches!(
        text,
        "-1" | "－1" | "退出" | "取消" | "退出接龙" | "取消接龙" | "不去了" | "leave"
    ) {
        return Some(ReplyIntent::Leave);
    }
    if matches!(text, "截止" | "结束" | "结束接龙" | "截止接龙" | "close") {
        return Some(ReplyIntent::Close);
    }
    for prefix in ["删除", "删掉", "remove"] {
        if let Some(line) = text.strip_prefix(prefix).and_then(line_number) {
            return Some(ReplyIntent::Remove(line));
        }
    }
    for prefix in ["修改", "改成", "edit"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let rest = rest.trim_start_matches([':', '：']).trim();
            if !rest.is_empty() {
                return Some(ReplyIntent::Edit(clip(rest)));
            }
        }
    }
    let plus = text.strip_prefix('+').or_else(|| text.strip_prefix('＋'))?;
    let digits = plus.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let count = &plus[..digits];
    let rest = plus[digits..].trim();
    // "+1" is me; "+3" is a head count worth keeping in the line.
    let content = if count == "1" {
        rest.to_owned()
    } else {
        format!("+{count} {rest}").trim().to_owned()
    };
    Some(ReplyIntent::Join(clip(&content)))
}

/// The text of a line from a message that made it (`+1 带两个人` → `带两个人`; `接龙 小王 2份` →
/// `小王 2份`), for when the member edits that message.
pub fn entry_text_of_message(text: &str) -> Option<String> {
    if let Some(ReplyIntent::Join(content)) = reply_intent(text) {
        return Some(content);
    }
    let text = text.trim();
    for prefix in ["#接龙", "接龙", "/join", "/relay"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            // "/join@qunbot text"
            let rest = match rest.strip_prefix('@') {
                Some(addressed) => addressed
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, after)| after),
                None => rest,
            };
            return Some(clip(rest));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> Tz {
        "Asia/Shanghai".parse().unwrap()
    }

    /// 2026-03-04 is a Wednesday; 10:00 in Shanghai.
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 4, 2, 0, 0).unwrap()
    }

    fn local(text: &str) -> String {
        deadline(text, now(), shanghai())
            .map(|t| {
                t.with_timezone(&shanghai())
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "-".into())
    }

    #[test]
    fn deadlines_in_the_forms_people_write_them() {
        assert_eq!(local("2h"), "2026-03-04 12:00");
        assert_eq!(local("30分钟"), "2026-03-04 10:30");
        assert_eq!(local("18:00"), "2026-03-04 18:00");
        assert_eq!(local("9:00"), "2026-03-05 09:00", "past today: tomorrow");
        assert_eq!(local("下午6点"), "2026-03-04 18:00");
        assert_eq!(local("明天 18:00"), "2026-03-05 18:00");
        assert_eq!(local("周五 18:00"), "2026-03-06 18:00");
        assert_eq!(
            local("星期三 9:00"),
            "2026-03-11 09:00",
            "this week's is past"
        );
        assert_eq!(local("周三 20:00"), "2026-03-04 20:00");
        assert_eq!(local("下周五"), "2026-03-13 23:59");
        assert_eq!(local("fri 18:00"), "2026-03-06 18:00");
        assert_eq!(local("12-01 18:00"), "2026-12-01 18:00");
        assert_eq!(
            local("3月1日 18:00"),
            "2027-03-01 18:00",
            "past this year: next year"
        );
        assert_eq!(local("2026-12-01 18:00"), "2026-12-01 18:00");
        assert_eq!(local("2026/12/01"), "2026-12-01 23:59");
        assert_eq!(local("2025-12-01 18:00"), "-", "in the past");
        assert_eq!(local("周八 18:00"), "-");
        assert_eq!(local("明天 25:00"), "-");
        assert_eq!(local("soon"), "-");
        assert_eq!(local("99999999d"), "-", "too far to be meant");
        // Glued together, as people type them.
        assert_eq!(local("今晚8点"), "2026-03-04 20:00");
        assert_eq!(local("明天18点"), "2026-03-05 18:00");
        assert_eq!(local("周五18:00"), "2026-03-06 18:00");
        assert_eq!(local("本周五 18:00"), "2026-03-06 18:00");
        assert_eq!(local("这周五18:00"), "2026-03-06 18:00");
        assert_eq!(local("明天中午12点"), "2026-03-05 12:00");
        assert_eq!(local("明天中午1点"), "2026-03-05 13:00");
        assert_eq!(local("下周一上午9点"), "2026-03-09 09:00");
        assert_eq!(local("3月8日"), "2026-03-08 23:59");
        assert_eq!(local("3月8日18点"), "2026-03-08 18:00");
        assert_eq!(local("明天18点截止"), "2026-03-05 18:00");
        assert_eq!(local("周五晚上8点"), "2026-03-06 20:00");
        assert_eq!(local("明晚8点半"), "2026-03-05 20:30");
        assert_eq!(local("周五18点前"), "2026-03-06 18:00");
    }

    #[test]
    fn a_list_with_every_option() {
        let spec = list_spec(
            "周六爬山 🏔\n例 姓名 人数\n上限 30人\n截止 周五 18:00\n提醒 60分钟\n每人多条\n备注 早上8点集合",
        )
        .unwrap();
        assert_eq!(spec.title, "周六爬山 🏔");
        assert_eq!(spec.example.as_deref(), Some("姓名 人数"));
        assert_eq!(spec.capacity, Some(30));
        assert_eq!(spec.deadline.as_deref(), Some("周五 18:00"));
        assert_eq!(spec.remind_minutes, Some(60));
        assert_eq!(spec.one_per_member, Some(false));
        assert_eq!(spec.note.as_deref(), Some("早上8点集合"));
        assert!(spec.entries.is_empty());
    }

    #[test]
    fn options_on_the_title_line() {
        let spec = list_spec("周六爬山 上限 30 截止 周五 18:00").unwrap();
        assert_eq!(spec.title, "周六爬山");
        assert_eq!(spec.capacity, Some(30));
        assert_eq!(spec.deadline.as_deref(), Some("周五 18:00"));
        let spec = list_spec("周六爬山 名额有限 截止报名看公告 提醒大家带水").unwrap();
        assert_eq!(spec.title, "周六爬山 名额有限 截止报名看公告 提醒大家带水");
        assert_eq!(
            (spec.capacity, spec.deadline, spec.remind_minutes),
            (None, None, None)
        );
        let spec = list_spec("读书会\n名额有限\n截止周五 20:00\n提醒30分钟").unwrap();
        assert_eq!(spec.title, "读书会\n名额有限");
        assert_eq!(spec.deadline.as_deref(), Some("周五 20:00"));
        assert_eq!(spec.remind_minutes, Some(30));
        let spec = list_spec("Hike on Saturday limit 12 deadline 2h").unwrap();
        assert_eq!(spec.title, "Hike on Saturday");
        assert_eq!(spec.capacity, Some(12));
        assert_eq!(spec.deadline.as_deref(), Some("2h"));
    }

    #[test]
    fn capacities_and_deadlines_as_people_write_them() {
        for text in [
            "爬山 限10人",
            "爬山 限 10 人",
            "爬山 10人",
            "爬山\n10人",
            "爬山\n限10人",
        ] {
            let spec = list_spec(text).unwrap();
            assert_eq!(
                (spec.title.as_str(), spec.capacity),
                ("爬山", Some(10)),
                "{text}"
            );
        }
        let spec = list_spec("聚餐 截止今晚8点").unwrap();
        assert_eq!(
            (spec.title.as_str(), spec.deadline.as_deref()),
            ("聚餐", Some("今晚8点"))
        );
        let spec = list_spec("聚餐 明天18点截止 限 8 人").unwrap();
        assert_eq!(spec.title, "聚餐");
        assert_eq!(spec.deadline.as_deref(), Some("明天18点"));
        assert_eq!(spec.capacity, Some(8));
        let spec = list_spec("聚餐\n下周一上午9点截止").unwrap();
        assert_eq!(spec.deadline.as_deref(), Some("下周一上午9点"));
        // Meant as a time but unreadable: kept as the deadline, to be answered.
        let spec = list_spec("聚餐 截止 周八").unwrap();
        assert_eq!(
            (spec.title.as_str(), spec.deadline.as_deref()),
            ("聚餐", Some("周八"))
        );
        assert_eq!(list_spec("限时优惠").unwrap().capacity, None);
    }

    #[test]
    fn a_pasted_wechat_list_keeps_its_lines() {
        let spec = list_spec(
            "半个南瓜 等会送来 共20份\n例 楼栋号-房间号 需要多少份\n\n1. 295-909 6份\n2. 倪彩霞\ngt7\n3.295-204 2份\n\n三点截单",
        )
        .unwrap();
        assert_eq!(spec.title, "半个南瓜 等会送来 共20份");
        assert_eq!(spec.example.as_deref(), Some("楼栋号-房间号 需要多少份"));
        assert_eq!(
            spec.entries,
            vec!["295-909 6份", "倪彩霞 gt7", "295-204 2份"]
        );
        assert_eq!(spec.note.as_deref(), Some("三点截单"));
    }

    #[test]
    fn bad_descriptions_say_what_is_wrong() {
        assert_eq!(list_spec(""), Err(SpecError::NoTitle));
        assert_eq!(list_spec("#接龙\n\n"), Err(SpecError::NoTitle));
        assert_eq!(
            list_spec("爬山\n上限 很多"),
            Err(SpecError::BadCapacity("很多".into()))
        );
        assert_eq!(
            list_spec("爬山\n上限 0"),
            Err(SpecError::BadCapacity("0".into()))
        );
        // A sentence that merely starts with an option word is part of the title.
        assert_eq!(list_spec("例会报名").unwrap().title, "例会报名");
    }

    #[test]
    fn entry_lines_and_new_lists() {
        assert!(is_entry_line("张三"));
        assert!(is_entry_line("小王 2份"));
        assert!(is_entry_line("周日聚餐"));
        assert!(!is_entry_line("周日聚餐 上限 10"));
        assert!(!is_entry_line("周日聚餐 限10人"));
        assert!(is_entry_line("张三 3人"));
        assert!(!is_entry_line("周日聚餐 截止 周五 18:00"));
        assert!(!is_entry_line("周日聚餐\n例 姓名"));
        assert!(!is_entry_line("周日聚餐\n地点待定"));
    }

    #[test]
    fn replies_to_a_list() {
        assert_eq!(reply_intent("+1"), Some(ReplyIntent::Join(String::new())));
        assert_eq!(
            reply_intent("+1 带两个人"),
            Some(ReplyIntent::Join("带两个人".into()))
        );
        assert_eq!(reply_intent("＋3"), Some(ReplyIntent::Join("+3".into())));
        assert_eq!(
            reply_intent("修改：两份"),
            Some(ReplyIntent::Edit("两份".into()))
        );
        assert_eq!(reply_intent("退出"), Some(ReplyIntent::Leave));
        assert_eq!(reply_intent("截止"), Some(ReplyIntent::Close));
        assert_eq!(
            reply_intent("删除 3"),
            Some(ReplyIntent::Remove(LineNumber::Listed(3)))
        );
        assert_eq!(
            reply_intent("删除 候补1"),
            Some(ReplyIntent::Remove(LineNumber::Waiting(1)))
        );
        assert_eq!(reply_intent("删除 那个"), None);
        assert_eq!(reply_intent("好的"), None);
        assert_eq!(reply_intent("+"), None);
        assert_eq!(
            entry_text_of_message("接龙 小王 2份").as_deref(),
            Some("小王 2份")
        );
        assert_eq!(
            entry_text_of_message("/join@qunbot 3份").as_deref(),
            Some("3份")
        );
        assert_eq!(numbered("12、张三"), Some("张三"));
        assert_eq!(numbered("4 赵六"), Some("赵六"));
        assert_eq!(numbered("10 人"), None);
        assert_eq!(numbered("2026 12"), None);
        assert_eq!(numbered("2026-12-01"), None);
    }
}
