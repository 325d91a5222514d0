//! Whether this process can serve: the state database opens and answers a query (the
//! server's `/readyz`).

use crate::{Context, QueryError};

/// Opens the state database if needed and reads from it.
pub async fn ready(ctx: &Context) -> Result<(), QueryError> {
    ctx.store().await?.rehearsal().await?;
    Ok(())
}
