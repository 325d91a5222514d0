//! The policy's patch baselines applied to a plan: which pending updates each host's
//! environment takes now, and the rule that withholds each of the others. Pure.
//!
//! A host follows its environment's baseline (`Policy::baseline_of`), decided at the plan's
//! time. The track decides how much of the baseline applies:
//!
//! - [`Track::Regular`] (`plan create`, the scheduler): all of it, in the order `baseline.rs`
//!   gives — `exclude`, `reject`, `hold`, `approve`, then the rules by classification, severity
//!   and age, the age counted from the update's release date ([`ReleaseDates`]). An update a
//!   rule approves only later is withheld with the time it will be approved.
//! - [`Track::Emergency`] (`patchctl emergency`): only the lists that name packages, `exclude`,
//!   `reject` and `hold`. Each is a decision about one package that someone took for a reason
//!   (another team patches it, this version is known to break, the package waits for a
//!   migration), and a critical advisory does not prove that reason wrong; so the fixing
//!   package is withheld like any other, and the emergency says loudly that its host stays
//!   exposed, naming the rule. Lifting the rule in the policy and running the emergency again
//!   patches it, and the change of policy is on record. The rules by classification, severity
//!   and age do not apply: they say which routine updates to take and how long to wait, while
//!   the emergency is the decision to take this fix now. A waiting period would leave the host
//!   exposed to a critical vulnerability for exactly the time the track exists to save, and a
//!   distribution's rating below the rules' (an `important` fix of a CVSS 9.8) must not stop
//!   it either. The emergency's own safeguards — the promotion gate with its soak cap, the
//!   environments' approvals — still apply.

use chrono::{DateTime, Utc};

use super::build::PlanHost;
use super::{WithheldBy, WithheldUpdate};
use crate::PendingUpdate;
use crate::policy::{Baseline, Decision, Policy, Rejection, approved};
use crate::released::{ReleaseDates, ReleaseSource, Released};

/// Which decision a plan is made for; see the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    Regular,
    Emergency,
}

/// What a plan needs to apply the policy's baselines.
#[derive(Debug, Clone, Copy)]
pub struct PlanBaselines<'a> {
    pub policy: &'a Policy,
    pub track: Track,
    /// When each update was released, for the age rules (the regular track only).
    pub release_dates: &'a ReleaseDates,
}

impl PlanBaselines<'_> {
    /// Whether a plan for hosts of `environments` on `track` under `policy` may need release
    /// dates: a regular plan for an environment whose baseline waits some days. The shell
    /// reads the assessment history, the costly part of the dates, only then.
    pub fn need_release_dates<'e>(
        policy: &Policy,
        track: Track,
        mut environments: impl Iterator<Item = &'e str>,
    ) -> bool {
        track == Track::Regular
            && environments.any(|environment| {
                policy.baseline_of(environment).is_some_and(|baseline| {
                    baseline.rules.iter().any(|rule| rule.auto_approve_after_days > 0)
                })
            })
    }

    /// `None` when `host`'s baseline takes `update` now; else what withholds it.
    pub(super) fn withheld(
        &self,
        host: &PlanHost,
        update: &PendingUpdate,
        now: DateTime<Utc>,
    ) -> Option<WithheldUpdate> {
        let baseline = self.policy.baseline_of(&host.environment)?;
        let released = match self.track {
            Track::Regular => self.release_dates.of(update),
            Track::Emergency => None,
        };
        let decision = approved(update, released.as_ref().map(|r| r.at), now, baseline);
        let whose = format!("baseline {:?} of {}", baseline.name, host.environment);
        let (rule, approved_after, reason) = match decision {
            Decision::Approved => return None,
            Decision::Excluded { pattern } => (
                WithheldBy::Excluded,
                None,
                format!("excluded by {whose} (exclude = [{pattern:?}])"),
            ),
            Decision::Rejected { reason: Rejection::Listed { pattern } } => (
                WithheldBy::Rejected,
                None,
                format!("rejected by {whose} (reject = [{pattern:?}])"),
            ),
            Decision::Rejected { reason: Rejection::Held { pattern } } => {
                (WithheldBy::Held, None, format!("held by {whose} (hold = [{pattern:?}])"))
            }
            // The emergency track takes what the rules would not, or not yet.
            Decision::Rejected { reason: Rejection::NoRule { .. } } | Decision::Pending { .. }
                if self.track == Track::Emergency =>
            {
                return None;
            }
            Decision::Rejected { reason: reason @ Rejection::NoRule { .. } } => {
                (WithheldBy::NoRule, None, format!("not approved by {whose}: {reason}"))
            }
            Decision::Pending { until } => {
                let reason = waiting(update, until, released.as_ref(), baseline, &whose);
                (WithheldBy::NotYet, until.map(|until| until.timestamp()), reason)
            }
        };
        Some(WithheldUpdate {
            host: host.name.clone(),
            name: update.name.clone(),
            arch: update.arch.clone(),
            version: update.candidate_version.clone(),
            rule,
            approved_after_unix: approved_after,
            reason,
        })
    }
}

/// `approved after … (released …, auto_approve_after_days = N in …)`.
fn waiting(
    update: &PendingUpdate,
    until: Option<DateTime<Utc>>,
    released: Option<&Released>,
    baseline: &Baseline,
    whose: &str,
) -> String {
    let (Some(until), Some(released)) = (until, released) else {
        // The shortest wait of the rules that match, the one that decides.
        let days = baseline
            .rules
            .iter()
            .filter(|rule| rule.matches(update.classification, update.severity))
            .map(|rule| rule.auto_approve_after_days)
            .min()
            .unwrap_or(0);
        return format!(
            "waits for a release date: no advisory dates it and no assessment on record saw it \
             (auto_approve_after_days = {days} in {whose})"
        );
    };
    let days = (until - released.at).num_days();
    let since = match &released.source {
        ReleaseSource::Advisory(id) => format!("released {} by {id}", instant(released.at)),
        ReleaseSource::FirstSeen => {
            format!("first seen pending {}, no dated advisory", instant(released.at))
        }
    };
    format!(
        "approved after {} ({since}, auto_approve_after_days = {days} in {whose})",
        instant(until)
    )
}

/// A time as plans show it: to the minute, in UTC, since a day is 24 hours of elapsed time.
fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests;
