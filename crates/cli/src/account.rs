//! `patchctl logout URL` and `patchctl password URL`: a user's own session and password on a
//! team server. `logout` revokes the token `patchctl login` stored (the server refuses it from
//! then on) and forgets it; `password` changes the login's password, the old one given.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;
use ops::protocol::api::PasswordChangeV1;

#[derive(clap::Args)]
pub struct LogoutArgs {
    /// The server logged in to.
    server: String,
}

#[derive(clap::Args)]
pub struct PasswordArgs {
    /// The server logged in to.
    server: String,
    /// Read the old password from standard input's first line and the new one from its second
    /// (for scripts), not the terminal.
    #[arg(long)]
    password_stdin: bool,
}

/// `patchctl logout URL`.
pub async fn logout(args: LogoutArgs) -> anyhow::Result<ExitCode> {
    let client = crate::remote::Client::new(&args.server)?;
    client.post_for_nothing("/api/logout", &()).await?;
    let path = crate::remote::Credentials::forget(&args.server)?;
    eprintln!(
        "patchctl: logged out of {}; the token is revoked and gone from {}",
        args.server,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `patchctl password URL`.
pub async fn password(args: PasswordArgs) -> anyhow::Result<ExitCode> {
    let client = crate::remote::Client::new(&args.server)?;
    let (old_password, new_password) = if args.password_stdin {
        let mut lines = std::io::stdin().lock().lines();
        let mut next = |what: &str| -> anyhow::Result<String> {
            let line = lines.next().with_context(|| format!("standard input has no {what}"))?;
            Ok(line
                .with_context(|| format!("reading the {what}"))?
                .trim_end_matches('\r')
                .to_owned())
        };
        (next("old password")?, next("new password")?)
    } else {
        let read = |prompt: &str| {
            rpassword::prompt_password(prompt)
                .context("reading the password from the terminal (or use --password-stdin)")
        };
        let old = read("old password: ")?;
        let new = read("new password (12 characters or more): ")?;
        if read("the new password again: ")? != new {
            anyhow::bail!("the new passwords differ: nothing changed");
        }
        (old, new)
    };
    let change = PasswordChangeV1 { old_password, new_password };
    client.post_for_nothing("/api/users/me/password", &change).await?;
    eprintln!(
        "patchctl: your password on {} is changed; tokens already issued stay valid",
        args.server
    );
    Ok(ExitCode::SUCCESS)
}
