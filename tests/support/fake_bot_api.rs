//! An in-process fake of the Telegram Bot API for integration tests.
//!
//! Point a real teloxide `Bot` at it (`Bot::new(fake.token()).set_api_url(fake.url().parse()?)`)
//! so tests run the production path: Polling, Dispatcher, Throttle, error handling. The point
//! is to catch what real Telegram would reject:
//!
//! * Every request is judged against the Bot API reference (`tests/fixtures/`, see
//!   `bot_api_spec.rs`): known method, required fields, no unknown fields, types, the stated
//!   lengths, list sizes and choices (reaction emoji), entities inside their text. A request
//!   that breaks a rule is answered as Telegram answers it (`Bad Request: REACTION_INVALID`)
//!   and held against the test: the last handle of the fake to go panics with the list,
//!   unless the test said it makes such requests on purpose ([`FakeBotApi::expect_refusals`])
//!   or tolerates one refusal by name ([`FakeBotApi::tolerate_refusal`]).
//! * getUpdates confirms by offset, long-polls, honours `allowed_updates` (the default leaves
//!   out chat_member / message_reaction*), and a newer getUpdates ends a waiting one with 409.
//! * Messages seen in pushed updates or sent by the bot are remembered, so edits, deletes, pins
//!   and replies fail the way Telegram fails ("message to edit not found", "message is not
//!   modified", "message can't be edited" for other people's messages).
//! * The bot can't DM a user who never had a private chat with it (403), restrictions need a
//!   supergroup, admins can't be restricted or banned, and a group that migrated answers
//!   with `migrate_to_chat_id`.
//! * Errors use Telegram's HTTP status (400/403/409/429). teloxide ignores the status for 4xx
//!   but sleeps 10 s on any 5xx, so only `Failure::ServerError` produces a 5xx.
//! * `allowed_updates` is applied at delivery, also to updates pushed before the bot asked, so
//!   tests are deterministic (Telegram may still deliver those for "a short period").
//!
//! * Uploaded files (sendDocument, sendPhoto) are read from the multipart body; a photo must
//!   carry PNG bytes, as Telegram refuses what it cannot decode.
//!
//! Not modelled: parse_mode (text is echoed unparsed, no entities), photo dimensions, inline
//! messages, forum topics beyond echoing the thread id.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::pin::pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

#[path = "bot_api_spec.rs"]
mod bot_api_spec;
pub use bot_api_spec::{BotApiSpec, Refusal};

pub const BOT_ID: i64 = 123456;
pub const BOT_USERNAME: &str = "qunbot_test_bot";
pub const BOT_FIRST_NAME: &str = "Qunbot Test";
const TOKEN: &str = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz0123";
/// Supergroup and channel ids are -100xxxxxxxxxx; basic groups are small negatives.
const SUPERGROUP_BELOW: i64 = -1_000_000_000_000;
const CONFLICT: &str = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";

/// One counter for fixture builders and every server instance: a user's message and the bot's
/// reply never share an id, and ids grow within each chat as on Telegram (gaps are normal there).
static NEXT_MESSAGE_ID: AtomicI64 = AtomicI64::new(1);
static NEXT_CALLBACK_ID: AtomicI64 = AtomicI64::new(1);

/// One request as the server saw it, failing ones included.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub params: Value,
    pub at: Instant,
}

/// An injected error for the next call of a method (see [`FakeBotApi::fail_next`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429 with `parameters.retry_after`; teloxide turns it into `RequestError::RetryAfter`.
    RetryAfter(u32),
    /// 400 with exactly this description, e.g. "Bad Request: chat not found".
    BadRequest(String),
    /// 403 with exactly this description, e.g. "Forbidden: bot was blocked by the user".
    Forbidden(String),
    /// A real HTTP 500. teloxide waits 10 s before it even reads the body.
    ServerError,
    /// 409, what a second poller gets.
    Conflict,
}

/// A handle on the fake. The server holds only `Inner`, so when the test's last handle goes,
/// the [`Referee`] gives its verdict on the requests.
#[derive(Clone)]
pub struct FakeBotApi {
    inner: Arc<Inner>,
    _referee: Arc<Referee>,
}

struct Inner {
    url: String,
    spec: Arc<BotApiSpec>,
    store: Mutex<Store>,
    /// Long polls wait on this; woken by pushed updates and by a newer getUpdates.
    updates_changed: Notify,
    /// `wait_for_call` waits on this.
    calls_changed: Notify,
}

#[derive(Default)]
struct Store {
    calls: Vec<Call>,
    /// Calls per method, lower case.
    calls_by_method: HashMap<String, usize>,
    updates: VecDeque<(i64, Value)>,
    last_update_id: i64,
    poll_generation: u64,
    allowed_updates: Vec<String>,
    failures: HashMap<String, VecDeque<Failure>>,
    admins: HashMap<i64, Vec<i64>>,
    /// ChatMember objects set by bans, restrictions, joins and leaves, keyed by (chat, user).
    members: HashMap<(i64, i64), Value>,
    users: HashMap<i64, Value>,
    chats: HashMap<i64, Value>,
    /// Current state of every message the bot could act on, keyed by (chat, message_id).
    messages: HashMap<(i64, i64), Value>,
    migrated: HashMap<i64, i64>,
    /// Groups the bot left (leaveChat): Telegram refuses it everything there afterwards.
    left: HashSet<i64>,
    commands: HashMap<String, Value>,
    /// How long answers to a method (lower case) take to reach the bot.
    latency: HashMap<String, Duration>,
    /// The emoji reactions a chat's admins allow, where a test narrowed them (all elsewhere).
    available_reactions: HashMap<i64, Vec<String>>,
    /// Requests Telegram would have refused as malformed, in arrival order.
    refused: Vec<RefusedCall>,
    /// The test makes such requests on purpose: they are answered, recorded, not held against it.
    expects_refusals: bool,
    /// (method, Telegram's description) of refusals not held against the test.
    tolerated: Vec<(String, String)>,
}

/// A request the fake refused because Telegram would have: which, what it was answered, why.
#[derive(Clone, Debug)]
pub struct RefusedCall {
    pub method: String,
    pub params: Value,
    pub refusal: Refusal,
}

impl fmt::Display for RefusedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut params = self.params.to_string();
        if params.chars().count() > 300 {
            params = params.chars().take(300).collect::<String>() + "…";
        }
        write!(
            f,
            "{}: answered {:?} because {}; params {params}",
            self.method, self.refusal.description, self.refusal.fault
        )
    }
}

/// Fails the test whose bot sent requests Telegram would refuse, when its last handle on the
/// fake goes (at the end of the test, on the test's thread).
struct Referee(Arc<Inner>);

impl Drop for Referee {
    fn drop(&mut self) {
        // A test that already fails says why on its own; a second panic would abort.
        if std::thread::panicking() {
            return;
        }
        let unexpected = self.0.unexpected_refusals();
        if !unexpected.is_empty() {
            let list: Vec<String> = unexpected.iter().map(|r| format!("  {r}")).collect();
            panic!(
                "{} request(s) Telegram would refuse ({}):\n{}",
                unexpected.len(),
                self.0.spec.version,
                list.join("\n")
            );
        }
    }
}

/// An error answer: HTTP status = `error_code`, as Telegram does.
struct ApiError {
    code: u16,
    description: String,
    parameters: Option<Value>,
}

type Reply = Result<Value, ApiError>;

fn api_error(code: u16, description: impl Into<String>) -> ApiError {
    ApiError {
        code,
        description: description.into(),
        parameters: None,
    }
}

fn bad_request(what: &str) -> ApiError {
    api_error(400, format!("Bad Request: {what}"))
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::RetryAfter(secs) => ApiError {
                code: 429,
                description: format!("Too Many Requests: retry after {secs}"),
                parameters: Some(json!({ "retry_after": secs })),
            },
            Failure::BadRequest(description) => api_error(400, description),
            Failure::Forbidden(description) => api_error(403, description),
            Failure::ServerError => api_error(500, "Internal Server Error"),
            Failure::Conflict => api_error(409, CONFLICT),
        }
    }
}

impl fmt::Debug for FakeBotApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeBotApi")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

impl FakeBotApi {
    /// The bot's user id (also the token's prefix), as `FakeBotApi::BOT_ID` for convenience.
    pub const BOT_ID: i64 = BOT_ID;
    pub const BOT_USERNAME: &'static str = BOT_USERNAME;

    pub async fn start() -> FakeBotApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Bot API");
        let addr = listener.local_addr().expect("fake Bot API address");
        let inner = Arc::new(Inner {
            url: format!("http://{addr}"),
            spec: BotApiSpec::get(),
            store: Mutex::new(Store::default()),
            updates_changed: Notify::new(),
            calls_changed: Notify::new(),
        });
        let api = FakeBotApi {
            inner: inner.clone(),
            _referee: Arc::new(Referee(inner.clone())),
        };
        let app = Router::new()
            .route("/{bot_token}/{method}", any(handle))
            .with_state(inner);
        // The task dies with the test's runtime; nothing to shut down.
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        api
    }

    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    pub fn token(&self) -> &str {
        TOKEN
    }

    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = {
            let mut store = self.store();
            store.last_update_id += 1;
            let id = store.last_update_id;
            match update.as_object_mut() {
                Some(fields) => fields.insert("update_id".into(), json!(id)),
                None => panic!("push_update wants an Update object, got {update}"),
            };
            store.learn(&mut update);
            store.updates.push_back((id, update));
            id
        };
        self.inner.updates_changed.notify_waiters();
        id
    }

    /// Every request in arrival order: failed, injected-failure and wrong-token ones too.
    pub fn calls(&self) -> Vec<Call> {
        self.store().calls.clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        let store = self.store();
        store
            .calls
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }

    /// The most calls `counted` picks that arrived within any `span` of each other: the peak
    /// rate a server measuring over `span` saw (arrival times are taken as each request comes
    /// in, before it is answered).
    pub fn most_calls_within(&self, span: Duration, counted: impl Fn(&Call) -> bool) -> usize {
        let arrivals: Vec<Instant> = self
            .store()
            .calls
            .iter()
            .filter(|call| counted(call))
            .map(|call| call.at)
            .collect();
        let mut first = 0;
        let mut most = 0;
        for (last, at) in arrivals.iter().enumerate() {
            while at.duration_since(arrivals[first]) >= span {
                first += 1;
            }
            most = most.max(last + 1 - first);
        }
        most
    }

    /// How many calls of `method` came in so far.
    pub fn count_calls(&self, method: &str) -> usize {
        let key = canonical_method(method).to_ascii_lowercase();
        self.store().calls_by_method.get(&key).copied().unwrap_or(0)
    }

    pub async fn wait_for_call(&self, method: &str, n: usize, timeout: Duration) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so a call landing in between still wakes us.
            let mut changed = pin!(self.inner.calls_changed.notified());
            changed.as_mut().enable();
            // Counted before anything is copied: a benchmark waits for thousands of calls.
            if self.count_calls(method) >= n {
                return self.calls_to(method);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let found = self.calls_to(method);
                if found.len() >= n {
                    return found;
                }
                panic!(
                    "timed out after {timeout:?} waiting for {n} {method} call(s), saw {}; all calls:\n{}",
                    found.len(),
                    self.describe_calls()
                );
            }
        }
    }

    pub fn fail_next(&self, method: &str, failure: Failure) {
        let key = canonical_method(method).to_ascii_lowercase();
        self.store()
            .failures
            .entry(key)
            .or_default()
            .push_back(failure);
    }

    /// The first id is the chat's creator, the rest are administrators. The bot itself is
    /// always an administrator and is listed too (Telegram includes the calling bot).
    pub fn set_admins(&self, chat_id: i64, user_ids: &[i64]) {
        self.store().admins.insert(chat_id, user_ids.to_vec());
    }

    pub fn pending_update_ids(&self) -> Vec<i64> {
        self.store().updates.iter().map(|(id, _)| *id).collect()
    }

    /// The emoji reactions `chat_id`'s admins allow (`getChat`'s `available_reactions`; an
    /// empty list: none). A reaction outside them is refused with `REACTION_INVALID`.
    pub fn set_available_reactions(&self, chat_id: i64, emoji: &[&str]) {
        let emoji = emoji.iter().map(|e| (*e).to_owned()).collect();
        self.store().available_reactions.insert(chat_id, emoji);
    }

    /// Lets the bot message this user, as if they had pressed Start, without pushing an update.
    pub fn add_private_chat(&self, user: (i64, &str)) {
        let mut store = self.store();
        store.users.insert(user.0, user_json(user));
        store.chats.insert(user.0, private_chat(user));
    }

    /// The message as Telegram currently holds it (after edits), `None` once deleted or unknown.
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<Value> {
        self.store().messages.get(&(chat_id, message_id)).cloned()
    }

    /// Answers to `method` take `latency` on their way to the bot, as over a slow network
    /// (the answer is made when the call comes; only its delivery waits).
    pub fn set_latency(&self, method: &str, latency: Duration) {
        self.store()
            .latency
            .insert(method.to_ascii_lowercase(), latency);
    }

    /// The bot's messages in `chat_id` as Telegram holds them now, oldest first.
    pub fn bot_messages(&self, chat_id: i64) -> Vec<Value> {
        let bot = bot_user()["id"].clone();
        let mut sent: Vec<Value> = self
            .store()
            .messages
            .iter()
            .filter(|((chat, _), message)| *chat == chat_id && message["from"]["id"] == bot)
            .map(|(_, message)| message.clone())
            .collect();
        sent.sort_by_key(|message| message["message_id"].as_i64());
        sent
    }

    /// The test makes requests Telegram refuses on purpose: they are answered as Telegram
    /// answers them and listed in [`FakeBotApi::refused_calls`], but do not fail the test.
    pub fn expect_refusals(&self) {
        self.store().expects_refusals = true;
    }

    /// Refusals of `method` answered with exactly `description` do not fail the test (a known
    /// bot bug being fixed elsewhere; say which where this is called).
    pub fn tolerate_refusal(&self, method: &str, description: &str) {
        self.store()
            .tolerated
            .push((canonical_method(method), description.to_owned()));
    }

    /// Every request refused because Telegram would have, in arrival order.
    pub fn refused_calls(&self) -> Vec<RefusedCall> {
        self.store().refused.clone()
    }

    /// Panics with the list if the bot sent a request Telegram would refuse that the test did
    /// not expect. The fake's last handle checks this when it goes; a test may ask earlier.
    pub fn assert_no_unexpected_refusals(&self) {
        let unexpected = self.inner.unexpected_refusals();
        assert!(
            unexpected.is_empty(),
            "request(s) Telegram would refuse:\n{}",
            unexpected
                .iter()
                .map(|r| format!("  {r}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.inner.store()
    }

    fn describe_calls(&self) -> String {
        let store = self.store();
        let first = store.calls.first().map(|c| c.at);
        let lines: Vec<String> = store
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let since = first
                    .map(|t| c.at.duration_since(t).as_secs_f64())
                    .unwrap_or(0.0);
                let mut params = c.params.to_string();
                if params.chars().count() > 300 {
                    params = params.chars().take(300).collect::<String>() + "…";
                }
                format!("  #{i} +{since:.3}s {} {params}", c.method)
            })
            .collect();
        if lines.is_empty() {
            "  (none)".into()
        } else {
            lines.join("\n")
        }
    }
}

impl Inner {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panicking test thread must not turn every later request into a panic.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn unexpected_refusals(&self) -> Vec<RefusedCall> {
        let store = self.store();
        if store.expects_refusals {
            return Vec::new();
        }
        store
            .refused
            .iter()
            .filter(|call| {
                !store.tolerated.iter().any(|(method, description)| {
                    *method == call.method && *description == call.refusal.description
                })
            })
            .cloned()
            .collect()
    }

    async fn long_poll(&self, poll: Poll) -> Reply {
        // Ends any older long poll with 409, as Telegram does for a second poller.
        self.updates_changed.notify_waiters();
        loop {
            let mut changed = pin!(self.updates_changed.notified());
            changed.as_mut().enable();
            {
                let mut store = self.store();
                if store.poll_generation != poll.generation {
                    return Err(api_error(409, CONFLICT));
                }
                let batch = store.deliverable(poll.limit);
                if !batch.is_empty() || tokio::time::Instant::now() >= poll.deadline {
                    return Ok(Value::Array(batch));
                }
            }
            let _ = tokio::time::timeout_at(poll.deadline, changed).await;
        }
    }
}

async fn handle(
    State(api): State<Arc<Inner>>,
    Path((bot_token, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Request { fields, uploaded } = parse_params(query.as_deref(), &headers, &body);
    let params = Value::Object(fields.clone());
    let method = canonical_method(&method);
    let authorized = bot_token.strip_prefix("bot") == Some(TOKEN);
    // Record and apply under one lock, so a test that sees the call also sees its effect.
    let next = {
        let mut store = api.store();
        *store
            .calls_by_method
            .entry(method.to_ascii_lowercase())
            .or_default() += 1;
        store.calls.push(Call {
            method: method.clone(),
            params: params.clone(),
            at: Instant::now(),
        });
        // Telegram judges the request before it does anything with it, injected failures
        // included: those stand for what happens to a well-formed request.
        let judged = match authorized {
            true => api.spec.check(&method, &fields, &uploaded),
            false => Ok(()),
        };
        let failure = match (authorized, &judged) {
            (true, Ok(())) => store
                .failures
                .get_mut(&method.to_ascii_lowercase())
                .and_then(VecDeque::pop_front),
            _ => None,
        };
        if !authorized {
            Next::Answer(Err(api_error(401, "Unauthorized")))
        } else if let Err(refusal) = judged {
            store.refused.push(RefusedCall {
                method: method.clone(),
                params: params.clone(),
                refusal: refusal.clone(),
            });
            Next::Answer(Err(api_error(refusal.status, refusal.description)))
        } else if let Some(failure) = failure {
            Next::Answer(Err(failure.into()))
        } else if method == "getUpdates" {
            Next::Poll(store.begin_poll(&params))
        } else {
            Next::Answer(store.call(&method, &params))
        }
    };
    api.calls_changed.notify_waiters();
    let reply = match next {
        Next::Answer(reply) => reply,
        Next::Poll(poll) => api.long_poll(poll).await,
    };
    let latency = api
        .store()
        .latency
        .get(&method.to_ascii_lowercase())
        .copied();
    if let Some(latency) = latency {
        tokio::time::sleep(latency).await;
    }
    respond(reply)
}

enum Next {
    Answer(Reply),
    Poll(Poll),
}

/// A getUpdates that has confirmed its offset and now waits for updates.
struct Poll {
    generation: u64,
    limit: usize,
    deadline: tokio::time::Instant,
}

fn respond(reply: Reply) -> Response {
    match reply {
        Ok(result) => Json(json!({ "ok": true, "result": result })).into_response(),
        Err(e) => {
            let mut body =
                json!({ "ok": false, "error_code": e.code, "description": e.description });
            if let Some(parameters) = e.parameters {
                body["parameters"] = parameters;
            }
            let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(body)).into_response()
        }
    }
}

/// A request's parameters as they arrived.
struct Request {
    fields: Map<String, Value>,
    /// The parameters that came as file parts of a multipart body.
    uploaded: HashSet<String>,
}

/// JSON body, form body or query string, merged into one object. Form and query values stay
/// strings; the param helpers below read numbers and JSON-serialized fields from strings too.
fn parse_params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Request {
    let mut map = Map::new();
    let mut uploaded = HashSet::new();
    let add_form = |bytes: &[u8], map: &mut Map<String, Value>| {
        for (k, v) in url::form_urlencoded::parse(bytes) {
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(query) = query {
        add_form(query.as_bytes(), &mut map);
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        add_form(body, &mut map);
    } else if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
        map.extend(fields);
    } else if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
    {
        let mut fields = multipart_fields(body, boundary.trim_matches('"'));
        // A file is named in its field as `attach://<part>` and travels in that part.
        let attached: Vec<(String, String)> = fields
            .iter()
            .filter_map(|(key, value)| {
                let part = value.as_str()?.strip_prefix("attach://")?;
                Some((key.clone(), part.to_owned()))
            })
            .collect();
        for (key, part) in attached {
            if let Some(file) = fields.remove(&part) {
                fields.insert(key, file);
            }
        }
        uploaded.extend(
            fields
                .iter()
                .filter(|(_, value)| value.get("file_name").is_some())
                .map(|(key, _)| key.clone()),
        );
        map.extend(fields);
    } else if !content_type.starts_with("multipart/") && body.contains(&b'=') {
        add_form(body, &mut map);
    }
    Request {
        fields: map,
        uploaded,
    }
}

/// The fields of a multipart/form-data body (how teloxide sends a file): a plain field becomes a
/// string, a file `{ "file_name": …, "content": …, "size": …, "png": … }` with its bytes read as
/// UTF-8 (lossily: a picture's bytes are only counted and checked for the PNG signature).
fn multipart_fields(body: &[u8], boundary: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    let delimiter = format!("--{boundary}").into_bytes();
    for part in split_bytes(body, &delimiter) {
        let Some(split) = find_bytes(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let raw = &part[split + 4..];
        let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        let attribute = |key: &str| {
            head.split(';')
                .filter_map(|item| item.trim().strip_prefix(&format!("{key}=\"")))
                .map(|value| value.split('"').next().unwrap_or_default().to_owned())
                .next()
        };
        let Some(name) = attribute("name") else {
            continue;
        };
        let content = String::from_utf8_lossy(raw);
        let value = match attribute("filename") {
            Some(file_name) => json!({
                "file_name": file_name,
                "content": content,
                "size": raw.len(),
                "png": raw.starts_with(b"\x89PNG\r\n\x1a\n"),
            }),
            None => Value::String(content.into_owned()),
        };
        fields.insert(name, value);
    }
    fields
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn split_bytes<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find_bytes(body, delimiter) {
        parts.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    parts.push(body);
    parts
}

/// The documented spelling of a method (teloxide sends `SendPhoto`; names are
/// case-insensitive), or the name with its first letter lowercased if it is none.
fn canonical_method(sent: &str) -> String {
    if let Some(known) = BotApiSpec::get().method_name(sent) {
        return known.to_owned();
    }
    let mut chars = sent.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

fn int(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn string(params: &Value, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn flag(params: &Value, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

/// An object/array parameter, also when it arrives JSON-serialized inside a form string.
fn obj(params: &Value, key: &str) -> Option<Value> {
    match params.get(key)? {
        v @ (Value::Object(_) | Value::Array(_)) => Some(v.clone()),
        Value::String(s) => serde_json::from_str(s).ok(),
        _ => None,
    }
}

fn chat_id(params: &Value) -> Result<i64, ApiError> {
    match params.get("chat_id") {
        None | Some(Value::Null) => Err(bad_request("chat_id is empty")),
        // "@channelname" and garbage: we only know numeric chats.
        Some(_) => int(params, "chat_id").ok_or_else(|| bad_request("chat not found")),
    }
}

fn user_id(params: &Value) -> Result<i64, ApiError> {
    int(params, "user_id").ok_or_else(|| bad_request("invalid user_id specified"))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Telegram returns only inline keyboards inside the sent Message; reply keyboards vanish.
fn inline_markup(params: &Value) -> Option<Value> {
    obj(params, "reply_markup").filter(|m| m.get("inline_keyboard").is_some())
}

fn sender_id(message: &Value) -> Option<i64> {
    message.get("from")?.get("id")?.as_i64()
}

/// The kind of an update is its one field besides update_id.
fn update_kind(update: &Value) -> &str {
    let fields = update.as_object().into_iter().flat_map(|o| o.keys());
    fields
        .map(String::as_str)
        .find(|k| *k != "update_id")
        .unwrap_or("")
}

impl Store {
    fn begin_poll(&mut self, params: &Value) -> Poll {
        self.poll_generation += 1;
        self.confirm(int(params, "offset").unwrap_or(0));
        // Telegram keeps the last allowed_updates when a request leaves it out (teloxide does).
        if let Some(Value::Array(kinds)) = obj(params, "allowed_updates") {
            self.allowed_updates = kinds
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect();
        }
        let timeout = int(params, "timeout").unwrap_or(0).clamp(0, 50) as u64;
        Poll {
            generation: self.poll_generation,
            limit: int(params, "limit")
                .filter(|l| (1..=100).contains(l))
                .unwrap_or(100) as usize,
            deadline: tokio::time::Instant::now() + Duration::from_secs(timeout),
        }
    }

    fn call(&mut self, method: &str, p: &Value) -> Reply {
        // Every chat-bound method fails the same way once a group became a supergroup.
        if let Some(new_id) = int(p, "chat_id").and_then(|id| self.migrated.get(&id)) {
            return Err(ApiError {
                code: 400,
                description: "Bad Request: group chat was upgraded to a supergroup chat".into(),
                parameters: Some(json!({ "migrate_to_chat_id": new_id })),
            });
        }
        if let Some(chat) = int(p, "chat_id").filter(|id| self.left.contains(id)) {
            let kind = if chat <= SUPERGROUP_BELOW {
                "supergroup"
            } else {
                "group"
            };
            return Err(api_error(
                403,
                format!("Forbidden: bot is not a member of the {kind} chat"),
            ));
        }
        if method == "setMessageReaction" {
            self.check_reaction_allowed(p)?;
        }
        match method {
            "getMe" => Ok(json!({
                "id": BOT_ID, "is_bot": true, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME,
                "can_join_groups": true, "can_read_all_group_messages": true,
                "supports_inline_queries": false, "can_connect_to_business": false,
                "has_main_web_app": false,
            })),
            "sendMessage" => self.send_message(p),
            "sendDocument" => self.send_document(p),
            "sendPhoto" => self.send_photo(p),
            "editMessageText" => self.edit_message_text(p),
            "deleteMessage" => {
                let key = (chat_id(p)?, int(p, "message_id").unwrap_or(0));
                match self.messages.remove(&key) {
                    Some(_) => Ok(json!(true)),
                    None => Err(bad_request("message to delete not found")),
                }
            }
            "pinChatMessage" => {
                let key = (chat_id(p)?, int(p, "message_id").unwrap_or(0));
                match self.messages.contains_key(&key) {
                    true => Ok(json!(true)),
                    false => Err(bad_request("message to pin not found")),
                }
            }
            "setMyCommands" => self.set_my_commands(p),
            "getMyCommands" => Ok(self
                .commands
                .get(&commands_key(p))
                .cloned()
                .unwrap_or(json!([]))),
            "deleteMyCommands" => {
                self.commands.remove(&commands_key(p));
                Ok(json!(true))
            }
            "leaveChat" => {
                let chat = chat_id(p)?;
                if chat > 0 {
                    return Err(bad_request(
                        "chat member status can't be changed in private chats",
                    ));
                }
                self.left.insert(chat);
                Ok(json!(true))
            }
            "getChatAdministrators" => {
                let chat = chat_id(p)?;
                if chat > 0 {
                    return Err(bad_request(
                        "there are no administrators in the private chat",
                    ));
                }
                let humans = self.admins.get(&chat).cloned().unwrap_or_default();
                let mut list: Vec<Value> =
                    humans.iter().map(|&u| self.admin_member(chat, u)).collect();
                list.push(self.admin_member(chat, BOT_ID));
                Ok(Value::Array(list))
            }
            "getChatMember" => {
                let (chat, user) = (chat_id(p)?, user_id(p)?);
                Ok(self.member(chat, user))
            }
            "restrictChatMember" => self.restrict(p),
            "banChatMember" => {
                let (chat, user) = (chat_id(p)?, user_id(p)?);
                if chat > 0 {
                    return Err(bad_request(
                        "chat member status can't be changed in private chats",
                    ));
                }
                self.check_can_moderate(chat, user, "can't remove chat owner")?;
                // Basic groups ignore until_date: the ban is forever.
                let until = if chat <= SUPERGROUP_BELOW {
                    until_date(p)
                } else {
                    0
                };
                self.set_status(
                    chat,
                    user,
                    json!({ "status": "kicked", "until_date": until }),
                );
                Ok(json!(true))
            }
            "unbanChatMember" => {
                let (chat, user) = (chat_id(p)?, user_id(p)?);
                let banned = self.member(chat, user)["status"] == "kicked";
                // Without only_if_banned, unbanning a present member removes them from the chat.
                if banned || !flag(p, "only_if_banned") {
                    self.set_status(chat, user, json!({ "status": "left" }));
                }
                Ok(json!(true))
            }
            "getChat" => {
                let mut chat = self.chat(chat_id(p)?);
                if let Some(fields) = chat.as_object_mut() {
                    fields.insert("accent_color_id".into(), json!(0));
                    fields.insert("max_reaction_count".into(), json!(11));
                    let gifts = json!({
                        "unlimited_gifts": false, "limited_gifts": false, "unique_gifts": false,
                        "premium_subscription": false, "gifts_from_channels": false,
                    });
                    fields.insert("accepted_gift_types".into(), gifts);
                    if let Some(allowed) = self.available_reactions.get(&chat_id(p)?) {
                        let allowed: Vec<Value> = allowed
                            .iter()
                            .map(|emoji| json!({ "type": "emoji", "emoji": emoji }))
                            .collect();
                        fields.insert("available_reactions".into(), Value::Array(allowed));
                    }
                }
                Ok(chat)
            }
            "deleteWebhook"
            | "setMessageReaction"
            | "answerCallbackQuery"
            | "unpinChatMessage"
            | "sendChatAction" => Ok(json!(true)),
            _ => Err(api_error(404, "Not Found: method not found")),
        }
    }

    /// Telegram's answer to an emoji reaction the chat's admins do not allow.
    fn check_reaction_allowed(&self, p: &Value) -> Result<(), ApiError> {
        let Some(allowed) = self.available_reactions.get(&chat_id(p)?) else {
            return Ok(());
        };
        let reactions = obj(p, "reaction").unwrap_or(json!([]));
        let refused = reactions.as_array().into_iter().flatten().any(|reaction| {
            reaction["type"] == "emoji"
                && !allowed
                    .iter()
                    .any(|emoji| reaction["emoji"] == emoji.as_str())
        });
        match refused {
            true => Err(bad_request("REACTION_INVALID")),
            false => Ok(()),
        }
    }

    fn send_message(&mut self, p: &Value) -> Reply {
        let chat = chat_id(p)?;
        // Its length and the rest of its form were judged against the reference already.
        let text = string(p, "text").unwrap_or_default();
        if chat > 0 && !self.chats.contains_key(&chat) {
            return Err(api_error(
                403,
                "Forbidden: bot can't initiate conversation with a user",
            ));
        }
        let id = next_message_id();
        let mut message = json!({ "message_id": id, "from": bot_user(), "chat": self.chat(chat), "date": now(), "text": text });
        if let Some(thread) = int(p, "message_thread_id") {
            message["message_thread_id"] = json!(thread);
        }
        if let Some(markup) = inline_markup(p) {
            message["reply_markup"] = markup;
        }
        let reply = obj(p, "reply_parameters");
        if let Some(reply_id) = reply.as_ref().and_then(|r| int(r, "message_id")) {
            match self.messages.get(&(chat, reply_id)) {
                Some(original) => {
                    // Telegram nests only one level of reply_to_message.
                    let mut original = original.clone();
                    if let Some(fields) = original.as_object_mut() {
                        fields.remove("reply_to_message");
                    }
                    message["reply_to_message"] = original;
                }
                None if reply
                    .as_ref()
                    .is_some_and(|r| flag(r, "allow_sending_without_reply")) => {}
                None => return Err(bad_request("message to be replied not found")),
            }
        }
        self.messages.insert((chat, id), message.clone());
        Ok(message)
    }

    fn send_document(&mut self, p: &Value) -> Reply {
        let chat = chat_id(p)?;
        // The file travels as a multipart part; a file_id or URL would be a plain string.
        let Some(file_name) = p
            .get("document")
            .and_then(|d| d.get("file_name"))
            .and_then(Value::as_str)
        else {
            return Err(bad_request("there is no document in the request"));
        };
        let id = next_message_id();
        let mut message = json!({
            "message_id": id, "from": bot_user(), "chat": self.chat(chat), "date": now(),
            "document": { "file_id": format!("doc{id}"), "file_unique_id": format!("u{id}"), "file_name": file_name },
        });
        if let Some(caption) = string(p, "caption") {
            message["caption"] = json!(caption);
        }
        if let Some(thread) = int(p, "message_thread_id") {
            message["message_thread_id"] = json!(thread);
        }
        self.messages.insert((chat, id), message.clone());
        Ok(message)
    }

    fn send_photo(&mut self, p: &Value) -> Reply {
        let chat = chat_id(p)?;
        // Only an uploaded file is modelled (a file_id or URL would be a plain string).
        let Some(photo) = p.get("photo").filter(|photo| photo.is_object()) else {
            return Err(bad_request("there is no photo in the request"));
        };
        if photo.get("png") != Some(&json!(true)) {
            return Err(bad_request("IMAGE_PROCESS_FAILED"));
        }
        let size = photo.get("size").cloned().unwrap_or(json!(0));
        let id = next_message_id();
        let mut message = json!({
            "message_id": id, "from": bot_user(), "chat": self.chat(chat), "date": now(),
            "photo": [{ "file_id": format!("photo{id}"), "file_unique_id": format!("u{id}"),
                        "width": 800, "height": 500, "file_size": size }],
        });
        if let Some(caption) = string(p, "caption") {
            message["caption"] = json!(caption);
        }
        if let Some(thread) = int(p, "message_thread_id") {
            message["message_thread_id"] = json!(thread);
        }
        self.messages.insert((chat, id), message.clone());
        Ok(message)
    }

    fn edit_message_text(&mut self, p: &Value) -> Reply {
        if p.get("inline_message_id").is_some() {
            return Ok(json!(true));
        }
        let chat = chat_id(p)?;
        let id = int(p, "message_id")
            .ok_or_else(|| bad_request("message identifier is not specified"))?;
        let text = string(p, "text").unwrap_or_default();
        let Some(message) = self.messages.get_mut(&(chat, id)) else {
            return Err(bad_request("message to edit not found"));
        };
        if sender_id(message) != Some(BOT_ID) {
            return Err(bad_request("message can't be edited"));
        }
        // Leaving reply_markup out of an edit removes the keyboard, so compare with that.
        let markup = inline_markup(p);
        let same_text = message.get("text").and_then(Value::as_str) == Some(text.as_str());
        if same_text && message.get("reply_markup") == markup.as_ref() {
            return Err(bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same \
                 as a current content and reply markup of the message",
            ));
        }
        if let Some(fields) = message.as_object_mut() {
            fields.insert("text".into(), json!(text));
            fields.insert("edit_date".into(), json!(now()));
            match markup {
                Some(markup) => fields.insert("reply_markup".into(), markup),
                None => fields.remove("reply_markup"),
            };
        }
        Ok(message.clone())
    }

    fn set_my_commands(&mut self, p: &Value) -> Reply {
        let Some(Value::Array(commands)) = obj(p, "commands") else {
            return Err(bad_request("parameter \"commands\" is required"));
        };
        self.commands
            .insert(commands_key(p), Value::Array(commands));
        Ok(json!(true))
    }

    fn restrict(&mut self, p: &Value) -> Reply {
        let (chat, user) = (chat_id(p)?, user_id(p)?);
        if chat > SUPERGROUP_BELOW {
            return Err(bad_request("method is available only for supergroups"));
        }
        if user == BOT_ID {
            return Err(bad_request("can't restrict self"));
        }
        self.check_can_moderate(chat, user, "can't remove chat owner")?;
        let permissions = obj(p, "permissions").unwrap_or_else(|| json!({}));
        const FIELDS: [&str; 16] = [
            "can_send_messages",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_react_to_messages",
            "can_edit_tag",
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_manage_topics",
        ];
        let allowed = |f: &str| permissions.get(f).and_then(Value::as_bool).unwrap_or(false);
        // Granting everything is how a restriction is lifted. teloxide 0.17 never sends the two
        // newest flags, so only an explicit `false` counts against them.
        const NEWEST: [&str; 2] = ["can_react_to_messages", "can_edit_tag"];
        let granted =
            |f: &&str| allowed(f) || (NEWEST.contains(f) && permissions.get(*f).is_none());
        let status = if FIELDS.iter().all(granted) {
            json!({ "status": "member" })
        } else {
            let mut restricted =
                json!({ "status": "restricted", "is_member": true, "until_date": until_date(p) });
            for f in FIELDS {
                restricted[f] = json!(allowed(f));
            }
            restricted
        };
        self.set_status(chat, user, status);
        Ok(json!(true))
    }

    /// Admins can't be restricted or banned by a bot; the owner has their own message.
    fn check_can_moderate(&self, chat: i64, user: i64, owner_error: &str) -> Result<(), ApiError> {
        match self
            .admins
            .get(&chat)
            .and_then(|list| list.iter().position(|&u| u == user))
        {
            Some(0) => Err(bad_request(owner_error)),
            Some(_) => Err(bad_request("user is an administrator of the chat")),
            None => Ok(()),
        }
    }

    fn set_status(&mut self, chat: i64, user: i64, status: Value) {
        self.members.insert((chat, user), status);
    }

    fn member(&self, chat: i64, user: i64) -> Value {
        let is_admin = user == BOT_ID
            || self
                .admins
                .get(&chat)
                .is_some_and(|list| list.contains(&user));
        if is_admin && chat < 0 {
            return self.admin_member(chat, user);
        }
        let stored = self.members.get(&(chat, user)).cloned();
        let mut member = stored.unwrap_or_else(|| json!({ "status": "member" }));
        member["user"] = self.user(user);
        member
    }

    fn admin_member(&self, chat: i64, user: i64) -> Value {
        let is_owner =
            user != BOT_ID && self.admins.get(&chat).and_then(|list| list.first()) == Some(&user);
        if is_owner {
            return json!({ "status": "creator", "user": self.user(user), "is_anonymous": false });
        }
        json!({
            "status": "administrator", "user": self.user(user), "can_be_edited": false, "is_anonymous": false,
            "can_manage_chat": true, "can_delete_messages": true, "can_manage_video_chats": true,
            "can_restrict_members": true, "can_promote_members": false, "can_change_info": true,
            "can_invite_users": true, "can_post_stories": false, "can_edit_stories": false,
            "can_delete_stories": false, "can_pin_messages": true,
        })
    }

    fn user(&self, id: i64) -> Value {
        if id == BOT_ID {
            return bot_user();
        }
        let made_up = || json!({ "id": id, "is_bot": false, "first_name": format!("User {id}") });
        self.users.get(&id).cloned().unwrap_or_else(made_up)
    }

    fn chat(&self, id: i64) -> Value {
        self.chats.get(&id).cloned().unwrap_or_else(|| match id {
            id if id > 0 => {
                json!({ "id": id, "type": "private", "first_name": self.user(id)["first_name"] })
            }
            id => group_chat(id),
        })
    }

    /// Drops confirmed updates. A negative offset keeps only the last -offset updates.
    fn confirm(&mut self, offset: i64) {
        if offset > 0 {
            self.updates.retain(|(id, _)| *id >= offset);
        } else if offset < 0 {
            let keep = offset.unsigned_abs() as usize;
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        }
    }

    /// Up to `limit` updates to hand out. Updates of kinds the bot didn't ask for are dropped
    /// for good, as Telegram never delivers them.
    fn deliverable(&mut self, limit: usize) -> Vec<Value> {
        let allowed = &self.allowed_updates;
        let wanted = |kind: &str| match allowed.is_empty() {
            true => !matches!(
                kind,
                "chat_member" | "message_reaction" | "message_reaction_count"
            ),
            false => allowed.iter().any(|a| a == kind),
        };
        self.updates.retain(|(_, u)| wanted(update_kind(u)));
        self.updates
            .iter()
            .take(limit)
            .map(|(_, u)| u.clone())
            .collect()
    }

    /// Remembers what Telegram would know after delivering this update.
    fn learn(&mut self, update: &mut Value) {
        for key in [
            "message",
            "edited_message",
            "channel_post",
            "edited_channel_post",
        ] {
            if let Some(message) = update.get(key).cloned() {
                self.learn_message(message);
            }
        }
        if let Some(query) = update.get_mut("callback_query") {
            if let Some(from) = query.get("from") {
                self.learn_user(from);
            }
            // The fixture can't know the button message; Telegram sends its current state.
            let message = query.get("message").cloned().unwrap_or(Value::Null);
            let chat = message
                .get("chat")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_i64);
            let id = message.get("message_id").and_then(Value::as_i64);
            if let (Some(chat), Some(id)) = (chat, id) {
                match self.messages.get(&(chat, id)) {
                    Some(known) => query["message"] = known.clone(),
                    None => self.learn_message(message),
                }
            }
        }
    }

    fn learn_message(&mut self, message: Value) {
        let Some(chat) = message.get("chat").cloned() else {
            return;
        };
        let Some(chat_id) = chat.get("id").and_then(Value::as_i64) else {
            return;
        };
        self.chats.insert(chat_id, chat);
        if let Some(from) = message.get("from") {
            self.learn_user(from);
        }
        for user in message
            .get("new_chat_members")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            self.learn_user(&user);
            if let Some(id) = user.get("id").and_then(Value::as_i64) {
                self.set_status(chat_id, id, json!({ "status": "member" }));
            }
        }
        if let Some(id) = message
            .get("left_chat_member")
            .and_then(|u| u.get("id"))
            .and_then(Value::as_i64)
        {
            self.set_status(chat_id, id, json!({ "status": "left" }));
        }
        if let Some(new_id) = message.get("migrate_to_chat_id").and_then(Value::as_i64) {
            self.migrated.insert(chat_id, new_id);
            let title = message["chat"]
                .get("title")
                .cloned()
                .unwrap_or(json!("Test supergroup"));
            self.chats.insert(
                new_id,
                json!({ "id": new_id, "type": "supergroup", "title": title }),
            );
        }
        if let Some(old_id) = message.get("migrate_from_chat_id").and_then(Value::as_i64) {
            self.migrated.insert(old_id, chat_id);
        }
        if let Some(id) = message.get("message_id").and_then(Value::as_i64) {
            self.messages.insert((chat_id, id), message);
        }
    }

    fn learn_user(&mut self, user: &Value) {
        if let Some(id) = user.get("id").and_then(Value::as_i64) {
            self.users.insert(id, user.clone());
        }
    }
}

fn commands_key(p: &Value) -> String {
    let scope = obj(p, "scope").unwrap_or_else(|| json!({ "type": "default" }));
    format!("{scope}|{}", string(p, "language_code").unwrap_or_default())
}

/// Telegram treats less than 30 s or more than 366 days from now as "forever" (0).
fn until_date(p: &Value) -> i64 {
    let until = int(p, "until_date").unwrap_or(0);
    let now = now();
    if until < now + 30 || until > now + 366 * 86_400 {
        0
    } else {
        until
    }
}

// ---- Fixture builders: Updates as Telegram sends them. update_id is set by push_update. ----

pub fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME })
}

/// Telegram names the admin who upgraded a group; fixtures need someone unlikely to clash.
const UPGRADER: (i64, &str) = (9_000_000_001, "Group Owner");

fn user_json((id, name): (i64, &str)) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": name })
}

fn group_chat(id: i64) -> Value {
    match id <= SUPERGROUP_BELOW {
        true => json!({ "id": id, "type": "supergroup", "title": "Test supergroup" }),
        false => json!({ "id": id, "type": "group", "title": "Test group" }),
    }
}

fn private_chat((id, name): (i64, &str)) -> Value {
    json!({ "id": id, "type": "private", "first_name": name })
}

fn next_message_id() -> i64 {
    NEXT_MESSAGE_ID.fetch_add(1, Ordering::Relaxed)
}

/// bot_command entities like Telegram adds them; offsets and lengths are in UTF-16 units.
fn command_entities(text: &str) -> Vec<Value> {
    let chars: Vec<char> = text.chars().collect();
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '@';
    let (mut entities, mut offset, mut i) = (Vec::new(), 0, 0);
    while i < chars.len() {
        let at_word_start = i == 0 || chars[i - 1].is_whitespace();
        let name_follows = chars
            .get(i + 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_');
        if chars[i] == '/' && at_word_start && name_follows {
            let end = (i + 1..chars.len())
                .find(|&j| !is_name(chars[j]))
                .unwrap_or(chars.len());
            let length: usize = chars[i..end].iter().map(|c| c.len_utf16()).sum();
            entities.push(json!({ "type": "bot_command", "offset": offset, "length": length }));
            offset += length;
            i = end;
            continue;
        }
        offset += chars[i].len_utf16();
        i += 1;
    }
    entities
}

fn text_message(chat: Value, from: (i64, &str), text: &str, date: i64) -> Value {
    let mut message = json!({ "message_id": next_message_id(), "from": user_json(from), "chat": chat, "date": date, "text": text });
    let entities = command_entities(text);
    if !entities.is_empty() {
        message["entities"] = Value::Array(entities);
    }
    message
}

impl FakeBotApi {
    /// A text message in a group; "supergroup" when chat_id <= -1000000000000.
    pub fn group_text(chat_id: i64, from: (i64, &str), text: &str, date: i64) -> Value {
        json!({ "update_id": 0, "message": text_message(group_chat(chat_id), from, text, date) })
    }

    pub fn private_text(from: (i64, &str), text: &str, date: i64) -> Value {
        json!({ "update_id": 0, "message": text_message(private_chat(from), from, text, date) })
    }

    pub fn edited_group_text(
        chat_id: i64,
        from: (i64, &str),
        message_id: i64,
        text: &str,
        date: i64,
        edit_date: i64,
    ) -> Value {
        let mut message = text_message(group_chat(chat_id), from, text, date);
        message["message_id"] = json!(message_id);
        message["edit_date"] = json!(edit_date);
        json!({ "update_id": 0, "edited_message": message })
    }

    /// `from` added the members; it equals the single member when someone joins by link.
    pub fn new_members(
        chat_id: i64,
        from: (i64, &str),
        members: &[(i64, &str)],
        date: i64,
    ) -> Value {
        let users: Vec<Value> = members.iter().map(|&m| user_json(m)).collect();
        let mut message = json!({
            "message_id": next_message_id(), "from": user_json(from), "chat": group_chat(chat_id),
            "date": date, "new_chat_members": users,
        });
        // Telegram still sends the pre-2016 single-member fields next to the list.
        if let Some(first) = users.first() {
            message["new_chat_member"] = first.clone();
            message["new_chat_participant"] = first.clone();
        }
        json!({ "update_id": 0, "message": message })
    }

    pub fn left_member(chat_id: i64, member: (i64, &str), date: i64) -> Value {
        json!({ "update_id": 0, "message": {
            "message_id": next_message_id(), "from": user_json(member), "chat": group_chat(chat_id),
            "date": date, "left_chat_member": user_json(member), "left_chat_participant": user_json(member),
        }})
    }

    /// The service message in the old group, from the admin who upgraded it. Pushing it also
    /// makes the fake answer any later call on the old chat with 400 + `migrate_to_chat_id`.
    /// Beware: teloxide parses it as `MessageKind::Common` (`MediaKind::Migration`), with
    /// empty text, so check `migrate_to_chat_id()` before treating Common as a user message.
    pub fn migrate_to_supergroup(old_chat_id: i64, new_chat_id: i64, date: i64) -> Value {
        json!({ "update_id": 0, "message": {
            "message_id": next_message_id(), "from": user_json(UPGRADER), "chat": group_chat(old_chat_id),
            "date": date, "migrate_to_chat_id": new_chat_id,
        }})
    }

    /// The twin message Telegram posts in the new supergroup, sent by GroupAnonymousBot on
    /// behalf of the chat. Bots in the group receive both.
    pub fn migrate_from_group(new_chat_id: i64, old_chat_id: i64, date: i64) -> Value {
        let chat = json!({ "id": new_chat_id, "type": "supergroup", "title": "Test supergroup" });
        let anonymous = json!({ "id": 1087968824, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot" });
        json!({ "update_id": 0, "message": {
            "message_id": next_message_id(), "from": anonymous, "sender_chat": chat,
            "chat": chat, "date": date, "migrate_from_chat_id": old_chat_id,
        }})
    }

    /// A `chat_member` update: `member` went from `old_status` to `new_status` ("left",
    /// "member", "administrator", "kicked"…), changed by `by`. Telegram sends these only to
    /// admin bots that ask for them, and in large groups instead of join messages.
    pub fn chat_member(
        chat_id: i64,
        by: (i64, &str),
        member: (i64, &str),
        old_status: &str,
        new_status: &str,
        date: i64,
    ) -> Value {
        let member_json = |status: &str| {
            let mut value = json!({ "status": status, "user": user_json(member) });
            match status {
                "administrator" => {
                    for right in [
                        "can_be_edited",
                        "is_anonymous",
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_promote_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    ] {
                        value[right] = json!(right != "is_anonymous");
                    }
                }
                "kicked" => value["until_date"] = json!(0),
                _ => {}
            }
            value
        };
        json!({ "update_id": 0, "chat_member": {
            "chat": group_chat(chat_id), "from": user_json(by), "date": date,
            "old_chat_member": member_json(old_status), "new_chat_member": member_json(new_status),
        }})
    }

    /// A button press on message `message_id`. If the fake knows that message (the bot sent it),
    /// push_update replaces the placeholder with its current text and keyboard.
    pub fn callback_query(chat_id: i64, from: (i64, &str), message_id: i64, data: &str) -> Value {
        let id = NEXT_CALLBACK_ID.fetch_add(1, Ordering::Relaxed);
        let chat = if chat_id > 0 {
            private_chat((chat_id, from.1))
        } else {
            group_chat(chat_id)
        };
        json!({ "update_id": 0, "callback_query": {
            "id": format!("{}", 4_000_000_000_000_000_000_u64 + id as u64),
            "from": user_json(from),
            // A zero date would make teloxide treat the message as inaccessible.
            "message": {
                "message_id": message_id, "from": bot_user(), "chat": chat, "date": 1_700_000_000,
                "text": "(button message)",
            },
            "chat_instance": format!("{}", chat_id.unsigned_abs().wrapping_mul(7_919)),
            "data": data,
        }})
    }
}
