//! A feature of your own, whole: its config section (`[defaults.pingpong]`), two commands
//! (`commands/`), its messages in Chinese and English (`messages.toml`) and its own table
//! (`migrations/`). Nothing outside this folder names it but the line that registers it.
//!
//! `/ping` (or 乒) answers with the group's word and counts the member's pings of the day, up
//! to a daily limit; `/pings` (乒乓榜) shows today's board.

use async_trait::async_trait;
use minijinja::context;
use qunbot::args;
use qunbot::core::commands::Invocation;
use qunbot::core::context::Cx;
use qunbot::core::feature::{CommandOutcome, Feature, FeatureResult};
use qunbot::core::settings::{Section, SectionCx, SectionSlot, take_in_range};
use qunbot::store::Migrations;
use serde::Deserialize;
use toml::Spanned;

pub struct PingPong;

/// The settings in force for one group.
#[derive(Clone, Debug, PartialEq)]
pub struct PingPongSettings {
    /// What the bot answers.
    pub answer: String,
    /// Pings a member gets answered per day.
    pub daily_limit: i64,
}

impl Default for PingPongSettings {
    fn default() -> Self {
        PingPongSettings {
            answer: "pong".into(),
            daily_limit: 3,
        }
    }
}

/// `[defaults.pingpong]` and `[groups."<id>".pingpong]` as written: every key optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingPongSection {
    answer: Option<Spanned<String>>,
    daily_limit: Option<Spanned<i64>>,
}

impl Section for PingPongSettings {
    const KEY: &'static str = "pingpong";
    type File = PingPongSection;

    fn apply(&self, file: &PingPongSection, cx: &mut SectionCx<'_>) -> PingPongSettings {
        let mut settings = self.clone();
        if let Some(answer) = &file.answer {
            let length = answer.get_ref().trim().chars().count();
            if (1..=32).contains(&length) {
                settings.answer = answer.get_ref().trim().to_owned();
            } else {
                cx.problems.push((
                    answer.span(),
                    "pingpong.answer must be 1 to 32 characters".into(),
                ));
            }
        }
        let limit = &file.daily_limit;
        take_in_range(
            limit,
            &mut settings.daily_limit,
            "pingpong.daily_limit",
            1..=100,
            cx.problems,
        );
        settings
    }
}

#[async_trait]
impl Feature for PingPong {
    fn name(&self) -> &'static str {
        "pingpong"
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<PingPongSettings>()]
    }

    fn commands(&self) -> &'static [&'static str] {
        &["ping", "pings"]
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        qunbot::manifests!["ping.toml", "pings.toml"]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn migrations(&self) -> Option<Migrations> {
        Some(qunbot::migrations!(
            "examples/custom_feature/migrations/sqlite",
            "examples/custom_feature/migrations/postgres"
        ))
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        let Some(from) = cx.event.message().map(|message| message.from.clone()) else {
            return Ok(CommandOutcome::Done);
        };
        let settings = cx.group.section::<PingPongSettings>().clone();
        let day = cx.group.day_of(cx.event.at);
        let name = from.display_name();
        if invocation.name == "pings" {
            let rows: Vec<(String, i64)> = cx
                .tx
                .fetch_all(
                    "SELECT name, count FROM pingpong_counts WHERE chat_id = $1 AND day = $2
                     ORDER BY count DESC, user_id LIMIT 10",
                    args![cx.chat(), day],
                )
                .await?;
            let lines: Vec<String> = rows
                .iter()
                .map(|(name, count)| format!("{name} × {count}"))
                .collect();
            let text = if lines.is_empty() {
                cx.text("pingpong.nobody", context! {})
            } else {
                cx.text("pingpong.board", context! { lines })
            };
            cx.reply(text);
            return Ok(CommandOutcome::Done);
        }
        // The count goes up only below the limit, in the database: two pings at once cannot
        // both take the last one.
        let counted: Option<(i64,)> = cx
            .tx
            .fetch_optional(
                "INSERT INTO pingpong_counts (chat_id, user_id, name, day, count)
                 VALUES ($1, $2, $3, $4, 1)
                 ON CONFLICT (chat_id, day, user_id) DO UPDATE
                     SET count = pingpong_counts.count + 1, name = excluded.name
                     WHERE pingpong_counts.count < $5
                 RETURNING count",
                args![cx.chat(), from.id, name.clone(), day, settings.daily_limit],
            )
            .await?;
        let text = match counted {
            Some((count,)) => cx.text(
                "pingpong.pong",
                context! { answer => settings.answer, name, count },
            ),
            None => cx.text(
                "pingpong.enough",
                context! { name, limit => settings.daily_limit },
            ),
        };
        cx.reply(text);
        Ok(CommandOutcome::Done)
    }
}
