//! [`WakeUps`]: what a waiter holds to be woken when another process asks a rollout's driver
//! something or creates a rollout (`Backend::wake_ups`; PostgreSQL's are in `postgres/wake.rs`).

use tokio::sync::watch;

/// A waiter on the process's wake-ups: [`WakeUps::woken`] returns once something happened
/// since the last time it returned (or since this waiter was made), however many things did.
#[derive(Debug)]
pub struct WakeUps {
    counter: watch::Receiver<u64>,
}

impl WakeUps {
    pub(crate) fn new(mut counter: watch::Receiver<u64>) -> WakeUps {
        counter.mark_unchanged();
        WakeUps { counter }
    }

    /// A waiter never woken (SQLite's).
    pub fn never() -> WakeUps {
        WakeUps::new(watch::Sender::new(0).subscribe())
    }

    /// Returns once woken; never, when nothing can wake it.
    pub async fn woken(&mut self) {
        if self.counter.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
