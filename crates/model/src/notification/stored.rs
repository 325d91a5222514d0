//! An event's wire and stored form, `protocol::notification::EventV1`, and the conversions to
//! and from it.

use chrono::{DateTime, Utc};
use protocol::notification::{EventKindV1, EventV1};

use super::{Event, EventKind};

impl From<&Event> for EventV1 {
    fn from(event: &Event) -> EventV1 {
        EventV1 {
            kind: event.kind.into(),
            subject: event.subject.clone(),
            body: event.body.clone(),
            hosts: event.hosts.clone(),
            owners: event.owners.clone(),
            people: event.people.clone(),
            escalation_level: event.escalation_level.map(|level| level as u64),
            at: crate::dates::rfc3339(event.at),
        }
    }
}

/// An event's `at` that is no time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event's time {at:?} is not an RFC 3339 time: {problem}")]
pub struct InvalidEventTime {
    pub at: String,
    pub problem: String,
}

impl TryFrom<EventV1> for Event {
    type Error = InvalidEventTime;

    fn try_from(event: EventV1) -> Result<Event, InvalidEventTime> {
        let at = event.at.parse::<DateTime<Utc>>().map_err(|error| InvalidEventTime {
            at: event.at.clone(),
            problem: error.to_string(),
        })?;
        Ok(Event {
            kind: event.kind.into(),
            subject: event.subject,
            body: event.body,
            hosts: event.hosts,
            owners: event.owners,
            people: event.people,
            escalation_level: event
                .escalation_level
                .map(|level| usize::try_from(level).unwrap_or(usize::MAX)),
            at,
        })
    }
}

impl From<EventKind> for EventKindV1 {
    fn from(kind: EventKind) -> EventKindV1 {
        match kind {
            EventKind::ChangeRequested => EventKindV1::ChangeRequested,
            EventKind::ChangeApproved => EventKindV1::ChangeApproved,
            EventKind::ChangeRejected => EventKindV1::ChangeRejected,
            EventKind::WindowAnnounced => EventKindV1::WindowAnnounced,
            EventKind::RolloutStarted => EventKindV1::RolloutStarted,
            EventKind::WaveHalted => EventKindV1::WaveHalted,
            EventKind::RebootWarning => EventKindV1::RebootWarning,
            EventKind::RolloutFinished => EventKindV1::RolloutFinished,
            EventKind::RolloutHalted => EventKindV1::RolloutHalted,
            EventKind::HostsFailed => EventKindV1::HostsFailed,
            EventKind::Emergency => EventKindV1::Emergency,
            EventKind::PostmortemOpened => EventKindV1::PostmortemOpened,
            EventKind::PostmortemDue => EventKindV1::PostmortemDue,
            EventKind::PostmortemOverdue => EventKindV1::PostmortemOverdue,
            EventKind::PostmortemClosed => EventKindV1::PostmortemClosed,
            EventKind::Escalation => EventKindV1::Escalation,
            EventKind::Test => EventKindV1::Test,
        }
    }
}

impl From<EventKindV1> for EventKind {
    fn from(kind: EventKindV1) -> EventKind {
        match kind {
            EventKindV1::ChangeRequested => EventKind::ChangeRequested,
            EventKindV1::ChangeApproved => EventKind::ChangeApproved,
            EventKindV1::ChangeRejected => EventKind::ChangeRejected,
            EventKindV1::WindowAnnounced => EventKind::WindowAnnounced,
            EventKindV1::RolloutStarted => EventKind::RolloutStarted,
            EventKindV1::WaveHalted => EventKind::WaveHalted,
            EventKindV1::RebootWarning => EventKind::RebootWarning,
            EventKindV1::RolloutFinished => EventKind::RolloutFinished,
            EventKindV1::RolloutHalted => EventKind::RolloutHalted,
            EventKindV1::HostsFailed => EventKind::HostsFailed,
            EventKindV1::Emergency => EventKind::Emergency,
            EventKindV1::PostmortemOpened => EventKind::PostmortemOpened,
            EventKindV1::PostmortemDue => EventKind::PostmortemDue,
            EventKindV1::PostmortemOverdue => EventKind::PostmortemOverdue,
            EventKindV1::PostmortemClosed => EventKind::PostmortemClosed,
            EventKindV1::Escalation => EventKind::Escalation,
            EventKindV1::Test => EventKind::Test,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the `notifications` table's `event` column has kept since it existed: members in
    /// the order declared, `people` and `escalation_level` only when set, the time as chrono
    /// wrote it (a fraction only when there is one).
    #[test]
    fn an_event_is_stored_as_it_always_was_and_reads_back() {
        let plain = Event::new(
            EventKind::Test,
            "patchctl: test",
            "a test",
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        );
        let escalated = Event {
            hosts: vec!["deb1".into()],
            owners: vec!["team-web".into()],
            people: vec!["alice".into()],
            escalation_level: Some(2),
            ..Event::new(
                EventKind::Escalation,
                "s",
                "b",
                DateTime::from_timestamp(1_800_000_000, 120_000_000).unwrap(),
            )
        };
        for (event, expected) in [
            (
                &plain,
                r#"{"kind":"test","subject":"patchctl: test","body":"a test","hosts":[],"owners":[],"at":"2027-01-15T08:00:00Z"}"#,
            ),
            (
                &escalated,
                r#"{"kind":"escalation","subject":"s","body":"b","hosts":["deb1"],"owners":["team-web"],"people":["alice"],"escalation_level":2,"at":"2027-01-15T08:00:00.120Z"}"#,
            ),
        ] {
            let json = serde_json::to_string(&EventV1::from(event)).unwrap();
            assert_eq!(json, expected);
            let read: EventV1 = serde_json::from_str(&json).unwrap();
            assert_eq!(&Event::try_from(read).unwrap(), event);
        }
    }

    #[test]
    fn an_event_whose_time_is_no_time_is_refused() {
        let mut event = EventV1::from(&Event::new(
            EventKind::Test,
            "s",
            "b",
            DateTime::from_timestamp(0, 0).unwrap(),
        ));
        event.at = "yesterday".into();
        assert!(Event::try_from(event).is_err());
    }
}
