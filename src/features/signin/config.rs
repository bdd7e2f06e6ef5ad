//! The sign-in settings a group can have (`[defaults.signin]`, `[groups."<id>".signin]`).

use crate::core::settings::{Section, SectionCx};
use chrono::NaiveTime;
use serde::Deserialize;
use toml::Spanned;

/// As written in the config: every key optional, a group's table naming only what differs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigninSection {
    /// When the sign-in day starts, local time ("00:00"; "04:00" for night owls).
    #[serde(default)]
    pub day_starts_at: Option<Spanned<String>>,
    /// Points for a sign-in: a number, or `[min, max]` for a random amount.
    #[serde(default)]
    pub base_points: Option<Spanned<BasePoints>>,
    /// One bonus point per this many consecutive days…
    #[serde(default)]
    pub streak_bonus_every_days: Option<Spanned<i64>>,
    /// …up to this many.
    #[serde(default)]
    pub streak_bonus_max: Option<Spanned<i64>>,
    /// Extra points on reaching a streak: `{ 7 = 20, 30 = 100 }`.
    #[serde(default)]
    pub streak_milestones: Option<Spanned<std::collections::BTreeMap<String, i64>>>,
    /// Extra points for the day's first, second, third… member.
    #[serde(default)]
    pub early_bird_bonus: Option<Spanned<Vec<i64>>>,
    /// Above this many sign-ins a minute the bot stops replying one by one: it reacts to each
    /// sign-in and keeps one board message up to date.
    #[serde(default)]
    pub busy_per_minute: Option<Spanned<i64>>,
    /// How many days back a missed sign-in may be made up (补签); 0 switches it off.
    #[serde(default)]
    pub makeup_days: Option<Spanned<i64>>,
    /// What a make-up costs, in points.
    #[serde(default)]
    pub makeup_cost: Option<Spanned<i64>>,
    /// How many make-ups a member may do in a calendar month.
    #[serde(default)]
    pub makeup_per_month: Option<Spanned<i64>>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "toml::Value")]
pub enum BasePoints {
    Fixed(i64),
    Range([i64; 2]),
}

/// Read by hand, so that a wrong value is told in the operator's terms (serde's untagged
/// enums answer with the Rust type's name).
impl TryFrom<toml::Value> for BasePoints {
    type Error = String;

    fn try_from(value: toml::Value) -> Result<Self, String> {
        let expected = || "base_points must be a number such as 10, or [min, max] such as [5, 15]";
        match value {
            toml::Value::Integer(points) => Ok(BasePoints::Fixed(points)),
            toml::Value::Array(items) => match items[..] {
                [toml::Value::Integer(low), toml::Value::Integer(high)] => {
                    Ok(BasePoints::Range([low, high]))
                }
                _ => Err(expected().to_owned()),
            },
            _ => Err(expected().to_owned()),
        }
    }
}

/// The settings in force for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigninSettings {
    pub day_starts_at: NaiveTime,
    pub base_points: BasePoints,
    pub streak_bonus_every_days: i64,
    pub streak_bonus_max: i64,
    pub early_bird_bonus: Vec<i64>,
    /// Streak length → extra points on the day it is reached.
    pub streak_milestones: std::collections::BTreeMap<i64, i64>,
    pub busy_per_minute: i64,
    pub makeup_days: i64,
    pub makeup_cost: i64,
    pub makeup_per_month: i64,
}

impl Default for SigninSettings {
    fn default() -> Self {
        SigninSettings {
            day_starts_at: NaiveTime::MIN,
            base_points: BasePoints::Range([5, 15]),
            streak_bonus_every_days: 7,
            streak_bonus_max: 10,
            early_bird_bonus: vec![5, 3, 1],
            streak_milestones: std::collections::BTreeMap::new(),
            busy_per_minute: 10,
            makeup_days: 0,
            makeup_cost: 20,
            makeup_per_month: 2,
        }
    }
}

impl Section for SigninSettings {
    const KEY: &'static str = "signin";
    type File = SigninSection;

    /// These settings with the section's keys applied; problems are reported with the span
    /// of the offending value.
    fn apply(&self, section: &SigninSection, cx: &mut SectionCx<'_>) -> SigninSettings {
        let problems = &mut *cx.problems;
        let mut settings = self.clone();
        if let Some(at) = &section.day_starts_at {
            match NaiveTime::parse_from_str(at.get_ref(), "%H:%M") {
                Ok(time) => settings.day_starts_at = time,
                Err(_) => problems.push((
                    at.span(),
                    format!(
                        "signin.day_starts_at `{}` must be a time such as 04:00",
                        at.get_ref()
                    ),
                )),
            }
        }
        if let Some(points) = &section.base_points {
            match *points.get_ref() {
                BasePoints::Fixed(n) if (0..=10_000).contains(&n) => settings.base_points = BasePoints::Fixed(n),
                BasePoints::Range([low, high]) if 0 <= low && low <= high && high <= 10_000 => {
                    settings.base_points = BasePoints::Range([low, high])
                }
                _ => problems.push((
                    points.span(),
                    "signin.base_points must be a number from 0 to 10000, or [min, max] within that".into(),
                )),
            }
        }
        for (value, target, name) in [
            (
                &section.streak_bonus_every_days,
                &mut settings.streak_bonus_every_days,
                "streak_bonus_every_days",
            ),
            (
                &section.streak_bonus_max,
                &mut settings.streak_bonus_max,
                "streak_bonus_max",
            ),
            (
                &section.busy_per_minute,
                &mut settings.busy_per_minute,
                "busy_per_minute",
            ),
            (
                &section.makeup_days,
                &mut settings.makeup_days,
                "makeup_days",
            ),
            (
                &section.makeup_cost,
                &mut settings.makeup_cost,
                "makeup_cost",
            ),
            (
                &section.makeup_per_month,
                &mut settings.makeup_per_month,
                "makeup_per_month",
            ),
        ] {
            if let Some(value) = value {
                // Zero means "none" for these; the others need at least one.
                let lowest = match name {
                    "streak_bonus_max" | "makeup_days" | "makeup_cost" => 0,
                    _ => 1,
                };
                if (lowest..=10_000).contains(value.get_ref()) {
                    *target = *value.get_ref();
                } else {
                    problems.push((
                        value.span(),
                        format!("signin.{name} must be between {lowest} and 10000"),
                    ));
                }
            }
        }
        if let Some(milestones) = &section.streak_milestones {
            let parsed: Option<std::collections::BTreeMap<i64, i64>> = milestones
                .get_ref()
                .iter()
                .map(|(days, points)| {
                    let days = days
                        .trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|d| (1..=10_000).contains(d))?;
                    (0..=100_000).contains(points).then_some((days, *points))
                })
                .collect();
            match parsed {
                Some(parsed) => settings.streak_milestones = parsed,
                None => problems.push((
                    milestones.span(),
                    "signin.streak_milestones maps a streak length (1-10000 days) to points (0-100000), \
                     such as { 7 = 20, 30 = 100 }"
                        .into(),
                )),
            }
        }
        if let Some(bonus) = &section.early_bird_bonus {
            if bonus.get_ref().iter().all(|b| (0..=10_000).contains(b))
                && bonus.get_ref().len() <= 100
            {
                settings.early_bird_bonus = bonus.get_ref().clone();
            } else {
                problems.push((
                    bonus.span(),
                    "signin.early_bird_bonus must list at most 100 amounts of 0 to 10000".into(),
                ));
            }
        }
        settings
    }

    /// The group's day begins when its sign-in day does.
    fn finish(self, cx: &mut SectionCx<'_>) -> SigninSettings {
        cx.day_starts_at = self.day_starts_at;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn base_points_that_are_neither_a_number_nor_a_pair_are_told_in_plain_words() {
        for wrong in ["[1]", "\"ten\"", "[1, \"x\"]"] {
            let source = format!("[defaults.signin]\nbase_points = {wrong}\n");
            let errors = Settings::from_toml("q.toml", &source, &crate::features::all())
                .unwrap_err()
                .to_string();
            assert!(
                errors.starts_with("q.toml:2:15: base_points must be a number such as 10"),
                "{errors}"
            );
            assert!(!errors.contains("enum"), "{errors}");
        }
    }

    #[test]
    fn feature_sections_apply_and_report_bad_values_where_they_are() {
        let source = r#"
[defaults.signin]
day_starts_at = "04:00"
base_points = [1, 3]

[defaults.levels]
titles = ["a", "b"]

[groups."-7".signin]
base_points = 5
busy_per_minute = 0
"#;
        let errors = Settings::from_toml("q.toml", source, &crate::features::all()).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert!(
            errors
                .to_string()
                .contains("q.toml:11:19: signin.busy_per_minute must be between 1 and 10000"),
            "{errors}"
        );
        let settings = Settings::from_toml(
            "q.toml",
            &source.replace("busy_per_minute = 0", "busy_per_minute = 30"),
            &crate::features::all(),
        )
        .unwrap();
        let group = settings.group(-7);
        assert_eq!(
            group.section::<SigninSettings>().day_starts_at.to_string(),
            "04:00:00",
            "inherited from the defaults"
        );
        assert_eq!(
            group.section::<SigninSettings>().base_points,
            BasePoints::Fixed(5)
        );
        assert_eq!(group.section::<SigninSettings>().busy_per_minute, 30);
        assert_eq!(
            group
                .section::<crate::features::levels::LevelSettings>()
                .titles,
            vec!["a".to_owned(), "b".to_owned()]
        );
    }
}
