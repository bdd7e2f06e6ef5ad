//! The Telegram adapter: long polling into the inbox, the engine over it, and delivery of the
//! outbox through the Bot API.
//!
//! Three tasks share the database and nothing else:
//! - polling stores each `getUpdates` batch in the inbox *before* asking for the next one (the
//!   next offset is what tells Telegram the batch arrived), so a `kill -9` loses nothing;
//! - the engine handles the inbox in order, one transaction per update;
//! - delivery sends the outbox, in order within a chat, chats side by side.

pub mod convert;
pub mod delivery;
pub mod menus;
pub mod port;
pub mod received;
pub mod refusals;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use teloxide::adaptors::throttle::Limits;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use teloxide::{ApiError, RequestError};
use tokio::sync::{Notify, watch};

use crate::app::Prepared;
use crate::core::clock::{Clock, SystemClock};
use crate::core::context::BotIdentity;
use crate::core::delivery::Deliverer;
use crate::metrics::metrics;
use crate::store::{Db, inbox, leases, redact_url};
use futures_util::FutureExt;
use port::{TelegramPort, with_retries};

/// Inbox keys per update. An "added members" message names far fewer members than this, and
/// any beyond it are dropped rather than spill into the next update's keys.
const EVENTS_PER_UPDATE: i64 = 1_024;

/// How often the polling lease is checked (on PostgreSQL it can be lost with its connection).
const LEASE_CHECK_EVERY: Duration = Duration::from_secs(5);

/// Removes the token from a text (error messages can quote request URLs).
pub fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "<token>")
    }
}

/// The bot token: `QUNBOT_TOKEN`, else the file `telegram.token_file` names.
pub fn token(prepared: &Prepared) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("QUNBOT_TOKEN")
        && !token.trim().is_empty()
    {
        return Ok(token.trim().to_owned());
    }
    if let Some(path) = &prepared.settings.file.telegram.token_file {
        let token = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?;
        if !token.trim().is_empty() {
            return Ok(token.trim().to_owned());
        }
        bail!("the token file {} is empty", path.display());
    }
    bail!("no bot token: set QUNBOT_TOKEN (from @BotFather) or telegram.token_file in the config")
}

/// A plain bot pointed at the configured Bot API server.
fn plain_bot(prepared: &Prepared, token: &str) -> anyhow::Result<Bot> {
    let api_url = prepared.settings.api_url();
    let url = url::Url::parse(api_url.trim_end_matches('/'))
        .with_context(|| format!("the Bot API URL `{api_url}` is not a URL"))?;
    Ok(Bot::new(token).set_api_url(url))
}

/// Asks Telegram who the bot is, turning the usual failures into plain sentences.
async fn identify(bot: &Bot, api_url: &str, token: &str) -> anyhow::Result<BotIdentity> {
    match with_retries(|| bot.get_me().into_future()).await {
        Ok(me) => Ok(BotIdentity {
            id: me.id.0 as i64,
            username: me.username.clone().unwrap_or_default(),
        }),
        // A malformed token gets "Not Found" rather than "Unauthorized".
        Err(RequestError::Api(ApiError::InvalidToken)) => Err(anyhow!(
            "Telegram rejected the bot token (check QUNBOT_TOKEN; @BotFather shows the current one)"
        )),
        Err(RequestError::Api(ApiError::Unknown(description)))
            if description.contains("Not Found") =>
        {
            Err(anyhow!(
                "Telegram rejected the bot token (check QUNBOT_TOKEN; @BotFather shows the current one)"
            ))
        }
        Err(error) => Err(anyhow!(
            "cannot reach the Bot API at {api_url}: {}",
            redact(&error.to_string(), token)
        )),
    }
}

/// `qunbot run`: serve until Ctrl-C or SIGTERM; SIGHUP (`qunbot reload` sends it to the pid
/// in the pid file) reloads the config and the command manifests.
pub async fn run(prepared: Prepared) -> anyhow::Result<()> {
    let token = token(&prepared)?;
    let reload = Arc::new(Notify::new());
    reload_on_hangup(reload.clone())?;
    let pid_file = prepared.settings.pid_file();
    serve(
        prepared,
        token,
        shutdown_signal(),
        Control {
            reload,
            pid_file: Some(pid_file),
        },
    )
    .await
}

/// Serves until `shutdown` completes (or polling fails for good), then finishes the updates in
/// hand and returns.
pub async fn run_until(
    prepared: Prepared,
    token: String,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    serve(prepared, token, shutdown, Control::default()).await
}

/// What the operator can do to a running bot besides stopping it.
#[derive(Default)]
pub struct Control {
    /// Notified to reload the config and the manifests (`app::reload`).
    pub reload: Arc<Notify>,
    /// Written with the process id once polling is ours, removed at the end.
    pub pid_file: Option<std::path::PathBuf>,
}

/// Turns SIGHUP into reload requests. Registered before anything else runs, so a SIGHUP never
/// takes the process down with it (its default action).
fn reload_on_hangup(reload: Arc<Notify>) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot listen for SIGHUP")?;
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                reload.notify_one();
            }
        });
    }
    #[cfg(not(unix))]
    let _ = reload;
    Ok(())
}

/// The pid file of a running `qunbot run`; removed when dropped, if it still names us.
struct PidFile(std::path::PathBuf);

impl PidFile {
    fn write(path: &std::path::Path) -> anyhow::Result<PidFile> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write the pid file {}", path.display()))?;
        Ok(PidFile(path.to_owned()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.0)
            .is_ok_and(|text| text.trim() == std::process::id().to_string());
        if ours {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Serves as `run_until` does, and reloads when `control.reload` is notified.
pub async fn serve(
    prepared: Prepared,
    token: String,
    shutdown: impl std::future::Future<Output = ()>,
    control: Control,
) -> anyhow::Result<()> {
    for warning in prepared.settings.warnings() {
        tracing::warn!("{warning}");
    }
    let api_url = prepared.settings.api_url();
    let bot = plain_bot(&prepared, &token)?;
    let identity = identify(&bot, &api_url, &token).await?;
    tracing::info!(bot = %identity.username, api = %api_url, "connected to the Bot API");

    let url = prepared.settings.database_url();
    let db = Db::connect(&url, &prepared.schema)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&url)))?;

    let listener = match prepared.settings.http_listen() {
        Some(listen) => Some(crate::http::bind(listen).await?),
        None => None,
    };

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let lease_name = format!("telegram-poller:{}", identity.id);
    // Host and process name the holder for the operator; the start time tells two runs in one
    // process apart.
    let holder = format!(
        "{}:{}:{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into()),
        std::process::id(),
        clock.now().timestamp_micros()
    );
    let lease = take_polling_lease(&db, &lease_name, &holder, clock.as_ref()).await?;
    // Only the process that polls is the one to reload.
    let _pid_file = match &control.pid_file {
        Some(path) => Some(PidFile::write(path)?),
        None => None,
    };

    let per_group = prepared
        .settings
        .file
        .telegram
        .messages_per_minute_per_group() as u32;
    let unthrottled = throttle_off(&prepared, &api_url);
    let budget = port::CallBudget::telegram();
    let port: Arc<dyn crate::core::action::ChatPort> = if unthrottled {
        // Not Throttle with its limits out of reach: it releases queued calls on a 250 ms tick.
        Arc::new(TelegramPort::new(bot.clone(), token.clone()))
    } else {
        let limits = Limits {
            messages_per_sec_chat: 1,
            messages_per_min_chat: per_group,
            // teloxide's default holds supergroups to 10 a minute; Telegram allows 20 in any group.
            messages_per_min_channel_or_supergroup: per_group,
            // The port's budget already keeps every call, sends among them, to this many in
            // any second: a call takes its share before Throttle sees it and keeps it until a
            // second after the answer. This limit counts only the sends Throttle let go in the
            // last second, each still holding its share, so it cannot hold back a send the
            // budget let through (it would count it twice); at the same figure it is only a
            // backstop.
            messages_per_sec_overall: port::CALLS_PER_SECOND,
        };
        Arc::new(
            TelegramPort::new(bot.clone().throttle(limits), token.clone())
                .with_budget(budget.clone()),
        )
    };
    let engine =
        Arc::new(prepared.engine(db.clone(), clock.clone(), identity.clone(), port.clone()));
    let deliverer = Arc::new(Deliverer {
        finishes: Some(crate::store::outbox::Finishes::start(db.clone())),
        ..Deliverer::new(db.clone(), port, clock.clone())
    });

    let (stop_tx, stop) = watch::channel(false);
    let inbox_ready = Arc::new(Notify::new());
    let outbox_ready = Arc::new(Notify::new());
    let source = format!("telegram:{}", identity.id);
    let timeout = prepared.settings.file.telegram.polling_timeout_secs() as u32;

    let received = Arc::new(received::Received::default());

    // The polling may be held up by a long poll; the other two stop between items.
    let poller = tokio::spawn(poll(
        bot.clone(),
        db.clone(),
        Polling {
            source,
            timeout_secs: timeout,
            received: received.clone(),
            clock: clock.clone(),
        },
        token.clone(),
        inbox_ready.clone(),
        stop.clone(),
    ));
    let scheduler = tokio::spawn(run_scheduler(
        engine.clone(),
        received,
        inbox_ready.clone(),
        stop.clone(),
    ));
    let handler = tokio::spawn(handle_inbox(
        engine.clone(),
        inbox_ready,
        outbox_ready.clone(),
        stop.clone(),
    ));
    let sender = tokio::spawn(delivery::deliver_outbox(
        deliverer,
        outbox_ready,
        stop.clone(),
        if unthrottled {
            delivery::ChatPace::UNPACED
        } else {
            delivery::ChatPace::telegram(per_group as usize)
        },
    ));
    let http = listener.map(|listener| {
        let state = Arc::new(crate::http::HttpState {
            engine: engine.clone(),
            dashboard_token: prepared.settings.dashboard_token(),
            // A long poll plus slack: a poller that has not heard back for longer is stuck.
            poll_stale_after_secs: i64::from(timeout) + 30,
        });
        tokio::spawn(crate::http::serve(
            listener,
            crate::http::router(state),
            stop.clone(),
        ))
    });
    let reloaded = Arc::new(Notify::new());
    let reloader = tokio::spawn(reload_when_asked(
        engine.clone(),
        prepared.schema.clone(),
        control.reload.clone(),
        reloaded.clone(),
        stop.clone(),
    ));
    let menu_keeper = tokio::spawn(menus::keep_in_step(
        engine.clone(),
        menus::Menus::new(bot.clone(), token.clone(), (!unthrottled).then_some(budget)),
        reloaded,
        stop.clone(),
    ));
    let mut lease = tokio::spawn(keep_lease(db.clone(), lease, stop.clone()));

    let mut poller = poller;
    let outcome = tokio::select! {
        _ = shutdown => {
            tracing::info!("stopping: finishing the updates in hand");
            Ok(())
        }
        result = &mut poller => match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error),
            Err(error) => Err(anyhow!("the polling task failed: {error}")),
        },
        // Only ends early when the lease was lost to another process.
        _ = &mut lease => Err(anyhow!(
            "another qunbot process took over polling this bot's updates; stopping this one"
        )),
    };
    let _ = stop_tx.send(true);
    if !poller.is_finished() {
        let _ = poller.await;
    }
    // The menus keep nothing: a sync in progress (many groups, paced) need not finish.
    menu_keeper.abort();
    for task in [handler, sender, scheduler, reloader]
        .into_iter()
        .chain(http)
    {
        let _ = task.await;
    }
    if !lease.is_finished()
        && let Ok(Some(lease)) = lease.await
    {
        lease.release(&db).await.ok();
    }
    db.close().await;
    refusals::flush();
    tracing::info!("stopped");
    outcome
}

/// Whether `[telegram] throttle = false` applies: only against a Bot API server that is not
/// Telegram's own (a benchmark's fake), where nobody is flooded.
fn throttle_off(prepared: &Prepared, api_url: &str) -> bool {
    if prepared.settings.file.telegram.throttle != Some(false) {
        return false;
    }
    let telegram = url::Url::parse(api_url)
        .ok()
        .and_then(|url| url.host_str().map(|host| host.ends_with("telegram.org")))
        .unwrap_or(true);
    if telegram {
        tracing::warn!(
            "telegram.throttle = false is ignored against Telegram's own Bot API: the send limits stay on"
        );
        false
    } else {
        tracing::warn!(api = %api_url, "client-side send limits are OFF (telegram.throttle = false); for benchmarks only");
        true
    }
}

/// Takes the polling lease, or refuses to start while another live process holds it. A
/// process that died (even by `kill -9`) held it by a lock the system let go of with it, so a
/// restart takes over at once.
async fn take_polling_lease(
    db: &Db,
    name: &str,
    holder: &str,
    clock: &dyn Clock,
) -> anyhow::Result<leases::Lease> {
    match leases::take(db, name, holder, clock.now()).await? {
        leases::Taken::Yes(lease) => Ok(lease),
        leases::Taken::HeldBy(other) => bail!(
            "another qunbot process ({}) is already polling this bot's updates on this database; only one process may \
             poll a token. Stop it first, or give this one another bot token.",
            other.as_deref().unwrap_or("unnamed")
        ),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The update kinds the bot asks for. `chat_member` must be named explicitly: Telegram leaves
/// it out otherwise.
fn allowed_updates() -> Vec<AllowedUpdate> {
    vec![
        AllowedUpdate::Message,
        AllowedUpdate::EditedMessage,
        AllowedUpdate::CallbackQuery,
        AllowedUpdate::ChatMember,
        AllowedUpdate::MyChatMember,
    ]
}

/// Long polling into the inbox. The offset that confirms a batch is only sent once the batch
/// is committed; if the database is down, polling waits rather than confirming.
/// What the poller keeps up: its inbox source name, its long-poll timeout, and how far what it
/// received is complete.
struct Polling {
    source: String,
    timeout_secs: u32,
    received: Arc<received::Received>,
    clock: Arc<dyn Clock>,
}

async fn poll(
    bot: Bot,
    db: Db,
    polling: Polling,
    token: String,
    inbox_ready: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    if let Err(error) = with_retries(|| bot.delete_webhook().into_future()).await {
        tracing::warn!(error = %redact(&error.to_string(), &token), "could not remove a webhook; polling anyway");
    }
    let Polling {
        source,
        timeout_secs,
        received,
        clock,
    } = polling;
    let mut offset: i32 = 0;
    let mut failures: u32 = 0;
    loop {
        let request = bot
            .get_updates()
            .offset(offset)
            .timeout(timeout_secs)
            .limit(received::PER_ANSWER)
            .allowed_updates(allowed_updates());
        let asked_at = clock.now();
        received.asking(asked_at);
        let result = tokio::select! {
            result = request.into_future() => result,
            _ = stop.changed() => break,
        };
        received.answer_came();
        crate::telegram::port::count_attempt("getUpdates", &result);
        match result {
            Ok(updates) => {
                failures = 0;
                metrics().polled_ok(chrono::Utc::now().timestamp());
                for update in &updates {
                    metrics()
                        .updates_received
                        .with_label_values(&[update_kind(update)])
                        .inc();
                }
                let Some(last) = updates.last() else {
                    received.stored(asked_at, 0);
                    continue;
                };
                let next_offset = (last.id.0 as i32).wrapping_add(1);
                // One update can stand for several events (a join message naming many
                // members); each gets its own inbox key: the update id times EVENTS_PER_UPDATE
                // plus its index.
                let mut batch: Vec<(i64, crate::core::event::Event)> = Vec::new();
                let mut unreadable = Vec::new();
                for update in &updates {
                    let key = i64::from(update.id.0) * EVENTS_PER_UPDATE;
                    match events_of(update) {
                        Ok(events) => batch.extend(
                            events
                                .into_iter()
                                .take(EVENTS_PER_UPDATE as usize)
                                .enumerate()
                                .map(|(index, event)| (key + index as i64, event)),
                        ),
                        Err(error) => unreadable.push((key, update, error)),
                    }
                }
                loop {
                    let stored = store_received(&db, &source, &batch, &unreadable).await;
                    match stored {
                        Ok(()) => break,
                        Err(error) => {
                            tracing::error!(%error, "cannot store received updates; not confirming them until it works");
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                                _ = stop.changed() => return Ok(()),
                            }
                        }
                    }
                }
                received.stored(asked_at, updates.len());
                offset = next_offset;
                inbox_ready.notify_one();
            }
            Err(RequestError::Api(ApiError::TerminatedByOtherGetUpdates)) => {
                bail!(
                    "another process is polling this bot token (Telegram answered 409 Conflict). \
                     Only one qunbot may poll a token: stop the other one, or use a second bot."
                );
            }
            Err(RequestError::Api(ApiError::InvalidToken)) => {
                bail!("Telegram no longer accepts the bot token (was it revoked in @BotFather?)");
            }
            Err(RequestError::RetryAfter(wait)) => {
                metrics().waited_for_telegram(wait.duration());
                tokio::time::sleep(wait.duration()).await;
            }
            Err(error) => {
                failures += 1;
                let wait = Duration::from_secs(1u64 << failures.min(6));
                tracing::warn!(error = %redact(&error.to_string(), &token), retry_in = ?wait, "getUpdates failed");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => break,
                }
            }
        }
    }
    // Everything received is stored: tell Telegram so the next start does not get it again
    // (it would be ignored as a duplicate anyway).
    if offset != 0 {
        let confirm = bot.get_updates().offset(offset).limit(1).timeout(0);
        let _ = tokio::time::timeout(Duration::from_secs(5), confirm.into_future()).await;
    }
    Ok(())
}

/// The events an update stands for. Reading an update is the adapter's code, and an update
/// can be malformed in ways nobody foresaw: a panic on one is caught here and reported as its
/// error, so that one message cannot stop the bot (and, unconfirmed, stop it again on every
/// restart).
/// An update that could not be read: why (`panic` or `unreadable`, as the metrics count it), and
/// the detail.
type Unreadable = (&'static str, String);

fn events_of(
    update: &teloxide::types::Update,
) -> Result<Vec<crate::core::event::Event>, Unreadable> {
    if let teloxide::types::UpdateKind::Error(_) = update.kind {
        // Only the kinds in `allowed_updates` come, so this is one of them that teloxide could
        // not read (a field out of its range, say): kept to be looked at, not silently lost.
        return Err((
            "unreadable",
            "the update's fields could not be read".to_owned(),
        ));
    }
    std::panic::catch_unwind(|| convert::to_events(update))
        .map_err(|panic| ("panic", crate::core::engine::panic_message(panic.as_ref())))
}

/// Stores a `getUpdates` answer: its events, and each update that could not be read, closed
/// with its error.
async fn store_received(
    db: &Db,
    source: &str,
    batch: &[(i64, crate::core::event::Event)],
    unreadable: &[(i64, &teloxide::types::Update, Unreadable)],
) -> crate::store::StoreResult<()> {
    let now = chrono::Utc::now();
    for (key, update, (cause, error)) in unreadable {
        let chat = std::panic::catch_unwind(|| chat_of(update)).ok().flatten();
        tracing::error!(update_id = update.id.0, chat_id = chat, %error, "an update could not be read; it is kept in the inbox, closed");
        metrics().update_failed("receive", cause);
        let raw = serde_json::to_string(update).unwrap_or_default();
        inbox::store_unreadable(db, source, *key, chat, &raw, error, now).await?;
    }
    inbox::store_batch(db, source, batch, now).await?;
    Ok(())
}

/// The chat an update is about, also when teloxide could not read the update (then from the
/// raw fields: `message.chat.id`, `callback_query.message.chat.id`, `chat_member.chat.id`).
fn chat_of(update: &teloxide::types::Update) -> Option<i64> {
    if let teloxide::types::UpdateKind::Error(raw) = &update.kind {
        let object = raw.as_object()?;
        return object.values().find_map(|inner| {
            inner["chat"]["id"]
                .as_i64()
                .or_else(|| inner["message"]["chat"]["id"].as_i64())
        });
    }
    update.chat().map(|chat| chat.id.0)
}

/// An update's kind as the Bot API names it, for the metrics.
fn update_kind(update: &teloxide::types::Update) -> &'static str {
    use teloxide::types::UpdateKind;
    match &update.kind {
        UpdateKind::Message(_) => "message",
        UpdateKind::EditedMessage(_) => "edited_message",
        UpdateKind::CallbackQuery(_) => "callback_query",
        UpdateKind::ChatMember(_) => "chat_member",
        UpdateKind::MyChatMember(_) => "my_chat_member",
        _ => "other",
    }
}

async fn handle_inbox(
    engine: Arc<crate::core::engine::Engine>,
    inbox_ready: Arc<Notify>,
    outbox_ready: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_prune = std::time::Instant::now();
    loop {
        // Each update's handling is guarded inside the engine; this guards the engine's own
        // code, so that a bug there pauses handling for a second rather than ending it.
        let pass = std::panic::AssertUnwindSafe(engine.handle_pending()).catch_unwind();
        match pass.await {
            Ok(Ok(handled)) => {
                if handled > 0 {
                    outbox_ready.notify_one();
                }
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "handling the inbox failed; trying again shortly")
            }
            Err(panic) => tracing::error!(
                panic = %crate::core::engine::panic_message(panic.as_ref()),
                "handling the inbox panicked; trying again shortly"
            ),
        }
        if last_prune.elapsed() > Duration::from_secs(3600) {
            last_prune = std::time::Instant::now();
            let before = engine.clock.now() - chrono::Duration::days(2);
            if let Err(error) = inbox::prune(&engine.db, before).await {
                tracing::warn!(%error, "could not prune the inbox");
            }
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = inbox_ready.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Claims due timers into the inbox every second, and due scheduled posts twice a minute (jobs
/// are at least ten minutes apart, and a post a few seconds after its minute is on time).
/// "Due" is measured against what has been received, not the clock alone: nothing fires ahead
/// of an update sent before its time that is still on its way from Telegram.
async fn run_scheduler(
    engine: Arc<crate::core::engine::Engine>,
    received: Arc<received::Received>,
    inbox_ready: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    const JOBS_EVERY: Duration = Duration::from_secs(30);
    let mut jobs_looked_at: Option<std::time::Instant> = None;
    loop {
        let now = engine.clock.now();
        if let Some(due_by) = received.complete_through(now) {
            let jobs_too = jobs_looked_at.is_none_or(|at| at.elapsed() >= JOBS_EVERY);
            let fired = if jobs_too {
                jobs_looked_at = Some(std::time::Instant::now());
                crate::scheduler::fire_due_by(&engine, due_by, now).await
            } else {
                crate::store::timers::fire_due_by(&engine.db, due_by, now).await
            };
            match fired {
                Ok(0) => {}
                Ok(_) => inbox_ready.notify_one(),
                Err(error) => tracing::error!(%error, "the scheduler could not claim due posts"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Reloads the config and the manifests each time `reload` is notified: on success the engine
/// (and with it the scheduler, which asks it for the settings on every pass) runs on the new
/// ones from its next event on; on any problem it keeps the old ones and the log says why.
async fn reload_when_asked(
    engine: Arc<crate::core::engine::Engine>,
    schema: Arc<crate::store::Schema>,
    reload: Arc<Notify>,
    reloaded: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = reload.notified() => {}
            _ = stop.changed() => return,
        }
        let from = engine.settings().path.as_ref().map_or_else(
            || "the built-in defaults".to_owned(),
            |p| p.display().to_string(),
        );
        match crate::app::reload(&engine, &schema) {
            Ok(notes) => {
                for note in notes {
                    tracing::warn!("{note}");
                }
                tracing::info!(config = %from, "reloaded the config and the command manifests");
                reloaded.notify_one();
            }
            Err(errors) => {
                for error in &errors {
                    tracing::error!("{error}");
                }
                tracing::error!(
                    config = %from,
                    problems = errors.len(),
                    "reload refused: the config or the manifests have problems (above); still running on the old ones"
                );
            }
        }
    }
}

/// Holds the polling lease until told to stop, and hands it back for release; returns `None`
/// early when it was lost to another process, which must end this one's polling.
async fn keep_lease(
    db: Db,
    mut lease: leases::Lease,
    mut stop: watch::Receiver<bool>,
) -> Option<leases::Lease> {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(LEASE_CHECK_EVERY) => {}
            _ = stop.changed() => return Some(lease),
        }
        match lease.still_held(&db).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!("another process took over polling");
                return None;
            }
            Err(error) => tracing::warn!(%error, "could not check the polling lease"),
        }
    }
}

/// `qunbot commands --sync`: registers the bot-wide command menus with Telegram, per scope
/// and language (`menus::set_bot_wide`). `qunbot run` does this at start, and keeps the
/// groups' own menus too.
pub async fn sync_commands(prepared: &Prepared) -> anyhow::Result<()> {
    let token = token(prepared)?;
    let bot = plain_bot(prepared, &token)?;
    identify(&bot, &prepared.settings.api_url(), &token).await?;
    menus::set_bot_wide(
        None,
        &bot,
        &token,
        &prepared.settings,
        &prepared.commands,
        &prepared.features,
    )
    .await
}
