//! One group's settings: the keys every group has (language, zone, features, rules, its day,
//! its scheduled posts) and a typed section per feature, keyed by the section's type.
//!
//! A feature declares its sections (`Feature::sections`), each a [`Section`]: the key of its
//! table in `[defaults]` and `[groups."<id>"]`, the table as serde reads it, and how it applies
//! over the defaults. The config loader parses the file once, hands each section its own table
//! (spans intact, so a problem is reported at its file:line:column) and keeps the result here;
//! the feature reads it back with `group.section::<MySettings>()`. Nothing outside the feature
//! needs to know the type.

use std::any::{Any, TypeId};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::ops::{Range, RangeInclusive};
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize as _;
use serde::de::DeserializeOwned;

use super::event::ChatId;
use super::i18n::Language;
use super::templates::Templates;
use crate::scheduler::jobs::{Job, ScheduleSettings};

/// Problems found while applying a section: the span of the offending value, and what is wrong
/// with it.
pub type Problems = Vec<(Range<usize>, String)>;

/// Takes a whole-number setting if it lies within `range`; otherwise reports, at the value,
/// which values `key` allows.
pub fn take_in_range(
    value: &Option<toml::Spanned<i64>>,
    target: &mut i64,
    key: &str,
    range: RangeInclusive<i64>,
    problems: &mut Problems,
) {
    let Some(value) = value else { return };
    if range.contains(value.get_ref()) {
        *target = *value.get_ref();
    } else {
        problems.push((
            value.span(),
            format!(
                "{key} must be between {} and {}",
                range.start(),
                range.end()
            ),
        ));
    }
}

/// A feature's settings, as one group has them.
pub trait Section: Clone + fmt::Debug + Default + Send + Sync + 'static {
    /// The table's name: `signin` for `[defaults.signin]` and `[groups."<id>".signin]`.
    const KEY: &'static str;

    /// The table as written: every key optional (a group's table names only what differs),
    /// `#[serde(deny_unknown_fields)]`, values `toml::Spanned` where a problem must point at them.
    type File: DeserializeOwned;

    /// These settings with a table applied; faults go to `cx.problems`, and the settings keep
    /// what they had for any key that was wrong.
    fn apply(&self, file: &Self::File, cx: &mut SectionCx<'_>) -> Self;

    /// Called for every group once its table (if any) is applied: for what follows from the
    /// group's core keys, such as texts in the group's language.
    fn finish(self, _cx: &mut SectionCx<'_>) -> Self {
        self
    }

    /// What `/settings` shows of these settings: the few a group's admins look for, each with
    /// its key (the dotted path `/resetsetting` takes), in `language`.
    fn overview(&self, _language: Language) -> Vec<OverviewLine> {
        Vec::new()
    }
}

/// One line of `/settings`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OverviewLine {
    /// The dotted path of the key: `welcome.captcha`.
    pub key: &'static str,
    pub label: String,
    pub value: String,
    /// What one press of the line's button under `/settings` sets; `None`: no button.
    #[serde(skip)]
    pub next: Option<NextValue>,
}

/// The value a `/settings` button steps a line on to: `key` (under the line's own, or the line's
/// key itself) set to `value`, or back to the config file's with `None`. Pressing again steps
/// on from there, so a few presses walk through every choice.
#[derive(Clone, Debug)]
pub struct NextValue {
    pub key: &'static str,
    pub value: Option<toml::Value>,
}

impl NextValue {
    pub fn set(key: &'static str, value: impl Into<toml::Value>) -> Option<NextValue> {
        Some(NextValue {
            key,
            value: Some(value.into()),
        })
    }
}

/// What applying a section may use and report to.
pub struct SectionCx<'a> {
    /// The group's language, resolved before any section.
    pub language: Language,
    /// Where the section's templates go: compile them as `{template_prefix}/…` into `templates`.
    pub template_prefix: &'a str,
    pub templates: &'a mut Templates,
    pub problems: &'a mut Problems,
    /// When the group's day begins. The sign-in section sets it (operators write it as
    /// `signin.day_starts_at`); stats, levels and digests count by the same day.
    pub day_starts_at: NaiveTime,
}

/// A section's value, whatever its type: what `GroupSettings` keeps.
trait SectionValue: Any + fmt::Debug + Send + Sync {}
impl<T: Any + fmt::Debug + Send + Sync> SectionValue for T {}

type Value = Arc<dyn SectionValue>;

/// A section as the config loader sees it: its key and how to make and apply it, with the
/// type erased. `SectionSlot::of::<MySettings>()` is what a feature hands in.
#[derive(Clone, Copy)]
pub struct SectionSlot {
    key: &'static str,
    type_id: fn() -> TypeId,
    built_in: fn() -> Value,
    apply: fn(&Value, Option<toml::de::ValueDeserializer<'_>>, &mut SectionCx<'_>) -> ApplyResult,
    overview: fn(&Value, Language) -> Vec<OverviewLine>,
}

type ApplyResult = Result<Value, toml::de::Error>;

impl SectionSlot {
    pub fn of<S: Section>() -> SectionSlot {
        SectionSlot {
            key: S::KEY,
            type_id: TypeId::of::<S>,
            built_in: || Arc::new(S::default()),
            apply: |base, table, cx| {
                let base = downcast::<S>(base).cloned().unwrap_or_default();
                let applied = match table {
                    Some(table) => base.apply(&S::File::deserialize(table)?, cx),
                    None => base,
                };
                Ok(Arc::new(applied.finish(cx)))
            },
            overview: |value, language| {
                downcast::<S>(value).map_or_else(Vec::new, |settings| settings.overview(language))
            },
        }
    }

    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The section's type, which `GroupSettings::section` finds it by.
    pub fn type_id(&self) -> TypeId {
        (self.type_id)()
    }

    /// The section over `base`'s: with the group's table, if it has one, read and applied.
    /// A table serde cannot read is an error with its span.
    pub fn apply(
        &self,
        base: &GroupSettings,
        table: Option<toml::de::ValueDeserializer<'_>>,
        cx: &mut SectionCx<'_>,
    ) -> Result<(TypeId, SectionEntry), toml::de::Error> {
        let type_id = (self.type_id)();
        let start = base
            .sections
            .0
            .get(&type_id)
            .map(|entry| entry.value.clone())
            .unwrap_or_else(self.built_in);
        let value = (self.apply)(&start, table, cx)?;
        Ok((
            type_id,
            SectionEntry {
                key: self.key,
                value,
                overview: self.overview,
            },
        ))
    }
}

fn downcast<S: 'static>(value: &Value) -> Option<&S> {
    let value: &dyn Any = value.as_ref();
    value.downcast_ref::<S>()
}

#[derive(Clone)]
pub struct SectionEntry {
    key: &'static str,
    value: Value,
    overview: fn(&Value, Language) -> Vec<OverviewLine>,
}

/// Every feature section of one group, by type.
#[derive(Clone, Default)]
pub struct Sections(HashMap<TypeId, SectionEntry>);

impl Sections {
    pub fn insert(&mut self, (type_id, entry): (TypeId, SectionEntry)) {
        self.0.insert(type_id, entry);
    }

    /// Whether a section's table is called `key`.
    pub fn has_key(&self, key: &str) -> bool {
        self.0.values().any(|entry| entry.key == key)
    }

    /// Every section's `/settings` lines, by section key.
    pub fn overview(&self, language: Language) -> Vec<OverviewLine> {
        let mut entries: Vec<_> = self.0.values().collect();
        entries.sort_by_key(|entry| entry.key);
        entries
            .into_iter()
            .flat_map(|entry| (entry.overview)(&entry.value, language))
            .collect()
    }
}

impl fmt::Debug for Sections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<_> = self.0.values().collect();
        entries.sort_by_key(|entry| entry.key);
        f.debug_map()
            .entries(entries.iter().map(|entry| (entry.key, &entry.value)))
            .finish()
    }
}

/// One group's settings, resolved over the defaults.
#[derive(Clone, Debug)]
pub struct GroupSettings {
    pub language: Language,
    pub timezone: Tz,
    /// The features switched on here (the always-on ones are not listed).
    pub features: BTreeSet<String>,
    /// Name of the rules template in `Settings::templates`, if the group has rules.
    pub rules_template: Option<String>,
    /// Where administrative steps are reported, if anywhere.
    pub log_chat: Option<ChatId>,
    /// When the group's day begins, local time: see `core::day`.
    pub day_starts_at: NaiveTime,
    /// Scheduled posts (`[[defaults.jobs]]`) and when they may go out (`[defaults.schedule]`).
    pub jobs: Vec<Job>,
    pub schedule: ScheduleSettings,
    pub sections: Sections,
    /// Keys the operator keeps to the file (`locked = ["moderation", "welcome.texts"]`): the
    /// group's admins cannot change them in the chat.
    pub locked: Vec<String>,
    /// Templates from the group's own changes (`/setrules`, `/setwelcome`), looked up before
    /// the config's; `None` for a group that changed none.
    pub own_templates: Option<OwnTemplates>,
}

/// A group's own templates (see `GroupSettings::own_templates`).
#[derive(Clone)]
pub struct OwnTemplates(pub Arc<Templates>);

impl fmt::Debug for OwnTemplates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnTemplates")
    }
}

impl GroupSettings {
    pub fn feature_on(&self, name: &str) -> bool {
        self.features.contains(name)
    }

    /// The group's day an instant belongs to (see `core::day::day_of`).
    pub fn day_of(&self, at: DateTime<Utc>) -> i64 {
        super::day::day_of(at, self.timezone, self.day_starts_at)
    }

    /// A feature's section. The settings are built from the same features the engine runs
    /// (`app::prepare_with` checks that each declared section is here), so this finds every
    /// section its feature declared in `Feature::sections`. Reading one no feature declared is a
    /// bug in that feature, found by its first test: the panic names the section.
    pub fn section<S: Section>(&self) -> &S {
        self.sections
            .0
            .get(&TypeId::of::<S>())
            .and_then(|entry| downcast::<S>(&entry.value))
            .unwrap_or_else(|| {
                panic!(
                    "section `{}` is read but no feature declared it in Feature::sections",
                    S::KEY
                )
            })
    }

    /// Whether the operator locked `key` (a dotted path such as `welcome.texts`): it or a table
    /// holding it is in `locked`.
    pub fn is_locked(&self, key: &str) -> bool {
        self.locked.iter().any(|locked| {
            key == locked
                || key
                    .strip_prefix(locked.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }

    /// Renders `template`: the group's own first, then the config's and the catalogs.
    pub fn render(
        &self,
        shared: &Templates,
        template: &str,
        vars: minijinja::Value,
    ) -> Result<String, super::templates::TemplateError> {
        match &self.own_templates {
            Some(own) if own.0.has(template) => own.0.render(template, vars),
            _ => shared.render(template, vars),
        }
    }

    /// Whether the section of type `type_id` is here (for `app::prepare_with`'s check).
    pub fn has_section(&self, type_id: TypeId) -> bool {
        self.sections.0.contains_key(&type_id)
    }
}
