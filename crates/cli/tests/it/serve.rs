//! `patchctl serve` from the command line: the first admin, a configuration error at its line,
//! and the server as a process that answers and stops on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn setup(server_toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // An address that refuses connections at once: what reaches the host fails fast.
    let inventory =
        "[hosts.deb1]\naddress = \"127.0.0.1\"\nport = 1\nenvironment = \"production\"\n";
    std::fs::write(dir.path().join("patchctl.toml"), inventory).unwrap();
    std::fs::write(dir.path().join("server.toml"), server_toml).unwrap();
    dir
}

fn patchctl(dir: &tempfile::TempDir) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("patchctl"));
    command.current_dir(dir.path()).env("PATCHCTL_SERVER_CONFIG", "server.toml");
    command
}

#[test]
fn init_admin_prints_a_password_once_and_refuses_a_second_admin_of_that_name() {
    let dir = setup("");
    let first = Command::from_std(patchctl(&dir)).args(["serve", "--init-admin", "root"]).output();
    let first = first.unwrap();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{stdout}{}", String::from_utf8_lossy(&first.stderr));
    let password = stdout.lines().last().unwrap();
    assert_eq!(password.len(), 32, "{stdout}");
    let again = Command::from_std(patchctl(&dir)).args(["serve", "--init-admin", "root"]).output();
    let again = again.unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("a user has this name already"));
}

#[test]
fn a_bad_server_config_is_named_at_its_line() {
    let dir = setup("listen = \"127.0.0.1:8443\"\n[login]\nmax_failures = \"many\"\n");
    let output = Command::from_std(patchctl(&dir)).arg("serve").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.toml:3:16: "), "{stderr}");
}

/// One HTTP/1.1 request on a new connection; the whole response.
fn request(port: u16, head: &str, body: &str) -> std::io::Result<String> {
    request_with(port, head, body, None)
}

/// [`request`], with a bearer token when one is given.
fn request_with(port: u16, head: &str, body: &str, token: Option<&str>) -> std::io::Result<String> {
    let mut socket = TcpStream::connect(("127.0.0.1", port))?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        socket,
        "{head} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    socket.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn the_server_answers_a_login_and_stops_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = setup(&format!("listen = \"127.0.0.1:{port}\"\n[scheduler]\nenabled = false\n"));
    let init = patchctl(&dir).args(["serve", "--init-admin", "root"]).output().unwrap();
    let password = String::from_utf8_lossy(&init.stdout).lines().last().unwrap().to_owned();
    let mut child = patchctl(&dir).arg("serve").stdout(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while request(port, "GET /healthz", "").is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the server never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let body = format!("{{\"user\": \"root\", \"password\": \"{password}\"}}");
    let login = request(port, "POST /api/login", &body).unwrap();
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    assert!(login.contains("\"role\":\"admin\""), "{login}");
    let unauthenticated = request(port, "GET /api/plans", "").unwrap();
    assert!(unauthenticated.starts_with("HTTP/1.1 401"), "{unauthenticated}");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// A plan of deb1 saved in the state of `dir`, as `plan create` would have saved it.
fn saved_plan(dir: &tempfile::TempDir) -> String {
    use model::plan::{HostPlan, Plan, PlanOptions, PlannedReboot, Wave};
    let mut plan = Plan {
        id: String::new(),
        created_at_unix: 1,
        selectors: vec!["all".into()],
        options: PlanOptions::default(),
        hosts: vec![HostPlan {
            host: "deb1".into(),
            environment: "production".into(),
            owner: None,
            package_manager: model::PackageManagerKind::Apt,
            assessed_at_unix: 1,
            running_kernel: "6.1.0-1-amd64".into(),
            changes: vec![],
            reboot: PlannedReboot::No,
            services_needing_restart: vec![],
            restarts: Default::default(),
            risks: vec![],
        }],
        waves: vec![Wave {
            name: "production-1".into(),
            environment: "production".into(),
            canary: false,
            hosts: vec!["deb1".into()],
        }],
        excluded: vec![],
        withheld: vec![],
        emergency: None,
    };
    plan.id = plan.content_hash();
    let body = serde_json::to_string(&ops::protocol::plan::PlanV1::from(&plan)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = store::Store::open(&dir.path().join("patchctl.db")).await.unwrap();
        store.save_plan(&plan.id, 1, &body).await.unwrap();
        store.close().await;
    });
    plan.id
}

/// `patchctl login` stores the token (0600) that `--server` then sends: commands act as the
/// login, `--as` is refused, the requester's own approval is refused by the server and another
/// approver's is recorded under their name.
#[test]
fn server_commands_act_as_the_login_and_never_as_someone_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = setup(&format!("listen = \"127.0.0.1:{port}\"\n[scheduler]\nenabled = false\n"));
    let policy = "[[environments]]\nname = \"production\"\nschedule = \"0 22 * * *\"\n\
                  timezone = \"UTC\"\nwindow = \"2h\"\napproval = { approvers = 1, role = \"cab\" }\n\
                  [roles]\ncab = [\"alice\", \"bob\"]\n";
    std::fs::write(dir.path().join("policy.toml"), policy).unwrap();
    let init = patchctl(&dir).args(["serve", "--init-admin", "root"]).output().unwrap();
    let root = String::from_utf8_lossy(&init.stdout).lines().last().unwrap().to_owned();
    let plan = saved_plan(&dir);
    let mut child = patchctl(&dir).arg("serve").stdout(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while request(port, "GET /healthz", "").is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the server never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("http://127.0.0.1:{port}");
    let config_home = dir.path().join("home-config");
    // Each user has their own credentials file, as each person has their own home.
    let as_user = |user: &str| {
        let mut command = patchctl(&dir);
        command.env("XDG_CONFIG_HOME", config_home.join(user)).env("PATCHCTL_SERVER", &url);
        command
    };
    let login = |user: &str, password: &str| {
        let mut login = as_user(user);
        login.args(["login", &url, "--user", user, "--password-stdin"]);
        let output = Command::from_std(login).write_stdin(format!("{password}\n")).output();
        let output = output.unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };
    login("root", &root);
    let credentials = config_home.join("root/patchctl/credentials.toml");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&credentials).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&credentials).unwrap();
    let token = text.split("token = \"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    // Users, by the admin's token.
    let mut passwords = std::collections::BTreeMap::new();
    for user in ["alice", "bob"] {
        let body = format!("{{\"name\": \"{user}\", \"role\": \"approver\"}}");
        let created = request_with(port, "POST /api/users", &body, Some(&token)).unwrap();
        assert!(created.starts_with("HTTP/1.1 201"), "{created}");
        let password = created.split("\"one_time_password\":\"").nth(1).unwrap();
        passwords.insert(user, password.split('"').next().unwrap().to_owned());
        login(user, &passwords[user]);
    }

    let run = |user: &str, args: &[&str]| {
        let output = as_user(user).args(args).output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), said)
    };
    let (ok, said) = run("alice", &["hosts", "list"]);
    assert!(ok && said.contains("deb1") && said.contains("production"), "{said}");
    let (ok, said) = run("alice", &["change", "request", &plan, "--as", "bob"]);
    assert!(!ok && said.contains("--as is refused with --server"), "{said}");
    let (ok, said) = run("alice", &["change", "request", &plan, "--ticket", "CHG-7"]);
    assert!(ok && said.contains("requested by alice, ticket CHG-7"), "{said}");
    let (ok, said) = run("alice", &["change", "approve", &plan]);
    assert!(!ok && said.contains("403 (refused)"), "{said}");
    let (ok, said) = run("bob", &["change", "approve", &plan, "--comment", "fine"]);
    assert!(ok && said.contains("approved by bob"), "{said}");
    let (ok, said) = run("bob", &["plan", "list"]);
    assert!(ok && said.contains("approved"), "{said}");
    let (ok, said) = run("bob", &["change", "list"]);
    assert!(ok && said.contains(&plan[7..19]) && said.contains("approved"), "{said}");
    // The server starts what it is asked to; a plan it does not know is its refusal, said.
    let (ok, said) = run("bob", &["rollout", "start", "sha256:ffffffffffff"]);
    assert!(!ok && said.contains("404 (not-found)"), "{said}");
    let (ok, said) = run("bob", &["rollout", "start", &plan, "--dry-run"]);
    assert!(!ok && said.contains("--dry-run runs without --server"), "{said}");
    // deb1 was never assessed: the plan made there has no host, and says why.
    let (ok, said) = run("alice", &["plan", "create", "all", "--format", "json"]);
    assert!(ok && said.contains("\"excluded\"") && said.contains("nothing to do"), "{said}");
    let (ok, said) = run("alice", &["assess", "deb1", "--format", "json"]);
    assert!(!ok && said.contains("\"host\": \"deb1\"") && said.contains("(refused)"), "{said}");
    let (ok, said) = run("alice", &["postmortem", "open", "a slow mirror", "--as", "bob"]);
    assert!(!ok && said.contains("--as is refused with --server"), "{said}");
    let (ok, said) = run("alice", &["postmortem", "open", "a slow mirror", "--host", "deb1"]);
    assert!(ok && said.contains("opened, due at"), "{said}");
    let id = said.split("postmortem ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let (ok, said) = run("bob", &["postmortem", "close", &id, "--root-cause", "no cache"]);
    assert!(ok && said.contains(&format!("postmortem {id} closed by bob")), "{said}");
    let (ok, said) = run("bob", &["postmortem", "show", &id, "--format", "json"]);
    assert!(ok && said.contains("\"opened_by\": \"alice\""), "{said}");
    // The schedule from the server is the schedule here, printed the same (but its first
    // line, the time it was made at).
    let (ok, remote) = run("bob", &["schedule"]);
    assert!(ok && remote.contains("production (\"0 22 * * *\" in UTC"), "{remote}");
    let here = patchctl(&dir).arg("schedule").output().unwrap();
    let here = String::from_utf8_lossy(&here.stdout).into_owned();
    let after_first = |text: &str| text.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(after_first(&remote), after_first(&here));

    // alice's own password, then her logout: the token revoked there and forgotten here.
    let mut password = as_user("alice");
    password.args(["password", &url, "--password-stdin"]);
    let new = "a new and longer passphrase";
    let mut changed = Command::from_std(password);
    changed.write_stdin(format!("{}\n{new}\n", passwords["alice"]));
    let changed = changed.output().unwrap();
    assert!(changed.status.success(), "{}", String::from_utf8_lossy(&changed.stderr));
    let alice = config_home.join("alice/patchctl/credentials.toml");
    let stored = std::fs::read_to_string(&alice).unwrap();
    let token = stored.split("token = \"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let (ok, said) = run("alice", &["logout", &url]);
    assert!(ok && said.contains("logged out of"), "{said}");
    assert!(!std::fs::read_to_string(&alice).unwrap().contains(&token));
    let refused = request_with(port, "GET /api/hosts", "", Some(&token)).unwrap();
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let (ok, said) = run("alice", &["plan", "list"]);
    assert!(!ok && said.contains("not logged in to"), "{said}");
    login("alice", new);

    // No credentials for this server: a clear refusal, nothing sent.
    let (ok, said) = run("nobody", &["plan", "list"]);
    assert!(!ok && said.contains("not logged in to"), "{said}");

    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}
