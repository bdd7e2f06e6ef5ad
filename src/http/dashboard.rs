//! The read-only dashboard: the groups this bot serves, each with its chart, rates, daily
//! figures, scheduled jobs, audit log and configuration as loaded.
//!
//! Plain HTML and one stylesheet, all served by the binary: no JavaScript, nothing fetched
//! from elsewhere. Access needs the token from `[http] dashboard_token` (or
//! `QUNBOT_DASHBOARD_TOKEN`), sent once through the sign-in form, which sets an HttpOnly,
//! SameSite=Strict cookie, or as `Authorization: Bearer …` by a script. Tokens are compared
//! in constant time. Without a configured token the routes do not exist.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveTime, Utc};
use minijinja::{Environment, context};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::HttpState;
use crate::args;
use crate::core::day::{date_of, day_of};
use crate::features::stats::{self, figures};

const COOKIE: &str = "qunbot_dashboard";
const PERIODS: [i64; 3] = [7, 30, 90];
/// How many audit log lines a group's page shows.
const AUDIT_LINES: i64 = 50;

pub fn routes() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/dashboard", get(groups))
        .route("/dashboard/", get(groups))
        .route("/dashboard/style.css", get(stylesheet))
        .route("/dashboard/login", get(login_form).post(login))
        .route("/dashboard/groups/{id}", get(group))
        .route("/dashboard/groups/{id}/chart.png", get(chart))
}

fn templates() -> &'static Environment<'static> {
    static TEMPLATES: OnceLock<Environment<'static>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        // Names ending in .html are escaped automatically: group titles and audit details are
        // whatever members typed.
        let mut env = Environment::new();
        for (name, source) in [
            ("layout.html", include_str!("assets/layout.html")),
            ("login.html", include_str!("assets/login.html")),
            ("groups.html", include_str!("assets/groups.html")),
            ("group.html", include_str!("assets/group.html")),
        ] {
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(name, %error, "a dashboard template does not parse");
            }
        }
        env
    })
}

/// A page: its template rendered into the layout (minijinja's `extends` would need a feature
/// that operator templates should not get).
fn page(name: &str, title: &str, vars: minijinja::Value, status: StatusCode) -> Response {
    let rendered = templates()
        .get_template(name)
        .and_then(|template| template.render(vars))
        .and_then(|main| {
            templates().get_template("layout.html")?.render(context! {
                title,
                main => minijinja::Value::from_safe_string(main),
            })
        });
    match rendered {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(name, %error, "a dashboard page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Whether the request carries the token, as the cookie or a bearer header.
fn authorized(state: &HttpState, headers: &HeaderMap) -> bool {
    let Some(expected) = state.dashboard_token.as_deref() else {
        return false;
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .next();
    [bearer, cookie]
        .into_iter()
        .flatten()
        .any(|given| tokens_match(given, expected))
}

/// Constant time for tokens of the same length, so the answer's timing does not tell how
/// much of a guess was right.
fn tokens_match(given: &str, expected: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

fn sign_in_page(wrong: bool) -> Response {
    page(
        "login.html",
        "Sign in",
        context! { wrong },
        StatusCode::UNAUTHORIZED,
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("assets/style.css"),
    )
}

#[derive(Deserialize)]
struct LoginLink {
    token: Option<String>,
    next: Option<String>,
}

/// The sign-in form; or, given `?token=…` (a bookmark, a headless browser), the same as
/// submitting it. Such a link ends up in the browser's history: the form is the better way.
async fn login_form(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    Query(link): Query<LoginLink>,
) -> Response {
    if let Some(token) = link.token {
        return sign_in(&state, &token, link.next.as_deref());
    }
    if authorized(&state, &headers) {
        return Redirect::to("/dashboard").into_response();
    }
    sign_in_page(false)
}

#[derive(Deserialize)]
struct Login {
    token: String,
    next: Option<String>,
}

async fn login(State(state): State<Arc<HttpState>>, Form(form): Form<Login>) -> Response {
    sign_in(&state, &form.token, form.next.as_deref())
}

/// Checks the token; if right, keeps it in a cookie and goes on to `next` (a dashboard page
/// only: never another site).
fn sign_in(state: &HttpState, token: &str, next: Option<&str>) -> Response {
    let token = token.trim();
    let right = state
        .dashboard_token
        .as_deref()
        .is_some_and(|expected| tokens_match(token, expected));
    if !right {
        tracing::warn!("dashboard: a sign-in with a wrong token");
        return sign_in_page(true);
    }
    let next = next
        .filter(|next| next.starts_with("/dashboard") && !next.contains("//"))
        .unwrap_or("/dashboard");
    let cookie = format!("{COOKIE}={token}; Path=/dashboard; HttpOnly; SameSite=Strict");
    let mut response = Redirect::to(next).into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            response
        }
        // A token that cannot be a cookie value can still be used as a bearer token.
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "this token cannot be kept in a cookie; send it as `Authorization: Bearer …`",
        )
            .into_response(),
    }
}

/// chat_id, kind, title, last_active, active
type GroupRow = (i64, String, Option<String>, i64, i64);
/// at, actor's name, actor, action, target's name, target, detail
type AuditRow = (
    i64,
    Option<String>,
    Option<i64>,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn utc_time(at: i64) -> String {
    DateTime::<Utc>::from_timestamp(at, 0)
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

async fn groups(State(state): State<Arc<HttpState>>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return sign_in_page(false);
    }
    let rows: Result<Vec<GroupRow>, _> = state
        .engine
        .db
        .fetch_all(
            "SELECT chat_id, kind, title, last_active, active FROM chats
             WHERE kind <> 'private' AND migrated_to IS NULL ORDER BY last_active DESC",
            args![],
        )
        .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => return database_trouble(error),
    };
    let groups: Vec<_> = rows
        .into_iter()
        .map(|(id, kind, title, last_active, active)| {
            context! {
                id,
                kind,
                title => title.unwrap_or_else(|| id.to_string()),
                last_active => utc_time(last_active),
                active => active != 0,
            }
        })
        .collect();
    page("groups.html", "Groups", context! { groups }, StatusCode::OK)
}

fn database_trouble(error: crate::store::StoreError) -> Response {
    tracing::error!(%error, "dashboard: the database did not answer");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the database did not answer; see the log",
    )
        .into_response()
}

#[derive(Deserialize)]
struct PeriodQuery {
    days: Option<i64>,
}

impl PeriodQuery {
    fn days(&self) -> i64 {
        self.days
            .filter(|days| PERIODS.contains(days))
            .unwrap_or(30)
    }
}

/// A group's figures for the `days` days up to today, with its title and kind.
async fn load_period(
    state: &HttpState,
    chat: i64,
    days: i64,
) -> Result<Option<(String, String, figures::Period, figures::Calendar)>, crate::store::StoreError>
{
    let engine = &state.engine;
    let known: Option<(String, Option<String>)> = engine
        .db
        .fetch_optional(
            "SELECT kind, title FROM chats WHERE chat_id = $1 AND kind <> 'private'",
            args![chat],
        )
        .await?;
    let Some((kind, title)) = known else {
        return Ok(None);
    };
    let settings = engine.group_settings(chat).await?;
    let calendar = figures::Calendar {
        zone: settings.timezone,
        signin_starts_at: settings.day_starts_at,
    };
    let today = day_of(engine.clock.now(), settings.timezone, NaiveTime::MIN);
    let mut tx = engine.db.begin().await?;
    let period = figures::period(&mut tx, chat, calendar, today - days + 1, today).await?;
    tx.rollback().await?;
    Ok(Some((
        title.unwrap_or_else(|| chat.to_string()),
        kind,
        period,
        calendar,
    )))
}

async fn chart(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    Path(chat): Path<i64>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    if !authorized(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let days = query.days();
    let (_, _, period, _) = match load_period(&state, chat, days).await {
        Ok(Some(found)) => found,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => return database_trouble(error),
    };
    // The chart's font has no Chinese, so its title stays in English; the page names the group.
    let title = format!("last {days} days");
    match stats::chart::render(&title, &period.days) {
        Some(png) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=60"),
            ],
            png,
        )
            .into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn group(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    Path(chat): Path<i64>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    if !authorized(&state, &headers) {
        return sign_in_page(false);
    }
    let days = query.days();
    let (title, kind, period, calendar) = match load_period(&state, chat, days).await {
        Ok(Some(found)) => found,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such group").into_response(),
        Err(error) => return database_trouble(error),
    };
    let engine = &state.engine;
    let settings = match engine.group_settings(chat).await {
        Ok(settings) => settings,
        Err(error) => return database_trouble(error),
    };
    let zone = settings.timezone;
    let local = |at: DateTime<Utc>| at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();

    let members = period.members_at_end();
    let mean_active = period.mean(|d| d.active);
    let rates = [
        (
            "入群率 join rate",
            stats::rate(period.total(|d| d.joins) as f64, period.members_before),
            "joins ÷ members before the period",
        ),
        (
            "退群率 leave rate",
            stats::rate(period.total(|d| d.leaves) as f64, period.members_before),
            "leaves ÷ members before the period",
        ),
        (
            "日活跃率 daily active",
            stats::rate(mean_active, members),
            "mean daily active members ÷ members",
        ),
        (
            "周活跃率 weekly active",
            stats::rate(period.weekly_active as f64, members),
            "members active in the last 7 days ÷ members",
        ),
        (
            "发言率 speaking",
            stats::rate(period.speakers as f64, members),
            "members who spoke ÷ members",
        ),
        (
            "活动参与率 participation",
            stats::rate(period.participants as f64, members),
            "members who signed in, joined a relay list or played a game ÷ members",
        ),
    ]
    .map(|(name, value, meaning)| context! { name, value, meaning });

    let days_table: Vec<_> = period
        .days
        .iter()
        .rev()
        .map(|d| {
            context! {
                date => date_of(d.day).map(|date| date.to_string()),
                members => d.members,
                joins => d.joins,
                leaves => d.leaves,
                active => d.active,
                speakers => d.speakers,
                messages => d.messages,
                signins => d.signins,
                relay_entries => d.relay_entries,
                game_players => d.game_players,
            }
        })
        .collect();

    let last_firings: Vec<(String, i64, String)> = match engine
        .db
        .fetch_all(
            "SELECT f.job, f.fire_at, f.outcome FROM job_firings f WHERE f.chat_id = $1
             AND f.fire_at = (SELECT MAX(g.fire_at) FROM job_firings g
                              WHERE g.chat_id = f.chat_id AND g.job = f.job)",
            args![chat],
        )
        .await
    {
        Ok(rows) => rows,
        Err(error) => return database_trouble(error),
    };
    let now = engine.clock.now();
    let jobs: Vec<_> = settings
        .jobs
        .iter()
        .map(|job| {
            let last = last_firings
                .iter()
                .find(|(name, _, _)| *name == job.name)
                .and_then(|(_, at, outcome)| {
                    DateTime::<Utc>::from_timestamp(*at, 0)
                        .map(|at| format!("{} ({outcome})", local(at)))
                })
                .unwrap_or_else(|| "—".into());
            context! {
                name => job.name.clone(),
                kind => format!("{:?}", job.kind).to_lowercase(),
                schedule => job.schedule.source().to_owned(),
                next => job.schedule.next_after(zone, now).map(local).unwrap_or_else(|| "—".into()),
                last,
            }
        })
        .collect();

    let audit_rows: Vec<AuditRow> =
        match engine
            .db
            .fetch_all(
                "SELECT a.at, actor.display_name, a.actor_id, a.action, target.display_name, a.target_id, a.detail
                 FROM admin_actions a
                 LEFT JOIN members actor ON actor.chat_id = a.chat_id AND actor.user_id = a.actor_id
                 LEFT JOIN members target ON target.chat_id = a.chat_id AND target.user_id = a.target_id
                 WHERE a.chat_id = $1 ORDER BY a.at DESC, a.id DESC LIMIT $2",
                args![chat, AUDIT_LINES],
            )
            .await
        {
            Ok(rows) => rows,
            Err(error) => return database_trouble(error),
        };
    let who = |name: Option<String>, id: Option<i64>| match (name, id) {
        (Some(name), Some(id)) => format!("{name} ({id})"),
        (None, Some(id)) => id.to_string(),
        _ => "—".to_owned(),
    };
    let audit: Vec<_> = audit_rows
        .into_iter()
        .map(
            |(at, actor_name, actor, action, target_name, target, detail)| {
                context! {
                    at => DateTime::<Utc>::from_timestamp(at, 0).map(local),
                    actor => who(actor_name, actor),
                    action,
                    target => who(target_name, target),
                    detail => detail.unwrap_or_default(),
                }
            },
        )
        .collect();

    page(
        "group.html",
        &title.clone(),
        context! {
            id => chat,
            title,
            kind,
            timezone => calendar.zone.name(),
            from => period.days.first().and_then(|d| date_of(d.day)).map(|d| d.to_string()),
            to => period.days.last().and_then(|d| date_of(d.day)).map(|d| d.to_string()),
            days,
            periods => PERIODS,
            rates,
            days_table,
            jobs,
            audit,
            // The group's resolved settings: the bot token and the dashboard token live in
            // other sections and never appear here.
            config => format!("{settings:#?}"),
        },
        StatusCode::OK,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        assert!(tokens_match("s3cret-token-123456", "s3cret-token-123456"));
        assert!(!tokens_match("s3cret-token-12345", "s3cret-token-123456"));
        assert!(!tokens_match("s3cret-token-123457", "s3cret-token-123456"));
        assert!(!tokens_match("", "s3cret-token-123456"));
    }
}
