//! Parsing a large Debian host: a 3,000-package dpkg database and a 500-update simulation, the
//! whole `apt::assemble` step. Target: under 5 ms (issue 2). Run with `cargo xtask bench parse`.
//!
//! The inputs are made from captured real outputs (`test_data/apt/`): the real lines, repeated
//! under new package names until they reach the sizes above, so every line has a real shape.

use criterion::{Criterion, criterion_group, criterion_main};
use pkgmgr::{Gathered, Probe, ProbeOutput, apt};

const N_PACKAGES: usize = 3_000;
const N_UPDATES: usize = 500;

fn ran(stdout: String) -> ProbeOutput {
    ProbeOutput::Ran { exit_code: 0, stdout, stderr: String::new() }
}

/// A dpkg-query output of `N_PACKAGES` lines and the matching apt simulation of `N_UPDATES`.
fn large_host() -> Gathered {
    let real_packages = include_str!("../test_data/apt/host-dpkg-query.stdout");
    let templates: Vec<&str> = real_packages.lines().filter(|l| !l.starts_with("dpkg\t")).collect();
    let mut dpkg = String::from(real_packages.lines().find(|l| l.starts_with("dpkg\t")).unwrap());
    dpkg.push('\n');
    let mut simulation = String::new();
    let mut names = Vec::new();
    for i in 0..N_PACKAGES - 1 {
        let template = templates[i % templates.len()];
        let (name, rest) = template.split_once('\t').unwrap();
        let name = format!("{name}-{i}");
        dpkg.push_str(&format!("{name}\t{rest}\n"));
        names.push((name, rest.split('\t').nth(1).unwrap().to_owned()));
    }
    let mut confs = String::new();
    for (name, version) in names.iter().take(N_UPDATES) {
        let candidate = format!(
            "({version}+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])"
        );
        simulation.push_str(&format!("Inst {name} [{version}] {candidate}\n"));
        confs.push_str(&format!("Conf {name} {candidate}\n"));
    }
    let header = format!(
        "Reading package lists...\nBuilding dependency tree...\nReading state information...\nCalculating upgrade...\n{N_UPDATES} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"
    );
    let simulation = format!("{header}{simulation}{confs}");

    // Every other probe answers as on a quiet host: empty output, no reboot flag, no lock.
    let mut gathered = Gathered::new();
    for spec in apt::probes() {
        let quiet = match spec.probe {
            Probe::Run(_) => ran(String::new()),
            Probe::ReadFile(_) => ProbeOutput::File(None),
            Probe::ListDir(_) => ProbeOutput::Dir(None),
        };
        gathered.insert(spec.key, quiet);
    }
    gathered.insert(apt::DPKG_QUERY, ran(dpkg));
    gathered.insert(apt::DIST_UPGRADE, ran(simulation.clone()));
    gathered.insert(apt::UPGRADE, ran(simulation));
    gathered
}

fn parse(c: &mut Criterion) {
    let gathered = large_host();
    let state = apt::assemble(&gathered).unwrap();
    assert_eq!(state.installed.len(), N_PACKAGES);
    assert_eq!(state.updates.len(), N_UPDATES);
    c.bench_function("apt assemble: 3,000 packages, 500 updates", |b| {
        b.iter(|| apt::assemble(std::hint::black_box(&gathered)).unwrap())
    });
}

criterion_group!(benches, parse);
criterion_main!(benches);
