//! The test fleet: real Debian and RPM hosts in Docker containers, built with no registry, with
//! package repositories for every patch scenario. `cargo xtask fleet …` and the integration
//! tests drive it through this one library.
//!
//! This is test infrastructure: its errors are `anyhow` with context, since no caller branches
//! on them; they print and stop.

pub mod docker;
pub mod faults;
pub mod fleet;
pub mod grub;
pub mod images;
mod inventory;
pub mod postgres;
pub mod scenario;

use std::path::PathBuf;

/// Where built scenario repositories are kept between runs: `$PATCHCTL_FLEET_CACHE` if set,
/// else `target/fleet-cache` at the workspace root. Images live in Docker, not here.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PATCHCTL_FLEET_CACHE").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    // This crate is `<workspace>/crates/fleet`.
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.ancestors().nth(2).map_or(manifest_dir.clone(), PathBuf::from);
    workspace.join("target").join("fleet-cache")
}

/// Starts the fleet `spec` on the scenario repository and images, built first if they are not
/// cached: how the tests start theirs.
pub async fn up_with_scenario(spec: &FleetSpec) -> anyhow::Result<Fleet> {
    let scenario = scenario::build(&cache_dir())?;
    let images = images::fleet_images(&scenario)?;
    let inputs = FleetInputs {
        debian_image: images.debian,
        rpm_image: images.rpm,
        repo_root: scenario.root,
    };
    up(spec, &inputs).await
}

pub use faults::{Fault, heal, inject};
pub use fleet::{Family, Fleet, FleetInputs, FleetSpec, Host, HostStatus, down, status, up};
