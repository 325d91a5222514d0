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
//!
//! [`select`] reads the hosts' findings and says which advisories qualify, which hosts take
//! which fixing packages, and which have no fix offered yet; the shell (`ops::emergency`)
//! reads the findings from the store, plans what was selected and reports the rest.

use std::collections::BTreeSet;

use chrono::TimeDelta;

use crate::ResolvedHost;
use crate::advisory::{ExposureStatus, Finding};
use crate::plan::WithheldUpdate;

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
#[derive(Debug, Clone, PartialEq)]
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

/// What the emergency track selects from the hosts' findings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// The advisories that qualified and expose at least one host, with their highest score,
    /// by id.
    pub advisories: Vec<(String, Option<f64>)>,
    /// The CVEs of the qualifying findings.
    pub cves: BTreeSet<String>,
    /// The packages whose offered updates fix a qualifying finding: the plan's scope.
    pub packages: BTreeSet<String>,
    /// The hosts offered a fix for at least one qualifying finding: the plan's hosts.
    pub exposed: BTreeSet<String>,
    /// (host, package) for each fix offered to an exposed host.
    pub fixes: BTreeSet<(String, String)>,
    /// (host, why) for each qualifying finding whose fixed version the host's repositories do
    /// not offer yet.
    pub unfixable: Vec<(String, String)>,
}

/// Selects, from each host's findings (in the order given), those that call for the emergency
/// track: affected, and qualifying by score or because `named` holds their advisory or one of
/// their CVEs.
pub fn select<'a>(
    settings: &EmergencySettings,
    named: &[String],
    hosts: impl IntoIterator<Item = (&'a str, &'a [Finding])>,
) -> Selection {
    let is_named = |advisory: &str, cves: &[String]| {
        named.iter().any(|n| n == advisory || cves.iter().any(|c| c == n))
    };
    let mut selection = Selection::default();
    for (host, findings) in hosts {
        for finding in findings {
            let named = is_named(&finding.advisory, &finding.cves);
            if finding.status != ExposureStatus::Affected
                || !settings.qualifies(finding.cvss_score, named)
            {
                continue;
            }
            if !selection.advisories.iter().any(|(id, _)| *id == finding.advisory) {
                selection.advisories.push((finding.advisory.clone(), finding.cvss_score));
            }
            selection.cves.extend(finding.cves.iter().cloned());
            match finding.update {
                Some(_) => {
                    selection.packages.insert(finding.package.clone());
                    selection.exposed.insert(host.to_owned());
                    selection.fixes.insert((host.to_owned(), finding.package.clone()));
                }
                None => selection.unfixable.push((
                    host.to_owned(),
                    format!(
                        "{} {}: no update to a fixed version is offered yet ({})",
                        finding.package, finding.installed_version, finding.advisory
                    ),
                )),
            }
        }
    }
    selection.advisories.sort_by(|a, b| a.0.cmp(&b.0));
    selection
}

impl Selection {
    /// The mark of the emergency plan; none when no advisory qualified. `named` and `actor`
    /// are the operator's request and name: a named emergency says who named it, any other its
    /// highest score against the threshold.
    pub fn emergency(
        &self,
        settings: &EmergencySettings,
        named: &[String],
        actor: &str,
    ) -> Option<Emergency> {
        if self.advisories.is_empty() {
            return None;
        }
        let highest = self.advisories.iter().filter_map(|(_, s)| *s).reduce(f64::max);
        let reason = if named.is_empty() {
            format!("CVSS {:.1} >= {:.1}", highest.unwrap_or(0.0), settings.cvss_threshold)
        } else {
            format!("named by {actor}")
        };
        Some(Emergency {
            advisories: self.advisories.iter().map(|(id, _)| id.clone()).collect(),
            cves: self.cves.iter().cloned().collect(),
            cvss_score: highest,
            reason,
        })
    }

    /// Of what the baselines withhold on the exposed hosts, the fixes of this emergency: their
    /// hosts stay exposed.
    pub fn withheld_fixes(&self, withheld: Vec<WithheldUpdate>) -> Vec<WithheldUpdate> {
        withheld
            .into_iter()
            .filter(|w| self.fixes.contains(&(w.host.clone(), w.name.clone())))
            .collect()
    }

    /// The owners of the exposed hosts in `inventory`, each once, sorted.
    pub fn owners(&self, inventory: &[ResolvedHost]) -> Vec<String> {
        let owners: BTreeSet<String> = inventory
            .iter()
            .filter(|h| self.exposed.contains(&h.name))
            .filter_map(|h| h.owner.clone())
            .collect();
        owners.into_iter().collect()
    }
}

/// How a fixing package a baseline withholds is reported: its host stays exposed.
pub fn still_exposed(withheld: &WithheldUpdate) -> String {
    format!(
        "STILL EXPOSED: {} stays unpatched: {} {} on it is {}; lift the rule in the policy and run \
         the emergency again to patch it",
        withheld.host, withheld.name, withheld.version, withheld.reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::FindingSource;
    use crate::plan::WithheldBy;

    #[test]
    fn qualifies_by_score_or_by_name() {
        let default = EmergencySettings::default();
        let strict = EmergencySettings { cvss_threshold: 7.0, ..default };
        // (settings, highest score, named) -> qualifies
        let cases = [
            (default, Some(9.8), false, true),
            (default, Some(9.0), false, true), // the threshold itself qualifies
            (default, Some(8.9), false, false),
            (default, None, false, false), // an unscored advisory must be named
            (default, None, true, true),
            (default, Some(3.1), true, true),
            (strict, Some(7.5), false, true),
            (strict, Some(6.9), false, false),
        ];
        for (settings, score, named, expected) in cases {
            assert_eq!(
                settings.qualifies(score, named),
                expected,
                "{score:?} named {named} against {}",
                settings.cvss_threshold
            );
        }
    }

    #[test]
    fn the_soak_is_capped_never_lengthened() {
        let settings = EmergencySettings::default();
        let cases = [
            (TimeDelta::hours(24), TimeDelta::minutes(30)),
            (TimeDelta::minutes(10), TimeDelta::minutes(10)),
            (TimeDelta::zero(), TimeDelta::zero()),
        ];
        for (soak, expected) in cases {
            assert_eq!(settings.capped_soak(soak), expected, "{soak}");
        }
    }

    fn finding(
        advisory: &str,
        cve: &str,
        score: Option<f64>,
        status: ExposureStatus,
        package: &str,
        update: Option<&str>,
    ) -> Finding {
        Finding {
            advisory: advisory.into(),
            cves: vec![cve.into()],
            severity: None,
            cvss_score: score,
            cvss_vector: None,
            package: package.into(),
            installed_version: "1.0-1".into(),
            status,
            fixed_version: Some("1.1-1".into()),
            update: update.map(Into::into),
            reason: None,
            source: FindingSource::Imported,
        }
    }

    /// What a selection comes to, in short: advisories, exposed hosts, packages, unfixable
    /// hosts, and the plan's reason.
    type Verdict<'a> =
        (&'a [&'a str], &'a [&'a str], &'a [&'a str], &'a [&'a str], Option<&'a str>);

    #[test]
    fn selection() {
        use ExposureStatus::{Affected, Fixed, Undecided};
        let critical = finding("DSA-1", "CVE-1", Some(9.8), Affected, "acme-web", Some("1.1-1"));
        let medium = finding("DSA-2", "CVE-2", Some(5.0), Affected, "acme-tools", Some("2.1-1"));
        let unscored = finding("DLA-3", "CVE-3", None, Affected, "acme-kernel", Some("6.1-2"));
        let no_fix = finding("DSA-4", "CVE-4", Some(9.1), Affected, "acme-db", None);
        let fixed = finding("DSA-1", "CVE-1", Some(9.8), Fixed, "acme-web", Some("1.1-1"));
        let undecided = finding("DSA-1", "CVE-1", Some(9.8), Undecided, "acme-web", None);
        let named = |n: &str| vec![n.to_owned()];
        let strict = EmergencySettings { cvss_threshold: 5.0, ..EmergencySettings::default() };
        let default = EmergencySettings::default();
        // (settings, named, hosts' findings) -> verdict
        type Case<'a> = (EmergencySettings, Vec<String>, Vec<(&'a str, Vec<Finding>)>, Verdict<'a>);
        let cases: Vec<Case> = vec![
            // Nothing over the threshold, nothing named: no emergency.
            (
                default,
                vec![],
                vec![("a", vec![medium.clone(), unscored.clone()])],
                (&[], &[], &[], &[], None),
            ),
            (
                default,
                vec![],
                vec![("a", vec![critical.clone(), medium.clone()]), ("b", vec![critical.clone()])],
                (&["DSA-1"], &["a", "b"], &["acme-web"], &[], Some("CVSS 9.8 >= 9.0")),
            ),
            // A lower threshold takes the medium one too.
            (
                strict,
                vec![],
                vec![("a", vec![critical.clone(), medium.clone()])],
                (
                    &["DSA-1", "DSA-2"],
                    &["a"],
                    &["acme-tools", "acme-web"],
                    &[],
                    Some("CVSS 9.8 >= 5.0"),
                ),
            ),
            // Named by advisory id, or by CVE: an unscored advisory qualifies.
            (
                default,
                named("DLA-3"),
                vec![("a", vec![unscored.clone()])],
                (&["DLA-3"], &["a"], &["acme-kernel"], &[], Some("named by alice")),
            ),
            (
                default,
                named("CVE-2"),
                vec![("a", vec![medium.clone()]), ("b", vec![unscored.clone()])],
                (&["DSA-2"], &["a"], &["acme-tools"], &[], Some("named by alice")),
            ),
            // Naming one does not stop another from qualifying by score.
            (
                default,
                named("CVE-2"),
                vec![("a", vec![medium.clone()]), ("b", vec![critical.clone()])],
                (
                    &["DSA-1", "DSA-2"],
                    &["a", "b"],
                    &["acme-tools", "acme-web"],
                    &[],
                    Some("named by alice"),
                ),
            ),
            // Fixed and undecided findings never qualify.
            (
                default,
                vec![],
                vec![("a", vec![fixed.clone(), undecided.clone()])],
                (&[], &[], &[], &[], None),
            ),
            // No fix offered: the advisory qualifies, the host is not exposed to a plan.
            (
                default,
                vec![],
                vec![("a", vec![no_fix.clone()]), ("b", vec![critical.clone()])],
                (
                    &["DSA-1", "DSA-4"],
                    &["b"],
                    &["acme-web"],
                    &["a: acme-db 1.0-1: no update to a fixed version is offered yet (DSA-4)"],
                    Some("CVSS 9.8 >= 9.0"),
                ),
            ),
            (
                default,
                vec![],
                vec![("a", vec![no_fix.clone()])],
                (
                    &["DSA-4"],
                    &[],
                    &[],
                    &["a: acme-db 1.0-1: no update to a fixed version is offered yet (DSA-4)"],
                    Some("CVSS 9.1 >= 9.0"),
                ),
            ),
        ];
        for (settings, named, hosts, expected) in &cases {
            let by_host = hosts.iter().map(|(h, f)| (*h, f.as_slice()));
            let selection = select(settings, named, by_host);
            let strs = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
            let got = (
                strs(selection.advisories.iter().map(|(id, _)| id.as_str()).collect()),
                strs(selection.exposed.iter().map(String::as_str).collect()),
                strs(selection.packages.iter().map(String::as_str).collect()),
                selection.unfixable.iter().map(|(h, why)| format!("{h}: {why}")).collect(),
                selection.emergency(settings, named, "alice").map(|e| e.reason),
            );
            let (ids, exposed, packages, unfixable, reason) = expected;
            let want = (
                strs(ids.to_vec()),
                strs(exposed.to_vec()),
                strs(packages.to_vec()),
                strs(unfixable.to_vec()),
                reason.map(str::to_owned),
            );
            assert_eq!(got, want, "named {named:?}, findings {hosts:?}");
        }
    }

    #[test]
    fn the_mark_and_what_stays_exposed() {
        let settings = EmergencySettings::default();
        let findings = [
            finding("DSA-1", "CVE-1", Some(9.8), ExposureStatus::Affected, "acme-web", Some("1.1")),
            finding("DSA-5", "CVE-5", Some(9.9), ExposureStatus::Affected, "acme-db", Some("3.0")),
        ];
        let selection = select(&settings, &[], [("a", &findings[..])]);
        let emergency = selection.emergency(&settings, &[], "alice").unwrap();
        assert_eq!(emergency.advisories, ["DSA-1", "DSA-5"]);
        assert_eq!(emergency.cves, ["CVE-1", "CVE-5"]);
        assert_eq!(emergency.cvss_score, Some(9.9));
        assert_eq!(emergency.reason, "CVSS 9.9 >= 9.0");

        let withheld = |host: &str, name: &str| WithheldUpdate {
            host: host.into(),
            name: name.into(),
            arch: "amd64".into(),
            version: "1.1".into(),
            rule: WithheldBy::Held,
            approved_after_unix: None,
            reason: "held by baseline web".into(),
        };
        // (withheld on the exposed hosts) -> the fixes among them
        type Case<'a> = (Vec<WithheldUpdate>, &'a [(&'a str, &'a str)]);
        let cases: [Case; 3] = [
            (vec![withheld("a", "acme-web")], &[("a", "acme-web")]),
            // Not a fix of this emergency, or not on a host it concerns.
            (vec![withheld("a", "acme-tools"), withheld("b", "acme-web")], &[]),
            (
                vec![withheld("a", "acme-db"), withheld("a", "acme-web")],
                &[("a", "acme-db"), ("a", "acme-web")],
            ),
        ];
        for (given, expected) in cases {
            let kept = selection.withheld_fixes(given);
            let kept: Vec<(&str, &str)> =
                kept.iter().map(|w| (w.host.as_str(), w.name.as_str())).collect();
            assert_eq!(kept, expected);
        }
        assert_eq!(
            still_exposed(&withheld("a", "acme-web")),
            "STILL EXPOSED: a stays unpatched: acme-web 1.1 on it is held by baseline web; lift \
             the rule in the policy and run the emergency again to patch it"
        );
    }
}
