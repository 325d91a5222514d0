//! What a finished rollout gives the wave forecast: each `done` host's run, split into its
//! steps before the change, the change and the cleanup, by the times the machine was handed.

use model::PackageManagerKind;
use model::forecast::HostRun;
use model::plan::Limit;
use rollout::{Action, Input, Rollout, Step, StepResult};

use crate::scenarios::config;

/// Runs every step to its end, one at a time, each taking `ms(host, step)`; `a` asks for a
/// reboot after its apply, `c` fails its postchecks (and is rolled back).
fn run(rollout: &mut Rollout, ms: impl Fn(&str, Step) -> u64) {
    let mut now = 0;
    while let Some(action) = rollout.poll_action() {
        let Action::Run { host, step, token, .. } = action else { continue };
        now += ms(&host, step);
        let result = match (host.as_str(), step) {
            ("c", Step::Postcheck) => StepResult::Failed { reason: "unit down".into() },
            (_, Step::Apply) => StepResult::Succeeded { reboot_required: host == "a" },
            _ => StepResult::Succeeded { reboot_required: false },
        };
        rollout.handle(now, Input::StepFinished { token, result }).unwrap();
    }
}

#[test]
fn done_hosts_give_their_runs_and_the_others_none() {
    let mut config = config(
        &[("w1", false, &["a"]), ("w2", false, &["b"]), ("w3", false, &["c"])],
        Limit::Count(5),
    );
    for wave in &mut config.waves {
        for host in &mut wave.hosts {
            host.cleanup_kernels = host.name == "b";
        }
    }
    let mut rollout = Rollout::new(config);
    rollout.handle(0, Input::Start).unwrap();
    run(&mut rollout, |_, step| match step {
        Step::Precheck => 2_000,
        Step::Apply => 10_000,
        Step::Reboot => 30_000,
        Step::Postcheck => 3_000,
        Step::Cleanup => 4_000,
        _ => 1_000,
    });
    let kind = |host: &str| {
        (host != "b").then_some(PackageManagerKind::Apt).or(Some(PackageManagerKind::Dnf))
    };
    assert_eq!(
        rollout.host_runs(kind),
        [
            HostRun {
                package_manager: PackageManagerKind::Apt,
                rebooted: true,
                before_change_ms: 2_000,
                change_ms: 43_000,
                cleanup_ms: 0,
            },
            HostRun {
                package_manager: PackageManagerKind::Dnf,
                rebooted: false,
                before_change_ms: 2_000,
                change_ms: 13_000,
                cleanup_ms: 4_000,
            },
        ]
    );
    // A host the caller cannot place is left out.
    assert_eq!(rollout.host_runs(|host| (host == "a").then_some(PackageManagerKind::Apt)).len(), 1);
}
