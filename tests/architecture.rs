//! The direction of the code's dependencies, checked: the platform-neutral layers (core, the
//! config loader, the scheduler, the store, the Telegram adapter, the simulator) know no
//! feature. A feature is added by its folder and its registration, and nothing below it
//! reaches into one: each feature declares its sections, and the loader reads whatever
//! sections the features it is given declare.

use std::path::Path;

const LAYERS_THAT_KNOW_NO_FEATURE: &[&str] =
    &["core", "config", "scheduler", "store", "telegram", "sim"];

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_platform_neutral_layers_import_no_feature() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for layer in LAYERS_THAT_KNOW_NO_FEATURE {
        rust_files(&src.join(layer), &mut files);
    }
    assert!(files.len() > 20, "the layers were not found: {files:?}");
    let mut reaching_in = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains("crate::features") || code.contains("qunbot::features") {
                reaching_in.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(&src).unwrap_or(file).display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        reaching_in.is_empty(),
        "these lines reach into a feature; declare what is needed in core instead:\n{}",
        reaching_in.join("\n")
    );
}
