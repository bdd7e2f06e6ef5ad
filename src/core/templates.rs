//! Text templates: the message catalogs and the operator's own templates (rules, reply-only
//! commands, welcome texts) are minijinja templates, checked when the config loads so a typo is
//! reported at start-up, not in front of the group. Each is compiled for keeps the first time it
//! is rendered: most of the catalog is never sent in a given run, and all of it compiled would
//! take several megabytes.
//!
//! Operator templates are untrusted code as far as the bot is concerned: rendering runs with a
//! fuel budget and a recursion limit, sees only the values passed in, and its output is clipped
//! to one message.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use minijinja::{Environment, UndefinedBehavior, Value};

use super::action::fit_message;

/// Enough for any reasonable template (a loop over a few hundred members); an endless loop or
/// a `range(10**9)` runs out long before it costs anything.
const FUEL_PER_RENDER: u64 = 100_000;
const RECURSION_LIMIT: usize = 50;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(#[from] minijinja::Error);

impl TemplateError {
    /// The line of the template the error is on, when it is about one.
    pub fn line(&self) -> Option<usize> {
        self.0.line()
    }

    /// What is wrong, without the template's name and line.
    pub fn detail(&self) -> String {
        match self.0.detail() {
            Some(detail) => format!("{}: {detail}", self.0.kind()),
            None => self.0.kind().to_string(),
        }
    }
}

pub struct Templates {
    /// Compiles a template from `sources` when it is first asked for.
    env: Environment<'static>,
    sources: Arc<RwLock<HashMap<String, String>>>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    pub fn new() -> Templates {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL_PER_RENDER));
        env.set_recursion_limit(RECURSION_LIMIT);
        // Plain text goes out (no parse mode), so nothing needs escaping; a missing variable
        // renders empty rather than failing in front of the group.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.add_filter("pluralize", pluralize);
        let sources: Arc<RwLock<HashMap<String, String>>> = Arc::default();
        let lookup = sources.clone();
        env.set_loader(move |name| {
            Ok(lookup
                .read()
                .ok()
                .and_then(|sources| sources.get(name).cloned()))
        });
        Templates { env, sources }
    }

    /// Checks a template and stores it under `name`, replacing any earlier one.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> Result<(), TemplateError> {
        let (name, source) = (name.into(), source.into());
        Environment::new().template_from_named_str(&name, &source)?;
        self.env.remove_template(&name);
        if let Ok(mut sources) = self.sources.write() {
            sources.insert(name, source);
        }
        Ok(())
    }

    pub fn has(&self, name: &str) -> bool {
        self.sources
            .read()
            .is_ok_and(|sources| sources.contains_key(name))
    }

    /// Renders a stored template, clipped to one message.
    pub fn render(&self, name: &str, vars: Value) -> Result<String, TemplateError> {
        let text = self.env.get_template(name)?.render(vars)?;
        Ok(fit_message(text.trim()))
    }

    /// The variables `source` reads that are none of `known` (a typo such as `{{ mentoin }}`
    /// renders empty, so it is caught here instead), in order. A template with a syntax error
    /// has none: `add` and `check` report that.
    pub fn unknown_variables(source: &str, known: &[&str]) -> Vec<String> {
        let env = Environment::new();
        let Ok(template) = env.template_from_str(source) else {
            return Vec::new();
        };
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|name| {
                !known.contains(&name.as_str()) && env.globals().all(|(global, _)| global != name)
            })
            .collect();
        unknown.sort();
        unknown
    }

    /// Variable names as a template writes them (`mention` → `{{ mention }}`), to tell an
    /// operator or admin which ones to use.
    pub fn placeholders<S: AsRef<str>>(names: &[S]) -> Vec<String> {
        names
            .iter()
            .map(|name| format!("{{{{ {} }}}}", name.as_ref()))
            .collect()
    }

    /// Checks a template's syntax without storing it.
    pub fn check(source: &str) -> Result<(), TemplateError> {
        let env = Environment::new();
        env.template_from_str(source)?;
        Ok(())
    }
}

/// `{{ days | pluralize("day") }}`: "1 day", "3 days"; an irregular plural is the second
/// argument (`pluralize("person", "people")`). English catalogs use it, so that no group reads
/// "1 days".
fn pluralize(count: i64, one: String, many: Option<String>) -> String {
    let word = if count == 1 || count == -1 {
        one
    } else {
        many.unwrap_or_else(|| format!("{one}s"))
    };
    format!("{count} {word}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn pluralize_says_one_day_and_two_days() {
        let mut templates = Templates::new();
        templates
            .add("t", "{{ a | pluralize(\"day\") }}, {{ b | pluralize(\"day\") }}, {{ c | pluralize(\"person\", \"people\") }}")
            .unwrap();
        let text = templates
            .render("t", minijinja::context! { a => 1, b => 0, c => 3 })
            .unwrap();
        assert_eq!(text, "1 day, 0 days, 3 people");
    }

    use super::*;
    use minijinja::context;

    #[test]
    fn renders_with_variables() {
        let mut templates = Templates::new();
        templates.add("hello", "你好，{{ name }}！").unwrap();
        assert_eq!(
            templates
                .render("hello", context! { name => "小王" })
                .unwrap(),
            "你好，小王！"
        );
    }

    #[test]
    fn a_template_added_again_renders_its_new_text_even_after_it_was_used() {
        let mut templates = Templates::new();
        templates.add("rules", "旧规则").unwrap();
        assert_eq!(templates.render("rules", context! {}).unwrap(), "旧规则");
        templates.add("rules", "新规则：{{ n }} 条").unwrap();
        assert_eq!(
            templates.render("rules", context! { n => 3 }).unwrap(),
            "新规则：3 条"
        );
        assert!(templates.has("rules") && !templates.has("nothing"));
        assert!(templates.render("nothing", context! {}).is_err());
    }

    #[test]
    fn a_misspelt_variable_is_named_but_loops_sets_and_globals_are_not() {
        let source = "{% set x = 1 %}{% for n in names %}{{ loop.index }}{{ n }}{% endfor %}\
                      {{ range(3) | join }}{{ mentoin }}{{ x }}{{ group.title }}";
        assert_eq!(
            Templates::unknown_variables(source, &["names", "group"]),
            vec!["mentoin".to_owned()]
        );
        assert!(Templates::unknown_variables("{% if %}", &[]).is_empty());
    }

    #[test]
    fn a_runaway_template_stops_on_its_fuel() {
        let mut templates = Templates::new();
        templates
            .add(
                "loop",
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            )
            .unwrap();
        let error = templates.render("loop", context! {}).unwrap_err();
        assert!(error.to_string().contains("fuel"), "{error}");
    }

    #[test]
    fn huge_output_is_clipped_to_one_message() {
        let mut templates = Templates::new();
        templates
            .add("big", "{% for i in range(3000) %}ab{% endfor %}")
            .unwrap();
        let text = templates.render("big", context! {}).unwrap();
        assert_eq!(
            text.chars().count(),
            super::super::action::MAX_MESSAGE_CHARS
        );
    }

    #[test]
    fn syntax_errors_are_reported_with_their_line() {
        let error = Templates::check("line one\n{{ name ").unwrap_err();
        assert!(error.to_string().contains(":2)"), "{error}");
    }
}
