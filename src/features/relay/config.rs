//! The relay settings a group can have (`[defaults.relay]`, `[groups."<id>".relay]`).

use crate::core::settings::{Section, SectionCx};
use serde::Deserialize;
use toml::Spanned;

/// As written in the config: every key optional, a group's table naming only what differs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySection {
    /// Who may start a list: "anyone" or "admins".
    #[serde(default)]
    pub who_can_create: Option<Spanned<String>>,
    /// Whether a member has one line per list (a second 接龙 changes it) unless the list says
    /// otherwise (每人多条).
    #[serde(default)]
    pub one_entry_per_member: Option<Spanned<bool>>,
    /// Minutes before a list's deadline to remind the group; 0: no reminder. A list can say
    /// otherwise (提醒 10).
    #[serde(default)]
    pub remind_before_minutes: Option<Spanned<i64>>,
    /// How many lists may be open in a group at once.
    #[serde(default)]
    pub max_open_lists: Option<Spanned<i64>>,
}

/// Who may start a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhoCanCreate {
    Anyone,
    Admins,
}

/// The settings in force for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelaySettings {
    pub who_can_create: WhoCanCreate,
    pub one_entry_per_member: bool,
    pub remind_before_minutes: i64,
    pub max_open_lists: i64,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            who_can_create: WhoCanCreate::Anyone,
            one_entry_per_member: true,
            remind_before_minutes: 30,
            max_open_lists: 10,
        }
    }
}

impl Section for RelaySettings {
    const KEY: &'static str = "relay";
    type File = RelaySection;

    /// These settings with the section's keys applied; problems are reported with the span
    /// of the offending value.
    fn apply(&self, section: &RelaySection, cx: &mut SectionCx<'_>) -> RelaySettings {
        let problems = &mut *cx.problems;
        let mut settings = self.clone();
        if let Some(who) = &section.who_can_create {
            match who.get_ref().as_str() {
                "anyone" => settings.who_can_create = WhoCanCreate::Anyone,
                "admins" => settings.who_can_create = WhoCanCreate::Admins,
                other => problems.push((
                    who.span(),
                    format!("relay.who_can_create `{other}` must be \"anyone\" or \"admins\""),
                )),
            }
        }
        if let Some(one) = &section.one_entry_per_member {
            settings.one_entry_per_member = *one.get_ref();
        }
        if let Some(minutes) = &section.remind_before_minutes {
            if (0..=10_080).contains(minutes.get_ref()) {
                settings.remind_before_minutes = *minutes.get_ref();
            } else {
                problems.push((
                    minutes.span(),
                    "relay.remind_before_minutes must be between 0 (no reminder) and 10080 (a week)"
                        .into(),
                ));
            }
        }
        if let Some(max) = &section.max_open_lists {
            if (1..=100).contains(max.get_ref()) {
                settings.max_open_lists = *max.get_ref();
            } else {
                problems.push((
                    max.span(),
                    "relay.max_open_lists must be between 1 and 100".into(),
                ));
            }
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn a_group_overrides_the_defaults_and_bad_values_are_placed() {
        let source = r#"
[defaults.relay]
remind_before_minutes = 15
one_entry_per_member = false

[groups."-7".relay]
who_can_create = "admins"
"#;
        let settings = Settings::from_toml("q.toml", source, &crate::features::all()).unwrap();
        let group = settings.group(-7).section::<RelaySettings>();
        assert_eq!(group.who_can_create, WhoCanCreate::Admins);
        assert_eq!(
            group.remind_before_minutes, 15,
            "inherited from the defaults"
        );
        assert!(!group.one_entry_per_member);
        assert_eq!(
            settings.defaults.section::<RelaySettings>().max_open_lists,
            10
        );

        let bad = "[defaults.relay]\nwho_can_create = \"everyone\"\nmax_open_lists = 0\n";
        let errors = Settings::from_toml("q.toml", bad, &crate::features::all())
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains(
                "q.toml:2:18: relay.who_can_create `everyone` must be \"anyone\" or \"admins\""
            ),
            "{errors}"
        );
        assert!(
            errors.contains("q.toml:3:18: relay.max_open_lists must be between 1 and 100"),
            "{errors}"
        );
        let unknown = Settings::from_toml(
            "q.toml",
            "[defaults.relay]\ncapacity = 3\n",
            &crate::features::all(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            unknown.contains("q.toml:2:1") && unknown.contains("capacity"),
            "{unknown}"
        );
    }
}
