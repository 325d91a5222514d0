//! What a host's step is waiting for, told as it starts waiting to whoever shows the rollout's
//! progress (the live table of `rollout start`): the package manager's lock and who holds it,
//! a host that does not answer and is tried again, a reboot's delay, a host down for its reboot.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One wait of one host's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    /// The package manager's lock, held by another process.
    Lock { path: String, holder: String, since: SystemTime },
    /// The host stopped answering; tried again until the rollout's grace runs out.
    Unreachable { problem: String, since: SystemTime },
    /// `shutdown -r +N` is counting down to the reboot.
    RebootAt { at: SystemTime },
    /// The host went down for its reboot; a new boot is waited for.
    Rebooting { since: SystemTime },
}

impl Waiting {
    /// In words, at `now`: how long it has lasted, or how long is left.
    pub fn describe(&self, now: SystemTime) -> String {
        let since = |at: &SystemTime| seconds(now.duration_since(*at).unwrap_or_default());
        match self {
            Waiting::Lock { path, holder, since: at } => {
                format!("waiting {} for {path}, held by {holder}", since(at))
            }
            Waiting::Unreachable { problem, since: at } => {
                format!("unreachable for {}, retrying ({problem})", since(at))
            }
            Waiting::RebootAt { at } => match at.duration_since(now) {
                Ok(left) => format!("reboots in {}", seconds(left)),
                Err(_) => "reboot due".to_owned(),
            },
            Waiting::Rebooting { since: at } => {
                format!("down for {}, waiting for its new boot", since(at))
            }
        }
    }
}

/// Who is told of waits: the host, and its step's wait (`None`: it waits no more).
pub type WaitSink = Arc<dyn Fn(&str, Option<&Waiting>) + Send + Sync>;

fn seconds(duration: Duration) -> String {
    let total = duration.as_secs();
    match total {
        0..60 => format!("{total} s"),
        60..3600 => format!("{} min {:02} s", total / 60, total % 60),
        _ => format!("{} h {:02} min", total / 3600, total % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_in_words() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let now = t0 + Duration::from_secs(75);
        let lock = Waiting::Lock {
            path: "/var/lib/dpkg/lock-frontend".into(),
            holder: "pid 812 (apt-get)".into(),
            since: t0,
        };
        assert_eq!(
            lock.describe(now),
            "waiting 1 min 15 s for /var/lib/dpkg/lock-frontend, held by pid 812 (apt-get)"
        );
        let down = Waiting::Unreachable { problem: "connection refused".into(), since: t0 };
        assert_eq!(down.describe(now), "unreachable for 1 min 15 s, retrying (connection refused)");
        let reboot = Waiting::RebootAt { at: t0 + Duration::from_secs(300) };
        assert_eq!(reboot.describe(now), "reboots in 3 min 45 s");
        assert_eq!(reboot.describe(t0 + Duration::from_secs(301)), "reboot due");
        assert_eq!(
            Waiting::Rebooting { since: t0 }.describe(now + Duration::from_secs(7200)),
            "down for 2 h 01 min, waiting for its new boot"
        );
    }
}
