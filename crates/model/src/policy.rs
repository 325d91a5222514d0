//! The patch policy: environments in promotion order with their maintenance windows, approval
//! rules, SLAs, rollout strategy and patch baselines, parsed from the text of `policy.toml` (the
//! shell reads the file, beside `patchctl.toml`) and evaluated at a time passed in. Pure.
//!
//! Parse, then evaluate: [`Policy::parse`] deserializes strictly (an unknown key is an error),
//! checks every value and reference, and reports every problem with its file, line and column.
//! What it returns cannot hold an impossible window or a dangling name.
//!
//! The format:
//!
//! ```toml
//! [[environments]]                  # in promotion order: dev, then staging, then production
//! name = "staging"
//! schedule = "0 22 * * TUE#2"        # cron, 5 fields, local time: 22:00 on the 2nd Tuesday
//! timezone = "Europe/Berlin"         # IANA name
//! window = "4h"                      # how long the window lasts (d, h, m)
//! cutoff = "3h"                      # no host starts later than this after the opening;
//!                                    # at most `window`, default `window`
//! approval = { approvers = 1, role = "cab", ticket = true }   # or "auto"
//! soak = "24h"                       # verified this long on the previous environment
//! sla_days = { critical = 7, important = 30, moderate = 90, low = 180, unrated = 30 }
//! strategy = { canary = 1, max_unavailable = "25%", error_budget = 0 }
//! reboot = "if-required"             # if-required | never | always
//! baseline = "strict"                # default: `default` if declared, else approve all
//! goals = ["Security fixes within 7 days of release"]   # shown by plans without --goal
//! blackouts = [{ from = "2026-11-27", to = "2026-11-30", reason = "sales weekend" }]
//!
//! [roles]                            # who may approve: role = [user names]
//! cab = ["alice", "bob", "carol"]
//!
//! [[blackouts]]                      # for every environment, or those listed
//! from = "2026-12-20"                # both days included, in each environment's zone
//! to = "2027-01-03"
//! reason = "year-end freeze"
//! environments = ["staging", "production"]
//!
//! [baselines.strict]
//! approve = ["openssl"]              # package globs: `*` any characters, `?` one
//! reject = ["acme-broken"]
//! exclude = ["linux-image-*"]
//! hold = ["postgresql-15"]
//! [[baselines.strict.rules]]
//! classifications = ["security"]     # security | bugfix | enhancement | unknown; default all
//! severities = ["critical", "important", "unrated"]   # default all
//! auto_approve_after_days = 0        # default 0
//! ```
//!
//! `[notifications]`, `[compliance]` and `[emergency]`: see `settings.rs`.
//!
//! Windows, daylight saving, month ends and blackouts: see `schedule.rs`. Which updates a
//! baseline approves: see `baseline.rs`.

mod baseline;
mod duration;
mod error;
mod file;
mod resolve;
mod schedule;
mod settings;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

use crate::Severity;
use crate::plan::{RebootPolicy, ServiceRestarts, Strategy};

pub use baseline::{Baseline, BaselineRule, Decision, PackagePattern, Rejection, approved};
pub use duration::{format_duration, parse_duration};
pub use error::{InvalidPolicy, PolicyError};
pub use resolve::check_goal;
pub use schedule::{Blackout, OpenWindow, Schedule, Window};
pub use settings::ComplianceSettings;

/// A parsed and checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    environments: Vec<Environment>,
    baselines: Vec<Baseline>,
    /// Role → the users holding it, each list sorted. Every role an approval rule names is
    /// declared here, with at least as many members as the rule needs approvers.
    roles: BTreeMap<String, Vec<String>>,
    notifications: crate::notification::Notifications,
    compliance: ComplianceSettings,
    emergency: crate::emergency::EmergencySettings,
}

/// One environment's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    pub schedule: Schedule,
    pub approval: Approval,
    pub sla: Sla,
    /// How long a version must have been applied and verified on the previous environment;
    /// zero for the first.
    pub soak: TimeDelta,
    pub strategy: Strategy,
    pub reboot: RebootPolicy,
    /// What its hosts' rollouts restart when they do not reboot (`restart_services`,
    /// `restart_sshd`): a plan made for its hosts carries it.
    pub restarts: ServiceRestarts,
    /// Resolved from its name, so evaluation needs no lookup.
    pub baseline: Baseline,
    /// What patching it is for, in words (`goals = ["…"]`): a plan made without `--goal`
    /// states these.
    pub goals: Vec<String>,
}

/// Who must approve a change before it runs in an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Nobody needs to approve: the scheduler runs plans in their windows.
    Automatic,
    Required {
        /// Distinct approvers, none of them the requester; at least one.
        approvers: u32,
        /// The role every approver must have; `None`: any approver.
        role: Option<String>,
        /// A change ticket must be named when the change is requested.
        ticket: bool,
    },
}

/// Days to patch after a release, by severity. `None`: no deadline for that severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sla {
    pub critical: Option<u32>,
    pub important: Option<u32>,
    pub moderate: Option<u32>,
    pub low: Option<u32>,
    pub none: Option<u32>,
    /// Updates the distribution did not rate (Debian rates none of its security updates).
    pub unrated: Option<u32>,
}

impl Policy {
    /// Parses the text of a policy file. `path` is used only in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Policy, InvalidPolicy> {
        resolve::parse(path, text)
    }

    /// Every environment, in promotion order.
    pub fn environments(&self) -> &[Environment] {
        &self.environments
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The environment a version must pass through before `name`: the one before it in
    /// promotion order. `None` for the first, and for a name the policy does not know.
    pub fn previous_environment(&self, name: &str) -> Option<&Environment> {
        let index = self.environments.iter().position(|e| e.name == name)?;
        index.checked_sub(1).map(|i| &self.environments[i])
    }

    /// The names in promotion order, as `PlanOptions::environment_order` takes them.
    pub fn environment_order(&self) -> Vec<String> {
        self.environments.iter().map(|e| e.name.clone()).collect()
    }

    /// The declared baselines, sorted by name.
    pub fn baselines(&self) -> &[Baseline] {
        &self.baselines
    }

    /// The baseline hosts of `environment` follow: the environment's own; for an environment
    /// the policy does not declare, the baseline called `default` if there is one. `None`:
    /// nothing to apply (an undeclared environment and no `default`), every update approved as
    /// before policies existed.
    pub fn baseline_of(&self, environment: &str) -> Option<&Baseline> {
        match self.environment(environment) {
            Some(declared) => Some(&declared.baseline),
            None => self.baselines.iter().find(|b| b.name == "default"),
        }
    }

    /// The declared roles and their members, by role name.
    pub fn roles(&self) -> &BTreeMap<String, Vec<String>> {
        &self.roles
    }

    /// True when `user` is listed under `role` in `[roles]`.
    pub fn holds_role(&self, user: &str, role: &str) -> bool {
        self.roles.get(role).is_some_and(|members| members.iter().any(|m| m == user))
    }

    /// Who is told of what (`[notifications]`); empty when the table is left out.
    pub fn notifications(&self) -> &crate::notification::Notifications {
        &self.notifications
    }

    /// Compliance thresholds (`[compliance]`); defaults when the table is left out.
    pub fn compliance(&self) -> &ComplianceSettings {
        &self.compliance
    }

    /// The emergency track's threshold and soak cap (`[emergency]`); defaults when left out.
    pub fn emergency(&self) -> &crate::emergency::EmergencySettings {
        &self.emergency
    }
}

impl Environment {
    /// See [`Schedule::next_windows`].
    pub fn next_windows(&self, now: DateTime<Utc>, n: usize) -> Vec<Window> {
        self.schedule.next_windows(now, n)
    }

    /// See [`Schedule::window_at`].
    pub fn window_at(&self, now: DateTime<Utc>) -> Option<OpenWindow> {
        self.schedule.window_at(now)
    }

    /// When an update released at `released_at` must be installed, by its severity (`None`:
    /// unrated); `None` when the policy sets no SLA for it. Days are whole 24-hour days of
    /// elapsed time, so a deadline is the same instant in every time zone.
    pub fn sla_deadline(
        &self,
        released_at: DateTime<Utc>,
        severity: Option<Severity>,
    ) -> Option<DateTime<Utc>> {
        let days = self.sla.days(severity)?;
        Some(released_at + TimeDelta::days(i64::from(days)))
    }
}

impl Sla {
    pub fn days(&self, severity: Option<Severity>) -> Option<u32> {
        match severity {
            None => self.unrated,
            Some(Severity::None) => self.none,
            Some(Severity::Low) => self.low,
            Some(Severity::Moderate) => self.moderate,
            Some(Severity::Important) => self.important,
            Some(Severity::Critical) => self.critical,
        }
    }
}
