//! The optional HTTP server `qunbot run` starts when `[http] listen` is set: `/metrics` for
//! Prometheus, `/healthz` (the process answers) and `/readyz` (the database answers and
//! polling is alive), for a load balancer or an orchestrator, and the read-only dashboard
//! (`dashboard`) when a token is configured.

pub mod dashboard;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::watch;

use crate::args;
use crate::core::engine::Engine;
use crate::metrics::metrics;
use crate::store::inbox;

/// What the handlers read.
pub struct HttpState {
    pub engine: Arc<Engine>,
    /// No token, no dashboard.
    pub dashboard_token: Option<String>,
    /// Polling counts as alive while its last successful getUpdates is at most this old.
    pub poll_stale_after_secs: i64,
}

pub fn router(state: Arc<HttpState>) -> Router {
    let mut router = Router::new()
        .route("/metrics", get(prometheus_metrics))
        .route("/healthz", get(healthy))
        .route("/readyz", get(ready));
    if state.dashboard_token.is_some() {
        router = router.merge(dashboard::routes());
    }
    router.with_state(state)
}

/// Binds the listening socket. Failing here fails startup: an operator who asked for metrics
/// should not find out from an empty dashboard.
pub async fn bind(listen: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {listen} ([http] listen): {error}"))
}

/// Serves until `stop` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "HTTP server: /metrics, /healthz, /readyz");
    }
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        })
        .await;
    if let Err(error) = served {
        tracing::error!(%error, "the HTTP server stopped");
    }
}

async fn prometheus_metrics(State(state): State<Arc<HttpState>>) -> impl IntoResponse {
    // The depth is read when asked rather than kept up to date on every update.
    match inbox::pending_count(&state.engine.db).await {
        Ok(pending) => metrics().inbox_pending.set(pending),
        Err(error) => tracing::warn!(%error, "metrics: cannot count the inbox"),
    }
    let outbox: Result<(i64,), _> = state
        .engine
        .db
        .fetch_one("SELECT COUNT(*) FROM outbox WHERE done_at IS NULL", args![])
        .await;
    match outbox {
        Ok((pending,)) => metrics().outbox_pending.set(pending),
        Err(error) => tracing::warn!(%error, "metrics: cannot count the outbox"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics().render(),
    )
}

/// Writes refused for this long make the process unhealthy as well as unready: a restart
/// gets fresh connections, in case the trouble is this process's own.
const UNHEALTHY_AFTER_SECS: i64 = 120;

async fn healthy(State(state): State<Arc<HttpState>>) -> impl IntoResponse {
    match state.engine.write_trouble() {
        Some((since, error))
            if (state.engine.clock.now() - since).num_seconds() > UNHEALTHY_AFTER_SECS =>
        {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database: cannot write since {since}: {error}\n"),
            )
        }
        _ => (StatusCode::OK, "ok\n".to_owned()),
    }
}

async fn ready(State(state): State<Arc<HttpState>>) -> impl IntoResponse {
    let mut problems = Vec::new();
    if let Some((since, error)) = state.engine.write_trouble() {
        problems.push(format!("database: cannot write since {since}: {error}"));
    }
    let database: Result<(i64,), _> = state
        .engine
        .db
        .fetch_one("SELECT CAST(1 AS BIGINT)", args![])
        .await;
    if let Err(error) = database {
        problems.push(format!("database: {error}"));
    }
    let now = chrono::Utc::now().timestamp();
    match metrics().last_poll_ok() {
        None => problems.push("polling: no answer from Telegram yet".to_owned()),
        Some(at) if now - at > state.poll_stale_after_secs => problems.push(format!(
            "polling: no answer from Telegram for {}s",
            now - at
        )),
        Some(_) => {}
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\n{}\n", problems.join("\n")),
        )
    }
}
