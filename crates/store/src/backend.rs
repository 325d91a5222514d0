//! What a database behind [`crate::Store`] implements: the trait of every aggregate, and what
//! concerns the database as a whole (rehearsal copies, closing). SQLite (`sqlite.rs`) and
//! PostgreSQL (`postgres.rs`) implement it.

use std::fmt::Debug;
use std::path::Path;

use crate::{
    Advisories, Assessments, Changes, ComplianceDays, HostSteps, Hosts, Identities, Notifications,
    Plans, Postmortems, RolloutJournals, Rollouts, SchedulerLeader, StoreError, VerifiedVersions,
};

/// A state database: every aggregate, and the database as a whole.
#[async_trait::async_trait]
pub trait Backend:
    Hosts
    + Assessments
    + Plans
    + Changes
    + ComplianceDays
    + Rollouts
    + RolloutJournals
    + VerifiedVersions
    + HostSteps
    + Advisories
    + Postmortems
    + Notifications
    + Identities
    + SchedulerLeader
    + Debug
    + Send
    + Sync
{
    /// Whether this database is a rehearsal copy: where it was copied from (empty for an empty
    /// one) and when, or `None` for real state.
    async fn rehearsal(&self) -> Result<Option<(String, i64)>, StoreError>;

    /// Copies this database, whole and consistent, to a new file at `path` and marks the copy
    /// a rehearsal (`copied_from`, at `now_unix`). The file must not exist.
    async fn copy_for_rehearsal(
        &self,
        path: &Path,
        copied_from: &str,
        now_unix: i64,
    ) -> Result<(), StoreError>;

    /// A waiter woken when any process sharing this database journals a request to a rollout's
    /// driver or creates a rollout, several at once waking it once: on PostgreSQL (LISTEN and
    /// NOTIFY); on SQLite never. It only hastens polling, which stays the rule.
    fn wake_ups(&self) -> crate::WakeUps;

    /// The connection pool's size and wait, as the pool has them.
    fn pool_settings(&self) -> crate::PoolSettings;

    /// Closes every connection, after the writes in flight; the file is complete afterwards.
    async fn close(&self);
}
