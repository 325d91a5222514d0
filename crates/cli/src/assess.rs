//! `patchctl assess`: this machine's patch state, as a table or as JSON.

use std::process::ExitCode;

use anyhow::Context;
use model::{Assessment, PackageManagerKind};
use ops::AssessConfig;
use transport::Local;

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Use this package manager instead of the one /etc/os-release implies.
    #[arg(long, value_name = "apt|dnf")]
    package_manager: Option<PackageManagerKind>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let host = local_host_name();
    let config = AssessConfig { package_manager: args.package_manager };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let assessment = runtime
        .block_on(ops::assess_host(&host, &Local::default(), &config))
        .context("assessing this machine")?;
    match args.format {
        Format::Json => {
            let mut value = serde_json::to_value(&assessment).context("encoding the assessment")?;
            value["summary"] =
                serde_json::to_value(assessment.summary()).context("encoding the summary")?;
            let document = serde_json::json!({ "assessments": [value], "failures": [] });
            println!(
                "{}",
                serde_json::to_string_pretty(&document).context("encoding the assessment")?
            );
        }
        Format::Table => print!("{}", render(&assessment)),
    }
    Ok(ExitCode::SUCCESS)
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
