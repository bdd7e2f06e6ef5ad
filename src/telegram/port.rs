//! The Telegram side of the chat port: actions become Bot API calls.
//!
//! Sends go through teloxide's Throttle (per-chat and overall pacing, 429s retried inside it),
//! unless the send limits are off against a server that is not Telegram's (a benchmark's fake).
//! Every call, sends included, first takes its share of the bot's [`CallBudget`]. Every other
//! call honours `retry_after` here, and network failures are retried with backoff before the
//! action is left in the outbox for later.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use teloxide::payloads::{
    AnswerCallbackQuerySetters, BanChatMemberSetters, EditMessageTextSetters,
    PinChatMessageSetters, RestrictChatMemberSetters, SendDocumentSetters, SendMessageSetters,
    SendPhotoSetters, SetMessageReactionSetters, UnbanChatMemberSetters,
};
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQueryId, ChatFullInfo, ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup,
    InputFile, MessageId, ReactionType, ReplyParameters, ThreadId,
};
use teloxide::{ApiError, RequestError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::core::action::{
    Action, Admin, Button, ChatPort, Delivered, MessageRef, PortError, fit_message,
};
use crate::core::event::{ChatId as CoreChatId, MessageId as CoreMessageId, UserId as CoreUserId};
use crate::core::reactions::AllowedReactions;
use crate::metrics::{ApiOutcome, metrics};
use crate::telegram::refusals;

/// How many times a call is tried on network errors before it is left for later.
const NETWORK_ATTEMPTS: u32 = 4;
/// How many `retry_after` answers in a row a call waits out before giving up for now.
const RATE_LIMIT_ATTEMPTS: u32 = 6;

/// The bot's Bot API calls in any one second, all methods together. Telegram documents about
/// 30 messages a second for a bot and rate-limits its other methods (reactions, edits,
/// restrictions, toasts) as well, so the one figure covers them all.
pub const CALLS_PER_SECOND: u32 = 30;

/// Of [`CALLS_PER_SECOND`], what is kept for the engine's administrator look-ups. The engine
/// waits for those before it handles a new chat's events, so they must not queue behind a
/// backlog of deliveries (one waiting call per busy chat); they take a delivery's share too
/// when one is free first.
const LOOKUP_CALLS_PER_SECOND: u32 = 2;

/// How long after its answer a call still counts against the budget.
const BUDGET_WINDOW: Duration = Duration::from_secs(1);

/// At most [`CALLS_PER_SECOND`] calls of the port in any one second, measured where Telegram
/// measures them: each call holds a permit from before it is made until a second after its
/// answer, so all the calls that reach the server within one second held their permits at the
/// same moment, whatever the latency or the time a send waited inside Throttle.
///
/// (A token bucket would count a call when it is let go; a send then waits in Throttle for its
/// chat's turn and can reach Telegram in a later second than the one that paid for it, on top
/// of that second's own calls. The price here is that a call's latency counts too: a slow
/// server gets a little less than the full rate.)
#[derive(Clone)]
pub struct CallBudget {
    deliveries: Arc<Semaphore>,
    lookups: Arc<Semaphore>,
}

/// A call's place in the budget, given back a second after the call ends (or is abandoned).
pub(crate) struct Spent(Option<OwnedSemaphorePermit>);

impl Drop for Spent {
    fn drop(&mut self) {
        let Some(permit) = self.0.take() else { return };
        // Outside a runtime (shutting down) nothing is left to pace.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(BUDGET_WINDOW).await;
                drop(permit);
            });
        }
    }
}

/// Which share of the budget a call uses.
#[derive(Clone, Copy)]
enum Lane {
    Delivery,
    Lookup,
}

impl CallBudget {
    /// Telegram's budget: [`CALLS_PER_SECOND`].
    pub fn telegram() -> CallBudget {
        CallBudget {
            deliveries: Arc::new(Semaphore::new(
                (CALLS_PER_SECOND - LOOKUP_CALLS_PER_SECOND) as usize,
            )),
            lookups: Arc::new(Semaphore::new(LOOKUP_CALLS_PER_SECOND as usize)),
        }
    }

    /// A place for one call made outside the port (the command menus), held until dropped
    /// and a second after.
    pub(crate) async fn spend_one(&self) -> Spent {
        self.spend(Lane::Delivery).await
    }

    async fn spend(&self, lane: Lane) -> Spent {
        let deliveries = self.deliveries.clone().acquire_owned();
        // The semaphores are never closed.
        Spent(match lane {
            Lane::Delivery => deliveries.await.ok(),
            Lane::Lookup => tokio::select! {
                biased;
                permit = self.lookups.clone().acquire_owned() => permit.ok(),
                permit = deliveries => permit.ok(),
            },
        })
    }
}

/// The port over a bot: `Throttle<Bot>` against Telegram, the plain `Bot` with the send limits
/// off.
pub struct TelegramPort<B> {
    bot: B,
    /// Removed from every error text before it is logged.
    token: String,
    /// `None` with the send limits off (benchmarks against a fake).
    budget: Option<CallBudget>,
}

impl<B> TelegramPort<B> {
    /// A port whose calls are not paced (see [`TelegramPort::with_budget`]).
    pub fn new(bot: B, token: String) -> TelegramPort<B> {
        TelegramPort {
            bot,
            token,
            budget: None,
        }
    }

    /// Every call of this port, retries included, waits for its share of `budget`.
    pub fn with_budget(self, budget: CallBudget) -> TelegramPort<B> {
        TelegramPort {
            budget: Some(budget),
            ..self
        }
    }
}

/// Counts one Bot API attempt in the metrics; a refusal also by Telegram's words, and logged
/// once per burst.
pub fn count_attempt<T>(method: &str, result: &Result<T, RequestError>) {
    let outcome = match result {
        Ok(_) => ApiOutcome::Ok,
        Err(RequestError::RetryAfter(_)) => ApiOutcome::TooManyRequests,
        Err(_) => ApiOutcome::Error,
    };
    metrics().api_call(method, outcome);
    if let Some(words) = result.as_ref().err().and_then(refusals::refusal_words) {
        refusals::record(method, &words);
    }
}

/// Calls `request` until it succeeds, a lasting error comes back, or the retries run out.
pub async fn with_retries<T, F, Fut>(mut request: F) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RequestError>>,
{
    let mut network_failures = 0;
    let mut rate_limited = 0;
    loop {
        match request().await {
            Err(RequestError::RetryAfter(wait)) if rate_limited < RATE_LIMIT_ATTEMPTS => {
                rate_limited += 1;
                tracing::info!(
                    seconds = wait.seconds(),
                    "Telegram asked to slow down; waiting"
                );
                metrics().waited_for_telegram(wait.duration());
                tokio::time::sleep(wait.duration()).await;
            }
            Err(RequestError::Network(_) | RequestError::Io(_))
                if network_failures + 1 < NETWORK_ATTEMPTS =>
            {
                network_failures += 1;
                tokio::time::sleep(Duration::from_millis(500 << network_failures)).await;
            }
            other => return other,
        }
    }
}

pub(crate) fn is_server_error(description: &str) -> bool {
    [
        "Internal Server Error",
        "Bad Gateway",
        "Service Unavailable",
        "Gateway Timeout",
    ]
    .iter()
    .any(|server| description.contains(server))
}

/// The `until_date` to send for a timed mute or ban. Telegram reads one less than 30 s away
/// (or in the past) as "forever", so a short or late one is stretched to 31 s, and one whose
/// time has already passed is not made at all (`None`). `Some(None)` means forever.
fn effective_until(until: Option<DateTime<Utc>>) -> Option<Option<DateTime<Utc>>> {
    let Some(until) = until else {
        return Some(None);
    };
    let now = Utc::now();
    if until <= now {
        return None;
    }
    Some(Some(until.max(now + chrono::Duration::seconds(31))))
}

fn keyboard(buttons: &[Vec<Button>]) -> Option<InlineKeyboardMarkup> {
    (!buttons.is_empty()).then(|| {
        InlineKeyboardMarkup::new(buttons.iter().map(|row| {
            row.iter()
                .map(|button| {
                    InlineKeyboardButton::callback(button.text.clone(), button.data.clone())
                })
                .collect::<Vec<_>>()
        }))
    })
}

/// The forum topic to post in, as Telegram numbers it.
fn topic(thread: Option<CoreMessageId>) -> Option<ThreadId> {
    thread
        .and_then(|id| i32::try_from(id).ok())
        .map(|id| ThreadId(MessageId(id)))
}

/// A caption cut to Telegram's limit (1,024 characters).
fn clip_caption(caption: &str) -> String {
    caption.chars().take(1024).collect()
}

fn message_id(message: &MessageRef) -> Result<MessageId, PortError> {
    match message {
        MessageRef::Id(id) => i32::try_from(*id)
            .map(MessageId)
            .map_err(|_| PortError::Refused(format!("message id {id} is out of range"))),
        MessageRef::Key(key) => Err(PortError::Refused(format!(
            "message key `{key}` was not resolved"
        ))),
    }
}

/// The reactions a chat allows, from `getChat`: `available_reactions` omitted means all of
/// them (teloxide reports it only for groups and channels; a private chat has no such list).
fn allowed_reactions_of(info: &ChatFullInfo) -> AllowedReactions {
    match info.available_reactions() {
        None => AllowedReactions::All,
        Some(listed) => AllowedReactions::Only(
            listed
                .iter()
                .filter_map(|reaction| reaction.emoji().cloned())
                .collect(),
        ),
    }
}

fn user_id(user: CoreUserId) -> UserId {
    UserId(user as u64)
}

impl<B> TelegramPort<B> {
    fn classify(&self, error: RequestError) -> PortError {
        let text = crate::telegram::redact(&error.to_string(), &self.token);
        match error {
            RequestError::Api(
                ApiError::BotBlocked
                | ApiError::BotKicked
                | ApiError::BotKickedFromSupergroup
                | ApiError::BotKickedFromChannel
                | ApiError::ChatNotFound
                | ApiError::GroupDeactivated
                | ApiError::UserDeactivated
                | ApiError::CantInitiateConversation
                | ApiError::CantTalkWithBots,
            ) => PortError::ChatGone(text),
            // A server error (teloxide reports a 5xx as an unknown API error, an HTML error
            // page as invalid JSON) says nothing about the request: try again later.
            RequestError::Api(ApiError::Unknown(ref description))
                if is_server_error(description) =>
            {
                PortError::Unavailable(text)
            }
            RequestError::InvalidJson { .. } => PortError::Unavailable(text),
            RequestError::MigrateToChatId(to) => PortError::ChatMoved(to.0),
            // teloxide knows no variant for it. Telegram's answer to a reaction outside its
            // list or outside the chat's `available_reactions`.
            RequestError::Api(ApiError::Unknown(ref description))
                if description.contains("REACTION_INVALID") =>
            {
                PortError::ReactionInvalid(text)
            }
            RequestError::Api(_) => PortError::Refused(text),
            RequestError::RetryAfter(_) | RequestError::Network(_) | RequestError::Io(_) => {
                PortError::Unavailable(text)
            }
        }
    }

    /// Makes one Bot API call for a delivery (with retries), counting each attempt by method
    /// and outcome.
    async fn call<T, F, Fut>(&self, method: &'static str, request: F) -> Result<T, PortError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RequestError>>,
    {
        self.call_in(Lane::Delivery, method, request).await
    }

    async fn call_in<T, F, Fut>(
        &self,
        lane: Lane,
        method: &'static str,
        mut request: F,
    ) -> Result<T, PortError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RequestError>>,
    {
        with_retries(|| {
            let attempt = request();
            async move {
                let _spent = match &self.budget {
                    Some(budget) => Some(budget.spend(lane).await),
                    None => None,
                };
                let result = attempt.await;
                count_attempt(method, &result);
                result
            }
        })
        .await
        .map_err(|error| self.classify(error))
    }
}

#[async_trait]
impl<B> ChatPort for TelegramPort<B>
where
    B: Requester<Err = RequestError> + Send + Sync + 'static,
{
    async fn execute(&self, action: &Action) -> Result<Delivered, PortError> {
        let bot = &self.bot;
        match action {
            Action::Send {
                chat,
                text,
                reply_to,
                thread,
                buttons,
                ..
            } => {
                let text = fit_message(text);
                let sent = self
                    .call("sendMessage", || {
                        let mut request = bot.send_message(ChatId(*chat), text.clone());
                        if let Some(reply_to) = reply_to.and_then(|id| i32::try_from(id).ok()) {
                            // The member may have deleted their message meanwhile.
                            request = request.reply_parameters(
                                ReplyParameters::new(MessageId(reply_to))
                                    .allow_sending_without_reply(),
                            );
                        }
                        if let Some(thread) = topic(*thread) {
                            request = request.message_thread_id(thread);
                        }
                        if let Some(markup) = keyboard(buttons) {
                            request = request.reply_markup(markup);
                        }
                        request.into_future()
                    })
                    .await?;
                Ok(Delivered::Message(i64::from(sent.id.0)))
            }
            Action::SendDocument {
                chat,
                file_name,
                content,
                caption,
                thread,
            } => {
                let sent = self
                    .call("sendDocument", || {
                        let file = InputFile::memory(content.clone().into_bytes())
                            .file_name(file_name.clone());
                        let mut request = bot.send_document(ChatId(*chat), file);
                        if let Some(caption) = caption {
                            request = request.caption(clip_caption(caption));
                        }
                        if let Some(thread) = topic(*thread) {
                            request = request.message_thread_id(thread);
                        }
                        request.into_future()
                    })
                    .await?;
                Ok(Delivered::Message(i64::from(sent.id.0)))
            }
            Action::SendPhoto {
                chat,
                file_name,
                png,
                caption,
                thread,
            } => {
                let sent = self
                    .call("sendPhoto", || {
                        let file = InputFile::memory(png.clone()).file_name(file_name.clone());
                        let mut request = bot.send_photo(ChatId(*chat), file);
                        if let Some(caption) = caption {
                            request = request.caption(clip_caption(caption));
                        }
                        if let Some(thread) = topic(*thread) {
                            request = request.message_thread_id(thread);
                        }
                        request.into_future()
                    })
                    .await?;
                Ok(Delivered::Message(i64::from(sent.id.0)))
            }
            Action::Edit {
                chat,
                target,
                text,
                buttons,
                ..
            } => {
                let id = message_id(target)?;
                let text = fit_message(text);
                let result = self
                    .call("editMessageText", || {
                        let mut request = bot.edit_message_text(ChatId(*chat), id, text.clone());
                        if let Some(markup) = keyboard(buttons) {
                            request = request.reply_markup(markup);
                        }
                        request.into_future()
                    })
                    .await;
                match result {
                    Ok(_) => Ok(Delivered::Done),
                    // Nothing changed: that is what was wanted.
                    Err(PortError::Refused(reason))
                        if reason.contains("message is not modified") =>
                    {
                        Ok(Delivered::Done)
                    }
                    Err(error) => Err(error),
                }
            }
            Action::Delete { chat, message } => {
                let id = message_id(message)?;
                self.call("deleteMessage", || {
                    bot.delete_message(ChatId(*chat), id).into_future()
                })
                .await?;
                Ok(Delivered::Done)
            }
            // The emoji is one the chat allows, as far as delivery knows (`core::delivery`).
            Action::React {
                chat,
                message,
                emoji,
                ..
            } => {
                let id = message_id(&MessageRef::Id(*message))?;
                let reaction = vec![ReactionType::Emoji {
                    emoji: emoji.clone(),
                }];
                self.call("setMessageReaction", || {
                    bot.set_message_reaction(ChatId(*chat), id)
                        .reaction(reaction.clone())
                        .into_future()
                })
                .await?;
                Ok(Delivered::Done)
            }
            Action::Mute { chat, user, until } => {
                let Some(until) = effective_until(*until) else {
                    return Ok(Delivered::Done);
                };
                self.call("restrictChatMember", || {
                    let mut request = bot.restrict_chat_member(
                        ChatId(*chat),
                        user_id(*user),
                        ChatPermissions::empty(),
                    );
                    if let Some(until) = until {
                        request = request.until_date(until);
                    }
                    request.into_future()
                })
                .await?;
                Ok(Delivered::Done)
            }
            Action::Unmute { chat, user } => {
                // Telegram: pass every permission to lift a member's restrictions; the group's
                // own defaults still apply on top.
                self.call("restrictChatMember", || {
                    bot.restrict_chat_member(ChatId(*chat), user_id(*user), ChatPermissions::all())
                        .into_future()
                })
                .await?;
                Ok(Delivered::Done)
            }
            Action::Ban { chat, user, until } => {
                let Some(until) = effective_until(*until) else {
                    return Ok(Delivered::Done);
                };
                self.call("banChatMember", || {
                    let mut request = bot.ban_chat_member(ChatId(*chat), user_id(*user));
                    if let Some(until) = until {
                        request = request.until_date(until);
                    }
                    request.into_future()
                })
                .await?;
                Ok(Delivered::Done)
            }
            Action::Unban { chat, user } => {
                self.call("unbanChatMember", || {
                    bot.unban_chat_member(ChatId(*chat), user_id(*user))
                        .only_if_banned(true)
                        .into_future()
                })
                .await?;
                Ok(Delivered::Done)
            }
            Action::Leave { chat } => {
                self.call("leaveChat", || bot.leave_chat(ChatId(*chat)).into_future())
                    .await?;
                Ok(Delivered::Done)
            }
            Action::Pin { chat, message } => {
                let id = message_id(message)?;
                self.call("pinChatMessage", || {
                    bot.pin_chat_message(ChatId(*chat), id)
                        .disable_notification(true)
                        .into_future()
                })
                .await?;
                Ok(Delivered::Done)
            }
            Action::AnswerButton {
                callback_id,
                text,
                alert,
                ..
            } => {
                let id = CallbackQueryId(callback_id.clone());
                let result = self
                    .call("answerCallbackQuery", || {
                        let mut request = bot.answer_callback_query(id.clone()).show_alert(*alert);
                        if let Some(text) = text {
                            request = request.text(text.chars().take(200).collect::<String>());
                        }
                        request.into_future()
                    })
                    .await;
                match result {
                    Ok(_) => Ok(Delivered::Done),
                    // A toast nobody waits for any more is not worth an error.
                    Err(PortError::Refused(reason)) if reason.contains("query is too old") => {
                        Ok(Delivered::Done)
                    }
                    Err(error) => Err(error),
                }
            }
        }
    }

    async fn administrators(&self, chat: CoreChatId) -> Result<Vec<Admin>, PortError> {
        let members = self
            .call_in(Lane::Lookup, "getChatAdministrators", || {
                self.bot.get_chat_administrators(ChatId(chat)).into_future()
            })
            .await?;
        Ok(members
            .iter()
            .map(|member| Admin {
                user: member.user.id.0 as i64,
                owner: member.is_owner(),
                can_delete_messages: member.can_delete_messages(),
                can_restrict_members: member.can_restrict_members(),
            })
            .collect())
    }

    async fn allowed_reactions(&self, chat: CoreChatId) -> Result<AllowedReactions, PortError> {
        let info = self
            .call("getChat", || self.bot.get_chat(ChatId(chat)).into_future())
            .await?;
        Ok(allowed_reactions_of(&info))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[tokio::test]
    async fn the_budget_lets_its_share_of_calls_go_and_keeps_the_lookups_apart() {
        let budget = CallBudget::telegram();
        let lookups: Vec<Spent> = (0..CALLS_PER_SECOND)
            .map(|_| budget.spend(Lane::Lookup).now_or_never().unwrap())
            .collect();
        assert!(
            budget.spend(Lane::Lookup).now_or_never().is_none(),
            "look-ups may use the whole budget when deliveries leave it free, not more"
        );
        // Given back at once, not a second later (the test's own bookkeeping).
        for mut spent in lookups {
            drop(spent.0.take());
        }

        let deliveries = CALLS_PER_SECOND - LOOKUP_CALLS_PER_SECOND;
        let mut spent = Vec::new();
        for _ in 0..deliveries {
            spent.push(budget.spend(Lane::Delivery).await);
        }
        assert!(
            budget.spend(Lane::Delivery).now_or_never().is_none(),
            "the next delivery waits for a call to be a second old"
        );
        for _ in 0..LOOKUP_CALLS_PER_SECOND {
            spent.push(
                budget
                    .spend(Lane::Lookup)
                    .now_or_never()
                    .expect("a look-up does not queue behind deliveries"),
            );
        }
        assert!(budget.spend(Lane::Lookup).now_or_never().is_none());
        drop(spent);
        assert!(
            budget.spend(Lane::Delivery).now_or_never().is_none(),
            "a call still counts for a second after it ends"
        );
    }

    #[test]
    fn restrictions_telegram_would_read_as_forever_are_stretched_or_dropped() {
        let now = Utc::now();
        assert_eq!(effective_until(None), Some(None), "forever stays forever");
        assert_eq!(
            effective_until(Some(now - chrono::Duration::seconds(5))),
            None,
            "already over"
        );
        let short = effective_until(Some(now + chrono::Duration::seconds(10)))
            .unwrap()
            .unwrap();
        assert!(short >= now + chrono::Duration::seconds(30));
        let hour = now + chrono::Duration::hours(1);
        assert_eq!(effective_until(Some(hour)), Some(Some(hour)));
    }
}
