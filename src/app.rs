//! Putting the pieces together: config + command manifests + features → a ready engine.

use std::sync::Arc;

use crate::config::Settings;
use crate::core::action::ChatPort;
use crate::core::clock::Clock;
use crate::core::commands::CommandSet;
use crate::core::context::BotIdentity;
use crate::core::engine::{Engine, add_reply_templates};
use crate::core::feature::Feature;
use crate::features;
use crate::store::{Db, Schema, SchemaError};

/// Checked configuration and command set, shared by every part of a running bot.
pub struct Prepared {
    pub settings: Arc<Settings>,
    pub commands: Arc<CommandSet>,
    pub features: Vec<Arc<dyn Feature>>,
    /// Core's migrations and the features'.
    pub schema: Arc<Schema>,
}

/// The database schema of `features`: core's migrations and each feature's.
pub fn schema(features: &[Arc<dyn Feature>]) -> Result<Schema, SchemaError> {
    Schema::new(
        features
            .iter()
            .filter_map(|feature| Some((feature.name(), feature.migrations()?))),
    )
}

/// Assembles the features' schema, loads their manifests and those in the folder the settings
/// point at, and checks that every command has something behind it (a feature or a reply
/// template) and every feature's command has a manifest.
pub fn prepare(settings: Settings) -> Result<Prepared, Vec<String>> {
    prepare_with(settings, features::all())
}

/// Like `prepare`, with a feature set of your own (the built-in ones plus yours, say).
pub fn prepare_with(
    mut settings: Settings,
    features: Vec<Arc<dyn Feature>>,
) -> Result<Prepared, Vec<String>> {
    let schema = schema(&features).map_err(|e| vec![e.to_string()])?;
    let commands = CommandSet::load(
        features.iter().map(|f| (f.name(), f.manifests())),
        Some(&settings.commands_dir()),
    )
    .map_err(|e| vec![e.to_string()])?;
    let mut errors = add_reply_templates(&mut settings, &commands);
    errors.extend(command_coverage(&commands, &features));
    errors.extend(missing_sections(&settings, &features));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Prepared {
        settings: Arc::new(settings),
        commands: Arc::new(commands),
        features,
        schema: Arc::new(schema),
    })
}

/// Sections the features declare that the settings were not read with: the settings must be
/// loaded for the same features the engine runs (`Settings::load(path, &features)`).
fn missing_sections(settings: &Settings, features: &[Arc<dyn Feature>]) -> Vec<String> {
    features
        .iter()
        .flat_map(|feature| {
            feature
                .sections()
                .into_iter()
                .filter(|slot| !settings.defaults.has_section(slot.type_id()))
                .map(|slot| {
                    format!(
                        "feature `{}` reads [defaults.{}], but the settings were loaded without it",
                        feature.name(),
                        slot.key()
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Commands with no handler, and handlers with no command.
pub fn command_coverage(commands: &CommandSet, features: &[Arc<dyn Feature>]) -> Vec<String> {
    let mut errors = Vec::new();
    for manifest in commands.iter() {
        let handled = features
            .iter()
            .any(|f| f.commands().contains(&manifest.name.as_str()));
        if !handled && manifest.reply.is_none() {
            errors.push(format!(
                "command /{} has a manifest but no feature runs it and it has no `reply` template",
                manifest.name
            ));
        }
    }
    for feature in features {
        for command in feature.commands() {
            if commands.get(command).is_none_or(|m| m.name != *command) {
                errors.push(format!(
                    "feature `{}` runs /{command}, but no manifest describes it (neither one it ships \
                     nor one in bot-commands/)",
                    feature.name()
                ));
            }
        }
    }
    errors
}

/// `qunbot reload` and SIGHUP: reads the config file the engine runs on (and the command
/// manifests) again and checks them exactly as at start. If all is well the engine runs on them
/// from its next event on and the answer is what the operator should hear (the new file's
/// warnings, and keys whose change only a restart applies); on any problem nothing changes and
/// the answer is every problem, with its file:line:column where it has one.
pub fn reload(engine: &Engine, schema: &Schema) -> Result<Vec<String>, Vec<String>> {
    let current = engine.settings();
    let features = engine.features.clone();
    let settings = match &current.path {
        Some(path) => Settings::load(path, &features)
            .map_err(|errors| errors.0.iter().map(ToString::to_string).collect::<Vec<_>>())?,
        None => Settings::built_in(&features),
    };
    let prepared = prepare_with(settings, features)?;
    if !prepared.schema.same_as(schema) {
        return Err(vec![
            "the new config needs another database schema than the running one (other \
             features' tables): a reload never migrates the database; restart qunbot to apply it"
                .to_owned(),
        ]);
    }
    let mut notes = prepared.settings.warnings_at(engine.clock.now());
    notes.extend(restart_only(&current, &prepared.settings));
    engine.replace(prepared.settings, prepared.commands);
    Ok(notes)
}

/// Keys a reload reads but only a restart applies: how the process connects and listens.
fn restart_only(old: &Settings, new: &Settings) -> Vec<String> {
    let telegram = |s: &Settings| {
        let t = &s.file.telegram;
        (
            t.polling_timeout_secs(),
            t.messages_per_minute_per_group(),
            t.throttle,
            t.token_file.clone(),
        )
    };
    [
        ("database.url", old.database_url() != new.database_url()),
        ("telegram.api_url", old.api_url() != new.api_url()),
        (
            "telegram (polling_timeout_secs, messages_per_minute_per_group, throttle, token_file)",
            telegram(old) != telegram(new),
        ),
        (
            "http (listen, dashboard_token)",
            old.http_listen() != new.http_listen()
                || old.dashboard_token() != new.dashboard_token(),
        ),
        ("pid_file", old.pid_file() != new.pid_file()),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(key, _)| {
        format!("{key} changed: the running bot keeps the old value until it is restarted")
    })
    .collect()
}

impl Prepared {
    pub fn engine(
        &self,
        db: Db,
        clock: Arc<dyn Clock>,
        bot: BotIdentity,
        port: Arc<dyn ChatPort>,
    ) -> Engine {
        Engine::new(
            db,
            self.settings.clone(),
            self.commands.clone(),
            self.features.clone(),
            clock,
            bot,
            port,
        )
    }
}
