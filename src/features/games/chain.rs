//! 成语接龙 and the English word chain: start, moves, timers, hints and the final board.

use std::collections::HashSet;

use chrono::Duration;
use minijinja::context;

use super::config::WrongAnswers;
use super::queries::{self, Game, NewGame, NewMove};
use super::text::{looks_like_idiom, looks_like_word, masked, normalise};
use super::words::{ENGLISH_WORDS, IDIOM_LIST, LinkMode, links, readings};
use super::{FEATURE, credit, pick, post, settings};
use crate::core::context::Cx;
use crate::core::event::User;
use crate::core::feature::{CommandOutcome, FeatureResult};

/// Above this many moves a minute the bot stops answering each one: it reacts and keeps one
/// status message up to date, to stay within Telegram's ~20 messages a minute per group.
const BUSY_MOVES_PER_MINUTE: i64 = 8;
/// How many of the most common continuations the bot chooses its own move among.
const BOT_CHOICES: usize = 5;
/// A start word needs at least this many continuations, so a game never opens at a dead end.
const MIN_START_CONTINUATIONS: usize = 20;
/// How many lines the final board shows.
const BOARD_LINES: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chain {
    Idiom,
    Word,
}

impl Chain {
    pub fn of(game: &Game) -> Option<Chain> {
        match game.kind.as_str() {
            "idiom" => Some(Chain::Idiom),
            "word" => Some(Chain::Word),
            _ => None,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Chain::Idiom => "idiom",
            Chain::Word => "word",
        }
    }

    fn is_word(self, text: &str) -> bool {
        match self {
            Chain::Idiom => looks_like_idiom(text) && IDIOM_LIST.contains(text),
            Chain::Word => looks_like_word(text) && ENGLISH_WORDS.contains(text),
        }
    }

    fn links(self, previous: &str, next: &str, mode: LinkMode) -> bool {
        match (previous.chars().last(), next.chars().next()) {
            (Some(last), Some(first)) => match self {
                Chain::Idiom => links(last, first, mode),
                Chain::Word => last == first,
            },
            _ => false,
        }
    }

    fn continuations(
        self,
        previous: &str,
        mode: LinkMode,
        used: &HashSet<String>,
    ) -> Vec<&'static str> {
        match self {
            Chain::Idiom => IDIOM_LIST.continuations(previous, mode, used),
            Chain::Word => ENGLISH_WORDS.continuations(previous, used),
        }
    }
}

/// How a chain game ended.
pub enum End {
    /// Nobody answered in time (and the bot did not or could not play).
    Timeout,
    /// The game's length cap.
    TimeUp,
    /// No word can follow the last one.
    NoContinuation,
    /// The starter or an admin (named) stopped it.
    Stopped(String),
}

fn mode_of(game: &Game) -> LinkMode {
    LinkMode::parse(&game.rule).unwrap_or(LinkMode::Loose)
}

/// What the next word must start with: "怡（yí）" or "e".
fn next_start(chain: Chain, word: &str, mode: LinkMode) -> String {
    let Some(last) = word.chars().last() else {
        return String::new();
    };
    match chain {
        Chain::Word => last.to_string(),
        Chain::Idiom if mode == LinkMode::SameChar => last.to_string(),
        Chain::Idiom => {
            let sounds = readings(last, true);
            if sounds.is_empty() {
                last.to_string()
            } else {
                format!("{last}（{}）", sounds.join("/"))
            }
        }
    }
}

async fn used_words(cx: &mut Cx<'_>, game: &Game) -> FeatureResult<Vec<queries::Move>> {
    Ok(queries::moves(cx.tx, cx.chat(), game.id).await?)
}

fn word_set(moves: &[queries::Move]) -> HashSet<String> {
    moves.iter().map(|m| m.word.clone()).collect()
}

pub async fn start(
    cx: &mut Cx<'_>,
    member: &User,
    chain: Chain,
    args: &str,
) -> FeatureResult<CommandOutcome> {
    if let Some(game) = queries::live(cx.tx, cx.chat()).await? {
        let text = cx.text("games.busy", context! { current => game.current });
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let mode = match chain {
        Chain::Idiom => settings(cx).link_mode,
        // Letters have no readings: the last letter starts the next word.
        Chain::Word => LinkMode::SameChar,
    };
    let at = cx.event.at;
    let (word, by_bot) = if args.is_empty() {
        let candidates: Vec<&'static str> = match chain {
            Chain::Idiom => IDIOM_LIST.common().collect(),
            Chain::Word => ENGLISH_WORDS.common.clone(),
        };
        let mut choice = pick(&[cx.chat(), at.timestamp()], candidates.len());
        // Walk on from the drawn word to one that leaves plenty of room to answer.
        for _ in 0..candidates.len() {
            let word = candidates[choice];
            let used = HashSet::from([word.to_owned()]);
            if chain.continuations(word, mode, &used).len() >= MIN_START_CONTINUATIONS {
                break;
            }
            choice = (choice + 1) % candidates.len();
        }
        match candidates.get(choice) {
            Some(word) => ((*word).to_owned(), true),
            None => return Ok(CommandOutcome::Done),
        }
    } else {
        match normalise(args) {
            Some(word) if chain.is_word(&word) => (word, false),
            _ => {
                let key = match chain {
                    Chain::Idiom => "games.not_an_idiom",
                    Chain::Word => "games.not_a_word",
                };
                // Echo only the start of whatever was typed.
                let mut word: String = args.chars().take(20).collect();
                if word.len() < args.len() {
                    word.push('…');
                }
                let text = cx.text(key, context! { word });
                cx.reply(text);
                return Ok(CommandOutcome::Done);
            }
        }
    };
    let config = settings(cx).clone();
    let ends_at = at + Duration::minutes(config.game_minutes);
    let Some(id) = queries::start(
        cx.tx,
        &NewGame {
            chat: cx.chat(),
            kind: chain.kind(),
            rule: mode.as_str(),
            current: &word,
            started_by: member.id,
            at: at.timestamp(),
            ends_at: ends_at.timestamp(),
            thread: cx.thread(),
        },
    )
    .await?
    else {
        return Ok(CommandOutcome::Done);
    };
    queries::record_move(
        cx.tx,
        &NewMove {
            game: id,
            turn: 0,
            user: if by_bot { cx.bot.id } else { member.id },
            word: &word,
            message: cx.event.message().map(|m| m.id),
            at: at.timestamp(),
            combo: 0,
            points: 0,
            by_bot: true,
        },
    )
    .await?;
    cx.set_timer(FEATURE, "cap", ends_at, &id.to_string())
        .await?;
    set_turn_timers(cx, id, 0).await?;
    let text = cx.text(
        match chain {
            Chain::Idiom => "games.chain_started",
            Chain::Word => "games.word_chain_started",
        },
        context! {
            word => &word,
            next => next_start(chain, &word, mode),
            mode => mode.as_str(),
            turn_seconds => config.turn_seconds,
            game_minutes => config.game_minutes,
        },
    );
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

async fn set_turn_timers(cx: &mut Cx<'_>, game: i64, turn: i64) -> FeatureResult {
    let config = settings(cx).clone();
    // From now, not from when the event happened: after an outage a turn must still get its
    // whole time.
    let at = cx.now.max(cx.event.at);
    let payload = format!("{game}:{turn}");
    cx.set_timer(
        FEATURE,
        "turn",
        at + Duration::seconds(config.turn_seconds),
        &payload,
    )
    .await?;
    if config.reminder_seconds > 0 {
        let due = at + Duration::seconds(config.turn_seconds - config.reminder_seconds);
        cx.set_timer(FEATURE, "remind", due, &payload).await?;
    }
    Ok(())
}

/// A message in a group with a chain game going: a move if it is a word that links.
pub async fn answer(cx: &mut Cx<'_>, member: &User, game: &Game, answer: &str) -> FeatureResult {
    let Some(chain) = Chain::of(game) else {
        return Ok(());
    };
    // Conversation (anything that is not a dictionary word) is none of the game's business.
    if !chain.is_word(answer) {
        return Ok(());
    }
    let mode = mode_of(game);
    if !chain.links(&game.current, answer, mode) {
        if settings(cx).wrong_answers == WrongAnswers::React && chain == Chain::Idiom {
            let text = cx.text(
                "games.wrong_link",
                context! { word => answer, next => next_start(chain, &game.current, mode) },
            );
            let emoji = settings(cx).wrong_answer_reaction.clone();
            cx.react_or_reply(&emoji, text);
        }
        return Ok(());
    }
    let moves = used_words(cx, game).await?;
    let mut used = word_set(&moves);
    if used.contains(answer) {
        let text = cx.text("games.repeated", context! { word => answer });
        cx.reply(text);
        return Ok(());
    }
    let previous = moves.last();
    let combo = match previous {
        Some(last) if last.turn > 0 && last.by_bot == 0 && last.user_id == member.id => {
            last.combo + 1
        }
        _ => 1,
    };
    let config = settings(cx).clone();
    let points = if config.points_per_link == 0 {
        0
    } else {
        config.points_per_link + combo_bonus(combo)
    };
    let turn = game.turn + 1;
    let at = cx.event.at.timestamp();
    let recorded = queries::record_move(
        cx.tx,
        &NewMove {
            game: game.id,
            turn,
            user: member.id,
            word: answer,
            message: cx.event.message().map(|m| m.id),
            at,
            combo,
            points,
            by_bot: false,
        },
    )
    .await?;
    if !recorded {
        // Someone else's answer took this turn first.
        return Ok(());
    }
    queries::advance(cx.tx, game.id, turn, answer, 0).await?;
    let credited = credit(cx, member.id, points, format!("game:{}:{turn}", game.id)).await?;
    used.insert(answer.to_owned());
    let mut moved = game.clone();
    moved.turn = turn;
    moved.current = answer.to_owned();
    if chain.continuations(answer, mode, &used).is_empty() {
        if config.dead_end_bonus > 0 {
            queries::add_move_points(cx.tx, game.id, turn, config.dead_end_bonus).await?;
            credit(
                cx,
                member.id,
                config.dead_end_bonus,
                format!("game:{}:dead_end", game.id),
            )
            .await?;
        }
        return finish(cx, &moved, End::NoContinuation).await;
    }
    set_turn_timers(cx, game.id, turn).await?;
    let busy = queries::moves_since(cx.tx, game.id, at - 60).await? > BUSY_MOVES_PER_MINUTE;
    let text = cx.text(
        "games.linked",
        context! {
            name => member.display_name(),
            word => answer,
            points, credited, combo,
            capped => credited < points,
            next => next_start(chain, answer, mode),
        },
    );
    if busy {
        cx.react("👍");
        cx.edit_keyed(format!("game-status:{}", game.id), text, Vec::new());
    } else {
        cx.reply(text);
    }
    Ok(())
}

/// Extra points for links in a row by the same member (1–2: none, 3–5: +1, 6–9: +2, 10+: +3).
fn combo_bonus(combo: i64) -> i64 {
    match combo {
        ..=2 => 0,
        3..=5 => 1,
        6..=9 => 2,
        _ => 3,
    }
}

pub async fn remind(cx: &mut Cx<'_>, game: &Game) -> FeatureResult {
    let Some(chain) = Chain::of(game) else {
        return Ok(());
    };
    let text = cx.text(
        "games.reminder",
        context! {
            seconds => settings(cx).reminder_seconds,
            word => &game.current,
            next => next_start(chain, &game.current, mode_of(game)),
            bot_moves => settings(cx).bot_moves && game.bot_moves == 0,
            idiom => chain == Chain::Idiom,
        },
    );
    post(cx, game, text);
    Ok(())
}

/// Nobody answered in time: the bot plays once (if the group lets it), else the game ends.
pub async fn turn_over(cx: &mut Cx<'_>, game: &Game) -> FeatureResult {
    let Some(chain) = Chain::of(game) else {
        return Ok(());
    };
    if !settings(cx).bot_moves || game.bot_moves > 0 {
        return finish(cx, game, End::Timeout).await;
    }
    let mode = mode_of(game);
    let moves = used_words(cx, game).await?;
    let mut used = word_set(&moves);
    let options = chain.continuations(&game.current, mode, &used);
    let Some(&word) = options.get(pick(&[game.id, game.turn], options.len().min(BOT_CHOICES)))
    else {
        return finish(cx, game, End::NoContinuation).await;
    };
    let turn = game.turn + 1;
    queries::record_move(
        cx.tx,
        &NewMove {
            game: game.id,
            turn,
            user: cx.bot.id,
            word,
            message: None,
            at: cx.event.at.timestamp(),
            combo: 0,
            points: 0,
            by_bot: true,
        },
    )
    .await?;
    queries::advance(cx.tx, game.id, turn, word, game.bot_moves + 1).await?;
    used.insert(word.to_owned());
    let mut moved = game.clone();
    moved.turn = turn;
    moved.current = word.to_owned();
    moved.bot_moves += 1;
    if chain.continuations(word, mode, &used).is_empty() {
        return finish(cx, &moved, End::NoContinuation).await;
    }
    set_turn_timers(cx, game.id, turn).await?;
    let text = cx.text(
        "games.bot_moved",
        context! { word, next => next_start(chain, word, mode) },
    );
    post(cx, game, text);
    Ok(())
}

/// A progressive hint: how many words fit, then the start of the most common one.
pub async fn hint(cx: &mut Cx<'_>, game: &Game) -> FeatureResult<bool> {
    let Some(chain) = Chain::of(game) else {
        return Ok(false);
    };
    let limit = settings(cx).hints_per_game;
    if game.hints_used >= limit {
        let text = cx.text("games.no_more_hints", context! { limit });
        cx.reply(text);
        return Ok(false);
    }
    let moves = used_words(cx, game).await?;
    let options = chain.continuations(&game.current, mode_of(game), &word_set(&moves));
    let Some(best) = options.first() else {
        return Ok(false);
    };
    let level = game.hints_used + 1;
    queries::use_hint(cx.tx, game.id).await?;
    let shown = match level {
        1 => 0,
        2 => 1,
        _ => 2,
    };
    let text = cx.text(
        "games.chain_hint",
        context! {
            level, limit,
            count => options.len(),
            next => next_start(chain, &game.current, mode_of(game)),
            pattern => if chain == Chain::Idiom { masked(best, shown) } else { spaced(&masked(best, shown)) },
            letters => best.chars().count(),
        },
    );
    cx.reply(text);
    Ok(true)
}

/// "ex____" → "e x _ _ _ _": letters a reader can count.
fn spaced(pattern: &str) -> String {
    pattern
        .chars()
        .map(|c| {
            if c == '＿' {
                "_".to_owned()
            } else {
                c.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One player's line on the final board.
struct Standing {
    user: i64,
    name: String,
    points: i64,
    links: i64,
    best_combo: i64,
    first_turn: i64,
}

/// Ends the game and posts the board: points per player and their longest combo.
pub async fn finish(cx: &mut Cx<'_>, game: &Game, end: End) -> FeatureResult {
    let reason = match &end {
        End::Timeout => "timeout",
        End::TimeUp => "time_up",
        End::NoContinuation => "dead_end",
        End::Stopped(_) => "stopped",
    };
    if !queries::end(cx.tx, game.id, cx.event.at.timestamp(), reason).await? {
        return Ok(());
    }
    for key in ["turn", "remind", "cap"] {
        cx.cancel_timer(FEATURE, key).await?;
    }
    let moves = used_words(cx, game).await?;
    let mut players: Vec<Standing> = Vec::new();
    for m in moves.iter().filter(|m| m.by_bot == 0 && m.turn > 0) {
        match players.iter_mut().find(|p| p.user == m.user_id) {
            Some(player) => {
                player.points += m.points;
                player.links += 1;
                player.best_combo = player.best_combo.max(m.combo);
            }
            None => players.push(Standing {
                user: m.user_id,
                name: m.name.clone(),
                points: m.points,
                links: 1,
                best_combo: m.combo,
                first_turn: m.turn,
            }),
        }
    }
    // Most points first; then most links; then whoever played first.
    players.sort_by_key(|p| {
        (
            std::cmp::Reverse(p.points),
            std::cmp::Reverse(p.links),
            p.first_turn,
        )
    });
    let lines: Vec<String> = players
        .iter()
        .take(BOARD_LINES)
        .enumerate()
        .map(|(i, player)| {
            cx.text(
                "games.board_line",
                context! {
                    rank => i + 1,
                    name => &player.name,
                    points => player.points,
                    links => player.links,
                    combo => player.best_combo,
                },
            )
        })
        .collect();
    let links = moves.iter().filter(|m| m.turn > 0).count();
    let text = cx.text(
        "games.chain_over",
        context! {
            reason,
            word => &game.current,
            stopped_by => match &end { End::Stopped(name) => name.clone(), _ => String::new() },
            links,
            lines,
        },
    );
    if cx.event.message().is_some() {
        cx.reply(text);
    } else {
        post(cx, game, text);
    }
    Ok(())
}
