//! The inactive-member review policy (`[defaults.inactive]`). The jobs themselves and when
//! they may post are the scheduler's (`scheduler::jobs`).

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;

use crate::core::settings::{Section, SectionCx, take_in_range};
pub use crate::scheduler::jobs::JobKind;

/// `[defaults.inactive]`, as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InactiveSection {
    /// Silent this many days → a reminder mentioning them.
    #[serde(default)]
    pub warn_after_days: Option<Spanned<i64>>,
    /// Still silent this many days after the reminder → the action.
    #[serde(default)]
    pub grace_days: Option<Spanned<i64>>,
    /// report (to the admins), mute or remove (they may come back).
    #[serde(default)]
    pub action: Option<Spanned<String>>,
    /// Members who joined less than this many days ago are left alone.
    #[serde(default)]
    pub new_member_days: Option<Spanned<i64>>,
    #[serde(default)]
    pub exempt_users: Option<Vec<i64>>,
    /// Only report what would happen (the default, until the operator has seen a run).
    #[serde(default)]
    pub dry_run: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InactiveAction {
    Report,
    Mute,
    Remove,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InactiveSettings {
    pub warn_after_days: i64,
    pub grace_days: i64,
    pub action: InactiveAction,
    pub new_member_days: i64,
    pub exempt_users: BTreeSet<i64>,
    pub dry_run: bool,
}

impl Default for InactiveSettings {
    fn default() -> Self {
        InactiveSettings {
            warn_after_days: 30,
            grace_days: 7,
            action: InactiveAction::Report,
            new_member_days: 14,
            exempt_users: BTreeSet::new(),
            dry_run: true,
        }
    }
}

impl Section for InactiveSettings {
    const KEY: &'static str = "inactive";
    type File = InactiveSection;

    fn apply(&self, section: &InactiveSection, cx: &mut SectionCx<'_>) -> InactiveSettings {
        let problems = &mut *cx.problems;
        let mut settings = self.clone();
        take_in_range(
            &section.warn_after_days,
            &mut settings.warn_after_days,
            "inactive.warn_after_days",
            1..=3650,
            problems,
        );
        take_in_range(
            &section.grace_days,
            &mut settings.grace_days,
            "inactive.grace_days",
            1..=365,
            problems,
        );
        take_in_range(
            &section.new_member_days,
            &mut settings.new_member_days,
            "inactive.new_member_days",
            0..=3650,
            problems,
        );
        if let Some(action) = &section.action {
            match action.get_ref().as_str() {
                "report" => settings.action = InactiveAction::Report,
                "mute" => settings.action = InactiveAction::Mute,
                "remove" => settings.action = InactiveAction::Remove,
                other => problems.push((
                    action.span(),
                    format!("inactive.action `{other}` must be report, mute or remove"),
                )),
            }
        }
        if let Some(users) = &section.exempt_users {
            settings.exempt_users = users.iter().copied().collect();
        }
        if let Some(dry_run) = section.dry_run {
            settings.dry_run = dry_run;
        }
        settings
    }
}
