//! Delivery: carries queued actions from the outbox to the chat platform, in order per chat.
//!
//! Replies that waited past their deadline (an outage, a long backlog) are dropped rather than
//! sent late; moderation still applies. Of several pending edits of one message only the last
//! is made, so a busy live list costs one edit, not one per change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::action::{Action, ChatPort, Delivered, MessageRef, PortError};
use super::clock::Clock;
use super::event::ChatId;
use super::reactions::AllowedReactions;
use crate::metrics::metrics;
use crate::store::outbox::{self, Queued};
use crate::store::{Db, StoreResult, chats};

/// What became of one queued action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent(Delivered),
    Expired,
    Superseded,
    Skipped(String),
    Failed(String),
    /// The platform could not be reached; the action stays queued for a later try.
    RetryLater(String),
}

pub struct Deliverer {
    pub db: Db,
    pub port: Arc<dyn ChatPort>,
    pub clock: Arc<dyn Clock>,
    /// Where outcomes are recorded when many chats deliver at once; `None` records each in a
    /// transaction of its own.
    pub finishes: Option<outbox::Finishes>,
    /// The reactions each chat allows, as last read from the platform. (Public only so that a
    /// deliverer can be built with `..Deliverer::new(…)`.)
    pub reactions_by_chat: AllowedReactionsByChat,
}

/// How long a chat's allowed reactions are trusted. A narrower list shows itself at once (the
/// platform refuses a reaction, and the list is read again); a wider one is noticed after this.
pub const ALLOWED_REACTIONS_TTL: Duration = Duration::minutes(10);

/// How long a failed look-up of a chat's reactions is remembered (reacting as if all were
/// allowed meanwhile), so that each reaction does not wait for the same failure again.
const FAILED_LOOKUP_TTL: Duration = Duration::minutes(1);

/// Each chat's allowed reactions and until when they are trusted; kept in memory, since a
/// restart only costs one look-up per chat that reacts again.
#[derive(Default)]
pub struct AllowedReactionsByChat(Mutex<HashMap<ChatId, (DateTime<Utc>, AllowedReactions)>>);

impl AllowedReactionsByChat {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<ChatId, (DateTime<Utc>, AllowedReactions)>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How a reaction turned out before its outcome is recorded.
enum Reacted {
    /// A reaction was made, or its fallback reply sent (or the platform failed at either).
    Tried(Result<Delivered, PortError>),
    /// Nothing was made, for this reason.
    NotMade(String),
}

impl Deliverer {
    /// A deliverer that records each outcome in a transaction of its own.
    pub fn new(db: Db, port: Arc<dyn ChatPort>, clock: Arc<dyn Clock>) -> Deliverer {
        Deliverer {
            db,
            port,
            clock,
            finishes: None,
            reactions_by_chat: AllowedReactionsByChat::default(),
        }
    }

    /// Delivers one queued action and records how it ended (unless it is to be retried).
    pub async fn deliver(&self, queued: &Queued) -> StoreResult<Outcome> {
        let outcome = self.attempt(queued).await?;
        self.record(queued, &outcome).await?;
        let kind = match (queued.job_firing, queued.expires_at) {
            (Some(_), _) => "scheduled",
            (None, Some(_)) => "reply",
            (None, None) => "other",
        };
        match &outcome {
            Outcome::Sent(_) => {
                let waited = (self.clock.now() - queued.created_at).num_milliseconds();
                metrics()
                    .delivery_wait_seconds
                    .with_label_values(&[kind])
                    .observe(waited.max(0) as f64 / 1000.0);
            }
            Outcome::Expired => match queued.job_firing {
                Some(firing) => {
                    // Recorded on the firing, where /jobs and the dashboard look.
                    crate::scheduler::record_expired(&self.db, firing).await?;
                    metrics()
                        .scheduled_posts_missed
                        .with_label_values(&["expired"])
                        .inc();
                    tracing::warn!(
                        chat = queued.chat,
                        firing,
                        queued_at = %queued.created_at,
                        "scheduled post not delivered within the grace period; recorded as missed"
                    );
                }
                None => {
                    let kind = match queued.action {
                        Action::Edit { .. } => "edit",
                        Action::React { .. } => "react",
                        Action::AnswerButton { .. } => "answer",
                        _ => "send",
                    };
                    metrics().stale_dropped.with_label_values(&[kind]).inc();
                }
            },
            _ => {}
        }
        Ok(outcome)
    }

    /// Records that a queued action was not made, and why, without asking the platform (a
    /// platform adapter's own limits: a reaction over a busy group's budget).
    pub async fn skip(&self, queued: &Queued, reason: String) -> StoreResult<Outcome> {
        let outcome = Outcome::Skipped(reason);
        self.record(queued, &outcome).await?;
        Ok(outcome)
    }

    async fn record(&self, queued: &Queued, outcome: &Outcome) -> StoreResult<()> {
        let record = match outcome {
            Outcome::Sent(_) => "sent".to_owned(),
            Outcome::Expired => "expired".to_owned(),
            Outcome::Superseded => "superseded".to_owned(),
            Outcome::Skipped(why) => format!("skipped: {why}"),
            Outcome::Failed(why) => format!("failed: {why}"),
            Outcome::RetryLater(_) => return Ok(()),
        };
        let now = self.clock.now();
        match &self.finishes {
            Some(finishes) => finishes.record(&self.db, queued.id, now, &record).await,
            None => outbox::finish(&self.db, queued.id, now, &record).await,
        }
    }

    async fn attempt(&self, queued: &Queued) -> StoreResult<Outcome> {
        let now = self.clock.now();
        if queued.expires_at.is_some_and(|deadline| now > deadline) {
            tracing::info!(
                chat = queued.chat,
                id = queued.id,
                "reply is stale after a delay; not sending it"
            );
            return Ok(Outcome::Expired);
        }
        if outbox::superseded_by_later_edit(&self.db, queued).await? {
            return Ok(Outcome::Superseded);
        }
        if !chats::is_active(&self.db, queued.chat).await? {
            return Ok(Outcome::Skipped("the bot is no longer in this chat".into()));
        }
        let Some(action) = self.resolve(&queued.action).await? else {
            return Ok(Outcome::Skipped("the message is not known".into()));
        };
        let result = match &action {
            Action::React { .. } => {
                let mut reacted = self.react(&action).await;
                // Queued for a group that has just become a supergroup: react there.
                if let Reacted::Tried(Err(PortError::ChatMoved(to))) = reacted {
                    reacted = self.react(&action.in_chat(to)).await;
                }
                match reacted {
                    Reacted::Tried(result) => result,
                    Reacted::NotMade(reason) => return Ok(Outcome::Skipped(reason)),
                }
            }
            _ => self.execute(queued, &action).await,
        };
        self.settle(queued, result, now).await
    }

    /// Makes a resolved action other than a reaction, with its two second chances.
    async fn execute(&self, queued: &Queued, action: &Action) -> Result<Delivered, PortError> {
        match self.port.execute(action).await {
            // A keyed message that was deleted in the meantime is posted again.
            Err(PortError::Refused(reason)) if is_keyed_edit(&queued.action) => {
                tracing::info!(chat = queued.chat, %reason, "keyed message could not be edited; posting it anew");
                let fallback = as_send(&queued.action).expect("a keyed edit");
                self.port.execute(&fallback).await
            }
            // Queued for a group that has just become a supergroup: deliver it there.
            Err(PortError::ChatMoved(to)) => self.port.execute(&action.in_chat(to)).await,
            other => other,
        }
    }

    /// What the platform's answer makes of a queued action.
    async fn settle(
        &self,
        queued: &Queued,
        result: Result<Delivered, PortError>,
        now: DateTime<Utc>,
    ) -> StoreResult<Outcome> {
        match result {
            Ok(delivered) => {
                if let (Delivered::Message(id), Some(key)) =
                    (&delivered, message_key(&queued.action))
                {
                    outbox::remember_message(&self.db, queued.chat, key, *id, self.clock.now())
                        .await?;
                }
                Ok(Outcome::Sent(delivered))
            }
            Err(PortError::ChatGone(reason)) => {
                tracing::warn!(chat = queued.chat, %reason, "the bot can no longer write here; stopping sends to this chat");
                chats::mark_gone(&self.db, queued.chat, now).await?;
                Ok(Outcome::Failed(reason))
            }
            Err(PortError::Refused(reason) | PortError::ReactionInvalid(reason)) => {
                // The adapter logs refusals, a burst of the same one as one line; the outbox
                // row keeps each one with its reason.
                tracing::debug!(chat = queued.chat, %reason, "the platform refused an action");
                Ok(Outcome::Failed(reason))
            }
            Err(PortError::Unavailable(reason)) => Ok(Outcome::RetryLater(reason)),
            Err(PortError::ChatMoved(to)) => {
                Ok(Outcome::Failed(format!("moved twice, last to {to}")))
            }
        }
    }

    /// Makes a reaction the chat allows: the wanted one or one of the same meaning. Where the
    /// chat allows none, the reaction's fallback text is said in reply, or, for an
    /// acknowledgement (no fallback text), nothing is made. A refusal means the chat's list
    /// changed: it is read again and the choice made once more.
    async fn react(&self, action: &Action) -> Reacted {
        let Action::React {
            chat,
            message,
            emoji,
            fallback_text,
            thread,
        } = action
        else {
            // Not a reaction: made as it is.
            return Reacted::Tried(self.port.execute(action).await);
        };
        let reaction = |chosen: &str| Action::React {
            chat: *chat,
            message: *message,
            emoji: chosen.to_owned(),
            fallback_text: None,
            thread: *thread,
        };
        let mut tried = None;
        for fresh in [false, true] {
            let allowed = self.allowed_reactions(*chat, fresh).await;
            let Some(chosen) = allowed.choose(emoji) else {
                break;
            };
            if tried == Some(chosen) {
                // Refused, and still listed as allowed: the platform knows better.
                break;
            }
            tried = Some(chosen);
            match self.port.execute(&reaction(chosen)).await {
                Err(PortError::ReactionInvalid(reason)) => {
                    // Not one line per reaction: the adapter logs a burst of refusals as one.
                    tracing::debug!(chat, emoji = chosen, %reason, "reaction refused; reading the chat's allowed reactions again");
                }
                other => return Reacted::Tried(other),
            }
        }
        match fallback_text {
            Some(text) => Reacted::Tried(
                self.port
                    .execute(&Action::Send {
                        chat: *chat,
                        text: text.clone(),
                        reply_to: Some(*message),
                        thread: *thread,
                        key: None,
                        buttons: Vec::new(),
                    })
                    .await,
            ),
            None => Reacted::NotMade(format!(
                "the chat allows no reaction meaning {emoji} (what it acknowledges is shown elsewhere)"
            )),
        }
    }

    /// The reactions `chat` allows, from the cache unless `fresh` (or the cache is stale).
    async fn allowed_reactions(&self, chat: ChatId, fresh: bool) -> AllowedReactions {
        let now = self.clock.now();
        if !fresh
            && let Some((until, allowed)) = self.reactions_by_chat.lock().get(&chat)
            && now < *until
        {
            return allowed.clone();
        }
        let (trusted_for, allowed) = match self.port.allowed_reactions(chat).await {
            Ok(allowed) => (ALLOWED_REACTIONS_TTL, allowed),
            Err(error) => {
                tracing::warn!(chat, %error, "could not read the chat's allowed reactions; reacting as if all were");
                (FAILED_LOOKUP_TTL, AllowedReactions::All)
            }
        };
        self.reactions_by_chat
            .lock()
            .insert(chat, (now + trusted_for, allowed.clone()));
        allowed
    }

    /// Turns keyed message references into ids. A keyed edit of an unknown message becomes a
    /// send; a keyed delete or pin of one is dropped (`None`).
    async fn resolve(&self, action: &Action) -> StoreResult<Option<Action>> {
        let lookup = |message: &MessageRef| {
            let message = message.clone();
            let chat = action.chat();
            async move {
                match message {
                    MessageRef::Id(id) => Ok(Some(id)),
                    MessageRef::Key(key) => outbox::message_by_key(&self.db, chat, &key).await,
                }
            }
        };
        Ok(match action {
            Action::Edit {
                chat,
                target,
                text,
                buttons,
                thread,
            } => Some(match lookup(target).await? {
                Some(id) => Action::Edit {
                    chat: *chat,
                    target: MessageRef::Id(id),
                    text: text.clone(),
                    buttons: buttons.clone(),
                    thread: *thread,
                },
                None => as_send(action).unwrap_or_else(|| action.clone()),
            }),
            Action::Delete { chat, message } => lookup(message).await?.map(|id| Action::Delete {
                chat: *chat,
                message: MessageRef::Id(id),
            }),
            Action::Pin { chat, message } => lookup(message).await?.map(|id| Action::Pin {
                chat: *chat,
                message: MessageRef::Id(id),
            }),
            other => Some(other.clone()),
        })
    }
}

fn is_keyed_edit(action: &Action) -> bool {
    matches!(
        action,
        Action::Edit {
            target: MessageRef::Key(_),
            ..
        }
    )
}

/// The send that stands in for a keyed edit whose message does not exist (any more).
fn as_send(action: &Action) -> Option<Action> {
    match action {
        Action::Edit {
            chat,
            target: MessageRef::Key(key),
            text,
            buttons,
            thread,
        } => Some(Action::Send {
            chat: *chat,
            text: text.clone(),
            reply_to: None,
            thread: *thread,
            key: Some(key.clone()),
            buttons: buttons.clone(),
        }),
        _ => None,
    }
}

fn message_key(action: &Action) -> Option<&str> {
    match action {
        Action::Send { key: Some(key), .. } => Some(key),
        Action::Edit {
            target: MessageRef::Key(key),
            ..
        } => Some(key),
        _ => None,
    }
}
