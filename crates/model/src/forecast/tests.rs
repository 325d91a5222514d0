//! The forecast, table-driven: a plan written as waves of `host:kind`, where the kind is
//! `apt`/`dnf` and `+` (reboots), `-` (does not) or `?` (if its apply asks); the past runs as
//! `kind before change cleanup` in seconds; the forecast as `expected/high` seconds per wave.

use crate::os::PackageManagerKind;
use crate::plan::{HostPlan, Plan, PlanOptions, PlannedReboot, Wave};

use super::{Estimate, ForecastConfig, HostRun, WaveForecast, WontFit, check_fit, forecast};

fn kind(text: &str) -> (PackageManagerKind, PlannedReboot) {
    let (manager, reboot) = text.split_at(3);
    let manager = match manager {
        "apt" => PackageManagerKind::Apt,
        "dnf" => PackageManagerKind::Dnf,
        other => panic!("kind {other}"),
    };
    let reboot = match reboot {
        "+" => PlannedReboot::Yes,
        "-" => PlannedReboot::No,
        "?" => PlannedReboot::IfRequired,
        other => panic!("reboot {other}"),
    };
    (manager, reboot)
}

fn plan(waves: &[&str]) -> Plan {
    let mut plan = Plan {
        id: String::new(),
        created_at_unix: 0,
        selectors: vec![],
        options: PlanOptions::default(),
        hosts: vec![],
        waves: vec![],
        excluded: vec![],
        withheld: vec![],
        emergency: None,
    };
    for (index, wave) in waves.iter().enumerate() {
        let mut names = Vec::new();
        for host in wave.split_whitespace() {
            let (name, kind_text) = host.split_once(':').unwrap();
            let (package_manager, reboot) = kind(kind_text);
            names.push(name.to_owned());
            plan.hosts.push(HostPlan {
                host: name.into(),
                environment: "prod".into(),
                owner: None,
                package_manager,
                assessed_at_unix: 0,
                running_kernel: String::new(),
                changes: vec![],
                reboot,
                services_needing_restart: vec![],
                restarts: Default::default(),
                risks: vec![],
            });
        }
        plan.waves.push(Wave {
            name: format!("w{}", index + 1),
            environment: "prod".into(),
            canary: false,
            hosts: names,
        });
    }
    plan
}

fn runs(lines: &[&str]) -> Vec<HostRun> {
    lines
        .iter()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (package_manager, reboot) = kind(words[0]);
            let seconds = |i: usize| words[i].parse::<u64>().unwrap() * 1000;
            HostRun {
                package_manager,
                rebooted: reboot == PlannedReboot::Yes,
                before_change_ms: seconds(1),
                change_ms: seconds(2),
                cleanup_ms: seconds(3),
            }
        })
        .collect()
}

/// Each wave as `expected/high` seconds, `?` without a forecast.
fn shown(forecast: &[WaveForecast]) -> String {
    forecast
        .iter()
        .map(|w| match w.estimate {
            Some(e) => format!("{}/{}", e.expected_ms / 1000, e.high_ms / 1000),
            None => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const AHEAD: ForecastConfig = ForecastConfig { max_in_flight: 50, prechecks_ahead: true };

#[test]
fn forecasts_follow_the_waves_batches_and_kinds() {
    // (waves, past runs, config, expected forecast)
    let cases: &[(&[&str], &[&str], ForecastConfig, &str)] = &[
        // No history: nothing to say.
        (&["a:apt+", "b:apt+"], &[], AHEAD, "? ?"),
        // One run: expected and high are that run. The first wave waits for the prechecks,
        // the last for the cleanup; a middle one for neither.
        (&["a:apt+", "b:apt+", "c:apt+"], &["apt+ 10 60 5"], AHEAD, "70/70 60/60 65/65"),
        // Without prechecks ahead, every wave waits for its own.
        (
            &["a:apt+", "b:apt+"],
            &["apt+ 10 60 5"],
            ForecastConfig { max_in_flight: 50, prechecks_ahead: false },
            "70/70 75/75",
        ),
        // Prechecks longer than the wave before's apply, reboot and postchecks: the wave
        // waits for the difference.
        (&["a:apt-", "b:apt-"], &["apt- 30 10 0"], AHEAD, "40/40 30/30"),
        // Two runs: the expected is their mean (the median of two), the high the slower.
        (&["a:apt+", "b:apt+"], &["apt+ 0 40 0", "apt+ 0 60 0"], AHEAD, "50/60 50/60"),
        // Odd count: the median; the slowest of ten or fewer is the 90th percentile.
        (&["a:apt+"], &["apt+ 0 30 0", "apt+ 0 40 0", "apt+ 0 90 0"], AHEAD, "40/90"),
        // Eleven runs: the 90th percentile (nearest rank) is the 10th, not the outlier.
        (
            &["a:apt+"],
            &[
                "apt+ 0 10 0",
                "apt+ 0 10 0",
                "apt+ 0 10 0",
                "apt+ 0 10 0",
                "apt+ 0 10 0",
                "apt+ 0 10 0",
                "apt+ 0 10 0",
                "apt+ 0 10 0",
                "apt+ 0 10 0",
                "apt+ 0 20 0",
                "apt+ 0 500 0",
            ],
            AHEAD,
            "10/20",
        ),
        // Hosts side by side: the slowest kind sets the wave.
        (&["a:apt- b:dnf+"], &["apt- 0 10 0", "dnf+ 0 80 0"], AHEAD, "80/80"),
        // Rebooting and not are apart; "if required" takes both, as often as each happened.
        (
            &["a:apt+", "b:apt-", "c:apt?"],
            &["apt+ 0 100 0", "apt- 0 20 0", "apt- 0 30 0"],
            AHEAD,
            "100/100 25/30 30/100",
        ),
        // More hosts than may run at once: batches, one after the other.
        (
            &["a:apt+ b:apt+ c:apt+ d:apt+ e:apt+"],
            &["apt+ 0 60 0"],
            ForecastConfig { max_in_flight: 2, prechecks_ahead: true },
            "180/180",
        ),
        // One host of a kind never run: that wave has no forecast, the others do.
        (&["a:apt+", "b:apt+ c:dnf+"], &["apt+ 0 60 0"], AHEAD, "60/60 ?"),
    ];
    for (waves, history, config, expected) in cases {
        let got = shown(&forecast(&plan(waves), &runs(history), config));
        assert_eq!(&got, expected, "waves {waves:?}, history {history:?}");
    }
}

#[test]
fn samples_count_the_runs_of_the_waves_kinds() {
    let history = runs(&["apt+ 0 1 0", "apt+ 0 1 0", "apt- 0 1 0", "dnf+ 0 1 0"]);
    let got: Vec<Option<usize>> = forecast(&plan(&["a:apt+ b:apt+", "c:apt?"]), &history, &AHEAD)
        .iter()
        .map(|w| w.estimate.map(|e| e.samples))
        .collect();
    assert_eq!(got, [Some(2), Some(3)]);
}

fn wave(name: &str, seconds: Option<(u64, u64)>) -> WaveForecast {
    WaveForecast {
        wave: name.into(),
        estimate: seconds.map(|(expected, high)| Estimate {
            expected_ms: expected * 1000,
            high_ms: high * 1000,
            samples: 2,
        }),
    }
}

#[test]
fn the_first_wave_past_the_cutoff_is_named() {
    let waves = [wave("w1", Some((50, 60))), wave("w2", None), wave("w3", Some((20, 30)))];
    // (seconds left, the wave that does not fit)
    let cases: &[(u64, Option<&str>)] = &[
        (90, None),
        // Ends exactly at the cutoff: fits.
        (90, None),
        (89, Some("w3")),
        (59, Some("w1")),
        (0, Some("w1")),
    ];
    for (left, expected) in cases {
        let got = check_fit(&waves, left * 1000).err().map(|e| e.wave);
        assert_eq!(got.as_deref(), *expected, "{left} s left");
    }
    // Without any forecast, nothing is refused.
    assert_eq!(check_fit(&[wave("w1", None)], 0), Ok(()));
}

#[test]
fn a_refusal_says_the_wave_its_forecast_and_the_time_left() {
    let waves = [wave("prod canary", Some((50, 60))), wave("prod batch 1", Some((100, 130)))];
    let refused: WontFit = check_fit(&waves, 120_000).unwrap_err();
    assert_eq!(refused.index, 1);
    assert_eq!(
        refused.to_string(),
        "wave 2 (prod batch 1) would not end before the window's cutoff: it is forecast to take \
         1 min 40 s (up to 2 min 10 s), after up to 1 min 0 s for the waves before it, and \
         2 min 0 s is left"
    );
}
