//! The wave duration forecast's shell: the past host runs read from the journals of the newest
//! finished rollouts, each plan's forecast (`model::forecast`), and the check every start
//! passes, by hand (`rollout start`) or by the scheduler, that its waves end before the
//! window's cutoff.

use chrono::{DateTime, Utc};
use model::forecast::{ForecastConfig, HostRun, WaveForecast};
use model::plan::Plan;
use store::Store;

use crate::rollout::{Config, RolloutError};

/// How many of the newest finished rollouts the forecast learns from: enough runs of each
/// kind of host for a median and a 90th percentile, recent enough to be today's fleet, few
/// enough that reading their journals stays quick.
pub const HISTORY_ROLLOUTS: usize = 10;

/// The host runs of the newest finished rollouts, newest first. A rollout whose journal does
/// not verify, or whose plan cannot be read, is left out: it is evidence no longer.
pub async fn history(store: &Store) -> Result<Vec<HostRun>, RolloutError> {
    let rows = store.rollouts().await?;
    let mut runs = Vec::new();
    for row in rows.iter().filter(|r| r.phase.is_finished()).take(HISTORY_ROLLOUTS) {
        let loaded = match crate::rollout::load(store, &row.id).await {
            Ok(loaded) => loaded,
            Err(RolloutError::Store(error)) => return Err(error.into()),
            Err(_) => continue,
        };
        let plan = &loaded.plan;
        runs.extend(loaded.machine.host_runs(|host| plan.host(host).map(|h| h.package_manager)));
    }
    Ok(runs)
}

/// How a rollout run with `config` runs, as far as its duration goes.
pub fn forecast_config(config: &Config) -> ForecastConfig {
    ForecastConfig {
        max_in_flight: config.max_in_flight,
        prechecks_ahead: config.precheck_ahead.is_some(),
    }
}

/// The forecast of each wave of `plan`, run as `config` says, from the rollouts on record.
pub async fn plan_forecast(
    store: &Store,
    plan: &Plan,
    config: &ForecastConfig,
) -> Result<Vec<WaveForecast>, RolloutError> {
    Ok(model::forecast::forecast(plan, &history(store).await?, config))
}

/// Why `plan`, started at `now` and run as `config` says, would not end before `cutoff`: the
/// first wave whose forecast (its upper end, the waves before it added) passes the cutoff.
/// `Ok(None)`: it fits, or there is no history to tell.
pub async fn wont_fit(
    store: &Store,
    plan: &Plan,
    config: &Config,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> Result<Option<String>, RolloutError> {
    let waves = plan_forecast(store, plan, &forecast_config(config)).await?;
    let time_left_ms = (cutoff - now).num_milliseconds().max(0) as u64;
    Ok(model::forecast::check_fit(&waves, time_left_ms).err().map(|wont| {
        format!(
            "plan {} does not fit its window: {wont} (cutoff {}); the forecast comes from \
             the last {HISTORY_ROLLOUTS} finished rollouts' hosts of the same kind",
            model::plan::short_id(&plan.id),
            model::dates::rfc3339(cutoff),
        )
    }))
}
