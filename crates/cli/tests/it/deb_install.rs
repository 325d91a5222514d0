//! The .deb, installed the way an administrator would: into a container of
//! `patchctl/install-test` (systemd as PID 1) on a private Docker network with no route out.
//! `apt install ./patchctl_*.deb` works offline, the server's unit starts hardened and
//! `/readyz` answers, `man` and bash completion work, `patchctl doctor` tells a fresh install's
//! problems from a working one, and `apt purge` leaves no unit, no user and no /etc/patchctl.
//!
//! The package is `cargo xtask deb`'s, handed over in `PATCHCTL_DEB` (`cargo xtask ci` builds
//! it from the binary its tests use).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::{base_image, text};

#[test]
fn the_deb_installs_serves_and_purges_clean() {
    if base_image().is_none() {
        return;
    }
    let deb = std::env::var("PATCHCTL_DEB").expect(
        "PATCHCTL_DEB is not set: `cargo xtask ci` sets it, or `export PATCHCTL_DEB=$(cargo xtask deb)`",
    );
    let image = fleet::images::install_test_image().expect("building the install-test image");
    let machine = Machine::boot(&image);
    machine.copy_in(&deb, "/root/");

    let file_name = std::path::Path::new(&deb).file_name().unwrap().to_string_lossy().into_owned();
    assert!(file_name.starts_with("patchctl_") && file_name.ends_with(".deb"), "{file_name}");
    machine.ok("cd /root && DEBIAN_FRONTEND=noninteractive apt install -y ./patchctl_*.deb");

    // The unit starts, as the system user, and the server answers.
    machine.wait_for("systemctl is-active patchctl-server.service");
    let ready = machine.wait_for("curl -fsS http://127.0.0.1:8443/readyz");
    assert_eq!(ready.trim(), "ready");
    let user = machine.ok("ps -o user= -C patchctl");
    assert_eq!(user.trim(), "patchctl");
    let unit = machine.ok("systemctl show -p ProtectSystem -p NoNewPrivileges patchctl-server");
    assert!(
        unit.contains("ProtectSystem=strict") && unit.contains("NoNewPrivileges=yes"),
        "{unit}"
    );
    machine.ok("test -f /var/lib/patchctl/patchctl.db");
    // The scheduler's timer ships for CLI-only installs, off.
    assert_eq!(machine.run("systemctl is-enabled patchctl-scheduler.timer").0.trim(), "disabled");

    // Wide, so that no line is wrapped and justified.
    let man = machine.ok("MANWIDTH=500 MANPAGER=cat man patchctl");
    assert!(man.contains("patchctl-doctor(1)") && man.contains("Fleet patch management"), "{man}");
    let man_serve = machine.ok("MANWIDTH=500 MANPAGER=cat man patchctl-serve");
    assert!(man_serve.contains("--init-admin"), "{man_serve}");
    let completion = machine.ok(
        "bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader patchctl; \
         COMP_WORDS=(patchctl doc); COMP_CWORD=1; COMP_LINE=\"patchctl doc\"; \
         COMP_POINT=${#COMP_LINE}; _patchctl patchctl doc patchctl; echo \"${COMPREPLY[@]}\"'",
    );
    assert_eq!(completion.trim(), "doctor");

    // A fresh install has no inventory and no scheduler running: doctor says so, exit code 6.
    let doctor = "runuser -u patchctl -- patchctl --config /etc/patchctl/patchctl.toml doctor";
    let (stdout, code) = machine.run(doctor);
    assert_eq!(code, 6, "{stdout}");
    for line in ["ok       server config", "ok       database", "ok       tls"] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
    assert!(stdout.contains("problem  inventory") && stdout.contains("problem  scheduler"));
    // An inventory whose key does not exist yet, the timer on: the key is the one problem.
    machine.ok(
        "printf '[defaults]\\nenvironment = \"dev\"\\nssh_key = \"/var/lib/patchctl/.ssh/id_ed25519\"\\n\
         [hosts.web1]\\naddress = \"10.0.0.1\"\\n' > /etc/patchctl/patchctl.toml && \
         systemctl enable --now patchctl-scheduler.timer",
    );
    let (stdout, code) = machine.run(doctor);
    assert_eq!(code, 6, "{stdout}");
    assert_eq!(stdout.matches("problem ").count(), 1, "{stdout}");
    assert!(stdout.contains("problem  ssh key"), "{stdout}");
    assert!(stdout.contains("patchctl-scheduler.timer is active"), "{stdout}");
    // With the key made as the service's user, every check passes.
    machine.ok("runuser -u patchctl -- sh -c 'mkdir -m 700 /var/lib/patchctl/.ssh && \
         ssh-keygen -q -t ed25519 -N \"\" -f /var/lib/patchctl/.ssh/id_ed25519'");
    let (stdout, code) = machine.run(doctor);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("ok       ssh key        key file /var/lib/patchctl/.ssh/id_ed25519 (ssh-ed25519 SHA256:"), "{stdout}");

    machine.ok("DEBIAN_FRONTEND=noninteractive apt purge -y patchctl");
    let left = machine.ok("ls /etc/systemd/system/*/patchctl-* /lib/systemd/system/patchctl-* \
         /usr/lib/systemd/system/patchctl-* /etc/patchctl /var/lib/patchctl 2>/dev/null; \
         getent passwd patchctl; getent group patchctl; true");
    assert_eq!(left.trim(), "", "left behind after apt purge");
    assert_eq!(machine.run("systemctl is-active patchctl-server.service").0.trim(), "inactive");

    // The commercial PatchCTL's agent keeps /etc/patchctl/config.json (README.md, "The name"):
    // our purge leaves it, and the folder with it.
    machine.ok("cd /root && DEBIAN_FRONTEND=noninteractive apt install -y ./patchctl_*.deb && \
         echo '{}' > /etc/patchctl/config.json && \
         DEBIAN_FRONTEND=noninteractive apt purge -y patchctl");
    assert_eq!(machine.ok("ls -A /etc/patchctl").trim(), "config.json");
}

/// A container booted with systemd on its own internal network; both removed on drop.
struct Machine {
    name: String,
}

impl Machine {
    fn boot(image: &str) -> Machine {
        let name = format!("patchctl-deb-{}", std::process::id());
        docker(&["network", "create", "--internal", &name]);
        let machine = Machine { name };
        // systemd as PID 1 (cgroups read-only, /run a tmpfs, as the fleet's hosts), and
        // CAP_SYS_ADMIN for the mount namespaces of the units' sandboxing (ProtectSystem,
        // PrivateTmp…). Not --privileged: a Docker that itself runs without every capability
        // refuses it.
        docker(&[
            "run",
            "-d",
            "--name",
            &machine.name,
            "--hostname",
            "patchctl-deb",
            "--network",
            &machine.name,
            "--cap-add",
            "SYS_ADMIN",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:ro",
            image,
        ]);
        let state = machine.wait_for(
            "s=$(systemctl is-system-running); case $s in running|degraded) echo $s;; *) exit 1;; esac",
        );
        assert!(!state.is_empty());
        machine
    }

    fn copy_in(&self, file: &str, dir: &str) {
        docker(&["cp", file, &format!("{}:{dir}", self.name)]);
    }

    /// `script` (the test's own text) with `sh -c`: its standard output and exit code.
    fn run(&self, script: &str) -> (String, i32) {
        let output = docker_output(&["exec", &self.name, "sh", "-c", script]);
        (text(&output.stdout), output.status.code().unwrap_or(-1))
    }

    /// Runs `script`, which must succeed; its standard output.
    fn ok(&self, script: &str) -> String {
        let output = docker_output(&["exec", &self.name, "sh", "-c", script]);
        assert!(
            output.status.success(),
            "{script}: {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// Runs `script` until it succeeds (60 s at most); its standard output.
    fn wait_for(&self, script: &str) -> String {
        let started = Instant::now();
        loop {
            let output = docker_output(&["exec", &self.name, "sh", "-c", script]);
            if output.status.success() {
                return text(&output.stdout);
            }
            if started.elapsed() > Duration::from_secs(60) {
                let journal = self.run("journalctl --no-pager -n 60").0;
                panic!("{script} never succeeded: {}\n{journal}", text(&output.stderr));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.name]).output();
        let _ = Command::new("docker").args(["network", "rm", &self.name]).output();
    }
}

fn docker_output(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("running docker")
}

fn docker(args: &[&str]) {
    let output = docker_output(args);
    assert!(output.status.success(), "docker {args:?}: {}", text(&output.stderr));
}
