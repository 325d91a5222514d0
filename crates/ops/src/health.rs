//! Whether this process can serve: the state database opens and answers a query (the
//! server's `/readyz`), within [`READY_WITHIN`].

use std::time::Duration;

use crate::{Context, QueryError, SourceError};

/// How long readiness waits for the database: a probe wants its answer in about a second, and
/// a database that takes longer is as good as down for a patch window.
pub const READY_WITHIN: Duration = Duration::from_secs(2);

/// Opens the state database if needed and reads from it.
pub async fn ready(ctx: &Context) -> Result<(), QueryError> {
    let answered = tokio::time::timeout(READY_WITHIN, async {
        ctx.store().await?.rehearsal().await?;
        Ok::<(), QueryError>(())
    })
    .await;
    answered.unwrap_or_else(|_| {
        Err(QueryError::Source(SourceError::Invalid(format!(
            "the state database {} did not answer within {} s",
            ctx.sources.state_name(),
            READY_WITHIN.as_secs()
        ))))
    })
}
