//! The basics every group has: /start, /help and /rules.

use async_trait::async_trait;
use minijinja::context;

use crate::core::commands::{Invocation, Manifest, Permission};
use crate::core::context::{Cx, Role};
use crate::core::feature::{CommandOutcome, Feature, FeatureResult};
use crate::core::i18n::Language;

pub struct Basics;

#[async_trait]
impl Feature for Basics {
    fn name(&self) -> &'static str {
        "basics"
    }

    fn always_on(&self) -> bool {
        true
    }

    fn commands(&self) -> &'static [&'static str] {
        &["start", "help", "rules"]
    }

    fn messages(&self) -> &'static str {
        include_str!("messages.toml")
    }

    fn manifests(&self) -> &'static [(&'static str, &'static str)] {
        crate::manifests!["start.toml", "help.toml", "rules.toml"]
    }

    async fn on_command(
        &self,
        cx: &mut Cx<'_>,
        invocation: &Invocation,
    ) -> FeatureResult<CommandOutcome> {
        match invocation.name.as_str() {
            "start" => start(cx),
            "help" => return Ok(help(cx, invocation.args.trim())),
            "rules" => rules(cx),
            _ => {}
        }
        Ok(CommandOutcome::Done)
    }
}

fn start(cx: &mut Cx<'_>) {
    let key = if cx.is_private() {
        "basics.start_private"
    } else {
        "basics.start_group"
    };
    let name = cx.event.actor().map(|user| user.display_name());
    let text = cx.text(
        key,
        context! { name => name, bot => cx.bot.username.clone() },
    );
    cx.reply(text);
}

/// `/help` lists what the asker may run here; `/help <command>` explains one command.
fn help(cx: &mut Cx<'_>, topic: &str) -> CommandOutcome {
    let language = cx.language();
    if !topic.is_empty() {
        let name = topic.trim_start_matches('/').to_lowercase();
        let Some(manifest) = cx.commands.get(&name).filter(|m| !m.hidden) else {
            let text = cx.text("core.unknown_command", context! { command => name });
            cx.reply(text);
            return CommandOutcome::Done;
        };
        let text = cx.text(
            "basics.help_one",
            context! {
                command => manifest.name.clone(),
                description => manifest.description.get(language).to_owned(),
                usage => manifest.usage_line(language),
                triggers => manifest.text_triggers().map(str::to_owned).collect::<Vec<_>>(),
            },
        );
        cx.reply(text);
        return CommandOutcome::Done;
    }
    let private = cx.is_private();
    let role = cx.role;
    let switched_off = cx.switched_off.clone();
    let mut visible: Vec<&Manifest> = cx
        .commands
        .iter()
        .filter(|m| !m.hidden && m.scope.allows(private) && permitted(m, role))
        .filter(|m| !switched_off.contains(&m.name.as_str()))
        .collect();
    visible.sort_by(|a, b| a.name.cmp(&b.name));
    let (admin, member): (Vec<&Manifest>, Vec<&Manifest>) = visible
        .into_iter()
        .partition(|m| m.permission > Permission::Member);
    let lines = |manifests: Vec<&Manifest>| {
        manifests
            .iter()
            .map(|m| help_line(m, language))
            .collect::<Vec<_>>()
    };
    let text = cx.text(
        "basics.help",
        context! { lines => lines(member), admin_lines => lines(admin) },
    );
    cx.reply(text);
    CommandOutcome::Done
}

fn permitted(manifest: &Manifest, role: Role) -> bool {
    match manifest.permission {
        Permission::Member => true,
        Permission::Admin => role >= Role::Admin,
        Permission::Owner => role >= Role::Owner,
    }
}

fn help_line(manifest: &Manifest, language: Language) -> String {
    let triggers: Vec<&str> = manifest.text_triggers().collect();
    let also = if triggers.is_empty() {
        String::new()
    } else {
        format!(" ({})", triggers.join(" / "))
    };
    format!(
        "/{}{also} — {}",
        manifest.name,
        manifest.description.get(language)
    )
}

fn rules(cx: &mut Cx<'_>) {
    let text = match cx.group.rules_template.clone() {
        Some(template) => {
            let vars = context! { chat => cx.event.chat.title.clone() };
            cx.render(&template, vars)
        }
        None => None,
    };
    let text = text.unwrap_or_else(|| cx.text("basics.no_rules", context! {}));
    cx.reply(text);
}
