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

#[test]
fn several_files_read_by_one_command() {
    use transport::{FileRead, parse_read_files};
    for host in ["deb1", "rpm1"] {
        let read = |suffix: &str| {
            let dir = env!("CARGO_MANIFEST_DIR");
            std::fs::read(format!("{dir}/test_data/read-files-{host}.{suffix}")).unwrap()
        };
        let (stdout, stderr) = (read("stdout"), read("stderr"));
        let reads = parse_read_files(&stdout, &stderr, 5).unwrap();
        let FileRead::Content(os_release) = &reads[0] else { panic!("{:?}", reads[0]) };
        assert!(String::from_utf8_lossy(os_release).contains("\nID="), "{host}");
        assert_eq!(reads[1], FileRead::Missing);
        assert_eq!(reads[2], FileRead::Content(b"a\0b\xff\nline two\n".to_vec()));
        assert_eq!(
            reads[3],
            FileRead::Failed("base64: read error: Is a directory (base64 exited 1)".into())
        );
        assert_eq!(reads[4], FileRead::Content(b"6.18.44-fc-v1045\n".to_vec()));
        // An answer that is not one line per file, or not what the script prints, is refused
        // whole: cut short, one line too many or too few.
        assert!(parse_read_files(&stdout, &stderr, 6).is_err());
        assert!(parse_read_files(&stdout, &stderr, 4).is_err());
        let cut = &stdout[..stdout.len() / 2];
        assert!(parse_read_files(cut, &stderr, 5).is_err());
    }
    // Lines that are not the script's: not base64, no exit code, an unknown word, extra fields.
    for line in ["file !!! 0", "file YQ==", "file YQ== x", "yes", "file YQ== 0 0", "file YQ== -1"] {
        assert!(parse_read_files(format!("{line}\n").as_bytes(), b"", 1).is_err(), "{line}");
    }
    assert_eq!(parse_read_files(b"file  0\n", b"", 1), Ok(vec![FileRead::Content(Vec::new())]));
    assert_eq!(parse_read_files(b"", b"", 0), Ok(Vec::new()));
    assert!(parse_read_files(b"", b"", 1).is_err());
}
