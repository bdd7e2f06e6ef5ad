//! `[defaults]` and `[groups."<id>"]`: each group's table is split into the core keys
//! (`GroupSection`) and the features' sections, each read from the one parse of the file with
//! its spans, so a problem in `[groups."-100…".welcome]` is reported at its line like any other,
//! and resolved over the defaults.

use std::ops::Range;
use std::sync::Arc;

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::file::{CORE_KEYS, GroupSection};
use super::{ConfigError, resolve_jobs};
use crate::core::settings::{GroupSettings, SectionCx, SectionSlot};
use crate::core::templates::Templates;
use crate::scheduler::calendar::WorkCalendar;

/// A parsed table, borrowing the file's text.
pub type Table<'i> = Spanned<DeTable<'i>>;

/// What resolving a group's table needs from the rest of the file.
pub struct Resolver<'a> {
    pub locate: &'a dyn Fn(Range<usize>, String) -> ConfigError,
    /// Every section the features declared, in the features' order.
    pub slots: &'a [SectionSlot],
    /// The names `features = [...]` may list.
    pub switchable: &'a [&'static str],
    pub calendar: &'a Arc<WorkCalendar>,
}

/// The table under `key` of `table`, taken out of it. A value that is not a table is reported
/// and counts as absent.
pub fn take_table<'i>(
    table: &mut DeTable<'i>,
    key: &str,
    locate: &dyn Fn(Range<usize>, String) -> ConfigError,
    errors: &mut Vec<ConfigError>,
) -> Option<Table<'i>> {
    let (name, value) = table.remove_entry(key)?;
    as_table(value, &format!("`{}`", name.get_ref()), locate, errors)
}

/// `value` if it is a table; otherwise a problem saying `what` must be one.
pub fn as_table<'i>(
    value: Spanned<DeValue<'i>>,
    what: &str,
    locate: &dyn Fn(Range<usize>, String) -> ConfigError,
    errors: &mut Vec<ConfigError>,
) -> Option<Table<'i>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(table) => Some(Spanned::new(span, table)),
        _ => {
            errors.push(locate(span, format!("{what} must be a table")));
            None
        }
    }
}

/// Reads a table into `T`; serde's complaint is placed where it points.
pub fn read<T: for<'de> Deserialize<'de>>(
    table: Table<'_>,
    locate: &dyn Fn(Range<usize>, String) -> ConfigError,
) -> Result<T, ConfigError> {
    let span = table.span();
    T::deserialize(ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(table.into_inner()),
    )))
    .map_err(|error| placed(error, span, locate))
}

fn placed(
    error: toml::de::Error,
    fallback: Range<usize>,
    locate: &dyn Fn(Range<usize>, String) -> ConfigError,
) -> ConfigError {
    locate(
        error.span().unwrap_or(fallback),
        error.message().trim().to_owned(),
    )
}

impl Resolver<'_> {
    /// One group's settings: `table` (if the group has one) over `base`.
    pub fn resolve(
        &self,
        table: Option<Table<'_>>,
        base: &GroupSettings,
        template_prefix: &str,
        templates: &mut Templates,
        errors: &mut Vec<ConfigError>,
    ) -> GroupSettings {
        let locate = self.locate;
        let (span, mut table) = match table {
            Some(table) => (table.span(), table.into_inner()),
            None => (0..0, DeTable::new()),
        };
        // The features' tables out first; what is left must be core keys.
        let mut sections = Vec::new();
        for slot in self.slots {
            sections.push(take_table(&mut table, slot.key(), locate, errors));
        }
        let unknown: Vec<_> = table
            .iter()
            .filter(|(key, _)| !CORE_KEYS.contains(&key.get_ref().as_ref()))
            .map(|(key, _)| (key.span(), key.get_ref().to_string()))
            .collect();
        for (key_span, key) in unknown {
            table.remove_entry(key.as_str());
            let known: Vec<String> = CORE_KEYS
                .iter()
                .copied()
                .chain(self.slots.iter().map(SectionSlot::key))
                .map(|key| format!("`{key}`"))
                .collect();
            errors.push(locate(
                key_span,
                format!(
                    "unknown field `{key}`, expected one of {}",
                    known.join(", ")
                ),
            ));
        }
        let core: GroupSection = match read(Spanned::new(span, table), locate) {
            Ok(core) => core,
            Err(error) => {
                errors.push(error);
                GroupSection::default()
            }
        };

        let mut settings = base.clone();
        self.apply_core(&core, &mut settings, template_prefix, templates, errors);
        let mut problems = Vec::new();
        let mut cx = SectionCx {
            language: settings.language,
            template_prefix,
            templates,
            problems: &mut problems,
            day_starts_at: settings.day_starts_at,
        };
        let mut resolved = settings.sections.clone();
        for (slot, table) in self.slots.iter().zip(sections) {
            let table = table.map(|table| {
                let span = table.span();
                ValueDeserializer::from(Spanned::new(span, DeValue::Table(table.into_inner())))
            });
            match slot.apply(&settings, table, &mut cx) {
                Ok(entry) => resolved.insert(entry),
                Err(error) => errors.push(placed(error, 0..0, locate)),
            }
        }
        settings.day_starts_at = cx.day_starts_at;
        settings.sections = resolved;
        errors.extend(
            problems
                .into_iter()
                .map(|(span, message)| locate(span, message)),
        );
        if let Some(jobs) = &core.jobs {
            settings.jobs = resolve_jobs(
                jobs,
                template_prefix,
                templates,
                self.calendar,
                &mut |span, message| errors.push(locate(span, message)),
            );
        }
        settings
    }

    /// The keys every group has.
    fn apply_core(
        &self,
        section: &GroupSection,
        settings: &mut GroupSettings,
        template_prefix: &str,
        templates: &mut Templates,
        errors: &mut Vec<ConfigError>,
    ) {
        let locate = self.locate;
        if let Some(language) = &section.language {
            match language.get_ref().parse() {
                Ok(parsed) => settings.language = parsed,
                Err(message) => errors.push(locate(language.span(), message)),
            }
        }
        if let Some(zone) = &section.timezone {
            match zone.get_ref().parse::<Tz>() {
                Ok(parsed) => settings.timezone = parsed,
                Err(_) => errors.push(locate(
                    zone.span(),
                    format!(
                        "unknown time zone `{}` (expected an IANA name such as Asia/Shanghai or Europe/Berlin)",
                        zone.get_ref()
                    ),
                )),
            }
        }
        if let Some(features) = &section.features {
            settings.features.clear();
            for feature in features.get_ref() {
                if self.switchable.contains(&feature.as_str()) {
                    settings.features.insert(feature.clone());
                } else {
                    errors.push(locate(
                        features.span(),
                        format!(
                            "unknown feature `{feature}` (known: {})",
                            self.switchable.join(", ")
                        ),
                    ));
                }
            }
        }
        if let Some(rules) = &section.rules {
            let name = format!("{template_prefix}/rules");
            match templates.add(name.clone(), rules.get_ref().clone()) {
                Ok(()) => settings.rules_template = Some(name),
                Err(error) => errors.push(locate(rules.span(), format!("rules template: {error}"))),
            }
        }
        if let Some(log_chat) = &section.log_chat {
            settings.log_chat = Some(*log_chat.get_ref());
        }
        if let Some(locked) = &section.locked {
            settings.locked.clear();
            for key in locked.get_ref() {
                let head = key.split('.').next().unwrap_or_default();
                if CORE_KEYS.contains(&head) || self.slots.iter().any(|slot| slot.key() == head) {
                    settings.locked.push(key.trim().to_owned());
                } else {
                    errors.push(locate(
                        locked.span(),
                        format!("locked: `{key}` is not a key of a group's settings"),
                    ));
                }
            }
        }
        if let Some(schedule) = &section.schedule {
            let mut problems = Vec::new();
            settings.schedule = settings.schedule.apply(schedule, &mut problems);
            errors.extend(
                problems
                    .into_iter()
                    .map(|(span, message)| locate(span, message)),
            );
        }
    }
}
