//! Baseline decisions, one line per case: the update, when it was released, what is decided.

use chrono::{DateTime, Utc};

use super::super::{Decision, Rejection, approved};
use super::{policy, utc};
use crate::{Classification, PendingUpdate, Severity, UpdateAction};

const BASELINE: &str = r#"
[[environments]]
name = "production"
schedule = "0 22 * * *"
timezone = "UTC"
window = "4h"
approval = "auto"
baseline = "strict"

[baselines.strict]
exclude = ["linux-image-*"]
reject = ["acme-broken", "openssl-dbg*"]
hold = ["postgresql-15", "openssl*"]
approve = ["acme-web", "openssl"]
[[baselines.strict.rules]]
classifications = ["security"]
severities = ["critical", "important"]
[[baselines.strict.rules]]
classifications = ["security"]
auto_approve_after_days = 7
[[baselines.strict.rules]]
classifications = ["bugfix"]
severities = ["unrated", "low"]
auto_approve_after_days = 14
"#;

fn update(name: &str, classification: Classification, severity: Option<Severity>) -> PendingUpdate {
    PendingUpdate {
        name: name.to_owned(),
        arch: "amd64".to_owned(),
        installed_version: Some("1.0-1".to_owned()),
        candidate_version: "1.1-1".to_owned(),
        origins: Vec::new(),
        action: UpdateAction::Upgrade,
        classification,
        severity,
        kernel: false,
        advisories: Vec::new(),
        cves: Vec::new(),
        kept_back: false,
    }
}

#[test]
fn decisions() {
    use Classification::{Bugfix, Enhancement, Security};
    let policy = policy(BASELINE);
    let baseline = &policy.environment("production").unwrap().baseline;
    let now = utc("2026-05-10T12:00:00Z");
    let released = |text: &str| -> Option<DateTime<Utc>> { Some(utc(text)) };
    let pending = |text: &str| Decision::Pending { until: Some(utc(text)) };
    let listed = |p: &str| Decision::Rejected { reason: Rejection::Listed { pattern: p.into() } };
    let held = |p: &str| Decision::Rejected { reason: Rejection::Held { pattern: p.into() } };
    #[rustfmt::skip]
    let cases = [
        // Exclusion first, whatever else is said of the package.
        ("linux-image-amd64", Security, Some(Severity::Critical), None, Decision::Excluded { pattern: "linux-image-*".into() }),
        // Reject wins over hold and approve; hold wins over approve.
        ("acme-broken", Security, Some(Severity::Critical), None, listed("acme-broken")),
        ("openssl-dbgsym", Security, None, None, listed("openssl-dbg*")),
        ("openssl", Security, Some(Severity::Critical), None, held("openssl*")),
        ("postgresql-15", Bugfix, None, None, held("postgresql-15")),
        // The approve list takes what no rule would.
        ("acme-web", Enhancement, None, None, Decision::Approved),
        // Critical security: a rule with no delay, release date not needed.
        ("bash", Security, Some(Severity::Critical), None, Decision::Approved),
        // Moderate security: seven days after release.
        ("bash", Security, Some(Severity::Moderate), released("2026-05-01T00:00:00Z"), Decision::Approved),
        ("bash", Security, Some(Severity::Moderate), released("2026-05-05T00:00:00Z"), pending("2026-05-12T00:00:00Z")),
        ("bash", Security, Some(Severity::Moderate), released("2026-05-03T12:00:00Z"), Decision::Approved),
        ("bash", Security, Some(Severity::Moderate), None, Decision::Pending { until: None }),
        // Unrated security updates (Debian's) match the 7-day rule, which names no severity.
        ("bash", Security, None, released("2026-05-09T00:00:00Z"), pending("2026-05-16T00:00:00Z")),
        // Bugfixes: only unrated or low, after 14 days.
        ("curl", Bugfix, None, released("2026-04-01T00:00:00Z"), Decision::Approved),
        ("curl", Bugfix, Some(Severity::Low), released("2026-05-01T00:00:00Z"), pending("2026-05-15T00:00:00Z")),
        ("curl", Bugfix, Some(Severity::Important), released("2026-01-01T00:00:00Z"),
            Decision::Rejected { reason: Rejection::NoRule { classification: Bugfix, severity: Some(Severity::Important) } }),
        ("vim", Enhancement, None, released("2020-01-01T00:00:00Z"),
            Decision::Rejected { reason: Rejection::NoRule { classification: Enhancement, severity: None } }),
    ];
    for (name, classification, severity, released_at, expected) in cases {
        let decision =
            approved(&update(name, classification, severity), released_at, now, baseline);
        assert_eq!(decision, expected, "{name} {classification:?} {severity:?} {released_at:?}");
    }
}

#[test]
fn without_a_baseline_everything_is_approved_at_once() {
    let text = std::fs::read_to_string(super::test_data("valid/minimal.toml")).unwrap();
    let policy = policy(&text);
    let baseline = &policy.environments()[0].baseline;
    let update = update("vim", Classification::Enhancement, None);
    assert_eq!(approved(&update, None, utc("2026-01-01T00:00:00Z"), baseline), Decision::Approved);
}

#[test]
fn rejections_read_as_sentences() {
    let reason = Rejection::NoRule { classification: Classification::Bugfix, severity: None };
    assert_eq!(reason.to_string(), "no rule of the baseline approves unrated bugfix updates");
    let held = Rejection::Held { pattern: "openssl*".into() };
    assert_eq!(held.to_string(), "held by the baseline (openssl*)");
}
