//! How long security updates wait, per host from its assessments: the ages of those pending
//! now, in [`BUCKETS`], and the time to patch of those no longer pending. An update's wait is
//! a run of assessments that saw a security update of its package (and architecture) pending,
//! whatever the version, as `released::pending_since` counts it: it opens with the first of
//! the run and closes with the first assessment after it that saw none.

use std::collections::BTreeMap;

use crate::assessment::{Assessment, Classification};

/// The age buckets of pending security updates: each one's words and its last day.
pub const BUCKETS: [(&str, i64); 4] =
    [("0–7 days", 7), ("8–30 days", 30), ("31–90 days", 90), ("over 90 days", i64::MAX)];

const DAY: i64 = 86_400;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchAge {
    /// Security updates pending now, by age ([`BUCKETS`]).
    pub pending: [u64; 4],
    /// Security updates patched (seen pending, then no longer), and their waits in seconds.
    pub patched: u64,
    pub patched_seconds: i64,
}

impl PatchAge {
    /// The mean time to patch in seconds, when anything was patched.
    pub fn mean_time_to_patch(&self) -> Option<i64> {
        (self.patched > 0).then(|| self.patched_seconds / self.patched as i64)
    }

    pub fn add(&mut self, other: &PatchAge) {
        for (sum, n) in self.pending.iter_mut().zip(other.pending) {
            *sum += n;
        }
        self.patched += other.patched;
        self.patched_seconds += other.patched_seconds;
    }
}

/// One host's, from its successful `assessments` (oldest first), at `now_unix`.
pub fn of_host(assessments: &[Assessment], now_unix: i64) -> PatchAge {
    let mut age = PatchAge::default();
    let mut open: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for assessment in assessments {
        let pending: BTreeMap<(&str, &str), ()> = assessment
            .updates
            .iter()
            .filter(|u| u.classification == Classification::Security)
            .map(|u| ((u.name.as_str(), u.arch.as_str()), ()))
            .collect();
        open.retain(|key, since| {
            let still = pending.contains_key(key);
            if !still {
                age.patched += 1;
                age.patched_seconds += (assessment.taken_at_unix - *since).max(0);
            }
            still
        });
        for key in pending.into_keys() {
            open.entry(key).or_insert(assessment.taken_at_unix);
        }
    }
    for since in open.values() {
        let days = (now_unix - since).max(0) / DAY;
        let bucket =
            BUCKETS.iter().position(|(_, last)| days <= *last).unwrap_or(BUCKETS.len() - 1);
        age.pending[bucket] += 1;
    }
    age
}
