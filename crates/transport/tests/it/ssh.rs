//! The SSH transport against a real OpenSSH server: each test starts a container of the base image
//! (systemd and sshd) on a private Docker network of its own, with a fresh client key, and
//! removes both when it ends, also when it fails. Only with `PATCHCTL_INTEGRATION=1` and the
//! image in `PATCHCTL_BASE_IMAGE` (`cargo xtask ci` sets both); otherwise the tests say they were
//! skipped.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output as ProcessOutput};
use std::sync::Arc;
use std::time::{Duration, Instant};

use transport::{
    Auth, Command, HostKey, HostKeyPolicy, Limits, Ssh, SshConfig, Transport, TransportError,
};

/// Everything a test creates carries this label, so leftovers of a killed test run can be
/// found: `docker ps -a --filter label=patchctl.test=transport-ssh`.
const LABEL: &str = "patchctl.test=transport-ssh";

fn base_image() -> Option<String> {
    if std::env::var("PATCHCTL_INTEGRATION").as_deref() != Ok("1") {
        println!("skipped: set PATCHCTL_INTEGRATION=1 (cargo xtask ci does) to run the SSH tests");
        return None;
    }
    Some(std::env::var("PATCHCTL_BASE_IMAGE").expect(
        "PATCHCTL_BASE_IMAGE is not set: run the integration tests through `cargo xtask ci`, \
         which builds the image",
    ))
}

/// One SSH host for one test.
struct Host {
    name: String,
    network: Option<String>,
    container: Option<String>,
    subnet: u8,
    dir: PathBuf,
    /// A client key that root (and only root) accepts.
    key: PathBuf,
    /// The container's own ed25519 host key, from its file.
    host_key: String,
}

impl Host {
    fn start(test: &str) -> Option<Host> {
        let image = base_image()?;
        let name = format!("patchctl-ssh-{}-{test}", std::process::id());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("id_ed25519");
        let mut host = Host {
            name,
            network: None,
            container: None,
            subnet: 0,
            dir,
            key,
            host_key: String::new(),
        };
        keygen(&host.key);
        host.create_network();
        host.run_container(&image);
        host.wait_for_sshd();
        host.host_key = host.exec("cat /etc/ssh/ssh_host_ed25519_key.pub").trim().to_owned();
        Some(host)
    }

    /// A /24 of 172.29.200-249 that no other network uses; Docker refuses overlaps itself, so
    /// concurrent tests (and other users of the machine) just try the next one.
    fn create_network(&mut self) {
        for subnet in 200..250u8 {
            let output = docker(&[
                "network",
                "create",
                "--internal",
                "--label",
                LABEL,
                "--subnet",
                &format!("172.29.{subnet}.0/24"),
                &self.name,
            ]);
            if output.status.success() {
                self.network = Some(self.name.clone());
                self.subnet = subnet;
                return;
            }
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("overlap"), "docker network create: {stderr}");
        }
        panic!("no free subnet in 172.29.200.0-172.29.249.0");
    }

    fn run_container(&mut self, image: &str) {
        let container = format!("{}-host", self.name);
        self.container = Some(container.clone());
        let authorized_keys =
            format!("{}:/root/.ssh/authorized_keys:ro", self.key.with_extension("pub").display());
        docker_ok(&[
            "run",
            "-d",
            "--name",
            &container,
            "--label",
            LABEL,
            "--network",
            &self.name,
            "--ip",
            &self.address(),
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:ro",
            "-e",
            "container=docker",
            "-v",
            &authorized_keys,
            image,
            "/sbin/init",
        ]);
    }

    fn wait_for_sshd(&self) {
        let address = format!("{}:22", self.address()).parse().unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if std::net::TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("sshd did not answer on {address} within 60 s");
    }

    fn address(&self) -> String {
        format!("172.29.{}.10", self.subnet)
    }

    /// An address on the host's network where nothing answers.
    fn nobody(&self) -> String {
        format!("172.29.{}.250", self.subnet)
    }

    fn container(&self) -> &str {
        self.container.as_deref().unwrap()
    }

    /// Runs a script of the test's own in the container, as root, through `docker exec`.
    fn exec(&self, script: &str) -> String {
        docker_ok(&["exec", self.container(), "sh", "-c", script])
    }

    fn config(&self) -> SshConfig {
        let mut config = SshConfig::new(
            format!("test-{}", self.subnet),
            self.address(),
            "root",
            Auth { key_file: Some(self.key.clone()), ..Auth::default() },
            HostKeyPolicy::Pinned(vec![HostKey::parse(&self.host_key).unwrap()]),
        );
        config.connect_timeout = Duration::from_secs(10);
        config
    }

    async fn connect(&self) -> Ssh {
        Ssh::connect(self.config()).await.unwrap()
    }

    /// What sshd logged, for failure messages.
    fn sshd_log(&self) -> String {
        self.exec("journalctl -u ssh --no-pager -o cat | tail -n 40")
    }

    /// A key of a new pair, which the host does not know.
    fn new_key(&self, name: &str) -> PathBuf {
        let key = self.dir.join(name);
        keygen(&key);
        key
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(container) = &self.container {
            let _ = docker(&["rm", "-f", "-v", container]);
        }
        if let Some(network) = &self.network {
            let _ = docker(&["network", "rm", network]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn docker(args: &[&str]) -> ProcessOutput {
    Process::new("docker").args(args).output().expect("running docker")
}

fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "docker {args:?}: {}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn keygen(path: &Path) {
    let output = Process::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "patchctl-test", "-f"])
        .arg(path)
        .output()
        .expect("running ssh-keygen (openssh-client)");
    assert!(output.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&output.stderr));
}

/// The fingerprint of a public key file as `ssh-keygen -l` prints it.
fn fingerprint_of(public_key_file: &Path) -> String {
    let output = Process::new("ssh-keygen").arg("-l").arg("-f").arg(public_key_file).output();
    let output = String::from_utf8(output.unwrap().stdout).unwrap();
    output.split_whitespace().nth(1).expect("bits fingerprint comment (type)").to_owned()
}

fn command(argv: &[&str]) -> Command {
    Command { argv: argv.iter().map(|s| s.to_string()).collect(), env: Vec::new() }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails the test instead of hanging it.
async fn within<T>(limit: Duration, what: &str, work: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| panic!("{what}: hung for {limit:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_commands_arrive_literally() {
    let Some(host) = Host::start("commands") else { return };
    let ssh = host.connect().await;

    let words = [
        "$(reboot)",
        "`reboot`",
        "a;reboot",
        "&&",
        "|",
        "it's",
        "a\nb",
        "",
        " ",
        "*",
        "~",
        "$HOME",
        "\"q\"",
        "back\\slash",
        "=x",
        "-n",
        "日本語",
    ];
    let mut argv = vec!["printf", "%s\\0"];
    argv.extend(words);
    let output = ssh.run(&command(&argv)).await.unwrap();
    assert_eq!(output.exit_code, 0, "{}", text(&output.stderr));
    let expected: Vec<u8> = words.iter().flat_map(|w| [w.as_bytes(), b"\0"].concat()).collect();
    assert_eq!(text(&output.stdout), text(&expected));

    let output = ssh.run(&command(&["sh", "-c", "echo out; echo err >&2; exit 3"])).await.unwrap();
    assert_eq!(
        (output.exit_code, text(&output.stdout), text(&output.stderr)),
        (3, "out\n".into(), "err\n".into())
    );

    let output = ssh.run(&command(&["ls", "/does/not/exist"])).await.unwrap();
    assert_eq!(output.exit_code, 2);
    assert!(text(&output.stderr).contains("No such file"), "{}", text(&output.stderr));

    // Killed by a signal: 128 + 9, from the exit-signal message.
    let output = ssh.run(&command(&["sh", "-c", "kill -9 $$"])).await.unwrap();
    assert_eq!(output.exit_code, 137);

    let value = "a b $(reboot) 'q' \"d\" ;\nx";
    let env_command = Command {
        argv: vec!["printenv".into(), "PATCHCTL_TEST".into()],
        env: vec![("PATCHCTL_TEST".into(), value.into()), ("LC_ALL".into(), "C".into())],
    };
    let output = ssh.run(&env_command).await.unwrap();
    assert_eq!(text(&output.stdout), format!("{value}\n"));

    for argv in [&["patchctl-no-such-program"][..], &["/no/such/path", "x"]] {
        let error = ssh.run(&command(argv)).await.unwrap_err();
        assert!(matches!(error, TransportError::ProgramNotFound { .. }), "{error}");
        assert!(error.to_string().contains(argv[0]), "{error}");
    }
    let mut missing_with_env = command(&["patchctl-no-such-program"]);
    missing_with_env.env.push(("LC_ALL".into(), "C".into()));
    let error = ssh.run(&missing_with_env).await.unwrap_err();
    assert!(matches!(error, TransportError::ProgramNotFound { .. }), "{error}");

    let error = ssh.run(&command(&[])).await.unwrap_err();
    assert!(matches!(error, TransportError::EmptyCommand), "{error}");
    let error = ssh.run(&command(&["echo", "a\0b"])).await.unwrap_err();
    assert!(matches!(error, TransportError::InvalidCommand { .. }), "{error}");
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_timeout_stops_the_remote_command_and_caps_hold() {
    let Some(host) = Host::start("limits") else { return };
    let mut config = host.config();
    config.limits = Limits { command_timeout: Duration::from_secs(1), max_output_bytes: 1000 };
    let ssh = Ssh::connect(config).await.unwrap();

    let start = Instant::now();
    let error = ssh.run(&command(&["sleep", "300"])).await.unwrap_err();
    assert!(matches!(error, TransportError::TimedOut { .. }), "{error}");
    assert!(error.to_string().contains("sleep"), "{error}");
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    // The remote command does not outlive its timeout: it is signalled, then the channel closed.
    let start = Instant::now();
    while !host.exec("pgrep -x sleep || true").trim().is_empty() {
        if start.elapsed() > Duration::from_secs(10) {
            panic!("the remote sleep is still running; sshd says:\n{}", host.sshd_log());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let error = ssh.run(&command(&["head", "-c", "100000", "/dev/zero"])).await.unwrap_err();
    assert!(matches!(error, TransportError::OutputTooLarge { limit: 1000, .. }), "{error}");
    let error = ssh.run(&command(&["sh", "-c", "head -c 100000 /dev/zero >&2"])).await.unwrap_err();
    assert!(matches!(error, TransportError::OutputTooLarge { limit: 1000, .. }), "{error}");
    let error = ssh.read_file("/dev/zero").await.unwrap_err();
    assert!(matches!(error, TransportError::OutputTooLarge { .. }), "{error}");
    assert!(error.to_string().contains("reading /dev/zero"), "{error}");
    let reads = ssh.read_files(&["/etc/hostname".to_owned(), "/dev/zero".to_owned()]).await;
    for read in reads {
        let error = read.unwrap_err();
        assert!(error.to_string().contains("exceeded 1000 bytes"), "{error}");
    }
    let output = ssh.run(&command(&["head", "-c", "1000", "/dev/zero"])).await.unwrap();
    assert_eq!(output.stdout.len(), 1000, "exactly the cap is allowed");

    // The connection outlives all of that.
    assert_eq!(ssh.run(&command(&["true"])).await.unwrap().exit_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_files_and_directories() {
    let Some(host) = Host::start("files") else { return };
    let ssh = host.connect().await;

    let boot_id = ssh.read_file("/proc/sys/kernel/random/boot_id").await.unwrap().unwrap();
    assert_eq!(boot_id.len(), 37, "a uuid and a newline");
    assert_eq!(ssh.read_file("/does/not/exist").await.unwrap(), None);
    host.exec(r"printf 'a\000b\377' > /tmp/\$\(x\)\ it\'s; ln -s /nowhere /tmp/dangling");
    let bytes = ssh.read_file("/tmp/$(x) it's").await.unwrap().unwrap();
    assert_eq!(bytes, b"a\0b\xff");
    assert_eq!(ssh.read_file("/tmp/dangling").await.unwrap(), None);
    let error = ssh.read_file("/tmp").await.unwrap_err();
    assert!(matches!(error, TransportError::Io { .. }), "{error}");

    // The same files read together, by one command: the same answers, in order.
    let paths: Vec<String> =
        ["/proc/sys/kernel/random/boot_id", "/does/not/exist", "/tmp/$(x) it's", "/tmp/dangling"]
            .map(String::from)
            .into();
    let mut together = ssh.read_files(&paths).await.into_iter();
    for path in &paths {
        let one = ssh.read_file(path).await.unwrap();
        assert_eq!(together.next().unwrap().unwrap(), one, "{path}");
    }
    let paths = ["/etc/hostname".to_owned(), "/tmp".to_owned(), "-n".to_owned()];
    let reads = ssh.read_files(&paths).await;
    assert_eq!(
        reads[0].as_ref().unwrap().as_deref(),
        ssh.read_file("/etc/hostname").await.unwrap().as_deref()
    );
    let error = reads[1].as_ref().unwrap_err();
    assert!(matches!(error, TransportError::Io { .. }), "{error}");
    assert!(
        error.to_string().contains("reading /tmp") && error.to_string().contains("Is a directory"),
        "{error}"
    );
    assert_eq!(*reads[2].as_ref().unwrap(), None, "a path that looks like an option is a path");

    let names = ssh.list_dir("/proc/self").await.unwrap().unwrap();
    assert!(names.contains(&"status".to_owned()));
    assert_eq!(ssh.list_dir("/does/not/exist").await.unwrap(), None);
    // Names with newlines and spaces, a hidden one, and a relative path that starts with '-'
    // (relative to root's home directory).
    host.exec(
        r"mkdir -p /root/-dir/sub /root/empty && cd /root/-dir && touch 'a b' 'new
line' .hidden",
    );
    let names = ssh.list_dir("-dir").await.unwrap().unwrap();
    assert_eq!(names, [".hidden", "a b", "new\nline", "sub"]);
    assert_eq!(ssh.list_dir("/root/empty").await.unwrap(), Some(vec![]));
    let error = ssh.list_dir("/etc/passwd").await.unwrap_err();
    assert!(matches!(error, TransportError::Io { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_twenty_commands_at_once_on_one_connection() {
    let Some(host) = Host::start("concurrent") else { return };
    let ssh = Arc::new(host.connect().await);
    let start = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for i in 0..20 {
        let ssh = Arc::clone(&ssh);
        runs.spawn(async move {
            let script = format!("sleep 0.5; echo {i}");
            (i, ssh.run(&command(&["sh", "-c", &script])).await.map(|output| output.stdout))
        });
    }
    for i in 20..30 {
        let ssh = Arc::clone(&ssh);
        runs.spawn(async move { (i, ssh.read_file("/etc/hostname").await.map(Option::unwrap)) });
    }
    let mut finished = 0;
    while let Some(joined) = within(Duration::from_secs(30), "20 runs", runs.join_next()).await {
        let (i, result) = joined.unwrap();
        let stdout = result
            .unwrap_or_else(|error| panic!("run {i}: {error:?}; sshd says:\n{}", host.sshd_log()));
        if i < 20 {
            assert_eq!(text(&stdout), format!("{i}\n"));
        } else {
            assert!(!stdout.is_empty());
        }
        finished += 1;
    }
    assert_eq!(finished, 30);
    // 20 half-second sleeps, 10 at a time (sshd's MaxSessions): about 1 s, not 10.
    let elapsed = start.elapsed();
    println!("20 concurrent 0.5 s commands and 10 reads on one connection: {elapsed:.2?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_host_keys_are_pinned() {
    let Some(host) = Host::start("hostkeys") else { return };
    let host_key_file = host.dir.join("host_key.pub");
    std::fs::write(&host_key_file, &host.host_key).unwrap();
    let host_fingerprint = fingerprint_of(&host_key_file);

    // The pinned key: accepted, and reported as OpenSSH writes it.
    let ssh = host.connect().await;
    assert_eq!(ssh.host_key().to_openssh(), HostKey::parse(&host.host_key).unwrap().to_openssh());
    assert!(host.host_key.starts_with(&ssh.host_key().to_openssh()));
    assert_eq!(ssh.host_key().fingerprint(), host_fingerprint);
    drop(ssh);

    // Another key pinned: refused before authenticating, with both fingerprints.
    let other = host.new_key("other");
    let other_public = other.with_extension("pub");
    let mut config = host.config();
    config.host_key_policy = HostKeyPolicy::Pinned(vec![
        HostKey::parse(&std::fs::read_to_string(&other_public).unwrap()).unwrap(),
    ]);
    match Ssh::connect(config).await {
        Err(TransportError::HostKeyChanged {
            host: name,
            expected_fingerprint,
            actual_fingerprint,
        }) => {
            assert_eq!(name, format!("test-{}", host.subnet));
            assert_eq!(expected_fingerprint, fingerprint_of(&other_public));
            assert_eq!(actual_fingerprint, host_fingerprint);
        }
        other => panic!("expected HostKeyChanged, got {other:?}"),
    }

    // Nothing pinned: unknown, with the key to pin.
    let mut config = host.config();
    config.host_key_policy = HostKeyPolicy::Pinned(vec![]);
    match Ssh::connect(config).await {
        Err(TransportError::HostKeyUnknown { fingerprint, key, .. }) => {
            assert_eq!(fingerprint, host_fingerprint);
            assert!(host.host_key.starts_with(&key), "{key}");
        }
        other => panic!("expected HostKeyUnknown, got {other:?}"),
    }

    // Accept new: connects and reports the key.
    let mut config = host.config();
    config.host_key_policy = HostKeyPolicy::AcceptNew;
    let ssh = Ssh::connect(config).await.unwrap();
    assert_eq!(ssh.host_key().fingerprint(), host_fingerprint);
    drop(ssh);

    // The host's RSA key pinned: the host is asked for that algorithm and presents it.
    let rsa = host.exec("cat /etc/ssh/ssh_host_rsa_key.pub");
    let mut config = host.config();
    config.host_key_policy = HostKeyPolicy::Pinned(vec![HostKey::parse(&rsa).unwrap()]);
    let ssh = Ssh::connect(config).await.unwrap();
    assert!(ssh.host_key().to_openssh().starts_with("ssh-rsa "));
    assert_eq!(ssh.run(&command(&["true"])).await.unwrap().exit_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_authentication() {
    let Some(host) = Host::start("auth") else { return };
    let wrong = host.new_key("wrong");

    let mut config = host.config();
    config.auth = Auth { key_file: Some(wrong.clone()), ..Auth::default() };
    match Ssh::connect(config).await {
        Err(TransportError::AuthFailed { user, tried, .. }) => {
            assert_eq!(user, "root");
            assert_eq!(tried.len(), 1, "{tried:?}");
            assert!(tried[0].contains(&wrong.display().to_string()), "{tried:?}");
            assert!(tried[0].contains(&fingerprint_of(&wrong.with_extension("pub"))), "{tried:?}");
        }
        other => panic!("expected AuthFailed, got {other:?}"),
    }

    let mut config = host.config();
    config.auth = Auth { key_file: Some(host.dir.join("missing")), ..Auth::default() };
    let error = Ssh::connect(config).await.unwrap_err();
    assert!(matches!(error, TransportError::AuthFailed { .. }), "{error}");
    assert!(error.to_string().contains("could not be used"), "{error}");

    // The key file first, then the agent: the wrong key fails, the agent's key works.
    let agent = Agent::start(&host.dir.join("agent.sock"));
    let mut config = host.config();
    config.auth = Auth {
        key_file: Some(wrong.clone()),
        agent: true,
        agent_socket: Some(agent.socket.clone()),
    };
    let error = Ssh::connect(config.clone()).await.unwrap_err();
    let TransportError::AuthFailed { tried, .. } = &error else { panic!("{error}") };
    assert_eq!(tried.len(), 2, "{error}");
    assert!(tried[1].contains("holds no keys"), "{error}");
    agent.add(&host.key);
    let ssh = Ssh::connect(config).await.unwrap();
    assert_eq!(ssh.run(&command(&["true"])).await.unwrap().exit_code, 0);
}

/// An ssh-agent of the test's own, on its own socket.
struct Agent {
    process: std::process::Child,
    socket: PathBuf,
}

impl Agent {
    fn start(socket: &Path) -> Agent {
        let process = Process::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !socket.exists() {
            assert!(start.elapsed() < Duration::from_secs(10), "ssh-agent did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent { process, socket: socket.to_owned() }
    }

    fn add(&self, key: &Path) {
        let output =
            Process::new("ssh-add").arg(key).env("SSH_AUTH_SOCK", &self.socket).output().unwrap();
        assert!(output.status.success(), "ssh-add: {}", text(&output.stderr));
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_connect_errors_are_distinct() {
    let Some(host) = Host::start("connect") else { return };

    let mut config = host.config();
    config.port = 2222;
    let error = Ssh::connect(config).await.unwrap_err();
    assert!(matches!(error, TransportError::ConnectionRefused { .. }), "{error}");
    assert!(error.to_string().contains(&format!("test-{}", host.subnet)), "{error}");

    // No host at that address: the kernel gives up on ARP after about 3 s, so a shorter
    // connect timeout fires first...
    let mut config = host.config();
    config.address = host.nobody();
    config.connect_timeout = Duration::from_secs(1);
    let start = Instant::now();
    let error = Ssh::connect(config.clone()).await.unwrap_err();
    assert!(matches!(error, TransportError::ConnectTimedOut { .. }), "{error}");
    assert!(start.elapsed() < Duration::from_millis(1500), "{:?}", start.elapsed());

    // ...and a longer one sees "no route to host".
    config.connect_timeout = Duration::from_secs(10);
    let start = Instant::now();
    let error = Ssh::connect(config).await.unwrap_err();
    assert!(matches!(error, TransportError::Unreachable { .. }), "{error}");
    assert!(start.elapsed() < Duration::from_secs(8), "{:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_host_killed_mid_command_is_an_error_not_a_hang() {
    let Some(host) = Host::start("killed") else { return };
    let mut config = host.config();
    config.keepalive_interval = Duration::from_secs(1);
    let ssh = Arc::new(Ssh::connect(config).await.unwrap());
    let running = {
        let ssh = Arc::clone(&ssh);
        tokio::spawn(async move { ssh.run(&command(&["sleep", "120"])).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    docker_ok(&["kill", host.container()]);
    let start = Instant::now();
    let result = within(Duration::from_secs(30), "the run on a killed host", running).await;
    let error = result.unwrap().unwrap_err();
    println!("host killed: {error} after {:.1?}", start.elapsed());
    assert!(matches!(error, TransportError::ConnectionLost { .. }), "{error}");
    assert!(ssh.is_closed());
    let error = within(Duration::from_secs(5), "a run after", ssh.run(&command(&["true"]))).await;
    assert!(matches!(error, Err(TransportError::ConnectionLost { .. })), "{error:?}");
}

/// A host that stops answering without closing anything (frozen, cable pulled): the kernel
/// still acknowledges packets, only SSH keepalives notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_host_that_stops_answering_is_lost_after_keepalives() {
    let Some(host) = Host::start("frozen") else { return };
    let mut config = host.config();
    config.keepalive_interval = Duration::from_secs(1);
    let ssh = Arc::new(Ssh::connect(config).await.unwrap());
    let running = {
        let ssh = Arc::clone(&ssh);
        tokio::spawn(async move { ssh.run(&command(&["sleep", "120"])).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    docker_ok(&["pause", host.container()]);
    let start = Instant::now();
    let result = within(Duration::from_secs(30), "the run on a frozen host", running).await;
    let elapsed = start.elapsed();
    docker_ok(&["unpause", host.container()]);
    let error = result.unwrap().unwrap_err();
    println!("host frozen: {error} after {elapsed:.1?}");
    assert!(matches!(error, TransportError::ConnectionLost { .. }), "{error}");
    // Three unanswered keepalives a second apart, give or take one.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_sudo() {
    let Some(host) = Host::start("sudo") else { return };
    host.exec(
        "for user in patch asker; do
           useradd -m -s /bin/bash $user &&
           install -d -o $user -m 700 /home/$user/.ssh &&
           install -o $user -m 600 /root/.ssh/authorized_keys /home/$user/.ssh/authorized_keys
         done",
    );
    let as_user = |user: &str, sudo: bool| {
        let mut config = host.config();
        config.user = user.into();
        config.sudo = sudo;
        config
    };

    // Without sudo, a user's own rights.
    let ssh = Ssh::connect(as_user("patch", false)).await.unwrap();
    assert_eq!(text(&ssh.run(&command(&["id", "-un"])).await.unwrap().stdout), "patch\n");
    let error = ssh.read_file("/etc/shadow").await.unwrap_err();
    let TransportError::Io { source, .. } = &error else { panic!("{error}") };
    assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied, "{error}");

    // Real sudo when the image has it, or when PATCHCTL_SUDO_DEB names Debian's sudo package
    // (`apt-get download sudo`) to install into the container.
    let has_sudo = host.exec("command -v sudo || true").contains("sudo");
    let deb = std::env::var("PATCHCTL_SUDO_DEB").ok();
    if !has_sudo && deb.is_none() {
        // The base image has no sudo: what can be checked for real is that its absence is
        // reported as such. A stand-in then says what `sudo -n` says when it needs a password.
        let ssh = Ssh::connect(as_user("patch", true)).await.unwrap();
        let error = ssh.run(&command(&["id", "-u"])).await.unwrap_err();
        assert!(
            matches!(&error, TransportError::ProgramNotFound { program } if program.ends_with("sudo")),
            "{error}"
        );
        host.exec("printf '#!/bin/sh\\necho \"sudo: a password is required\" >&2\\nexit 1\\n' > /usr/local/bin/sudo && chmod 755 /usr/local/bin/sudo");
        let error = ssh.run(&command(&["id", "-u"])).await.unwrap_err();
        assert!(matches!(error, TransportError::SudoNeedsPassword { .. }), "{error}");
        println!("sudo itself not tested: the image has none and PATCHCTL_SUDO_DEB is not set");
        return;
    }
    if !has_sudo {
        let deb = deb.unwrap();
        docker_ok(&["cp", &deb, &format!("{}:/tmp/sudo.deb", host.container())]);
        host.exec("dpkg -i /tmp/sudo.deb >/dev/null");
    }
    host.exec(
        "echo 'patch ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/patch &&
         echo 'asker ALL=(ALL) ALL' > /etc/sudoers.d/asker && chmod 440 /etc/sudoers.d/*",
    );
    let ssh = Ssh::connect(as_user("patch", true)).await.unwrap();
    assert_eq!(text(&ssh.run(&command(&["id", "-u"])).await.unwrap().stdout), "0\n");
    assert!(ssh.read_file("/etc/shadow").await.unwrap().unwrap().starts_with(b"root:"));
    let env_command = Command {
        argv: vec!["printenv".into(), "PATCHCTL_TEST".into()],
        env: vec![("PATCHCTL_TEST".into(), "$(x) 'y'".into())],
    };
    assert_eq!(text(&ssh.run(&env_command).await.unwrap().stdout), "$(x) 'y'\n");
    let error = ssh.run(&command(&["patchctl-no-such-program"])).await.unwrap_err();
    assert!(matches!(error, TransportError::ProgramNotFound { .. }), "{error}");

    // A command given up on is stopped through sudo too: its supervisor runs as root.
    let mut config = as_user("patch", true);
    config.limits.command_timeout = Duration::from_secs(1);
    let ssh = Ssh::connect(config).await.unwrap();
    let error = ssh.run(&command(&["sleep", "300"])).await.unwrap_err();
    assert!(matches!(error, TransportError::TimedOut { .. }), "{error}");
    let start = Instant::now();
    while !host.exec("pgrep -x sleep || true").trim().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "the sleep under sudo is still running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let ssh = Ssh::connect(as_user("asker", true)).await.unwrap();
    let error = ssh.run(&command(&["id", "-u"])).await.unwrap_err();
    assert!(matches!(error, TransportError::SudoNeedsPassword { .. }), "{error}");
}
