//! User authentication: the key file first, then the keys of the ssh-agent, and when nothing
//! worked an error that says what was tried and why each attempt failed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{AuthResult, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};

use super::host_key::Client;
use crate::TransportError;

/// How to prove who we are. Both may be given: the key file is tried first, then the agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// An unencrypted private key in OpenSSH (or PEM) format. Keys with a passphrase belong in
    /// the agent.
    pub key_file: Option<PathBuf>,
    /// Use the keys of the ssh-agent listening at `agent_socket`, or else at `$SSH_AUTH_SOCK`.
    pub agent: bool,
    pub agent_socket: Option<PathBuf>,
}

/// Whether the key file can be used to log in: it loads as an unencrypted private key. Returns
/// its description (algorithm and SHA-256 fingerprint), for `patchctl doctor`; the error says
/// why not, as authentication would.
pub fn check_key_file(path: &Path) -> Result<String, String> {
    let key = russh::keys::load_secret_key(path, None)
        .map_err(|error| format!("key file {} could not be used: {error}", path.display()))?;
    Ok(describe("key file", path.display(), key.public_key()))
}

pub(crate) async fn authenticate(
    handle: &mut Handle<Client>,
    host: &str,
    user: &str,
    auth: &Auth,
) -> Result<(), TransportError> {
    let mut tried = Vec::new();
    if let Some(path) = &auth.key_file {
        match russh::keys::load_secret_key(path, None) {
            Err(error) => {
                tried.push(format!("key file {} could not be used: {error}", path.display()))
            }
            Ok(key) => {
                let hash_alg = rsa_hash(handle, key.algorithm().is_rsa(), host).await?;
                let description = describe("key file", path.display(), key.public_key());
                let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash_alg);
                let result = handle
                    .authenticate_publickey(user, key)
                    .await
                    .map_err(|error| protocol_error(host, error))?;
                match refusal(result) {
                    None => return Ok(()),
                    Some(why) => tried.push(format!("{description}: {why}")),
                }
            }
        }
    }
    if auth.agent && agent(handle, host, user, auth.agent_socket.as_deref(), &mut tried).await? {
        return Ok(());
    }
    if tried.is_empty() {
        tried.push("nothing: no key file and no agent configured".to_owned());
    }
    Err(TransportError::AuthFailed { host: host.to_owned(), user: user.to_owned(), tried })
}

/// Offers each key the agent holds; Ok(true) once one is accepted.
async fn agent(
    handle: &mut Handle<Client>,
    host: &str,
    user: &str,
    socket: Option<&Path>,
    tried: &mut Vec<String>,
) -> Result<bool, TransportError> {
    let connected = match socket {
        Some(socket) => AgentClient::connect_uds(socket).await,
        None => AgentClient::connect_env().await,
    };
    let mut agent = match connected {
        Ok(agent) => agent,
        Err(error) => {
            tried.push(format!("ssh-agent: cannot connect: {error}"));
            return Ok(false);
        }
    };
    let identities = match agent.request_identities().await {
        Ok(identities) => identities,
        Err(error) => {
            tried.push(format!("ssh-agent: cannot list its keys: {error}"));
            return Ok(false);
        }
    };
    if identities.is_empty() {
        tried.push("ssh-agent: it holds no keys".to_owned());
    }
    for identity in identities {
        // Certificates would need the server to trust their authority; offer the plain key.
        let key = match identity {
            AgentIdentity::PublicKey { key, .. } => key,
            AgentIdentity::Certificate { .. } => continue,
        };
        let description = describe("agent key", key.comment(), &key);
        let hash_alg = rsa_hash(handle, key.algorithm().is_rsa(), host).await?;
        let result = match handle.authenticate_publickey_with(user, key, hash_alg, &mut agent).await
        {
            Ok(result) => result,
            Err(error) => {
                tried.push(format!("{description}: the agent could not sign: {error}"));
                continue;
            }
        };
        match refusal(result) {
            None => return Ok(true),
            Some(why) => tried.push(format!("{description}: {why}")),
        }
    }
    Ok(false)
}

/// For an RSA key, the signature hash the server accepts (rsa-sha2-512 or -256 rather than
/// SHA-1), as it announced in its server-sig-algs extension.
async fn rsa_hash(
    handle: &Handle<Client>,
    is_rsa: bool,
    host: &str,
) -> Result<Option<HashAlg>, TransportError> {
    if !is_rsa {
        return Ok(None);
    }
    let best =
        handle.best_supported_rsa_hash().await.map_err(|error| protocol_error(host, error))?;
    Ok(best.flatten())
}

/// Why the server refused, or None when it accepted.
fn refusal(result: AuthResult) -> Option<String> {
    match result {
        AuthResult::Success => None,
        AuthResult::Failure { partial_success: true, remaining_methods } => Some(format!(
            "accepted, but the server also wants {}",
            method_names(&remaining_methods)
        )),
        AuthResult::Failure { remaining_methods, .. } => {
            Some(format!("refused (the server accepts: {})", method_names(&remaining_methods)))
        }
    }
}

fn method_names(methods: &russh::MethodSet) -> String {
    if methods.is_empty() {
        return "nothing more".to_owned();
    }
    methods.iter().map(<&str>::from).collect::<Vec<_>>().join(", ")
}

fn describe(kind: &str, name: impl std::fmt::Display, key: &PublicKey) -> String {
    format!("{kind} {name} ({} {})", key.algorithm(), key.fingerprint(HashAlg::Sha256))
}

fn protocol_error(host: &str, error: russh::Error) -> TransportError {
    TransportError::Ssh { host: host.to_owned(), message: format!("authenticating: {error}") }
}
