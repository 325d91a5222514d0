//! `database` in `server.toml`: the SQLite file's path (`database = "state.db"`), or a table
//! that may name it and sets the PostgreSQL connection pool:
//!
//! ```toml
//! [database]
//! max_connections = 16          # 1 to 1000
//! acquire_timeout_seconds = 10  # 1 to 3600
//! ```
//!
//! Read by hand from the TOML value, since the key takes either form; a problem points at the
//! `database` key or table.

use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;

use super::{ACQUIRE_TIMEOUT_SECONDS, MAX_CONNECTIONS, PoolConfig};

/// The path and the pool `database` sets; each problem told to `problem` at its span.
pub(super) fn parse(
    value: &Spanned<toml::Value>,
    problem: &mut impl FnMut(Range<usize>, String),
) -> (Option<PathBuf>, PoolConfig) {
    let span = value.span();
    let table = match value.get_ref() {
        toml::Value::String(path) => return (Some(PathBuf::from(path)), PoolConfig::default()),
        toml::Value::Table(table) => table,
        _ => {
            let message = "database must be the SQLite file's path, or a [database] table";
            problem(span, message.to_owned());
            return (None, PoolConfig::default());
        }
    };
    let mut path = None;
    let mut pool = PoolConfig::default();
    for (key, item) in table {
        let mut bounded = |range: std::ops::RangeInclusive<i64>| match item {
            toml::Value::Integer(n) if range.contains(n) => u32::try_from(*n).ok(),
            _ => {
                problem(
                    span.clone(),
                    format!(
                        "[database] {key} must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        };
        match key.as_str() {
            "path" => match item {
                toml::Value::String(text) => path = Some(PathBuf::from(text)),
                _ => problem(span.clone(), "[database] path must be a string".to_owned()),
            },
            "max_connections" => pool.max_connections = bounded(MAX_CONNECTIONS),
            "acquire_timeout_seconds" => {
                pool.acquire_timeout_seconds = bounded(ACQUIRE_TIMEOUT_SECONDS)
            }
            _ => problem(
                span.clone(),
                format!(
                    "unknown key {key:?} in [database]: expected path, max_connections or \
                     acquire_timeout_seconds"
                ),
            ),
        }
    }
    (path, pool)
}
