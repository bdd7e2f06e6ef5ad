//! Routing an event to the features: a join or leave Telegram reports twice goes to their
//! `on_echo` only, a chat's move to a supergroup to every feature's `migrate_chat`, a timer to
//! the feature that set it, anything else to every enabled feature and then, if it is a
//! command, to the one feature that owns it once its scope and permission allow; reply-only
//! commands are answered from their templates.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::context;

use super::{Engine, Loaded, Standing};
use crate::config::{GroupSettings, Settings, UnknownGroups};
use crate::core::action::Action;
use crate::core::commands::{CommandSet, Invocation, Parsed};
use crate::core::context::{Cx, Role};
use crate::core::event::{Event, EventKind};
use crate::core::feature::{CommandOutcome, Feature, FeatureError};
use crate::store::{StoreResult, chats, outbox, timers};

impl Engine {
    /// An event's effects, written into `tx`, and the actions it wants taken. The caller
    /// queues those, marks the entry handled and records its chat as seen, all in the same
    /// transaction, and commits it.
    pub(super) async fn apply(
        &self,
        tx: &mut crate::store::Tx,
        is_timer: bool,
        update_id: i64,
        event: &Event,
        standing: &Standing,
    ) -> Result<Vec<outbox::Outgoing>, FeatureError> {
        let group = &*standing.group;
        let now = self.clock.now();
        if is_timer && !timers::still_set(tx, update_id).await? {
            // The timer was cancelled or set again after this firing was claimed: it is stale.
            return Ok(Vec::new());
        }
        let mut cx = self.context(&standing.loaded, event, group, standing.role, tx, now);
        cx.bot_rights = standing.bot_rights;
        if self.leaves(standing, event) {
            // A group the operator never listed: one line, and the bot goes.
            let text = cx.text("core.leaving_unknown_group", context! {});
            cx.send(text);
            cx.queue(Action::Leave {
                chat: event.chat.id,
            });
            tracing::info!(
                chat = event.chat.id,
                "leaving a group the config does not list (unknown_groups = \"leave\")"
            );
        } else if is_echo_of_a_join_or_leave(cx.tx, event).await? {
            for feature in self.enabled(group) {
                cx.urgent_feature = feature.urgent();
                feature.on_echo(&mut cx).await?;
            }
        } else {
            cx.is_command = standing.parsed != Parsed::NotACommand;
            if let Parsed::Command(invocation) = &standing.parsed {
                cx.command = Some(invocation.name.clone());
            }
            cx.admins = standing.admins.clone();
            self.route(&mut cx, &standing.parsed).await?;
        }
        cx.answer_the_press();
        if cx.settings_changed {
            self.settings_changing(event.chat.id);
        }
        let mut actions = cx.into_actions();
        if matches!(event.kind, EventKind::Tick { .. }) {
            // A Tick's inbox key is its firing's id.
            for outgoing in &mut actions {
                outgoing.job_firing = Some(update_id);
            }
        }
        Ok(actions)
    }

    /// Whether the bot leaves the event's chat rather than handle the event: a group the
    /// config does not list under `unknown_groups = "leave"`, not left by this process yet.
    /// What the bot set for itself (a timer, a job) and a chat's move are not reasons to speak.
    fn leaves(&self, standing: &Standing, event: &Event) -> bool {
        if standing.listed
            || !event.chat.kind.is_group()
            || standing.loaded.settings.unknown_groups != UnknownGroups::Leave
            || matches!(
                event.kind,
                EventKind::Tick { .. } | EventKind::Timer { .. } | EventKind::ChatMigrated { .. }
            )
        {
            return false;
        }
        self.left
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(event.chat.id)
    }

    pub(super) fn context<'a>(
        &'a self,
        loaded: &'a Loaded,
        event: &'a Event,
        group: &'a GroupSettings,
        role: Role,
        tx: &'a mut crate::store::Tx,
        now: DateTime<Utc>,
    ) -> Cx<'a> {
        let mut cx = Cx::new(
            event,
            group,
            &loaded.settings,
            &loaded.commands,
            &self.bot,
            role,
            tx,
            now,
        );
        // Commands of features this group has switched off stay out of its /help.
        cx.switched_off = self
            .features
            .iter()
            .filter(|feature| !feature.always_on() && !group.feature_on(feature.name()))
            .flat_map(|feature| feature.commands().iter().copied())
            .collect();
        cx
    }

    async fn route(&self, cx: &mut Cx<'_>, parsed: &Parsed) -> Result<(), FeatureError> {
        if let EventKind::ChatMigrated { to } = cx.event.kind {
            let from = cx.event.chat.id;
            for feature in &self.features {
                feature.migrate_chat(cx.tx, from, to).await?;
            }
            timers::migrate(cx.tx, from, to).await?;
            chats::record_migration(cx.tx, from, to, cx.event.at).await?;
            // The new id's settings are those of the old from now on, its admins' changes
            // among them.
            self.moves().read_at = None;
            self.settings_changing(from);
            self.settings_changing(to);
            tracing::info!(
                from,
                to,
                "group became a supergroup; its data moved to the new id"
            );
            return Ok(());
        }
        if let EventKind::Timer { feature: owner, .. } = &cx.event.kind {
            // A timer is the private business of the feature that set it.
            if let Some(feature) = self.enabled(cx.group).find(|f| f.name() == owner) {
                cx.urgent_feature = feature.urgent();
                feature.on_event(cx).await?;
            }
            return Ok(());
        }
        for feature in self.enabled(cx.group) {
            cx.urgent_feature = feature.urgent();
            feature.on_event(cx).await?;
            if cx.is_stopped() {
                return Ok(());
            }
        }
        cx.urgent_feature = false;
        match parsed {
            Parsed::Command(invocation) => self.run_command(cx, invocation).await,
            Parsed::Unknown(name) => {
                let text = cx.text("core.unknown_command", context! { command => name });
                cx.reply(text);
                Ok(())
            }
            Parsed::NotACommand => Ok(()),
        }
    }

    async fn run_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> Result<(), FeatureError> {
        let Some(manifest) = cx.commands.get(&invocation.name) else {
            return Ok(());
        };
        if !manifest.scope.allows(cx.is_private()) {
            let key = if cx.is_private() {
                "core.group_only"
            } else {
                "core.private_only"
            };
            let text = cx.text(key, context! { command => &manifest.name });
            cx.reply(text);
            return Ok(());
        }
        let required = match manifest.permission {
            crate::core::commands::Permission::Member => Role::Member,
            crate::core::commands::Permission::Admin => Role::Admin,
            crate::core::commands::Permission::Owner => Role::Owner,
        };
        if cx.role < required {
            let key = if required == Role::Owner {
                "core.owner_only"
            } else {
                "core.admin_only"
            };
            let text = cx.text(key, context! { command => &manifest.name });
            cx.reply(text);
            return Ok(());
        }
        let handler = self
            .features
            .iter()
            .find(|feature| feature.commands().contains(&manifest.name.as_str()));
        match handler {
            Some(feature) if !feature.always_on() && !cx.group.feature_on(feature.name()) => {
                let text = cx.text("core.feature_off", context! { command => &manifest.name });
                cx.reply(text);
                Ok(())
            }
            Some(feature) => {
                cx.urgent_feature = feature.urgent();
                if feature.on_command(cx, invocation).await? == CommandOutcome::BadArguments {
                    let text = cx.text(
                        "core.usage",
                        context! { usage => manifest.usage_line(cx.language()) },
                    );
                    cx.reply(text);
                }
                Ok(())
            }
            None if manifest.reply.is_some() => {
                let name = reply_template_name(&manifest.name, cx.language());
                let actor = cx.event.actor();
                let vars = context! {
                    user => actor.map(|user| user.name.clone()),
                    chat => cx.event.chat.title.clone(),
                    args => invocation.args.clone(),
                };
                if let Some(text) = cx.render(&name, vars) {
                    cx.reply(text);
                }
                Ok(())
            }
            None => {
                tracing::error!(command = %manifest.name, "command has a manifest but no handler");
                Ok(())
            }
        }
    }

    fn enabled<'a>(
        &'a self,
        group: &'a GroupSettings,
    ) -> impl Iterator<Item = &'a Arc<dyn Feature>> {
        self.features
            .iter()
            .filter(move |feature| feature.always_on() || group.feature_on(feature.name()))
    }
}

/// Telegram can report one join or leave twice: as a service message and as a `chat_member`
/// update. The second, arriving within a minute of the first with nothing in between, is
/// dropped so that nobody is welcomed twice.
async fn is_echo_of_a_join_or_leave(tx: &mut crate::store::Tx, event: &Event) -> StoreResult<bool> {
    let (member, joining) = match &event.kind {
        EventKind::MemberJoined { member, .. } => (member, true),
        EventKind::MemberLeft { member, .. } => (member, false),
        _ => return Ok(false),
    };
    let recent = event.at.timestamp() - 60;
    let row: Option<(Option<i64>, Option<i64>)> = tx
        .fetch_optional(
            "SELECT joined_at, left_at FROM members WHERE chat_id = $1 AND user_id = $2",
            crate::args![event.chat.id, member.id],
        )
        .await?;
    Ok(match row {
        Some((joined_at, left_at)) if joining => {
            joined_at.is_some_and(|t| t >= recent)
                && left_at.is_none_or(|left| left < joined_at.unwrap_or(0))
        }
        Some((_, left_at)) => left_at.is_some_and(|t| t >= recent),
        None => false,
    })
}

/// Where a reply-only command's template is kept.
pub fn reply_template_name(command: &str, language: crate::core::i18n::Language) -> String {
    format!("cmd/{command}/{}", language.tag())
}

/// Compiles the reply templates of reply-only manifests, reporting each that does not compile.
pub fn add_reply_templates(settings: &mut Settings, commands: &CommandSet) -> Vec<String> {
    let mut errors = Vec::new();
    for manifest in commands.iter() {
        let Some(reply) = &manifest.reply else {
            continue;
        };
        for language in crate::core::i18n::Language::ALL {
            if let Err(error) = settings.templates.add(
                reply_template_name(&manifest.name, language),
                reply.get(language).to_owned(),
            ) {
                errors.push(format!(
                    "command /{}: reply template ({language}): {error}",
                    manifest.name
                ));
            }
        }
    }
    errors
}
