//! Whether the packages patchctl changed on a host are still what they installed: `dpkg
//! --verify` / `rpm -V` of each (`pkgmgr::apply::verify_command`), for `patchctl
//! verify-integrity` and for the rollout's postcheck (`rollout/integrity.rs`).
//!
//! Which packages: those the plans of the rollouts that included the host changed (by name and
//! architecture, from the store's rollouts and their plans; their journals are not read), at
//! the versions installed now, as the host's package database says; with `all_packages`, every
//! installed package. A package of an installonly kind (a kernel) installed at several versions
//! is verified at each. A changed package no longer installed (a rollback removed what the
//! update installed new) has nothing to verify and is listed as such.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt as _;
use model::{PackageManagerKind, ResolvedHost};
use pkgmgr::Depth;
use pkgmgr::apply::{self, FileFinding, PackageIntegrity, PinnedPackage};
use store::Store;
use transport::Transport;

use crate::LoadPlanError;
use crate::assess::{AssessConfig, assess_host};
use crate::connect::{ConnectConfig, connect};

/// One package's verification: what it found, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageCheck {
    pub package: PinnedPackage,
    pub result: Result<PackageIntegrity, String>,
}

impl PackageCheck {
    /// Configuration files the administrator changed: reported, not failures.
    pub fn admin_changed(&self) -> Vec<&FileFinding> {
        match &self.result {
            Ok(found) => found.findings().iter().filter(|f| !f.is_failure()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Every failure in words, each naming the package: a missing or altered file, a package
    /// not installed, output that could not be read.
    pub fn failures(&self) -> Vec<String> {
        let name = &self.package.name;
        match &self.result {
            Ok(PackageIntegrity::NotInstalled) => {
                vec![format!("{name} {} is not installed", self.package.version)]
            }
            Ok(found) => found
                .findings()
                .iter()
                .filter(|f| f.is_failure())
                .map(|f| format!("{name}: {}", f.describe()))
                .collect(),
            Err(error) => vec![format!("{name}: not verified: {error}")],
        }
    }
}

/// Verifies `packages` over `ssh`, one command per package, `concurrency` at a time (sshd
/// allows a connection 10 sessions by default); the results in the packages' order.
pub async fn verify_packages(
    ssh: &dyn Transport,
    kind: PackageManagerKind,
    packages: Vec<PinnedPackage>,
    concurrency: usize,
) -> Vec<PackageCheck> {
    futures_util::stream::iter(packages)
        .map(|package| async move {
            let result = verify_one(ssh, kind, &package).await;
            PackageCheck { package, result }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

async fn verify_one(
    ssh: &dyn Transport,
    kind: PackageManagerKind,
    package: &PinnedPackage,
) -> Result<PackageIntegrity, String> {
    let command = apply::verify_command(kind, package).map_err(|e| e.to_string())?;
    let command = transport::Command { argv: command.argv, env: command.env };
    let output = ssh.run(&command).await.map_err(|e| e.to_string())?;
    apply::parse_verify_output(
        kind,
        package,
        output.exit_code,
        &String::from_utf8_lossy(&output.stdout),
        &String::from_utf8_lossy(&output.stderr),
    )
    .map_err(|e| e.to_string())
}

#[derive(Debug, Clone)]
pub struct IntegrityConfig {
    /// Every installed package, not only those patchctl changed.
    pub all_packages: bool,
    /// Hosts checked at the same time.
    pub concurrency: usize,
    /// Verifications at the same time on one host.
    pub per_host: usize,
    pub connect: ConnectConfig,
}

impl Default for IntegrityConfig {
    fn default() -> Self {
        IntegrityConfig {
            all_packages: false,
            concurrency: 20,
            per_host: 4,
            connect: ConnectConfig {
                connect_timeout: Duration::from_secs(10),
                ..ConnectConfig::default()
            },
        }
    }
}

/// One host's answer.
#[derive(Debug, Clone)]
pub struct HostIntegrity {
    pub host: String,
    pub outcome: HostIntegrityOutcome,
}

#[derive(Debug, Clone)]
pub enum HostIntegrityOutcome {
    Checked {
        packages: Vec<PackageCheck>,
        /// Packages a rollout changed that are not installed now (`name:arch`).
        not_installed: Vec<String>,
    },
    /// Not reached, or its packages could not be read.
    Unchecked { reason: String },
}

impl HostIntegrity {
    pub fn failures(&self) -> Vec<String> {
        match &self.outcome {
            HostIntegrityOutcome::Checked { packages, .. } => {
                packages.iter().flat_map(PackageCheck::failures).collect()
            }
            HostIntegrityOutcome::Unchecked { .. } => Vec::new(),
        }
    }

    /// `(package, file)` of each configuration file the administrator changed.
    pub fn admin_changed(&self) -> Vec<(&str, &FileFinding)> {
        match &self.outcome {
            HostIntegrityOutcome::Checked { packages, .. } => packages
                .iter()
                .flat_map(|p| p.admin_changed().into_iter().map(|f| (p.package.name.as_str(), f)))
                .collect(),
            HostIntegrityOutcome::Unchecked { .. } => Vec::new(),
        }
    }
}

/// Verifies `hosts`, [`IntegrityConfig::concurrency`] at a time, in their order.
pub async fn verify_hosts(
    hosts: &[ResolvedHost],
    store: &Store,
    config: &IntegrityConfig,
) -> Result<Vec<HostIntegrity>, LoadPlanError> {
    let changed =
        if config.all_packages { BTreeMap::new() } else { changed_packages(store).await? };
    let results = futures_util::stream::iter(hosts)
        .map(|host| {
            let changed = changed.get(&host.name).cloned().unwrap_or_default();
            async move {
                let outcome = verify_host(host, store, config, changed).await;
                HostIntegrity { host: host.name.clone(), outcome }
            }
        })
        .buffered(config.concurrency.max(1))
        .collect()
        .await;
    Ok(results)
}

/// `name:arch` of every package a rollout's plan changed, per host: every rollout on record,
/// whatever became of it (one that never reached the host adds packages it did not change,
/// which verify as unchanged).
async fn changed_packages(
    store: &Store,
) -> Result<BTreeMap<String, BTreeSet<(String, String)>>, LoadPlanError> {
    let mut plans = BTreeSet::new();
    for row in store.rollouts().await? {
        plans.insert(row.plan_id);
    }
    let mut changed: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for plan_id in plans {
        let Some(plan) = crate::load_plan(store, &plan_id).await? else { continue };
        for host in &plan.hosts {
            let packages = changed.entry(host.host.clone()).or_default();
            packages.extend(host.changes.iter().map(|c| (c.name.clone(), c.arch.clone())));
        }
    }
    Ok(changed)
}

async fn verify_host(
    host: &ResolvedHost,
    store: &Store,
    config: &IntegrityConfig,
    changed: BTreeSet<(String, String)>,
) -> HostIntegrityOutcome {
    let unchecked = |reason: String| HostIntegrityOutcome::Unchecked { reason };
    if !config.all_packages && changed.is_empty() {
        return HostIntegrityOutcome::Checked { packages: Vec::new(), not_installed: Vec::new() };
    }
    let ssh = match connect(host, store, &config.connect).await {
        Ok(ssh) => ssh,
        Err(failure) => return unchecked(format!("{}: {}", failure.kind, failure.message)),
    };
    let assess = AssessConfig {
        package_manager: host.package_manager,
        depth: Depth::Installed,
        expected: None,
        refresh: false,
    };
    let state = match assess_host(&host.name, &ssh, &assess).await {
        Ok(state) => state,
        Err(failure) => return unchecked(format!("reading its packages: {}", failure.error)),
    };
    let installed: Vec<PinnedPackage> = state
        .installed
        .iter()
        .filter(|p| config.all_packages || changed.contains(&(p.name.clone(), p.arch.clone())))
        .map(|p| PinnedPackage::new(&p.name, &p.arch, &p.version))
        .collect();
    let not_installed = changed
        .iter()
        .filter(|(name, arch)| !installed.iter().any(|p| p.name == *name && p.arch == *arch))
        .map(|(name, arch)| format!("{name}:{arch}"))
        .collect();
    let packages = verify_packages(&ssh, state.package_manager, installed, config.per_host).await;
    ssh.close().await;
    HostIntegrityOutcome::Checked { packages, not_installed }
}

/// `verify-integrity SELECTOR...`.
pub async fn verify(
    ctx: &crate::Context,
    selectors: &[String],
    config: &IntegrityConfig,
) -> Result<Vec<HostIntegrity>, crate::QueryError> {
    let hosts = ctx.hosts(selectors)?;
    verify_hosts(&hosts, ctx.store().await?, config).await.map_err(|e| match e {
        LoadPlanError::Store(e) => crate::QueryError::Store(e),
        other => crate::QueryError::Source(crate::SourceError::Invalid(format!(
            "reading the plans of the rollouts on record: {other}"
        ))),
    })
}
