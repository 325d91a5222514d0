//! The application: what a user asks patchctl to do, carried out over a transport. The CLI
//! calls it in-process; the server will call the same functions.

pub mod advisories;
mod assess;
mod assess_fleet;
pub mod audit;
mod cache;
pub mod change;
pub mod clock;
pub mod compliance;
pub mod connect;
mod context;
pub mod db;
pub mod doctor;
pub mod emergency;
pub mod files;
pub mod fleet;
pub mod forecast;
pub mod health;
pub mod history;
pub mod identity;
pub mod integrity;
pub mod metrics;
pub mod notices;
pub mod notify;
pub mod oidc;
pub mod plan;
pub mod postmortem;
pub mod promotion;
pub mod rehearsal;
pub mod rollout;
pub mod scheduler;
pub mod session;

pub use assess::{AssessConfig, AssessFailure, assess_host, assess_this_machine};
pub use assess_fleet::{
    FleetAssessConfig, HostFailure, HostOutcome, OnHostDone, assess as assess_fleet, assess_hosts,
    output as assess_output,
};
pub use clock::Clock;
pub use connect::{ConnectConfig, ConnectFailure, connect};
pub use context::{Context, NoProgress, Progress, QueryError, SourceError, Sources};
pub use plan::{
    LoadPlanError, PlanCreateError, PlanListing, PlanState, create_plan, list_plans, load_plan,
};
/// The stored and wire forms, for the shells that write them out (`plan show --format json`).
pub use protocol;
pub use store::PoolSettings;
