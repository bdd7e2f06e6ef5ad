//! Reading self-introductions: the form's fields are the words in 【…】 (or […]) brackets; a
//! member's message fills them in any order, with `:`, `：` or nothing after the bracket, and
//! may say more around them.

use super::birthday::{self, Birthday};

/// The field names a form asks for, in its order.
pub fn template_fields(template: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for (_, name, _) in brackets(template) {
        let name = name.trim();
        if !name.is_empty() && !fields.iter().any(|f| same_field(f, name)) {
            fields.push(name.to_owned());
        }
    }
    fields
}

/// Field names match ignoring spaces, case and full-width slashes (`行业／职位` is `行业/职位`).
pub fn same_field(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '／' { '/' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The names a birthday field goes by, in any group.
const BIRTHDAY_FIELDS: &[&str] = &["生日", "birthday"];

/// A message read against a form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Introduction {
    /// (field as the form names it, value), in the form's order; only fields the message has.
    pub fields: Vec<(String, String)>,
    /// The birthday field's text and what it means, when it has one.
    pub birthday: Option<(String, Option<Birthday>)>,
}

impl Introduction {
    pub fn value(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| same_field(name, field))
            .map(|(_, value)| value.as_str())
    }

    /// The required fields that are missing or empty.
    pub fn missing<'a>(&self, required: &'a [String]) -> Vec<&'a str> {
        required
            .iter()
            .filter(|field| self.value(field).is_none_or(str::is_empty))
            .map(String::as_str)
            .collect()
    }
}

/// Reads `text` as an introduction following the form `template`. `None` when it is not one:
/// it must fill in at least two of the form's fields (one, for a one-field form), so that an
/// ordinary message with a 【notice】 in it, or the empty form, is not taken for one. A field
/// still holding the form's hint ("城市/时区") counts as empty.
pub fn parse(text: &str, template: &str) -> Option<Introduction> {
    let fields = template_fields(template);
    let hints = values(template, &fields);
    let mut introduction = Introduction::default();
    let found = values(text, &fields);
    for field in &fields {
        let Some((_, value)) = found.iter().find(|(name, _)| same_field(name, field)) else {
            continue;
        };
        let hint = hints
            .iter()
            .find(|(name, _)| same_field(name, field))
            .map_or("", |(_, hint)| hint.as_str());
        let value = match value.strip_prefix(hint) {
            Some(rest) if !hint.is_empty() => rest.trim(),
            _ => value.as_str(),
        };
        introduction.fields.push((field.clone(), value.to_owned()));
    }
    let filled = introduction
        .fields
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .count();
    let needed = fields.len().min(2);
    if needed == 0 || filled < needed {
        return None;
    }
    if let Some((_, value)) = found
        .iter()
        .find(|(name, _)| BIRTHDAY_FIELDS.iter().any(|b| same_field(b, name)))
        && !value.is_empty()
    {
        // "农历八月十五 请多关照": the date is the first word when the whole is not one.
        let first_word = value.split_whitespace().next().unwrap_or_default();
        introduction.birthday = Some(match birthday::parse(value) {
            Some(parsed) => (value.clone(), Some(parsed)),
            None => match birthday::parse(first_word) {
                Some(parsed) => (first_word.to_owned(), Some(parsed)),
                None => (value.clone(), None),
            },
        });
    }
    Some(introduction)
}

/// The (field, value) pairs `text` fills in, for the form's fields and the birthday, in the
/// order written; the first mention of a field wins over a repeat.
fn values(text: &str, fields: &[String]) -> Vec<(String, String)> {
    let known = |name: &str| {
        fields.iter().any(|f| same_field(f, name))
            || BIRTHDAY_FIELDS.iter().any(|b| same_field(b, name))
    };
    // Only brackets naming a known field start a field; others are part of a value.
    let found: Vec<(usize, &str, usize)> = brackets(text)
        .into_iter()
        .filter(|(_, name, _)| known(name))
        .collect();
    let mut values: Vec<(String, String)> = Vec::new();
    for (index, (_, name, value_start)) in found.iter().enumerate() {
        let end = found
            .get(index + 1)
            .map_or(text.len(), |(next_start, _, _)| *next_start);
        let rest = &text[*value_start..end];
        // A value is the rest of its line: what follows on later lines is the member talking.
        let rest = rest.trim_start_matches([' ', '\t', '\u{3000}']);
        let rest = rest.strip_prefix([':', '：']).unwrap_or(rest);
        let line = rest.split('\n').next().unwrap_or_default();
        let value: String = line.trim().chars().take(200).collect();
        if !values.iter().any(|(seen, _)| same_field(seen, name)) {
            values.push((name.trim().to_owned(), value));
        }
    }
    values
}

/// Every bracketed name in `text`: (byte offset of the opening bracket, the name, byte offset
/// just after the closing bracket). Names are short; a long "bracket" is not a field.
fn brackets(text: &str) -> Vec<(usize, &str, usize)> {
    let mut found = Vec::new();
    let mut search_from = 0;
    while let Some(relative) = text[search_from..].find(['【', '[']) {
        let open = search_from + relative;
        let opener = text[open..].chars().next().unwrap_or('[');
        let closer = if opener == '【' { '】' } else { ']' };
        let inner_start = open + opener.len_utf8();
        match text[inner_start..].find(closer) {
            Some(length) => {
                let name = &text[inner_start..inner_start + length];
                let after = inner_start + length + closer.len_utf8();
                if (1..=20).contains(&name.chars().count()) && !name.contains('\n') {
                    found.push((open, name, after));
                    search_from = after;
                } else {
                    search_from = inner_start;
                }
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::welcome::config::{DEFAULT_INTRO_EN, DEFAULT_INTRO_ZH};

    fn zh() -> &'static str {
        DEFAULT_INTRO_ZH
    }

    #[test]
    fn the_default_forms_have_seven_fields() {
        assert_eq!(
            template_fields(zh()),
            [
                "昵称",
                "坐标",
                "工作时间",
                "行业/职位",
                "擅长/爱好",
                "可以提供",
                "希望获得"
            ]
        );
        assert_eq!(template_fields(DEFAULT_INTRO_EN).len(), 7);
    }

    #[test]
    fn full_width_colons_any_order_and_extra_text() {
        let text = "大家好！\n【坐标】：上海\n【昵称】：小王\n【行业／职位】 产品经理\n【擅长/爱好】:跑步、摄影\n请多关照～";
        let intro = parse(text, zh()).unwrap();
        assert_eq!(
            intro.fields,
            [
                ("昵称".to_owned(), "小王".to_owned()),
                ("坐标".to_owned(), "上海".to_owned()),
                ("行业/职位".to_owned(), "产品经理".to_owned()),
                ("擅长/爱好".to_owned(), "跑步、摄影".to_owned()),
            ]
        );
        assert_eq!(intro.birthday, None);
    }

    #[test]
    fn fields_on_one_line() {
        let intro = parse("【昵称】小李 【坐标】深圳 【希望获得】朋友", zh()).unwrap();
        assert_eq!(intro.value("坐标"), Some("深圳"));
        assert_eq!(intro.value("希望获得"), Some("朋友"));
        assert_eq!(
            intro.missing(&["工作时间".into(), "昵称".into()]),
            ["工作时间"]
        );
    }

    #[test]
    fn an_ordinary_message_is_not_an_introduction() {
        assert_eq!(parse("【通知】明天开会", zh()), None);
        assert_eq!(parse("我在【坐标】上海", zh()), None);
        assert_eq!(parse("[link] and [ref]", zh()), None);
        assert_eq!(parse("", zh()), None);
        // Unclosed brackets and odd characters do not trip the reader.
        assert_eq!(parse("【昵称 小王【", zh()), None);
    }

    #[test]
    fn an_empty_field_counts_as_missing() {
        let intro = parse("【昵称】：\n【坐标】北京\n【工作时间】：弹性", zh()).unwrap();
        assert_eq!(intro.missing(&["昵称".into()]), ["昵称"]);
        // The empty form itself is not an introduction.
        assert_eq!(parse(DEFAULT_INTRO_ZH, zh()), None);
        assert_eq!(parse("【昵称】：\n【坐标】北京", zh()), None);
        // A copied form with the hints left in: the hint is not the answer.
        let intro = parse(
            "【昵称】小周\n【坐标】城市/时区\n【工作时间】如 9:00-18:00 / 自由职业 远程",
            zh(),
        )
        .unwrap();
        assert_eq!(intro.value("坐标"), Some(""));
        assert_eq!(intro.value("工作时间"), Some("远程"));
    }

    #[test]
    fn english_forms_use_square_brackets() {
        let intro = parse(
            "Hi all! [location]: Berlin\n[Name] Ana\n[Birthday] 1990-03-05",
            DEFAULT_INTRO_EN,
        )
        .unwrap();
        assert_eq!(intro.value("Name"), Some("Ana"));
        assert_eq!(intro.value("Location"), Some("Berlin"));
        let (text, birthday) = intro.birthday.unwrap();
        assert_eq!(text, "1990-03-05");
        assert_eq!(
            birthday,
            Some(Birthday {
                month: 3,
                day: 5,
                lunar: false,
                year: Some(1990)
            })
        );
    }

    #[test]
    fn a_birthday_field_is_read_when_present() {
        let intro = parse(
            "【昵称】阿花\n【坐标】成都\n【生日】农历八月十五 记得祝福我",
            zh(),
        )
        .unwrap();
        assert_eq!(
            intro.birthday.unwrap().1,
            Some(Birthday {
                month: 8,
                day: 15,
                lunar: true,
                year: None
            })
        );
    }
}
