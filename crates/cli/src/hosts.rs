//! `patchctl hosts list | show HOST | import-ansible FILE`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use model::inventory::ansible;

use ops::protocol::output::host::HostV1;

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Every host of the inventory.
    List,
    /// One host, resolved: defaults, groups and overrides applied.
    Show { host: String },
    /// Convert an Ansible inventory (INI, YAML or TOML) into patchctl's TOML, with the
    /// group_vars/ and host_vars/ folders beside it.
    ImportAnsible {
        file: PathBuf,
        /// The environment of the imported hosts (Ansible has no such notion).
        #[arg(long, default_value = "production")]
        environment: String,
        /// Write the TOML here instead of standard output; never overwrites.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// `hosts list` against a server: its inventory.
pub async fn remote(args: Args, client: &crate::remote::Client) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::List => print!("{}", list_table(&client.get_all::<HostV1>("/api/hosts").await?)),
        Command::Show { .. } => return Err(crate::remote::not_remote("hosts show")),
        Command::ImportAnsible { .. } => {
            return Err(crate::remote::not_remote("hosts import-ansible"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list_table(hosts: &[HostV1]) -> String {
    let mut table =
        Table::new(["HOST", "ADDRESS", "ENVIRONMENT", "GROUPS", "TAGS", "PM", "TRANSPORT"]);
    for host in hosts {
        table.row([
            host.name.clone(),
            format!("{}:{}", host.address, host.port),
            host.environment.clone(),
            host.groups.join(","),
            host.tags.join(","),
            host.package_manager.clone().unwrap_or_else(|| "detect".into()),
            host.transport.clone(),
        ]);
    }
    table.render()
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::List => {
            let inventory = ctx.inventory()?;
            let hosts: Vec<HostV1> = inventory.hosts().iter().map(HostV1::from).collect();
            print!("{}", list_table(&hosts));
        }
        Command::Show { host } => {
            let inventory = ctx.inventory()?;
            let Some(host) = inventory.host(&host) else {
                bail!("no host {host:?} in {}", ctx.sources.config.display());
            };
            let mut table = Table::new(["", ""]);
            let rows = [
                ("name", host.name.clone()),
                ("address", format!("{}:{}", host.address, host.port)),
                ("user", format!("{}{}", host.user, if host.sudo { " (sudo)" } else { "" })),
                ("environment", host.environment.clone()),
                ("groups", host.groups.join(", ")),
                ("tags", host.tags.join(", ")),
                ("owner", host.owner.clone().unwrap_or_default()),
                (
                    "package manager",
                    host.package_manager
                        .map(|k| k.to_string())
                        .unwrap_or_else(|| "detected from os-release".into()),
                ),
                ("transport", host.transport.as_str().to_owned()),
                (
                    "ssh key",
                    host.ssh_key
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "ssh-agent".into()),
                ),
                (
                    "host key",
                    host.host_key.clone().unwrap_or_else(|| "not pinned in the inventory".into()),
                ),
            ];
            for (name, value) in rows {
                table.row([name.to_owned(), value]);
            }
            print!("{}", table.render_without_header());
        }
        Command::ImportAnsible { file, environment, output } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let vars_files = vars_files(&file)?;
            let config = ansible::ImportConfig { environment };
            let imported = ansible::import_with_vars(&file, &text, &vars_files, &config)
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            for warning in &imported.warnings {
                eprintln!("{warning}");
            }
            match output {
                Some(path) => {
                    if path.exists() {
                        bail!("{} exists already; not overwriting it", path.display());
                    }
                    std::fs::write(&path, &imported.toml)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "wrote {} hosts to {}",
                        imported.inventory.hosts().len(),
                        path.display()
                    );
                }
                None => print!("{}", imported.toml),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `group_vars/` and `host_vars/` files beside an Ansible inventory, in the order Ansible
/// reads them (sorted; a folder's files after one another). Symbolic links to folders are not
/// followed, so a link to `..` cannot make the walk endless.
fn vars_files(inventory: &Path) -> anyhow::Result<Vec<ansible::VarsFile>> {
    let folder = inventory.parent().unwrap_or(Path::new(""));
    let mut paths = Vec::new();
    for kind in ["group_vars", "host_vars"] {
        walk(&folder.join(kind), &mut paths)?;
    }
    let mut files = Vec::new();
    for path in paths {
        let relative = path.strip_prefix(folder).unwrap_or(&path);
        let Some(scope) = ansible::vars_scope(relative) else { continue };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        files.push(ansible::VarsFile { path, scope, text });
    }
    Ok(files)
}

fn walk(folder: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error).with_context(|| format!("listing {}", folder.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("listing {}", folder.display()))?;
    paths.sort();
    for path in paths {
        let kind = std::fs::symlink_metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .file_type();
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            out.push(path);
        }
    }
    Ok(())
}
