//! The forms patchctl's data takes outside the process: what the state database stores (plan
//! bodies, rollout configurations, journal records, change and postmortem record bodies,
//! assessments, advisories, notification events), what webhooks receive, the audit's anchor
//! file and, later, what the API and the agents exchange. Each form is a plain serde type with
//! a version in its name (`PlanV1`); the domain crates (`model`, `rollout`, `ops`) convert to
//! and from them by hand, so a domain type can be renamed or reshaped without changing a
//! stored byte, a plan id or a journal's hash chain.
//!
//! Rules for changing a form: a V1 type changes only in ways that read every body written
//! before (a new member is optional and left out when empty, which keeps old ids too). Any
//! other change is a V2 type next to V1, with old bodies still read through V1.
//!
//! Nothing here knows the domain: this crate depends on serde, serde_json and sha2 alone.

pub mod advisory;
pub mod api;
pub mod assessment;
pub mod audit;
pub mod change;
pub mod journal;
pub mod notification;
pub mod output;
pub mod plan;
pub mod postmortem;
pub mod rollout;
