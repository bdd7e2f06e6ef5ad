//! Reading self-introductions the way members write them. The form's fields are the words in
//! 【…】 (or […]) brackets; a member's message fills them in any order:
//! - with the bracket (`【坐标】上海`, `【坐标】：上海`) or without it, as a label before a colon
//!   (`坐标：上海`, `坐标: 上海`, several on one line, `昵称：小王，坐标：上海`);
//! - by the field's name, one of its parts (`行业` for `行业/职位`) or a common synonym
//!   (`城市` for `坐标`, `职业` for `行业/职位`, `爱好` for `擅长/爱好`, `名字` for `昵称`);
//! - with the value on the label's line or, when that is empty, on the lines below it.
//!
//! Any other bracketed name (`【星座】`) is a field the form does not have: it ends the value
//! before it and is kept as an extra line of the card. A line starting with another short label
//! and a colon (`备注：…`) ends the value before it too.

use super::birthday::{self, Birthday};

/// Names a field also goes by. A form field takes the group of its name or of any of its parts
/// (`行业/职位` takes the third); an exact name always wins over a synonym.
const SYNONYMS: &[&[&str]] = &[
    &["昵称", "名字", "称呼", "姓名", "网名", "name", "nickname"],
    &[
        "坐标",
        "城市",
        "地区",
        "所在地",
        "所在城市",
        "位置",
        "location",
        "city",
        "basedin",
    ],
    &[
        "行业",
        "职位",
        "职业",
        "工作",
        "岗位",
        "industry",
        "role",
        "job",
        "occupation",
    ],
    &[
        "擅长",
        "爱好",
        "兴趣",
        "兴趣爱好",
        "特长",
        "goodat",
        "hobbies",
        "hobby",
        "interests",
    ],
    &["生日", "birthday"],
];

/// The names a birthday field goes by, in any group.
const BIRTHDAY_FIELDS: &[&str] = &["生日", "birthday"];

/// At most this many characters of a value are kept.
const MAX_VALUE_CHARS: usize = 200;
/// At most this many fields the form does not have are kept on a card.
const MAX_EXTRAS: usize = 5;

/// The field names a form asks for, in its order.
pub fn template_fields(template: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for bracket in brackets(template) {
        let name = bracket.name.trim();
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

/// Whether a member naming `label` means the form's `field`: its name, one of its parts or a
/// synonym (`/find 城市=上海` searches 【坐标】).
pub fn means_field(field: &str, label: &str) -> bool {
    same_field(field, label) || aliases(field).contains(&normalize(label))
}

fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '／' { '/' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Every name a form field answers to, normalised: its parts and their synonyms.
fn aliases(field: &str) -> Vec<String> {
    let name = normalize(field);
    let mut names: Vec<String> = vec![name.clone()];
    names.extend(
        name.split(['/', '、', '|'])
            .filter(|part| !part.is_empty())
            .map(str::to_owned),
    );
    let own = names.clone();
    for group in SYNONYMS {
        if group.iter().any(|synonym| own.iter().any(|n| n == synonym)) {
            names.extend(group.iter().map(|synonym| (*synonym).to_owned()));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// A message read against a form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Introduction {
    /// (field as the form names it, value), in the form's order; only fields the message has.
    /// Fields the form does not have (`【星座】天蝎`) follow, as the member named them.
    pub fields: Vec<(String, String)>,
    /// How many of `fields` are the form's own (the rest are extras).
    pub form_fields: usize,
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

    /// The form's fields the message filled in, in the form's order.
    pub fn filled(&self) -> impl Iterator<Item = &(String, String)> {
        self.fields[..self.form_fields]
            .iter()
            .filter(|(_, value)| !value.is_empty())
    }
}

/// Reads `text` as an introduction following the form `template`. `None` when it is not one:
/// it must fill in at least two of the form's fields (one, for a one-field form), so that an
/// ordinary message with a 【notice】 or a `name:` in it, or the empty form, is not taken for
/// one. A field still holding the form's hint ("城市/时区") counts as empty.
pub fn parse(text: &str, template: &str) -> Option<Introduction> {
    let introduction = read(text, template);
    let needed = template_fields(template).len().min(2);
    (needed > 0 && introduction.filled().count() >= needed).then_some(introduction)
}

/// Reads whatever of the form `text` fills in, however little.
pub fn read(text: &str, template: &str) -> Introduction {
    let form = Form::new(template);
    // The form's hints, as the form writes them after each field's bracket.
    let mut hints: Vec<String> = vec![String::new(); form.fields.len()];
    for label in labels(template, &form) {
        if let Target::Field(index) = label.target
            && hints[index].is_empty()
        {
            let line = template[label.value_start..]
                .lines()
                .next()
                .unwrap_or_default();
            hints[index] = clean(line).to_owned();
        }
    }

    let found = labels(text, &form);
    // Per form field: the labels that named it (as written, normalised) and their values.
    let mut values: Vec<Vec<(String, String)>> = vec![Vec::new(); form.fields.len()];
    let mut extras: Vec<(String, String)> = Vec::new();
    let mut birthday: Option<String> = None;
    for (index, label) in found.iter().enumerate() {
        let end = found.get(index + 1).map(|next| next.start);
        let hint = match label.target {
            Target::Field(field) => hints[field].as_str(),
            _ => "",
        };
        let value = value_of(text, label.value_start, end, hint);
        if birthday.is_none() && label.is_birthday(&form) && !value.is_empty() {
            birthday = Some(value.clone());
        }
        match &label.target {
            Target::Field(field) => {
                let said = &mut values[*field];
                if !said.iter().any(|(name, _)| *name == label.name) {
                    said.push((label.name.clone(), value));
                }
            }
            Target::Extra(name) => {
                if !value.is_empty()
                    && extras.len() < MAX_EXTRAS
                    && !extras.iter().any(|(seen, _)| same_field(seen, name))
                {
                    extras.push((name.clone(), value));
                }
            }
            Target::Birthday => {}
        }
    }

    let mut introduction = Introduction::default();
    for (field, said) in form.fields.iter().zip(values) {
        if said.is_empty() {
            continue;
        }
        // 「行业：互联网」 and 「职位：产品」 both fill 【行业/职位】.
        let mut parts: Vec<String> = Vec::new();
        for (_, value) in said {
            if !value.is_empty() && !parts.contains(&value) {
                parts.push(value);
            }
        }
        introduction.fields.push((field.clone(), parts.join(" / ")));
    }
    introduction.form_fields = introduction.fields.len();
    introduction.fields.extend(extras);
    if let Some(value) = birthday {
        // "农历八月十五 请多关照": the date is the first word when the whole is not one.
        let first_word = value.split_whitespace().next().unwrap_or_default();
        introduction.birthday = Some(match birthday::parse(&value) {
            Some(parsed) => (value.clone(), Some(parsed)),
            None => match birthday::parse(first_word) {
                Some(parsed) => (first_word.to_owned(), Some(parsed)),
                None => (value.clone(), None),
            },
        });
    }
    introduction
}

/// Words that open an introduction, for a message that fills in only one field: 「大家好，我是
/// 小王，坐标：上海」 is an introduction begun, 「坐标：上海」 alone may be an answer to a question.
const OPENINGS: &[&str] = &[
    "自我介绍",
    "介绍一下",
    "大家好",
    "我是",
    "我叫",
    "新人",
    "hello",
    "hi all",
    "hi everyone",
    "i'm",
    "i am",
    "my name",
    "introduce",
];

/// Whether `text` sounds like someone introducing themselves.
pub fn sounds_like_one(text: &str) -> bool {
    let text = text.to_lowercase();
    OPENINGS.iter().any(|opening| text.contains(opening))
}

/// A form's fields and the names each answers to.
struct Form {
    fields: Vec<String>,
    names: Vec<Vec<String>>,
}

impl Form {
    fn new(template: &str) -> Form {
        let fields = template_fields(template);
        let names = fields.iter().map(|field| aliases(field)).collect();
        Form { fields, names }
    }

    /// What a label names: the form field called so (exactly, else by a part or synonym),
    /// else the birthday; `None` for anything else.
    fn resolve(&self, label: &str) -> Option<Target> {
        let label = normalize(label);
        if label.is_empty() {
            return None;
        }
        if let Some(index) = self.fields.iter().position(|f| normalize(f) == label) {
            return Some(Target::Field(index));
        }
        if let Some(index) = self.names.iter().position(|names| names.contains(&label)) {
            return Some(Target::Field(index));
        }
        BIRTHDAY_FIELDS
            .contains(&label.as_str())
            .then_some(Target::Birthday)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// The form's field of this index.
    Field(usize),
    /// A birthday, in a form without a birthday field.
    Birthday,
    /// A bracketed name the form does not have, as written.
    Extra(String),
}

/// Where a field starts in a message and where its value does.
#[derive(Debug)]
struct Label {
    /// Byte offset of the label (its bracket, or its first character).
    start: usize,
    /// Byte offset just after the closing bracket or the colon.
    value_start: usize,
    /// The label as written, normalised (to tell 「行业：」 from 「职位：」).
    name: String,
    target: Target,
}

impl Label {
    fn is_birthday(&self, form: &Form) -> bool {
        match &self.target {
            Target::Birthday => true,
            Target::Field(index) => BIRTHDAY_FIELDS
                .iter()
                .any(|name| same_field(name, &form.fields[*index])),
            Target::Extra(_) => false,
        }
    }
}

/// Every field label in `text`, in the order written: brackets (any name) and, outside them,
/// a known field name before a colon.
fn labels(text: &str, form: &Form) -> Vec<Label> {
    let spans = brackets(text);
    let mut labels: Vec<Label> = spans
        .iter()
        .map(|bracket| Label {
            start: bracket.open,
            value_start: bracket.after,
            name: normalize(bracket.name),
            target: form
                .resolve(bracket.name)
                .unwrap_or_else(|| Target::Extra(bracket.name.trim().to_owned())),
        })
        .collect();
    for (colon, c) in text.char_indices().filter(|(_, c)| matches!(c, ':' | '：')) {
        if spans
            .iter()
            .any(|bracket| bracket.open <= colon && colon < bracket.after)
        {
            continue;
        }
        let line_start = text[..colon].rfind('\n').map_or(0, |at| at + 1);
        let Some((offset, name, target)) = label_before(&text[line_start..colon], form) else {
            continue;
        };
        labels.push(Label {
            start: line_start + offset,
            value_start: colon + c.len_utf8(),
            name,
            target,
        });
    }
    labels.sort_by_key(|label| label.start);
    labels
}

/// The known label `before` (a line up to a colon) ends with: (its offset, its normalised
/// name, what it names). The whole line counts when it is one ("Working hours"); else the
/// longest known word at its end ("我叫小王，坐标" ends with 坐标; an English word only whole).
fn label_before(before: &str, form: &Form) -> Option<(usize, String, Target)> {
    let trimmed = before.trim_end();
    // The whole line, after any bullet or emoji ("📍 坐标", "1. Name").
    let body = trimmed.trim_start_matches(|c: char| !c.is_alphanumeric() || c.is_numeric());
    if let Some(target) = form.resolve(body) {
        return Some((trimmed.len() - body.len(), normalize(body), target));
    }
    // The run after the last separator, then each shorter ending of it.
    let run_start = trimmed
        .char_indices()
        .rfind(|(_, c)| c.is_whitespace() || is_separator(*c))
        .map_or(0, |(at, c)| at + c.len_utf8());
    let run = &trimmed[run_start..];
    for (offset, _) in run.char_indices() {
        let candidate = &run[offset..];
        let starts_word = offset == 0 || {
            let previous = run[..offset].chars().next_back().unwrap_or(' ');
            !(previous.is_ascii_alphanumeric() && candidate.starts_with(|c: char| c.is_ascii()))
        };
        if starts_word && let Some(target) = form.resolve(candidate) {
            return Some((run_start + offset, normalize(candidate), target));
        }
    }
    None
}

/// Characters that separate one field from the next on a line.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ',' | '，'
            | ';'
            | '；'
            | '|'
            | '｜'
            | '、'
            | '。'
            | '.'
            | '!'
            | '！'
            | '?'
            | '？'
            | '】'
            | ']'
            | ')'
            | '）'
            | '~'
            | '～'
    )
}

/// A field's value: the rest of its label's line (less the form's hint) or, when that is
/// empty, the lines below it, up to a blank line, the next field, or another label line. After
/// the last field only one line is taken: what follows is the member talking.
fn value_of(text: &str, value_start: usize, end: Option<usize>, hint: &str) -> String {
    let region = &text[value_start..end.unwrap_or(text.len())];
    let (first, below) = region.split_once('\n').unwrap_or((region, ""));
    let mut first = clean(first);
    if !hint.is_empty()
        && let Some(rest) = first.strip_prefix(hint)
    {
        first = clean(rest);
    }
    if !first.is_empty() {
        return first.chars().take(MAX_VALUE_CHARS).collect();
    }
    let mut lines: Vec<&str> = Vec::new();
    for line in below.lines() {
        let line = clean(line);
        if line.is_empty() {
            if lines.is_empty() {
                continue;
            }
            break;
        }
        if !lines.is_empty() && looks_like_label_line(line) {
            break;
        }
        lines.push(line);
        if end.is_none() {
            break;
        }
    }
    lines.join(" ").chars().take(MAX_VALUE_CHARS).collect()
}

/// A value's text without the spaces, colon and separators around it.
fn clean(text: &str) -> &str {
    let text = text.trim_matches(|c: char| c.is_whitespace());
    let text = text.strip_prefix([':', '：']).unwrap_or(text);
    text.trim_matches(|c: char| c.is_whitespace())
        .trim_end_matches([',', '，', ';', '；', '|', '｜', '、'])
        .trim_end()
}

/// 「备注：…」, 「Note: …」: a line that starts with a short label of its own (not a time like
/// 9:00, not an address).
fn looks_like_label_line(line: &str) -> bool {
    let Some(colon) = line.find([':', '：']) else {
        return false;
    };
    let label = line[..colon].trim();
    let after = &line[colon..];
    let count = label.chars().count();
    (1..=12).contains(&count)
        && label.starts_with(char::is_alphabetic)
        && !label.chars().any(is_separator)
        && label.split_whitespace().count() <= 3
        && !after.contains("//")
}

/// A bracketed name in a text: `open` is the byte offset of the opening bracket, `after` the
/// one just after the closing bracket.
struct Bracket<'a> {
    open: usize,
    name: &'a str,
    after: usize,
}

/// Every bracketed name in `text`. Names are short; a long "bracket" is not a field.
fn brackets(text: &str) -> Vec<Bracket<'_>> {
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
                if (1..=20).contains(&name.chars().count())
                    && !name.contains('\n')
                    && !name.contains(['【', '['])
                {
                    found.push(Bracket { open, name, after });
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
    fn labels_without_brackets_and_either_colon() {
        let text = "大家好～\n昵称：小王\n坐标: 上海\n工作时间：朝九晚五\n行业/职位：产品经理";
        let intro = parse(text, zh()).unwrap();
        assert_eq!(intro.value("昵称"), Some("小王"));
        assert_eq!(intro.value("坐标"), Some("上海"));
        assert_eq!(intro.value("工作时间"), Some("朝九晚五"));
        assert_eq!(intro.value("行业/职位"), Some("产品经理"));
        // Several on one line, separated by commas or spaces, or not at all.
        let intro = parse("昵称：小李，坐标：深圳 职业：程序员", zh()).unwrap();
        assert_eq!(intro.value("昵称"), Some("小李"));
        assert_eq!(intro.value("坐标"), Some("深圳"));
        assert_eq!(intro.value("行业/职位"), Some("程序员"));
        let intro = parse("我叫小李坐标：深圳，爱好：爬山", zh()).unwrap();
        assert_eq!(intro.value("坐标"), Some("深圳"));
        assert_eq!(intro.value("擅长/爱好"), Some("爬山"));
        // Bullets and emoji before a label.
        let intro = parse("📍 城市：杭州\n• 名字：阿杰", zh()).unwrap();
        assert_eq!(intro.value("坐标"), Some("杭州"));
        assert_eq!(intro.value("昵称"), Some("阿杰"));
    }

    #[test]
    fn synonyms_and_parts_name_the_forms_fields() {
        for (label, field) in [
            ("城市", "坐标"),
            ("地区", "坐标"),
            ("职业", "行业/职位"),
            ("工作", "行业/职位"),
            ("行业", "行业/职位"),
            ("职位", "行业/职位"),
            ("爱好", "擅长/爱好"),
            ("兴趣", "擅长/爱好"),
            ("擅长", "擅长/爱好"),
            ("名字", "昵称"),
            ("称呼", "昵称"),
        ] {
            let intro = parse(&format!("【{label}】甲\n【希望获得】乙"), zh())
                .unwrap_or_else(|| panic!("{label}"));
            assert_eq!(intro.value(field), Some("甲"), "{label}");
            let intro = parse(&format!("{label}：甲\n希望获得：乙"), zh()).unwrap();
            assert_eq!(intro.value(field), Some("甲"), "{label}");
            assert!(means_field(field, label));
        }
        // 工作时间 is its own field, not 工作 = 行业/职位.
        let intro = parse("工作时间：弹性\n工作：设计", zh()).unwrap();
        assert_eq!(intro.value("工作时间"), Some("弹性"));
        assert_eq!(intro.value("行业/职位"), Some("设计"));
        // Two parts of one field both count.
        let intro = parse("【行业】互联网\n【职位】产品\n【昵称】阿美", zh()).unwrap();
        assert_eq!(intro.value("行业/职位"), Some("互联网 / 产品"));
        // English forms too.
        let intro = parse(
            "City: Berlin\nJob: designer\nHobbies: climbing",
            DEFAULT_INTRO_EN,
        )
        .unwrap();
        assert_eq!(intro.value("Location"), Some("Berlin"));
        assert_eq!(intro.value("Industry/Role"), Some("designer"));
        assert_eq!(intro.value("Good at/Hobbies"), Some("climbing"));
        let intro = parse("Name: Ana\nWorking hours: 9:00-17:00", DEFAULT_INTRO_EN).unwrap();
        assert_eq!(intro.value("Working hours"), Some("9:00-17:00"));
    }

    #[test]
    fn values_on_the_next_line() {
        // The form copied and filled in under each label, hints left in place.
        let text = "【昵称】\n小王\n【坐标】城市/时区\n上海\n\n【擅长/爱好】\n跑步\n摄影\n【希望获得】\n朋友\n请多关照～";
        let intro = parse(text, zh()).unwrap();
        assert_eq!(intro.value("昵称"), Some("小王"));
        assert_eq!(intro.value("坐标"), Some("上海"));
        assert_eq!(intro.value("擅长/爱好"), Some("跑步 摄影"));
        // After the last field, one line: the rest is the member talking.
        assert_eq!(intro.value("希望获得"), Some("朋友"));
        let intro = parse("坐标：\n北京\n职业：\n律师\n备注：周末有空", zh()).unwrap();
        assert_eq!(intro.value("坐标"), Some("北京"));
        assert_eq!(intro.value("行业/职位"), Some("律师"));
    }

    #[test]
    fn an_unknown_field_ends_the_value_before_it() {
        let intro = parse("【昵称】小王 【星座】天蝎 【坐标】上海", zh()).unwrap();
        assert_eq!(intro.value("昵称"), Some("小王"));
        assert_eq!(intro.value("坐标"), Some("上海"));
        assert_eq!(intro.value("星座"), Some("天蝎"), "kept as an extra");
        assert_eq!(intro.form_fields, 2);
        let intro = parse("【昵称】\n小王\n【星座】\n天蝎\n【坐标】\n上海", zh()).unwrap();
        assert_eq!(intro.value("昵称"), Some("小王"));
        assert_eq!(intro.value("星座"), Some("天蝎"));
        // Not a field: an unlabelled line under a field with a value of its own.
        let intro = parse("昵称：\n小王\n星座：天蝎\n坐标：上海", zh()).unwrap();
        assert_eq!(intro.value("昵称"), Some("小王"));
        assert_eq!(intro.value("坐标"), Some("上海"));
        // A value's own colon is no label when it comes first under its field.
        let intro = parse("【可以提供】\n设计咨询：品牌、UI\n【昵称】阿美", zh()).unwrap();
        assert_eq!(intro.value("可以提供"), Some("设计咨询：品牌、UI"));
    }

    #[test]
    fn colons_in_ordinary_talk_are_not_fields() {
        assert_eq!(parse("开会时间：9:00，地点：三楼", zh()), None);
        assert_eq!(parse("我的名字：保密", zh()), None, "one field");
        assert_eq!(parse("见 https://example.com 和 http://a.b", zh()), None);
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
