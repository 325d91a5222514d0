//! What the container tests share: the gate, a private Docker network with a repository
//! container and host containers (all removed on drop, also when a test fails), and commands
//! run in them through the docker CLI.

use std::cell::Cell;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// True when integration tests are enabled; otherwise prints that `test` was skipped.
pub fn integration_enabled(test: &str) -> bool {
    if std::env::var("PATCHCTL_INTEGRATION").is_ok_and(|value| value == "1") {
        return true;
    }
    eprintln!("skipped {test}: set PATCHCTL_INTEGRATION=1 to run it");
    false
}

/// What a command gave.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Standard output, then standard error.
    pub fn both(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs a command (argv, no shell) and captures its output.
pub fn command(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("running {program}: {error}"));
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs a docker CLI command that must succeed; returns its trimmed standard output.
pub fn docker(args: &[&str]) -> String {
    let output = command("docker", args);
    assert_eq!(output.code, 0, "docker {args:?} failed: {}", output.both());
    output.stdout.trim().to_owned()
}

/// A private network for one test, named by the test and this process, with the containers
/// started on it. Drop removes the containers, then the network.
pub struct TestNetwork {
    pub name: String,
    containers: Vec<String>,
}

impl TestNetwork {
    pub fn create(test: &str) -> TestNetwork {
        let name = format!("patchctl-it-{}-{test}", std::process::id());
        // Internal: the hosts reach each other and nothing else.
        docker(&["network", "create", "--internal", &name]);
        TestNetwork { name, containers: Vec::new() }
    }

    /// `busybox httpd` serving `root` read-only at `http://repo/`, from a host image (which has
    /// busybox).
    pub fn start_repository(&mut self, image: &str, root: &Path) {
        let name = format!("{}-repo", self.name);
        let volume = format!("{}:/srv:ro", root.display());
        self.containers.push(name.clone());
        docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &self.name,
            "--network-alias",
            "repo",
            "-v",
            &volume,
            image,
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/srv",
        ]);
    }

    /// A host container booting systemd, as the fleet runs them. The image supplies the command
    /// (`/sbin/init`), `container=docker` and the stop signal.
    pub fn start_host(&mut self, image: &str, host: &str) -> Host {
        let name = format!("{}-{host}", self.name);
        self.containers.push(name.clone());
        docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--hostname",
            host,
            "--network",
            &self.name,
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:ro",
            image,
        ]);
        Host { container: name, started: Cell::new(Instant::now()) }
    }
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        for container in &self.containers {
            let _ = command("docker", &["rm", "-f", "-v", container]);
        }
        let removed = command("docker", &["network", "rm", &self.name]);
        if removed.code != 0 {
            eprintln!("warning: could not remove network {}: {}", self.name, removed.both());
        }
    }
}

/// A running host container.
pub struct Host {
    pub container: String,
    /// When it was last started.
    started: Cell<Instant>,
}

impl Host {
    /// Runs argv in the container (`docker exec`, `LC_ALL=C`, no terminal).
    pub fn exec(&self, argv: &[&str]) -> Output {
        let mut args = vec!["exec", &self.container, "env", "LC_ALL=C"];
        args.extend_from_slice(argv);
        command("docker", &args)
    }

    /// Runs argv in the container and requires exit code 0; returns standard output.
    pub fn ok(&self, argv: &[&str]) -> String {
        let output = self.exec(argv);
        assert_eq!(output.code, 0, "{argv:?} in {} failed: {}", self.container, output.both());
        output.stdout
    }

    /// GET a path of acme-web (port 8080) from inside the host; `None` when it does not answer.
    pub fn acme_web(&self, path: &str) -> Option<String> {
        let url = format!("http://127.0.0.1:8080{path}");
        let output = self.exec(&["busybox", "wget", "-q", "-O", "-", &url]);
        (output.code == 0).then(|| output.stdout.trim().to_owned())
    }

    /// Waits until systemd has finished booting, sshd and acme-web are active and /health says
    /// `ok`; prints how long each took since the container started. Fails after `limit`.
    pub fn wait_until_up(&self, limit: Duration) {
        let mut milestones: Vec<(&str, Duration)> = Vec::new();
        let checks: [(&str, &dyn Fn() -> bool); 4] = [
            ("systemd booted", &|| {
                let state = self.exec(&["systemctl", "is-system-running"]).stdout;
                matches!(state.trim(), "running" | "degraded")
            }),
            ("sshd active", &|| self.exec(&["systemctl", "is-active", "ssh"]).code == 0),
            ("acme-web active", &|| self.exec(&["systemctl", "is-active", "acme-web"]).code == 0),
            ("health ok", &|| self.acme_web("/health").as_deref() == Some("ok")),
        ];
        for (what, check) in checks {
            while !check() {
                assert!(
                    self.started.get().elapsed() < limit,
                    "{}: not `{what}` after {limit:?}; systemctl --failed: {}",
                    self.container,
                    self.exec(&["systemctl", "--failed", "--no-legend"]).both()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            milestones.push((what, self.started.get().elapsed()));
        }
        let report: Vec<String> =
            milestones.iter().map(|(what, at)| format!("{what} at {:.1?}", at)).collect();
        eprintln!("{}: {}", self.container, report.join(", "));
    }

    /// `docker restart`: a reboot (systemd halts on the image's stop signal, `/run` is a fresh
    /// tmpfs afterwards).
    pub fn restart(&self) {
        let started = Instant::now();
        docker(&["restart", &self.container]);
        eprintln!("{}: docker restart took {:.1?}", self.container, started.elapsed());
        self.started.set(Instant::now());
    }
}
