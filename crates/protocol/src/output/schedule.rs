//! `GET /api/schedule`, and what `patchctl schedule` prints: each environment of the policy
//! with its windows and what runs in them. Times are RFC 3339, UTC (`Z`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleV1 {
    /// The instant it was made at.
    pub at: String,
    pub environments: Vec<EnvironmentOutlookV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentOutlookV1 {
    pub environment: String,
    /// The schedule's cron pattern, in `timezone`'s local time.
    pub pattern: String,
    /// An IANA time zone: `Europe/Paris`.
    pub timezone: String,
    /// How long a window lasts, and when in it hosts stop starting: `2h`, `1h30m`.
    pub window: String,
    pub cutoff: String,
    /// The window open now, if one is.
    pub open_now: Option<OpenWindowV1>,
    /// The next window to open; none when the schedule never matches again.
    pub next: Option<WindowV1>,
    /// Windows before `next` that blackouts take away.
    pub skipped: Vec<SkippedWindowV1>,
    pub runs: RunsV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowV1 {
    pub start: String,
    /// No host starts at or after it.
    pub cutoff: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenWindowV1 {
    pub window: WindowV1,
    /// False once its cutoff passed.
    pub hosts_may_start: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedWindowV1 {
    pub window: WindowV1,
    /// The blackout's first and last days (`YYYY-MM-DD`), and why.
    pub blackout_from: String,
    pub blackout_to: String,
    pub reason: Option<String>,
}

/// What runs in the open window (or else the next one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "runs")]
pub enum RunsV1 {
    /// This approved plan.
    Plan { plan: String },
    /// `approval = "auto"`: the scheduler assesses, plans what `baseline` approves, starts it.
    AssessAndPlan { baseline: String },
    /// Nothing, and why.
    Nothing { why: String },
}
