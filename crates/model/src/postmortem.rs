//! Postmortems: the root-cause record the runbooks ask for after a rollback, a failed rollout or
//! an emergency patch. What one is about, when it is due, and whether it is overdue at a time
//! passed in. Pure. When patchctl opens one by itself, and what it says, is `trigger.rs`.

mod output;
pub mod trigger;

use chrono::{DateTime, TimeDelta, Utc};

pub use trigger::NewPostmortemRequest;

/// How long after it is opened a postmortem is due, unless the policy says otherwise: the SOP's
/// "postmortem within 24 hours".
pub const DEFAULT_DUE_AFTER: TimeDelta = TimeDelta::hours(24);

/// What a postmortem is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A rollout that ended with failed, lost or rolled-back hosts.
    Rollout(String),
    /// An advisory or CVE (`DSA-5678-1`, `CVE-2026-1234`).
    Advisory(String),
    /// An emergency patch (the emergency track's advisory or CVE).
    Emergency(String),
    /// Anything else a person opens one for, in their words.
    Other(String),
}

impl Subject {
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Rollout(_) => "rollout",
            Subject::Advisory(_) => "advisory",
            Subject::Emergency(_) => "emergency",
            Subject::Other(_) => "other",
        }
    }

    pub fn reference(&self) -> &str {
        match self {
            Subject::Rollout(r)
            | Subject::Advisory(r)
            | Subject::Emergency(r)
            | Subject::Other(r) => r,
        }
    }

    /// From the kind and reference as stored; `None` for an unknown kind.
    pub fn from_parts(kind: &str, reference: &str) -> Option<Subject> {
        let reference = reference.to_owned();
        Some(match kind {
            "rollout" => Subject::Rollout(reference),
            "advisory" => Subject::Advisory(reference),
            "emergency" => Subject::Emergency(reference),
            "other" => Subject::Other(reference),
            _ => return None,
        })
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // A person's own words need no label.
            Subject::Other(text) => f.write_str(text),
            _ => write!(f, "{} {}", self.kind(), self.reference()),
        }
    }
}

/// A postmortem record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postmortem {
    pub id: i64,
    pub subject: Subject,
    pub title: String,
    /// The hosts concerned; empty for the fleet as a whole.
    pub hosts: Vec<String>,
    pub owner: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub opened_by: String,
    pub due_at: DateTime<Utc>,
    pub root_cause: Option<String>,
    pub actions: Vec<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
}

/// Where a postmortem stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostmortemStatus {
    Open,
    /// Past its due time and still open. It stays overdue until it is closed.
    Overdue,
    Closed,
}

impl PostmortemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PostmortemStatus::Open => "open",
            PostmortemStatus::Overdue => "overdue",
            PostmortemStatus::Closed => "closed",
        }
    }
}

impl Postmortem {
    /// Its status at `now`. A postmortem closed late is closed: the lateness is in its times.
    pub fn status(&self, now: DateTime<Utc>) -> PostmortemStatus {
        if self.closed_at.is_some() {
            PostmortemStatus::Closed
        } else if now > self.due_at {
            PostmortemStatus::Overdue
        } else {
            PostmortemStatus::Open
        }
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == PostmortemStatus::Overdue
    }

    /// True when it names `host` among the hosts concerned.
    pub fn concerns(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
    }
}

/// A root cause or an action as a person typed it: one line or several, not empty, no control
/// characters but newlines and tabs (it is shown in terminals and reports).
pub fn check_text(what: &str, text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(format!("the {what} contains a control character"));
    }
    if trimmed.len() > 10_000 {
        return Err(format!("the {what} is longer than 10000 bytes"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn postmortem() -> Postmortem {
        Postmortem {
            id: 1,
            subject: Subject::Rollout("abc123".into()),
            title: "rollout abc123 rolled back deb2".into(),
            hosts: vec!["deb2".into()],
            owner: Some("team-web".into()),
            opened_at: at("2026-11-22T10:00:00Z"),
            opened_by: "patchctl".into(),
            due_at: at("2026-11-22T10:00:00Z") + DEFAULT_DUE_AFTER,
            root_cause: None,
            actions: vec![],
            closed_at: None,
            closed_by: None,
        }
    }

    #[test]
    fn overdue_from_the_due_time_until_closed() {
        let mut p = postmortem();
        assert_eq!(p.status(at("2026-11-23T10:00:00Z")), PostmortemStatus::Open);
        assert_eq!(p.status(at("2026-11-23T10:00:01Z")), PostmortemStatus::Overdue);
        assert!(p.is_overdue(at("2027-01-01T00:00:00Z")));
        p.closed_at = Some(at("2026-11-25T00:00:00Z"));
        p.closed_by = Some("alice".into());
        assert_eq!(p.status(at("2027-01-01T00:00:00Z")), PostmortemStatus::Closed);
        assert!(p.concerns("deb2") && !p.concerns("deb1"));
    }

    #[test]
    fn subjects_round_trip_through_their_parts() {
        for subject in [
            Subject::Rollout("r".into()),
            Subject::Advisory("DSA-1".into()),
            Subject::Emergency("CVE-2026-1".into()),
            Subject::Other("x".into()),
        ] {
            assert_eq!(Subject::from_parts(subject.kind(), subject.reference()), Some(subject));
        }
        assert_eq!(Subject::from_parts("nope", "x"), None);
    }

    #[test]
    fn texts_are_checked() {
        assert_eq!(check_text("root cause", "  disk full \n"), Ok("disk full".into()));
        assert!(check_text("root cause", " ").is_err());
        assert!(check_text("root cause", "a\u{1b}[2J").is_err());
    }
}
