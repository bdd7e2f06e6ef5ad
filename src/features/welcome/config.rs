//! The welcome settings a group can have (`[defaults.welcome]`, `[groups."<id>".welcome]`).

use serde::Deserialize;
use toml::Spanned;

use super::intro;
use crate::core::i18n::Language;
use crate::core::settings::{NextValue, OverviewLine, Section, SectionCx};
use crate::core::templates::Templates;

/// As written in the config: every key optional, a group's table naming only what differs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WelcomeSection {
    /// Welcome message templates; one is picked for each welcome. `[]` sends none.
    #[serde(default)]
    pub texts: Option<Vec<Spanned<String>>>,
    /// Seconds between a join and its welcome; everyone joining meanwhile shares it.
    #[serde(default)]
    pub delay_secs: Option<Spanned<i64>>,
    /// Delete the previous welcome when a new one is posted.
    #[serde(default)]
    pub delete_previous: Option<bool>,
    /// Templates for a message when a member leaves; none by default.
    #[serde(default)]
    pub leave_texts: Option<Vec<Spanned<String>>>,
    /// Delete Telegram's "X joined / left the group" lines.
    #[serde(default)]
    pub delete_service_messages: Option<bool>,
    /// The self-introduction form; each 【field】 in it is a field.
    #[serde(default)]
    pub intro_template: Option<Spanned<String>>,
    /// Fields an introduction must fill in.
    #[serde(default)]
    pub required_fields: Option<Spanned<Vec<String>>>,
    /// "off", "button" (press the named button) or "math" (press the sum).
    #[serde(default)]
    pub captcha: Option<Spanned<String>>,
    /// Minutes a newcomer has to pass the captcha before being removed.
    #[serde(default)]
    pub captcha_minutes: Option<Spanned<i64>>,
    /// Hours after joining without an introduction before one reminder (0: none).
    #[serde(default)]
    pub remind_after_hours: Option<Spanned<i64>>,
    /// Hours after joining without an introduction before `action` is taken (0: never).
    #[serde(default)]
    pub act_after_hours: Option<Spanned<i64>>,
    /// "none", "mute" or "kick".
    #[serde(default)]
    pub action: Option<Spanned<String>>,
    /// Whether members (not only admins) may search the cards with /find.
    #[serde(default)]
    pub find_for_members: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Captcha {
    Off,
    /// Press the button the message names.
    Button,
    /// Press the button with the sum of two small numbers.
    Math,
}

/// What happens to a newcomer who never introduces themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowUpAction {
    None,
    Mute,
    /// Removed with ban + unban, so they can come back.
    Kick,
}

/// The settings in force for one group.
#[derive(Clone, Debug)]
pub struct WelcomeSettings {
    /// Names of the welcome templates in `Settings::templates`; `None`: the built-in message.
    pub texts: Option<Vec<String>>,
    pub delay_secs: i64,
    pub delete_previous: bool,
    /// Names of the leave templates; empty: no leave message.
    pub leave_texts: Vec<String>,
    pub delete_service_messages: bool,
    /// The operator's form, or `None` for the built-in one in the group's language.
    pub intro_template: Option<String>,
    pub required_fields: Vec<String>,
    pub captcha: Captcha,
    pub captcha_minutes: i64,
    pub remind_after_hours: i64,
    pub act_after_hours: i64,
    pub action: FollowUpAction,
    pub find_for_members: bool,
}

impl Default for WelcomeSettings {
    fn default() -> Self {
        WelcomeSettings {
            texts: None,
            delay_secs: 10,
            delete_previous: true,
            leave_texts: Vec::new(),
            delete_service_messages: false,
            intro_template: None,
            required_fields: Vec::new(),
            captcha: Captcha::Off,
            captcha_minutes: 5,
            remind_after_hours: 0,
            act_after_hours: 0,
            action: FollowUpAction::None,
            find_for_members: false,
        }
    }
}

pub const DEFAULT_INTRO_ZH: &str = "【昵称】\n【坐标】城市/时区\n【工作时间】如 9:00-18:00 / 自由职业\n【行业/职位】\n【擅长/爱好】\n【可以提供】资源/技能\n【希望获得】";
pub const DEFAULT_INTRO_EN: &str = "[Name]\n[Location] city / time zone\n[Working hours] e.g. 9:00-18:00 / freelance\n[Industry/Role]\n[Good at/Hobbies]\n[Can offer] resources / skills\n[Looking for]";

impl WelcomeSettings {
    /// The introduction form in force for a group in `language`.
    pub fn intro_template(&self, language: Language) -> &str {
        match (&self.intro_template, language) {
            (Some(template), _) => template,
            (None, Language::ZhCn) => DEFAULT_INTRO_ZH,
            (None, Language::En) => DEFAULT_INTRO_EN,
        }
    }
}

impl Section for WelcomeSettings {
    const KEY: &'static str = "welcome";
    type File = WelcomeSection;

    /// These settings with the section's keys applied. Templates are compiled into
    /// `cx.templates` under the group's prefix; problems are reported with the span of the value.
    fn apply(&self, section: &WelcomeSection, cx: &mut SectionCx<'_>) -> WelcomeSettings {
        let (language, template_prefix) = (cx.language, cx.template_prefix);
        let templates = &mut *cx.templates;
        let problems = &mut *cx.problems;
        let mut settings = self.clone();
        if let Some(texts) = &section.texts {
            settings.texts = Some(compile(
                texts,
                "texts",
                super::greet::WELCOME_VARS,
                &format!("{template_prefix}/welcome"),
                templates,
                problems,
            ));
        }
        if let Some(texts) = &section.leave_texts {
            settings.leave_texts = compile(
                texts,
                "leave_texts",
                super::join::LEAVE_VARS,
                &format!("{template_prefix}/leave"),
                templates,
                problems,
            );
        }
        if let Some(flag) = section.delete_previous {
            settings.delete_previous = flag;
        }
        if let Some(flag) = section.delete_service_messages {
            settings.delete_service_messages = flag;
        }
        if let Some(flag) = section.find_for_members {
            settings.find_for_members = flag;
        }
        for (value, target, key, range) in [
            (
                &section.delay_secs,
                &mut settings.delay_secs,
                "welcome.delay_secs",
                0..=3600,
            ),
            (
                &section.captcha_minutes,
                &mut settings.captcha_minutes,
                "welcome.captcha_minutes",
                1..=1440,
            ),
            (
                &section.remind_after_hours,
                &mut settings.remind_after_hours,
                "welcome.remind_after_hours",
                0..=8760,
            ),
            (
                &section.act_after_hours,
                &mut settings.act_after_hours,
                "welcome.act_after_hours",
                0..=8760,
            ),
        ] {
            crate::config::take_in_range(value, target, key, range, problems);
        }
        if let Some(captcha) = &section.captcha {
            match captcha.get_ref().as_str() {
                "off" => settings.captcha = Captcha::Off,
                "button" => settings.captcha = Captcha::Button,
                "math" => settings.captcha = Captcha::Math,
                other => problems.push((
                    captcha.span(),
                    format!("welcome.captcha `{other}` must be \"off\", \"button\" or \"math\""),
                )),
            }
        }
        if let Some(action) = &section.action {
            match action.get_ref().as_str() {
                "none" => settings.action = FollowUpAction::None,
                "mute" => settings.action = FollowUpAction::Mute,
                "kick" => settings.action = FollowUpAction::Kick,
                other => problems.push((
                    action.span(),
                    format!("welcome.action `{other}` must be \"none\", \"mute\" or \"kick\""),
                )),
            }
        }
        if settings.act_after_hours > 0
            && settings.remind_after_hours >= settings.act_after_hours
            && let Some(value) = section
                .remind_after_hours
                .as_ref()
                .or(section.act_after_hours.as_ref())
        {
            problems.push((
                value.span(),
                "welcome.remind_after_hours must come before act_after_hours".into(),
            ));
        }
        if let Some(template) = &section.intro_template {
            if intro::template_fields(template.get_ref()).is_empty() {
                problems.push((
                    template.span(),
                    "welcome.intro_template needs at least one field in 【】 or [] brackets".into(),
                ));
            } else {
                settings.intro_template = Some(template.get_ref().clone());
            }
        }
        if let Some(required) = &section.required_fields {
            settings.required_fields = required.get_ref().clone();
        }
        if section.required_fields.is_some() || section.intro_template.is_some() {
            let fields = intro::template_fields(settings.intro_template(language));
            let unknown: Vec<&String> = settings
                .required_fields
                .iter()
                .filter(|required| !fields.iter().any(|f| intro::same_field(f, required)))
                .collect();
            if !unknown.is_empty() {
                let span = section
                    .required_fields
                    .as_ref()
                    .map(Spanned::span)
                    .or(section.intro_template.as_ref().map(Spanned::span))
                    .unwrap_or(0..0);
                problems.push((
                    span,
                    format!(
                        "welcome.required_fields names {} that the intro template does not have (it has: {})",
                        unknown
                            .iter()
                            .map(|f| format!("`{f}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        fields.join(", ")
                    ),
                ));
            }
        }
        settings
    }

    fn overview(&self, language: Language) -> Vec<OverviewLine> {
        let zh = language == Language::ZhCn;
        let value = match (self.captcha, zh) {
            (Captcha::Off, true) => "关闭",
            (Captcha::Off, false) => "off",
            (Captcha::Button, true) => "按钮",
            (Captcha::Button, false) => "a button",
            (Captcha::Math, true) => "算术题",
            (Captcha::Math, false) => "a sum",
        };
        let label = if zh { "入群验证" } else { "Captcha" };
        let welcome = match (&self.texts, zh) {
            (None, true) => "内置".to_owned(),
            (None, false) => "built in".to_owned(),
            (Some(texts), true) if texts.is_empty() => "关闭".to_owned(),
            (Some(texts), false) if texts.is_empty() => "off".to_owned(),
            (Some(texts), true) => format!("自定义 {} 条", texts.len()),
            (Some(texts), false) => format!("custom ({})", texts.len()),
        };
        // A press turns the welcome off, and on again as the config file has it; the captcha
        // goes round off → a button → a sum.
        let welcome_next = match &self.texts {
            Some(texts) if texts.is_empty() => Some(NextValue {
                key: "welcome.texts",
                value: None,
            }),
            _ => NextValue::set("welcome.texts", toml::Value::Array(Vec::new())),
        };
        let captcha_next = match self.captcha {
            Captcha::Off => "button",
            Captcha::Button => "math",
            Captcha::Math => "off",
        };
        vec![
            OverviewLine {
                key: "welcome.texts",
                label: if zh { "欢迎语" } else { "Welcome" }.into(),
                value: welcome,
                next: welcome_next,
            },
            OverviewLine {
                key: "welcome.captcha",
                label: label.into(),
                value: value.into(),
                next: NextValue::set("welcome.captcha", captcha_next),
            },
        ]
    }
}

/// Compiles a list of operator templates; a syntax error names the text and its line.
fn compile(
    texts: &[Spanned<String>],
    key: &str,
    known: &[&str],
    prefix: &str,
    templates: &mut Templates,
    problems: &mut Vec<(std::ops::Range<usize>, String)>,
) -> Vec<String> {
    let mut names = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        let name = format!("{prefix}/{index}");
        let unknown = Templates::unknown_variables(text.get_ref(), known);
        if !unknown.is_empty() {
            let unknown = Templates::placeholders(&unknown);
            problems.push((
                text.span(),
                format!(
                    "welcome.{key}[{}] uses {}, which the bot does not fill in (it can: {})",
                    index + 1,
                    unknown.join(", "),
                    known.join(", ")
                ),
            ));
            continue;
        }
        match templates.add(name.clone(), text.get_ref().clone()) {
            Ok(()) => names.push(name),
            Err(error) => {
                let line = error
                    .line()
                    .map(|line| format!(", line {line} of the template"))
                    .unwrap_or_default();
                problems.push((
                    text.span(),
                    format!("welcome.{key}[{}]{line}: {}", index + 1, error.detail()),
                ))
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn a_welcome_with_a_syntax_error_is_refused_with_its_line_in_the_template() {
        let source = r#"
[defaults.welcome]
texts = [
  "欢迎 {{ mention }}！",
  """第一行
第二行 {% if rules %}
第三行 {{ name """,
]
"#;
        let errors = Settings::from_toml("q.toml", source, &crate::features::all())
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("q.toml:5:3: welcome.texts[2], line 3 of the template: syntax error"),
            "{errors}"
        );
    }

    #[test]
    fn settings_apply_over_the_defaults_and_bad_values_are_named() {
        let source = r#"
[defaults.welcome]
captcha = "button"
required_fields = ["昵称", "坐标"]
remind_after_hours = 24
act_after_hours = 48
action = "kick"

[groups."-7"]
language = "en"

[groups."-7".welcome]
required_fields = ["Name"]
delay_secs = 0

[groups."-8".welcome]
captcha = "yes"
action = "ban"
required_fields = ["城市"]
delay_secs = -1
"#;
        let errors = Settings::from_toml("q.toml", source, &crate::features::all())
            .unwrap_err()
            .to_string();
        for expected in [
            "q.toml:17:11: welcome.captcha `yes` must be \"off\", \"button\" or \"math\"",
            "q.toml:18:10: welcome.action `ban` must be \"none\", \"mute\" or \"kick\"",
            "q.toml:19:19: welcome.required_fields names `城市`",
            "q.toml:20:14: welcome.delay_secs must be between 0 and 3600",
        ] {
            assert!(errors.contains(expected), "{expected}\n{errors}");
        }
        let fine: String = source.lines().take(15).collect::<Vec<_>>().join("\n");
        let settings = Settings::from_toml("q.toml", &fine, &crate::features::all()).unwrap();
        let group = settings.group(-7).section::<WelcomeSettings>();
        assert_eq!(group.captcha, Captcha::Button, "inherited");
        assert_eq!(group.action, FollowUpAction::Kick);
        assert_eq!(group.required_fields, ["Name"]);
        assert_eq!(group.delay_secs, 0);
        assert_eq!(
            group.intro_template(Language::En),
            DEFAULT_INTRO_EN,
            "an English group gets the English form"
        );
        // A required field the English form does not have is refused for the English group.
        let wrong = fine.replace("[\"Name\"]", "[\"昵称\"]");
        assert!(Settings::from_toml("q.toml", &wrong, &crate::features::all()).is_err());
    }

    #[test]
    fn the_reminder_must_come_before_the_action() {
        let source = "[defaults.welcome]\nremind_after_hours = 48\nact_after_hours = 24\naction = \"mute\"\n";
        let errors = Settings::from_toml("q.toml", source, &crate::features::all())
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("remind_after_hours must come before act_after_hours"),
            "{errors}"
        );
    }
}
