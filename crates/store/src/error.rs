//! What can go wrong with the state database, with what was being done and where.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or created, or is not an SQLite database.
    #[error("opening the state database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    /// The file was migrated by a newer patchctl, whose schema this one does not know.
    #[error(
        "the state database {path} was written by a newer patchctl (schema version {version}); \
         use that version or newer"
    )]
    NewerSchema { path: PathBuf, version: i64 },
    /// The schema could not be brought up to date.
    #[error("migrating the state database {path}: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed; `doing` says what patchctl was doing (e.g. "recording an assessment of
    /// deb1").
    #[error("{doing}: {source}")]
    Query {
        doing: String,
        #[source]
        source: sqlx::Error,
    },
    /// The host has no row yet: hosts are upserted before anything is recorded about them.
    #[error("{doing}: host {host:?} is not in the state database (upsert it first)")]
    UnknownHost { doing: String, host: String },
    /// A different key is already pinned for the host.
    #[error(
        "pinning a host key for {host}: a different key is already pinned ({pinned_fingerprint}, \
         offered {offered_fingerprint}); unpin it first if the change is legitimate"
    )]
    HostKeyMismatch { host: String, pinned_fingerprint: String, offered_fingerprint: String },
    /// A value cannot be stored (a duration beyond `i64` milliseconds, a count beyond `i64`).
    #[error("{doing}: {message}")]
    InvalidValue { doing: String, message: String },
    /// A row holds what this version of patchctl cannot read (an unknown assessment format, JSON
    /// that does not parse, a value out of range).
    #[error("{doing}: unreadable row: {message}")]
    CorruptRow { doing: String, message: String },
}
