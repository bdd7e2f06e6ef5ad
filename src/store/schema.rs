//! The database's schema: core's migrations (the top-level `migrations/` folder) and each
//! feature's (its own `migrations/` folder), assembled into one list per backend. The versions
//! are one sequence across all owners, so a database created before the features owned their
//! migrations sees the very same list in `_sqlx_migrations`.

use sqlx::migrate::Migrator;

/// One owner's migrations: a folder per backend, embedded at compile time by `sqlx::migrate!`
/// (write them with [`migrations!`](crate::migrations)).
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// An owner's migrations from its `<folder>/sqlite` and `<folder>/postgres`, both paths relative
/// to the crate's root: `migrations!("src/features/signin/migrations/sqlite",
/// "src/features/signin/migrations/postgres")`.
#[macro_export]
macro_rules! migrations {
    ($sqlite:tt, $postgres:tt) => {{
        static SQLITE: ::sqlx::migrate::Migrator = ::sqlx::migrate!($sqlite);
        static POSTGRES: ::sqlx::migrate::Migrator = ::sqlx::migrate!($postgres);
        $crate::store::Migrations {
            sqlite: &SQLITE,
            postgres: &POSTGRES,
        }
    }};
}

/// Core's own tables: chats, members, inbox, outbox, timers, job firings, leases.
fn core() -> Migrations {
    crate::migrations!("migrations/sqlite", "migrations/postgres")
}

/// The owner of core's migrations, in [`SchemaError`].
pub const CORE: &str = "core";

/// Which of the two databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Two owners gave a migration the same version: one of them must take the next free number.
#[derive(Debug, thiserror::Error)]
#[error(
    "{backend} migration {version} is both {first}'s ({first_description}) and {second}'s \
     ({second_description}); each version belongs to one owner"
)]
pub struct SchemaError {
    pub backend: &'static str,
    pub version: i64,
    pub first: String,
    pub first_description: String,
    pub second: String,
    pub second_description: String,
}

/// Every migration the database gets, core's and the features', one migrator per backend.
#[derive(Debug)]
pub struct Schema {
    sqlite: Migrator,
    postgres: Migrator,
}

impl Schema {
    /// Core's migrations and each owner's (a feature's name and its migrations), by version.
    pub fn new<'a>(
        owners: impl IntoIterator<Item = (&'a str, Migrations)>,
    ) -> Result<Schema, SchemaError> {
        let owners: Vec<(&str, Migrations)> =
            std::iter::once((CORE, core())).chain(owners).collect();
        Ok(Schema {
            sqlite: assemble(Backend::Sqlite, &owners, |m| m.sqlite)?,
            postgres: assemble(Backend::Postgres, &owners, |m| m.postgres)?,
        })
    }

    /// The migrations for one backend, in the order they run.
    pub fn migrator(&self, backend: Backend) -> &Migrator {
        match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
        }
    }

    /// Whether two schemas are the same migrations (versions and contents), on both backends.
    pub fn same_as(&self, other: &Schema) -> bool {
        let list = |migrator: &Migrator| {
            migrator
                .iter()
                .map(|m| (m.version, m.checksum.to_vec()))
                .collect::<Vec<_>>()
        };
        list(&self.sqlite) == list(&other.sqlite) && list(&self.postgres) == list(&other.postgres)
    }
}

fn assemble(
    backend: Backend,
    owners: &[(&str, Migrations)],
    folder: impl Fn(&Migrations) -> &'static Migrator,
) -> Result<Migrator, SchemaError> {
    let mut owned: Vec<(&str, &sqlx::migrate::Migration)> = owners
        .iter()
        .flat_map(|(owner, migrations)| folder(migrations).iter().map(move |m| (*owner, m)))
        .collect();
    // A migration's identity is its version (and, for reversible ones, its direction).
    owned.sort_by(|a, b| a.1.cmp(b.1));
    if let Some(pair) = owned.windows(2).find(|pair| pair[0].1 == pair[1].1) {
        let [(first, a), (second, b)] = [pair[0], pair[1]];
        return Err(SchemaError {
            backend: backend.name(),
            version: a.version,
            first: first.to_owned(),
            first_description: a.description.to_string(),
            second: second.to_owned(),
            second_description: b.description.to_string(),
        });
    }
    Ok(Migrator::with_migrations(
        owned.into_iter().map(|(_, m)| m.clone()).collect(),
    ))
}
