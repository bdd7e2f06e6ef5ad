//! The Bot API reference (`tests/fixtures/telegram-bot-api-spec.json`) as the rules the fake Bot
//! API holds every request to, so a request Telegram would refuse fails the test that made it.
//!
//! Read from the reference, not written down here: the methods and their fields, which are
//! required (also "Required if X is not specified"), each field's types (nested objects, arrays
//! and abstract types such as ReactionType or BotCommandScope, told apart by their `type`
//! field), and the limits the descriptions state: lengths ("1-4096 characters after entities
//! parsing", "1-64 bytes"), list sizes ("At most 100 commands", "up to one reaction"), number
//! ranges ("Values between 1-100"), fixed choices ("Currently, it can be one of …", which is
//! the list of reaction emoji) and BotCommand's "lowercase English letters, digits and
//! underscores". Entities must lie inside their text, counted in UTF-16 units as Telegram
//! counts them; text lengths count Unicode scalars (a live test took 4,096 × 😀).
//!
//! Only the refusal's words are hand-written ([`telegram_words`]): Telegram's own for the
//! refusals a bot meets in practice, the fault's description otherwise.
#![allow(dead_code)]
// A fault is made once per refused request of a test; its size on the stack costs nothing.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::{Arc, OnceLock};

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/telegram-bot-api-spec.json"
);

/// The reference as it is stored (see tests/fixtures/README.md).
#[derive(Deserialize)]
struct Reference {
    version: String,
    methods: HashMap<String, Entry>,
    types: HashMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    #[serde(default)]
    fields: Vec<ReferenceField>,
    #[serde(default)]
    subtypes: Vec<String>,
}

#[derive(Deserialize)]
struct ReferenceField {
    name: String,
    types: Vec<String>,
    required: bool,
    description: String,
}

/// The rules, read once per test process.
pub struct BotApiSpec {
    pub version: String,
    /// By lower-case name: Telegram's method names are case-insensitive.
    methods: HashMap<String, Shape>,
    types: HashMap<String, Shape>,
}

/// A method's parameters or an object type's fields.
struct Shape {
    name: String,
    fields: Vec<Field>,
    /// For an abstract type (ReactionType, InputMedia…): the types it stands for.
    subtypes: Vec<String>,
    /// For one of those: the field and value that name it (`"type": "emoji"`).
    tag: Option<(String, String)>,
}

struct Field {
    name: String,
    kinds: Vec<Kind>,
    /// As written in the reference, for messages ("Integer or String").
    kinds_text: String,
    requirement: Requirement,
    limits: Limits,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Integer,
    Float,
    Boolean,
    String,
    /// A file uploaded in its own multipart part.
    InputFile,
    Object(String),
    Array(Box<Kind>),
}

enum Requirement {
    Always,
    /// "Required if inline_message_id is not specified": required unless one of these is there.
    UnlessAnyOf(Vec<String>),
    Optional,
}

#[derive(Default)]
struct Limits {
    length: Option<(Unit, RangeInclusive<usize>)>,
    items: Option<RangeInclusive<usize>>,
    number: Option<RangeInclusive<f64>>,
    one_of: Option<Vec<String>>,
    /// "Can contain only lowercase English letters, digits and underscores."
    lowercase_word: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    /// Unicode scalars; `trimmed` for message texts and captions, which Telegram trims.
    Chars {
        trimmed: bool,
    },
    Bytes,
}

/// Where a request breaks the rules: the method or type whose field it is, the field, its
/// path from the request's top (`reply_markup.inline_keyboard[0][0].callback_data`) and what
/// is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub owner: String,
    pub field: String,
    pub path: String,
    pub kind: FaultKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    UnknownMethod,
    Missing,
    UnknownField,
    WrongType {
        expected: String,
    },
    /// A tagged object whose tag names none of the abstract type's kinds.
    UnknownVariant {
        tag: String,
        value: String,
    },
    TooShort {
        unit: &'static str,
        least: usize,
        found: usize,
    },
    TooLong {
        unit: &'static str,
        most: usize,
        found: usize,
    },
    TooFewItems {
        least: usize,
        found: usize,
    },
    TooManyItems {
        most: usize,
        found: usize,
    },
    OutOfRange {
        range: String,
        found: String,
    },
    NotOneOf {
        value: String,
        choices: usize,
    },
    NotALowercaseWord {
        value: String,
    },
    /// An entity that does not lie inside its text (UTF-16 units).
    EntityOutside {
        offset: i64,
        length: i64,
        text_units: usize,
    },
}

/// How Telegram answers a request that breaks a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub status: u16,
    /// Telegram's `description`, e.g. "Bad Request: REACTION_INVALID".
    pub description: String,
    pub fault: Fault,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FaultKind::*;
        let at = &self.path;
        match &self.kind {
            UnknownMethod => write!(f, "{} is not a Bot API method", self.owner),
            Missing => write!(f, "{at} is required"),
            UnknownField => write!(f, "{at} is not a field of {}", self.owner),
            WrongType { expected } => write!(f, "{at} must be {expected}"),
            UnknownVariant { tag, value } => {
                write!(f, "{at}: {tag} {value:?} is no kind of {}", self.owner)
            }
            TooShort { unit, least, found } => {
                write!(f, "{at} must be at least {least} {unit}, is {found}")
            }
            TooLong { unit, most, found } => {
                write!(f, "{at} must be at most {most} {unit}, is {found}")
            }
            TooFewItems { least, found } => {
                write!(f, "{at} must have at least {least} items, has {found}")
            }
            TooManyItems { most, found } => {
                write!(f, "{at} must have at most {most} items, has {found}")
            }
            OutOfRange { range, found } => write!(f, "{at} must be within {range}, is {found}"),
            NotOneOf { value, choices } => write!(
                f,
                "{at} {value:?} is not one of the {choices} values {}.{} allows",
                self.owner, self.field
            ),
            NotALowercaseWord { value } => write!(
                f,
                "{at} {value:?} may hold only lowercase English letters, digits and underscores"
            ),
            EntityOutside {
                offset,
                length,
                text_units,
            } => write!(
                f,
                "{at}: the entity at {offset} of length {length} does not lie inside its text of {text_units} UTF-16 units"
            ),
        }
    }
}

/// Telegram's words for a fault: its own for the refusals a bot meets in practice (seen in
/// Telegram's answers and in teloxide's list of API errors), else the fault described.
fn telegram_words(method: &str, fault: &Fault) -> String {
    use FaultKind::*;
    let own = match (fault.owner.as_str(), fault.field.as_str(), &fault.kind) {
        ("ReactionTypeEmoji", "emoji", NotOneOf { .. }) => Some("REACTION_INVALID"),
        ("setMessageReaction", "reaction", TooManyItems { .. }) => Some("REACTIONS_TOO_MANY"),
        ("InlineKeyboardButton", "callback_data", TooShort { .. } | TooLong { .. }) => {
            Some("BUTTON_DATA_INVALID")
        }
        ("sendMessage", "text", TooLong { .. }) => Some("message is too long"),
        ("editMessageText", "text", TooLong { .. }) => Some("MESSAGE_TOO_LONG"),
        (owner, "text", Missing | TooShort { .. }) if owner == method => {
            Some("message text is empty")
        }
        (owner, "caption", TooLong { .. }) if owner == method => {
            Some("message caption is too long")
        }
        ("BotCommand", "command", _) => Some("BOT_COMMAND_INVALID"),
        ("BotCommand", "description", _) => Some("BOT_COMMAND_DESCRIPTION_INVALID"),
        ("setMyCommands", "commands", TooManyItems { .. }) => Some("BOT_COMMANDS_TOO_MUCH"),
        (owner, "chat_id", Missing) if owner == method => Some("chat_id is empty"),
        _ => None,
    };
    match own {
        Some(words) => format!("Bad Request: {words}"),
        None => format!("Bad Request: {fault}"),
    }
}

impl BotApiSpec {
    /// The reference, read and compiled once per process.
    pub fn get() -> Arc<BotApiSpec> {
        static SPEC: OnceLock<Arc<BotApiSpec>> = OnceLock::new();
        SPEC.get_or_init(|| {
            let text = std::fs::read_to_string(REFERENCE)
                .unwrap_or_else(|e| panic!("cannot read {REFERENCE}: {e}"));
            let reference: Reference = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{REFERENCE} is not the reference's format: {e}"));
            Arc::new(BotApiSpec::compile(reference))
        })
        .clone()
    }

    fn compile(reference: Reference) -> BotApiSpec {
        let rules = DescriptionRules::new();
        let shape = |entry: Entry| {
            let fields: Vec<Field> = entry
                .fields
                .into_iter()
                .map(|field| rules.field(field))
                .collect();
            let tag = fields.iter().find_map(|field| {
                let constant = match (&field.requirement, &field.limits.one_of) {
                    (Requirement::Always, Some(values)) if values.len() == 1 => &values[0],
                    _ => return None,
                };
                rules
                    .is_tag(field)
                    .then(|| (field.name.clone(), constant.clone()))
            });
            Shape {
                name: entry.name,
                fields,
                subtypes: entry.subtypes,
                tag,
            }
        };
        BotApiSpec {
            version: reference.version,
            methods: reference
                .methods
                .into_values()
                .map(|entry| (entry.name.to_ascii_lowercase(), shape(entry)))
                .collect(),
            types: reference
                .types
                .into_values()
                .map(|entry| (entry.name.clone(), shape(entry)))
                .collect(),
        }
    }

    /// The method's documented spelling, if it is one.
    pub fn method_name(&self, sent: &str) -> Option<&str> {
        self.methods
            .get(&sent.to_ascii_lowercase())
            .map(|shape| shape.name.as_str())
    }

    /// The reaction emoji Telegram accepts (ReactionTypeEmoji's list).
    pub fn reaction_emoji(&self) -> Vec<String> {
        self.types["ReactionTypeEmoji"]
            .fields
            .iter()
            .find(|field| field.name == "emoji")
            .and_then(|field| field.limits.one_of.clone())
            .unwrap_or_default()
    }

    /// Judges one request. `params` are as they arrived: a JSON body's values typed, a form's or
    /// a multipart body's values strings (objects and lists JSON-serialized inside them), as the
    /// Bot API reads both. `uploaded` names the parameters that came as file parts.
    pub fn check(
        &self,
        method: &str,
        params: &Map<String, Value>,
        uploaded: &HashSet<String>,
    ) -> Result<(), Refusal> {
        let Some(shape) = self.methods.get(&method.to_ascii_lowercase()) else {
            return Err(Refusal {
                status: 404,
                description: "Not Found: method not found".into(),
                fault: Fault {
                    owner: method.into(),
                    field: String::new(),
                    path: String::new(),
                    kind: FaultKind::UnknownMethod,
                },
            });
        };
        let decoded: Map<String, Value> = params
            .iter()
            .map(|(name, value)| {
                let field = shape.fields.iter().find(|field| &field.name == name);
                (name.clone(), decode_parameter(field, value))
            })
            .collect();
        self.check_fields(shape, &decoded, "", uploaded)
            .map_err(|fault| Refusal {
                status: 400,
                description: telegram_words(&shape.name, &fault),
                fault,
            })
    }

    fn check_fields(
        &self,
        shape: &Shape,
        given: &Map<String, Value>,
        path: &str,
        uploaded: &HashSet<String>,
    ) -> Result<(), Fault> {
        let fault = |field: &str, kind| Fault {
            owner: shape.name.clone(),
            field: field.into(),
            path: join(path, field),
            kind,
        };
        if let Some(unknown) = given
            .keys()
            .find(|name| !shape.fields.iter().any(|field| &&field.name == name))
        {
            return Err(fault(unknown, FaultKind::UnknownField));
        }
        let present = |name: &str| given.get(name).is_some_and(|value| !value.is_null());
        for field in &shape.fields {
            match given.get(&field.name).filter(|value| !value.is_null()) {
                None => {
                    let required = match &field.requirement {
                        Requirement::Always => true,
                        Requirement::UnlessAnyOf(others) => !others.iter().any(|o| present(o)),
                        Requirement::Optional => false,
                    };
                    if required {
                        return Err(fault(&field.name, FaultKind::Missing));
                    }
                }
                Some(value) => {
                    let at = join(path, &field.name);
                    let is_upload = uploaded.contains(&field.name);
                    if !(is_upload && field.kinds.contains(&Kind::InputFile)) {
                        match self.check_kinds(&field.kinds, value, &at) {
                            Ok(()) => {}
                            Err(Mismatch::Inner(inner)) => return Err(inner),
                            Err(Mismatch::WrongType) => {
                                let expected = field.kinds_text.clone();
                                return Err(fault(&field.name, FaultKind::WrongType { expected }));
                            }
                        }
                        if let Some(kind) = field.limits.check(value) {
                            return Err(fault(&field.name, kind));
                        }
                    }
                }
            }
        }
        check_entities(shape, given, path)
    }

    fn check_kinds(&self, kinds: &[Kind], value: &Value, at: &str) -> Result<(), Mismatch> {
        if kinds.iter().any(|kind| scalar_matches(kind, value)) {
            return Ok(());
        }
        let compound: Vec<&Kind> = kinds
            .iter()
            .filter(|kind| matches!(kind, Kind::Object(_) | Kind::Array(_)))
            .collect();
        // Of several object types (reply_markup: an inline keyboard, a reply keyboard…), the
        // one whose required fields the value has is the one it means to be.
        let chosen = compound
            .iter()
            .find(|kind| self.plausible(kind, value))
            .or(compound.first());
        match chosen {
            Some(Kind::Array(element)) => {
                let Value::Array(items) = value else {
                    return Err(Mismatch::WrongType);
                };
                for (i, item) in items.iter().enumerate() {
                    self.check_kinds(std::slice::from_ref(element), item, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            Some(Kind::Object(name)) => self.check_object(name, value, at),
            _ => Err(Mismatch::WrongType),
        }
    }

    fn plausible(&self, kind: &Kind, value: &Value) -> bool {
        match (kind, value) {
            (Kind::Array(_), Value::Array(_)) => true,
            (Kind::Object(name), Value::Object(fields)) => {
                let Some(shape) = self.types.get(name) else {
                    return false;
                };
                if !shape.subtypes.is_empty() {
                    return true;
                }
                shape.fields.iter().all(|field| {
                    !matches!(field.requirement, Requirement::Always)
                        || fields.contains_key(&field.name)
                })
            }
            _ => false,
        }
    }

    fn check_object(&self, type_name: &str, value: &Value, at: &str) -> Result<(), Mismatch> {
        let Some(shape) = self.types.get(type_name) else {
            return Err(Mismatch::WrongType);
        };
        let Value::Object(fields) = value else {
            return Err(Mismatch::WrongType);
        };
        if shape.subtypes.is_empty() {
            return self
                .check_fields(shape, fields, at, &HashSet::new())
                .map_err(Mismatch::Inner);
        }
        let subtypes: Vec<&Shape> = shape
            .subtypes
            .iter()
            .filter_map(|name| self.types.get(name))
            .collect();
        let tagged = subtypes.iter().find_map(|sub| sub.tag.as_ref());
        let Some((tag, _)) = tagged else {
            // No tag (InputMessageContent): the kind whose required fields are there.
            let kinds: Vec<Kind> = subtypes
                .iter()
                .map(|sub| Kind::Object(sub.name.clone()))
                .collect();
            return self.check_kinds(&kinds, value, at);
        };
        let given = fields.get(tag).and_then(Value::as_str).unwrap_or_default();
        match subtypes
            .iter()
            .find(|sub| sub.tag.as_ref().is_some_and(|(_, v)| v == given))
        {
            Some(sub) => self.check_object(&sub.name, value, at),
            None => Err(Mismatch::Inner(Fault {
                owner: shape.name.clone(),
                field: tag.clone(),
                path: join(at, tag),
                kind: FaultKind::UnknownVariant {
                    tag: tag.clone(),
                    value: given.into(),
                },
            })),
        }
    }
}

enum Mismatch {
    /// The value is of none of the field's types.
    WrongType,
    /// It is of the right type, but something inside it breaks a rule.
    Inner(Fault),
}

/// The Bot API reads every parameter as text and parses what it expects from it: a number, a
/// boolean, or a JSON-serialized object or list (how forms and multipart bodies carry them).
fn decode_parameter(field: Option<&Field>, value: &Value) -> Value {
    let Value::String(text) = value else {
        return value.clone();
    };
    let Some(field) = field else {
        return value.clone();
    };
    let text_is_fine = field
        .kinds
        .iter()
        .any(|kind| matches!(kind, Kind::String | Kind::InputFile));
    if text_is_fine {
        return value.clone();
    }
    serde_json::from_str(text).unwrap_or_else(|_| value.clone())
}

fn scalar_matches(kind: &Kind, value: &Value) -> bool {
    match kind {
        Kind::Integer => value.as_i64().is_some(),
        Kind::Float => value.is_number(),
        Kind::Boolean => value.is_boolean(),
        Kind::String => value.is_string(),
        // A file_id or URL is a String; an upload is judged by the caller.
        Kind::InputFile | Kind::Object(_) | Kind::Array(_) => false,
    }
}

impl Limits {
    fn check(&self, value: &Value) -> Option<FaultKind> {
        if let (Some((unit, range)), Some(text)) = (&self.length, value.as_str()) {
            let (found, unit_name) = match unit {
                Unit::Chars { trimmed: true } => (text.trim().chars().count(), "characters"),
                Unit::Chars { trimmed: false } => (text.chars().count(), "characters"),
                Unit::Bytes => (text.len(), "bytes"),
            };
            if found < *range.start() {
                return Some(FaultKind::TooShort {
                    unit: unit_name,
                    least: *range.start(),
                    found,
                });
            }
            if found > *range.end() {
                return Some(FaultKind::TooLong {
                    unit: unit_name,
                    most: *range.end(),
                    found,
                });
            }
        }
        if let (Some(range), Some(items)) = (&self.items, value.as_array()) {
            let found = items.len();
            if found < *range.start() {
                return Some(FaultKind::TooFewItems {
                    least: *range.start(),
                    found,
                });
            }
            if found > *range.end() {
                return Some(FaultKind::TooManyItems {
                    most: *range.end(),
                    found,
                });
            }
        }
        if let (Some(range), Some(number)) = (&self.number, value.as_f64())
            && !range.contains(&number)
        {
            return Some(FaultKind::OutOfRange {
                range: format!("{}-{}", range.start(), range.end()),
                found: value.to_string(),
            });
        }
        if let (Some(choices), Some(text)) = (&self.one_of, value.as_str())
            && !choices.iter().any(|choice| choice == text)
        {
            return Some(FaultKind::NotOneOf {
                value: text.into(),
                choices: choices.len(),
            });
        }
        if let (true, Some(text)) = (self.lowercase_word, value.as_str())
            && !text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Some(FaultKind::NotALowercaseWord { value: text.into() });
        }
        None
    }
}

/// Explicit entities must lie inside their text: `entities` belong to `text` (or
/// `message_text`), `caption_entities` to `caption`, `<x>_entities` to `<x>`. Offsets and
/// lengths count UTF-16 units.
fn check_entities(shape: &Shape, given: &Map<String, Value>, path: &str) -> Result<(), Fault> {
    for (name, value) in given {
        let texts: Vec<&str> = match name.strip_suffix("_entities") {
            Some(prefix) => vec![prefix],
            None if name == "entities" => vec!["text", "message_text"],
            None => continue,
        };
        let Some(text) = texts
            .iter()
            .find_map(|text| given.get(*text).and_then(Value::as_str))
        else {
            continue;
        };
        let text_units = text.encode_utf16().count();
        for (i, entity) in value.as_array().into_iter().flatten().enumerate() {
            let offset = entity["offset"].as_i64().unwrap_or(-1);
            let length = entity["length"].as_i64().unwrap_or(0);
            let inside = offset >= 0 && length >= 1 && offset + length <= text_units as i64;
            if !inside {
                return Err(Fault {
                    owner: shape.name.clone(),
                    field: name.clone(),
                    path: format!("{}[{i}]", join(path, name)),
                    kind: FaultKind::EntityOutside {
                        offset,
                        length,
                        text_units,
                    },
                });
            }
        }
    }
    Ok(())
}

fn join(path: &str, field: &str) -> String {
    match path.is_empty() {
        true => field.into(),
        false => format!("{path}.{field}"),
    }
}

/// How the reference's descriptions state requirements and limits.
struct DescriptionRules {
    required_unless: Regex,
    length: Regex,
    up_to_chars: Regex,
    range: Regex,
    at_most: Regex,
    one_of: Regex,
    quoted: Regex,
    constant: Regex,
}

impl DescriptionRules {
    fn new() -> DescriptionRules {
        let regex = |pattern: &str| Regex::new(pattern).expect("a valid pattern");
        DescriptionRules {
            // "Required if inline_message_id is not specified", "required if rich_message
            // isn't specified", "Required if chat_id and message_id are not specified".
            required_unless: regex(
                r"[Rr]equired if ([a-z_]+(?:(?:,| and| or) [a-z_]+)*) (?:is not|isn't|are not|aren't) specified",
            ),
            length: regex(r"(\d+)-(\d+) (characters|bytes|Bytes)( after entit(?:y|ies) parsing)?"),
            up_to_chars: regex(r"up to (\d+) characters"),
            range: regex(r"(\d+)-(\d+)"),
            at_most: regex(r"(?:[Aa]t most|up to) (\d+|one)\b"),
            one_of: regex(
                r#"(?:[Mm]ust|[Cc]an) be one of ((?:[“"][^”"]+[”"](?: \([^)]*\))?(?:, or |, | or )?)+)"#,
            ),
            quoted: regex(r#"[“"]([^”"]+)[”"]"#),
            // "Type of the reaction, always "emoji"", "Scope type, must be default".
            constant: regex(r#"^[^.]*\b(?:always|must be) [“"]?([a-z_]+)[”"]?\.?$"#),
        }
    }

    fn field(&self, field: ReferenceField) -> Field {
        let kinds: Vec<Kind> = field.types.iter().map(|text| kind(text)).collect();
        let description = &field.description;
        let requirement = match (field.required, self.required_unless.captures(description)) {
            (true, _) => Requirement::Always,
            (false, Some(unless)) => Requirement::UnlessAnyOf(
                unless[1]
                    .split([',', ' '])
                    .filter(|word| !word.is_empty() && *word != "and" && *word != "or")
                    .map(str::to_owned)
                    .collect(),
            ),
            (false, None) => Requirement::Optional,
        };
        let is = |wanted: fn(&Kind) -> bool| kinds.iter().any(wanted);
        let mut limits = Limits::default();
        if is(|k| *k == Kind::String) {
            if let Some(length) = self.length.captures(description) {
                let unit = match &length[3] {
                    "characters" => Unit::Chars {
                        trimmed: length.get(4).is_some(),
                    },
                    _ => Unit::Bytes,
                };
                limits.length = Some((unit, number(&length[1])..=number(&length[2])));
            } else if let Some(most) = self.up_to_chars.captures(description) {
                limits.length = Some((Unit::Chars { trimmed: false }, 0..=number(&most[1])));
            }
            let choices = self.one_of.captures(description).map(|list| {
                self.quoted
                    .captures_iter(&list[1])
                    .map(|quoted| quoted[1].to_owned())
                    .collect()
            });
            let constant = self
                .constant
                .captures(description)
                .map(|constant| vec![constant[1].to_owned()]);
            limits.one_of = choices.or(constant);
            limits.lowercase_word =
                description.contains("lowercase English letters, digits and underscores");
        }
        if is(|k| matches!(k, Kind::Array(_))) {
            if let Some(range) = self.range.captures(description) {
                limits.items = Some(number(&range[1])..=number(&range[2]));
            } else if let Some(most) = self.at_most.captures(description) {
                let most = match &most[1] {
                    "one" => 1,
                    digits => number(digits),
                };
                limits.items = Some(0..=most);
            }
        }
        if is(|k| matches!(k, Kind::Integer | Kind::Float)) {
            let ranges: Vec<_> = self.range.captures_iter(description).collect();
            if let [range] = ranges.as_slice() {
                limits.number = Some(number(&range[1]) as f64..=number(&range[2]) as f64);
            }
        }
        Field {
            name: field.name,
            kinds,
            kinds_text: field.types.join(" or "),
            requirement,
            limits,
        }
    }

    /// Whether a field with one fixed value names its object's kind ("type", "source").
    fn is_tag(&self, field: &Field) -> bool {
        field.kinds == [Kind::String] && field.limits.length.is_none()
    }
}

fn number(digits: &str) -> usize {
    digits.parse().expect("digits")
}

/// "Array of Array of InlineKeyboardButton" → Array(Array(Object("InlineKeyboardButton"))).
fn kind(text: &str) -> Kind {
    if let Some(element) = text.strip_prefix("Array of ") {
        return Kind::Array(Box::new(kind(element)));
    }
    match text {
        "Integer" => Kind::Integer,
        "Float" => Kind::Float,
        "Boolean" => Kind::Boolean,
        "String" => Kind::String,
        "InputFile" => Kind::InputFile,
        name => Kind::Object(name.to_owned()),
    }
}
