//! The word-game settings a group can have (`[defaults.games]`, `[groups."<id>".games]`).

use serde::Deserialize;
use toml::Spanned;

use super::words::LinkMode;
use crate::core::reactions;
use crate::core::settings::{Section, SectionCx};

/// As written in the config: every key optional, a group's table naming only what differs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GamesSection {
    /// How an idiom must link to the previous one: "loose", "strict" or "same_char".
    #[serde(default)]
    pub link_mode: Option<Spanned<String>>,
    /// Seconds a chain turn lasts without an answer.
    #[serde(default)]
    pub turn_seconds: Option<Spanned<i64>>,
    /// Seconds before the end of a turn when the bot reminds the group (0: no reminder).
    #[serde(default)]
    pub reminder_seconds: Option<Spanned<i64>>,
    /// A chain game ends after this many minutes whatever happens.
    #[serde(default)]
    pub game_minutes: Option<Spanned<i64>>,
    /// When a turn times out, the bot plays a common idiom itself (once in a row) instead of
    /// ending the game.
    #[serde(default)]
    pub bot_moves: Option<Spanned<bool>>,
    /// What a wrong answer gets: "silent" or "react" (`wrong_answer_reaction`, or a short
    /// reply where the group allows no reaction of that meaning).
    #[serde(default)]
    pub wrong_answers: Option<Spanned<String>>,
    /// The reaction a wrong answer gets with `wrong_answers = "react"`; one Telegram takes.
    #[serde(default)]
    pub wrong_answer_reaction: Option<Spanned<String>>,
    /// Points for a link; a combo (the same member linking again and again) adds more.
    #[serde(default)]
    pub points_per_link: Option<Spanned<i64>>,
    /// Extra points for the last word of a chain nobody can continue.
    #[serde(default)]
    pub dead_end_bonus: Option<Spanned<i64>>,
    /// Points for the first correct answer in a guessing round (one less per hint, at least 1).
    #[serde(default)]
    pub guess_points: Option<Spanned<i64>>,
    /// Seconds a guessing round lasts.
    #[serde(default)]
    pub guess_seconds: Option<Spanned<i64>>,
    /// Game points a member can earn into the points ledger per day.
    #[serde(default)]
    pub daily_points_cap: Option<Spanned<i64>>,
    /// Hints a chain game allows.
    #[serde(default)]
    pub hints_per_game: Option<Spanned<i64>>,
    /// What a hint costs the member who asks, in points (0: free).
    #[serde(default)]
    pub hint_cost: Option<Spanned<i64>>,
}

/// What a wrong answer gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrongAnswers {
    Silent,
    React,
}

/// The settings in force for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GamesSettings {
    pub link_mode: LinkMode,
    pub turn_seconds: i64,
    pub reminder_seconds: i64,
    pub game_minutes: i64,
    pub bot_moves: bool,
    pub wrong_answers: WrongAnswers,
    pub wrong_answer_reaction: String,
    pub points_per_link: i64,
    pub dead_end_bonus: i64,
    pub guess_points: i64,
    pub guess_seconds: i64,
    pub daily_points_cap: i64,
    pub hints_per_game: i64,
    pub hint_cost: i64,
}

impl Default for GamesSettings {
    fn default() -> Self {
        GamesSettings {
            link_mode: LinkMode::Loose,
            turn_seconds: 90,
            reminder_seconds: 30,
            game_minutes: 20,
            bot_moves: true,
            wrong_answers: WrongAnswers::Silent,
            wrong_answer_reaction: "👎".to_owned(),
            points_per_link: 1,
            dead_end_bonus: 2,
            guess_points: 3,
            guess_seconds: 90,
            daily_points_cap: 50,
            hints_per_game: 3,
            hint_cost: 0,
        }
    }
}

impl Section for GamesSettings {
    const KEY: &'static str = "games";
    type File = GamesSection;

    /// These settings with the section's keys applied; problems are reported with the span
    /// of the offending value.
    fn apply(&self, section: &GamesSection, cx: &mut SectionCx<'_>) -> GamesSettings {
        let problems = &mut *cx.problems;
        let mut settings = self.clone();
        if let Some(mode) = &section.link_mode {
            match LinkMode::parse(mode.get_ref()) {
                Some(parsed) => settings.link_mode = parsed,
                None => problems.push((
                    mode.span(),
                    format!(
                        "games.link_mode `{}` must be \"loose\", \"strict\" or \"same_char\"",
                        mode.get_ref()
                    ),
                )),
            }
        }
        if let Some(wrong) = &section.wrong_answers {
            match wrong.get_ref().as_str() {
                "silent" => settings.wrong_answers = WrongAnswers::Silent,
                "react" => settings.wrong_answers = WrongAnswers::React,
                other => problems.push((
                    wrong.span(),
                    format!("games.wrong_answers `{other}` must be \"silent\" or \"react\""),
                )),
            }
        }
        if let Some(emoji) = &section.wrong_answer_reaction {
            if reactions::is_reaction_emoji(emoji.get_ref()) {
                settings.wrong_answer_reaction = emoji.get_ref().clone();
            } else {
                problems.push((
                    emoji.span(),
                    format!(
                        "games.wrong_answer_reaction `{}` is not a reaction Telegram takes; use one of {}",
                        emoji.get_ref(),
                        reactions::REACTION_EMOJI.join(" ")
                    ),
                ));
            }
        }
        if let Some(bot_moves) = &section.bot_moves {
            settings.bot_moves = *bot_moves.get_ref();
        }
        for (value, target, name, range) in [
            (
                &section.turn_seconds,
                &mut settings.turn_seconds,
                "turn_seconds",
                15..=600,
            ),
            (
                &section.reminder_seconds,
                &mut settings.reminder_seconds,
                "reminder_seconds",
                0..=300,
            ),
            (
                &section.game_minutes,
                &mut settings.game_minutes,
                "game_minutes",
                5..=60,
            ),
            (
                &section.points_per_link,
                &mut settings.points_per_link,
                "points_per_link",
                0..=100,
            ),
            (
                &section.dead_end_bonus,
                &mut settings.dead_end_bonus,
                "dead_end_bonus",
                0..=100,
            ),
            (
                &section.guess_points,
                &mut settings.guess_points,
                "guess_points",
                0..=100,
            ),
            (
                &section.guess_seconds,
                &mut settings.guess_seconds,
                "guess_seconds",
                15..=600,
            ),
            (
                &section.daily_points_cap,
                &mut settings.daily_points_cap,
                "daily_points_cap",
                0..=10_000,
            ),
            (
                &section.hints_per_game,
                &mut settings.hints_per_game,
                "hints_per_game",
                0..=10,
            ),
            (
                &section.hint_cost,
                &mut settings.hint_cost,
                "hint_cost",
                0..=100,
            ),
        ] {
            if let Some(value) = value {
                if range.contains(value.get_ref()) {
                    *target = *value.get_ref();
                } else {
                    problems.push((
                        value.span(),
                        format!(
                            "games.{name} must be between {} and {}",
                            range.start(),
                            range.end()
                        ),
                    ));
                }
            }
        }
        if settings.reminder_seconds >= settings.turn_seconds {
            let span = section
                .reminder_seconds
                .as_ref()
                .or(section.turn_seconds.as_ref())
                .map(Spanned::span)
                .unwrap_or_default();
            problems.push((
                span,
                "games.reminder_seconds must be shorter than games.turn_seconds".into(),
            ));
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::GamesSettings;
    use crate::config::Settings;
    use crate::features::games::words::LinkMode;

    #[test]
    fn group_values_apply_over_the_defaults_and_bad_ones_are_reported_where_they_are() {
        let source = r#"
[defaults.games]
link_mode = "strict"
turn_seconds = 60

[groups."-7".games]
link_mode = "same_char"
wrong_answers = "react"
"#;
        let settings = Settings::from_toml("g.toml", source, &crate::features::all()).unwrap();
        assert_eq!(
            settings.defaults.section::<GamesSettings>().link_mode,
            LinkMode::Strict
        );
        assert_eq!(
            settings.defaults.section::<GamesSettings>().turn_seconds,
            60
        );
        let group = settings.group(-7).section::<GamesSettings>();
        assert_eq!(group.link_mode, LinkMode::SameChar);
        assert_eq!(
            group.turn_seconds, 60,
            "a group keeps the defaults it does not name"
        );
        assert_eq!(group.wrong_answers, super::WrongAnswers::React);

        let bad = "[defaults.games]\nlink_mode = \"tones\"\nturn_seconds = 5\ndaily_points_cap = -1\nspeed = 2\n";
        let errors = Settings::from_toml("g.toml", bad, &crate::features::all())
            .unwrap_err()
            .to_string();
        assert!(errors.contains("speed"), "{errors}");
        let typo_free = bad.replace("speed = 2\n", "");
        let errors = Settings::from_toml("g.toml", &typo_free, &crate::features::all())
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("g.toml:2:13: games.link_mode `tones`"),
            "{errors}"
        );
        assert!(
            errors.contains("g.toml:3:16: games.turn_seconds must be between 15 and 600"),
            "{errors}"
        );
        assert!(
            errors.contains("g.toml:4:20: games.daily_points_cap must be between 0 and 10000"),
            "{errors}"
        );
        let refused =
            "[defaults.games]\nwrong_answers = \"react\"\nwrong_answer_reaction = \"❌\"\n";
        let errors = Settings::from_toml("g.toml", refused, &crate::features::all())
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains(
                "g.toml:3:25: games.wrong_answer_reaction `❌` is not a reaction Telegram takes"
            ),
            "{errors}"
        );
        let reminder = "[defaults.games]\nturn_seconds = 30\nreminder_seconds = 30\n";
        let errors = Settings::from_toml("g.toml", reminder, &crate::features::all())
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("g.toml:3:20: games.reminder_seconds must be shorter"),
            "{errors}"
        );
    }
}
