//! The wave duration forecast: how long each wave of a plan should take, from how long hosts of
//! the same kind (package manager, rebooted or not) took in past rollouts; and whether the
//! waves left fit before a window's cutoff. Pure: the shell (`ops::forecast`) reads the past
//! runs from the rollout journals and passes the time left in.
//!
//! The model follows the rollout machine (`rollout::Rollout`): a wave opens when the one
//! before it closes; its hosts run side by side, at most `max_in_flight` at once, so a wave
//! lasts about the sum, over its batches of `max_in_flight` hosts, of the slowest host of each.
//! Prechecks (and snapshots) of a wave after the first run ahead, during the wave before it
//! once that wave's own are done, so a later wave waits only for what they take beyond that;
//! only the last wave waits for the old kernels' cleanup, the others close when a host has
//! nothing else left.

use crate::os::PackageManagerKind;
use crate::plan::{Plan, PlannedReboot};

/// One host's run in a past rollout that ended `done`, in milliseconds by its steps' times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRun {
    pub package_manager: PackageManagerKind,
    /// Its reboot step ran.
    pub rebooted: bool,
    /// Precheck and snapshot: before anything changes on the host.
    pub before_change_ms: u64,
    /// Apply, reboot and postchecks: what its wave waits for.
    pub change_ms: u64,
    /// The old kernels' removal after the postchecks.
    pub cleanup_ms: u64,
}

/// How the rollout will run, as far as its duration goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForecastConfig {
    /// Hosts with a step in flight at once (`rollout start --max-in-flight`).
    pub max_in_flight: usize,
    /// A wave's prechecks run during the wave before it (`--precheck-ahead`, on by default).
    pub prechecks_ahead: bool,
}

/// A wave's expected duration, and how long it may well take.
///
/// `expected_ms` is built from the median of the past runs of each host's kind: one slow run
/// (a mirror's bad minute) does not move it. `high_ms` is built from their 90th percentile
/// (nearest rank, so the slowest run when there are ten or fewer): the upper end of the
/// spread, which the window check uses, because a wave cut by the cutoff leaves an
/// environment half patched, and the window is a promise to the people who approved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub expected_ms: u64,
    pub high_ms: u64,
    /// The past host runs it rests on (of every kind its hosts are).
    pub samples: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveForecast {
    pub wave: String,
    /// `None`: a host of the wave is of a kind (package manager, reboot) no past rollout
    /// ran to its end, so there is nothing to forecast from.
    pub estimate: Option<Estimate>,
}

/// Each wave of `plan`, forecast from `history`.
pub fn forecast(plan: &Plan, history: &[HostRun], config: &ForecastConfig) -> Vec<WaveForecast> {
    let mut forecasts = Vec::new();
    // The wave before's time after its prechecks: the time ahead prechecks have.
    let mut previous_change: Option<Estimate> = None;
    for (index, wave) in plan.waves.iter().enumerate() {
        let last = index + 1 == plan.waves.len();
        let ahead = index > 0 && config.prechecks_ahead;
        let time = |shape: RunShape| wave_time(plan, &wave.hosts, history, shape, config);
        let change = time(RunShape { prechecks: !ahead, change: true, cleanup: last });
        let estimate = if ahead {
            // Its prechecks ran during the wave before, after that wave's own; what they take
            // beyond the rest of that wave, it waits for.
            let prechecks = time(RunShape { prechecks: true, change: false, cleanup: false });
            let waited = |pick: fn(&Estimate) -> u64| match (prechecks, previous_change) {
                (Some(p), Some(before)) => pick(&p).saturating_sub(pick(&before)),
                _ => 0,
            };
            change.map(|c| Estimate {
                expected_ms: c.expected_ms + waited(|e| e.expected_ms),
                high_ms: c.high_ms + waited(|e| e.high_ms),
                samples: c.samples,
            })
        } else {
            change
        };
        previous_change = time(RunShape { prechecks: false, change: true, cleanup: false });
        forecasts.push(WaveForecast { wave: wave.name.clone(), estimate });
    }
    forecasts
}

/// The first wave that would not end before the cutoff, when the waves run one after the
/// other from now, each taking the upper end of its forecast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WontFit {
    /// Its index in the plan's waves.
    pub index: usize,
    pub wave: String,
    pub estimate: Estimate,
    /// The upper ends of the waves before it, added up.
    pub before_ms: u64,
    /// From now to the cutoff.
    pub time_left_ms: u64,
}

impl std::fmt::Display for WontFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wave {} ({}) would not end before the window's cutoff: it is forecast to take {} \
             (up to {}), after up to {} for the waves before it, and {} is left",
            self.index + 1,
            self.wave,
            words(self.estimate.expected_ms),
            words(self.estimate.high_ms),
            words(self.before_ms),
            words(self.time_left_ms),
        )
    }
}

/// Whether `waves`, run from now, end before a cutoff `time_left_ms` away. A wave without a
/// forecast counts as taking no time: a plan is refused on evidence only, never for lack of it.
pub fn check_fit(waves: &[WaveForecast], time_left_ms: u64) -> Result<(), WontFit> {
    let mut before_ms = 0u64;
    for (index, wave) in waves.iter().enumerate() {
        let Some(estimate) = wave.estimate else { continue };
        if before_ms + estimate.high_ms > time_left_ms {
            return Err(WontFit {
                index,
                wave: wave.wave.clone(),
                estimate,
                before_ms,
                time_left_ms,
            });
        }
        before_ms += estimate.high_ms;
    }
    Ok(())
}

/// `1 min 20 s`: a forecast duration in words.
pub fn words(ms: u64) -> String {
    crate::dates::elapsed(chrono::TimeDelta::milliseconds(ms.min(i64::MAX as u64) as i64))
}

/// Which pieces of a host's past runs count.
#[derive(Debug, Clone, Copy)]
struct RunShape {
    prechecks: bool,
    change: bool,
    cleanup: bool,
}

/// How long `hosts` take for the pieces `shape` names: batches of `max_in_flight` hosts one
/// after the other, each as long as its slowest host. `None` when a host has no past run of
/// its kind.
fn wave_time(
    plan: &Plan,
    hosts: &[String],
    history: &[HostRun],
    shape: RunShape,
    config: &ForecastConfig,
) -> Option<Estimate> {
    let estimates: Vec<Estimate> = hosts
        .iter()
        .map(|name| {
            let host = plan.host(name)?;
            host_estimate(history, host.package_manager, host.reboot, shape)
        })
        .collect::<Option<_>>()?;
    if estimates.is_empty() {
        return None;
    }
    let mut total = Estimate { expected_ms: 0, high_ms: 0, samples: 0 };
    for batch in estimates.chunks(config.max_in_flight.max(1)) {
        total.expected_ms += batch.iter().map(|h| h.expected_ms).max().unwrap_or(0);
        total.high_ms += batch.iter().map(|h| h.high_ms).max().unwrap_or(0);
    }
    total.samples = kinds_samples(history, plan, hosts);
    Some(total)
}

/// Whether `run` tells of a host of this kind and reboot decision: a host that reboots (or
/// does not) is forecast from the runs that did (or did not); one that reboots if its apply
/// asks, from both, in the mix the past had.
fn is_like(run: &HostRun, kind: PackageManagerKind, reboot: PlannedReboot) -> bool {
    run.package_manager == kind
        && match reboot {
            PlannedReboot::Yes => run.rebooted,
            PlannedReboot::No => !run.rebooted,
            PlannedReboot::IfRequired => true,
        }
}

fn host_estimate(
    history: &[HostRun],
    kind: PackageManagerKind,
    reboot: PlannedReboot,
    shape: RunShape,
) -> Option<Estimate> {
    let mut totals: Vec<u64> = history
        .iter()
        .filter(|run| is_like(run, kind, reboot))
        .map(|run| {
            let piece = |counted: bool, ms: u64| if counted { ms } else { 0 };
            piece(shape.prechecks, run.before_change_ms)
                + piece(shape.change, run.change_ms)
                + piece(shape.cleanup, run.cleanup_ms)
        })
        .collect();
    if totals.is_empty() {
        return None;
    }
    totals.sort_unstable();
    let n = totals.len();
    let expected_ms =
        if n % 2 == 1 { totals[n / 2] } else { (totals[n / 2 - 1] + totals[n / 2]) / 2 };
    // Nearest rank: the smallest value with at least 90 % of the runs at or below it.
    let high_ms = totals[(n * 9).div_ceil(10) - 1];
    Some(Estimate { expected_ms, high_ms, samples: n })
}

/// The past runs of every kind the hosts of a wave are, counted once each.
fn kinds_samples(history: &[HostRun], plan: &Plan, hosts: &[String]) -> usize {
    let mut kinds: Vec<(PackageManagerKind, PlannedReboot)> = hosts
        .iter()
        .filter_map(|name| plan.host(name).map(|h| (h.package_manager, h.reboot)))
        .collect();
    kinds.sort_by_key(|(kind, reboot)| (kind.as_str(), *reboot as u8));
    kinds.dedup();
    history
        .iter()
        .filter(|run| kinds.iter().any(|&(kind, reboot)| is_like(run, kind, reboot)))
        .count()
}

#[cfg(test)]
mod tests;
