//! Assessing many hosts at once: a connection per host (SSH with pinned host keys, or this
//! machine), at most `concurrency` hosts at a time, every result or failure recorded in the
//! store with its reason. One failed host never stops the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::{Assessment, PackageManagerKind, ResolvedHost, TransportKind};
use store::{AssessmentOutcome, AssessmentRecord, Failure, HostRow, Store};
use tokio::sync::Semaphore;
use transport::Local;

use crate::assess::{AssessConfig, assess_host};
use crate::connect::{ConnectConfig, connect};

#[derive(Debug, Clone)]
pub struct FleetAssessConfig {
    /// Hosts assessed at the same time.
    pub concurrency: usize,
    /// Pin the key a host presents when none is pinned yet, instead of refusing it.
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// Who pins keys, for the record.
    pub actor: String,
    /// The time to record the assessments at (`patchctl --now`, a virtual clock); `None`: the
    /// clock, when each host's assessment starts.
    pub taken_at_unix: Option<i64>,
    /// Refresh each host's package lists before assessing it (`assess --refresh`).
    pub refresh: bool,
}

impl Default for FleetAssessConfig {
    fn default() -> Self {
        FleetAssessConfig {
            concurrency: 50,
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(300),
            actor: "patchctl".to_owned(),
            taken_at_unix: None,
            refresh: false,
        }
    }
}

/// What became of one host.
#[derive(Debug, Clone)]
pub enum HostOutcome {
    Assessed(Box<Assessment>),
    Failed(HostFailure),
}

/// A host that could not be assessed: a stable reason code and a message for people.
#[derive(Debug, Clone)]
pub struct HostFailure {
    pub host: String,
    /// `refused`, `timed_out`, `unreachable`, `auth_failed`, `host_key_changed`,
    /// `host_key_unknown`, `sudo_needs_password`, `connection_lost`, `package_manager_broken`,
    /// `unsupported_os`, `refresh_failed`, `transport`.
    pub kind: &'static str,
    pub message: String,
}

/// Told as hosts finish, for progress display: the host, its outcome, hosts done so far.
pub type OnHostDone<'a> = dyn Fn(&str, &HostOutcome, usize) + Send + Sync + 'a;

/// Assesses `hosts`, records every outcome in `store`, and returns them in the order given.
pub async fn assess_hosts(
    hosts: &[ResolvedHost],
    store: &Store,
    config: &FleetAssessConfig,
    on_done: &OnHostDone<'_>,
) -> Result<Vec<HostOutcome>, store::StoreError> {
    for host in hosts {
        store
            .upsert_host(&HostRow {
                name: host.name.clone(),
                address: host.address.clone(),
                environment: host.environment.clone(),
                package_manager: host.package_manager,
                seen_at_unix: now_unix(),
            })
            .await?;
    }
    // A host's last assessment names its package manager: its probes go out with the system's,
    // in the first round trip (os-release still decides).
    let names: Vec<String> = hosts.iter().map(|host| host.name.clone()).collect();
    let expected: HashMap<String, PackageManagerKind> = store
        .latest_assessments(Some(&names))
        .await?
        .into_iter()
        .filter_map(|row| Some((row.host, row.package_manager?)))
        .collect();
    let expected = &expected;
    // Each update is marked with the advisories it fixes before it is recorded and shown.
    let index = crate::advisories::load_index(store).await?;
    let index = &index;
    let limit = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let done = std::sync::atomic::AtomicUsize::new(0);
    let work = hosts.iter().map(|host| {
        let limit = limit.clone();
        let done = &done;
        async move {
            let _permit = limit.acquire().await.expect("the semaphore is never closed");
            let started = Instant::now();
            let taken_at_unix = config.taken_at_unix.unwrap_or_else(now_unix);
            let expected = expected.get(&host.name).copied();
            let mut outcome = assess_one(host, store, config, expected).await;
            if let HostOutcome::Assessed(assessment) = &mut outcome {
                assessment.taken_at_unix = taken_at_unix;
                crate::advisories::annotate_assessment(index, assessment);
            }
            let record = AssessmentRecord {
                host: host.name.clone(),
                taken_at_unix,
                duration_ms: started.elapsed().as_millis() as u64,
                outcome: match &outcome {
                    HostOutcome::Assessed(assessment) => {
                        AssessmentOutcome::Assessed(assessment.clone())
                    }
                    HostOutcome::Failed(failure) => AssessmentOutcome::Failed(Failure {
                        kind: failure.kind.to_owned(),
                        message: failure.message.clone(),
                    }),
                },
            };
            let recorded = store.record_assessment(&record).await;
            let n_done = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            on_done(&host.name, &outcome, n_done);
            recorded.map(|_| outcome)
        }
    });
    futures_util::future::join_all(work).await.into_iter().collect()
}

async fn assess_one(
    host: &ResolvedHost,
    store: &Store,
    config: &FleetAssessConfig,
    expected: Option<PackageManagerKind>,
) -> HostOutcome {
    let fail = |kind: &'static str, message: String| {
        HostOutcome::Failed(HostFailure { host: host.name.clone(), kind, message })
    };
    let assess_config = AssessConfig {
        package_manager: host.package_manager,
        expected,
        refresh: config.refresh,
        ..AssessConfig::default()
    };
    let limits =
        transport::Limits { command_timeout: config.command_timeout, ..Default::default() };
    let result = match host.transport {
        TransportKind::Local => assess_host(&host.name, &Local::new(limits), &assess_config).await,
        TransportKind::Ssh => {
            let connect_config = ConnectConfig {
                accept_new_host_keys: config.accept_new_host_keys,
                connect_timeout: config.connect_timeout,
                syn_every: None,
                limits,
                actor: config.actor.clone(),
            };
            let ssh = match connect(host, store, &connect_config).await {
                Ok(ssh) => ssh,
                Err(failure) => return fail(failure.kind, failure.message),
            };
            let result = assess_host(&host.name, &ssh, &assess_config).await;
            ssh.close().await;
            result
        }
    };
    match result {
        Ok(assessment) => HostOutcome::Assessed(Box::new(assessment)),
        Err(failure) => {
            let kind = match &failure.error.problem {
                _ if failure.error.step == pkgmgr::lists::REFRESH => "refresh_failed",
                pkgmgr::Problem::Transport(message) if message.contains("connection") => {
                    "connection_lost"
                }
                pkgmgr::Problem::Transport(_) => "transport",
                pkgmgr::Problem::UnsupportedOs(_) => "unsupported_os",
                _ => "package_manager_broken",
            };
            fail(kind, failure.to_string())
        }
    }
}

fn now_unix() -> i64 {
    crate::clock::now_unix()
}

/// `assess SELECTOR...`: `hosts` (`Context::hosts` picks them) assessed, `on_done` told of
/// each as it ends. The records are dated by a virtual clock when there is one.
pub async fn assess(
    ctx: &crate::Context,
    hosts: &[ResolvedHost],
    mut config: FleetAssessConfig,
    on_done: &OnHostDone<'_>,
) -> Result<Vec<HostOutcome>, crate::QueryError> {
    config.taken_at_unix = ctx.clock.is_virtual().then(|| ctx.clock.now_unix());
    Ok(assess_hosts(hosts, ctx.store().await?, &config, on_done).await?)
}

/// `assess --format json`'s document: every assessment with its summary, and the hosts that
/// could not be assessed, in the order of `outcomes`.
pub fn output(outcomes: &[HostOutcome]) -> protocol::output::assess::AssessOutputV1 {
    use protocol::output::assess::{AssessFailureV1, AssessOutputV1, AssessedV1};
    let mut document = AssessOutputV1 { assessments: Vec::new(), failures: Vec::new() };
    for outcome in outcomes {
        match outcome {
            HostOutcome::Assessed(assessment) => {
                document.assessments.push(AssessedV1::from(assessment.as_ref()))
            }
            HostOutcome::Failed(failure) => document.failures.push(AssessFailureV1 {
                host: failure.host.clone(),
                kind: failure.kind.to_owned(),
                message: failure.message.clone(),
            }),
        }
    }
    document
}
