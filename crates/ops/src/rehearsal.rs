//! Rehearsals: a copy of the state to run commands in at a virtual time (`--now`). A virtual
//! clock dates nothing in real state: every use case that writes refuses it unless the state
//! database is a rehearsal copy, so no approval, gate, assessment or journal time of the real
//! record is ever taken from it.

use std::path::Path;

use store::Store;

use crate::{Context, SourceError};

#[derive(Debug, thiserror::Error)]
pub enum RehearsalError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error(
        "--now {at}: a virtual clock may date nothing in the real state ({}); it is for \
         read-only commands, or for a rehearsal copy: `patchctl rehearsal create COPY`, then \
         `--state COPY --now …`",
        state.display()
    )]
    VirtualClockOnRealState { at: String, state: std::path::PathBuf },
    #[error("{} does not exist: nothing to copy (--empty makes an empty rehearsal)", .0.display())]
    NothingToCopy(std::path::PathBuf),
    #[error("copying {} to {}: {source}", from.display(), to.display())]
    Copy { from: std::path::PathBuf, to: std::path::PathBuf, source: store::StoreError },
}

/// What the state database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateKind {
    Real,
    EmptyRehearsal,
    /// A rehearsal copy of this database.
    CopyOf(String),
}

/// Refuses a virtual clock for a use case that `writes`, unless the state is a rehearsal
/// copy; says loudly, through the context's progress, that it is one when it is.
pub async fn check_clock(ctx: &Context, writes: bool) -> Result<(), RehearsalError> {
    let Some(at) = ctx.clock.virtual_start() else { return Ok(()) };
    if !writes {
        return Ok(());
    }
    let state = ctx.sources.state_name();
    let exists = ctx.sources.database_url.is_some() || ctx.sources.state().exists();
    let rehearsal = if exists { ctx.store().await?.rehearsal().await? } else { None };
    match rehearsal {
        Some(_) => {
            ctx.progress.notice(&format!(
                "REHEARSAL at the virtual time {at}: {state} is a rehearsal copy, not evidence"
            ));
            Ok(())
        }
        None => {
            Err(RehearsalError::VirtualClockOnRealState { at: at.to_string(), state: state.into() })
        }
    }
}

/// Makes a rehearsal state at `copy`: a new empty one, or a whole, consistent copy of the
/// state database. Dated by the real clock.
pub async fn create(ctx: &Context, copy: &Path, empty: bool) -> Result<(), RehearsalError> {
    let now = ctx.clock.real_unix();
    if empty {
        Store::create_empty_rehearsal(copy, now).await?.close().await;
        return Ok(());
    }
    let from = ctx.sources.state();
    if !from.exists() {
        return Err(RehearsalError::NothingToCopy(from));
    }
    ctx.store()
        .await?
        .copy_for_rehearsal(copy, &from.display().to_string(), now)
        .await
        .map_err(|source| RehearsalError::Copy { from, to: copy.to_owned(), source })
}

/// Whether the state database is a rehearsal, and of what.
pub async fn kind(ctx: &Context) -> Result<StateKind, RehearsalError> {
    Ok(match ctx.store().await?.rehearsal().await? {
        None => StateKind::Real,
        Some((from, _)) if from.is_empty() => StateKind::EmptyRehearsal,
        Some((from, _)) => StateKind::CopyOf(from),
    })
}
