//! `patchctl db copy`: an SQLite state copied, whole, into an empty PostgreSQL database (a
//! laptop's setup moved to the server), then every evidence chain of the copy verified as
//! `audit verify --all` verifies it: a copy is done only when the audit says intact.

use std::path::{Path, PathBuf};

use store::{CopyReport, Store, StoreError};

use crate::audit::{AuditError, AuditReport, Scope};
use crate::{Clock, Context, Sources};

/// A PostgreSQL URL as messages show it: without its password.
pub fn shown_url(url: &str) -> String {
    store::redact_url(url)
}

/// A copy made and verified.
#[derive(Debug, Clone)]
pub struct Copied {
    /// Every table, with its rows.
    pub copy: CopyReport,
    /// The audit of the copy: intact.
    pub audit: AuditReport,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Nothing was written: the copy is all or nothing.
    #[error("copying {} into PostgreSQL: {source}", from.display())]
    Copy { from: PathBuf, source: StoreError },
    #[error("verifying the copy of {} in PostgreSQL: {source}", from.display())]
    Verify { from: PathBuf, source: AuditError },
    /// The rows were copied, but a chain does not verify on the copy: it is not to be used.
    #[error(
        "the copy of {} in PostgreSQL is not intact ({problems}): do not use it; drop that \
         database, run `patchctl audit verify --all` on the SQLite state, and copy again",
        from.display()
    )]
    NotIntact { from: PathBuf, problems: String, audit: Box<AuditReport> },
}

/// Copies the SQLite state at `from` into the empty PostgreSQL database at `to_url`
/// (`store::copy_sqlite_to_postgres`), then verifies every chain on the copy. The chains are
/// checked against the anchors exported for the SQLite state too, where `patchctl` run beside
/// it would find them (`[audit] anchor_file` of a `patchctl.toml` beside it, else
/// `<from>.anchors`), and the copy's heads are appended there, as `audit verify --all` does.
pub async fn copy(from: &Path, to_url: &str) -> Result<Copied, DbError> {
    let copy_error = |source| DbError::Copy { from: from.to_path_buf(), source };
    let copy = store::copy_sqlite_to_postgres(from, to_url, |_, _| {}).await.map_err(copy_error)?;
    let verify_error = |source| DbError::Verify { from: from.to_path_buf(), source };
    let store = Store::open_url(to_url).await.map_err(|e| verify_error(AuditError::Store(e)))?;
    let audit = verify(from, store.clone()).await;
    store.close().await;
    let audit = audit.map_err(verify_error)?;
    if !audit.is_intact() {
        let mut problems: Vec<String> = audit
            .chains
            .iter()
            .filter_map(|c| c.problem.as_ref().map(|p| format!("{}: {p}", c.chain)))
            .collect();
        problems.extend(audit.missing.iter().map(|chain| format!("{chain}: missing")));
        return Err(DbError::NotIntact {
            from: from.to_path_buf(),
            problems: problems.join("; "),
            audit: Box::new(audit),
        });
    }
    Ok(Copied { copy, audit })
}

/// `audit verify --all` over the copy, with the sources of the SQLite state's folder.
async fn verify(from: &Path, copy: Store) -> Result<AuditReport, AuditError> {
    let sources = Sources {
        config: from.with_file_name("patchctl.toml"),
        state: Some(from.to_path_buf()),
        policy: None,
        no_policy: true,
        // The SQLite state's anchors, not those of a state on PostgreSQL: the copy must
        // match what was exported from the state it was copied from.
        database_url: None,
    };
    let ctx = Context::new(sources, Clock::real(), "patchctl db copy".to_owned()).with_store(copy);
    crate::audit::check(&ctx, &Scope::All).await
}
