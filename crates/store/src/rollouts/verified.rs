//! Promotion evidence: the package versions each rollout applied to hosts whose postchecks then
//! passed, written with the journal entries that prove them. The records, and
//! [`VerifiedVersions`], what every backend implements for them.

use crate::StoreError;
use crate::validate::Checked;

/// Verified versions. The methods taking a `Checked` are called through [`crate::Store`],
/// which checks their arguments first (`validate.rs`).
#[async_trait::async_trait]
pub trait VerifiedVersions: Send + Sync {
    /// Every package version a rollout applied to a host that ended done (its postchecks
    /// passed), newest rollout first: the promotion gate's evidence, kept by
    /// [`crate::Store::append_journal_verified`]. Rollouts listed by
    /// [`VerifiedVersions::rollouts_without_verified`] are missing from it until
    /// [`crate::Store::record_verified`] fills them.
    async fn verified_versions(&self) -> Result<Vec<VerifiedVersion>, StoreError>;

    /// The rollouts journaled before verified versions were recorded with the journal, oldest
    /// first: their evidence is in their journals only, until [`crate::Store::record_verified`].
    async fn rollouts_without_verified(&self) -> Result<Vec<String>, StoreError>;

    /// [`crate::Store::record_verified`], the versions checked to be of the rollout.
    async fn record_verified(
        &self,
        checked: Checked,
        rollout_id: &str,
        through_seq: i64,
        hosts: &[VerifiedHost],
    ) -> Result<bool, StoreError>;
}

/// A package version a rollout applied to a host whose postchecks then passed: promotion
/// evidence, as the `verified_versions` table keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedVersion {
    pub rollout_id: String,
    pub host: String,
    pub environment: String,
    pub name: String,
    pub arch: String,
    pub version: String,
    /// When the host's last postcheck passed, in whole seconds.
    pub verified_at_unix: i64,
}

/// What a journal append proves about one host of the rollout: its verified versions are
/// replaced by `versions`, empty when the host is not (or no longer) done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHost {
    pub host: String,
    pub versions: Vec<VerifiedVersion>,
}
