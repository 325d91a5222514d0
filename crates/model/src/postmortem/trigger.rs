//! When patchctl opens a postmortem by itself, and what it says: a rollout that ended with
//! failed, lost or rolled-back hosts, and every emergency. Decided here, without I/O; the
//! shells (`ops::rollout::conclude`, `ops::emergency`) read the rollout or the exposure, open
//! what is asked here (`ops::postmortem::open_postmortem`) and tell the owners.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Subject, check_text};

/// Who opens the postmortems patchctl opens by itself.
pub const PATCHCTL: &str = "patchctl";

/// A postmortem to open.
#[derive(Debug, Clone)]
pub struct NewPostmortemRequest {
    pub subject: Subject,
    pub title: String,
    pub hosts: Vec<String>,
    pub owner: Option<String>,
    /// Due this long after it opens: [`super::DEFAULT_DUE_AFTER`], or the policy's
    /// `postmortem_due`.
    pub due_after: TimeDelta,
    /// Who opens it: a user, or `patchctl` when patchctl does.
    pub opened_by: String,
}

/// A request's texts as they are stored, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    pub title: String,
    pub reference: String,
    pub due_at: DateTime<Utc>,
}

impl NewPostmortemRequest {
    /// The title and subject checked as a person's text, and the due time from `now`; the
    /// problem in words when one is bad or the postmortem would be due before it opens.
    pub fn check(&self, now: DateTime<Utc>) -> Result<CheckedRequest, String> {
        let title = check_text("title", &self.title)?;
        let reference = check_text("subject", self.subject.reference())?;
        if self.due_after < TimeDelta::zero() {
            return Err("a postmortem cannot be due before it opens".into());
        }
        Ok(CheckedRequest { title, reference, due_at: now + self.due_after })
    }
}

/// How a host of a rollout ended, as far as a postmortem is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostEnd<'a> {
    /// Patched, skipped, or never started: nothing to explain.
    Fine,
    Failed {
        step: &'a str,
        reason: &'a str,
    },
    Lost {
        step: &'a str,
        reason: &'a str,
    },
    RolledBack {
        reason: &'a str,
    },
}

/// A rollout as it stands, for [`after_rollout`].
#[derive(Debug, Clone)]
pub struct RolloutEnd<'a> {
    pub rollout: &'a str,
    /// Its phase in words (`completed`, `halted`, …).
    pub phase: &'a str,
    /// Whether it is over (completed, halted or cancelled); a running or paused rollout
    /// opens nothing yet.
    pub over: bool,
    /// Each host in the rollout's order, with its owner from the plan.
    pub hosts: Vec<(&'a str, HostEnd<'a>, Option<&'a str>)>,
}

/// What [`after_rollout`] asks for.
#[derive(Debug, Clone)]
pub struct RolloutPostmortem {
    pub request: NewPostmortemRequest,
    /// One line per host that needs explaining: `deb2: rolled back: …`.
    pub lines: Vec<String>,
    /// The owners of those hosts, each once, sorted.
    pub owners: Vec<String>,
}

/// The postmortem a rollout calls for: one when it is over with failed, lost or rolled-back
/// hosts, owned by the first of their owners, opened by patchctl.
pub fn after_rollout(end: &RolloutEnd<'_>, due_after: TimeDelta) -> Option<RolloutPostmortem> {
    if !end.over {
        return None;
    }
    let mut lines = Vec::new();
    let mut hosts = Vec::new();
    let mut owners = Vec::new();
    for (host, state, owner) in &end.hosts {
        let what = match state {
            HostEnd::Failed { step, reason } => format!("failed at {step}: {reason}"),
            HostEnd::Lost { step, reason } => format!("lost during {step}: {reason}"),
            HostEnd::RolledBack { reason } => format!("rolled back: {reason}"),
            HostEnd::Fine => continue,
        };
        lines.push(format!("{host}: {what}"));
        hosts.push((*host).to_owned());
        owners.extend(owner.map(str::to_owned));
    }
    if hosts.is_empty() {
        return None;
    }
    owners.sort();
    owners.dedup();
    let request = NewPostmortemRequest {
        subject: Subject::Rollout(end.rollout.to_owned()),
        title: format!(
            "rollout {} {}; failed or rolled back: {}",
            end.rollout,
            end.phase,
            hosts.join(", ")
        ),
        hosts,
        owner: owners.first().cloned(),
        due_after,
        opened_by: PATCHCTL.to_owned(),
    };
    Some(RolloutPostmortem { request, lines, owners })
}

/// The postmortem of an emergency over `advisories` (one per advisory set, whatever was
/// planned), on the exposed `hosts`, owned by the first of their `owners`, opened by `actor`.
pub fn after_emergency(
    advisories: &[String],
    hosts: Vec<String>,
    owners: &[String],
    due_after: TimeDelta,
    actor: &str,
) -> NewPostmortemRequest {
    NewPostmortemRequest {
        subject: Subject::Emergency(advisories.join(" ")),
        title: format!("Emergency patch for {}", advisories.join(", ")),
        hosts,
        owner: owners.first().cloned(),
        due_after,
        opened_by: actor.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollout_calls_for_one_when_over_with_hosts_to_explain() {
        use HostEnd::{Failed, Fine, Lost, RolledBack};
        let day = TimeDelta::hours(24);
        let rolled_back = RolledBack { reason: "acme-web failed its check" };
        let failed = Failed { step: "apply", reason: "exit 100" };
        let lost = Lost { step: "reboot", reason: "no answer in 600 s" };
        // (phase, over, hosts) -> (title, lines, owner) or none
        type Case<'a> = (
            &'a str,
            bool,
            Vec<(&'a str, HostEnd<'a>, Option<&'a str>)>,
            Option<(&'a str, &'a [&'a str], Option<&'a str>)>,
        );
        let cases: Vec<Case> = vec![
            ("completed", true, vec![("a", Fine, Some("web")), ("b", Fine, None)], None),
            // Still going: nothing yet, whatever the hosts.
            ("running", false, vec![("a", failed, Some("web"))], None),
            ("paused", false, vec![("a", rolled_back, Some("web"))], None),
            (
                "completed",
                true,
                vec![("a", Fine, Some("ops")), ("b", rolled_back, Some("web"))],
                Some((
                    "rollout r1 completed; failed or rolled back: b",
                    &["b: rolled back: acme-web failed its check"],
                    Some("web"),
                )),
            ),
            (
                "halted",
                true,
                vec![("a", failed, Some("web")), ("b", lost, Some("db")), ("c", failed, None)],
                Some((
                    "rollout r1 halted; failed or rolled back: a, b, c",
                    &[
                        "a: failed at apply: exit 100",
                        "b: lost during reboot: no answer in 600 s",
                        "c: failed at apply: exit 100",
                    ],
                    // The first owner by name, not by host.
                    Some("db"),
                )),
            ),
            (
                "cancelled",
                true,
                vec![("a", lost, None)],
                Some((
                    "rollout r1 cancelled; failed or rolled back: a",
                    &["a: lost during reboot: no answer in 600 s"],
                    None,
                )),
            ),
        ];
        for (phase, over, hosts, expected) in cases {
            let end = RolloutEnd { rollout: "r1", phase, over, hosts };
            let got = after_rollout(&end, day);
            let got = got.as_ref().map(|p| {
                assert_eq!(p.request.subject, Subject::Rollout("r1".into()));
                assert_eq!(p.request.opened_by, "patchctl");
                assert_eq!(p.request.due_after, day);
                assert_eq!(p.request.hosts.len(), p.lines.len());
                let lines: Vec<&str> = p.lines.iter().map(String::as_str).collect();
                (p.request.title.as_str(), lines, p.request.owner.as_deref())
            });
            let expected = expected.map(|(title, lines, owner)| (title, lines.to_vec(), owner));
            assert_eq!(got, expected, "{phase} {:?}", end.hosts);
        }
    }

    #[test]
    fn an_emergency_opens_one_per_advisory_set() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // (advisories, owners) -> (subject reference, title, owner)
        type Case<'a> = (&'a [&'a str], &'a [&'a str], (&'a str, &'a str, Option<&'a str>));
        let cases: [Case; 3] = [
            (&["DSA-1"], &["db", "web"], ("DSA-1", "Emergency patch for DSA-1", Some("db"))),
            (&["DSA-1", "DSA-2"], &[], ("DSA-1 DSA-2", "Emergency patch for DSA-1, DSA-2", None)),
            (
                &["CVE-2026-1"],
                &["web"],
                ("CVE-2026-1", "Emergency patch for CVE-2026-1", Some("web")),
            ),
        ];
        for (advisories, owners, (reference, title, owner)) in cases {
            let request = after_emergency(
                &ids(advisories),
                ids(&["a"]),
                &ids(owners),
                TimeDelta::hours(4),
                "alice",
            );
            assert_eq!(request.subject, Subject::Emergency(reference.into()));
            assert_eq!(request.title, title);
            assert_eq!(request.owner.as_deref(), owner);
            assert_eq!((request.opened_by.as_str(), request.hosts), ("alice", ids(&["a"])));
        }
    }

    #[test]
    fn requests_are_checked() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let request = |title: &str, reference: &str, hours: i64| NewPostmortemRequest {
            subject: Subject::Other(reference.into()),
            title: title.into(),
            hosts: vec![],
            owner: None,
            due_after: TimeDelta::hours(hours),
            opened_by: "alice".into(),
        };
        // (title, subject, due after hours) -> checked title and due hours, or the problem
        let cases = [
            (" disk full ", "r1", 24, Ok(("disk full", 24))),
            ("t", "r1", 0, Ok(("t", 0))),
            ("", "r1", 24, Err("the title is empty")),
            ("t", " ", 24, Err("the subject is empty")),
            ("t\u{1b}[2J", "r1", 24, Err("the title contains a control character")),
            ("t", "r1", -1, Err("a postmortem cannot be due before it opens")),
        ];
        for (title, reference, hours, expected) in cases {
            let got = request(title, reference, hours).check(now);
            let expected = expected
                .map(|(title, hours)| CheckedRequest {
                    title: title.into(),
                    reference: reference.trim().into(),
                    due_at: now + TimeDelta::hours(hours),
                })
                .map_err(str::to_owned);
            assert_eq!(got, expected, "{title:?} {reference:?} {hours}");
        }
    }
}
