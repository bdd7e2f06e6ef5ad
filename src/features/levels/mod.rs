//! XP and levels for taking part in the conversation (separate from sign-in points).
//!
//! A message earns 15–25 XP when it has some substance (not a command, not media alone, not the
//! member's previous text again) and the member has not earned any in the last minute, with an
//! optional daily cap. Levels follow the MEE6 curve members know: going from level n to n+1
//! takes 5n² + 50n + 100 XP. Titles come from a ladder, one title per few levels.
//! Level-ups are announced in one message per minute, edited as more members go up.

use std::hash::{DefaultHasher, Hash, Hasher};

use async_trait::async_trait;
use minijinja::context;
use serde::Deserialize;
use toml::Spanned;

use crate::args;
use crate::core::context::Cx;
use crate::core::event::EventKind;
use crate::core::feature::{Feature, FeatureResult};
use crate::core::settings::SectionSlot;
use crate::core::settings::{Section, SectionCx};
use crate::store::{StoreResult, Tx};

/// XP needed to go from `level` to `level + 1`.
pub fn xp_for_next(level: i64) -> i64 {
    5 * level * level + 50 * level + 100
}

/// The level a total of `xp` reaches.
pub fn level_for(mut xp: i64) -> i64 {
    let mut level = 0;
    while xp >= xp_for_next(level) {
        xp -= xp_for_next(level);
        level += 1;
    }
    level
}

/// As written in the config (`[defaults.levels]`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelsSection {
    #[serde(default)]
    pub cooldown_secs: Option<Spanned<i64>>,
    /// 0 for no cap.
    #[serde(default)]
    pub daily_cap: Option<Spanned<i64>>,
    #[serde(default)]
    pub titles: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub levels_per_title: Option<Spanned<i64>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelSettings {
    pub cooldown_secs: i64,
    pub daily_cap: i64,
    pub titles: Vec<String>,
    pub levels_per_title: i64,
    /// Whether the operator chose the titles; if not, they follow the group's language.
    pub titles_set: bool,
}

/// The built-in ladders, by language.
const TITLES_ZH: [&str; 6] = ["潜水", "冒泡", "吐槽", "活跃", "话唠", "传说"];
const TITLES_EN: [&str; 6] = [
    "Lurker", "Newcomer", "Chatter", "Regular", "Talker", "Legend",
];

impl Default for LevelSettings {
    fn default() -> Self {
        LevelSettings {
            cooldown_secs: 60,
            daily_cap: 0,
            titles: TITLES_ZH.map(String::from).to_vec(),
            levels_per_title: 5,
            titles_set: false,
        }
    }
}

impl Section for LevelSettings {
    const KEY: &'static str = "levels";
    type File = LevelsSection;

    fn apply(&self, section: &LevelsSection, cx: &mut SectionCx<'_>) -> LevelSettings {
        let problems = &mut *cx.problems;
        let mut settings = self.clone();
        for (value, target, name, lowest) in [
            (
                &section.cooldown_secs,
                &mut settings.cooldown_secs,
                "cooldown_secs",
                0,
            ),
            (&section.daily_cap, &mut settings.daily_cap, "daily_cap", 0),
            (
                &section.levels_per_title,
                &mut settings.levels_per_title,
                "levels_per_title",
                1,
            ),
        ] {
            if let Some(value) = value {
                if (lowest..=1_000_000).contains(value.get_ref()) {
                    *target = *value.get_ref();
                } else {
                    problems.push((
                        value.span(),
                        format!("levels.{name} must be between {lowest} and 1000000"),
                    ));
                }
            }
        }
        if let Some(titles) = &section.titles {
            if titles.get_ref().is_empty()
                || titles
                    .get_ref()
                    .iter()
                    .any(|t| t.trim().is_empty() || t.chars().count() > 20)
            {
                problems.push((
                    titles.span(),
                    "levels.titles must list one or more titles of 1-20 characters".into(),
                ));
            } else {
                settings.titles = titles.get_ref().clone();
                settings.titles_set = true;
            }
        }
        settings
    }

    fn finish(self, cx: &mut SectionCx<'_>) -> LevelSettings {
        self.in_language(cx.language)
    }
}

impl LevelSettings {
    /// These settings for a group in `language`: the built-in ladder in it, unless the operator
    /// chose titles.
    pub fn in_language(mut self, language: crate::core::i18n::Language) -> LevelSettings {
        if !self.titles_set {
            let ladder = match language {
                crate::core::i18n::Language::ZhCn => TITLES_ZH,
                crate::core::i18n::Language::En => TITLES_EN,
            };
            self.titles = ladder.map(String::from).to_vec();
        }
        self
    }

    pub fn title(&self, level: i64) -> &str {
        let index = usize::try_from(level / self.levels_per_title.max(1)).unwrap_or(0);
        self.titles
            .get(index.min(self.titles.len().saturating_sub(1)))
            .map_or("", String::as_str)
    }
}

#[derive(Debug, sqlx::FromRow)]
struct XpRow {
    xp: i64,
    level: i64,
    last_grant_at: i64,
    last_text_hash: i64,
    day: i64,
    day_xp: i64,
}

/// A member's standing, for other features' replies (the sign-in line, /me).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub xp: i64,
    pub level: i64,
    pub title: String,
}

pub async fn standing(
    tx: &mut Tx,
    settings: &LevelSettings,
    chat: i64,
    user: i64,
) -> StoreResult<Standing> {
    let row: Option<(i64, i64)> = tx
        .fetch_optional(
            "SELECT xp, level FROM member_xp WHERE chat_id = $1 AND user_id = $2",
            args![chat, user],
        )
        .await?;
    let (xp, level) = row.unwrap_or((0, 0));
    Ok(Standing {
        xp,
        level,
        title: settings.title(level).to_owned(),
    })
}

pub struct Levels;

#[async_trait]
impl Feature for Levels {
    fn name(&self) -> &'static str {
        "levels"
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<LevelSettings>()]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn migrations(&self) -> Option<crate::store::Migrations> {
        Some(crate::migrations!(
            "src/features/levels/migrations/sqlite",
            "src/features/levels/migrations/postgres"
        ))
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        let EventKind::Message(message) = &cx.event.kind else {
            return Ok(());
        };
        if !cx.event.chat.kind.is_group() || message.edited || !message.by_a_person() {
            return Ok(());
        }
        let text = message.text.trim();
        let substance =
            text.chars().filter(|c| !c.is_whitespace()).count() >= 2 && !text.starts_with('/');
        // The engine has parsed the message already; a command earns nothing.
        if !substance || cx.is_command {
            return Ok(());
        }
        let settings = cx.group.section::<LevelSettings>().clone();
        // XP is kept per group, or per community when groups share it.
        let chat = cx.settings.points_scope(cx.chat());
        let user = message.from.id;
        let at = cx.event.at.timestamp();
        let day = crate::core::day::day_of(cx.event.at, cx.group.timezone, cx.group.day_starts_at);
        let text_hash = {
            let mut hasher = DefaultHasher::new();
            text.hash(&mut hasher);
            hasher.finish() as i64
        };
        let row: XpRow = cx
            .tx
            .fetch_optional(
                "SELECT xp, level, last_grant_at, last_text_hash, day, day_xp FROM member_xp
                 WHERE chat_id = $1 AND user_id = $2",
                args![chat, user],
            )
            .await?
            .unwrap_or(XpRow {
                xp: 0,
                level: 0,
                last_grant_at: i64::MIN / 2,
                last_text_hash: 0,
                day,
                day_xp: 0,
            });
        let day_xp = if row.day == day { row.day_xp } else { 0 };
        if at - row.last_grant_at < settings.cooldown_secs || text_hash == row.last_text_hash {
            return Ok(());
        }
        // 15–25, drawn from the message itself so that handling it again gives the same.
        let mut grant = 15 + (text_hash.unsigned_abs() ^ message.id as u64) as i64 % 11;
        if settings.daily_cap > 0 {
            grant = grant.min(settings.daily_cap - day_xp);
            if grant <= 0 {
                return Ok(());
            }
        }
        let xp = row.xp + grant;
        let level = level_for(xp);
        let leveled_up = level > row.level;
        cx.tx
            .execute(
                "INSERT INTO member_xp (chat_id, user_id, xp, level, last_grant_at, last_text_hash, day, day_xp, leveled_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (chat_id, user_id) DO UPDATE SET
                     xp = excluded.xp, level = excluded.level, last_grant_at = excluded.last_grant_at,
                     last_text_hash = excluded.last_text_hash, day = excluded.day, day_xp = excluded.day_xp,
                     leveled_at = COALESCE(excluded.leveled_at, member_xp.leveled_at)",
                args![chat, user, xp, level, at, text_hash, day, day_xp + grant, leveled_up.then_some(at)],
            )
            .await?;
        if leveled_up {
            announce_level_ups(cx, &settings, at).await?;
        }
        Ok(())
    }

    async fn migrate_chat(&self, tx: &mut Tx, from: i64, to: i64) -> FeatureResult {
        tx.execute(
            "INSERT INTO member_xp (chat_id, user_id, xp, level, last_grant_at, last_text_hash, day, day_xp, leveled_at)
             SELECT $1, user_id, xp, level, last_grant_at, last_text_hash, day, day_xp, leveled_at
             FROM member_xp WHERE chat_id = $2
             ON CONFLICT (chat_id, user_id) DO UPDATE SET xp = member_xp.xp + excluded.xp,
                 level = CASE WHEN excluded.level > member_xp.level THEN excluded.level ELSE member_xp.level END",
            args![to, from],
        )
        .await?;
        tx.execute("DELETE FROM member_xp WHERE chat_id = $1", args![from])
            .await?;
        Ok(())
    }
}

/// One message per minute lists everyone who went up a level in it.
async fn announce_level_ups(cx: &mut Cx<'_>, settings: &LevelSettings, at: i64) -> FeatureResult {
    let window = at - at.rem_euclid(60);
    let rows: Vec<(String, i64)> = cx
        .tx
        .fetch_all(
            "SELECT COALESCE(m.display_name, '?'), x.level FROM member_xp x
             LEFT JOIN members m ON m.chat_id = $4 AND m.user_id = x.user_id
             WHERE x.chat_id = $1 AND x.leveled_at >= $2 AND x.leveled_at < $3 AND m.user_id IS NOT NULL
             ORDER BY x.leveled_at, x.user_id",
            args![cx.settings.points_scope(cx.chat()), window, window + 60, cx.chat()],
        )
        .await?;
    let lines: Vec<String> = rows
        .iter()
        .map(|(name, level)| format!("{name} → Lv.{level} {}", settings.title(*level)))
        .collect();
    let text = cx.text("levels.level_up", context! { lines });
    cx.edit_keyed(format!("level-up:{window}"), text, Vec::new());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_is_mee6s() {
        assert_eq!(xp_for_next(0), 100);
        assert_eq!(xp_for_next(1), 155);
        assert_eq!(level_for(99), 0);
        assert_eq!(level_for(100), 1);
        assert_eq!(level_for(254), 1);
        assert_eq!(level_for(255), 2);
    }

    #[test]
    fn titles_climb_the_ladder_and_stay_on_the_top_rung() {
        let settings = LevelSettings::default();
        assert_eq!(settings.title(0), "潜水");
        assert_eq!(settings.title(5), "冒泡");
        assert_eq!(settings.title(29), "传说");
        assert_eq!(settings.title(500), "传说");
    }
}
