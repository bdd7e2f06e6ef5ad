//! Storage: one query layer over SQLite (the embedded default) and PostgreSQL.
//!
//! Queries are plain SQL strings with `$N` placeholders, which both drivers accept, checked at
//! run time rather than by `sqlx::query!` so that a fresh clone builds with no database at hand.
//! Every query the project runs is exercised by the storage tests against both backends.
//! Instants are stored as integer Unix seconds in both schemas (see docs/ARCHITECTURE.md).

mod args;
pub mod chats;
pub mod group_changes;
pub mod inbox;
pub mod leases;
pub mod outbox;
mod schema;
pub mod timers;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

pub use args::Arg;
pub use schema::{Backend, CORE, Migrations, Schema, SchemaError};

/// Prepared statements kept per connection (sqlx's default is 100). The project has about 230
/// fixed statements, and multi-row ones (`Sql`) have a text per number of rows; one not kept
/// is prepared again each time, which on PostgreSQL is an extra round trip.
const STATEMENT_CACHE: usize = 400;

/// The most a multi-row statement's values should come to, in bytes. sqlx 0.9.0 left Nagle's
/// algorithm on for PostgreSQL's socket (launchbadge/sqlx#4335, fixed in 0.9.1, which qunbot
/// requires): a message the kernel did not take in one write sent its tail only once the
/// server acknowledged the head, 40 ms later (a relay list's 18 KB of outbox rows held 1% of
/// joins up 48 ms). The cut stays as a bound on one statement's size and its bound values.
pub const MAX_STATEMENT_BYTES: usize = 8 * 1024;

/// What went wrong talking to the database. The message never contains the connection URL's
/// password: sqlx errors name the failing operation, not the credentials.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (expected sqlite:… or postgres://…): {0}")]
    UnsupportedUrl(String),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error("cannot use the lock file {0}")]
    LockFile(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The database was unreachable, busy or chose this transaction as a deadlock victim:
    /// the same work will likely succeed if tried again.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Sqlx(
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed,
            ) => true,
            StoreError::Sqlx(sqlx::Error::Database(error)) => {
                let code = error.code().unwrap_or_default();
                if error
                    .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                    .is_some()
                {
                    // SQLite's extended codes keep the primary one in the low byte: busy,
                    // locked, an I/O error, the disk (or max_page_count) full. The same work
                    // succeeds once the disk has room again, so it must stay queued.
                    code.parse::<i32>()
                        .is_ok_and(|code| matches!(code & 0xff, 5 | 6 | 10 | 13))
                } else {
                    // PostgreSQL: serialization failure, deadlock, insufficient resources
                    // (disk full, out of memory, too many connections), a lost connection,
                    // the server shutting down.
                    matches!(code.as_ref(), "40001" | "40P01")
                        || code.starts_with("53")
                        || code.starts_with("08")
                        || code.starts_with("57P")
                }
            }
            _ => false,
        }
    }
}

/// A row type that can be read from either backend; `#[derive(sqlx::FromRow)]` provides it.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A connection pool to one of the two supported databases, chosen by the URL's scheme.
///
/// SQLite gets two pools over one file. It lets one connection write at a time, and a writer
/// that finds the database locked sleeps and polls (1 ms, 2 ms, 5 ms, … up to 100 ms); worse, a
/// connection must drop its whole page cache whenever another one has written. So every write
/// (each transaction, each statement run outside one) goes through `writer`, a pool of one
/// connection: writers queue for it and are woken the moment the one before is done, and its
/// cache stays warm. Plain reads outside a transaction use `readers`. This only orders the
/// writers; what must happen once is still made so by the database's constraints.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite {
        readers: SqlitePool,
        writer: SqlitePool,
    },
    Postgres(PgPool),
}

/// One database transaction. Everything a feature writes while handling an event goes through
/// one of these, together with the inbox row that marks the event handled and the outbox rows it
/// wants delivered, so an event's effects are committed all together or not at all.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// The four query shapes, implemented once for a pool and once for a transaction. Each is
/// given three patterns, binding `$handle` to what reads on SQLite, what writes on SQLite, and
/// what runs on PostgreSQL; `$exec` turns that into an sqlx executor.
macro_rules! query_methods {
    ($target:ty, $receiver:ty, $read:pat, $write:pat, $pg:pat, |$handle:ident| $exec:expr) => {
        impl $target {
            /// Runs a statement; returns the number of rows it changed.
            pub async fn execute(
                self: $receiver,
                sql: &'static str,
                args: Vec<Arg>,
            ) -> StoreResult<u64> {
                Ok(match self {
                    $write => sqlx::query_with(sql, args::sqlite(args)?)
                        .execute($exec)
                        .await?
                        .rows_affected(),
                    $pg => sqlx::query_with(sql, args::postgres(args)?)
                        .execute($exec)
                        .await?
                        .rows_affected(),
                })
            }

            pub async fn fetch_one<T: Row>(
                self: $receiver,
                sql: &'static str,
                args: Vec<Arg>,
            ) -> StoreResult<T> {
                Ok(match self {
                    $read => {
                        sqlx::query_as_with(sql, args::sqlite(args)?)
                            .fetch_one($exec)
                            .await?
                    }
                    $pg => {
                        sqlx::query_as_with(sql, args::postgres(args)?)
                            .fetch_one($exec)
                            .await?
                    }
                })
            }

            pub async fn fetch_optional<T: Row>(
                self: $receiver,
                sql: &'static str,
                args: Vec<Arg>,
            ) -> StoreResult<Option<T>> {
                Ok(match self {
                    $read => {
                        sqlx::query_as_with(sql, args::sqlite(args)?)
                            .fetch_optional($exec)
                            .await?
                    }
                    $pg => {
                        sqlx::query_as_with(sql, args::postgres(args)?)
                            .fetch_optional($exec)
                            .await?
                    }
                })
            }

            pub async fn fetch_all<T: Row>(
                self: $receiver,
                sql: &'static str,
                args: Vec<Arg>,
            ) -> StoreResult<Vec<T>> {
                Ok(match self {
                    $read => {
                        sqlx::query_as_with(sql, args::sqlite(args)?)
                            .fetch_all($exec)
                            .await?
                    }
                    $pg => {
                        sqlx::query_as_with(sql, args::postgres(args)?)
                            .fetch_all($exec)
                            .await?
                    }
                })
            }
        }
    };
}

query_methods!(
    Db,
    &Self,
    Db::Sqlite { readers: pool, .. },
    Db::Sqlite { writer: pool, .. },
    Db::Postgres(pool),
    |pool| pool
);
query_methods!(
    Tx,
    &mut Self,
    Tx::Sqlite(tx),
    Tx::Sqlite(tx),
    Tx::Postgres(tx),
    |tx| &mut **tx
);

/// SQL text for a statement over a varying number of rows, assembled from fixed pieces and
/// numbered placeholders only: no value ever becomes part of the text. One such statement costs
/// one round trip to the database where a statement per row costs one each, and on SQLite a
/// round trip through sqlx (a hop to the connection's thread and back) costs far more than the
/// row itself (see docs/ARCHITECTURE.md, "Storage").
#[derive(Debug)]
pub struct Sql(String);

impl Sql {
    pub fn new(head: &'static str) -> Sql {
        Sql(head.to_owned())
    }

    /// Appends `count` rows of `width` numbered placeholders from `$first`, for a `VALUES` list:
    /// `($3, $4), ($5, $6)`.
    pub fn rows(mut self, first: usize, width: usize, count: usize) -> Sql {
        for row in 0..count {
            if row > 0 {
                self.0.push_str(", ");
            }
            self.0.push('(');
            self = self.list(first + row * width, width);
            self.0.push(')');
        }
        self
    }

    /// Appends `count` numbered placeholders from `$first`, for an `IN` list: `$3, $4, $5`.
    pub fn list(mut self, first: usize, count: usize) -> Sql {
        use std::fmt::Write;
        for n in first..first + count {
            if n > first {
                self.0.push_str(", ");
            }
            let _ = write!(self.0, "${n}");
        }
        self
    }

    pub fn then(mut self, tail: &'static str) -> Sql {
        self.0.push_str(tail);
        self
    }
}

/// Cuts `rows` into runs for statements over many rows: at most `max_rows` each, and at most
/// [`MAX_STATEMENT_BYTES`] of values by `size`, however large (a row larger than that has a
/// statement of its own).
pub fn statement_runs<T>(
    rows: &[T],
    max_rows: usize,
    size: impl Fn(&T) -> usize,
) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut end = 0;
        while end < rest.len().min(max_rows) {
            bytes += size(&rest[end]);
            if end > 0 && bytes > MAX_STATEMENT_BYTES {
                break;
            }
            end += 1;
        }
        let (run, after) = rest.split_at(end);
        rest = after;
        Some(run)
    })
}

impl Tx {
    /// Runs a statement assembled with [`Sql`]; returns the number of rows it changed. Like every
    /// statement it is kept prepared, one per number of rows (see `STATEMENT_CACHE`).
    pub async fn execute_sql(&mut self, sql: Sql, args: Vec<Arg>) -> StoreResult<u64> {
        let sql = sqlx::AssertSqlSafe(sql.0);
        Ok(match self {
            Tx::Sqlite(tx) => sqlx::query_with(sql, args::sqlite(args)?)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => sqlx::query_with(sql, args::postgres(args)?)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    /// Makes handling in these chats take turns across processes sharing a PostgreSQL database
    /// (held until the transaction ends). The locks are taken in ascending order, the same in
    /// every process, so two transactions sharing chats cannot deadlock. On SQLite every write
    /// transaction already takes turns.
    pub async fn lock_chats(&mut self, chats: &[i64]) -> StoreResult<()> {
        if let Tx::Postgres(_) = self
            && !chats.is_empty()
        {
            let mut sorted = chats.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            let sql =
                Sql::new("SELECT pg_advisory_xact_lock(chat) FROM (SELECT chat FROM (VALUES ")
                    .rows(1, 1, sorted.len())
                    .then(") AS chats (chat) ORDER BY chat) AS in_order");
            self.execute_sql(sql, sorted.into_iter().map(Arg::from).collect())
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

impl Db {
    /// Connects to `url` and applies any of `schema`'s migrations still pending.
    pub async fn connect(url: &str, schema: &Schema) -> StoreResult<Db> {
        let db = Self::connect_without_migrating(url).await?;
        db.migrate(schema).await?;
        Ok(db)
    }

    /// Connects without touching the schema (for `qunbot migrate`, which reports what it applies).
    pub async fn connect_without_migrating(url: &str) -> StoreResult<Db> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                // WAL lets readers go on while the single writer commits; NORMAL is the usual
                // pairing and still survives a process crash (only a power cut can lose the
                // last transactions).
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .statement_cache_capacity(STATEMENT_CACHE);
            // The writer first: it creates the file and switches it to WAL.
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await?;
            let readers = SqlitePoolOptions::new()
                .max_connections(3)
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite { readers, writer })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options =
                PgConnectOptions::from_str(url)?.statement_cache_capacity(STATEMENT_CACHE);
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// Applies `schema`'s pending migrations; returns how many were applied. On PostgreSQL sqlx
    /// holds an advisory lock meanwhile, so replicas starting together migrate once.
    pub async fn migrate(&self, schema: &Schema) -> StoreResult<usize> {
        let applied_before = self.applied_migrations().await.unwrap_or(0);
        let migrator = schema.migrator(self.backend());
        match self {
            Db::Sqlite { writer, .. } => migrator.run(writer).await?,
            Db::Postgres(pool) => migrator.run(pool).await?,
        }
        Ok(self
            .applied_migrations()
            .await?
            .saturating_sub(applied_before))
    }

    async fn applied_migrations(&self) -> StoreResult<usize> {
        let (count,): (i64,) = self
            .fetch_one(
                "SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE",
                Vec::new(),
            )
            .await?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend().name()
    }

    /// Starts a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// deferred transaction that later upgrades to a write can fail with SQLITE_BUSY no matter
    /// how long the busy timeout is.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self {
            Db::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { readers, writer } => {
                writer.close().await;
                readers.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The URL with any password replaced, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_sql_numbers_its_placeholders_in_order() {
        let insert = Sql::new("INSERT INTO t (a, b) VALUES ")
            .rows(1, 2, 3)
            .then(" ON CONFLICT DO NOTHING");
        assert_eq!(
            insert.0,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6) ON CONFLICT DO NOTHING"
        );
        let update = Sql::new("UPDATE t SET a = $1 WHERE b IN (")
            .list(2, 3)
            .then(")");
        assert_eq!(update.0, "UPDATE t SET a = $1 WHERE b IN ($2, $3, $4)");
    }

    #[test]
    fn statement_runs_keep_to_the_row_and_byte_limits_and_lose_nothing() {
        let sizes = [10, 20, 30, 40_000, 5, 5, 5];
        let runs: Vec<&[usize]> = statement_runs(&sizes, 2, |size| *size).collect();
        // Two rows at most; the large row alone; nothing dropped or reordered.
        assert_eq!(
            runs,
            vec![
                &[10, 20][..],
                &[30][..],
                &[40_000][..],
                &[5, 5][..],
                &[5][..]
            ]
        );
        let runs: Vec<&[usize]> = statement_runs(&[8_000, 8_000, 1], 100, |s| *s).collect();
        assert_eq!(runs, vec![&[8_000][..], &[8_000, 1][..]]);
        assert_eq!(statement_runs(&[] as &[usize], 5, |s| *s).count(), 0);
    }
}
