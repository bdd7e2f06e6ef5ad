//! Daily sign-in (签到): one per member per group per day, streaks, points in an append-only
//! ledger, the day's rank, and leaderboards.
//!
//! Busy groups: above `busy_per_minute` sign-ins a minute the bot stops answering one by one,
//! reacts to each sign-in instead and keeps one "📋 今日签到" board, edited in place (delivery
//! makes only the latest of several pending edits), so a morning rush stays within Telegram's
//! ~20 messages a minute per group.

pub mod config;
pub(crate) mod queries;

use async_trait::async_trait;
use minijinja::context;

use crate::core::commands::Invocation;
use crate::core::context::Cx;
use crate::core::event::User;
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::numbers;
use crate::core::settings::SectionSlot;
use crate::features::levels;
use config::{BasePoints, SigninSettings};
use queries::{BoardRow, NewSignin};

use crate::core::day::{self, day_of};

/// How many lines a leaderboard shows.
const BOARD_SIZE: usize = 10;
/// How many lines the busy-mode board shows before "and N more".
const LIVE_BOARD_LINES: usize = 50;

/// What one `/points` may add or take. Far beyond any sign-in's worth, and small enough that no
/// run of adjustments can overflow a balance.
const ADJUSTMENT: std::ops::RangeInclusive<i64> = -100_000..=100_000;

pub struct Signin;

#[async_trait]
impl Feature for Signin {
    fn name(&self) -> &'static str {
        "signin"
    }

    fn commands(&self) -> &'static [&'static str] {
        &["signin", "me", "rank", "points", "makeup"]
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<config::SigninSettings>()]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests![
            "signin.toml",
            "me.toml",
            "rank.toml",
            "points.toml",
            "makeup.toml"
        ]
    }

    fn migrations(&self) -> Option<crate::store::Migrations> {
        Some(crate::migrations!(
            "src/features/signin/migrations/sqlite",
            "src/features/signin/migrations/postgres"
        ))
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        // An anonymous admin or a channel has no points of its own.
        let Some(member) = cx.event.person().cloned() else {
            return Ok(CommandOutcome::Done);
        };
        match invocation.name.as_str() {
            "signin" => sign_in(cx, &member).await,
            "me" => card(cx, &member).await,
            "rank" => board(cx, &member, invocation.args.trim()).await,
            "points" => adjust(cx, &member, invocation.args.trim()).await,
            "makeup" => make_up(cx, &member, invocation.args.trim()).await,
            _ => Ok(CommandOutcome::Done),
        }
    }

    async fn migrate_chat(&self, tx: &mut crate::store::Tx, from: i64, to: i64) -> FeatureResult {
        // A supergroup that existed for seconds before the notice can hold a sign-in already;
        // the old group's history wins for that day.
        tx.execute(
            "DELETE FROM signins WHERE chat_id = $1 AND day IN (SELECT day FROM signins WHERE chat_id = $2)",
            crate::args![to, from],
        )
        .await?;
        tx.execute(
            "UPDATE signins SET chat_id = $1 WHERE chat_id = $2",
            crate::args![to, from],
        )
        .await?;
        tx.execute(
            "UPDATE points_ledger SET chat_id = $1 WHERE chat_id = $2",
            crate::args![to, from],
        )
        .await?;
        Ok(())
    }
}

fn settings<'a>(cx: &'a Cx<'_>) -> &'a SigninSettings {
    cx.group.section::<SigninSettings>()
}

fn today(cx: &Cx<'_>) -> i64 {
    day_of(cx.event.at, cx.group.timezone, settings(cx).day_starts_at)
}

/// The base amount for a member's sign-in on a day. A random range is drawn from a hash of
/// (group, member, day), so handling the same sign-in again gives the same amount.
fn base_points(points: BasePoints, chat: i64, user: i64, day: i64) -> i64 {
    match points {
        BasePoints::Fixed(n) => n,
        BasePoints::Range([low, high]) => {
            let span = (high - low + 1) as u64;
            low + (mix(chat as u64 ^ mix(user as u64 ^ mix(day as u64))) % span) as i64
        }
    }
}

/// SplitMix64's finaliser: a cheap, well-spread hash of one number.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn streak_bonus(settings: &SigninSettings, streak: i64) -> i64 {
    (streak / settings.streak_bonus_every_days).min(settings.streak_bonus_max)
}

async fn sign_in(cx: &mut Cx<'_>, member: &User) -> FeatureResult<CommandOutcome> {
    let chat = cx.chat();
    let scope = cx.settings.points_scope(chat);
    let day = today(cx);
    let at = cx.event.at.timestamp();
    let (signed_today, recent) = queries::day_and_recent_counts(cx.tx, chat, day, at - 60).await?;
    let busy = recent >= settings(cx).busy_per_minute;
    let latest = queries::latest_up_to(cx.tx, chat, member.id, day).await?;

    if let Some(done) = latest.as_ref().filter(|row| row.day == day) {
        if busy {
            cx.react("👌");
        } else {
            let text = cx.text(
                "signin.already",
                context! { rank => done.rank, streak => done.streak },
            );
            cx.reply(text);
        }
        return Ok(CommandOutcome::Done);
    }

    let rank = signed_today + 1;
    let (streak, broken) = match latest {
        Some(last) if last.day == day - 1 => (last.streak + 1, None),
        Some(last) => (1, (last.streak > 1).then_some(last.streak)),
        None => (1, None),
    };
    let config = settings(cx).clone();
    let base = base_points(config.base_points, chat, member.id, day);
    let bonus = streak_bonus(&config, streak);
    let early = usize::try_from(rank - 1)
        .ok()
        .and_then(|index| config.early_bird_bonus.get(index).copied())
        .unwrap_or(0);
    let milestone = config.streak_milestones.get(&streak).copied().unwrap_or(0);
    let points = base + bonus + early + milestone;
    let recorded = queries::insert(
        cx.tx,
        &NewSignin {
            chat,
            user: member.id,
            day,
            at,
            rank,
            streak,
            points,
            makeup: false,
        },
    )
    .await?;
    if !recorded {
        // Another handler got there first (only possible without the chat lock); its answer stands.
        return Ok(CommandOutcome::Done);
    }
    queries::add_points(
        cx.tx,
        scope,
        member.id,
        points,
        "signin",
        Some(format!("day:{day}")),
        at,
    )
    .await?;
    let (total_days, balance) = queries::days_and_balance(cx.tx, chat, scope, member.id).await?;

    let standing = level_standing(cx, member.id).await?;
    if busy {
        cx.react("👍");
        let board = queries::day_board(cx.tx, chat, day, LIVE_BOARD_LINES as i64).await?;
        let text = live_board(cx, day, rank, &board);
        cx.edit_keyed(format!("signin-board:{day}"), text, Vec::new());
    } else {
        let text = cx.text(
            "signin.done",
            context! {
                name => member.display_name(),
                rank, points, base, bonus, early, milestone, streak, broken, total_days, balance,
                level => standing.as_ref().map(|s| s.level),
                title => standing.map(|s| s.title),
            },
        );
        cx.reply(text);
    }
    Ok(CommandOutcome::Done)
}

/// The member's level, when the group has levels switched on.
async fn level_standing(cx: &mut Cx<'_>, user: i64) -> FeatureResult<Option<levels::Standing>> {
    if !cx.group.feature_on("levels") {
        return Ok(None);
    }
    let settings = cx
        .group
        .section::<crate::features::levels::LevelSettings>()
        .clone();
    let scope = cx.settings.points_scope(cx.chat());
    Ok(Some(levels::standing(cx.tx, &settings, scope, user).await?))
}

/// The busy-mode board: the first sign-ins of the day and how many there are in all.
fn live_board(cx: &Cx<'_>, day: i64, count: i64, board: &[BoardRow]) -> String {
    let lines: Vec<String> = board
        .iter()
        .enumerate()
        .map(|(index, row)| format!("{}. {} +{}", index + 1, row.name, row.value))
        .collect();
    let date = day::date_of(day)
        .map(|d| d.format("%m-%d").to_string())
        .unwrap_or_default();
    cx.text(
        "signin.live_board",
        context! { date, count, lines, more => (count - board.len() as i64).max(0) },
    )
}

async fn card(cx: &mut Cx<'_>, member: &User) -> FeatureResult<CommandOutcome> {
    let chat = cx.chat();
    let scope = cx.settings.points_scope(chat);
    let day = today(cx);
    let latest = queries::latest_up_to(cx.tx, chat, member.id, day).await?;
    let signed_today = latest.as_ref().filter(|row| row.day == day);
    let streak = match &latest {
        // Signed in today, or yesterday with today's still to come.
        Some(row) if row.day >= day - 1 => row.streak,
        _ => 0,
    };
    let (total_days, balance) = queries::days_and_balance(cx.tx, chat, scope, member.id).await?;
    let points_rank = place(&queries::points_board(cx.tx, scope, 0).await?, member.id);
    let standing = level_standing(cx, member.id).await?;
    let next_level_xp = standing
        .as_ref()
        .map(|s| (0..=s.level).map(levels::xp_for_next).sum::<i64>());
    let text = cx.text(
        "signin.card",
        context! {
            name => member.display_name(),
            balance, streak, total_days, points_rank,
            today_rank => signed_today.map(|row| row.rank),
            xp => standing.as_ref().map(|s| s.xp),
            level => standing.as_ref().map(|s| s.level),
            title => standing.map(|s| s.title),
            next_level_xp,
        },
    );
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

/// 1-based place of `user` on a board, if listed.
fn place(board: &[BoardRow], user: i64) -> Option<usize> {
    board
        .iter()
        .position(|row| row.user_id == user)
        .map(|index| index + 1)
}

async fn board(cx: &mut Cx<'_>, member: &User, which: &str) -> FeatureResult<CommandOutcome> {
    let chat = cx.chat();
    let scope = cx.settings.points_scope(chat);
    let day = today(cx);
    let config = settings(cx).clone();
    let kind = match which.to_lowercase().as_str() {
        "" | "today" | "今日" | "今天" => "today",
        "streak" | "连签" => "streak",
        "days" | "累计" => "days",
        "points" | "积分" => "points",
        "week" | "本周" => "week",
        "month" | "本月" => "month",
        "xp" | "经验" | "等级" => "xp",
        _ => return Ok(CommandOutcome::BadArguments),
    };
    let period_start = |start_day: i64| {
        day::start_of(start_day, cx.group.timezone, config.day_starts_at)
            .map_or(0, |t| t.timestamp())
    };
    let (week, month) = day::week_and_month_start(day).unwrap_or((day, day));
    let rows = match kind {
        "today" => queries::day_board(cx.tx, chat, day, i64::MAX).await?,
        "streak" => queries::streak_board(cx.tx, chat, day - 1).await?,
        "days" => queries::days_board(cx.tx, chat).await?,
        "points" => queries::points_board(cx.tx, scope, 0).await?,
        "week" => queries::points_board(cx.tx, scope, period_start(week)).await?,
        "xp" => queries::xp_board(cx.tx, scope).await?,
        _ => queries::points_board(cx.tx, scope, period_start(month)).await?,
    };
    let lines: Vec<String> = rows
        .iter()
        .take(BOARD_SIZE)
        .enumerate()
        .map(|(index, row)| {
            let medal = ["🥇", "🥈", "🥉"].get(index).copied().unwrap_or("  ");
            format!("{medal}{}. {} — {}", index + 1, row.name, row.value)
        })
        .collect();
    let own = place(&rows, member.id).map(|at| (at, rows[at - 1].value));
    let text = cx.text(
        "signin.board",
        context! {
            kind, lines,
            own_place => own.map(|(at, _)| at),
            own_value => own.map(|(_, value)| value),
        },
    );
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

/// The day a make-up names: yesterday when nothing is said, 前天, or a date (MM-DD or
/// YYYY-MM-DD; an MM-DD after today means last year).
fn makeup_target(args: &str, today: i64) -> Option<i64> {
    use chrono::Datelike;
    match args.to_lowercase().as_str() {
        "" | "昨天" | "yesterday" => return Some(today - 1),
        "前天" => return Some(today - 2),
        _ => {}
    }
    let today_date = day::date_of(today)?;
    let date = chrono::NaiveDate::parse_from_str(args, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            let this_year = chrono::NaiveDate::parse_from_str(
                &format!("{}-{args}", today_date.year()),
                "%Y-%m-%d",
            )
            .ok()?;
            if this_year > today_date {
                this_year.with_year(today_date.year() - 1)
            } else {
                Some(this_year)
            }
        })?;
    Some(i64::from(date.num_days_from_ce()))
}

/// `/makeup [day]`: pays points to fill a missed day; the streak is recomputed from the log.
async fn make_up(cx: &mut Cx<'_>, member: &User, args: &str) -> FeatureResult<CommandOutcome> {
    let config = settings(cx).clone();
    if config.makeup_days == 0 {
        let text = cx.text("signin.makeup_off", context! {});
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let chat = cx.chat();
    let scope = cx.settings.points_scope(chat);
    let today = today(cx);
    let Some(target) = makeup_target(args, today) else {
        return Ok(CommandOutcome::BadArguments);
    };
    let date = day::date_of(target)
        .map(|d| d.format("%m-%d").to_string())
        .unwrap_or_default();
    let refusal = if target >= today || target < today - config.makeup_days {
        Some(("signin.makeup_out_of_range", config.makeup_days))
    } else if queries::latest_up_to(cx.tx, chat, member.id, target)
        .await?
        .is_some_and(|row| row.day == target)
    {
        Some(("signin.makeup_not_missed", 0))
    } else if queries::first_day(cx.tx, chat, member.id)
        .await?
        .is_none_or(|first| target < first)
    {
        Some(("signin.makeup_before_first", 0))
    } else {
        None
    };
    if let Some((key, days)) = refusal {
        let text = cx.text(key, context! { date, days });
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let month_start = day::week_and_month_start(today)
        .and_then(|(_, first)| day::start_of(first, cx.group.timezone, config.day_starts_at))
        .map_or(0, |t| t.timestamp());
    let used = queries::makeups_since(cx.tx, scope, member.id, month_start).await?;
    let balance = queries::balance(cx.tx, scope, member.id).await?;
    if used >= config.makeup_per_month || balance < config.makeup_cost {
        let key = if used >= config.makeup_per_month {
            "signin.makeup_limit"
        } else {
            "signin.makeup_too_poor"
        };
        let text = cx.text(
            key,
            context! { per_month => config.makeup_per_month, cost => config.makeup_cost, balance },
        );
        cx.reply(text);
        return Ok(CommandOutcome::Done);
    }
    let at = cx.event.at.timestamp();
    let rank = queries::count_on_day(cx.tx, chat, target).await? + 1;
    let row = NewSignin {
        chat,
        user: member.id,
        day: target,
        at,
        rank,
        streak: 1,
        points: 0,
        makeup: true,
    };
    if !queries::insert(cx.tx, &row).await? {
        return Ok(CommandOutcome::Done);
    }
    queries::add_points(
        cx.tx,
        scope,
        member.id,
        -config.makeup_cost,
        "makeup",
        Some(format!("day:{target}")),
        at,
    )
    .await?;
    let streak = queries::recompute_streaks(cx.tx, chat, member.id, target).await?;
    let text = cx.text(
        "signin.makeup_done",
        context! {
            date, streak,
            cost => config.makeup_cost,
            balance => balance - config.makeup_cost,
            left => config.makeup_per_month - used - 1,
        },
    );
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

/// `/points +10 reason`, replying to the member's message.
async fn adjust(cx: &mut Cx<'_>, admin: &User, args: &str) -> FeatureResult<CommandOutcome> {
    // `/points +10 @ann reason`, or the same without the @name in a reply to ann's message.
    let mut mention = None;
    let mut amount = None;
    let mut reason = Vec::new();
    for word in args.split_whitespace() {
        match word.strip_prefix('@') {
            Some(name) if mention.is_none() && !name.is_empty() => mention = Some(name.to_owned()),
            _ if amount.is_none() => amount = Some(word),
            _ => reason.push(word),
        }
    }
    let reason = reason.join(" ");
    let target = match mention {
        Some(name) => crate::features::members::by_username(cx.tx, cx.chat(), &name).await?,
        None => cx
            .event
            .message()
            .and_then(|message| message.reply_to_author.clone()),
    };
    let amount = match amount {
        Some(word) if numbers::looks_like_number(word) => {
            match numbers::whole_in(word, ADJUSTMENT).filter(|n| *n != 0) {
                Some(amount) => Some(amount),
                None => {
                    let text = cx.text(
                        "signin.adjustment_out_of_range",
                        context! { text => word, most => ADJUSTMENT.end() },
                    );
                    cx.reply(text);
                    return Ok(CommandOutcome::Done);
                }
            }
        }
        _ => None,
    };
    let (Some(target), Some(amount)) = (target, amount) else {
        return Ok(CommandOutcome::BadArguments);
    };
    if target.is_bot {
        return Ok(CommandOutcome::BadArguments);
    }
    let chat = cx.chat();
    let scope = cx.settings.points_scope(chat);
    let at = cx.event.at.timestamp();
    let reason = reason.trim();
    queries::add_points(
        cx.tx,
        scope,
        target.id,
        amount,
        "admin",
        Some(format!(
            "by:{} {}",
            admin.id,
            reason.chars().take(200).collect::<String>()
        )),
        at,
    )
    .await?;
    cx.audit(
        Some(admin),
        Some(&target),
        "points",
        &format!("{amount:+} {reason}"),
    )
    .await?;
    let balance = queries::balance(cx.tx, scope, target.id).await?;
    let text = cx.text(
        "signin.adjusted",
        context! { name => target.display_name(), amount => format!("{amount:+}"), reason, balance },
    );
    cx.reply(text);
    Ok(CommandOutcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_points_stay_in_range_and_repeat_for_the_same_day() {
        let range = BasePoints::Range([5, 15]);
        for user in 0..500 {
            let points = base_points(range, -100, user, 739_000);
            assert!((5..=15).contains(&points));
            assert_eq!(points, base_points(range, -100, user, 739_000));
        }
        let spread: std::collections::BTreeSet<i64> = (0..500)
            .map(|u| base_points(range, -100, u, 739_000))
            .collect();
        assert_eq!(spread.len(), 11, "every amount in the range turns up");
    }

    #[test]
    fn the_streak_bonus_grows_by_steps_up_to_its_cap() {
        let settings = SigninSettings::default();
        assert_eq!(streak_bonus(&settings, 1), 0);
        assert_eq!(streak_bonus(&settings, 7), 1);
        assert_eq!(streak_bonus(&settings, 15), 2);
        assert_eq!(streak_bonus(&settings, 700), 10);
    }
}
