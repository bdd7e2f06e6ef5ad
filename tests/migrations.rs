//! The schema is core's migrations plus each feature's, and it is the very list qunbot shipped
//! before the features owned their migrations: a database made then upgrades with no change to
//! `_sqlx_migrations` (same versions, descriptions and checksums).

use qunbot::features;
use qunbot::store::{Backend, Schema};

/// The assembled migrations as the fixture records them: `backend version checksum description`.
fn listing(schema: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (backend, name) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
        for migration in schema.migrator(backend).iter() {
            let checksum: String = migration
                .checksum
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            lines.push(format!(
                "{name} {} {checksum} {}",
                migration.version, migration.description
            ));
        }
    }
    lines
}

#[test]
fn the_features_schema_is_the_recorded_list() {
    let schema = qunbot::app::schema(&features::all()).unwrap();
    let recorded: Vec<&str> = include_str!("fixtures/migrations.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    assert_eq!(listing(&schema), recorded);
}

#[test]
fn two_owners_of_one_version_are_refused_naming_both() {
    let levels = qunbot::migrations!(
        "src/features/levels/migrations/sqlite",
        "src/features/levels/migrations/postgres"
    );
    let error = Schema::new([("levels", levels), ("copycat", levels)]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "SQLite migration 3 is both levels's (levels) and copycat's (levels); each version \
         belongs to one owner"
    );
    // Core's versions are taken too.
    let core_copy = qunbot::migrations!("migrations/sqlite", "migrations/postgres");
    let error = Schema::new([("copycat", core_copy)]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("SQLite migration 1 is both core's (core) and copycat's"),
        "{error}"
    );
}
