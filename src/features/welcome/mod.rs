//! Greeting and onboarding newcomers: the welcome message, the optional captcha, the
//! self-introduction (自我介绍) form and cards, and the follow-up for those who never introduce
//! themselves.
//!
//! Everything that happens later is a timer (`Cx::set_timer`), so it survives a restart:
//! - `greet`: the next welcome. Set by the first joiner of a wave and not moved by later
//!   ones, so everybody who joins before it goes out is greeted in one message.
//! - `captcha:<user>`: the newcomer's deadline to answer.
//! - `remind:<user>`, `act:<user>`: the follow-up when no introduction has come.
//!
//! Random choices (which welcome text, which captcha question) come from a hash of the chat and
//! the welcome's number, so handling the same timer again picks the same.

pub mod birthday;
pub mod config;
pub mod intro;
mod queries;

mod captcha;
mod cards;
mod followup;
mod greet;
mod join;
mod set;

use async_trait::async_trait;

use self::captcha::{captcha_expired, let_in_by_hand, on_press};
use self::cards::{find, on_message, show_template, whois};
use self::followup::{act_on_silence, remind};
use self::greet::greet;
use self::join::{delete_service_message, on_join, on_leave};
use crate::core::commands::Invocation;
use crate::core::context::Cx;
use crate::core::event::{EventKind, UserId};
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::settings::SectionSlot;

const NAME: &str = "welcome";
/// At most this many newcomers are named in one welcome; a raid of hundreds still gets one
/// message of readable length.
const MAX_NAMED: usize = 30;

pub struct Welcome;

#[async_trait]
impl Feature for Welcome {
    fn name(&self) -> &'static str {
        NAME
    }

    fn commands(&self) -> &'static [&'static str] {
        &["intro", "whois", "find", "setwelcome"]
    }

    fn sections(&self) -> Vec<SectionSlot> {
        vec![SectionSlot::of::<config::WelcomeSettings>()]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests!["intro.toml", "whois.toml", "find.toml", "setwelcome.toml"]
    }

    fn migrations(&self) -> Option<crate::store::Migrations> {
        Some(crate::migrations!(
            "src/features/welcome/migrations/sqlite",
            "src/features/welcome/migrations/postgres"
        ))
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        match invocation.name.as_str() {
            "intro" => {
                show_template(cx);
                Ok(CommandOutcome::Done)
            }
            "whois" => whois(cx, invocation.args.trim()).await,
            "find" => find(cx, invocation.args.trim()).await,
            "setwelcome" => set::set_welcome(cx, &invocation.args).await,
            _ => Ok(CommandOutcome::Done),
        }
    }

    async fn on_event(&self, cx: &mut Cx<'_>) -> FeatureResult {
        if !cx.event.chat.kind.is_group() {
            return Ok(());
        }
        match &cx.event.kind {
            EventKind::MemberJoined {
                member,
                message,
                restricted,
                ..
            } => {
                let (member, message, restricted) = (member.clone(), *message, *restricted);
                on_join(cx, &member, message, restricted).await
            }
            EventKind::RestrictionLifted { member, by } => {
                // An admin let a newcomer write by hand: their captcha is settled. (The bot's
                // own unmutes come back as such updates too; those settle nothing new.)
                if by.as_ref().is_some_and(|admin| admin.id != cx.bot.id) {
                    let member = member.clone();
                    let_in_by_hand(cx, &member).await?;
                }
                Ok(())
            }
            EventKind::MemberLeft {
                member,
                removed_by,
                message,
            } => {
                let (member, by_themselves, message) =
                    (member.clone(), removed_by.is_none(), *message);
                on_leave(cx, &member, by_themselves, message).await
            }
            EventKind::Message(message) if !cx.is_command && message.by_a_person() => {
                let (from, id, text) = (message.from.clone(), message.id, message.text.clone());
                on_message(cx, &from, id, &text).await
            }
            EventKind::ButtonPressed {
                from,
                callback_id,
                data,
                ..
            } => match data.strip_prefix("welcome:") {
                Some(choice) => {
                    let (from, callback, choice) =
                        (from.clone(), callback_id.clone(), choice.to_owned());
                    on_press(cx, &from, &callback, &choice).await
                }
                None => Ok(()),
            },
            EventKind::Timer { key, .. } => {
                let key = key.clone();
                on_timer(cx, &key).await
            }
            _ => Ok(()),
        }
    }

    /// Telegram's two reports of one join or leave come in either order; whichever carries
    /// the service message, that line is deleted.
    async fn on_echo(&self, cx: &mut Cx<'_>) -> FeatureResult {
        if let EventKind::MemberJoined { message, .. } | EventKind::MemberLeft { message, .. } =
            &cx.event.kind
        {
            let message = *message;
            delete_service_message(cx, message);
        }
        Ok(())
    }

    async fn migrate_chat(&self, tx: &mut crate::store::Tx, from: i64, to: i64) -> FeatureResult {
        queries::migrate(tx, from, to).await?;
        Ok(())
    }
}

/// Hands a timer to the part that set it (the keys are listed above).
async fn on_timer(cx: &mut Cx<'_>, key: &str) -> FeatureResult {
    if key == "greet" {
        return greet(cx).await;
    }
    let Some((kind, user)) = key
        .split_once(':')
        .and_then(|(kind, user)| Some((kind, user.parse::<UserId>().ok()?)))
    else {
        tracing::warn!(key, "unknown welcome timer");
        return Ok(());
    };
    match kind {
        "captcha" => captcha_expired(cx, user).await,
        "remind" => remind(cx, user).await,
        "act" => act_on_silence(cx, user).await,
        _ => Ok(()),
    }
}
