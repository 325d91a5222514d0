//! Who may do what on the server, and when a login is refused: the roles (viewer, operator,
//! approver, admin, each holding the one before), the least role each use case needs, the
//! lockout rule after failed logins of a user, and the rate limit on failed logins from one
//! client address, and the role an OIDC login gets from its groups. Pure: the server and `ops`
//! hand in the counts, the groups and the time.

use std::fmt;
use std::str::FromStr;

/// A user's or a token's role. Each holds every right of the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Plans, starts, pauses rollouts.
    Operator,
    /// Approves or rejects changes, as the policy's approval rules allow.
    Approver,
    /// Manages users and tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    /// Whether this role holds the rights of `needed`.
    pub fn includes(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == text).ok_or_else(|| {
            format!("{text:?} is not a role: expected viewer, operator, approver or admin")
        })
    }
}

impl From<Role> for protocol::api::RoleV1 {
    fn from(role: Role) -> protocol::api::RoleV1 {
        match role {
            Role::Viewer => protocol::api::RoleV1::Viewer,
            Role::Operator => protocol::api::RoleV1::Operator,
            Role::Approver => protocol::api::RoleV1::Approver,
            Role::Admin => protocol::api::RoleV1::Admin,
        }
    }
}

impl From<protocol::api::RoleV1> for Role {
    fn from(role: protocol::api::RoleV1) -> Role {
        match role {
            protocol::api::RoleV1::Viewer => Role::Viewer,
            protocol::api::RoleV1::Operator => Role::Operator,
            protocol::api::RoleV1::Approver => Role::Approver,
            protocol::api::RoleV1::Admin => Role::Admin,
        }
    }
}

/// What a caller of the server asks to do: one per use case it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseCase {
    ListHosts,
    HostHistory,
    ListPlans,
    ShowPlan,
    ShowChange,
    RequestChange,
    ApproveChange,
    RejectChange,
    ListRollouts,
    ShowRollout,
    ReportRollout,
    PauseRollout,
    ResumeRollout,
    CancelRollout,
    Compliance,
    ListAdvisories,
    ShowAdvisory,
    HostExposures,
    ShowCve,
    ListPostmortems,
    ShowPostmortem,
    ListNotifications,
    VerifyAudit,
    ReadApiDocs,
    ReadMetrics,
    CreateToken,
    RevokeToken,
    CreateUser,
    ListChanges,
    ShowSchedule,
    CreatePlan,
    StartRollout,
    Assess,
    OpenPostmortem,
    ClosePostmortem,
    /// A caller's own password, the old one given.
    ChangeOwnPassword,
    /// A caller's own token (or session) revoked.
    Logout,
}

impl UseCase {
    /// The least role that may do it. Approving needs the approver role here, and the policy's
    /// rules besides (who may approve which environment; never the requester).
    pub fn minimum_role(self) -> Role {
        use UseCase::*;
        match self {
            ListHosts | HostHistory | ListPlans | ShowPlan | ShowChange | ListRollouts
            | ShowRollout | ReportRollout | Compliance | ListAdvisories | ShowAdvisory
            | HostExposures | ShowCve | ListPostmortems | ShowPostmortem | ListNotifications
            | VerifyAudit | ReadApiDocs | ReadMetrics | ListChanges | ShowSchedule
            | ChangeOwnPassword | Logout => Role::Viewer,
            RequestChange | PauseRollout | ResumeRollout | CancelRollout | CreatePlan
            | StartRollout | Assess | OpenPostmortem | ClosePostmortem => Role::Operator,
            ApproveChange | RejectChange => Role::Approver,
            CreateToken | RevokeToken | CreateUser => Role::Admin,
        }
    }

    /// Whether it changes only the caller's own credentials (its password, its token): every
    /// role may, and it changes nothing else, so a viewer doing it still changes nothing.
    pub fn own_credentials(self) -> bool {
        matches!(self, UseCase::ChangeOwnPassword | UseCase::Logout)
    }

    /// Whether `role` may do it.
    pub fn allowed(self, role: Role) -> bool {
        role.includes(self.minimum_role())
    }
}

/// The lockout rule: after `max_failures` failed logins in a row, the user is refused for
/// `lockout_seconds`, whatever the password, and then gets `max_failures` tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub max_failures: u32,
    pub lockout_seconds: i64,
}

impl Default for Lockout {
    fn default() -> Lockout {
        Lockout { max_failures: 5, lockout_seconds: 15 * 60 }
    }
}

/// What is on record of a user's recent logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginRecord {
    /// Failed logins in a row since the last success or lockout.
    pub failures: u32,
    pub locked_until_unix: Option<i64>,
}

impl Lockout {
    /// When the user is locked out at `now_unix`: until when. A login is not even checked then,
    /// so that a guess during a lockout tells nothing.
    pub fn locked(&self, record: &LoginRecord, now_unix: i64) -> Option<i64> {
        record.locked_until_unix.filter(|until| now_unix < *until)
    }

    /// The record after a failed login at `now_unix`: one more failure, and a lockout (the count
    /// starting again) when that makes `max_failures`.
    pub fn after_failure(&self, record: &LoginRecord, now_unix: i64) -> LoginRecord {
        let failures = record.failures.saturating_add(1);
        if failures >= self.max_failures.max(1) {
            LoginRecord { failures: 0, locked_until_unix: Some(now_unix + self.lockout_seconds) }
        } else {
            LoginRecord { failures, locked_until_unix: record.locked_until_unix }
        }
    }
}

/// The rate limit on failed logins from one client address, whatever the user names: at most
/// `max_failures` in any `window_seconds`; a login beyond it is refused unchecked. It stops a
/// guesser who tries one password on many users, which the per-user lockout does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max_failures: u32,
    pub window_seconds: i64,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit { max_failures: 20, window_seconds: 60 }
    }
}

impl RateLimit {
    /// Whether a failure at `failed_at_unix` still counts at `now_unix`.
    pub fn counts(&self, failed_at_unix: i64, now_unix: i64) -> bool {
        now_unix - failed_at_unix < self.window_seconds
    }

    /// Whether a client whose failed logins were at `failures_unix` may try again at `now_unix`.
    pub fn allows(&self, failures_unix: &[i64], now_unix: i64) -> bool {
        let counted = failures_unix.iter().filter(|at| self.counts(**at, now_unix)).count();
        counted < self.max_failures as usize
    }
}

/// The roles an OIDC provider's groups give (server.toml's `[oidc.roles]`): a user gets the
/// highest role of the groups they are in, and no role, so no login, in none of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupRoles {
    /// Group name and role, as configured.
    pub roles: Vec<(String, Role)>,
}

impl GroupRoles {
    /// The role of a user in `groups`: the highest any of them maps to.
    pub fn role(&self, groups: &[String]) -> Option<Role> {
        self.roles.iter().filter(|(group, _)| groups.contains(group)).map(|(_, role)| *role).max()
    }
}

#[cfg(test)]
mod tests;
