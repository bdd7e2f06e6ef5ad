//! Word games: 成语接龙 (idiom chain) and its English cousin, a word chain; and guessing rounds
//! (猜成语 from a meaning or from emoji, 歇后语, English anagrams).
//!
//! One game per group at a time, all of its state in the database (`games`, `game_moves`), so a
//! restart in the middle of a game carries on. Moves are plain messages; the first valid answer
//! of a turn wins because `game_moves` is unique per (game, turn) and the engine hands one chat's
//! events over in order. Every deadline (turn, reminder, game length, round) is a feature timer.
//! Points go into the sign-in feature's ledger (reason "game"), up to a daily cap.

mod chain;
pub mod config;
mod queries;
mod quiz;
pub mod text;
pub mod words;

use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use minijinja::context;

use crate::core::action::Action;
use crate::core::commands::Invocation;
use crate::core::context::{Cx, Role};
use crate::core::event::{EventKind, User};
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::settings::SectionSlot;
use crate::features::signin::queries as ledger;
use config::GamesSettings;
use queries::Game;

/// The name operators use in `features = [...]`, and the owner of the games' timers.
pub const FEATURE: &str = "games";

pub struct Games;

#[async_trait]
impl Feature for Games {
    fn name(&self) -> &'static str {
        FEATURE
    }

    fn commands(&self) -> &'static [&'static str] {
        &["idiom", "wordchain", "guess", "hint", "skip", "stopgame"]
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<config::GamesSettings>()]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests![
            "idiom.toml",
            "wordchain.toml",
            "guess.toml",
            "hint.toml",
            "skip.toml",
            "stopgame.toml"
        ]
    }

    fn migrations(&self) -> Option<crate::store::Migrations> {
        Some(crate::migrations!(
            "src/features/games/migrations/sqlite",
            "src/features/games/migrations/postgres"
        ))
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        let Some(member) = cx.event.person().cloned() else {
            return Ok(CommandOutcome::Done);
        };
        let args = invocation.args.trim();
        match invocation.name.as_str() {
            // 开始接龙 could mean the game or a sign-up list: the bot says which is which.
            "idiom" if typed_as(cx, "开始接龙") => {
                let text = cx.text("games.which_chain", context! {});
                cx.reply(text);
                Ok(CommandOutcome::Done)
            }
            "idiom" => chain::start(cx, &member, chain::Chain::Idiom, args).await,
            "wordchain" => chain::start(cx, &member, chain::Chain::Word, args).await,
            "guess" => quiz::start(cx, &member, args).await,
            "hint" => hint(cx, &member).await,
            "skip" => quiz::skip(cx, &member).await,
            "stopgame" => stop(cx, &member).await,
            _ => Ok(CommandOutcome::Done),
        }
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        match &cx.event.kind {
            EventKind::Timer { key, payload, .. } => {
                let (key, payload) = (key.clone(), payload.clone());
                timer(cx, &key, &payload).await
            }
            EventKind::Message(message)
                if !cx.is_command && !message.edited && message.by_a_person() =>
            {
                let Some(answer) = text::normalise(&message.text) else {
                    return Ok(());
                };
                let Some(game) = queries::live(cx.tx, cx.chat()).await? else {
                    return Ok(());
                };
                // In a group with topics the game lives in the topic it was started in.
                if message.thread != game.thread_id {
                    return Ok(());
                }
                let member = message.from.clone();
                if chain::Chain::of(&game).is_some() {
                    chain::answer(cx, &member, &game, &answer).await
                } else {
                    quiz::answer(cx, &member, &game, &answer).await
                }
            }
            _ => Ok(()),
        }
    }

    async fn migrate_chat(&self, tx: &mut crate::store::Tx, from: i64, to: i64) -> FeatureResult {
        queries::migrate_chat(tx, from, to).await?;
        Ok(())
    }
}

/// Whether the member typed exactly this trigger (punctuation and traditional forms aside).
fn typed_as(cx: &Cx<'_>, trigger: &str) -> bool {
    cx.event.message().is_some_and(|message| {
        let text = crate::core::hanzi::simplified(message.text.trim());
        text.trim_end_matches(|c: char| !c.is_alphanumeric()) == trigger
    })
}

fn settings<'a>(cx: &'a Cx<'_>) -> &'a GamesSettings {
    cx.group.section::<GamesSettings>()
}

async fn timer(cx: &mut Cx<'_>, key: &str, payload: &str) -> FeatureResult {
    // Payload "<game id>" or "<game id>:<turn>": a timer of a game that has moved on or ended
    // is stale and does nothing.
    let mut parts = payload.split(':').map(|p| p.parse::<i64>().ok());
    let Some(Some(id)) = parts.next() else {
        return Ok(());
    };
    let turn = parts.next().flatten();
    let Some(game) = queries::by_id(cx.tx, id).await? else {
        return Ok(());
    };
    let Some(live) = queries::live(cx.tx, cx.chat()).await? else {
        return Ok(());
    };
    if live.id != game.id || turn.is_some_and(|turn| turn != live.turn) {
        return Ok(());
    }
    match key {
        "remind" => chain::remind(cx, &live).await,
        "turn" => chain::turn_over(cx, &live).await,
        "cap" => chain::finish(cx, &live, chain::End::TimeUp).await,
        "round" => quiz::time_up(cx, &live).await,
        _ => Ok(()),
    }
}

async fn hint(cx: &mut Cx<'_>, member: &User) -> FeatureResult<CommandOutcome> {
    let Some(game) = queries::live(cx.tx, cx.chat()).await? else {
        no_game(cx);
        return Ok(CommandOutcome::Done);
    };
    let cost = settings(cx).hint_cost;
    if cost > 0 {
        let scope = cx.settings.points_scope(cx.chat());
        let balance = ledger::balance(cx.tx, scope, member.id).await?;
        if balance < cost {
            let text = cx.text("games.hint_too_dear", context! { cost, balance });
            cx.reply(text);
            return Ok(CommandOutcome::Done);
        }
    }
    let given = if chain::Chain::of(&game).is_some() {
        chain::hint(cx, &game).await?
    } else {
        quiz::hint(cx, &game).await?
    };
    if given && cost > 0 {
        let scope = cx.settings.points_scope(cx.chat());
        ledger::add_points(
            cx.tx,
            scope,
            member.id,
            -cost,
            "game_hint",
            Some(format!("game:{}:hint:{}", game.id, game.hints_used + 1)),
            cx.event.at.timestamp(),
        )
        .await?;
    }
    Ok(CommandOutcome::Done)
}

async fn stop(cx: &mut Cx<'_>, member: &User) -> FeatureResult<CommandOutcome> {
    let Some(game) = queries::live(cx.tx, cx.chat()).await? else {
        no_game(cx);
        return Ok(CommandOutcome::Done);
    };
    if !may_end(cx, member, &game) {
        let text = cx.text("games.not_yours", context! {});
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    if chain::Chain::of(&game).is_some() {
        chain::finish(cx, &game, chain::End::Stopped(member.display_name())).await?;
    } else {
        quiz::reveal(cx, &game, "skipped").await?;
    }
    Ok(CommandOutcome::Done)
}

/// "No game is on", for a slash command. "提示" or "结束游戏" typed in conversation while no
/// game is on was probably not meant for the bot: no answer.
fn no_game(cx: &mut Cx<'_>) {
    if typed_as_slash_command(cx) {
        let text = cx.text("games.no_game", context! {});
        cx.reply(text);
    }
}

fn typed_as_slash_command(cx: &Cx<'_>) -> bool {
    cx.event
        .message()
        .is_some_and(|message| message.text.trim_start().starts_with('/'))
}

/// The member who started a game, and the group's admins, may end it early.
fn may_end(cx: &Cx<'_>, member: &User, game: &Game) -> bool {
    game.started_by == member.id || cx.role >= Role::Admin || cx.is_admin(member.id)
}

/// Posts in the game's topic (timers have no message to answer).
fn post(cx: &mut Cx<'_>, game: &Game, text: String) {
    cx.queue(Action::Send {
        chat: cx.chat(),
        text,
        reply_to: None,
        thread: game.thread_id,
        key: None,
        buttons: Vec::new(),
    });
}

/// Puts a member's game points into the ledger, up to the day's cap; returns what went in.
async fn credit(cx: &mut Cx<'_>, user: i64, points: i64, reference: String) -> FeatureResult<i64> {
    if points <= 0 {
        return Ok(0);
    }
    let scope = cx.settings.points_scope(cx.chat());
    let since = day_start(cx.event.at, cx.group.timezone);
    let earned = queries::game_points_since(cx.tx, scope, user, since).await?;
    let credited = points.min(settings(cx).daily_points_cap - earned).max(0);
    if credited > 0 {
        ledger::add_points(
            cx.tx,
            scope,
            user,
            credited,
            "game",
            Some(reference),
            cx.event.at.timestamp(),
        )
        .await?;
    }
    Ok(credited)
}

/// Midnight in the group's time zone, as Unix seconds: the daily cap's day.
fn day_start(at: DateTime<Utc>, zone: chrono_tz::Tz) -> i64 {
    let date = at.with_timezone(&zone).date_naive();
    (0..4)
        .find_map(|hours| {
            zone.from_local_datetime(
                &(date.and_time(NaiveTime::MIN) + chrono::Duration::hours(hours)),
            )
            .earliest()
        })
        .map_or(at.timestamp() - 86_400, |start| start.timestamp())
}

/// A well-spread number from a few inputs (SplitMix64's finaliser): the same event picks the
/// same start word or question if it is handled again.
fn pick(seed: &[i64], len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for &part in seed {
        x ^= part as u64;
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    (x % len as u64) as usize
}
