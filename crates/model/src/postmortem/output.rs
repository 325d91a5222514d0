//! A postmortem's JSON form, `protocol::output::postmortem`, converted by hand.

use chrono::{DateTime, Utc};
use protocol::output::postmortem::{PostmortemV1, SubjectV1};

use super::Postmortem;
use crate::dates::rfc3339;

impl Postmortem {
    /// The postmortem as `postmortem list` prints it: with its status at `now`, and no record.
    pub fn to_output(&self, now: DateTime<Utc>) -> PostmortemV1 {
        PostmortemV1 {
            id: self.id,
            subject: SubjectV1 {
                kind: self.subject.kind().to_owned(),
                reference: self.subject.reference().to_owned(),
            },
            title: self.title.clone(),
            hosts: self.hosts.clone(),
            owner: self.owner.clone(),
            opened_at: rfc3339(self.opened_at),
            opened_by: self.opened_by.clone(),
            due_at: rfc3339(self.due_at),
            root_cause: self.root_cause.clone(),
            actions: self.actions.clone(),
            closed_at: self.closed_at.map(rfc3339),
            closed_by: self.closed_by.clone(),
            status: self.status(now).as_str().to_owned(),
            overdue: self.is_overdue(now),
            record: None,
        }
    }
}
