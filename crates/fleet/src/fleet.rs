//! Bringing a fleet up and down: a private network, a repository server, Debian and RPM hosts
//! running systemd and sshd, a key to log in with, and an inventory that says how.
//!
//! Names derive from the fleet's name (`NAME-net`, `NAME-repo`, `NAME-deb1`, `NAME-rpm1`), and
//! every object carries the `patchctl.fleet=NAME` label, so several fleets run side by side and
//! `down` finds everything even after a crash.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::future::try_join_all;

use crate::docker::{ContainerSpec, Engine};
use crate::inventory;

/// What to start.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    /// Short, `[a-z0-9-]`: container and network names are made from it.
    pub name: String,
    /// Where the SSH key and `inventory.toml` are written.
    pub dir: PathBuf,
    pub n_debian: usize,
    pub n_rpm: usize,
}

/// The images and package repository a fleet runs.
#[derive(Debug, Clone)]
pub struct FleetInputs {
    pub debian_image: String,
    pub rpm_image: String,
    /// Served over HTTP as `http://repo/` inside the fleet network.
    pub repo_root: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Debian,
    Rpm,
}

/// One host of a running fleet.
#[derive(Debug, Clone)]
pub struct Host {
    /// `deb1`, `rpm2`: the name in the inventory and the container's hostname.
    pub name: String,
    pub container: String,
    pub address: String,
    pub family: Family,
    pub environment: &'static str,
    /// `acme-held` is held (apt-mark hold / dnf versionlock) on this host.
    pub held: bool,
    /// The host's ed25519 public key, as `ssh-ed25519 AAAA…`.
    pub host_key: String,
}

/// A running fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub name: String,
    pub dir: PathBuf,
    pub network: String,
    pub hosts: Vec<Host>,
    pub ssh_key: PathBuf,
    pub inventory: PathBuf,
}

impl Fleet {
    /// The fleet `name` as `up` left it in `dir`.
    pub fn load(name: &str, dir: &Path) -> anyhow::Result<Fleet> {
        let inventory = dir.join("inventory.toml");
        let (ssh_key, hosts) = inventory::read(&inventory, name)?;
        Ok(Fleet {
            name: name.to_owned(),
            dir: dir.to_owned(),
            network: network_name(name),
            hosts,
            ssh_key,
            inventory,
        })
    }

    pub fn host(&self, name: &str) -> anyhow::Result<&Host> {
        self.hosts.iter().find(|h| h.name == name).with_context(|| {
            let names: Vec<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
            format!("no host {name:?} in fleet {}; it has {}", self.name, names.join(", "))
        })
    }
}

/// How long a host may take from container start to sshd answering.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// The package cache is a small tmpfs, so `fill-disk` can fill it: a container's root file system
/// is this machine's own disk, which a test must never fill.
pub const CACHE_SIZE: &str = "size=128m";

pub fn network_name(fleet: &str) -> String {
    format!("{fleet}-net")
}

pub fn container_name(fleet: &str, host: &str) -> String {
    format!("{fleet}-{host}")
}

/// Starts a fleet, replacing any fleet of the same name. Hosts start concurrently. If anything
/// fails, whatever was started is removed again.
pub async fn up(spec: &FleetSpec, inputs: &FleetInputs) -> anyhow::Result<Fleet> {
    validate_name(&spec.name)?;
    let engine = Engine::connect().await?;
    engine.remove_fleet(&spec.name).await?;
    let result = start(&engine, spec, inputs).await;
    if result.is_err() {
        engine.remove_fleet(&spec.name).await.ok();
    }
    result
}

async fn start(engine: &Engine, spec: &FleetSpec, inputs: &FleetInputs) -> anyhow::Result<Fleet> {
    let started = Instant::now();
    std::fs::create_dir_all(&spec.dir)
        .with_context(|| format!("creating {}", spec.dir.display()))?;
    // Docker binds need absolute paths.
    let dir = std::fs::canonicalize(&spec.dir)
        .with_context(|| format!("finding {}", spec.dir.display()))?;
    let ssh_key = ensure_ssh_key(&dir, &spec.name)?;
    let network = network_name(&spec.name);
    let prefix = create_network(engine, &network, &spec.name).await?;

    let repo_root = std::fs::canonicalize(&inputs.repo_root)
        .with_context(|| format!("finding the repository at {}", inputs.repo_root.display()))?;
    engine
        .create_and_start(ContainerSpec {
            name: &container_name(&spec.name, "repo"),
            hostname: "repo",
            image: &inputs.debian_image,
            cmd: ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/srv/repo"]
                .map(String::from)
                .to_vec(),
            network: &network,
            ipv4_address: &format!("{prefix}.2"),
            aliases: vec!["repo".into()],
            binds: vec![format!("{}:/srv/repo:ro", repo_root.display())],
            tmpfs: Vec::new(),
            env: Vec::new(),
            fleet: &spec.name,
            systemd: false,
        })
        .await?;

    let public_key = ssh_key.with_extension("pub");
    let plans = host_plans(spec, &prefix);
    let hosts = try_join_all(plans.into_iter().map(|plan| {
        let engine = engine.clone();
        let network = network.clone();
        let public_key = public_key.clone();
        let image = match plan.family {
            Family::Debian => inputs.debian_image.clone(),
            Family::Rpm => inputs.rpm_image.clone(),
        };
        async move { start_host(&engine, &spec.name, &network, &image, &public_key, plan).await }
    }))
    .await?;

    let inventory = dir.join("inventory.toml");
    inventory::write(&inventory, &spec.name, &ssh_key, &hosts)?;
    eprintln!("fleet {}: {} hosts up in {:.1?}", spec.name, hosts.len(), started.elapsed());
    Ok(Fleet { name: spec.name.clone(), dir, network, hosts, ssh_key, inventory })
}

/// Removes every container and network of the fleet; its directory (key, inventory) stays.
pub async fn down(name: &str) -> anyhow::Result<usize> {
    Engine::connect().await?.remove_fleet(name).await
}

fn validate_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if !valid {
        bail!("fleet name {name:?}: use 1 to 40 characters from a-z, 0-9 and -");
    }
    Ok(())
}

fn ensure_ssh_key(dir: &Path, fleet: &str) -> anyhow::Result<PathBuf> {
    let key = dir.join("id_ed25519");
    if !key.exists() {
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", &format!("patchctl-fleet-{fleet}"), "-f"])
            .arg(&key)
            .status()
            .context("running ssh-keygen (install openssh-client)")?;
        if !status.success() {
            bail!("ssh-keygen failed for {}", key.display());
        }
    }
    Ok(key)
}

/// Creates the fleet's network on a free /24 of 172.29.0.0/16, starting from one picked by the
/// fleet's name so that fleets started side by side rarely collide; returns its first 3 octets.
async fn create_network(engine: &Engine, network: &str, fleet: &str) -> anyhow::Result<String> {
    let start = fleet.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32)) % 250;
    let mut last_error = None;
    for attempt in 0..250 {
        let prefix = format!("172.29.{}", (start + attempt) % 250 + 1);
        match engine.create_network(network, &format!("{prefix}.0/24"), fleet).await {
            Ok(()) => return Ok(prefix),
            Err(error) if format!("{error:#}").contains("overlap") => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no free subnet")))
        .context("every 172.29.N.0/24 is taken")
}

struct HostPlan {
    name: String,
    family: Family,
    address: String,
    environment: &'static str,
    held: bool,
}

/// Names, addresses and roles: Debian hosts at .11 up, RPM hosts at .41 up; each family spread
/// over dev, staging and production in that order; `acme-held` held on every second host.
fn host_plans(spec: &FleetSpec, prefix: &str) -> Vec<HostPlan> {
    let mut plans = Vec::new();
    for (family, count, stem, first) in
        [(Family::Debian, spec.n_debian, "deb", 11), (Family::Rpm, spec.n_rpm, "rpm", 41)]
    {
        for i in 0..count {
            let environment = ["dev", "staging", "production"][(i * 3 / count.max(1)).min(2)];
            plans.push(HostPlan {
                name: format!("{stem}{}", i + 1),
                family,
                address: format!("{prefix}.{}", first + i),
                environment,
                held: i % 2 == 1,
            });
        }
    }
    plans
}

async fn start_host(
    engine: &Engine,
    fleet: &str,
    network: &str,
    image: &str,
    public_key: &Path,
    plan: HostPlan,
) -> anyhow::Result<Host> {
    let container = container_name(fleet, &plan.name);
    let cache = match plan.family {
        Family::Debian => "/var/cache/apt/archives",
        Family::Rpm => "/var/cache/dnf",
    };
    engine
        .create_and_start(ContainerSpec {
            name: &container,
            hostname: &plan.name,
            image,
            cmd: vec!["/sbin/init".into()],
            network,
            ipv4_address: &plan.address,
            aliases: vec![plan.name.clone()],
            binds: vec![format!("{}:/root/.ssh/authorized_keys:ro", public_key.display())],
            tmpfs: vec![(cache, CACHE_SIZE)],
            env: Vec::new(),
            fleet,
            systemd: true,
        })
        .await?;
    let host_key = wait_until_ready(engine, &container, &plan.address).await?;
    let refresh: &[&str] = match plan.family {
        Family::Debian => &["apt-get", "-q", "update"],
        Family::Rpm => &["dnf", "-q", "makecache"],
    };
    engine
        .exec(&container, refresh)
        .await?
        .check(&format!("refreshing package lists on {}", plan.name))?;
    if plan.held {
        let hold: &[&str] = match plan.family {
            Family::Debian => &["apt-mark", "hold", "acme-held"],
            Family::Rpm => &["dnf", "-q", "versionlock", "add", "acme-held"],
        };
        engine
            .exec(&container, hold)
            .await?
            .check(&format!("holding acme-held on {}", plan.name))?;
    }
    Ok(Host {
        name: plan.name,
        container,
        address: plan.address,
        family: plan.family,
        environment: plan.environment,
        held: plan.held,
        host_key,
    })
}

/// Waits until sshd listens on the host's address and returns the host's ed25519 key.
pub async fn wait_until_ready(
    engine: &Engine,
    container: &str,
    address: &str,
) -> anyhow::Result<String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let listening = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect((address, 22)),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        if listening {
            let key = engine.exec(container, &["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).await?;
            if key.exit_code == 0 && key.stdout.starts_with("ssh-ed25519 ") {
                let mut words = key.stdout.split_whitespace();
                return Ok(format!(
                    "{} {}",
                    words.next().unwrap_or(""),
                    words.next().unwrap_or("")
                ));
            }
        }
        if Instant::now() > deadline {
            bail!("{container}: sshd did not answer on {address}:22 within {READY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One host's state, as `fleet status` shows it.
#[derive(Debug, Clone)]
pub struct HostStatus {
    pub name: String,
    pub address: String,
    pub environment: &'static str,
    /// `None`: the container does not exist.
    pub running: Option<bool>,
    pub connected: bool,
    pub sshd_answers: bool,
}

pub async fn status(fleet: &Fleet) -> anyhow::Result<Vec<HostStatus>> {
    let engine = Engine::connect().await?;
    let mut statuses = Vec::new();
    for host in &fleet.hosts {
        let state = engine.state(&host.container).await?;
        let sshd_answers = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect((host.address.as_str(), 22)),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        statuses.push(HostStatus {
            name: host.name.clone(),
            address: host.address.clone(),
            environment: host.environment,
            running: state.as_ref().map(|(running, _)| *running),
            connected: state
                .as_ref()
                .is_some_and(|(_, networks)| networks.contains(&fleet.network)),
            sshd_answers,
        });
    }
    Ok(statuses)
}
