//! Bind values that work on both backends.
//!
//! A NULL must carry its column's type on PostgreSQL (an untyped NULL bound as BIGINT into a TEXT
//! column is an error there), so the nullable variants keep the type they would have.

use sqlx::Arguments;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;

use super::StoreResult;

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Float(f64),
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Int(Some(value))
    }
}
impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Self {
        Arg::Int(value)
    }
}
impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(Some(value.to_owned()))
    }
}
impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(Some(value))
    }
}
impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Arg::Text(Some(value.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Self {
        Arg::Text(value)
    }
}
impl From<Option<&str>> for Arg {
    fn from(value: Option<&str>) -> Self {
        Arg::Text(value.map(str::to_owned))
    }
}
impl From<bool> for Arg {
    fn from(value: bool) -> Self {
        Arg::Bool(value)
    }
}
impl From<f64> for Arg {
    fn from(value: f64) -> Self {
        Arg::Float(value)
    }
}

/// `args![a, b, c]` builds the bind list for a query, converting each value with `Arg::from`.
#[macro_export]
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::store::Arg::from($value)),*]
    };
}

macro_rules! bind_all {
    ($arguments:ty, $values:expr) => {{
        let mut arguments = <$arguments>::default();
        for value in $values {
            match value {
                Arg::Int(v) => arguments.add(v),
                Arg::Text(v) => arguments.add(v),
                Arg::Bool(v) => arguments.add(v),
                Arg::Float(v) => arguments.add(v),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        Ok(arguments)
    }};
}

pub(super) fn sqlite(values: Vec<Arg>) -> StoreResult<SqliteArguments> {
    bind_all!(SqliteArguments, values)
}

pub(super) fn postgres(values: Vec<Arg>) -> StoreResult<PgArguments> {
    bind_all!(PgArguments, values)
}
