//! The local transport against real processes and files.

mod ssh;

use std::time::{Duration, Instant};

use transport::{Command, Limits, Local, Transport, TransportError};

fn command(argv: &[&str]) -> Command {
    Command {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: vec![("LC_ALL".into(), "C".into())],
    }
}

#[tokio::test]
async fn runs_an_argv_without_a_shell() {
    let local = Local::default();
    let output = local.run(&command(&["echo", "$(id)", ";", "rm", "-rf", "/"])).await.unwrap();
    assert_eq!(output.exit_code, 0);
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "$(id) ; rm -rf /\n");
}

#[tokio::test]
async fn exit_codes_and_stderr_are_results() {
    let output = Local::default().run(&command(&["ls", "/does/not/exist"])).await.unwrap();
    assert_eq!(output.exit_code, 2);
    assert!(!output.stderr.is_empty());
}

#[tokio::test]
async fn environment_is_passed() {
    let output = Local::default().run(&command(&["printenv", "LC_ALL"])).await.unwrap();
    assert_eq!(output.stdout, b"C\n");
}

#[tokio::test]
async fn missing_program() {
    let error = Local::default().run(&command(&["patchctl-no-such-program"])).await.unwrap_err();
    assert!(matches!(error, TransportError::ProgramNotFound { .. }), "{error}");
}

#[tokio::test]
async fn timeout_kills_the_command() {
    let local =
        Local::new(Limits { command_timeout: Duration::from_millis(200), ..Limits::default() });
    let start = Instant::now();
    let error = local.run(&command(&["sleep", "10"])).await.unwrap_err();
    assert!(matches!(error, TransportError::TimedOut { .. }), "{error}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn output_cap() {
    let local = Local::new(Limits { max_output_bytes: 1000, ..Limits::default() });
    let error = local.run(&command(&["head", "-c", "100000", "/dev/zero"])).await.unwrap_err();
    assert!(matches!(error, TransportError::OutputTooLarge { limit: 1000, .. }), "{error}");
    let error = local.read_file("/dev/zero").await.unwrap_err();
    assert!(matches!(error, TransportError::OutputTooLarge { .. }), "{error}");
}

#[tokio::test]
async fn files_and_directories() {
    let local = Local::default();
    let boot_id = local.read_file("/proc/sys/kernel/random/boot_id").await.unwrap().unwrap();
    assert_eq!(boot_id.len(), 37, "a uuid and a newline");
    assert_eq!(local.read_file("/does/not/exist").await.unwrap(), None);
    let names = local.list_dir("/proc/self").await.unwrap().unwrap();
    assert!(names.contains(&"status".to_owned()));
    assert_eq!(local.list_dir("/does/not/exist").await.unwrap(), None);
}
