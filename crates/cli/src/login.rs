//! `patchctl login URL [--user NAME] [--password-stdin]`: logs in to a team server and stores
//! the token it gives in `~/.config/patchctl/credentials.toml` (0600), which `--server URL`
//! then sends. The password is read from the terminal without echo, or from standard input.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;
use ops::protocol::api::{LoginRequestV1, TokenV1};

#[derive(clap::Args)]
pub struct Args {
    /// The server: `https://patch.example.com` (plain `http://` on this machine only).
    server: String,
    /// The user to log in as (default: $USER).
    #[arg(long)]
    user: Option<String>,
    /// Read the password from standard input's first line (for scripts), not the terminal.
    #[arg(long)]
    password_stdin: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let user = match args.user {
        Some(user) => user,
        None => std::env::var("USER").context("--user NAME is needed: $USER is not set")?,
    };
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        rpassword::prompt_password(format!("password of {user} on {}: ", args.server))
            .context("reading the password from the terminal (or use --password-stdin)")?
    };
    let token: TokenV1 =
        crate::remote::Client::login(&args.server, &LoginRequestV1 { user, password }).await?;
    let path = crate::remote::Credentials::store(&args.server, &token.user, &token.token)?;
    let expires = match token.expires_at_unix {
        Some(unix) => format!("until {}", model::dates::rfc3339_unix(unix)),
        None => "without expiry".to_owned(),
    };
    let role = model::access::Role::from(token.role);
    eprintln!(
        "patchctl: logged in to {} as {} ({role}), {expires}; the token is in {}",
        args.server,
        token.user,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
