//! When the notifications nobody triggers by hand are due: a maintenance window's announcement,
//! a postmortem's reminders, an escalation. Pure: the time is passed in, and the shell (the
//! scheduler's pass, `ops::notices`) sends each notice once, under the [`Notice::key`] it
//! claims in the store first, so that a restart or a second scheduler never sends it twice.
//!
//! - A window is announced from `announce_before` ahead of its opening until it opens; a window
//!   the scheduler first sees open is not announced any more (its rollout says it started).
//! - A postmortem is reminded once when a quarter of the time it was given is left (6 hours
//!   before a 24-hour deadline), and told once more when it is overdue.
//! - A failure is what an open postmortem records (a rollout's failed, lost or rolled-back
//!   hosts, an emergency). Unresolved (not closed) `escalate_after` after it was opened, it goes
//!   to the first `[[notifications.escalation]]` level; after twice that, to the second; and so
//!   on to the last. Closing the postmortem stops the escalation.

use chrono::{DateTime, TimeDelta, Utc};

use crate::postmortem::Postmortem;

/// A notice due now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    WindowAnnounced {
        environment: String,
        opens_at: DateTime<Utc>,
    },
    PostmortemDue {
        postmortem: i64,
    },
    PostmortemOverdue {
        postmortem: i64,
    },
    /// `level` from 1.
    Escalation {
        postmortem: i64,
        level: usize,
    },
}

impl Notice {
    /// What the store records to send this notice once: unique per window, postmortem, level.
    pub fn key(&self) -> String {
        match self {
            Notice::WindowAnnounced { environment, opens_at } => {
                format!("window_announced:{environment}:{}", opens_at.timestamp())
            }
            Notice::PostmortemDue { postmortem } => format!("postmortem_due:{postmortem}"),
            Notice::PostmortemOverdue { postmortem } => format!("postmortem_overdue:{postmortem}"),
            Notice::Escalation { postmortem, level } => {
                format!("escalation:{postmortem}:{level}")
            }
        }
    }
}

/// Whether a window opening at `opens_at` is announced at `now`: from `announce_before` ahead
/// of its opening, until it opens. A zero `announce_before` announces nothing.
pub fn announcement_due(
    opens_at: DateTime<Utc>,
    announce_before: TimeDelta,
    now: DateTime<Utc>,
) -> bool {
    announce_before > TimeDelta::zero() && now >= opens_at - announce_before && now < opens_at
}

/// The notices about `postmortem` due at `now`, in the order they would have been sent: its
/// reminder, its overdue notice, then each escalation level due (of `n_levels`), level 1 first.
/// A closed postmortem is due nothing.
pub fn postmortem_notices(
    postmortem: &Postmortem,
    escalate_after: TimeDelta,
    n_levels: usize,
    now: DateTime<Utc>,
) -> Vec<Notice> {
    if postmortem.closed_at.is_some() {
        return Vec::new();
    }
    let id = postmortem.id;
    let mut notices = Vec::new();
    let given = postmortem.due_at - postmortem.opened_at;
    if now >= postmortem.due_at - given / 4 && now < postmortem.due_at {
        notices.push(Notice::PostmortemDue { postmortem: id });
    }
    if now >= postmortem.due_at {
        notices.push(Notice::PostmortemOverdue { postmortem: id });
    }
    notices.extend(
        (1..=escalation_levels_due(postmortem.opened_at, escalate_after, n_levels, now))
            .map(|level| Notice::Escalation { postmortem: id, level }),
    );
    notices
}

/// How many escalation levels are due for a failure unresolved since `since`: level `k` is due
/// `k × escalate_after` after it, up to `n_levels`. None when `escalate_after` is not positive.
pub fn escalation_levels_due(
    since: DateTime<Utc>,
    escalate_after: TimeDelta,
    n_levels: usize,
    now: DateTime<Utc>,
) -> usize {
    if escalate_after <= TimeDelta::zero() || now < since {
        return 0;
    }
    let periods = (now - since).num_milliseconds() / escalate_after.num_milliseconds();
    usize::try_from(periods).unwrap_or(usize::MAX).min(n_levels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postmortem::Subject;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::hours(hours)
    }

    fn postmortem() -> Postmortem {
        Postmortem {
            id: 7,
            subject: Subject::Rollout("r1".into()),
            title: "t".into(),
            hosts: vec![],
            owner: None,
            opened_at: at(0),
            opened_by: "patchctl".into(),
            due_at: at(24),
            root_cause: None,
            actions: vec![],
            closed_at: None,
            closed_by: None,
        }
    }

    #[test]
    fn a_window_is_announced_from_its_lead_time_until_it_opens() {
        let opens = at(48);
        let day = TimeDelta::hours(24);
        assert!(!announcement_due(opens, day, at(23)));
        assert!(announcement_due(opens, day, at(24)));
        assert!(announcement_due(opens, day, at(47)));
        assert!(!announcement_due(opens, day, at(48)), "open already: not announced");
        assert!(!announcement_due(opens, TimeDelta::zero(), at(47)), "zero turns it off");
    }

    #[test]
    fn escalation_goes_up_a_level_every_period_until_the_last() {
        let hour = TimeDelta::hours(1);
        assert_eq!(escalation_levels_due(at(0), hour, 3, at(0)), 0);
        assert_eq!(escalation_levels_due(at(0), hour, 3, at(1) - TimeDelta::seconds(1)), 0);
        assert_eq!(escalation_levels_due(at(0), hour, 3, at(1)), 1);
        assert_eq!(escalation_levels_due(at(0), hour, 3, at(2)), 2);
        assert_eq!(escalation_levels_due(at(0), hour, 3, at(30)), 3);
        assert_eq!(escalation_levels_due(at(0), hour, 0, at(30)), 0, "no levels, nobody");
        assert_eq!(escalation_levels_due(at(5), hour, 3, at(0)), 0, "a clock gone back");
    }

    #[test]
    fn a_postmortem_is_reminded_then_overdue_then_escalated_until_closed() {
        let p = postmortem();
        let hour = TimeDelta::hours(1);
        assert_eq!(postmortem_notices(&p, TimeDelta::hours(4), 2, at(3)), []);
        assert_eq!(
            postmortem_notices(&p, TimeDelta::hours(4), 2, at(4)),
            [Notice::Escalation { postmortem: 7, level: 1 }]
        );
        assert_eq!(
            postmortem_notices(&p, TimeDelta::hours(20), 2, at(18)),
            [Notice::PostmortemDue { postmortem: 7 }],
            "6 of its 24 hours left"
        );
        assert_eq!(
            postmortem_notices(&p, TimeDelta::hours(12), 2, at(25)),
            [
                Notice::PostmortemOverdue { postmortem: 7 },
                Notice::Escalation { postmortem: 7, level: 1 },
                Notice::Escalation { postmortem: 7, level: 2 },
            ]
        );
        let mut closed = p;
        closed.closed_at = Some(at(2));
        assert_eq!(postmortem_notices(&closed, hour, 2, at(30)), []);
    }

    #[test]
    fn keys_tell_windows_postmortems_and_levels_apart() {
        let keys = [
            Notice::WindowAnnounced { environment: "prod".into(), opens_at: at(0) }.key(),
            Notice::PostmortemDue { postmortem: 7 }.key(),
            Notice::PostmortemOverdue { postmortem: 7 }.key(),
            Notice::Escalation { postmortem: 7, level: 1 }.key(),
            Notice::Escalation { postmortem: 7, level: 2 }.key(),
        ];
        assert_eq!(keys[0], "window_announced:prod:1800000000");
        let unique: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len());
    }
}
