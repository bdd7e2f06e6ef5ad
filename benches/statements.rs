//! Benchmark: what one statement costs through the storage layer, against what its rows cost.
//! 20,000 rows are upserted into `chats` (50 distinct chats, as a busy morning's batches touch
//! them) inside one transaction: a statement per row, then 32 rows per statement. The
//! difference between the two is the round trip: on SQLite, sqlx runs each connection on a
//! thread of its own, and every statement is a hop to that thread and back.
//!
//!     cargo bench --bench statements
//!     QUNBOT_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench statements
//!
//! Prints microseconds per row, wall clock and CPU time of the whole process (the database
//! connection's thread included; PostgreSQL's server processes not).

mod support;

use std::time::Instant;

use qunbot::args;
use qunbot::store::{Db, Sql};

const ROWS: i64 = 20_000;
const ROWS_PER_STATEMENT: usize = 32;

macro_rules! insert {
    () => {
        "INSERT INTO chats (chat_id, kind, first_seen, last_active) VALUES "
    };
}
macro_rules! on_conflict {
    () => {
        " ON CONFLICT (chat_id) DO UPDATE SET last_active = excluded.last_active"
    };
}

/// User and system CPU time this process has used, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

async fn measure(db: &Db, rows_per_statement: usize) -> (f64, f64) {
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let mut tx = db.begin().await.unwrap();
    let mut row = 0;
    while row < ROWS {
        let count = rows_per_statement.min((ROWS - row) as usize);
        let mut values = Vec::with_capacity(count * 4);
        for n in row..row + count as i64 {
            values.extend(args![-1_000_000 - n % 50, "group", n, n]);
        }
        if rows_per_statement == 1 {
            tx.execute(
                concat!(insert!(), "($1, $2, $3, $4)", on_conflict!()),
                values,
            )
            .await
            .unwrap();
        } else {
            // 32 consecutive rows name 32 different chats: a statement may not change a row twice.
            let sql = Sql::new(insert!()).rows(1, 4, count).then(on_conflict!());
            tx.execute_sql(sql, values).await.unwrap();
        }
        row += count as i64;
    }
    tx.commit().await.unwrap();
    let per_row = |seconds: f64| seconds * 1e6 / ROWS as f64;
    (
        per_row(started.elapsed().as_secs_f64()),
        per_row(cpu_seconds() - cpu),
    )
}

#[tokio::main]
async fn main() {
    println!("statements: {ROWS} upserts in one transaction");
    support::on_each_database(|name, db| async move {
        for rows_per_statement in [1, ROWS_PER_STATEMENT] {
            let (wall, cpu) = measure(&db, rows_per_statement).await;
            println!(
                "{name:<10} {rows_per_statement:>2} row(s) per statement: {wall:>6.1} µs per row, {cpu:>6.1} µs CPU"
            );
        }
    })
    .await;
}
