//! Where the application's progress goes on a terminal: notices on standard error, and a
//! rollout's table (`rollout_progress.rs`) while one is driven here.

use std::sync::Mutex;

use ops::rollout::Waiting;
use ops::rollout::{Event, Rollout};

use crate::rollout_progress::RolloutProgress;

#[derive(Default)]
pub struct Printed {
    /// The rollout being driven, when one is (the scheduler drives several: then only lines).
    rollout: Mutex<Option<RolloutProgress>>,
    /// Rollouts being driven now.
    driving: Mutex<usize>,
}

impl ops::Progress for Printed {
    fn rollout_started(&self, _rollout: &str, hosts: &[(String, String)]) {
        let mut driving = self.driving.lock().expect("not poisoned");
        *driving += 1;
        let mut rollout = self.rollout.lock().expect("not poisoned");
        // A live table for one rollout; the scheduler's side-by-side rollouts get lines.
        *rollout = (*driving == 1).then(|| RolloutProgress::new(hosts.iter().cloned().collect()));
    }

    fn rollout_event(&self, event: &Event, machine: &Rollout) {
        match self.rollout.lock().expect("not poisoned").as_ref() {
            Some(progress) => progress.event(event, machine),
            None => RolloutProgress::plain().event(event, machine),
        }
    }

    fn waiting(&self, host: &str, waiting: Option<&Waiting>) {
        match self.rollout.lock().expect("not poisoned").as_ref() {
            Some(progress) => progress.waiting(host, waiting),
            None => RolloutProgress::plain().waiting(host, waiting),
        }
    }

    fn rollout_stopped(&self) {
        let mut driving = self.driving.lock().expect("not poisoned");
        *driving = driving.saturating_sub(1);
        if let Some(progress) = self.rollout.lock().expect("not poisoned").take() {
            progress.finish();
        }
    }

    fn notice(&self, text: &str) {
        eprintln!("patchctl: {text}");
    }
}
