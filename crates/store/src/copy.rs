//! Copying an SQLite state into an empty PostgreSQL database, whole (`patchctl db copy`): a
//! laptop's state moved to a server with every id, seq, hash and time as it was, so that every
//! evidence chain verifies on the copy.
//!
//! The tables come from the schemas themselves (SQLite's `sqlite_master`, PostgreSQL's
//! `information_schema`), so that a table added later cannot be forgotten: a table or a column
//! on one side only is an error. Values are converted by the target column's type, strictly: a
//! value of another storage class, or out of the column's range, stops the copy. SQLite's
//! implicit rowid goes into PostgreSQL's identity `seq` columns (`assessments`,
//! `verified_versions`), which stand for it. Everything is written in one PostgreSQL
//! transaction, read from one SQLite snapshot: the copy is all or nothing. Table and column
//! names, checked to be plain lowercase names, are the only text formatted into SQL; values
//! are bound.
//!
//! The SQLite file is opened as [`crate::Store::open`] opens it: migrated, and the webhook URLs
//! of notifications recorded before 0010 redacted in it, so none reaches PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres as Pg, QueryBuilder, Row};

use crate::StoreError;
use crate::error::QueryContext;
use crate::postgres::{Postgres, redacted};
use crate::sqlite::Sqlite;

/// How many rows are read and inserted at a time (fewer for wide tables: PostgreSQL binds at
/// most 65,535 values per statement).
const BATCH_ROWS: usize = 500;

/// What a copy wrote: every table, in the order it was copied, with its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<TableCopied>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopied {
    pub table: String,
    pub rows: u64,
}

/// Copies the SQLite state at `from` into the PostgreSQL database at `to_url`, which must hold
/// no rows (it is migrated first); tells `progress` each table's rows copied so far, batch by
/// batch. On any error nothing is written to PostgreSQL.
pub async fn copy_sqlite_to_postgres(
    from: &Path,
    to_url: &str,
    mut progress: impl FnMut(&str, u64),
) -> Result<CopyReport, StoreError> {
    let source = Sqlite::open(from).await?;
    let target = match Postgres::open(to_url, crate::PoolSettings::default()).await {
        Ok(target) => target,
        Err(error) => {
            source.pool().close().await;
            return Err(error);
        }
    };
    let copied = copy(&source, &target, &redacted(to_url), &mut progress).await;
    source.pool().close().await;
    target.pool().close().await;
    copied
}

async fn copy(
    source: &Sqlite,
    target: &Postgres,
    target_name: &Path,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<CopyReport, StoreError> {
    let doing = || format!("copying the state into {}", target_name.display());
    // One read transaction: every table read from the same snapshot, whoever writes meanwhile.
    let mut reader = source.pool().begin().await.doing(doing)?;
    let mut writer = target.pool().begin().await.doing(doing)?;

    let tables = same_tables(&mut reader, &mut writer, &doing).await?;
    // Nobody writes to the target until the copy commits; readers may still read.
    let locked = tables.iter().map(|t| quoted(t)).collect::<Vec<_>>().join(", ");
    sqlx::query(&format!("LOCK TABLE {locked} IN EXCLUSIVE MODE"))
        .execute(&mut *writer)
        .await
        .doing(doing)?;
    for table in &tables {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table));
        let (has_rows,): (bool,) =
            sqlx::query_as(&sql).fetch_one(&mut *writer).await.doing(doing)?;
        if has_rows {
            return Err(StoreError::CopyTargetNotEmpty {
                target: target_name.to_path_buf(),
                table: table.clone(),
            });
        }
    }

    // The largest id SQLite's AUTOINCREMENT ever gave, deleted rows' included.
    let given: Vec<(String, i64)> = sqlx::query_as("SELECT name, seq FROM sqlite_sequence")
        .fetch_all(&mut *reader)
        .await
        .doing(doing)?;
    let given: BTreeMap<String, i64> = given.into_iter().collect();

    let mut report = CopyReport::default();
    for table in foreign_key_order(&mut writer, &tables, &doing).await? {
        let columns = columns(&mut reader, &mut writer, &table, &doing).await?;
        let rows = copy_table(&mut reader, &mut writer, &table, &columns, progress).await?;
        let sql = format!("SELECT COUNT(*) FROM {}", quoted(&table));
        let (written,): (i64,) = sqlx::query_as(&sql).fetch_one(&mut *writer).await.doing(doing)?;
        if u64::try_from(written).ok() != Some(rows) {
            return Err(StoreError::InvalidValue {
                doing: format!("{}, table {table}", doing()),
                message: format!("{rows} rows were read but {written} written"),
            });
        }
        for column in columns.iter().filter(|c| c.generated) {
            reset_sequence(&mut writer, &table, &column.name, given.get(&table), &doing).await?;
        }
        report.tables.push(TableCopied { table, rows });
    }
    writer.commit().await.doing(doing)?;
    reader.rollback().await.doing(doing)?;
    Ok(report)
}

type Reader = sqlx::Transaction<'static, sqlx::Sqlite>;
type Writer = sqlx::Transaction<'static, Pg>;

/// The tables both databases have, or an error naming those only one has.
async fn same_tables(
    reader: &mut Reader,
    writer: &mut Writer,
    doing: &dyn Fn() -> String,
) -> Result<Vec<String>, StoreError> {
    let sqlite: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master
         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
           AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut **reader)
    .await
    .doing(doing)?;
    let postgres: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
           AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut **writer)
    .await
    .doing(doing)?;
    let sqlite: BTreeSet<String> = sqlite.into_iter().map(|(t,)| t).collect();
    let postgres: BTreeSet<String> = postgres.into_iter().map(|(t,)| t).collect();
    let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
        a.difference(b).cloned().collect::<Vec<_>>().join(", ")
    };
    if sqlite != postgres {
        return Err(StoreError::InvalidValue {
            doing: doing(),
            message: format!(
                "the two schemas have different tables (only in SQLite: [{}]; only in \
                 PostgreSQL: [{}]): both must be of the same patchctl",
                only(&sqlite, &postgres),
                only(&postgres, &sqlite)
            ),
        });
    }
    for table in &sqlite {
        check_name(table, doing)?;
    }
    Ok(sqlite.into_iter().collect())
}

/// The tables in an order where each comes after those its foreign keys refer to, by name
/// among those free to go.
async fn foreign_key_order(
    writer: &mut Writer,
    tables: &[String],
    doing: &dyn Fn() -> String,
) -> Result<Vec<String>, StoreError> {
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT child.relname::text, parent.relname::text
         FROM pg_constraint c
         JOIN pg_class child ON child.oid = c.conrelid
         JOIN pg_class parent ON parent.oid = c.confrelid
         WHERE c.contype = 'f' AND child.relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut **writer)
    .await
    .doing(doing)?;
    let mut waiting: BTreeMap<&str, BTreeSet<&str>> =
        tables.iter().map(|t| (t.as_str(), BTreeSet::new())).collect();
    for (child, parent) in &references {
        if let Some(parents) = waiting.get_mut(child.as_str()).filter(|_| child != parent) {
            parents.insert(parent.as_str());
        }
    }
    let mut order: Vec<String> = Vec::new();
    while !waiting.is_empty() {
        let ready: Vec<&str> = waiting
            .iter()
            .filter(|(_, parents)| parents.iter().all(|p| !waiting.contains_key(p)))
            .map(|(table, _)| *table)
            .collect();
        if ready.is_empty() {
            let cycle: Vec<&str> = waiting.keys().copied().collect();
            return Err(StoreError::InvalidValue {
                doing: doing(),
                message: format!("the foreign keys of [{}] form a cycle", cycle.join(", ")),
            });
        }
        for table in ready {
            waiting.remove(table);
            order.push(table.to_owned());
        }
    }
    Ok(order)
}

/// A PostgreSQL column and what it is filled from.
struct Column {
    name: String,
    kind: Kind,
    /// SQLite's expression for its value: the column, or `rowid`.
    source: String,
    /// Filled by a sequence (an identity or serial column): reset after the copy.
    generated: bool,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    BigInt,
    Integer,
    Boolean,
    Double,
    Text,
    Bytes,
}

/// The target's columns of `table`, each matched with SQLite's, or an error naming a column
/// one side lacks or a type the copy does not know.
async fn columns(
    reader: &mut Reader,
    writer: &mut Writer,
    table: &str,
    doing: &dyn Fn() -> String,
) -> Result<Vec<Column>, StoreError> {
    let doing = || format!("{}, table {table}", doing());
    let postgres: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text, is_identity::text, column_default::text
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1
         ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut **writer)
    .await
    .doing(doing)?;
    let sqlite: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info($1)")
        .bind(table)
        .fetch_all(&mut **reader)
        .await
        .doing(doing)?;
    let mut sqlite: BTreeSet<String> = sqlite.into_iter().map(|(c,)| c).collect();
    let mismatch = |message: String| StoreError::InvalidValue { doing: doing(), message };
    let mut columns = Vec::new();
    for (name, data_type, is_identity, default) in postgres {
        check_name(&name, &doing)?;
        let generated =
            is_identity == "YES" || default.as_deref().is_some_and(|d| d.starts_with("nextval("));
        let source = if sqlite.remove(&name) {
            quoted(&name)
        } else if name == "seq" && generated {
            // PostgreSQL's stand-in for SQLite's implicit rowid.
            "rowid".to_owned()
        } else {
            return Err(mismatch(format!("column {name} is in PostgreSQL only")));
        };
        let kind = match data_type.as_str() {
            "bigint" => Kind::BigInt,
            "integer" => Kind::Integer,
            "boolean" => Kind::Boolean,
            "double precision" => Kind::Double,
            "text" => Kind::Text,
            "bytea" => Kind::Bytes,
            other => {
                return Err(mismatch(format!(
                    "column {name} is of type {other}, unknown to the copy"
                )));
            }
        };
        columns.push(Column { name, kind, source, generated });
    }
    if let Some(name) = sqlite.first() {
        return Err(mismatch(format!("column {name} is in SQLite only")));
    }
    Ok(columns)
}

/// One value on its way, as the target column takes it.
enum Value {
    BigInt(Option<i64>),
    Integer(Option<i32>),
    Boolean(Option<bool>),
    Double(Option<f64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// Copies a table's rows in rowid order, a batch at a time; returns how many.
async fn copy_table(
    reader: &mut Reader,
    writer: &mut Writer,
    table: &str,
    columns: &[Column],
    progress: &mut dyn FnMut(&str, u64),
) -> Result<u64, StoreError> {
    let doing = || format!("copying table {table}");
    let batch = BATCH_ROWS.min(60_000 / columns.len().max(1)).max(1);
    let sources: Vec<&str> = columns.iter().map(|c| c.source.as_str()).collect();
    let select = format!(
        "SELECT rowid AS copy_rowid, {} FROM {} WHERE rowid > $1 ORDER BY rowid LIMIT $2",
        sources.join(", "),
        quoted(table)
    );
    let names: Vec<String> = columns.iter().map(|c| quoted(&c.name)).collect();
    let insert =
        format!("INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE ", quoted(table), names.join(", "));
    let mut after: i64 = i64::MIN;
    let mut copied: u64 = 0;
    loop {
        let rows = sqlx::query(&select)
            .bind(after)
            .bind(i64::try_from(batch).unwrap_or(i64::MAX))
            .fetch_all(&mut **reader)
            .await
            .doing(doing)?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("copy_rowid").doing(doing)?;
        let values = rows
            .iter()
            .map(|row| row_values(row, table, columns))
            .collect::<Result<Vec<_>, _>>()?;
        let mut builder = QueryBuilder::<Pg>::new(&insert);
        builder.push_values(values, |mut row, values| {
            for value in values {
                match value {
                    Value::BigInt(v) => row.push_bind(v),
                    Value::Integer(v) => row.push_bind(v),
                    Value::Boolean(v) => row.push_bind(v),
                    Value::Double(v) => row.push_bind(v),
                    Value::Text(v) => row.push_bind(v),
                    Value::Bytes(v) => row.push_bind(v),
                };
            }
        });
        let first = rows.first().map_or(0, |r| r.try_get::<i64, _>("copy_rowid").unwrap_or(0));
        builder.build().execute(&mut **writer).await.doing(|| {
            format!("copying table {table}: writing the rows of rowids {first} to {after}")
        })?;
        copied += rows.len() as u64;
        progress(table, copied);
        if rows.len() < batch {
            break;
        }
    }
    Ok(copied)
}

/// A row's values converted for PostgreSQL, or an error naming the row and the column.
fn row_values(row: &SqliteRow, table: &str, columns: &[Column]) -> Result<Vec<Value>, StoreError> {
    let rowid: i64 = row.try_get("copy_rowid").unwrap_or(0);
    columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let index = index + 1;
            let bad = |message: String| StoreError::CorruptRow {
                doing: format!(
                    "copying table {table}, row with rowid {rowid}, column {}",
                    column.name
                ),
                message,
            };
            let decoded = |error: sqlx::Error| bad(error.to_string());
            Ok(match column.kind {
                Kind::BigInt => Value::BigInt(row.try_get(index).map_err(decoded)?),
                Kind::Integer => {
                    let value: Option<i64> = row.try_get(index).map_err(decoded)?;
                    let value = value
                        .map(i32::try_from)
                        .transpose()
                        .map_err(|_| bad(format!("{value:?} is beyond a PostgreSQL INTEGER")))?;
                    Value::Integer(value)
                }
                Kind::Boolean => {
                    let value: Option<i64> = row.try_get(index).map_err(decoded)?;
                    Value::Boolean(match value {
                        None => None,
                        Some(0) => Some(false),
                        Some(1) => Some(true),
                        Some(other) => {
                            return Err(bad(format!("{other} is not a boolean (0 or 1)")));
                        }
                    })
                }
                Kind::Double => Value::Double(row.try_get(index).map_err(decoded)?),
                Kind::Text => Value::Text(row.try_get(index).map_err(decoded)?),
                Kind::Bytes => Value::Bytes(row.try_get(index).map_err(decoded)?),
            })
        })
        .collect()
}

/// Sets the sequence behind `table.column` to give, next, one more than the largest value
/// copied or than SQLite's AUTOINCREMENT ever gave (`given`), so no id is given twice.
async fn reset_sequence(
    writer: &mut Writer,
    table: &str,
    column: &str,
    given: Option<&i64>,
    doing: &dyn Fn() -> String,
) -> Result<(), StoreError> {
    let doing = || format!("{}: resetting the sequence of {table}.{column}", doing());
    let sql = format!("SELECT COALESCE(MAX({}), 0)::bigint FROM {}", quoted(column), quoted(table));
    let (largest,): (i64,) = sqlx::query_as(&sql).fetch_one(&mut **writer).await.doing(doing)?;
    let next = largest.max(given.copied().unwrap_or(0)) + 1;
    sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3, false)")
        .bind(table)
        .bind(column)
        .bind(next)
        .execute(&mut **writer)
        .await
        .doing(doing)?;
    Ok(())
}

/// A table's or column's name, refused unless plain (lowercase ASCII letters, digits and
/// underscores), since it is formatted into SQL.
fn check_name(name: &str, doing: &dyn Fn() -> String) -> Result<(), StoreError> {
    let plain = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        return Ok(());
    }
    Err(StoreError::InvalidValue {
        doing: doing(),
        message: format!("{name:?} is not a plain table or column name"),
    })
}

fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}
