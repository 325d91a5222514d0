//! `patchctl serve` from the command line: the first admin, a configuration error at its line,
//! and the server as a process that answers and stops on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn setup(server_toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let inventory = "[hosts.deb1]\naddress = \"10.0.0.1\"\nenvironment = \"production\"\n";
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
    let mut socket = TcpStream::connect(("127.0.0.1", port))?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        socket,
        "{head} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
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
