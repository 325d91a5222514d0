//! A change's JSON forms, `protocol::output::change`, converted by hand.

use protocol::output::change::{
    ChangeActionV1, ChangeKindV1, ChangeStateV1, ChangeStatusV1, EnvironmentApprovalV1,
};

use super::{ChangeAction, ChangeKind, ChangeState, ChangeStatus, EnvironmentApproval};

impl From<&ChangeStatus> for ChangeStatusV1 {
    fn from(status: &ChangeStatus) -> ChangeStatusV1 {
        ChangeStatusV1 {
            state: match status.state {
                ChangeState::NotRequested => ChangeStateV1::NotRequested,
                ChangeState::Pending => ChangeStateV1::Pending,
                ChangeState::Approved => ChangeStateV1::Approved,
                ChangeState::Rejected => ChangeStateV1::Rejected,
            },
            requested_by: status.requested_by.clone(),
            ticket: status.ticket.clone(),
            environments: status.environments.iter().map(EnvironmentApprovalV1::from).collect(),
        }
    }
}

impl From<&EnvironmentApproval> for EnvironmentApprovalV1 {
    fn from(env: &EnvironmentApproval) -> EnvironmentApprovalV1 {
        EnvironmentApprovalV1 {
            environment: env.environment.clone(),
            rule: env.rule.clone(),
            approved_by: env.approved_by.clone(),
            missing: env.missing.clone(),
        }
    }
}

impl From<&ChangeAction> for ChangeActionV1 {
    fn from(action: &ChangeAction) -> ChangeActionV1 {
        ChangeActionV1 {
            at: crate::dates::rfc3339(action.at),
            actor: action.actor.clone(),
            kind: match action.kind {
                ChangeKind::Request => ChangeKindV1::Request,
                ChangeKind::Approve => ChangeKindV1::Approve,
                ChangeKind::Reject => ChangeKindV1::Reject,
                ChangeKind::AutoApprove => ChangeKindV1::AutoApprove,
            },
            ticket: action.ticket.clone(),
            comment: action.comment.clone(),
        }
    }
}
