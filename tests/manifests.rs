//! The shipped command manifests and the code behind them stay in step.

use std::path::Path;

use qunbot::app::command_coverage;
use qunbot::core::commands::{BUILT_IN, CommandSet};
use qunbot::features;

#[test]
fn every_shipped_command_has_a_handler_and_every_handler_a_manifest() {
    let commands = CommandSet::load(Some(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bot-commands"
    ))))
    .unwrap();
    let problems = command_coverage(&commands, &features::all());
    assert!(problems.is_empty(), "{problems:#?}");
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
fn the_built_in_copy_is_the_bot_commands_folder() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/bot-commands"));
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut built_in: Vec<String> = BUILT_IN
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    built_in.sort();
    assert_eq!(
        on_disk, built_in,
        "list new manifests in core::commands::BUILT_IN"
    );
    for (name, text) in BUILT_IN {
        assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), *text);
    }
}

#[test]
fn every_message_catalog_has_both_languages() {
    let mut templates = qunbot::core::templates::Templates::new();
    qunbot::config::load_catalogs(&mut templates, &features::all()).unwrap();
}
