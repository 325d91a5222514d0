//! The few Docker Engine calls the fleet makes, over the engine's API (bollard): networks,
//! containers, and commands run inside them.

use std::collections::HashMap;

use anyhow::{Context, bail};
use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder,
};
use futures_util::StreamExt;

/// The label every fleet object carries, with the fleet's name as its value: `down` finds what
/// to remove by it, even after a crash left no state on disk.
pub const FLEET_LABEL: &str = "patchctl.fleet";

/// What a command run in a container gave.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    /// Fails unless the command exited 0, with its output in the error.
    pub fn check(self, what: &str) -> anyhow::Result<ExecOutput> {
        if self.exit_code != 0 {
            bail!(
                "{what} exited with {}: {}{}",
                self.exit_code,
                self.stderr.trim(),
                self.stdout.trim()
            );
        }
        Ok(self)
    }
}

#[derive(Clone)]
pub struct Engine {
    docker: Docker,
}

/// A container to create on a network with a fixed address.
pub struct ContainerSpec<'a> {
    pub name: &'a str,
    pub hostname: &'a str,
    pub image: &'a str,
    pub cmd: Vec<String>,
    pub network: &'a str,
    pub ipv4_address: &'a str,
    pub aliases: Vec<String>,
    pub binds: Vec<String>,
    pub tmpfs: Vec<(&'a str, &'a str)>,
    pub env: Vec<String>,
    pub fleet: &'a str,
    /// Run systemd as PID 1: the tmpfs mounts, cgroup mount and environment it needs in a
    /// container, and a restart policy under which a reboot from inside brings the host back.
    pub systemd: bool,
}

impl Engine {
    pub async fn connect() -> anyhow::Result<Engine> {
        let docker = Docker::connect_with_local_defaults()
            .context("connecting to the Docker Engine")?
            .negotiate_version()
            .await
            .context("talking to the Docker Engine (is dockerd running?)")?;
        Ok(Engine { docker })
    }

    /// Creates a bridge network with its own /24. `internal`: no route out of it, so hosts reach
    /// only each other and this machine.
    pub async fn create_network(
        &self,
        name: &str,
        subnet: &str,
        fleet: &str,
    ) -> anyhow::Result<()> {
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".into()),
            internal: Some(true),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_owned()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            labels: Some(HashMap::from([(FLEET_LABEL.to_owned(), fleet.to_owned())])),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .with_context(|| format!("creating network {name} ({subnet})"))?;
        Ok(())
    }

    pub async fn create_and_start(&self, spec: ContainerSpec<'_>) -> anyhow::Result<()> {
        let mut tmpfs: HashMap<String, String> = spec
            .tmpfs
            .iter()
            .map(|(path, options)| (path.to_string(), options.to_string()))
            .collect();
        let mut binds = spec.binds.clone();
        let mut env = spec.env.clone();
        let mut restart_policy = None;
        if spec.systemd {
            tmpfs.insert("/run".into(), "rw,nosuid,nodev,mode=755".into());
            tmpfs.insert("/run/lock".into(), "rw,nosuid,nodev,noexec".into());
            binds.push("/sys/fs/cgroup:/sys/fs/cgroup:ro".into());
            env.push("container=docker".into());
            restart_policy = Some(bollard::models::RestartPolicy {
                name: Some(bollard::models::RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            });
        }
        let endpoint = EndpointSettings {
            ipam_config: Some(EndpointIpamConfig {
                ipv4_address: Some(spec.ipv4_address.to_owned()),
                ..Default::default()
            }),
            aliases: Some(spec.aliases.clone()),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            hostname: Some(spec.hostname.to_owned()),
            image: Some(spec.image.to_owned()),
            cmd: Some(spec.cmd.clone()),
            env: Some(env),
            labels: Some(HashMap::from([(FLEET_LABEL.to_owned(), spec.fleet.to_owned())])),
            stop_signal: spec.systemd.then(|| "SIGRTMIN+3".to_owned()),
            host_config: Some(HostConfig {
                binds: Some(binds),
                tmpfs: Some(tmpfs),
                network_mode: Some(spec.network.to_owned()),
                restart_policy,
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(spec.network.to_owned(), endpoint)])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(spec.name).build();
        self.docker
            .create_container(Some(options), body)
            .await
            .with_context(|| format!("creating container {}", spec.name))?;
        self.docker
            .start_container(spec.name, None)
            .await
            .with_context(|| format!("starting container {}", spec.name))?;
        Ok(())
    }

    /// Runs `argv` in `container` and collects its output. Never through a shell, unless argv
    /// says `sh -c` with the fleet's own constant text.
    pub async fn exec(&self, container: &str, argv: &[&str]) -> anyhow::Result<ExecOutput> {
        let what = || format!("running {argv:?} in {container}");
        let options = CreateExecOptions {
            cmd: Some(argv.iter().map(|s| s.to_string()).collect()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            env: Some(vec!["LC_ALL=C".to_owned()]),
            ..Default::default()
        };
        let exec = self.docker.create_exec(container, options).await.with_context(what)?;
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let StartExecResults::Attached { mut output, .. } =
            self.docker.start_exec(&exec.id, None).await.with_context(what)?
        {
            while let Some(chunk) = output.next().await {
                match chunk.with_context(what)? {
                    bollard::container::LogOutput::StdErr { message } => {
                        stderr.extend_from_slice(&message)
                    }
                    other => stdout.extend_from_slice(&other.into_bytes()),
                }
            }
        }
        let inspect = self.docker.inspect_exec(&exec.id).await.with_context(what)?;
        Ok(ExecOutput {
            exit_code: inspect.exit_code.unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// Starts `argv` in `container` and returns without waiting for it.
    pub async fn exec_detached(&self, container: &str, argv: &[&str]) -> anyhow::Result<()> {
        let options = CreateExecOptions {
            cmd: Some(argv.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        let exec = self.docker.create_exec(container, options).await?;
        let start = bollard::exec::StartExecOptions { detach: true, ..Default::default() };
        self.docker
            .start_exec(&exec.id, Some(start))
            .await
            .with_context(|| format!("starting {argv:?} in {container}"))?;
        Ok(())
    }

    pub async fn kill(&self, container: &str) -> anyhow::Result<()> {
        let options = KillContainerOptionsBuilder::default().signal("SIGKILL").build();
        self.docker
            .kill_container(container, Some(options))
            .await
            .with_context(|| format!("killing {container}"))
    }

    pub async fn start(&self, container: &str) -> anyhow::Result<()> {
        self.docker
            .start_container(container, None)
            .await
            .with_context(|| format!("starting {container}"))
    }

    pub async fn restart(&self, container: &str) -> anyhow::Result<()> {
        let options = RestartContainerOptionsBuilder::default().t(10).build();
        self.docker
            .restart_container(container, Some(options))
            .await
            .with_context(|| format!("restarting {container}"))
    }

    pub async fn disconnect(&self, network: &str, container: &str) -> anyhow::Result<()> {
        let request =
            NetworkDisconnectRequest { container: container.to_owned(), force: Some(true) };
        self.docker
            .disconnect_network(network, request)
            .await
            .with_context(|| format!("disconnecting {container} from {network}"))
    }

    pub async fn connect_to(
        &self,
        network: &str,
        container: &str,
        ipv4_address: &str,
        aliases: Vec<String>,
    ) -> anyhow::Result<()> {
        let request = NetworkConnectRequest {
            container: container.to_owned(),
            endpoint_config: Some(EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: Some(ipv4_address.to_owned()),
                    ..Default::default()
                }),
                aliases: Some(aliases),
                ..Default::default()
            }),
        };
        self.docker
            .connect_network(network, request)
            .await
            .with_context(|| format!("connecting {container} to {network}"))
    }

    /// The state of a container: (running, networks it is attached to), or `None` if it does
    /// not exist.
    pub async fn state(&self, container: &str) -> anyhow::Result<Option<(bool, Vec<String>)>> {
        match self.docker.inspect_container(container, None).await {
            Ok(inspect) => {
                let running = inspect.state.and_then(|s| s.running).unwrap_or(false);
                let networks = inspect
                    .network_settings
                    .and_then(|n| n.networks)
                    .map(|n| n.into_keys().collect())
                    .unwrap_or_default();
                Ok(Some((running, networks)))
            }
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                Ok(None)
            }
            Err(error) => Err(error).with_context(|| format!("inspecting {container}")),
        }
    }

    /// Removes every container and network labelled as part of `fleet`.
    pub async fn remove_fleet(&self, fleet: &str) -> anyhow::Result<usize> {
        let label = format!("{FLEET_LABEL}={fleet}");
        let filters = HashMap::from([("label".to_owned(), vec![label])]);
        let containers = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default().all(true).filters(&filters).build(),
            ))
            .await
            .context("listing the fleet's containers")?;
        let mut removed = 0;
        for container in containers {
            let Some(id) = container.id else { continue };
            let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
            self.docker
                .remove_container(&id, Some(options))
                .await
                .with_context(|| format!("removing container {id}"))?;
            removed += 1;
        }
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build()))
            .await
            .context("listing the fleet's networks")?;
        for network in networks {
            let Some(id) = network.id else { continue };
            self.docker
                .remove_network(&id)
                .await
                .with_context(|| format!("removing network {id}"))?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Names of the fleet's containers and networks that still exist.
    pub async fn fleet_objects(&self, fleet: &str) -> anyhow::Result<Vec<String>> {
        let label = format!("{FLEET_LABEL}={fleet}");
        let filters = HashMap::from([("label".to_owned(), vec![label])]);
        let mut names = Vec::new();
        for container in self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default().all(true).filters(&filters).build(),
            ))
            .await?
        {
            names.extend(container.names.unwrap_or_default());
        }
        for network in self
            .docker
            .list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build()))
            .await?
        {
            names.extend(network.name);
        }
        Ok(names)
    }
}
