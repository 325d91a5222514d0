//! The emergency track: which advisories call for an expedited plan, how long its later
//! environments wait, and the mark the plan carries. Pure.
//!
//! An advisory qualifies when its highest CVSS score reaches the threshold (9.0 by default,
//! `[emergency] cvss_threshold` in the policy), or when an operator names it (or one of its
//! CVEs). Its plan ignores maintenance windows (the scheduler's business) and starts where the
//! exposure starts: the first environment, in promotion order, with an exposed host takes it at
//! once; each later one waits for the versions to be verified on the environment before it, as
//! the promotion gate always asks, but for at most `soak_cap` (30 minutes by default) instead
//! of that environment's soak.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// The policy's `[emergency]` settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmergencySettings {
    /// An advisory whose highest CVSS score is at least this qualifies by itself.
    pub cvss_threshold: f64,
    /// The longest soak an emergency plan waits on the previous environment.
    pub soak_cap: TimeDelta,
}

// The threshold is checked to be a score from 0 to 10 when the policy is read: never NaN.
impl Eq for EmergencySettings {}

impl Default for EmergencySettings {
    fn default() -> Self {
        EmergencySettings { cvss_threshold: 9.0, soak_cap: TimeDelta::minutes(30) }
    }
}

impl EmergencySettings {
    /// Whether an advisory with this highest score is an emergency: named by an operator, or
    /// scored at or above the threshold. An unscored advisory qualifies only when named.
    pub fn qualifies(&self, cvss_score: Option<f64>, named: bool) -> bool {
        named || cvss_score.is_some_and(|score| score >= self.cvss_threshold)
    }

    /// The soak an emergency plan waits instead of `soak`.
    pub fn capped_soak(&self, soak: TimeDelta) -> TimeDelta {
        soak.min(self.soak_cap)
    }
}

/// What makes a plan an emergency plan, kept in the plan (and so covered by its hash): the
/// advisories it answers, their CVEs and highest score, and why it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emergency {
    pub advisories: Vec<String>,
    pub cves: Vec<String>,
    /// The highest CVSS score among the advisories, when any is scored.
    pub cvss_score: Option<f64>,
    /// `CVSS 9.8 >= 9.0`, or `named by alice`.
    pub reason: String,
}

// Scores are finite numbers with one decimal; equal plans must hash and compare equal.
impl Eq for Emergency {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifies_by_score_or_by_name() {
        let settings = EmergencySettings::default();
        assert!(settings.qualifies(Some(9.8), false));
        assert!(settings.qualifies(Some(9.0), false), "the threshold itself qualifies");
        assert!(!settings.qualifies(Some(8.9), false));
        assert!(!settings.qualifies(None, false), "an unscored advisory must be named");
        assert!(settings.qualifies(None, true));
        assert!(settings.qualifies(Some(3.1), true));
        let strict = EmergencySettings { cvss_threshold: 7.0, ..settings };
        assert!(strict.qualifies(Some(7.5), false));
    }

    #[test]
    fn the_soak_is_capped_never_lengthened() {
        let settings = EmergencySettings::default();
        assert_eq!(settings.capped_soak(TimeDelta::hours(24)), TimeDelta::minutes(30));
        assert_eq!(settings.capped_soak(TimeDelta::minutes(10)), TimeDelta::minutes(10));
        assert_eq!(settings.capped_soak(TimeDelta::zero()), TimeDelta::zero());
    }
}
