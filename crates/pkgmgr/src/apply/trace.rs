//! The host's own trace of what patchctl did to it: one line per change, in the host's journal
//! (`logger -t patchctl`) and appended to a log file (`/var/log/patchctl.log` by default), so
//! that whoever logs in later reads it where they look first, without patchctl's database.
//!
//! The line is one argv word: the command is a constant script that quotes it (`"$1"`), never
//! text a shell could read as code. Control characters in it (a reason quoting a host's output)
//! become spaces, so it stays one line.

use super::validate::InvalidInput;
use crate::probe::CommandSpec;

/// Where the line is appended unless the inventory says otherwise.
pub const DEFAULT_HOST_LOG: &str = "/var/log/patchctl.log";

/// One change, as the host's trace records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine<'a> {
    pub rollout: &'a str,
    pub plan: &'a str,
    /// The step: `apply`, `rollback`, `reboot`, `reconcile`, `cleanup`.
    pub step: &'a str,
    /// `succeeded` or `failed`.
    pub result: &'a str,
    /// `name=version` (the version the step aimed at).
    pub packages: Vec<String>,
    /// Why it failed, when it did.
    pub reason: Option<&'a str>,
}

impl TraceLine<'_> {
    /// `rollout=… plan=… step=apply result=succeeded packages=a=1,b=2 [reason="…"]`.
    pub fn render(&self) -> String {
        let mut line = format!(
            "rollout={} plan={} step={} result={} packages={}",
            self.rollout,
            self.plan,
            self.step,
            self.result,
            if self.packages.is_empty() { "-".to_owned() } else { self.packages.join(",") }
        );
        if let Some(reason) = self.reason {
            let reason: String =
                reason.chars().map(|c| if c.is_control() { ' ' } else { c }).take(500).collect();
            line.push_str(&format!(" reason={:?}", reason.trim()));
        }
        line
    }
}

/// The command that writes `line` to the journal (tag `patchctl`, priority notice) and, when
/// `log_file` is given, appends it there with the host's time, creating the file 0640.
pub fn trace_command(line: &str, log_file: Option<&str>) -> Result<CommandSpec, InvalidInput> {
    if let Some(path) = log_file
        && (!path.starts_with('/') || path.contains(['\0', '\n']) || path.ends_with('/'))
    {
        return Err(InvalidInput::new("host_log", path, "is not an absolute file path"));
    }
    const SCRIPT: &str = r#"logger -t patchctl -p daemon.notice -- "$1" || status=$?
if [ -n "$2" ]; then
  (umask 027; printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >> "$2") || status=$?
fi
exit "${status:-0}""#;
    Ok(CommandSpec::new(["sh", "-c", SCRIPT, "patchctl-trace", line, log_file.unwrap_or("")]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_the_rollout_the_plan_and_the_packages() {
        let line = TraceLine {
            rollout: "r-1",
            plan: "abc",
            step: "apply",
            result: "failed",
            packages: vec!["acme-broken=1.1-1".into(), "acme-web=1.1-1".into()],
            reason: Some("postinst\nexited 1\x1b[0m"),
        };
        assert_eq!(
            line.render(),
            "rollout=r-1 plan=abc step=apply result=failed packages=acme-broken=1.1-1,acme-web=1.1-1 reason=\"postinst exited 1 [0m\""
        );
    }

    #[test]
    fn the_line_is_an_argument_never_code() {
        let hostile = "x\"; rm -rf / #";
        let command = trace_command(hostile, Some("/var/log/patchctl.log")).unwrap();
        assert_eq!(command.argv[0..2], ["sh", "-c"]);
        assert_eq!(command.argv[4], hostile, "passed as $1, quoted by the script");
        assert_eq!(command.argv[5], "/var/log/patchctl.log");
        assert_eq!(trace_command("l", None).unwrap().argv[5], "", "no file: the journal only");
        assert!(trace_command("l", Some("relative.log")).is_err());
        assert!(trace_command("l", Some("/var/log/\n")).is_err());
    }
}
