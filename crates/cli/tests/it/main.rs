//! The `patchctl` binary, end to end. Tests that need containers or real package managers run
//! only with `PATCHCTL_INTEGRATION=1` (which `cargo xtask ci` sets); see `support`.

mod assess_container;
mod assess_fleet;
mod clock;
mod compliance_fleet;
mod cves_fleet;
mod deb_install;
mod dry_run_fleet;
mod emergency_fleet;
mod forecast_fleet;
mod integrity_fleet;
mod inventory;
mod notify_fleet;
mod notify_scheduler;
mod policy_fleet;
mod postgres;
mod records_fleet;
mod replicas_fleet;
mod restarts_fleet;
mod rollout_fleet;
mod runbook_fleet;
mod serve;
mod support;
mod test_fleet;
mod trust_fleet;
mod vercmp;
