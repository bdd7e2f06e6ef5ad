//! Leases: a named role only one process may hold at a time (polling a bot token).
//!
//! The role is held by a lock that the operating system or the database server lets go of the
//! moment its holder dies, however it dies, so a restart after `kill -9` takes over at once
//! instead of waiting for a time-out, while a live holder keeps everyone else out:
//! - SQLite: an exclusive lock on a file beside the database (`<db>.<name>.lock`), which the
//!   kernel releases when the process ends;
//! - PostgreSQL: a session-level advisory lock on a connection of its own, which the server
//!   releases when that connection closes (a dead process's socket closes with it).
//!
//! The `leases` table names the current holder, for the refusal message and the operator.

use std::io::Write;

use chrono::{DateTime, Utc};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::{Db, StoreError, StoreResult};
use crate::args;

/// The advisory lock space qunbot's leases use on PostgreSQL ("qunb"). Leases use the two-key
/// form, which PostgreSQL keeps apart from the one-key form the engine locks chats with.
const PG_LEASE_SPACE: i32 = 0x7175_6e62;

/// A held lease; dropping it (or the process ending) lets it go.
#[derive(Debug)]
pub struct Lease {
    name: String,
    holder: String,
    lock: Lock,
}

#[derive(Debug)]
enum Lock {
    /// Holds the file's lock as long as it is open.
    File(
        #[expect(
            dead_code,
            reason = "held, never read: the lock lasts while the file is open"
        )]
        std::fs::File,
    ),
    /// Holds the advisory lock as long as the session lasts.
    Postgres(Box<PgConnection>),
    /// An in-memory database: no other process can reach it.
    InMemory,
}

/// Whether a lease could be taken.
#[derive(Debug)]
pub enum Taken {
    Yes(Lease),
    /// A live process holds it; its name as it recorded it, if it did.
    HeldBy(Option<String>),
}

/// Takes the lease `name` for `holder` if no live process holds it.
pub async fn take(db: &Db, name: &str, holder: &str, now: DateTime<Utc>) -> StoreResult<Taken> {
    let lock = match db {
        Db::Sqlite { writer, .. } => {
            let options = writer.connect_options();
            let database = options.get_filename();
            let in_memory = database.as_os_str().is_empty()
                || database
                    .to_string_lossy()
                    .starts_with("file:sqlx-in-memory")
                || database.as_os_str() == ":memory:";
            if in_memory {
                Some(Lock::InMemory)
            } else {
                let mut path = database.as_os_str().to_owned();
                path.push(format!(".{}.lock", file_safe(name)));
                lock_file(std::path::Path::new(&path), holder)?.map(Lock::File)
            }
        }
        Db::Postgres(pool) => {
            let mut connection = PgConnection::connect_with(&pool.connect_options()).await?;
            // A machine that vanishes without closing its socket would keep the lock until
            // the server noticed; these make it notice within about ten seconds. (Ignored on
            // a Unix socket, and not worth failing over.)
            for setting in [
                "SET tcp_keepalives_idle = 5",
                "SET tcp_keepalives_interval = 2",
                "SET tcp_keepalives_count = 3",
            ] {
                let _ = sqlx::query(setting).execute(&mut connection).await;
            }
            let (locked,): (bool,) =
                sqlx::query_as("SELECT pg_try_advisory_lock($1, hashtext($2))")
                    .bind(PG_LEASE_SPACE)
                    .bind(name)
                    .fetch_one(&mut connection)
                    .await?;
            locked.then(|| Lock::Postgres(Box::new(connection)))
        }
    };
    let Some(lock) = lock else {
        let holder: Option<(String,)> = db
            .fetch_optional("SELECT holder FROM leases WHERE name = $1", args![name])
            .await?;
        return Ok(Taken::HeldBy(holder.map(|(holder,)| holder)));
    };
    db.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
        args![name, holder, now.timestamp()],
    )
    .await?;
    Ok(Taken::Yes(Lease {
        name: name.to_owned(),
        holder: holder.to_owned(),
        lock,
    }))
}

impl Lease {
    /// Whether the lease is still held. A file lock cannot be lost; an advisory lock is lost
    /// with its connection (the database restarted, the network cut it), and is then taken
    /// again on a new one unless another process came first, which this reports as `false`:
    /// the caller must stop doing what the lease was for.
    pub async fn still_held(&mut self, db: &Db) -> StoreResult<bool> {
        let Lock::Postgres(connection) = &mut self.lock else {
            return Ok(true);
        };
        if connection.ping().await.is_ok() {
            return Ok(true);
        }
        tracing::warn!(lease = %self.name, "the connection holding the lease was lost; taking it again");
        match take(db, &self.name, &self.holder, Utc::now()).await? {
            Taken::Yes(again) => {
                self.lock = again.lock;
                Ok(true)
            }
            Taken::HeldBy(_) => Ok(false),
        }
    }

    /// Gives the lease up (at a clean shutdown).
    pub async fn release(self, db: &Db) -> StoreResult<()> {
        db.execute(
            "DELETE FROM leases WHERE name = $1 AND holder = $2",
            args![&self.name, &self.holder],
        )
        .await?;
        if let Lock::Postgres(connection) = self.lock {
            connection.close().await.ok();
        }
        Ok(())
    }
}

/// Locks the file at `path` (creating it) unless another process has it locked; the file then
/// names the holder, for whoever looks.
fn lock_file(path: &std::path::Path, holder: &str) -> StoreResult<Option<std::fs::File>> {
    let io = |error: std::io::Error| StoreError::LockFile(format!("{}: {error}", path.display()));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(error)) => return Err(io(error)),
    }
    file.set_len(0).map_err(io)?;
    writeln!(file, "{holder}").map_err(io)?;
    Ok(Some(file))
}

/// A lease name as part of a file name.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
