//! The checks of the service a host runs — units active, HTTP checks, the administrator's own
//! commands — which run after the patch and, for a baseline, before it: a check that already
//! failed before anything changed is not blamed on the patch (`model::checks::blame`).

use model::checks::{self, CheckFailure};
use pkgmgr::apply;
use rollout::StepResult;

use super::steps::{HostContext, Log, failed, lossy, unreachable};

/// The fact that lists the checks failing at the precheck (JSON, their keys). Absent when the
/// precheck did not look, as in rollouts journaled before baselines existed: then no failure
/// is excused.
pub(super) const FACT_FAILING_BEFORE: &str = "failing_before";

impl HostContext<'_> {
    /// Every check of the service, at once; a host that stops answering is unreachable.
    pub(super) async fn service_checks(
        &self,
        log: &mut Log,
    ) -> Result<Vec<CheckFailure>, StepResult> {
        let (mut units_log, mut custom_log) = (log.sibling(), log.sibling());
        let (units, http, custom) = tokio::join!(
            self.units_check(&mut units_log),
            self.http_checks(),
            self.custom_checks(&mut custom_log),
        );
        log.absorb(units_log);
        log.absorb(custom_log);
        let mut failures = units?;
        failures.extend(http);
        failures.extend(custom?);
        Ok(failures)
    }

    /// The checks of the service before the patch, as the facts record them: the keys of the
    /// failing ones (none when no check is configured). The precheck does not fail for them.
    pub(super) async fn failing_before(
        &self,
        log: &mut Log,
    ) -> Result<Option<(String, String)>, StepResult> {
        let configured = &self.checks;
        if configured.units.is_empty()
            && configured.http.is_empty()
            && configured.commands.is_empty()
        {
            return Ok(None);
        }
        let failures = self.service_checks(log).await?;
        if !failures.is_empty() {
            log.remark(&format!(
                "failing before the patch: {}",
                failures.iter().map(|f| f.problem.as_str()).collect::<Vec<_>>().join("; ")
            ));
        }
        let keys: Vec<&str> = failures.iter().map(|f| f.check.as_str()).collect();
        Ok(Some((
            FACT_FAILING_BEFORE.to_owned(),
            serde_json::to_string(&keys).expect("strings serialize"),
        )))
    }

    /// The postcheck's verdict on the service: the problems the patch answers for. Checks that
    /// failed before the patch as well are remarked on and, unless `[checks] failing_before =
    /// "fail"`, not counted. After a rollback they never are: it put back the host as it was
    /// before, failing check included.
    pub(super) async fn service_postcheck(
        &self,
        log: &mut Log,
        after_rollback: bool,
    ) -> Result<Vec<String>, StepResult> {
        let (failures, facts) =
            tokio::join!(self.service_checks(log), self.steps.facts(&self.host.name));
        let failing_before: Vec<String> = facts
            .get(FACT_FAILING_BEFORE)
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default();
        let rule = match after_rollback {
            true => checks::FailingBefore::Report,
            false => self.checks.failing_before,
        };
        let blame = checks::blame(failures?, &failing_before, rule);
        if !blame.before.is_empty() {
            log.remark(&format!(
                "failing before the patch, not blamed on it: {}",
                blame.before.iter().map(|f| f.problem.as_str()).collect::<Vec<_>>().join("; ")
            ));
        }
        let strict = rule == checks::FailingBefore::Fail;
        Ok(blame
            .new
            .into_iter()
            .map(|f| {
                if strict && failing_before.contains(&f.check) {
                    format!("{} (failing before the patch too)", f.problem)
                } else {
                    f.problem
                }
            })
            .collect())
    }

    async fn units_check(&self, log: &mut Log) -> Result<Vec<CheckFailure>, StepResult> {
        if self.checks.units.is_empty() {
            return Ok(Vec::new());
        }
        let command =
            apply::is_active_command(&self.checks.units).map_err(|e| failed(e.to_string()))?;
        let output = self.run(log, &command, "units active").await.map_err(unreachable)?;
        Ok(
            match apply::parse_is_active(
                &self.checks.units,
                output.exit_code,
                &lossy(&output.stdout),
            ) {
                Ok(states) => states
                    .into_iter()
                    .filter(|(_, s)| *s != apply::UnitActivity::Active)
                    .map(|(unit, s)| CheckFailure {
                        check: format!("unit {unit}"),
                        problem: format!("{unit} is {s:?}"),
                    })
                    .collect(),
                Err(error) => {
                    vec![CheckFailure { check: "units".to_owned(), problem: error.to_string() }]
                }
            },
        )
    }

    async fn http_checks(&self) -> Vec<CheckFailure> {
        let timeout = self.steps.config.connect.connect_timeout;
        let checks = self.checks.http.iter().map(|check| async move {
            super::http::check(check, timeout)
                .await
                .err()
                .map(|problem| CheckFailure { check: format!("GET {}", check.url), problem })
        });
        futures_util::future::join_all(checks).await.into_iter().flatten().collect()
    }

    async fn custom_checks(&self, log: &mut Log) -> Result<Vec<CheckFailure>, StepResult> {
        let mut problems = Vec::new();
        for argv in &self.checks.commands {
            let command = apply::custom_check_command(argv).map_err(|e| failed(e.to_string()))?;
            let output = self.run(log, &command, "custom check").await.map_err(unreachable)?;
            let result = apply::parse_custom_check(
                output.exit_code,
                &lossy(&output.stdout),
                &lossy(&output.stderr),
            );
            if !result.passed {
                let shown = command.display();
                problems.push(CheckFailure {
                    check: format!("command {shown}"),
                    problem: format!("`{shown}` exited {}", result.exit_code),
                });
            }
        }
        Ok(problems)
    }
}
