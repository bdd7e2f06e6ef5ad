//! The captcha: the question a newcomer is asked (buttons, or a sum to work out), their
//! answers, the deadline, an admin letting them in by hand, and removing those who fail.

use chrono::{DateTime, Duration};
use minijinja::context;

use super::config::{Captcha, WelcomeSettings};
use super::greet::tidy_welcome;
use super::join::forget_newcomer;
use super::{NAME, queries};
use crate::core::action::Action;
use crate::core::context::Cx;
use crate::core::event::{User, UserId};
use crate::core::feature::FeatureResult;

/// A second wrong captcha answer removes the newcomer.
const MAX_WRONG: i64 = 2;

/// Whether the bot may restrict newcomers. If the platform says it may not, the captcha is
/// skipped (greeting normally) and the group's log chat is told once, not at every join.
pub(super) async fn can_restrict_for_captcha(cx: &mut Cx<'_>) -> FeatureResult<bool> {
    let chat = cx.chat();
    match cx.bot_rights {
        Some(rights) if !rights.can_restrict_members => {
            if queries::warn_once(cx.tx, chat).await? {
                tracing::warn!(
                    chat,
                    "captcha is on but the bot may not restrict members; greeting without it"
                );
                let detail = cx.text("welcome.captcha_cannot_restrict", context! {});
                cx.audit(None, None, "captcha", &detail).await?;
            }
            Ok(false)
        }
        // Unknown rights (the lookup failed): try, and let the platform say no.
        _ => {
            queries::clear_warning(cx.tx, chat).await?;
            Ok(true)
        }
    }
}

/// What the newcomer is asked: the buttons' labels and which one is right.
pub(super) struct Question {
    /// For arithmetic, the sum to work out ("3 + 4").
    pub(super) prompt: String,
    pub(super) options: Vec<String>,
    pub(super) answer: usize,
}

impl Question {
    pub(super) fn new(kind: Captcha, seed: u64) -> Question {
        const SYMBOLS: &[&str] = &["🍎", "🍌", "🍇", "🍉", "🍒", "🥝", "🍋", "🍑"];
        let answer = (seed % 4) as usize;
        match kind {
            Captcha::Math => {
                let a = 1 + (seed >> 8) % 9;
                let b = 1 + (seed >> 16) % 9;
                let sum = a + b;
                // Four consecutive numbers around the sum, none below 1.
                let lowest = sum.saturating_sub(answer as u64).max(1);
                let answer = (sum - lowest) as usize;
                let options = (0..4u64)
                    .map(|index| (lowest + index).to_string())
                    .collect();
                Question {
                    prompt: format!("{a} + {b}"),
                    options,
                    answer,
                }
            }
            _ => {
                let start = ((seed >> 8) % SYMBOLS.len() as u64) as usize;
                let options = (0..4)
                    .map(|index| SYMBOLS[(start + index * 3) % SYMBOLS.len()].to_owned())
                    .collect();
                Question {
                    prompt: String::new(),
                    options,
                    answer,
                }
            }
        }
    }
}

pub(super) async fn on_press(
    cx: &mut Cx<'_>,
    from: &User,
    callback: &str,
    choice: &str,
) -> FeatureResult {
    let chat = cx.chat();
    let Some((batch, index)) = choice
        .split_once(':')
        .and_then(|(batch, index)| Some((batch.parse::<i64>().ok()?, index.to_owned())))
    else {
        return Ok(());
    };
    let open = queries::captcha(cx.tx, chat, from.id).await?;
    let Some(open) = open.filter(|open| open.batch == Some(batch)) else {
        // A second tap by someone who has just passed is not "someone else".
        let greeted_here = queries::post(cx.tx, chat, batch)
            .await?
            .is_some_and(|(post, _)| post.members().contains(&from.id));
        let key = if greeted_here {
            "welcome.captcha_passed"
        } else {
            "welcome.captcha_not_yours"
        };
        let text = cx.text(key, context! {});
        answer(cx, callback, text);
        return Ok(());
    };
    if open.answer.as_deref() == Some(index.as_str()) {
        queries::close_captcha(cx.tx, chat, from.id).await?;
        cx.cancel_timer(NAME, &format!("captcha:{}", from.id))
            .await?;
        cx.queue(Action::Unmute {
            chat,
            user: from.id,
        });
        let text = cx.text("welcome.captcha_passed", context! {});
        answer(cx, callback, text);
        tidy_welcome(cx, batch).await?;
    } else if open.wrong + 1 >= MAX_WRONG {
        let text = cx.text("welcome.captcha_failed", context! {});
        answer(cx, callback, text);
        let why = cx.text("welcome.audit_captcha_failed", context! {});
        remove(cx, from.id, &why).await?;
    } else {
        queries::count_wrong(cx.tx, chat, from.id).await?;
        let text = cx.text("welcome.captcha_wrong", context! {});
        answer(cx, callback, text);
    }
    Ok(())
}

fn answer(cx: &mut Cx<'_>, callback: &str, text: String) {
    cx.queue(Action::AnswerButton {
        chat: cx.chat(),
        callback_id: callback.to_owned(),
        text: Some(text),
        alert: false,
    });
}

pub(super) async fn captcha_expired(cx: &mut Cx<'_>, user: UserId) -> FeatureResult {
    let Some(open) = queries::captcha(cx.tx, cx.chat(), user).await? else {
        // Answered or gone in the meantime.
        return Ok(());
    };
    // The newcomer gets the whole time from when the question was actually asked: not yet
    // (a long welcome delay, or both timers fired together after an outage) or only just.
    let minutes = Duration::minutes(cx.group.section::<WelcomeSettings>().captcha_minutes);
    let asked_at = match open.batch {
        Some(batch) => queries::posted_at(cx.tx, cx.chat(), batch).await?,
        None => None,
    };
    let full_time_from = match (open.batch, asked_at) {
        (None, _) => Some(cx.now.max(cx.event.at)),
        (Some(_), Some(asked)) => DateTime::from_timestamp(asked, 0),
        (Some(_), None) => None,
    };
    if let Some(from) = full_time_from
        && from + minutes > cx.event.at
    {
        cx.set_timer(NAME, &format!("captcha:{user}"), from + minutes, "")
            .await?;
        return Ok(());
    }
    let why = cx.text(
        "welcome.audit_captcha_timeout",
        context! { minutes => cx.group.section::<WelcomeSettings>().captcha_minutes },
    );
    remove(cx, user, &why).await
}

/// Removes a member so that they can come back: ban, then lift the ban at once. `why` goes
/// to the audit log.
pub(super) async fn remove(cx: &mut Cx<'_>, user: UserId, why: &str) -> FeatureResult {
    let chat = cx.chat();
    cx.queue(Action::Ban {
        chat,
        user,
        until: None,
    });
    cx.queue(Action::Unban { chat, user });
    queries::mark_removed(cx.tx, chat, user, cx.event.at.timestamp()).await?;
    let target = member_user(cx, user).await?;
    forget_newcomer(cx, user).await?;
    cx.audit(None, Some(&target), "remove", why).await?;
    Ok(())
}

/// A member as the members table knows them (for audit lines and mentions).
pub(super) async fn member_user(cx: &mut Cx<'_>, user: UserId) -> FeatureResult<User> {
    Ok(match queries::member(cx.tx, cx.chat(), user).await? {
        Some((id, name, username)) => User {
            username,
            ..User::named(id, name)
        },
        None => User::named(user, format!("user {user}")),
    })
}

/// An admin lifted a newcomer's restriction by hand: their captcha is settled and its
/// question taken off the welcome.
pub(super) async fn let_in_by_hand(cx: &mut Cx<'_>, member: &User) -> FeatureResult {
    let Some(open) = queries::captcha(cx.tx, cx.chat(), member.id).await? else {
        return Ok(());
    };
    queries::close_captcha(cx.tx, cx.chat(), member.id).await?;
    cx.cancel_timer(NAME, &format!("captcha:{}", member.id))
        .await?;
    if let Some(batch) = open.batch {
        tidy_welcome(cx, batch).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::welcome::greet::mix;

    #[test]
    fn questions_have_four_different_options_and_name_one_of_them() {
        for seed in 0..2000u64 {
            let seed = mix(seed);
            for kind in [Captcha::Button, Captcha::Math] {
                let question = Question::new(kind, seed);
                assert_eq!(question.options.len(), 4);
                assert!(question.answer < 4);
                let mut unique = question.options.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), 4, "{:?}", question.options);
                if kind == Captcha::Math {
                    let (a, b) = question.prompt.split_once(" + ").unwrap();
                    let sum: u64 = a.parse::<u64>().unwrap() + b.parse::<u64>().unwrap();
                    assert_eq!(question.options[question.answer], sum.to_string());
                }
            }
        }
    }
}
