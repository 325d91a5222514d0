//! The wake-up on PostgreSQL: a request journaled, or a rollout created, by any process
//! notifies channel [`CHANNEL`] in its transaction (delivered when it commits); each process
//! listens on one connection of its own (a `PgListener`, started on the first
//! `Backend::wake_ups`) and turns every notification into a bump of one counter, which every
//! waiter watches: a burst of them wakes each waiter once. It only hastens what polling does:
//! a listener that loses its connection connects again (and wakes everyone, since
//! notifications may have been missed meanwhile); one that cannot connect tries again later;
//! behind a transaction-pooling PgBouncer, where LISTEN does not hold, polling does it all.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::watch;

use crate::WakeUps;

/// The channel every patchctl process notifies and listens on.
pub const CHANNEL: &str = "patchctl_wake";

/// How long a listener that could not connect waits before trying again, at most.
const RETRY_AT_MOST: Duration = Duration::from_secs(30);

/// A process's one listener, started on first use, stopped with the store.
#[derive(Debug)]
pub(crate) struct Wake {
    options: PgConnectOptions,
    counter: watch::Sender<u64>,
    listener: OnceLock<Mutex<Option<tokio::task::AbortHandle>>>,
}

impl Wake {
    pub(crate) fn new(options: PgConnectOptions) -> Wake {
        Wake { options, counter: watch::Sender::new(0), listener: OnceLock::new() }
    }

    /// A new waiter, the listener started if it was not (on the caller's runtime; without
    /// one, the waiter is never woken, and polling does it all).
    pub(crate) fn wake_ups(&self) -> WakeUps {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.listener.get_or_init(|| {
                let task = runtime.spawn(listen(self.options.clone(), self.counter.clone()));
                Mutex::new(Some(task.abort_handle()))
            });
        }
        WakeUps::new(self.counter.subscribe())
    }

    /// Stops the listener.
    pub(crate) fn stop(&self) {
        if let Some(listener) = self.listener.get()
            && let Ok(mut task) = listener.lock()
            && let Some(task) = task.take()
        {
            task.abort();
        }
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Listens for ever, bumping `counter` at every notification and every reconnection.
async fn listen(options: PgConnectOptions, counter: watch::Sender<u64>) {
    let bump = || counter.send_modify(|n| *n = n.wrapping_add(1));
    // A pool of its own, so that the listener never takes a connection the store's pool needs.
    let pool = PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
    let mut retry = Duration::from_secs(1);
    loop {
        if let Ok(mut listener) = PgListener::connect_with(&pool).await
            && listener.listen(CHANNEL).await.is_ok()
        {
            retry = Duration::from_secs(1);
            bump();
            // `None`: the connection was lost (notifications may have been missed), and the
            // next call connects again.
            while listener.try_recv().await.is_ok() {
                bump();
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_AT_MOST);
    }
}
