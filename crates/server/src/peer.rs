//! The address a connection comes from, for the login's rate limit, on plain and TLS
//! listeners alike; and the failed logins of each address, kept in memory (a restart forgets
//! them; the per-user lockout is in the state database).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use model::access::RateLimit;
use tokio::net::TcpListener;

use crate::tls::TlsListener;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// Failed logins by client address, within the rate limit's window.
#[derive(Debug, Default)]
pub(crate) struct FailedLogins {
    by_address: Mutex<HashMap<IpAddr, Vec<i64>>>,
}

impl FailedLogins {
    /// Whether `address` may try to log in at `now_unix`; forgets failures out of the window.
    pub(crate) fn allows(&self, limit: &RateLimit, address: IpAddr, now_unix: i64) -> bool {
        let mut by_address = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
        by_address.retain(|_, failures| {
            failures.retain(|at| limit.counts(*at, now_unix));
            !failures.is_empty()
        });
        limit.allows(by_address.get(&address).map_or(&[], Vec::as_slice), now_unix)
    }

    pub(crate) fn failed(&self, address: IpAddr, now_unix: i64) {
        let mut by_address = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
        by_address.entry(address).or_default().push(now_unix);
    }
}
