//! Assessing one host: run the probes `pkgmgr` asks for over a transport, all at once, and let
//! `pkgmgr` turn the answers into an assessment.

use futures_util::future::join_all;
use model::{Assessment, PackageManagerKind};
use pkgmgr::{AssessError, Depth, Gathered, Probe, ProbeOutput, ProbeSpec};
use transport::{Transport, TransportError};

/// How to assess a host.
#[derive(Debug, Clone, Default)]
pub struct AssessConfig {
    /// Use this package manager instead of the one os-release implies.
    pub package_manager: Option<PackageManagerKind>,
    /// How much to gather: a full assessment, or less for a rollout's checks.
    pub depth: Depth,
    /// The package manager the host is expected to have (its plan's, its last assessment's):
    /// its probes are gathered with the system's, in one round trip. The host's os-release
    /// still decides; when it says otherwise, the right probes are gathered after.
    pub expected: Option<PackageManagerKind>,
    /// Refresh the package lists first (`apt-get update`, `dnf makecache`). A refresh that
    /// fails fails the assessment: nothing is resolved against lists known to be stale.
    pub refresh: bool,
}

/// A host that could not be assessed, and at which step.
#[derive(Debug, Clone, thiserror::Error)]
#[error("host {host}: {error}")]
pub struct AssessFailure {
    pub host: String,
    pub error: AssessError,
}

/// `patchctl assess` with no selector: this machine, through the local transport (no SSH, no
/// inventory, no state), named `host`.
pub async fn assess_this_machine(
    host: &str,
    config: &AssessConfig,
) -> Result<Assessment, AssessFailure> {
    assess_host(host, &transport::Local::default(), config).await
}

/// Assesses `host` through `transport`. Probes run concurrently, so the time taken is close to
/// that of the slowest one, the package manager's own resolver.
pub async fn assess_host(
    host: &str,
    transport: &dyn Transport,
    config: &AssessConfig,
) -> Result<Assessment, AssessFailure> {
    let fail = |error: AssessError| AssessFailure { host: host.to_owned(), error };
    let taken_at_unix = crate::clock::now_unix();

    let mut gathered = Gathered::new();
    // A refresh must come before the package manager is asked anything: then only the system
    // probes go out first.
    let guess = if config.refresh { None } else { config.package_manager.or(config.expected) };
    let mut first = pkgmgr::system_probes();
    first.extend(guess.map(|kind| pkgmgr::probes_at(kind, config.depth)).unwrap_or_default());
    // The follow-ups most such hosts need go out too: on an RPM host, dnf's batch, which takes
    // seconds, starts at once instead of after the first round.
    let likely = guess.map(|kind| pkgmgr::likely_followups_at(kind, config.depth));
    first.extend(likely.iter().flatten().cloned());
    gather(transport, &first, &mut gathered).await;
    let (os, kind) = pkgmgr::detect(&gathered, config.package_manager).map_err(fail)?;
    if config.refresh {
        refresh_lists(transport, kind).await.map_err(fail)?;
    }
    if guess != Some(kind) {
        gather(transport, &pkgmgr::probes_at(kind, config.depth), &mut gathered).await;
    }
    let ran = if guess == Some(kind) { likely.unwrap_or_default() } else { Vec::new() };
    let followups: Vec<ProbeSpec> = pkgmgr::followup_probes_at(kind, config.depth, &gathered)
        .into_iter()
        .filter(|spec| !ran.contains(spec))
        .collect();
    gather(transport, &followups, &mut gathered).await;

    let mut assessment =
        pkgmgr::assemble_at(host, taken_at_unix, os, kind, config.depth, &gathered)
            .map_err(fail)?;
    name_lock_holders(transport, &mut assessment).await;
    Ok(assessment)
}

/// Refreshes the host's package lists, and records a refresh that worked where the host's
/// package manager does not (`pkgmgr::lists`).
pub async fn refresh_lists(
    transport: &dyn Transport,
    kind: PackageManagerKind,
) -> Result<(), AssessError> {
    use pkgmgr::lists;
    let run = |spec: pkgmgr::CommandSpec| async move {
        let command = transport::Command { argv: spec.argv, env: spec.env };
        transport.run(&command).await.map_err(|error| {
            AssessError::new(lists::REFRESH, pkgmgr::Problem::Transport(error.to_string()))
        })
    };
    let output = run(lists::refresh_command(kind)).await?;
    lists::check_refresh(
        output.exit_code,
        &String::from_utf8_lossy(&output.stdout),
        &String::from_utf8_lossy(&output.stderr),
    )?;
    if let Some(after) = lists::after_refresh(kind) {
        let shown = after.display();
        let output = run(after).await?;
        if output.exit_code != 0 {
            return Err(AssessError::new(
                lists::REFRESH,
                pkgmgr::Problem::Invalid(format!(
                    "the lists were refreshed, but `{shown}` exited {}: {}",
                    output.exit_code,
                    String::from_utf8_lossy(&output.stderr).trim()
                )),
            ));
        }
    }
    Ok(())
}

/// Runs `probes` at once; the files among them are read together, by one command.
pub(crate) async fn gather(
    transport: &dyn Transport,
    probes: &[ProbeSpec],
    gathered: &mut Gathered,
) {
    let (files, others): (Vec<&ProbeSpec>, Vec<&ProbeSpec>) =
        probes.iter().partition(|spec| matches!(spec.probe, Probe::ReadFile(_)));
    let paths: Vec<String> = files
        .iter()
        .filter_map(|spec| match &spec.probe {
            Probe::ReadFile(path) => Some(path.clone()),
            _ => None,
        })
        .collect();
    let (reads, outputs) = tokio::join!(
        transport.read_files(&paths),
        join_all(others.iter().map(|spec| run_probe(transport, &spec.probe)))
    );
    for (spec, read) in files.into_iter().zip(reads) {
        let output = match read {
            Ok(bytes) => ProbeOutput::File(bytes.map(|b| String::from_utf8_lossy(&b).into_owned())),
            Err(error) => ProbeOutput::Failed(error.to_string()),
        };
        gathered.insert(spec.key, output);
    }
    for (spec, output) in others.into_iter().zip(outputs) {
        gathered.insert(spec.key, output);
    }
}

async fn run_probe(transport: &dyn Transport, probe: &Probe) -> ProbeOutput {
    let result = match probe {
        Probe::Run(command) => {
            let command =
                transport::Command { argv: command.argv.clone(), env: command.env.clone() };
            transport.run(&command).await.map(|output| ProbeOutput::Ran {
                exit_code: output.exit_code,
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
        Probe::ReadFile(path) => transport.read_file(path).await.map(|bytes| {
            ProbeOutput::File(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
        }),
        Probe::ListDir(path) => transport.list_dir(path).await.map(ProbeOutput::Dir),
    };
    match result {
        Ok(output) => output,
        Err(TransportError::ProgramNotFound { .. }) => ProbeOutput::NotFound,
        Err(error) => ProbeOutput::Failed(error.to_string()),
    }
}

/// Adds the command name of each process holding a package manager lock. Best effort: the
/// process may have exited since, and then the pid alone is reported.
async fn name_lock_holders(transport: &dyn Transport, assessment: &mut Assessment) {
    for holder in &mut assessment.health.locks {
        if holder.pid == 0 {
            continue;
        }
        if let Ok(Some(comm)) = transport.read_file(&format!("/proc/{}/comm", holder.pid)).await {
            let comm = String::from_utf8_lossy(&comm).trim().to_owned();
            if !comm.is_empty() {
                holder.command = Some(comm);
            }
        }
    }
}
