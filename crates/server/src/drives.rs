//! The rollouts this server drives because a caller resumed them: each in a task of its own,
//! all told to stop when the server stops (each pauses, its lease released, resumable by any
//! patchctl), and waited for before [`crate::run`] returns.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinSet;

pub(crate) struct Drives {
    stopped: watch::Receiver<bool>,
    tasks: Mutex<JoinSet<()>>,
}

impl Drives {
    pub fn new(stopped: watch::Receiver<bool>) -> Drives {
        Drives { stopped, tasks: Mutex::new(JoinSet::new()) }
    }

    /// Changes to true when the server stops: for the answers that stream until then.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stopped.clone()
    }

    /// Drives `rollout` here, for `actor` (the caller who started or resumed it, whom the
    /// journal names for its resume), until it ends or the server stops; its end is told to
    /// the log.
    pub fn spawn(
        &self,
        ctx: Arc<ops::Context>,
        rollout: String,
        actor: String,
        run: &ops::rollout::RunOptions,
    ) {
        let options = ops::rollout::RunOptions { actor: Some(actor), ..run.clone() };
        let mut stopped = self.stopped.clone();
        let task = async move {
            let stop = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            match ops::rollout::drive_here(&ctx, &rollout, &options, stop).await {
                Ok(_) => ctx.progress.notice(&format!("server: rollout {rollout} driven")),
                Err(error) => {
                    ctx.progress.notice(&format!("server: driving rollout {rollout}: {error}"))
                }
            }
        };
        self.tasks.lock().expect("the drives' lock").spawn(task);
    }

    /// Waits for every drive to end (they pause once the server stops).
    pub async fn finish(&self) {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().expect("the drives' lock"));
        while tasks.join_next().await.is_some() {}
    }
}
