//! `cargo xtask bench advisories`: 10,000 hosts × 2,000 installed packages matched against
//! 100,000 advisories (target: under 10 s and 1 GiB). The data is generated, shaped like the
//! real records: Debian DSA/DLA (one source package, `introduced: 0`, a `fixed` with
//! `+debNNuN`), Ubuntu (a source package with its binaries, three releases, Pro streams,
//! unfixed ranges), AlmaLinux and Rocky Linux (every binary package, epochs, `.el9_N`
//! releases). The advisories are written as OSV JSON and read back by the importer, so reading
//! is timed too. Hosts are generated a batch at a time and dropped after matching, which runs on
//! every core as `patchctl cves` runs it. Package popularity is skewed, like real fleets: a few
//! packages (openssl, the kernel) are on every host and in many advisories.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

// The product's split of hosts over the cores (`ops` cannot be a dependency of `model`'s bench:
// `ops` depends on `model`). The file uses only `std`.
#[path = "../../ops/src/advisories/parallel.rs"]
mod parallel;

use model::advisory::{AdvisoryIndex, ExposureStatus, HostRelease, osv::parse_osv};
use model::{InstalledPackage, OsRelease, PackageManagerKind};

const N_ADVISORIES: usize = 100_000;
/// The hosts matched, unless `PATCHCTL_BENCH_HOSTS` says otherwise (a smaller fleet for
/// `valgrind --tool=callgrind`, whose instruction counts do not depend on the machine's load).
const N_HOSTS: usize = 10_000;
const N_INSTALLED: usize = 2_000;
/// Hosts generated, then matched, at a time: enough to keep both cores busy, few enough to keep
/// memory low (about half a MiB per host).
const HOSTS_PER_BATCH: usize = 100;
/// Source packages per distribution.
const N_SOURCES: usize = 20_000;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed towards 0: the square of a uniform number, so low indices (popular packages)
    /// come up far more often.
    fn popular(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u) * n as f64) as usize
    }
}

#[derive(Clone, Copy)]
enum Family {
    Debian,
    Ubuntu,
    Alma,
    Rocky,
}

const FAMILIES: [Family; 4] = [Family::Debian, Family::Ubuntu, Family::Alma, Family::Rocky];

/// Upstream version of source package `i` at "generation" `g` (higher g, newer).
fn upstream(i: usize, g: usize) -> String {
    format!("{}.{}.{}", 1 + i % 7, i % 13, g)
}

fn source_name(i: usize) -> String {
    format!("pkg{i}")
}

/// The binaries built from source `i`: 1 to 3 of them, like real source packages.
fn binaries(i: usize) -> Vec<String> {
    let n = 1 + i % 3;
    (0..n).map(|b| if b == 0 { format!("pkg{i}") } else { format!("libpkg{i}-{b}") }).collect()
}

fn record(rng: &mut Rng, n: usize, family: Family) -> String {
    let source = rng.popular(N_SOURCES);
    // Fixed at a generation between 1 and 9; hosts run generations 0 to 9.
    let generation = 1 + rng.below(9);
    let cve = format!("CVE-20{:02}-{:05}", 10 + n % 15, n);
    let vector = [
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    ][n % 3];
    let range = |fixed: Option<String>| match fixed {
        Some(fixed) => format!(
            r#"[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]"#
        ),
        None => r#"[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]"#.to_owned(),
    };
    match family {
        Family::Debian => format!(
            r#"{{"schema_version":"1.7.3","id":"DSA-{n}-1","published":"2026-01-10T00:00:00Z","modified":"2026-01-10T00:00:00Z","upstream":["{cve}","DEBIAN-{cve}"],"summary":"{name} - security update","affected":[{{"package":{{"name":"{name}","ecosystem":"Debian:12","purl":"pkg:deb/debian/{name}?arch=source"}},"ranges":{ranges},"versions":["{v0}-1"]}}]}}"#,
            name = source_name(source),
            ranges = range(Some(format!("{}-1+deb12u1", upstream(source, generation)))),
            v0 = upstream(source, 0),
        ),
        Family::Ubuntu => {
            let binaries: Vec<String> = binaries(source)
                .iter()
                .map(|b| {
                    format!(
                        r#"{{"binary_name":"{b}","binary_version":"{}-0ubuntu0.1"}}"#,
                        upstream(source, generation)
                    )
                })
                .collect();
            let entry = |ecosystem: &str, fixed: Option<String>| {
                format!(
                    r#"{{"package":{{"ecosystem":"{ecosystem}","name":"{name}","purl":"pkg:deb/ubuntu/{name}?arch=source"}},"ranges":{ranges},"ecosystem_specific":{{"binaries":[{binaries}],"availability":"No subscription required"}}}}"#,
                    name = source_name(source),
                    ranges = range(fixed),
                    binaries = binaries.join(","),
                )
            };
            let fixed = format!("{}-0ubuntu0.1", upstream(source, generation));
            let unfixed = n.is_multiple_of(10);
            format!(
                r#"{{"schema_version":"1.7.0","id":"UBUNTU-{cve}","upstream":["{cve}"],"severity":[{{"type":"CVSS_V3","score":"{vector3}"}},{{"type":"Ubuntu","score":"medium"}}],"published":"2026-01-12T12:15:00Z","modified":"2026-01-20T16:11:47Z","affected":[{a},{b},{c}]}}"#,
                vector3 = if vector.starts_with("CVSS:4") {
                    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
                } else {
                    vector
                },
                a = entry("Ubuntu:Pro:20.04:LTS", Some(format!("{fixed}~esm1"))),
                b = entry("Ubuntu:22.04:LTS", if unfixed { None } else { Some(fixed.clone()) }),
                c = entry("Ubuntu:24.04:LTS", Some(fixed.clone())),
            )
        }
        Family::Alma | Family::Rocky => {
            let (prefix, ecosystem, epoch) = match family {
                Family::Alma => ("ALSA", "AlmaLinux:9", ""),
                _ => ("RLSA", "Rocky Linux:9", "0:"),
            };
            let entries: Vec<String> = binaries(source)
                .iter()
                .map(|b| {
                    format!(
                        r#"{{"package":{{"ecosystem":"{ecosystem}","name":"{b}"}},"ranges":{}}}"#,
                        range(Some(format!(
                            "{epoch}{}-1.el9_{}",
                            upstream(source, generation),
                            generation
                        )))
                    )
                })
                .collect();
            format!(
                r#"{{"id":"{prefix}-2026:{n}","summary":"Important: {name} security update","related":["{cve}"],"severity":[{{"type":"CVSS_V3","score":"{vector}"}}],"published":"2026-01-22T00:00:00Z","modified":"2026-01-22T08:01:31Z","affected":[{entries}]}}"#,
                name = source_name(source),
                entries = entries.join(","),
                vector = if vector.starts_with("CVSS:4") {
                    "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:H/I:N/A:N"
                } else {
                    vector
                },
            )
        }
    }
}

fn host(rng: &mut Rng, family: Family) -> (HostRelease, Vec<InstalledPackage>) {
    let (id, version_id, manager) = match family {
        Family::Debian => ("debian", "12", PackageManagerKind::Apt),
        Family::Ubuntu => ("ubuntu", "22.04", PackageManagerKind::Apt),
        Family::Alma => ("almalinux", "9.4", PackageManagerKind::Dnf),
        Family::Rocky => ("rocky", "9.4", PackageManagerKind::Dnf),
    };
    let os = OsRelease { id: id.into(), version_id: version_id.into(), ..OsRelease::default() };
    let mut sources: Vec<usize> = (0..N_INSTALLED).map(|_| rng.popular(N_SOURCES)).collect();
    sources.sort_unstable();
    sources.dedup();
    let mut installed = Vec::with_capacity(N_INSTALLED);
    let mut next_unpopular = N_SOURCES;
    while sources.len() < N_INSTALLED {
        // Top up with packages no advisory names, as most of a real host's packages are.
        sources.push(next_unpopular);
        next_unpopular += 1;
    }
    for source in sources.into_iter().take(N_INSTALLED) {
        // Most packages are up to date (generation 9 is past every fix); one in eight lags.
        let generation = if rng.below(8) == 0 { rng.below(9) } else { 9 };
        let (name, version, source_field) = match family {
            Family::Debian => (
                binaries(source).pop().unwrap(),
                format!("{}-1+deb12u1", upstream(source, generation)),
                true,
            ),
            Family::Ubuntu => (
                binaries(source).pop().unwrap(),
                format!("{}-0ubuntu0.1", upstream(source, generation)),
                true,
            ),
            Family::Alma | Family::Rocky => (
                binaries(source).pop().unwrap(),
                format!("{}-1.el9_{generation}", upstream(source, generation)),
                false,
            ),
        };
        installed.push(InstalledPackage {
            name,
            arch: "x86_64".into(),
            source: source_field.then(|| source_name(source)),
            source_version: source_field.then(|| version.clone()),
            version,
        });
    }
    // dpkg-query and rpm list packages by name, and patchctl keeps that order.
    installed.sort_by(|a, b| a.name.cmp(&b.name));
    (HostRelease::of(&os, manager), installed)
}

/// Nanoseconds this thread has run on a CPU (the first field of /proc/thread-self/schedstat):
/// on a shared machine, what the work cost apart from waiting for a core.
fn on_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    let n_hosts: usize = match std::env::var("PATCHCTL_BENCH_HOSTS") {
        Ok(text) => text.parse().expect("PATCHCTL_BENCH_HOSTS must be a number of hosts"),
        Err(_) => N_HOSTS,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let generated = Instant::now();
    let files: Vec<String> =
        (0..N_ADVISORIES).map(|n| record(&mut rng, n, FAMILIES[n % 4])).collect();
    let total_bytes: usize = files.iter().map(String::len).sum();
    println!(
        "generated {N_ADVISORIES} OSV records ({:.0} MiB of JSON) in {:.2} s",
        total_bytes as f64 / 1024.0 / 1024.0,
        generated.elapsed().as_secs_f64()
    );

    let (started, started_on_cpu) = (Instant::now(), on_cpu_ns());
    let mut advisories = Vec::with_capacity(N_ADVISORIES);
    let mut skipped = 0;
    for (n, file) in files.iter().enumerate() {
        let parsed = parse_osv(&format!("record-{n}.json"), file.as_bytes());
        skipped += parsed.skipped.len() + parsed.warnings.len();
        advisories.extend(parsed.advisories);
    }
    drop(files);
    assert_eq!((advisories.len(), skipped), (N_ADVISORIES, 0));
    let read = started.elapsed();
    let index = AdvisoryIndex::new(advisories);
    let indexed = started.elapsed() - read;
    let read_and_index_on_cpu = on_cpu_ns() - started_on_cpu;

    // Only the matching is timed: the hosts are generated between the timed calls, a batch at
    // a time, and dropped after. Each batch is matched on every core by the split `patchctl
    // cves` uses (`parallel::map_in_parallel`, the product's own file).
    let mut matched = Duration::ZERO;
    let mut matched_all_verdicts = Duration::ZERO;
    let matched_on_cpu = AtomicU64::new(0);
    let (mut affected, mut all_verdicts, mut exposed_hosts) = (0usize, 0usize, 0usize);
    for first in (0..n_hosts).step_by(HOSTS_PER_BATCH) {
        let batch: Vec<(HostRelease, Vec<InstalledPackage>)> = (first
            ..n_hosts.min(first + HOSTS_PER_BATCH))
            .map(|n| host(&mut rng, FAMILIES[n % 4]))
            .collect();
        let timer = Instant::now();
        let exposures = parallel::map_in_parallel(&batch, |(release, installed)| {
            let cpu = on_cpu_ns();
            let exposures = index.exposures(release, installed);
            matched_on_cpu.fetch_add(on_cpu_ns() - cpu, Relaxed);
            exposures
        });
        matched += timer.elapsed();
        for (offset, ((release, installed), exposures)) in batch.iter().zip(&exposures).enumerate()
        {
            assert!(exposures.iter().all(|e| e.status == ExposureStatus::Affected));
            affected += exposures.len();
            exposed_hosts += usize::from(!exposures.is_empty());
            // Every verdict, fixed ones included (what `patchctl cve` needs, for one CVE only),
            // on one host in ten, on one thread.
            if (first + offset) % 10 == 0 {
                let timer = Instant::now();
                all_verdicts += index.match_host(release, installed).len();
                matched_all_verdicts += timer.elapsed();
            }
        }
    }
    let matched_on_cpu = matched_on_cpu.into_inner();
    let total = read + indexed + matched;
    println!(
        "read {N_ADVISORIES} advisories: {:.2} s; index: {:.2} s",
        read.as_secs_f64(),
        indexed.as_secs_f64()
    );
    println!(
        "exposures of {n_hosts} hosts x {N_INSTALLED} packages: {:.2} s wall, {:.2} s on the CPU \
         (summed over {} threads); {affected} (host, advisory, package) exposures, \
         {exposed_hosts} hosts exposed",
        matched.as_secs_f64(),
        matched_on_cpu as f64 / 1e9,
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    println!(
        "every verdict (fixed included) of {} hosts: {:.2} s; {all_verdicts} verdicts",
        n_hosts.div_ceil(10),
        matched_all_verdicts.as_secs_f64()
    );
    println!(
        "total (read + index + exposures): {:.2} s wall, {:.2} s on the CPU (summed over the \
         threads; on a shared machine, what the work cost apart from waiting for a core); peak \
         RSS (VmHWM): {:.0} MiB",
        total.as_secs_f64(),
        (read_and_index_on_cpu + matched_on_cpu) as f64 / 1e9,
        peak_rss_mib()
    );
}
