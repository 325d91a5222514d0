//! The integrity postcheck (`[checks] integrity`, on by default): after an apply, each changed
//! package at its target version; after a rollback (the `Verify` step), each at the version the
//! rollback returned it to, leaving out those the apply installed new, which the rollback
//! removed. A missing or altered file fails the step, naming the package and the file; a
//! configuration file the administrator changed is journaled as a note, for the report.

use model::plan::HostPlan;
use pkgmgr::apply::PinnedPackage;
use rollout::{Step, StepResult};

use super::steps::{HostContext, Log, failed, lossy, unreachable};
use crate::integrity::PackageCheck;

impl HostContext<'_> {
    pub(super) async fn integrity_check(&self, log: &mut Log) -> Result<Vec<String>, StepResult> {
        if !self.checks.integrity {
            return Ok(Vec::new());
        }
        let kind = self.plan.package_manager;
        let mut problems = Vec::new();
        // One after the other: the postcheck's other checks share the connection, and sshd
        // allows it 10 sessions by default.
        for package in integrity_targets(self.plan, log.step()) {
            let command =
                pkgmgr::apply::verify_command(kind, &package).map_err(|e| failed(e.to_string()))?;
            let output = self.run(log, &command, "integrity").await.map_err(unreachable)?;
            let result = pkgmgr::apply::parse_verify_output(
                kind,
                &package,
                output.exit_code,
                &lossy(&output.stdout),
                &lossy(&output.stderr),
            )
            .map_err(|e| e.to_string());
            let check = PackageCheck { package, result };
            for file in check.admin_changed() {
                log.note(&format!(
                    "integrity: {}: configuration file changed by the administrator, not a \
                     failure: {}",
                    check.package.name,
                    file.describe()
                ));
            }
            problems.extend(check.failures().into_iter().map(|f| format!("integrity: {f}")));
        }
        Ok(problems)
    }
}

/// The packages to verify and at which version: the plan's targets, or after a rollback the
/// versions it restored (those it installed new are gone).
fn integrity_targets(plan: &HostPlan, step: Step) -> Vec<PinnedPackage> {
    plan.changes
        .iter()
        .filter_map(|change| {
            let version = match step {
                Step::Verify => change.from.as_deref()?,
                _ => change.to.as_str(),
            };
            Some(PinnedPackage::new(&change.name, &change.arch, version))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::plan::{PackageChange, PlannedReboot};
    use model::{Classification, PackageManagerKind};

    fn change(name: &str, from: Option<&str>, to: &str) -> PackageChange {
        PackageChange {
            name: name.into(),
            arch: "all".into(),
            from: from.map(str::to_owned),
            to: to.into(),
            classification: Classification::Bugfix,
            severity: None,
            kernel: false,
            advisories: vec![],
            cves: vec![],
        }
    }

    #[test]
    fn after_an_apply_the_targets_after_a_rollback_what_it_restored() {
        let plan = HostPlan {
            host: "deb1".into(),
            environment: "dev".into(),
            owner: None,
            package_manager: PackageManagerKind::Apt,
            assessed_at_unix: 0,
            running_kernel: "6.1.0-9-amd64".into(),
            changes: vec![
                change("acme-agent", Some("1.0-1"), "1.1-1"),
                change("acme-new", None, "2.0-1"),
            ],
            reboot: PlannedReboot::IfRequired,
            services_needing_restart: vec![],
            risks: vec![],
            restarts: Default::default(),
        };
        let words = |step| -> Vec<String> {
            integrity_targets(&plan, step)
                .iter()
                .map(|p| format!("{}={}", p.name, p.version))
                .collect()
        };
        assert_eq!(words(Step::Postcheck), ["acme-agent=1.1-1", "acme-new=2.0-1"]);
        assert_eq!(words(Step::Verify), ["acme-agent=1.0-1"]);
    }
}
