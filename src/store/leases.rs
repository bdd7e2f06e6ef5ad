//! Leases: a named role only one process may hold at a time (polling a bot token), kept by
//! renewing before it expires. A crashed holder's lease runs out by itself.

use chrono::{DateTime, Duration, Utc};

use super::{Db, StoreResult};
use crate::args;

/// Someone else's unexpired lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldBy {
    pub holder: String,
    /// Unix seconds; moves forward each time the holder renews.
    pub expires_at: i64,
}

/// Takes or renews the lease `name` for `holder` until `now + ttl`. Returns the current holder
/// when someone else holds an unexpired lease.
pub async fn acquire(
    db: &Db,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> StoreResult<Result<(), HeldBy>> {
    let until = (now + ttl).timestamp();
    let taken = db
        .execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
            args![name, holder, until, now.timestamp()],
        )
        .await?;
    if taken == 1 {
        return Ok(Ok(()));
    }
    let (holder, expires_at): (String, i64) = db
        .fetch_one(
            "SELECT holder, expires_at FROM leases WHERE name = $1",
            args![name],
        )
        .await?;
    Ok(Err(HeldBy { holder, expires_at }))
}

/// Gives the lease up at a clean shutdown, so a restart need not wait for it to expire.
pub async fn release(db: &Db, name: &str, holder: &str) -> StoreResult<()> {
    db.execute(
        "DELETE FROM leases WHERE name = $1 AND holder = $2",
        args![name, holder],
    )
    .await?;
    Ok(())
}
