//! `patchctl doctor [--server-config FILE]`: whether this installation can work, a line per
//! check with ok or the problem and what to do; exit code 6 when there is a problem.

use std::path::PathBuf;
use std::process::ExitCode;

use ops::doctor::{Install, ServerSettings, Verdict};

use crate::exit;

#[derive(clap::Args)]
pub struct Args {
    /// The server's configuration, as `patchctl serve` reads it.
    #[arg(long, env = "PATCHCTL_SERVER_CONFIG", default_value = server::config::DEFAULT_PATH)]
    server_config: PathBuf,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let loaded = server::config::load(&args.server_config);
    let parsed = loaded.as_ref().map_err(ToString::to_string).map(|config| ServerSettings {
        tls: config.tls.as_ref().map(|tls| (tls.cert.clone(), tls.key.clone())),
        scheduler_inside: config.scheduler.is_some(),
        oidc_secret_file: config.oidc.as_ref().and_then(|oidc| match &oidc.client_secret {
            server::config::ClientSecret::File(path) => Some(path.clone()),
            server::config::ClientSecret::Inline(_) => None,
        }),
    });
    // The sources the server would use; the CLI's when its configuration does not parse.
    let served = loaded.as_ref().ok().map(|config| server::context_for(config, ctx));
    let checked_ctx = served.as_ref().unwrap_or(ctx);
    let install = Install { server_config: args.server_config, parsed };
    let checks = ops::doctor::check(checked_ctx, &install).await;
    if let Some(served) = &served {
        served.close().await;
    }
    for check in &checks {
        match &check.verdict {
            Verdict::Ok(found) => println!("ok       {:14} {found}", check.what),
            Verdict::Problem { found, fix } => {
                println!("problem  {:14} {found}", check.what);
                println!("         {:14} to do: {fix}", "");
            }
        }
    }
    let problems = checks.iter().filter(|check| check.is_problem()).count();
    if problems == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("patchctl: doctor found {problems} problem(s)");
    Ok(exit::code(exit::INSTALL_PROBLEM))
}
