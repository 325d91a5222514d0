//! `patchctl serve [--server-config FILE] [--init-admin NAME]`: the team server (the `server`
//! crate) on the address of its configuration, until SIGINT or SIGTERM; or, with
//! `--init-admin`, its first admin created and their one-time password printed once.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use model::access::Role;

#[derive(clap::Args)]
pub struct Args {
    /// The server's configuration (`--config` names the inventory, as for every command).
    #[arg(long, env = "PATCHCTL_SERVER_CONFIG", default_value = server::config::DEFAULT_PATH)]
    pub server_config: PathBuf,
    /// Create the admin NAME, print their one-time password (once), and exit.
    #[arg(long, value_name = "NAME")]
    init_admin: Option<String>,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let config = server::config::load(&args.server_config)?;
    let served = Arc::new(server::context_for(&config, ctx));
    let result = serve(args, &config, served.clone()).await;
    served.close().await;
    result
}

async fn serve(
    args: Args,
    config: &server::ServerConfig,
    ctx: Arc<ops::Context>,
) -> anyhow::Result<ExitCode> {
    if let Some(name) = args.init_admin {
        let password = ops::identity::create_user(&ctx, &ctx.actor, &name, Role::Admin)
            .await
            .with_context(|| format!("creating the admin {name}"))?;
        println!("admin {name} created; their one-time password, shown this once:\n{password}");
        return Ok(ExitCode::SUCCESS);
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    server::run(listener, ctx, config, shutdown).await.context("serving")?;
    Ok(ExitCode::SUCCESS)
}
