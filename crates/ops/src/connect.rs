//! Connecting to an inventory host over SSH with its pinned key: the inventory's, else the one
//! pinned in the store, else (when allowed) whatever the host presents, which is then pinned.

use std::time::Duration;

use model::ResolvedHost;
use store::{PinnedHostKey, Store};
use transport::{Auth, HostKey, HostKeyPolicy, Ssh, SshConfig, TransportError};

#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// Pin the key a host presents when none is pinned yet, instead of refusing it.
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
    /// Fresh TCP handshakes while none is answered, from this often on
    /// ([`SshConfig::syn_every`]).
    pub syn_every: Option<Duration>,
    pub limits: transport::Limits,
    /// Who pins keys, for the record.
    pub actor: String,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        ConnectConfig {
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            syn_every: None,
            limits: transport::Limits::default(),
            actor: "patchctl".to_owned(),
        }
    }
}

/// Why a host could not be connected to: a stable reason code and a message for people.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectFailure {
    /// `refused`, `timed_out`, `unreachable`, `auth_failed`, `host_key_changed`,
    /// `host_key_unknown`, `sudo_needs_password`, `connection_lost`, `store`, `transport`.
    pub kind: &'static str,
    pub message: String,
}

impl ConnectFailure {
    /// A failure that may go away by itself (a host rebooting, a network healing), as opposed
    /// to one that needs a person (a changed host key, refused credentials).
    pub fn retryable(&self) -> bool {
        matches!(
            self.kind,
            "refused" | "timed_out" | "unreachable" | "connection_lost" | "transport"
        )
    }
}

pub async fn connect(
    host: &ResolvedHost,
    store: &Store,
    config: &ConnectConfig,
) -> Result<Ssh, ConnectFailure> {
    let store_error =
        |error: store::StoreError| ConnectFailure { kind: "store", message: error.to_string() };
    let transport_error = |error: TransportError| ConnectFailure {
        kind: transport_kind(&error),
        message: error.to_string(),
    };
    let pinned_text = match &host.host_key {
        Some(key) => Some(key.clone()),
        None => store
            .host_key(&host.name)
            .await
            .map_err(store_error)?
            .map(|k| format!("{} {}", k.key_type, k.key)),
    };
    let policy = match pinned_text {
        Some(text) => HostKeyPolicy::Pinned(vec![HostKey::parse(&text).map_err(transport_error)?]),
        None if config.accept_new_host_keys => HostKeyPolicy::AcceptNew,
        None => HostKeyPolicy::Pinned(Vec::new()),
    };
    let accepting_new = matches!(policy, HostKeyPolicy::AcceptNew);
    let key_file = host.ssh_key.as_ref().map(|p| expand_home(p));
    if let Some(path) = &key_file {
        crate::files::check_private_key(path)
            .map_err(|message| ConnectFailure { kind: "key_file_unsafe", message })?;
    }
    let auth = Auth { key_file, agent: true, agent_socket: None };
    let mut ssh_config = SshConfig::new(&host.name, &host.address, &host.user, auth, policy);
    ssh_config.port = host.port;
    ssh_config.sudo = host.sudo;
    ssh_config.connect_timeout = config.connect_timeout;
    ssh_config.syn_every = config.syn_every;
    ssh_config.limits = config.limits;
    let ssh = Ssh::connect(ssh_config).await.map_err(|error| match error {
        TransportError::HostKeyUnknown { host, fingerprint, .. } => ConnectFailure {
            kind: "host_key_unknown",
            message: format!("{host}: unknown host key {fingerprint}; pin it in the inventory (host_key = \"…\") or run with --accept-new-host-keys"),
        },
        other => transport_error(other),
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

pub fn transport_kind(error: &TransportError) -> &'static str {
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
pub(crate) fn expand_home(path: &std::path::Path) -> std::path::PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => std::path::PathBuf::from(home).join(rest),
        _ => path.to_owned(),
    }
}

fn now_unix() -> i64 {
    crate::clock::now_unix()
}
