//! `patchctl assess [SELECTOR…]`: the patch state of this machine, or of the inventory's hosts
//! over SSH, as a table, JSON or CSV; every attempt is recorded in the state database.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use model::{Assessment, PackageManagerKind, ResolvedHost};
use ops::{AssessConfig, FleetAssessConfig, HostFailure, HostOutcome};

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    /// Hosts to assess: `all`, a host, a group, `env:NAME`, `tag:NAME`. None: this machine,
    /// without an inventory.
    selectors: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Use this package manager instead of the one /etc/os-release implies (this machine only;
    /// inventory hosts say `package_manager = …`).
    #[arg(long, value_name = "apt|dnf")]
    package_manager: Option<PackageManagerKind>,
    /// Hosts assessed at the same time.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Pin the key a host presents when none is pinned yet (in the state database).
    #[arg(long)]
    accept_new_host_keys: bool,
    /// Seconds to wait for a host to accept the connection.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
    /// Refresh the package lists first (`apt-get update`, `dnf makecache`). A refresh that fails
    /// leaves the host unassessed (`refresh_failed`), never judged on stale lists.
    #[arg(long)]
    refresh: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    if args.selectors.is_empty() {
        return run_here(&args).await;
    }
    let hosts = ctx.hosts(&args.selectors)?;
    let config = FleetAssessConfig {
        concurrency: args.concurrency,
        accept_new_host_keys: args.accept_new_host_keys,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        actor: std::env::var("USER").unwrap_or_else(|_| "patchctl".into()),
        refresh: args.refresh,
        ..FleetAssessConfig::default()
    };
    let progress = Progress::new(hosts.len());
    let on_done = |host: &str, outcome: &HostOutcome, n_done: usize| {
        progress.host_done(host, outcome, n_done)
    };
    let outcomes =
        ops::assess_fleet(ctx, &hosts, config, &on_done).await.context("recording assessments")?;
    progress.finish();

    let assessments: Vec<&Assessment> = outcomes
        .iter()
        .filter_map(|o| match o {
            HostOutcome::Assessed(a) => Some(a.as_ref()),
            HostOutcome::Failed(_) => None,
        })
        .collect();
    let failures: Vec<&HostFailure> = outcomes
        .iter()
        .filter_map(|o| match o {
            HostOutcome::Failed(f) => Some(f),
            HostOutcome::Assessed(_) => None,
        })
        .collect();
    match args.format {
        Format::Json => println!("{}", json(&assessments, &failures)?),
        Format::Csv => print!("{}", csv(&assessments, &failures)),
        Format::Table if outcomes.len() == 1 && failures.is_empty() => {
            print!("{}", render(assessments[0]))
        }
        Format::Table => print!("{}", fleet_table(&hosts, &outcomes)),
    }
    Ok(crate::exit::unless(!failures.is_empty()))
}

/// `patchctl assess` with no selector: this machine, no inventory, no state.
async fn run_here(args: &Args) -> anyhow::Result<ExitCode> {
    let host = local_host_name();
    let config = AssessConfig {
        package_manager: args.package_manager,
        refresh: args.refresh,
        ..AssessConfig::default()
    };
    let assessment =
        ops::assess_this_machine(&host, &config).await.context("assessing this machine")?;
    match args.format {
        Format::Json => println!("{}", json(&[&assessment], &[])?),
        Format::Csv => print!("{}", csv(&[&assessment], &[])),
        Format::Table => print!("{}", render(&assessment)),
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn json(
    assessments: &[&Assessment],
    failures: &[&HostFailure],
) -> anyhow::Result<String> {
    use ops::protocol::output::assess::{AssessFailureV1, AssessOutputV1, AssessedV1};
    Ok(ops::protocol::output::pretty_sorted(&AssessOutputV1 {
        assessments: assessments.iter().map(|a| AssessedV1::from(*a)).collect(),
        failures: failures
            .iter()
            .map(|f| AssessFailureV1 {
                host: f.host.clone(),
                kind: f.kind.to_owned(),
                message: f.message.clone(),
            })
            .collect(),
    }))
}

/// One row per pending update per host, and one per host that failed.
fn csv(assessments: &[&Assessment], failures: &[&HostFailure]) -> String {
    let mut out = String::from(
        "host,status,package,arch,installed_version,candidate_version,origin,classification,severity,kernel,kept_back,advisories,cves,error\n",
    );
    for a in assessments {
        for u in &a.updates {
            let origin: Vec<String> = u
                .origins
                .iter()
                .map(|o| {
                    o.label
                        .clone()
                        .filter(|_| o.suite.is_empty())
                        .unwrap_or_else(|| o.suite.clone())
                })
                .collect();
            let fields = [
                a.host.clone(),
                "ok".into(),
                u.name.clone(),
                u.arch.clone(),
                u.installed_version.clone().unwrap_or_default(),
                u.candidate_version.clone(),
                origin.join(" "),
                format!("{:?}", u.classification).to_lowercase(),
                u.severity.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default(),
                u.kernel.to_string(),
                u.kept_back.to_string(),
                u.advisories.join(" "),
                u.cves.join(" "),
                String::new(),
            ];
            out.push_str(&csv_line(&fields));
        }
        if a.updates.is_empty() {
            let mut fields = vec![String::new(); 14];
            fields[0] = a.host.clone();
            fields[1] = "ok".into();
            out.push_str(&csv_line(&fields));
        }
    }
    for f in failures {
        let mut fields = vec![String::new(); 14];
        fields[0] = f.host.clone();
        fields[1] = f.kind.to_owned();
        fields[13] = f.message.clone();
        out.push_str(&csv_line(&fields));
    }
    out
}

/// One CSV line (`model::csv_out::line`).
pub(crate) fn csv_line(fields: &[String]) -> String {
    model::csv_out::line(fields)
}

/// One line per host: its summary, or why it could not be assessed.
fn fleet_table(hosts: &[ResolvedHost], outcomes: &[HostOutcome]) -> String {
    let mut table = Table::new([
        "HOST",
        "ENVIRONMENT",
        "STATUS",
        "UPDATES",
        "SECURITY",
        "KERNEL",
        "REBOOT",
        "LISTS",
        "DETAIL",
    ]);
    let (mut n_ok, mut n_failed, mut n_updates, mut n_security) = (0, 0, 0, 0);
    for (host, outcome) in hosts.iter().zip(outcomes) {
        match outcome {
            HostOutcome::Assessed(a) => {
                let s = a.summary();
                n_ok += 1;
                n_updates += s.n_updates;
                n_security += s.n_security;
                let health = if a.health.interrupted || !a.health.locks.is_empty() {
                    "package manager needs attention"
                } else {
                    ""
                };
                table.row([
                    host.name.clone(),
                    host.environment.clone(),
                    "ok".into(),
                    s.n_updates.to_string(),
                    s.n_security.to_string(),
                    s.n_kernel.to_string(),
                    if s.reboot_required { "required".into() } else { "-".into() },
                    a.lists_age(),
                    health.into(),
                ]);
            }
            HostOutcome::Failed(f) => {
                n_failed += 1;
                table.row([
                    host.name.clone(),
                    host.environment.clone(),
                    f.kind.into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    f.message.clone(),
                ]);
            }
        }
    }
    let mut out = table.render();
    out.push_str(&format!(
        "\n{} hosts: {n_ok} assessed, {n_failed} failed; {n_updates} updates, {n_security} security\n",
        hosts.len()
    ));
    out
}

/// A progress bar with counts on a terminal, a line for each host that fails; plain lines
/// otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} hosts {msg} [{elapsed}]",
                )
                .expect("a valid template"),
            );
            bar
        });
        Progress { bar, total }
    }

    fn host_done(&self, host: &str, outcome: &HostOutcome, n_done: usize) {
        let failure = match outcome {
            HostOutcome::Failed(f) => Some(format!("{host}: {} ({})", f.message, f.kind)),
            HostOutcome::Assessed(_) => None,
        };
        match (&self.bar, failure) {
            (Some(bar), Some(line)) => {
                bar.println(line);
                bar.inc(1);
            }
            (Some(bar), None) => bar.inc(1),
            (None, Some(line)) => eprintln!("[{n_done}/{}] {line}", self.total),
            (None, None) => eprintln!("[{n_done}/{}] {host}: assessed", self.total),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn local_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The human view: facts about the host, then one row per pending update, then the summary.
pub fn render(a: &Assessment) -> String {
    let mut facts = Table::new(["", ""]);
    let os = if a.os.pretty_name.is_empty() {
        format!("{} {}", a.os.id, a.os.version_id)
    } else {
        a.os.pretty_name.clone()
    };
    facts.row([String::from("host"), format!("{} ({os}, {})", a.host, a.package_manager)]);
    let kernels: Vec<&str> = a.installed_kernels.iter().map(|k| k.release.as_str()).collect();
    facts.row([
        "kernel".into(),
        format!(
            "{} running; installed: {}",
            a.running_kernel,
            if kernels.is_empty() { "none under /boot".to_owned() } else { kernels.join(", ") }
        ),
    ]);
    facts.row(["boot id".into(), a.boot_id.clone()]);
    let disk: Vec<String> = a
        .disk
        .iter()
        .map(|d| {
            format!(
                "{} ({}) {} free of {}",
                d.path,
                d.mount,
                bytes(d.available_bytes),
                bytes(d.total_bytes)
            )
        })
        .collect();
    facts.row(["disk".into(), disk.join("; ")]);
    facts.row(["held".into(), if a.held.is_empty() { "none".into() } else { a.held.join(", ") }]);
    let reboot = if a.reboot.required {
        let mut text = format!("required: {}", a.reboot.reasons.join("; "));
        if !a.reboot.packages.is_empty() {
            text.push_str(&format!(" (by {})", a.reboot.packages.join(", ")));
        }
        text
    } else {
        "not required".into()
    };
    facts.row(["reboot".into(), reboot]);
    facts.row(["package lists".into(), lists(a)]);
    let services = match &a.services_needing_restart {
        None => "unknown (needrestart / dnf needs-restarting not installed)".into(),
        Some(s) if s.is_empty() => "none need a restart".into(),
        Some(s) => format!("need a restart: {}", s.join(", ")),
    };
    facts.row(["services".into(), services]);
    facts.row(["health".into(), health(a)]);
    if !a.removals.is_empty() {
        facts.row(["removals".into(), format!("a full upgrade removes {}", a.removals.join(", "))]);
    }

    let mut out = facts.render_without_header();
    out.push('\n');
    if !a.updates.is_empty() {
        let mut updates = Table::new([
            "PACKAGE",
            "ARCH",
            "INSTALLED",
            "CANDIDATE",
            "ORIGIN",
            "CLASS",
            "SEVERITY",
            "KERNEL",
            "ADVISORIES",
        ]);
        for u in &a.updates {
            let origin: Vec<String> = u
                .origins
                .iter()
                .map(|o| match (&o.label, o.suite.is_empty()) {
                    (Some(label), true) => label.clone(),
                    (_, false) => o.suite.clone(),
                    (None, true) => "-".into(),
                })
                .collect();
            let mut name = u.name.clone();
            if u.kept_back {
                name.push_str(" (kept back)");
            }
            updates.row([
                name,
                u.arch.clone(),
                u.installed_version.clone().unwrap_or_else(|| "(new)".into()),
                u.candidate_version.clone(),
                origin.join(","),
                format!("{:?}", u.classification).to_lowercase(),
                u.severity.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_else(|| "-".into()),
                if u.kernel { "yes".into() } else { "no".into() },
                if u.advisories.is_empty() { "-".into() } else { u.advisories.join(",") },
            ]);
        }
        out.push_str(&updates.render());
        out.push('\n');
    }
    out.push_str(&format!("{}: {}\n", a.host, a.summary()));
    out
}

/// When the lists were refreshed, and how old they were when the host was assessed.
fn lists(a: &Assessment) -> String {
    match a.lists_refreshed.at().and_then(|at| chrono::DateTime::from_timestamp(at, 0)) {
        Some(at) => {
            format!("refreshed {} ({} old)", at.format("%Y-%m-%d %H:%M UTC"), a.lists_age())
        }
        None => a.lists_age(),
    }
}

fn health(a: &Assessment) -> String {
    let mut problems = Vec::new();
    if a.health.interrupted {
        problems.push("interrupted: run `dpkg --configure -a`".to_owned());
    }
    for line in &a.health.audit {
        problems.push(line.trim().to_owned());
    }
    for lock in &a.health.locks {
        let who = match (&lock.command, lock.pid) {
            (Some(command), pid) => format!("{command} (pid {pid})"),
            (None, 0) => "an unknown process".to_owned(),
            (None, pid) => format!("pid {pid}"),
        };
        problems.push(format!("{} is held by {who}", lock.path));
    }
    if problems.is_empty() { "ok".into() } else { problems.join("; ") }
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// `assess SELECTOR… --format json` against a server: its inventory's hosts assessed there,
/// as the login; the document the local command prints.
pub async fn remote(args: Args, client: &crate::remote::Client) -> anyhow::Result<ExitCode> {
    use ops::protocol::api::AssessRequestV1;
    use ops::protocol::output::assess::AssessOutputV1;
    if args.selectors.is_empty() {
        anyhow::bail!("against a server, `assess` needs selectors: the server's inventory's hosts");
    }
    if args.format != Format::Json {
        anyhow::bail!("against a server, `assess` prints --format json (table and csv: soon)");
    }
    let request = AssessRequestV1 { selectors: args.selectors, refresh: args.refresh };
    let assessed: AssessOutputV1 = client.post("/api/assessments", &request).await?;
    println!("{}", ops::protocol::output::pretty_sorted(&assessed));
    for failure in &assessed.failures {
        eprintln!("patchctl: {}: {} ({})", failure.host, failure.message, failure.kind);
    }
    Ok(crate::exit::unless(!assessed.failures.is_empty()))
}
