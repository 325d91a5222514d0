//! What the operator chooses when making a plan: which updates, the reboot policy, the waves.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    pub scope: Scope,
    pub reboot: RebootPolicy,
    pub strategy: Strategy,
    /// Environments in promotion order; hosts of environments not listed come after, by name.
    pub environment_order: Vec<String>,
    /// Kernels kept after a host is patched (the running one always among them); 0 keeps all.
    pub keep_kernels: usize,
    /// What the plan is for, in the operator's words (`--goal`) or the policy's (`goals` of its
    /// environments). Left out of the stored form when empty, so the ids of plans made before goals
    /// existed do not change.
    pub goals: Vec<String>,
    /// `--restart-services`: overrides the policy's `restart_services` for every host. Left out
    /// of the stored form when absent, so the ids of other plans do not change.
    pub restart_services: Option<RestartServices>,
}

fn default_keep_kernels() -> usize {
    2
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            scope: Scope::All,
            reboot: RebootPolicy::IfRequired,
            strategy: Strategy::default(),
            environment_order: ["dev", "staging", "production"].map(String::from).to_vec(),
            keep_kernels: default_keep_kernels(),
            goals: Vec::new(),
            restart_services: None,
        }
    }
}

/// Which pending updates the plan takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    SecurityOnly,
    KernelOnly,
    /// Only these package names (every architecture).
    Packages(Vec<String>),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RebootPolicy {
    #[default]
    IfRequired,
    Never,
    Always,
}

impl FromStr for RebootPolicy {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "if-required" => Ok(RebootPolicy::IfRequired),
            "never" => Ok(RebootPolicy::Never),
            "always" => Ok(RebootPolicy::Always),
            _ => Err(format!("`{text}` is not a reboot policy: use if-required, never or always")),
        }
    }
}

impl fmt::Display for RebootPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RebootPolicy::IfRequired => "if-required",
            RebootPolicy::Never => "never",
            RebootPolicy::Always => "always",
        })
    }
}

/// Which services a rollout restarts on a host that does not reboot, once its packages changed
/// (`restart_services` in the policy, `plan create --restart-services`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestartServices {
    /// None: a service still running replaced code is reported, not restarted.
    #[default]
    Never,
    /// Those the host's tool names (needrestart, `dnf needs-restarting -s`) that the host's
    /// `[checks] units` lists: the services its administrator declared.
    Listed,
    /// Every service the host's tool names.
    Needrestart,
}

impl FromStr for RestartServices {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "never" => Ok(RestartServices::Never),
            "listed" => Ok(RestartServices::Listed),
            "needrestart" => Ok(RestartServices::Needrestart),
            _ => Err(format!("`{text}` is not a restart policy: use never, listed or needrestart")),
        }
    }
}

impl fmt::Display for RestartServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RestartServices::Never => "never",
            RestartServices::Listed => "listed",
            RestartServices::Needrestart => "needrestart",
        })
    }
}

/// What a host's rollout restarts after its packages changed, when it does not reboot: part of
/// the host's plan, so what the change board approves is what runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceRestarts {
    pub services: RestartServices,
    /// sshd (`ssh.service`, `sshd.service`) carries patchctl's own connection: restarted only
    /// when this says so (`restart_sshd = true`), else left and noted.
    pub sshd: bool,
}

impl ServiceRestarts {
    /// Nothing is restarted: the default, and what every plan made before this existed does.
    pub fn is_never(&self) -> bool {
        self.services == RestartServices::Never
    }

    pub fn is_default(&self) -> bool {
        *self == ServiceRestarts::default()
    }

    /// A host's restarts: its environment's (`policy`, none without a policy), the services
    /// replaced by the operator's `--restart-services` when given. sshd follows the policy's
    /// `restart_sshd`, and is nothing when nothing restarts.
    pub fn resolve(
        policy: Option<ServiceRestarts>,
        operator: Option<RestartServices>,
    ) -> ServiceRestarts {
        let policy = policy.unwrap_or_default();
        let services = operator.unwrap_or(policy.services);
        ServiceRestarts { services, sshd: policy.sshd && services != RestartServices::Never }
    }

    /// In words, for the plan's change record.
    pub fn describe(&self) -> String {
        let sshd = if self.sshd { "sshd included" } else { "never sshd" };
        match self.services {
            RestartServices::Never => "none (a service running replaced code is reported)".into(),
            RestartServices::Listed => format!(
                "the services of its checks that run replaced code after the change, when it \
                 does not reboot ({sshd})"
            ),
            RestartServices::Needrestart => format!(
                "every service that runs replaced code after the change (needrestart, dnf \
                 needs-restarting), when it does not reboot ({sshd})"
            ),
        }
    }
}

/// How hosts are grouped into waves and when a rollout halts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strategy {
    /// Canary hosts per environment, patched first; all must pass before the rest start.
    pub canary: usize,
    /// The largest batch: how many hosts of an environment may be down at once.
    pub max_unavailable: Limit,
    /// Failures tolerated per wave; one more halts the rollout.
    pub error_budget: Limit,
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy { canary: 1, max_unavailable: Limit::Percent(25), error_budget: Limit::Count(0) }
    }
}

/// A number of hosts, absolute or relative to a group's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Count(usize),
    /// 1 to 100.
    Percent(u8),
}

impl Limit {
    /// The limit for a group of `n` hosts, rounded down (a 10% budget of 5 hosts tolerates none).
    pub fn of(self, n: usize) -> usize {
        match self {
            Limit::Count(count) => count,
            Limit::Percent(percent) => n * usize::from(percent) / 100,
        }
    }

    /// As a batch size: rounded down but never below one host, or nothing would ever run.
    pub fn batch_of(self, n: usize) -> usize {
        self.of(n).max(1)
    }
}

impl FromStr for Limit {
    type Err = String;
    /// `3` or `25%`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(percent) = text.strip_suffix('%') {
            match percent.parse::<u8>() {
                Ok(p) if (1..=100).contains(&p) => Ok(Limit::Percent(p)),
                _ => Err(format!("`{text}`: a percentage is 1% to 100%")),
            }
        } else {
            text.parse::<usize>()
                .map(Limit::Count)
                .map_err(|_| format!("`{text}` is neither a number of hosts nor a percentage"))
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Count(count) => write!(f, "{count}"),
            Limit::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_round_down() {
        assert_eq!("3".parse(), Ok(Limit::Count(3)));
        assert_eq!("25%".parse(), Ok(Limit::Percent(25)));
        assert!("0%".parse::<Limit>().is_err());
        assert!("101%".parse::<Limit>().is_err());
        assert!("-1".parse::<Limit>().is_err());
        assert!("ten".parse::<Limit>().is_err());
        assert_eq!(Limit::Percent(10).of(5), 0);
        assert_eq!(Limit::Percent(10).batch_of(5), 1);
        assert_eq!(Limit::Percent(50).of(7), 3);
        assert_eq!(Limit::Count(4).of(2), 4);
    }

    #[test]
    fn reboot_policies_round_trip() {
        for policy in [RebootPolicy::IfRequired, RebootPolicy::Never, RebootPolicy::Always] {
            assert_eq!(policy.to_string().parse(), Ok(policy));
        }
        assert!("sometimes".parse::<RebootPolicy>().is_err());
    }

    #[test]
    fn restart_policies_round_trip_and_default_to_never() {
        for policy in
            [RestartServices::Never, RestartServices::Listed, RestartServices::Needrestart]
        {
            assert_eq!(policy.to_string().parse(), Ok(policy));
            let stored = protocol::plan::RestartServicesV1::from(policy);
            assert_eq!(serde_json::to_string(&stored).unwrap(), format!("\"{policy}\""));
        }
        assert!("always".parse::<RestartServices>().is_err());
        assert!(ServiceRestarts::default().is_never());
        let staging = ServiceRestarts { services: RestartServices::Needrestart, sshd: true };
        assert_eq!(ServiceRestarts::resolve(Some(staging), None), staging);
        assert_eq!(ServiceRestarts::resolve(None, None), ServiceRestarts::default());
        assert_eq!(
            ServiceRestarts::resolve(Some(staging), Some(RestartServices::Never)),
            ServiceRestarts::default()
        );
        assert_eq!(
            ServiceRestarts::resolve(None, Some(RestartServices::Listed)),
            ServiceRestarts { services: RestartServices::Listed, sshd: false }
        );
    }
}
