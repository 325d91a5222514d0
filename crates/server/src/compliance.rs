//! The compliance page (`GET /compliance`): each environment's compliance and pending security
//! updates over the last [`TREND_DAYS`] days, plotted on the server (`model::plot`), with the
//! figures in a table beside each plot. It reads the daily rows `ops::compliance::snapshot`
//! records, which [`record`] takes when the server starts and every [`EVERY`] after: a page
//! costs a few rows whatever the fleet's size. Below them, the CVE exposure by severity that
//! `cves.rs` keeps, evaluated as often.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{Extension, State};
use axum::response::Html;
use model::access::Role;
use model::compliance::patch_age::BUCKETS;
use model::plot::{Series, bar_chart, line_chart};
use ops::compliance::Day;
use ops::identity::Identity;
use tokio::sync::watch;

use crate::AppState;
use crate::error::ApiError;

/// The days the page plots.
pub const TREND_DAYS: u32 = 90;

/// How often the server evaluates the fleet's compliance for the trend and the pages.
pub const EVERY: Duration = Duration::from_secs(15 * 60);

/// Records today's compliance now and every [`EVERY`] until `stopped`; a failure is told to
/// the log and tried again next time.
pub(crate) async fn record(ctx: Arc<ops::Context>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            recorded = ops::compliance::snapshot(&ctx) => if let Err(error) = recorded {
                ctx.progress.notice(&format!("server: recording the compliance trend: {error}"));
            },
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

struct DayRow {
    environment: String,
    hosts: i64,
    compliant: i64,
    ratio: String,
    security_updates: i64,
    hosts_with_security: i64,
    reboot_required: i64,
    /// The mean time to patch, in days, or a dash.
    mean_time_to_patch: String,
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    user: String,
    role: Role,
    /// When the figures were evaluated, or `None` before the first evaluation.
    evaluated: Option<String>,
    latest: Vec<DayRow>,
    compliance_plot: String,
    security_plot: String,
    age_plot: String,
    /// The CVE exposure by severity, as `cves::record` last counted it.
    exposure: Option<Arc<crate::cves::Exposure>>,
}

/// `GET /compliance`.
pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let rows =
        ops::compliance::trend(ctx, TREND_DAYS).await.map_err(|e| ApiError::from_query(ctx, e))?;
    let days: Vec<String> =
        rows.iter().map(|r| r.day.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let environments: BTreeSet<&str> = rows.iter().map(|r| r.environment.as_str()).collect();
    let series = |value: fn(&Day) -> f64| -> Vec<Series> {
        environments
            .iter()
            .map(|environment| Series {
                name: (*environment).to_owned(),
                values: days
                    .iter()
                    .map(|day| {
                        rows.iter()
                            .find(|r| &r.day == day && r.environment == *environment)
                            .map(value)
                    })
                    .collect(),
            })
            .collect()
    };
    let ratio = |r: &Day| {
        if r.hosts == 0 { 100.0 } else { 100.0 * r.compliant as f64 / r.hosts as f64 }
    };
    let compliance_plot =
        line_chart("Compliant hosts per environment, by day", &days, &series(ratio), 100.0, "%");
    let security = series(|r| r.security_updates as f64);
    let most =
        security.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0_f64, |a, b| a.max(*b));
    let security_plot =
        line_chart("Security updates pending per environment, by day", &days, &security, most, "");
    let last = days.last();
    let latest: Vec<DayRow> = rows
        .iter()
        .filter(|r| Some(&r.day) == last)
        .map(|r| DayRow {
            environment: r.environment.clone(),
            hosts: r.hosts,
            compliant: r.compliant,
            ratio: format!("{:.1} %", ratio(r)),
            security_updates: r.security_updates,
            hosts_with_security: r.hosts_with_security,
            reboot_required: r.reboot_required,
            mean_time_to_patch: match r.patched {
                0 => "–".to_owned(),
                n => format!("{:.1} days", r.patched_seconds as f64 / n as f64 / 86_400.0),
            },
        })
        .collect();
    let mut by_age = [0_i64; 4];
    for r in rows.iter().filter(|r| Some(&r.day) == last) {
        for (sum, n) in by_age.iter_mut().zip(r.pending_by_age) {
            *sum += n;
        }
    }
    let bars: Vec<(String, u64)> =
        BUCKETS.iter().zip(by_age).map(|((words, _), n)| ((*words).to_owned(), n as u64)).collect();
    let age_plot = bar_chart("Security updates pending now, by how long", &bars);
    let evaluated = rows
        .iter()
        .filter(|r| Some(&r.day) == last)
        .map(|r| r.evaluated_at_unix)
        .max()
        .map(model::dates::rfc3339_unix);
    let page = CompliancePage {
        user: identity.user,
        role: identity.role,
        evaluated,
        latest,
        compliance_plot,
        security_plot,
        age_plot,
        exposure: state.cve_exposure.get(),
    };
    crate::web::render(page, ctx)
}
