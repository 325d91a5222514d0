//! `patchctl history HOST`: a host's assessments over time, failed attempts included.

use std::process::ExitCode;

use ops::history::SummaryOutcome;

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    host: String,
    /// The most recent N attempts.
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let rows = ops::history::history(ctx, &args.host, args.limit).await?;
    if rows.is_empty() {
        anyhow::bail!("no assessment of {:?} in {}", args.host, ctx.sources.state_name());
    }
    let mut table = Table::new([
        "TAKEN (UTC)",
        "DURATION",
        "STATUS",
        "UPDATES",
        "SECURITY",
        "KERNEL",
        "REBOOT",
        "ERROR",
    ]);
    for row in rows {
        let taken = format_utc(row.taken_at_unix);
        let duration = format!("{:.1}s", row.duration_ms as f64 / 1000.0);
        match row.outcome {
            SummaryOutcome::Assessed(s) => table.row([
                taken,
                duration,
                "ok".into(),
                s.n_updates.to_string(),
                s.n_security.to_string(),
                s.n_kernel.to_string(),
                if s.reboot_required { "required".into() } else { "-".into() },
                String::new(),
            ]),
            SummaryOutcome::Failed(f) => table.row([
                taken,
                duration,
                f.kind,
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                f.message,
            ]),
        }
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD HH:MM:SS` from Unix seconds (the civil-from-days algorithm; no time zone data).
pub(crate) fn format_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc() {
        assert_eq!(super::format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::format_utc(1_795_305_600), "2026-11-22 00:00:00");
        assert_eq!(super::format_utc(951_782_400), "2000-02-29 00:00:00");
    }
}
