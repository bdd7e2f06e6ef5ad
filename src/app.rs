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
