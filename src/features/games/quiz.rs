//! Guessing rounds: 猜成语 from its meaning (释义) or from emoji, 歇后语 (the bot gives the first
//! half), and English anagrams. The first correct answer wins; unanswered rounds reveal the
//! answer when the time is up.

use chrono::Duration;
use minijinja::context;

use super::config::WrongAnswers;
use super::queries::{self, Game, NewGame, NewMove};
use super::text::{masked, normalise};
use super::words::{EMOJI, ENGLISH_WORDS, MEANINGS, XIEHOUYU, pairs};
use super::{FEATURE, credit, may_end, pick, post, settings};
use crate::core::context::Cx;
use crate::core::event::User;
use crate::core::feature::{CommandOutcome, FeatureResult};
use crate::core::i18n::Language;

/// How many recent rounds of a kind a group does not get again.
const RECENT_ROUNDS: i64 = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Meaning,
    Emoji,
    Xiehouyu,
    Anagram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Meaning => "meaning",
            Kind::Emoji => "emoji",
            Kind::Xiehouyu => "xiehouyu",
            Kind::Anagram => "anagram",
        }
    }

    fn of(game: &Game) -> Option<Kind> {
        Kind::parse(&game.kind)
    }

    /// What members type after /guess, in either language.
    fn parse(text: &str) -> Option<Kind> {
        match text.to_lowercase().as_str() {
            "meaning" | "释义" | "成语" | "猜成语" => Some(Kind::Meaning),
            "emoji" | "表情" | "表情猜成语" => Some(Kind::Emoji),
            "xiehouyu" | "歇后语" => Some(Kind::Xiehouyu),
            "anagram" | "word" | "单词" | "英文" => Some(Kind::Anagram),
            _ => None,
        }
    }

    /// Every (question, answers) pair of the kind. Answers are '|'-separated.
    fn bank(self) -> Vec<(String, String)> {
        match self {
            Kind::Meaning => pairs(MEANINGS)
                .into_iter()
                .map(|(idiom, meaning)| (meaning.to_owned(), idiom.to_owned()))
                .collect(),
            Kind::Emoji => pairs(EMOJI)
                .into_iter()
                .map(|(idiom, emoji)| (emoji.to_owned(), idiom.to_owned()))
                .collect(),
            Kind::Xiehouyu => pairs(XIEHOUYU)
                .into_iter()
                .map(|(riddle, answers)| (riddle.to_owned(), answers.to_owned()))
                .collect(),
            Kind::Anagram => ENGLISH_WORDS
                .common
                .iter()
                .filter(|w| w.len() >= 5)
                .map(|w| (scramble(w), (*w).to_owned()))
                .collect(),
        }
    }
}

/// The letters of `word` in an order that is neither the word nor another word: reversed, or
/// else rotated. Deterministic, so a round reads the same after a restart.
fn scramble(word: &str) -> String {
    let letters: Vec<char> = word.chars().collect();
    let reversed: String = letters.iter().rev().collect();
    std::iter::once(reversed.clone())
        .chain((1..letters.len()).map(|shift| {
            letters[shift..]
                .iter()
                .chain(&letters[..shift])
                .collect::<String>()
        }))
        .find(|candidate| candidate != word && !ENGLISH_WORDS.contains(candidate))
        .unwrap_or(reversed)
}

pub async fn start(cx: &mut Cx<'_>, member: &User, args: &str) -> FeatureResult<CommandOutcome> {
    if let Some(game) = queries::live(cx.tx, cx.chat()).await? {
        let text = cx.text("games.busy", context! { current => game.current });
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let at = cx.event.at;
    // The text trigger typed says which kind: 歇后语, or 猜成语 (meaning or emoji).
    let typed = cx
        .event
        .message()
        .map(|message| message.text.trim().to_owned())
        .unwrap_or_default();
    let kind = if args.is_empty() && typed == "歇后语" {
        Kind::Xiehouyu
    } else if args.is_empty() && typed == "猜成语" {
        [Kind::Meaning, Kind::Emoji][pick(&[cx.chat(), at.timestamp(), 1], 2)]
    } else if args.is_empty() {
        match cx.language() {
            Language::En => Kind::Anagram,
            _ => [Kind::Meaning, Kind::Emoji, Kind::Xiehouyu]
                [pick(&[cx.chat(), at.timestamp(), 1], 3)],
        }
    } else {
        match Kind::parse(args) {
            Some(kind) => kind,
            None => return Ok(CommandOutcome::BadArguments),
        }
    };
    let bank = kind.bank();
    if bank.is_empty() {
        return Ok(CommandOutcome::Done);
    }
    let recent = queries::recent_questions(cx.tx, cx.chat(), kind.as_str(), RECENT_ROUNDS).await?;
    let mut choice = pick(&[cx.chat(), at.timestamp()], bank.len());
    for _ in 0..bank.len().min(RECENT_ROUNDS as usize + 1) {
        if !recent.contains(&bank[choice].0) {
            break;
        }
        choice = (choice + 1) % bank.len();
    }
    let (question, answers) = &bank[choice];
    let seconds = settings(cx).guess_seconds;
    let ends_at = at + Duration::seconds(seconds);
    let Some(id) = queries::start(
        cx.tx,
        &NewGame {
            chat: cx.chat(),
            kind: kind.as_str(),
            rule: answers,
            current: question,
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
    cx.set_timer(FEATURE, "round", ends_at, &id.to_string())
        .await?;
    let first = first_answer(answers);
    let text = cx.text(
        "games.question",
        context! {
            kind => kind.as_str(),
            question,
            length => first.chars().count(),
            seconds,
        },
    );
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

fn first_answer(answers: &str) -> &str {
    answers.split('|').next().unwrap_or(answers)
}

/// A message during a round: the winner if it is one of the answers.
pub async fn answer(cx: &mut Cx<'_>, member: &User, game: &Game, answer: &str) -> FeatureResult {
    if Kind::of(game).is_none() {
        return Ok(());
    }
    // A 歇后语 is often typed whole: "七两放在半斤上——只差一点" counts as much as "只差一点".
    // A guess inside a sentence counts too: "是不是反复推敲？" for 反复推敲 (Chinese answers of
    // two characters or more; an English word could hide inside another).
    let right = game.rule.split('|').any(|expected| {
        let Some(expected) = normalise(expected) else {
            return false;
        };
        expected == answer
            || normalise(&format!("{}{expected}", game.current)).as_deref() == Some(answer)
            || (expected.chars().count() >= 2
                && expected.chars().all(super::text::is_han)
                && answer.contains(expected.as_str()))
    });
    if !right {
        // Only what looks like an attempt (the answer's length) gets an answer, never
        // conversation.
        let length = first_answer(&game.rule).chars().count();
        if settings(cx).wrong_answers == WrongAnswers::React && answer.chars().count() == length {
            let text = cx.text("games.wrong_guess", context! { answer });
            let emoji = settings(cx).wrong_answer_reaction.clone();
            cx.react_or_reply(&emoji, text);
        }
        return Ok(());
    }
    let full = settings(cx).guess_points;
    let points = if full == 0 {
        0
    } else {
        (full - game.hints_used).max(1)
    };
    let recorded = queries::record_move(
        cx.tx,
        &NewMove {
            game: game.id,
            turn: 1,
            user: member.id,
            word: answer,
            message: cx.event.message().map(|m| m.id),
            at: cx.event.at.timestamp(),
            combo: 1,
            points,
            by_bot: false,
        },
    )
    .await?;
    if !recorded || !queries::end(cx.tx, game.id, cx.event.at.timestamp(), "solved").await? {
        return Ok(());
    }
    cx.cancel_timer(FEATURE, "round").await?;
    let credited = credit(cx, member.id, points, format!("game:{}:1", game.id)).await?;
    let text = cx.text(
        "games.solved",
        context! {
            name => member.display_name(),
            answer => answer_shown(&game.rule),
            points, credited,
            capped => credited < points,
        },
    );
    cx.reply(text);
    Ok(())
}

/// The answers as shown: "照旧" or "吃不透 / 咬不动".
fn answer_shown(answers: &str) -> String {
    answers.split('|').collect::<Vec<_>>().join(" / ")
}

pub async fn hint(cx: &mut Cx<'_>, game: &Game) -> FeatureResult<bool> {
    let Some(kind) = Kind::of(game) else {
        return Ok(false);
    };
    let answer = first_answer(&game.rule);
    let length = answer.chars().count() as i64;
    // Never give the whole answer away: at most all but one character, and at most three hints.
    let limit = (length - 1).clamp(0, 3);
    if game.hints_used >= limit {
        let text = cx.text("games.no_more_hints", context! { limit });
        cx.reply(text);
        return Ok(false);
    }
    queries::use_hint(cx.tx, game.id).await?;
    let shown = (game.hints_used + 1) as usize;
    let mut pattern = masked(answer, shown);
    if kind == Kind::Anagram {
        pattern = pattern
            .chars()
            .map(|c| {
                if c == '＿' {
                    "_".to_owned()
                } else {
                    c.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    let text = cx.text(
        "games.quiz_hint",
        context! { pattern, level => shown, limit },
    );
    cx.reply(text);
    Ok(true)
}

pub async fn skip(cx: &mut Cx<'_>, member: &User) -> FeatureResult<CommandOutcome> {
    let game = match queries::live(cx.tx, cx.chat()).await? {
        Some(game) if Kind::of(&game).is_some() => game,
        _ => {
            if super::typed_as_slash_command(cx) {
                let text = cx.text("games.no_round", context! {});
                cx.reply(text);
            }
            return Ok(CommandOutcome::Done);
        }
    };
    if !may_end(cx, member, &game) {
        let text = cx.text("games.not_yours", context! {});
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    reveal(cx, &game, "skipped").await?;
    Ok(CommandOutcome::Done)
}

pub async fn time_up(cx: &mut Cx<'_>, game: &Game) -> FeatureResult {
    reveal(cx, game, "timeout").await
}

/// Ends an unanswered round with the answer.
pub async fn reveal(cx: &mut Cx<'_>, game: &Game, reason: &str) -> FeatureResult {
    if Kind::of(game).is_none() {
        return Ok(());
    }
    if !queries::end(cx.tx, game.id, cx.event.at.timestamp(), reason).await? {
        return Ok(());
    }
    cx.cancel_timer(FEATURE, "round").await?;
    let text = cx.text(
        "games.revealed",
        context! { reason, answer => answer_shown(&game.rule) },
    );
    if cx.event.message().is_some() {
        cx.reply(text);
    } else {
        post(cx, game, text);
    }
    Ok(())
}
