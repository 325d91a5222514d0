//! `patchctl db migrate|copy`: the state database. `migrate` brings it (the SQLite file, or
//! PostgreSQL with `--database-url` / `PATCHCTL_DATABASE_URL`) to this version's schema, as
//! every command does on first use: run it on its own before starting the servers of a new
//! version. `copy` moves an SQLite state, whole, into an empty PostgreSQL database and
//! verifies every evidence chain of the copy (`ops::db::copy`).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create the state database if needed and apply the migrations it lacks.
    Migrate,
    /// Copy an SQLite state into an empty PostgreSQL database, ids, journals and evidence
    /// chains intact, then verify every chain of the copy; exit code 5 if one is broken.
    Copy {
        /// The SQLite state: `sqlite:PATH` or a path.
        #[arg(long, value_parser = parse_sqlite)]
        from: PathBuf,
        /// The PostgreSQL database: `postgres://user:password@host:port/database`; it must
        /// exist and hold no rows.
        #[arg(long, value_parser = parse_postgres)]
        to: String,
    },
}

fn parse_sqlite(text: &str) -> Result<PathBuf, String> {
    let path = text.strip_prefix("sqlite:").unwrap_or(text);
    if path.is_empty() || path.contains("://") {
        return Err(format!("{text:?} is not an SQLite file: sqlite:PATH or a path"));
    }
    Ok(PathBuf::from(path))
}

fn parse_postgres(text: &str) -> Result<String, String> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Ok(text.to_owned())
    } else {
        Err("not a PostgreSQL URL: postgres://user:password@host:port/database".to_owned())
    }
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Migrate => {
            ctx.create_state().await?;
            println!("the state database {} is migrated", ctx.sources.state_name());
            Ok(ExitCode::SUCCESS)
        }
        Command::Copy { from, to } => copy(&from, &to).await,
    }
}

async fn copy(from: &std::path::Path, to: &str) -> anyhow::Result<ExitCode> {
    if !from.exists() {
        anyhow::bail!("copying {}: there is no such file", from.display());
    }
    let shown = ops::db::shown_url(to);
    match ops::db::copy(from, to).await {
        Ok(copied) => {
            let rows: u64 = copied.copy.tables.iter().map(|t| t.rows).sum();
            for table in &copied.copy.tables {
                println!("{:>10}  {}", table.rows, table.table);
            }
            println!(
                "copied {} into {shown}: {rows} rows in {} tables; {} evidence chains verified \
                 intact on the copy (anchors {})",
                from.display(),
                copied.copy.tables.len(),
                copied.audit.chains.len(),
                copied.audit.anchor_file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error @ ops::db::DbError::NotIntact { .. }) => {
            eprintln!("patchctl: {error}");
            Ok(crate::exit::code(crate::exit::BROKEN_EVIDENCE))
        }
        Err(error) => Err(error.into()),
    }
}
