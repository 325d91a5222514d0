//! A rollout's life, told as it happens: its start, a wave halted on its error budget, each
//! reboot warning (the host, when, the rollout, whom to ask), and its end with a summary host
//! by host. The driver's events (`rollout::Event`) are turned into notifications here
//! ([`Lifecycle::on_event`], called from the driver's event callback, which cannot wait) and
//! delivered in the background, in order, so a slow webhook never holds up a wave.
//!
//! Who is told is `model::notification`'s routing: the channels told of everything, and the
//! owners of the hosts concerned (every host of the plan for the start, a halt and the end;
//! the rebooting host's for its warning).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use model::notification::{Event as Notification, EventKind, Notifications};
use model::plan::Plan;
use rollout::{Event, HostState, Rollout, Step};
use store::Store;
use tokio::sync::mpsc;

use crate::notify::{NotifyReport, notify};

/// The notifications of one rollout's drive.
pub struct Lifecycle {
    rollout_id: String,
    plan: Plan,
    reboot_delay_minutes: u32,
    clock_offset_ms: i64,
    sender: mpsc::UnboundedSender<Notification>,
    deliveries: tokio::task::JoinHandle<Vec<NotifyReport>>,
}

impl Lifecycle {
    /// Starts the background delivery; call [`Lifecycle::finish`] when the drive is over.
    pub fn start(
        store: Store,
        settings: Notifications,
        rollout_id: &str,
        plan: Plan,
        reboot_delay_minutes: u32,
        clock_offset_ms: i64,
    ) -> Lifecycle {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Notification>();
        let deliveries = tokio::spawn(async move {
            let mut reports = Vec::new();
            while let Some(event) = receiver.recv().await {
                if settings.is_configured() {
                    reports.push(notify(&store, &settings, &event).await);
                }
            }
            reports
        });
        Lifecycle {
            rollout_id: rollout_id.to_owned(),
            plan,
            reboot_delay_minutes,
            clock_offset_ms,
            sender,
            deliveries,
        }
    }

    /// Queues the notification `event` calls for, if any.
    pub fn on_event(&self, event: &Event, machine: &Rollout) {
        if let Some(notification) = self.notification(event, machine) {
            // The receiver lives until `finish`: a send cannot fail before.
            let _ = self.sender.send(notification);
        }
    }

    /// Waits for every queued notification to be delivered (or given up on) and returns the
    /// problems, one line each.
    pub async fn finish(self) -> Vec<String> {
        drop(self.sender);
        match self.deliveries.await {
            Ok(reports) => reports.iter().flat_map(NotifyReport::problems).collect(),
            Err(error) => vec![format!("the rollout's notifications stopped: {error}")],
        }
    }

    fn now(&self) -> DateTime<Utc> {
        let now = super::driver::now_ms().saturating_add_signed(self.clock_offset_ms);
        DateTime::from_timestamp_millis(now as i64).unwrap_or_default()
    }

    fn owners_of<'a>(&self, hosts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let owners: BTreeSet<String> = hosts
            .into_iter()
            .filter_map(|h| self.plan.host(h).and_then(|p| p.owner.clone()))
            .collect();
        owners.into_iter().collect()
    }

    fn all_hosts(&self) -> Vec<String> {
        self.plan.hosts.iter().map(|h| h.host.clone()).collect()
    }

    fn notification(&self, event: &Event, machine: &Rollout) -> Option<Notification> {
        let id = &self.rollout_id;
        let plan = model::plan::short_id(&self.plan.id);
        let now = self.now();
        let everyone = |kind, subject: String, body: String| {
            let hosts = self.all_hosts();
            Notification {
                owners: self.owners_of(hosts.iter().map(String::as_str)),
                hosts,
                ..Notification::new(kind, subject, body, now)
            }
        };
        match event {
            // The first wave opens once, when the rollout starts (never on a resume).
            Event::WaveStarted { wave: 0, .. } => Some(everyone(
                EventKind::RolloutStarted,
                format!("patchctl: rollout {id} of plan {plan} started"),
                format!(
                    "Rollout {id} of plan {} started: {} hosts in {} waves ({}).\nFollow it with \
                     `patchctl rollout status {id}`; `patchctl rollout cancel {id}` stops it.",
                    self.plan.id,
                    self.plan.hosts.len(),
                    self.plan.waves.len(),
                    self.plan.waves.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", "),
                ),
            )),
            Event::Halted { reason, in_flight } => Some(everyone(
                EventKind::WaveHalted,
                format!("patchctl: rollout {id} HALTED: {reason}"),
                format!(
                    "Rollout {id} of plan {} halted: {reason}.\nNo host starts any more; {in_flight} \
                     hosts already changing are seen to the end.\n\n{}",
                    self.plan.id,
                    summary(machine).join("\n")
                ),
            )),
            // A cancelled rollout starts no reboot (the step calls it off): nothing to warn of.
            Event::HostChanged {
                host,
                to: HostState::Running { step: Step::Reboot, resume: false, .. },
                ..
            } if machine.stop_reason() != Some(&rollout::StopReason::Cancelled) => {
                let when = match self.reboot_delay_minutes {
                    0 => "now".to_owned(),
                    n => format!(
                        "in {n} minutes, at {}",
                        model::notification::shown_time(
                            now + chrono::TimeDelta::minutes(i64::from(n))
                        )
                    ),
                };
                Some(Notification {
                    hosts: vec![host.clone()],
                    owners: self.owners_of([host.as_str()]),
                    ..Notification::new(
                        EventKind::RebootWarning,
                        format!("patchctl: {host} reboots {when} (rollout {id})"),
                        format!(
                            "{host} reboots {when} to finish patching (rollout {id} of plan {plan}). \
                             Logged-in users see the same warning.\n`patchctl rollout cancel {id}` \
                             before then cancels the reboot (`shutdown -c`); the host stays \
                             patched, on its old kernel, until rebooted."
                        ),
                        now,
                    )
                })
            }
            Event::Finished { phase } => {
                let failed = machine.hosts().filter(|(_, s)| s.is_failure()).count();
                let done = machine.hosts().filter(|(_, s)| **s == HostState::Done).count();
                Some(everyone(
                    EventKind::RolloutFinished,
                    format!(
                        "patchctl: rollout {id} {}: {done} done, {failed} failed",
                        super::driver::phase_name(*phase)
                    ),
                    format!(
                        "Rollout {id} of plan {} is {}.\n\n{}\n\nThe full record: `patchctl report {id}`.",
                        self.plan.id,
                        super::driver::phase_name(*phase),
                        summary(machine).join("\n")
                    ),
                ))
            }
            _ => None,
        }
    }
}

/// One line per host: where it ended, and why when it did not end done.
fn summary(machine: &Rollout) -> Vec<String> {
    machine
        .hosts()
        .map(|(host, state)| match state {
            HostState::Failed { step, reason } => {
                format!("{host}: FAILED at {}: {reason}", step.as_str())
            }
            HostState::Lost { step, reason } => {
                format!("{host}: LOST during {}: {reason}", step.as_str())
            }
            HostState::RolledBack { reason } => format!("{host}: rolled back: {reason}"),
            HostState::Skipped { reason } => format!("{host}: skipped: {reason}"),
            state => format!("{host}: {}", state.name()),
        })
        .collect()
}
