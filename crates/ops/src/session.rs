//! What a rollout's steps need of a host, whatever carries the commands: a `HostSession` (a
//! `Transport` that can say it is no longer usable) and a `Connector` that opens one. Over SSH
//! it is `SshConnector` (`connect.rs`: the pinned host key, the user's key, sudo); an agent, or
//! a test's fake host, is another implementation, and the steps do not change.

use std::sync::Arc;

use model::ResolvedHost;
use store::Store;
use transport::Transport;

use crate::connect::{ConnectConfig, ConnectFailure, connect};

/// An open way to run commands on one host.
pub trait HostSession: Transport {
    /// The session broke (the host went down, the network dropped it): open another.
    fn is_closed(&self) -> bool;
}

impl HostSession for transport::Ssh {
    fn is_closed(&self) -> bool {
        transport::Ssh::is_closed(self)
    }
}

/// This machine, through the local transport: a session that never breaks.
impl HostSession for transport::Local {
    fn is_closed(&self) -> bool {
        false
    }
}

/// Opens sessions to hosts.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    async fn connect(
        &self,
        host: &ResolvedHost,
        config: &ConnectConfig,
    ) -> Result<Arc<dyn HostSession>, ConnectFailure>;
}

/// Sessions over SSH, the host keys pinned in the inventory or the state database.
pub struct SshConnector {
    pub store: Store,
}

#[async_trait::async_trait]
impl Connector for SshConnector {
    async fn connect(
        &self,
        host: &ResolvedHost,
        config: &ConnectConfig,
    ) -> Result<Arc<dyn HostSession>, ConnectFailure> {
        Ok(Arc::new(connect(host, &self.store, config).await?))
    }
}
