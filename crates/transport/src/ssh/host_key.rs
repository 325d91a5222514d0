//! Host keys: the pinned keys a host must present, and the check made during the key exchange,
//! before anything is sent to the host. Never "accept whatever the host presents" silently:
//! `AcceptNew` accepts a key only to report it, so the caller can pin it.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use russh::keys::{Algorithm, HashAlg, PublicKey, PublicKeyOrCertificate};

use crate::TransportError;

/// A host's public key, written as OpenSSH writes it (`ssh-ed25519 AAAA…`).
#[derive(Clone)]
pub struct HostKey {
    key: PublicKey,
}

impl HostKey {
    /// Parses `type base64 [comment]`, as in a `.pub` file, `ssh-keyscan` output without the host
    /// name, or what [`HostKey::to_openssh`] wrote.
    pub fn parse(text: &str) -> Result<HostKey, TransportError> {
        let key = PublicKey::from_openssh(text.trim()).map_err(|error| {
            TransportError::InvalidHostKey { text: text.to_owned(), reason: error.to_string() }
        })?;
        Ok(HostKey { key })
    }

    /// The key as OpenSSH writes it, without a comment: what to pin.
    pub fn to_openssh(&self) -> String {
        let mut key = self.key.clone();
        key.set_comment("");
        key.to_openssh().expect("a parsed or received key encodes").trim_end().to_owned()
    }

    /// The fingerprint as `ssh-keygen -l` and ssh's own messages print it: `SHA256:base64`.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }
}

/// Keys are equal when the key material is: comments do not count.
impl PartialEq for HostKey {
    fn eq(&self, other: &HostKey) -> bool {
        self.key.key_data() == other.key.key_data()
    }
}

impl Eq for HostKey {}

impl fmt::Display for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_openssh())
    }
}

impl fmt::Debug for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostKey({} {})", self.algorithm(), self.fingerprint())
    }
}

impl FromStr for HostKey {
    type Err = TransportError;

    fn from_str(text: &str) -> Result<HostKey, TransportError> {
        HostKey::parse(text)
    }
}

/// Which host keys to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Only these keys (usually one; several while a host rotates its key). An empty list trusts
    /// nothing: connecting fails with `HostKeyUnknown`, which carries the key to pin.
    Pinned(Vec<HostKey>),
    /// Trust whatever key the host presents, and report it through `Ssh::host_key` so that the
    /// caller records it and pins it from then on ("trust on first use").
    AcceptNew,
}

/// The host key algorithms to ask for, most wanted first: the pinned keys' own algorithms, so
/// that a host with several keys presents a pinned one, then all others, so that a host which
/// lost the pinned key still presents one and the error can show its fingerprint.
pub(crate) fn preferred_algorithms(policy: &HostKeyPolicy) -> Cow<'static, [Algorithm]> {
    let defaults = russh::Preferred::DEFAULT.key;
    let HostKeyPolicy::Pinned(keys) = policy else { return defaults };
    let mut algorithms: Vec<Algorithm> = Vec::new();
    for key in keys {
        let wanted = match key.algorithm() {
            // An RSA key signs as rsa-sha2-512, rsa-sha2-256 or (legacy) ssh-rsa.
            Algorithm::Rsa { .. } => defaults
                .iter()
                .filter(|a| matches!(a, Algorithm::Rsa { .. }))
                .cloned()
                .collect::<Vec<_>>(),
            algorithm => vec![algorithm],
        };
        for algorithm in wanted {
            if defaults.contains(&algorithm) && !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
    }
    for algorithm in defaults.iter() {
        if !algorithms.contains(algorithm) {
            algorithms.push(algorithm.clone());
        }
    }
    Cow::Owned(algorithms)
}

/// The russh client handler: checks the host key against the policy, and keeps the key for
/// after the handshake, to report it or to say why it was refused.
pub(crate) struct Client {
    pub(crate) policy: HostKeyPolicy,
    pub(crate) seen: Arc<Mutex<Option<HostKey>>>,
}

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        presented: &PublicKeyOrCertificate,
    ) -> Result<bool, russh::Error> {
        let key = match presented {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            // We advertise no certificate algorithms, so a host presents a plain key; should one
            // present a certificate anyway, only its key counts, never its signature.
            PublicKeyOrCertificate::Certificate(certificate) => {
                PublicKey::new(certificate.public_key().clone(), "")
            }
        };
        let key = HostKey { key };
        let trusted = match &self.policy {
            HostKeyPolicy::Pinned(pinned) => pinned.contains(&key),
            HostKeyPolicy::AcceptNew => true,
        };
        *self.seen.lock().expect("not poisoned") = Some(key);
        Ok(trusted)
    }
}

/// The error for a host whose key `presented` was refused under `policy`.
pub(crate) fn refused(host: &str, policy: &HostKeyPolicy, presented: &HostKey) -> TransportError {
    match policy {
        HostKeyPolicy::Pinned(pinned) if !pinned.is_empty() => TransportError::HostKeyChanged {
            host: host.to_owned(),
            expected_fingerprint: pinned
                .iter()
                .map(HostKey::fingerprint)
                .collect::<Vec<_>>()
                .join(" or "),
            actual_fingerprint: presented.fingerprint(),
        },
        _ => TransportError::HostKeyUnknown {
            host: host.to_owned(),
            fingerprint: presented.fingerprint(),
            key: presented.to_openssh(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `ssh-keygen -t ed25519`; the fingerprint is what `ssh-keygen -l -f` prints.
    const ED25519: &str = "ssh-ed25519 \
        AAAAC3NzaC1lZDI1NTE5AAAAID0ub0QUqhTMbVJQMyUlBVzH2SCaT59cmhQh3h8d0xl2 test@example";
    const ED25519_FINGERPRINT: &str = "SHA256:5xTn6E6ieZXAhhZRBpSBfhGroC5AsdR69HSuWblfa2A";

    #[test]
    fn parses_and_prints_as_openssh() {
        let key = HostKey::parse(ED25519).unwrap();
        assert_eq!(key.fingerprint(), ED25519_FINGERPRINT);
        assert_eq!(key.to_openssh(), ED25519.rsplit_once(' ').unwrap().0);
        assert_eq!(HostKey::parse(&key.to_openssh()).unwrap(), key, "the comment does not count");
        assert!(matches!(
            HostKey::parse("ssh-ed25519 not-base64"),
            Err(TransportError::InvalidHostKey { .. })
        ));
    }

    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDT1yqcfXGMFb3MqOLT7RV6wZopygTAJcf1nJj3mJIxhi2fqCgcmoSqnjO+wO9BYNUs4lPqQQsuZXwg/lU6rhE4jU38CX/HgtAA/lZFE47rht3DRNPMca6dia1d7w9IP28VZ12/3v2ecyCRCtGf7d7BcElPGppxafN4xSKU25MEt6GMnLk+oHLxyV4G+hDSGIpX6pIt9oq5yho2KnBMQoaIAkiNxu3M6TEnuLawL0XhD51V+J75LzbKlOVUA5l0JhUT7xxwnq2ZF6QX/fSKrmEHPUvrYEJYTY8VsP42kEQlNqSpoPEzOzct96Cqc1/2r8vplD2q1yqZ5cblfVurmomp";
    const RSA_FINGERPRINT: &str = "SHA256:5qyO47UTfd2yK/Aetunixz2TBHGiZPF5jVp4fVxmB2U";

    #[test]
    fn rsa_keys() {
        let key = HostKey::parse(RSA).unwrap();
        assert_eq!(key.fingerprint(), RSA_FINGERPRINT);
        assert_eq!(key.to_openssh(), RSA);
        let preferred = preferred_algorithms(&HostKeyPolicy::Pinned(vec![key]));
        assert!(
            matches!(preferred[..2], [Algorithm::Rsa { .. }, Algorithm::Rsa { .. }]),
            "{preferred:?}"
        );
    }

    #[test]
    fn pinned_algorithms_are_asked_for_first() {
        let policy = HostKeyPolicy::Pinned(vec![HostKey::parse(ED25519).unwrap()]);
        let preferred = preferred_algorithms(&policy);
        assert_eq!(preferred[0], Algorithm::Ed25519);
        assert_eq!(preferred.len(), russh::Preferred::DEFAULT.key.len());
    }
}
