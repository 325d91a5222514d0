//! Patch baselines: which pending updates an environment takes, and from when. Pure.
//!
//! The rules, in the order they are applied (the first that applies decides):
//!
//! 1. `exclude` patterns: the package is outside patchctl's care (a kernel managed by another
//!    team): [`Decision::Excluded`]. First, because nothing else should even mention it.
//! 2. `reject`: never this package. An explicit no wins over an explicit yes.
//! 3. `hold`: the package stays at its installed version until the hold is lifted.
//! 4. `approve`: this package at once, whatever its classification or age.
//! 5. `rules`: among the rules whose classifications and severities match the update, the one
//!    that approves soonest decides; it approves `auto_approve_after_days` after the release.
//!    No matching rule: rejected, so a baseline says yes only to what it names.
//!
//! Patterns are globs on the package name: `*` matches any run of characters, `?` one.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{Classification, PendingUpdate, Severity};

/// A named set of approval rules an environment follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub name: String,
    pub rules: Vec<BaselineRule>,
    pub approve: Vec<PackagePattern>,
    pub reject: Vec<PackagePattern>,
    pub exclude: Vec<PackagePattern>,
    pub hold: Vec<PackagePattern>,
}

/// Approves updates of some classifications and severities, some days after their release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineRule {
    /// Empty: every classification.
    pub classifications: Vec<Classification>,
    /// Empty: every severity. `None` stands for updates the distribution did not rate, as
    /// Debian's are: a rule for security updates must be able to say whether it takes them.
    pub severities: Vec<Option<Severity>>,
    pub auto_approve_after_days: u32,
}

/// A glob over package names, checked when the policy was parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagePattern(pub(crate) String);

/// What a baseline says of one pending update at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approved,
    /// Approved from `until` on. `None`: the release time is unknown, so the waiting period
    /// cannot be counted; it is approved once the shell supplies one (for apt, which publishes
    /// no release dates, the time an assessment first saw the version is a fair stand-in).
    Pending {
        until: Option<DateTime<Utc>>,
    },
    Rejected {
        reason: Rejection,
    },
    /// Matched an `exclude` pattern: not patchctl's to patch.
    Excluded {
        pattern: String,
    },
}

/// Why a baseline rejects an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Matched a `reject` pattern.
    Listed { pattern: String },
    /// Matched a `hold` pattern.
    Held { pattern: String },
    /// No rule approves its classification and severity.
    NoRule { classification: Classification, severity: Option<Severity> },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Listed { pattern } => write!(f, "rejected by the baseline ({pattern})"),
            Rejection::Held { pattern } => write!(f, "held by the baseline ({pattern})"),
            Rejection::NoRule { classification, severity } => write!(
                f,
                "no rule of the baseline approves {} {} updates",
                severity_word(*severity),
                classification_word(*classification)
            ),
        }
    }
}

/// A classification as the policy file writes it.
pub(crate) fn classification_word(classification: Classification) -> &'static str {
    match classification {
        Classification::Security => "security",
        Classification::Bugfix => "bugfix",
        Classification::Enhancement => "enhancement",
        Classification::Newpackage => "newpackage",
        Classification::Unknown => "unknown",
    }
}

/// A severity as the policy file writes it; `None` is an update nobody rated.
pub(crate) fn severity_word(severity: Option<Severity>) -> &'static str {
    match severity {
        None => "unrated",
        Some(Severity::None) => "none",
        Some(Severity::Low) => "low",
        Some(Severity::Moderate) => "moderate",
        Some(Severity::Important) => "important",
        Some(Severity::Critical) => "critical",
    }
}

/// What `baseline` decides for `update` at `now`; `released_at` is when its candidate version
/// was published, if known. See the module for the order of the rules.
pub fn approved(
    update: &PendingUpdate,
    released_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    baseline: &Baseline,
) -> Decision {
    let name = update.name.as_str();
    let first_match = |patterns: &[PackagePattern]| {
        patterns.iter().find(|p| p.matches(name)).map(|p| p.0.clone())
    };
    if let Some(pattern) = first_match(&baseline.exclude) {
        return Decision::Excluded { pattern };
    }
    if let Some(pattern) = first_match(&baseline.reject) {
        return Decision::Rejected { reason: Rejection::Listed { pattern } };
    }
    if let Some(pattern) = first_match(&baseline.hold) {
        return Decision::Rejected { reason: Rejection::Held { pattern } };
    }
    if first_match(&baseline.approve).is_some() {
        return Decision::Approved;
    }
    let Some(days) = baseline
        .rules
        .iter()
        .filter(|rule| rule.matches(update.classification, update.severity))
        .map(|rule| rule.auto_approve_after_days)
        .min()
    else {
        return Decision::Rejected {
            reason: Rejection::NoRule {
                classification: update.classification,
                severity: update.severity,
            },
        };
    };
    if days == 0 {
        return Decision::Approved;
    }
    match released_at {
        None => Decision::Pending { until: None },
        Some(released_at) => {
            let until = released_at + TimeDelta::days(i64::from(days));
            if now >= until { Decision::Approved } else { Decision::Pending { until: Some(until) } }
        }
    }
}

impl Baseline {
    /// The baseline of an environment that names none when the policy has no `default`: every
    /// update, at once, as plans did before policies existed.
    pub fn approve_all() -> Baseline {
        Baseline {
            name: "default".to_owned(),
            rules: vec![BaselineRule {
                classifications: Vec::new(),
                severities: Vec::new(),
                auto_approve_after_days: 0,
            }],
            approve: Vec::new(),
            reject: Vec::new(),
            exclude: Vec::new(),
            hold: Vec::new(),
        }
    }
}

impl BaselineRule {
    pub fn matches(&self, classification: Classification, severity: Option<Severity>) -> bool {
        (self.classifications.is_empty() || self.classifications.contains(&classification))
            && (self.severities.is_empty() || self.severities.contains(&severity))
    }
}

impl PackagePattern {
    /// Package names are `[A-Za-z0-9.+_-]` for both dpkg and rpm; a pattern adds `*` and `?`.
    /// Anything else is a mistake, and `[` would suggest character classes this glob lacks.
    pub(crate) fn parse(text: &str) -> Result<PackagePattern, String> {
        if text.is_empty() {
            return Err("the package pattern is empty".to_owned());
        }
        if let Some(bad) = text.chars().find(|c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '_' | '-' | '*' | '?'))
        }) {
            return Err(format!(
                "package pattern {text:?} contains {bad:?}: expected a package name, with `*` for \
                 any characters and `?` for one"
            ));
        }
        Ok(PackagePattern(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, name: &str) -> bool {
        glob_matches(self.0.as_bytes(), name.as_bytes())
    }
}

/// `*` and `?` glob matching, iterative with one backtrack point: linear in practice, and never
/// exponential on patterns like `a*a*a*a*b`.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // The last `*` seen and the text position it currently stands for the end of.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            // Let the `*` swallow one more character and retry from after it.
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("linux-*", "linux-image-amd64", true),
            ("linux-*", "linux", false),
            ("kernel*", "kernel", true),
            ("*-dev", "libssl-dev", true),
            ("lib?ssl*", "libxssl3", true),
            ("openssl", "openssl", true),
            ("openssl", "openssl-libs", false),
            ("a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("*", "", true),
            ("?", "", false),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(
                glob_matches(pattern.as_bytes(), name.as_bytes()),
                expected,
                "{pattern} {name}"
            );
        }
    }

    #[test]
    fn patterns_are_package_names_with_wildcards() {
        assert!(PackagePattern::parse("linux-image-*").is_ok());
        assert!(PackagePattern::parse("libstdc++6").is_ok());
        for bad in ["", "linux image", "linux-[0-9]*", "a;b", "é"] {
            assert!(PackagePattern::parse(bad).is_err(), "{bad:?}");
        }
    }
}
