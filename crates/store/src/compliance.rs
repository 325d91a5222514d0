//! The fleet's compliance day by day: per environment, its hosts, how many were compliant and
//! what was pending, as last evaluated that day (UTC). The records, and [`ComplianceDays`],
//! what every backend implements for them.

use crate::StoreError;

#[async_trait::async_trait]
pub trait ComplianceDays: Send + Sync {
    /// Replaces the rows of `day` (`YYYY-MM-DD`) with `rows`, in one transaction: the day's
    /// latest evaluation.
    async fn record_compliance_day(
        &self,
        day: &str,
        rows: &[ComplianceDay],
    ) -> Result<(), StoreError>;

    /// The rows of every day from `since` (`YYYY-MM-DD`) on, oldest day first, each day's
    /// environments by name.
    async fn compliance_days(&self, since: &str) -> Result<Vec<ComplianceDay>, StoreError>;
}

/// One environment on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceDay {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub environment: String,
    pub hosts: i64,
    pub compliant: i64,
    /// Security updates pending, over the environment's hosts.
    pub security_updates: i64,
    pub hosts_with_security: i64,
    pub reboot_required: i64,
    /// Security updates pending by age: 0–7, 8–30, 31–90 and over 90 days.
    pub pending_by_age: [i64; 4],
    /// Security updates patched in the assessments on record, and their waits' sum (seconds).
    pub patched: i64,
    pub patched_seconds: i64,
    pub evaluated_at_unix: i64,
}
