//! Whether a Debian or Ubuntu host asks for a reboot, and which services run outdated code.

use model::RebootStatus;

use crate::error::AssessError;

/// `/var/run/reboot-required` (written by update-notifier and kernel hooks) and its `.pkgs`
/// companion, one package name per line.
pub fn from_flag_files(flag: Option<&str>, pkgs: Option<&str>) -> RebootStatus {
    let mut status = RebootStatus::default();
    if flag.is_some() {
        status.required = true;
        status.reasons.push("/var/run/reboot-required exists".to_owned());
    }
    if let Some(pkgs) = pkgs {
        for name in pkgs.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !status.packages.iter().any(|p| p == name) {
                status.packages.push(name.to_owned());
            }
        }
    }
    status
}

/// What `needrestart -b` (batch mode) says: the services to restart, and the kernel status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeedRestart {
    pub services: Vec<String>,
    /// `NEEDRESTART-KSTA`: 0 unknown, 1 current, 2 ABI-compatible upgrade, 3 version upgrade.
    pub kernel_status: Option<u8>,
    pub kernel_current: Option<String>,
    pub kernel_expected: Option<String>,
}

impl NeedRestart {
    /// The reboot reason needrestart gives, when its kernel status says one is pending.
    pub fn kernel_reason(&self) -> Option<String> {
        match self.kernel_status {
            Some(2 | 3) => Some(format!(
                "needrestart: running kernel {} but {} is expected",
                self.kernel_current.as_deref().unwrap_or("?"),
                self.kernel_expected.as_deref().unwrap_or("a newer one")
            )),
            _ => None,
        }
    }
}

/// Parses `needrestart -b` output: `NEEDRESTART-KEY: value` lines; other keys are ignored.
pub fn parse_needrestart(step: &str, stdout: &str) -> Result<NeedRestart, AssessError> {
    let mut result = NeedRestart::default();
    for (index, line) in stdout.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) =
            line.split_once(": ").filter(|(k, _)| k.starts_with("NEEDRESTART-"))
        else {
            return Err(AssessError::garbage(step, index + 1, line, "NEEDRESTART-KEY: value"));
        };
        let value = value.trim();
        match key {
            "NEEDRESTART-SVC" => result.services.push(value.to_owned()),
            "NEEDRESTART-KSTA" => result.kernel_status = value.parse().ok(),
            "NEEDRESTART-KCUR" => result.kernel_current = Some(value.to_owned()),
            "NEEDRESTART-KEXP" => result.kernel_expected = Some(value.to_owned()),
            _ => {}
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_files() {
        let status = from_flag_files(
            Some("*** System restart required ***\n"),
            Some("acme-kernel\nlibc6\nacme-kernel\n"),
        );
        assert!(status.required);
        assert_eq!(status.packages, ["acme-kernel", "libc6"]);
        assert!(!from_flag_files(None, None).required);
    }

    #[test]
    fn needrestart_batch() {
        let text = "NEEDRESTART-VER: 3.6\nNEEDRESTART-KCUR: 6.1.0-9-amd64\nNEEDRESTART-KEXP: 6.1.0-26-amd64\nNEEDRESTART-KSTA: 3\nNEEDRESTART-SVC: ssh.service\nNEEDRESTART-SVC: cron.service\n";
        let parsed = parse_needrestart("needrestart", text).unwrap();
        assert_eq!(parsed.services, ["ssh.service", "cron.service"]);
        assert!(parsed.kernel_reason().unwrap().contains("6.1.0-26-amd64"));
        assert!(parse_needrestart("needrestart", "Scanning processes...\n").is_err());
    }
}
