//! `GET /metrics`: Prometheus's text format. Step durations and failures are recorded as they
//! happen (`ops::metrics`, into the recorder installed here once per process); the fleet's
//! counts are read at each scrape (`ops::fleet::overview`, one query), per environment, never
//! per host.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;
use crate::error::ApiError;

/// The process's recorder, installed the first time a server starts.
pub(crate) fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Seconds: a precheck takes a few, an apply a minute, a reboot several.
            let buckets = [1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("patchctl_rollout_step_seconds".into()),
                    &buckets,
                )
                .expect("the buckets are not empty")
                .install_recorder()
                .expect("the first and only metrics recorder of the process")
        })
        .clone()
}

/// The fleet's counts, then everything recorded.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus's text format", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
) -> Result<impl IntoResponse, ApiError> {
    let overview =
        ops::fleet::overview(&state.ctx).await.map_err(|e| ApiError::from_query(&state.ctx, e))?;
    for environment in overview {
        let env = environment.environment.clone();
        let hosts = |state: &'static str, n: u64| {
            metrics::gauge!("patchctl_hosts", "environment" => env.clone(), "state" => state)
                .set(n as f64);
        };
        hosts("assessed", environment.assessed);
        hosts("assessment_failed", environment.failed);
        hosts("never_assessed", environment.never_assessed);
        hosts("updates_pending", environment.with_updates);
        hosts("security_updates_pending", environment.with_security_updates);
        hosts("reboot_required", environment.reboot_required);
        metrics::gauge!("patchctl_security_updates_pending", "environment" => env.clone())
            .set(environment.security_updates as f64);
    }
    let report = ops::compliance::report(&state.ctx, &["all".to_owned()])
        .await
        .map_err(|e| ApiError::from_query(&state.ctx, e))?;
    for environment in &report.environments {
        let ratio = if environment.n_hosts == 0 {
            1.0
        } else {
            environment.n_compliant as f64 / environment.n_hosts as f64
        };
        metrics::gauge!("patchctl_compliance_ratio", "environment" => environment.environment.clone())
            .set(ratio);
    }
    let text = state.metrics.render();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}
