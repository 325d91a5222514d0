//! The words of patchctl as plain data. Pure: no I/O, no clock, no async runtime.
//!
//! Everything here is fed in by the shell (`ops`, `cli`) and can be tested with values alone.

pub mod access;
pub mod advisory;
pub mod assessment;
pub mod change;
pub mod checks;
pub mod compliance;
pub mod csv_out;
pub mod dates;
pub mod document;
pub mod emergency;
pub mod fleet;
pub mod forecast;
pub mod inventory;
pub mod notification;
pub mod os;
pub mod plan;
pub mod plot;
pub mod policy;
pub mod postmortem;
pub mod precheck;
pub mod promotion;
pub mod released;
pub mod report;
pub mod scheduling;
pub mod selector;
pub mod version;

pub use assessment::{
    Assessment, Classification, DiskSpace, Health, InstalledKernel, InstalledPackage,
    ListsRefreshed, LockHolder, Origin, PendingUpdate, RebootStatus, Severity, Summary,
    UpdateAction,
};
pub use inventory::{AuditSettings, InvalidInventory, Inventory, ResolvedHost, TransportKind};
pub use os::{OsRelease, PackageManagerKind};
pub use selector::{SelectError, Selector, select};
