//! The shipped command manifests and the code behind them stay in step.

use std::path::Path;
use std::sync::Arc;

use qunbot::app::command_coverage;
use qunbot::core::commands::CommandSet;
use qunbot::core::feature::Feature;
use qunbot::features;

/// What the features ship, as `CommandSet::load` takes it.
fn shipped(
    features: &[Arc<dyn Feature>],
) -> Vec<(&'static str, &'static [(&'static str, &'static str)])> {
    features.iter().map(|f| (f.name(), f.manifests())).collect()
}

#[test]
fn every_shipped_command_has_a_handler_and_every_handler_a_manifest() {
    let all = features::all();
    // The features' manifests alone, as a bot started away from the repository has them…
    let commands = CommandSet::load(shipped(&all), None).unwrap();
    let problems = command_coverage(&commands, &all);
    assert!(problems.is_empty(), "{problems:#?}");
    // …and with the operator's example folder.
    let commands = CommandSet::load(
        shipped(&all),
        Some(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bot-commands"
        ))),
    )
    .unwrap();
    let problems = command_coverage(&commands, &all);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(commands.get("links").is_some());
}

#[test]
fn a_manifest_without_a_handler_is_refused() {
    let commands = CommandSet::from_sources([(
        "orphan.toml",
        "name = \"orphan\"\ndescription = \"no code and no reply\"",
    )])
    .unwrap();
    let problems = command_coverage(&commands, &features::all());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("/orphan has a manifest but no feature runs it")),
        "{problems:?}"
    );
    // …and the built-in features' commands now lack their manifests.
    assert!(
        problems
            .iter()
            .any(|p| p.contains("runs /help, but no manifest")),
        "{problems:?}"
    );
}

#[test]
fn each_feature_ships_its_commands_folder_whole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for feature in features::all() {
        let dir = root
            .join("src/features")
            .join(feature.name())
            .join("commands");
        let mut on_disk: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".toml"))
                .collect(),
            Err(_) => Vec::new(),
        };
        on_disk.sort();
        let mut listed: Vec<String> = feature
            .manifests()
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        listed.sort();
        assert_eq!(
            on_disk,
            listed,
            "list {}'s new manifests in its `fn manifests`",
            feature.name()
        );
        for (name, text) in feature.manifests() {
            assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), *text);
        }
    }
}

#[test]
fn two_features_shipping_one_file_name_are_refused() {
    let help: &[(&str, &str)] = &[("help.toml", "name = \"help\"\ndescription = \"Help\"")];
    let error = CommandSet::load([("basics", help), ("helper", help)], None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "help.toml is shipped by both basics and helper; a manifest's file name belongs to one feature"
    );
}

#[test]
fn an_operator_file_replaces_the_shipped_manifest_of_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("help.toml"),
        "name = \"help\"\naliases = [\"求助\"]\ndescription = \"What I can do\"",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("faq.toml"),
        "name = \"faq\"\ndescription = \"FAQ\"\nreply = \"Read the pinned message.\"",
    )
    .unwrap();
    let all = features::all();
    let shipped_count = CommandSet::load(shipped(&all), None)
        .unwrap()
        .iter()
        .count();
    let commands = CommandSet::load(shipped(&all), Some(dir.path())).unwrap();
    let help = commands.get("help").unwrap();
    assert_eq!(
        help.description.get(qunbot::core::i18n::Language::En),
        "What I can do"
    );
    assert_eq!(
        help.aliases,
        ["求助"],
        "the shipped 帮助 and 菜单 went with its file"
    );
    assert!(commands.get("faq").is_some());
    assert_eq!(commands.iter().count(), shipped_count + 1);
    assert!(command_coverage(&commands, &all).is_empty());
}

#[test]
fn every_message_catalog_has_both_languages() {
    let mut templates = qunbot::core::templates::Templates::new();
    qunbot::config::load_catalogs(&mut templates, &features::all()).unwrap();
}
