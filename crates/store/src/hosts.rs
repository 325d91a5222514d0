//! Hosts and the SSH host keys pinned for them: the records, and [`Hosts`], what every backend
//! implements for them.

use model::PackageManagerKind;

use crate::StoreError;

/// The hosts patchctl has seen and their pinned keys.
#[async_trait::async_trait]
pub trait Hosts: Send + Sync {
    /// Inserts a host, or updates its address, environment and package manager (a `None`
    /// package manager keeps the known one) and moves `last_seen` forward.
    async fn upsert_host(&self, host: &HostRow) -> Result<(), StoreError>;

    /// Every host, by name.
    async fn hosts(&self) -> Result<Vec<StoredHost>, StoreError>;

    /// Pins a host key. Pinning the key already pinned is a no-op; a different key is refused
    /// with [`StoreError::HostKeyMismatch`] (a changed key is never replaced silently: see
    /// [`Hosts::unpin_host_key`]). The host must have been upserted.
    async fn pin_host_key(&self, key: &PinnedHostKey) -> Result<PinOutcome, StoreError>;

    /// The key pinned for a host, if any.
    async fn host_key(&self, host: &str) -> Result<Option<PinnedHostKey>, StoreError>;

    /// Forgets a host's pinned key, for a deliberate change (a reinstalled host). True when
    /// one was pinned.
    async fn unpin_host_key(&self, host: &str) -> Result<bool, StoreError>;
}

/// A host as the inventory and the latest contact describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRow {
    pub name: String,
    pub address: String,
    pub environment: String,
    /// `None`: unknown yet; an upsert with `None` keeps what is known.
    pub package_manager: Option<PackageManagerKind>,
    /// When patchctl saw the host (Unix seconds): `first_seen` on insert, `last_seen` always.
    pub seen_at_unix: i64,
}

/// A host as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHost {
    pub name: String,
    pub address: String,
    pub environment: String,
    pub package_manager: Option<PackageManagerKind>,
    pub first_seen_unix: i64,
    pub last_seen_unix: i64,
}

/// A pinned SSH host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedHostKey {
    pub host: String,
    /// e.g. `ssh-ed25519`.
    pub key_type: String,
    /// The key blob in base64, as OpenSSH writes it.
    pub key: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    pub pinned_at_unix: i64,
    /// Who accepted the key: a user name, or `inventory` for a key written in the inventory.
    pub pinned_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    Pinned,
    /// That very key was pinned already; nothing changed (its `pinned_at` is kept).
    AlreadyPinned,
}
