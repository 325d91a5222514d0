//! Assessing many hosts at once: a connection per host (SSH with pinned host keys, or this
//! machine), at most `concurrency` hosts at a time, every result or failure recorded in the
//! store with its reason. One failed host never stops the others.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use model::{Assessment, ResolvedHost, TransportKind};
use store::{AssessmentOutcome, AssessmentRecord, Failure, HostRow, PinnedHostKey, Store};
use tokio::sync::Semaphore;
use transport::{Auth, HostKey, HostKeyPolicy, Local, Ssh, SshConfig, TransportError};

use crate::assess::{AssessConfig, assess_host};

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
}

impl Default for FleetAssessConfig {
    fn default() -> Self {
        FleetAssessConfig {
            concurrency: 50,
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(300),
            actor: "patchctl".to_owned(),
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
    /// `unsupported_os`, `transport`.
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
    let limit = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let done = std::sync::atomic::AtomicUsize::new(0);
    let work = hosts.iter().map(|host| {
        let limit = limit.clone();
        let done = &done;
        async move {
            let _permit = limit.acquire().await.expect("the semaphore is never closed");
            let started = Instant::now();
            let taken_at_unix = now_unix();
            let outcome = assess_one(host, store, config).await;
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

async fn assess_one(host: &ResolvedHost, store: &Store, config: &FleetAssessConfig) -> HostOutcome {
    let fail = |kind: &'static str, message: String| {
        HostOutcome::Failed(HostFailure { host: host.name.clone(), kind, message })
    };
    let assess_config = AssessConfig { package_manager: host.package_manager };
    let limits =
        transport::Limits { command_timeout: config.command_timeout, ..Default::default() };
    let result = match host.transport {
        TransportKind::Local => assess_host(&host.name, &Local::new(limits), &assess_config).await,
        TransportKind::Ssh => {
            let ssh = match connect(host, store, config, limits).await {
                Ok(ssh) => ssh,
                Err(Connect::Transport(error)) => {
                    return fail(transport_kind(&error), error.to_string());
                }
                Err(Connect::Other(kind, message)) => return fail(kind, message),
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

enum Connect {
    Transport(TransportError),
    Other(&'static str, String),
}

/// Connects with the host key pinned in the inventory, else the one pinned in the store, else
/// (with `accept_new_host_keys`) whatever the host presents, which is then pinned.
async fn connect(
    host: &ResolvedHost,
    store: &Store,
    config: &FleetAssessConfig,
    limits: transport::Limits,
) -> Result<Ssh, Connect> {
    let store_error = |error: store::StoreError| Connect::Other("store", error.to_string());
    let pinned_text = match &host.host_key {
        Some(key) => Some(key.clone()),
        None => store
            .host_key(&host.name)
            .await
            .map_err(store_error)?
            .map(|k| format!("{} {}", k.key_type, k.key)),
    };
    let policy = match pinned_text {
        Some(text) => {
            HostKeyPolicy::Pinned(vec![HostKey::parse(&text).map_err(Connect::Transport)?])
        }
        None if config.accept_new_host_keys => HostKeyPolicy::AcceptNew,
        None => HostKeyPolicy::Pinned(Vec::new()),
    };
    let accepting_new = matches!(policy, HostKeyPolicy::AcceptNew);
    let auth = Auth {
        key_file: host.ssh_key.as_ref().map(|p| expand_home(p)),
        agent: true,
        agent_socket: None,
    };
    let mut ssh_config = SshConfig::new(&host.name, &host.address, &host.user, auth, policy);
    ssh_config.port = host.port;
    ssh_config.sudo = host.sudo;
    ssh_config.connect_timeout = config.connect_timeout;
    ssh_config.limits = limits;
    let ssh = Ssh::connect(ssh_config).await.map_err(|error| match error {
        TransportError::HostKeyUnknown { host, fingerprint, .. } => Connect::Other(
            "host_key_unknown",
            format!("{host}: unknown host key {fingerprint}; pin it in the inventory (host_key = \"…\") or run with --accept-new-host-keys"),
        ),
        other => Connect::Transport(other),
    })?;
    if accepting_new {
        let key = ssh.host_key();
        let openssh = key.to_openssh();
        let mut words = openssh.split_whitespace();
        let (key_type, base64) =
            (words.next().unwrap_or_default(), words.next().unwrap_or_default());
        store
            .pin_host_key(&PinnedHostKey {
                host: host.name.clone(),
                key_type: key_type.to_owned(),
                key: base64.to_owned(),
                fingerprint: key.fingerprint(),
                pinned_at_unix: now_unix(),
                pinned_by: config.actor.clone(),
            })
            .await
            .map_err(store_error)?;
    }
    Ok(ssh)
}

fn transport_kind(error: &TransportError) -> &'static str {
    match error {
        TransportError::ConnectionRefused { .. } => "refused",
        TransportError::ConnectTimedOut { .. } | TransportError::TimedOut { .. } => "timed_out",
        TransportError::Unreachable { .. } => "unreachable",
        TransportError::AuthFailed { .. } => "auth_failed",
        TransportError::HostKeyChanged { .. } => "host_key_changed",
        TransportError::HostKeyUnknown { .. } => "host_key_unknown",
        TransportError::SudoNeedsPassword { .. } => "sudo_needs_password",
        TransportError::ConnectionLost { .. } => "connection_lost",
        _ => "transport",
    }
}

/// `~/x` as the user means it: inventories are written by people.
fn expand_home(path: &std::path::Path) -> std::path::PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => std::path::PathBuf::from(home).join(rest),
        _ => path.to_owned(),
    }
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}
