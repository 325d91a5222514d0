//! When pending updates were released and first seen: the clocks that start with an update.
//! Pure. A baseline's `auto_approve_after_days` counts from [`ReleaseDates::of`]; compliance's
//! SLA counts from [`pending_since`]. Both read the same record: every successful assessment,
//! oldest first, with the time the store dated it.
//!
//! An update's release date is the earliest date among the advisories it fixes (updateinfo's
//! `issued`, OSV's `published`), the distribution's own word. An update no dated advisory
//! names (most bugfixes; every apt update, since apt publishes no dates) counts from the first
//! time an assessment saw that version pending on any host: later than its real release, so a
//! waiting period counted from it is never shorter than the policy asks.
//!
//! The two clocks differ on purpose. A release date belongs to a version: it is the same
//! whichever host shows it, and a host patched since (no longer showing it) still proves the
//! version existed then. An SLA belongs to one host's exposure: it starts again when the host
//! was patched and a new update of the package arrived.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::{Assessment, PendingUpdate};

/// One version of a package for one architecture: what a release date is known for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UpdateKey {
    pub name: String,
    pub arch: String,
    /// The candidate version.
    pub version: String,
}

impl UpdateKey {
    pub fn of(update: &PendingUpdate) -> UpdateKey {
        UpdateKey {
            name: update.name.clone(),
            arch: update.arch.clone(),
            version: update.candidate_version.clone(),
        }
    }
}

/// When an update was released, and how that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub at: DateTime<Utc>,
    pub source: ReleaseSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseSource {
    /// The issued or published date of this advisory, the earliest of those the update fixes.
    Advisory(String),
    /// No advisory dates it: the first assessment that saw it pending, on any host.
    FirstSeen,
}

/// What release dates are known from: the advisories' dates by id and the first sightings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseDates {
    advisories: BTreeMap<String, DateTime<Utc>>,
    first_seen: BTreeMap<UpdateKey, i64>,
}

impl ReleaseDates {
    pub fn new(
        advisories: BTreeMap<String, DateTime<Utc>>,
        first_seen: BTreeMap<UpdateKey, i64>,
    ) -> ReleaseDates {
        ReleaseDates { advisories, first_seen }
    }

    /// When `update` was released: the earliest date of the advisories it fixes, else when it
    /// was first seen pending; `None` when neither is known.
    pub fn of(&self, update: &PendingUpdate) -> Option<Released> {
        let advisory = update
            .advisories
            .iter()
            .filter_map(|id| self.advisories.get(id).map(|at| (*at, id)))
            .min();
        if let Some((at, id)) = advisory {
            return Some(Released { at, source: ReleaseSource::Advisory(id.clone()) });
        }
        let seen = self.first_seen.get(&UpdateKey::of(update))?;
        Some(Released { at: DateTime::from_timestamp(*seen, 0)?, source: ReleaseSource::FirstSeen })
    }
}

/// The first time each version was seen pending in `assessments`, of any hosts, in any order.
pub fn first_seen<'a>(
    assessments: impl IntoIterator<Item = &'a Assessment>,
) -> BTreeMap<UpdateKey, i64> {
    let mut first_seen: BTreeMap<UpdateKey, i64> = BTreeMap::new();
    for assessment in assessments {
        for update in &assessment.updates {
            first_seen
                .entry(UpdateKey::of(update))
                .and_modify(|seen| *seen = (*seen).min(assessment.taken_at_unix))
                .or_insert(assessment.taken_at_unix);
        }
    }
    first_seen
}

/// Since when each update of the latest of one host's `assessments` (oldest first) that
/// `counts` has been pending, by name and architecture: the earliest assessment of the unbroken
/// run, ending with the latest, that saw an update of that package pending (whatever its
/// version, as long as `counts` takes it). A run broken by an assessment without one (patched,
/// then a new update) starts the clock again.
pub fn pending_since(
    assessments: &[Assessment],
    counts: impl Fn(&PendingUpdate) -> bool,
) -> BTreeMap<(&str, &str), i64> {
    let mut since = BTreeMap::new();
    let Some(latest) = assessments.last() else { return since };
    for update in latest.updates.iter().filter(|u| counts(u)) {
        let key = (update.name.as_str(), update.arch.as_str());
        let mut seen = latest.taken_at_unix;
        for earlier in assessments.iter().rev().skip(1) {
            let has =
                earlier.updates.iter().any(|u| counts(u) && u.name == key.0 && u.arch == key.1);
            if !has {
                break;
            }
            seen = earlier.taken_at_unix;
        }
        since.insert(key, seen);
    }
    since
}

#[cfg(test)]
mod tests;
