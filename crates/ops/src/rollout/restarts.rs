//! Services still running replaced code after an apply or a rollback, on a host that does not
//! reboot: the host's tool names them, the plan's `restart_services` chooses
//! (`pkgmgr::apply::choose_restarts`), `systemctl restart` renews them, and the journal records
//! which ones (`OutputRecord::restarted`, which the report lists per host). The postchecks that
//! follow see the restarted services. The precheck asks the tool first: a host that cannot tell
//! is not changed.

use pkgmgr::apply;
use rollout::StepResult;

use transport::TransportError;

use super::steps::{HostContext, Log, failed, lossy, unreachable};

impl HostContext<'_> {
    /// In the precheck, when the plan restarts services: the host's tool must answer, or
    /// nothing is changed (a change whose approved restarts cannot happen does not start). What
    /// already runs replaced code before the change is noted; the restart after it renews it
    /// too, as the plan says.
    pub(super) async fn restarts_precheck(&self, log: &mut Log) -> Result<(), StepResult> {
        let restarts = self.plan.restarts;
        if restarts.is_never() {
            return Ok(());
        }
        let named = self.stale_services(log).await.map_err(|result| match result {
            StepResult::Failed { reason } => failed(format!("{reason}; nothing was installed")),
            other => other,
        })?;
        if !named.is_empty() {
            log.note(&format!(
                "already running replaced code before the change: {}",
                named.join(", ")
            ));
        }
        Ok(())
    }

    /// Restarts what the plan says to after a step that changed packages and succeeded, unless
    /// the host `reboots` next (which renews every service anyway). `Err` is the step's result: a
    /// failed restart, or a tool that could not tell, fails the step (an apply is then rolled
    /// back as any failed apply).
    pub(super) async fn restart_services(
        &self,
        log: &mut Log,
        reboots: bool,
    ) -> Result<(), StepResult> {
        let restarts = self.plan.restarts;
        if restarts.is_never() || reboots {
            return Ok(());
        }
        let named = self.stale_services(log).await?;
        let choice = apply::choose_restarts(&named, restarts, &self.checks.units);
        for (unit, why) in &choice.left {
            log.note(&format!("{unit} runs replaced code and is not restarted: {why}"));
        }
        if choice.restart.is_empty() {
            if named.is_empty() {
                log.note("no service runs replaced code");
            }
            return Ok(());
        }
        let restart = apply::restart_command(&choice.restart).map_err(|e| failed(e.to_string()))?;
        let note = format!("restarting {}: they ran replaced code", choice.restart.join(", "));
        let output = self.run(log, &restart, &note).await.map_err(unreachable)?;
        apply::parse_restart(output.exit_code, &lossy(&output.stderr)).map_err(failed)?;
        log.restarted(&choice.restart);
        Ok(())
    }

    /// The services the host's tool says run replaced code. `Err` is the step's result. Not
    /// through [`HostContext::run`]: a tool the host lacks is a failure of the step, which that
    /// would take for a transport failure (the host unreachable).
    async fn stale_services(&self, log: &mut Log) -> Result<Vec<String>, StepResult> {
        const NOTE: &str = "services running replaced code";
        let kind = self.plan.package_manager;
        let detect = apply::stale_services_command(kind);
        let ssh = self.transport().await.map_err(unreachable)?;
        let command = transport::Command { argv: detect.argv.clone(), env: detect.env.clone() };
        let (exit_code, stdout, stderr) = match ssh.run(&command).await {
            Ok(output) => {
                log.record(&detect, &Ok(output.clone()), NOTE);
                (output.exit_code, lossy(&output.stdout), lossy(&output.stderr))
            }
            // The shell's answer to a missing program, which the parser reads as such.
            Err(error @ TransportError::ProgramNotFound { .. }) => {
                log.record(&detect, &Err(error.to_string()), NOTE);
                (127, String::new(), error.to_string())
            }
            Err(error) => {
                log.record(&detect, &Err(error.to_string()), NOTE);
                self.forget_connection().await;
                return Err(unreachable(error.to_string()));
            }
        };
        apply::parse_stale_services(kind, exit_code, &stdout, &stderr).map_err(|error| {
            failed(format!(
                "restart_services = {}, but which services run replaced code is unknown: {error}",
                self.plan.restarts.services
            ))
        })
    }
}
