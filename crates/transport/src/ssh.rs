//! The SSH transport: one connection per host (russh), with the host key checked against the
//! pinned one before anything is sent, and one session channel per command, so that several
//! commands run at once on one connection.

mod auth;
mod channel;
mod command_line;
mod host_key;
mod quick_ack;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use tokio::sync::Semaphore;

pub use auth::{Auth, check_key_file};
pub use command_line::{NulByte, shell_quote};
pub use host_key::{HostKey, HostKeyPolicy};

use self::host_key::Client;
use crate::{Command, Limits, Output, Transport, TransportError};

/// Where and how to reach one host.
#[derive(Debug, Clone)]
pub struct SshConfig {
    /// The host's name in the inventory, used in every message.
    pub host_name: String,
    /// An IP address or a DNS name.
    pub address: String,
    pub port: u16,
    pub user: String,
    pub auth: Auth,
    pub host_key_policy: HostKeyPolicy,
    /// Run every command through `sudo -n` (never asking for a password). Ignored when `user`
    /// is root.
    pub sudo: bool,
    /// The most the whole of connecting may take: TCP, key exchange and authentication.
    pub connect_timeout: Duration,
    /// Send a fresh TCP handshake this soon while none has been answered, then a tenth later
    /// each time, up to once a second ([`next_syn_after`]), each given up after
    /// [`SYN_ATTEMPTS`] of the intervals. For a host coming back from a reboot: a SYN sent while
    /// it was down waits for the kernel's retransmission (a second or more) after the host is
    /// back, a new one is answered at once; and a host that stays silent for long is not sent
    /// fifty a second. `None`: one handshake.
    pub syn_every: Option<Duration>,
    /// After this long without hearing from the host, ask it whether it is alive; after three
    /// unanswered asks the connection counts as lost, and so do the commands running on it.
    /// Without this, a host that vanished (powered off, cable pulled) would leave them waiting
    /// until their own timeout.
    pub keepalive_interval: Duration,
    /// The most commands run at once on the connection; more wait for a free slot. sshd refuses
    /// sessions beyond its `MaxSessions`, 10 by default.
    pub max_channels: usize,
    pub limits: Limits,
}

impl SshConfig {
    /// Port 22, no sudo, a 10 s connect timeout, a keepalive every 15 s, 10 channels at a time,
    /// the default limits.
    pub fn new(
        host_name: impl Into<String>,
        address: impl Into<String>,
        user: impl Into<String>,
        auth: Auth,
        host_key_policy: HostKeyPolicy,
    ) -> SshConfig {
        SshConfig {
            host_name: host_name.into(),
            address: address.into(),
            port: 22,
            user: user.into(),
            auth,
            host_key_policy,
            sudo: false,
            connect_timeout: Duration::from_secs(10),
            syn_every: None,
            keepalive_interval: Duration::from_secs(15),
            max_channels: 10,
            limits: Limits::default(),
        }
    }
}

/// An authenticated connection to one host.
pub struct Ssh {
    handle: Handle<Client>,
    host: String,
    host_key: HostKey,
    sudo: bool,
    limits: Limits,
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Ssh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ssh").field("host", &self.host).field("host_key", &self.host_key).finish()
    }
}

impl Ssh {
    /// Connects, checks the host key, authenticates.
    pub async fn connect(config: SshConfig) -> Result<Ssh, TransportError> {
        let after = config.connect_timeout;
        match tokio::time::timeout(after, connect(&config)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::ConnectTimedOut {
                host: config.host_name.clone(),
                address: format!("{}:{}", config.address, config.port),
                after,
            }),
        }
    }

    /// The key the host presented: the pinned one, or under `AcceptNew` the one to pin now.
    pub fn host_key(&self) -> &HostKey {
        &self.host_key
    }

    pub fn host_name(&self) -> &str {
        &self.host
    }

    /// Whether the connection is gone (closed by the host, or keepalives unanswered).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Says goodbye to the host. Dropping an `Ssh` closes the connection too, less politely.
    pub async fn close(self) {
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    }

    /// Runs `command` and turns what only the remote side can report (a missing program, sudo
    /// wanting a password) into the same errors the local transport gives.
    async fn run_checked(&self, command: &Command) -> Result<Output, TransportError> {
        let program = command.argv.first().ok_or(TransportError::EmptyCommand)?;
        let line = command_line::command_line(command, self.sudo).map_err(|reason| {
            TransportError::InvalidCommand { what: format!("{}: {program}", self.host), reason }
        })?;
        let slot = Arc::clone(&self.slots).acquire_owned().await.expect("never closed");
        let output =
            channel::exec(&self.handle, slot, &line, self.limits, &self.host, program).await?;
        self.remote_failure(program, &output).map_or(Ok(output), Err)
    }

    fn remote_failure(&self, program: &str, output: &Output) -> Option<TransportError> {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim_end();
        if stderr.contains('\n') {
            return None;
        }
        let not_found = |program: &str| TransportError::ProgramNotFound {
            program: format!("{}: {program}", self.host),
        };
        // A shell or `env` that cannot find the program: 127 and one line naming it, such as
        // "patchctl: 1: apt: not found" (dash), "patchctl: line 2: apt: command not found"
        // (bash), "env: 'apt': No such file or directory"; or the login shell not finding sudo.
        if output.exit_code == 127 {
            if is_not_found_message(stderr, program) {
                return Some(not_found(program));
            }
            if self.sudo && is_not_found_message(stderr, "sudo") {
                return Some(not_found("sudo"));
            }
        }
        // sudo -n refusing to ask for a password: exit 1 and one line of its own.
        if self.sudo
            && output.exit_code == 1
            && stderr.starts_with("sudo: ")
            && (stderr.contains("password is required") || stderr.contains("terminal is required"))
        {
            return Some(TransportError::SudoNeedsPassword { host: self.host.clone() });
        }
        None
    }
}

fn is_not_found_message(stderr: &str, name: &str) -> bool {
    [
        format!("{name}: not found"),
        format!("{name}: command not found"),
        format!("{name}: No such file or directory"),
        format!("'{name}': No such file or directory"),
        format!("\u{2018}{name}\u{2019}: No such file or directory"),
    ]
    .iter()
    .any(|message| {
        // The whole name: after a space ("sh: 1: apt: not found" is not about "t").
        stderr.strip_suffix(message.as_str()).is_some_and(|before| before.ends_with(' '))
    })
}

/// The exit code of the scripts below for "no such file or directory".
const MISSING: i32 = 66;

/// `cat` the file, or exit 66 when it does not exist. A dangling symlink counts as missing, as
/// it does for the local transport.
const READ_FILE: &str = r#"[ -e "$1" ] || exit 66; exec cat -- "$1""#;

/// The names in the directory, each ended by a NUL byte (names may hold newlines); 66 when it
/// does not exist. find needs `./` before a relative path that starts with `-`.
const LIST_DIR: &str = r#"[ -e "$1" ] || exit 66
[ -d "$1" ] || { echo "$1: Not a directory" >&2; exit 1; }
case $1 in -*) set -- "./$1" ;; esac
exec find -H "$1" -mindepth 1 -maxdepth 1 -printf '%f\0'"#;

/// For each path, in order, one line: `missing`, or `file BASE64 CODE`: the content, streamed
/// (so that the output cap stops an endless file at once), and base64's exit code, whose
/// messages go to standard error. Reads what `READ_FILE` reads, for several files in one command.
const READ_FILES: &str = r#"for p do
if [ ! -e "$p" ]; then echo missing; continue; fi
printf 'file '; base64 -w 0 -- "$p"; printf ' %s\n' "$?"
done"#;

/// One file of [`READ_FILES`]'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRead {
    Missing,
    Content(Vec<u8>),
    /// base64's exit code and what the command said on standard error.
    Failed(String),
}

/// Parses [`READ_FILES`]'s output for `count` paths; `Err` when it is not that (a host that
/// lies, an output cut short).
pub fn parse_read_files(
    stdout: &[u8],
    stderr: &[u8],
    count: usize,
) -> Result<Vec<FileRead>, String> {
    use base64::Engine as _;
    let text = stdout.strip_suffix(b"\n").unwrap_or(stdout);
    let lines: Vec<&[u8]> =
        if text.is_empty() { Vec::new() } else { text.split(|&b| b == b'\n').collect() };
    if lines.len() != count {
        return Err(format!("{} lines for {count} files", lines.len()));
    }
    let unexpected = |line: &[u8]| format!("unexpected line {:?}", String::from_utf8_lossy(line));
    lines
        .into_iter()
        .map(|line| {
            if line == b"missing" {
                return Ok(FileRead::Missing);
            }
            let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            let [b"file", content, code] = fields[..] else { return Err(unexpected(line)) };
            match code {
                b"0" => base64::engine::general_purpose::STANDARD
                    .decode(content)
                    .map(FileRead::Content)
                    .map_err(|e| format!("{}: {e}", unexpected(line))),
                _ if !code.is_empty() && code.iter().all(u8::is_ascii_digit) => {
                    let said = String::from_utf8_lossy(stderr).trim().to_owned();
                    let code = String::from_utf8_lossy(code);
                    Ok(FileRead::Failed(format!("{said} (base64 exited {code})")))
                }
                _ => Err(unexpected(line)),
            }
        })
        .collect()
}

/// What a script said when it could not read `what`, as an I/O error of the right kind.
fn read_error(what: String, message: String) -> TransportError {
    let kind = if message.contains("Permission denied") {
        std::io::ErrorKind::PermissionDenied
    } else {
        std::io::ErrorKind::Other
    };
    TransportError::Io { what, source: std::io::Error::new(kind, message) }
}

impl Ssh {
    /// Runs one of the fixed scripts above with `path` as its argument.
    async fn script(
        &self,
        script: &str,
        path: &str,
        doing: &str,
    ) -> Result<Option<Vec<u8>>, TransportError> {
        let command = Command {
            argv: ["sh", "-c", script, "patchctl", path].map(String::from).to_vec(),
            // Error messages in English, whatever the host's locale.
            env: vec![("LC_ALL".into(), "C".into())],
        };
        // Errors name what was being read, not the shell that read it.
        let what = format!("{}: {doing}", self.host);
        let output = self.run_checked(&command).await.map_err(|error| match error {
            TransportError::OutputTooLarge { limit, .. } => {
                TransportError::OutputTooLarge { what: what.clone(), limit }
            }
            TransportError::TimedOut { after, .. } => {
                TransportError::TimedOut { what: what.clone(), after }
            }
            TransportError::ConnectionLost { host, .. } => {
                TransportError::ConnectionLost { host, what: doing.to_owned() }
            }
            error => error,
        })?;
        match output.exit_code {
            0 => Ok(Some(output.stdout)),
            MISSING => Ok(None),
            _ => Err(read_error(what, String::from_utf8_lossy(&output.stderr).trim().to_owned())),
        }
    }
}

#[async_trait::async_trait]
impl Transport for Ssh {
    async fn run(&self, command: &Command) -> Result<Output, TransportError> {
        self.run_checked(command).await
    }

    async fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        self.script(READ_FILE, path, &format!("reading {path}")).await
    }

    async fn read_files(&self, paths: &[String]) -> Vec<Result<Option<Vec<u8>>, TransportError>> {
        if paths.len() < 2 {
            return crate::read_one_by_one(self, paths).await;
        }
        let mut argv: Vec<String> = ["sh", "-c", READ_FILES, "patchctl"].map(String::from).into();
        argv.extend(paths.iter().cloned());
        let command = Command { argv, env: vec![("LC_ALL".into(), "C".into())] };
        let reading = |path: &str| format!("{}: reading {path}", self.host);
        let failed = |message: String| {
            paths
                .iter()
                .map(|path| {
                    Err(TransportError::Io {
                        what: reading(path),
                        source: std::io::Error::other(message.clone()),
                    })
                })
                .collect()
        };
        let output = match self.run_checked(&command).await {
            Ok(output) => output,
            Err(error) => return failed(error.to_string()),
        };
        let reads = match parse_read_files(&output.stdout, &output.stderr, paths.len()) {
            Ok(reads) => reads,
            Err(problem) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                return failed(format!("unreadable answer ({problem}) {}", stderr.trim()));
            }
        };
        paths
            .iter()
            .zip(reads)
            .map(|(path, read)| match read {
                FileRead::Missing => Ok(None),
                FileRead::Content(bytes) if bytes.len() > self.limits.max_output_bytes => {
                    Err(TransportError::OutputTooLarge {
                        what: reading(path),
                        limit: self.limits.max_output_bytes,
                    })
                }
                FileRead::Content(bytes) => Ok(Some(bytes)),
                FileRead::Failed(message) => Err(read_error(reading(path), message)),
            })
            .collect()
    }

    async fn list_dir(&self, path: &str) -> Result<Option<Vec<String>>, TransportError> {
        let Some(listing) = self.script(LIST_DIR, path, &format!("listing {path}")).await? else {
            return Ok(None);
        };
        let mut names: Vec<String> = listing
            .split(|&byte| byte == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect();
        names.sort();
        Ok(Some(names))
    }
}

async fn connect(config: &SshConfig) -> Result<Ssh, TransportError> {
    let host = config.host_name.as_str();
    let stream = tcp_connect(config).await?;
    // Commands are small request/response exchanges: Nagle's algorithm would hold each message
    // back until the previous one is acknowledged, and acknowledgements are delayed (40 ms).
    let _ = stream.set_nodelay(true);
    let russh_config = client::Config {
        keepalive_interval: Some(config.keepalive_interval),
        keepalive_max: 3,
        preferred: russh::Preferred {
            key: host_key::preferred_algorithms(&config.host_key_policy),
            ..russh::Preferred::default()
        },
        ..client::Config::default()
    };
    let seen = Arc::new(Mutex::new(None));
    let client = Client { policy: config.host_key_policy.clone(), seen: Arc::clone(&seen) };
    let presented = || seen.lock().expect("not poisoned").clone();
    let stream = quick_ack::QuickAck(stream);
    let mut handle = match client::connect_stream(Arc::new(russh_config), stream, client).await {
        Ok(handle) => handle,
        Err(error) => {
            return Err(match (error, presented()) {
                (russh::Error::UnknownKey, Some(key)) => {
                    host_key::refused(host, &config.host_key_policy, &key)
                }
                (error, _) => TransportError::Ssh {
                    host: host.to_owned(),
                    message: format!("handshake with {}:{}: {error}", config.address, config.port),
                },
            });
        }
    };
    let host_key = presented().expect("the host key is checked during the key exchange");
    auth::authenticate(&mut handle, host, &config.user, &config.auth).await?;
    Ok(Ssh {
        handle,
        host: host.to_owned(),
        host_key,
        sudo: config.sudo && config.user != "root",
        limits: config.limits,
        slots: Arc::new(Semaphore::new(config.max_channels.max(1))),
    })
}

async fn tcp_connect(config: &SshConfig) -> Result<tokio::net::TcpStream, TransportError> {
    let host = config.host_name.clone();
    let address = format!("{}:{}", config.address, config.port);
    let addresses = tokio::net::lookup_host((config.address.as_str(), config.port)).await.map_err(
        |source| TransportError::Io {
            what: format!("{host}: resolving {}", config.address),
            source,
        },
    )?;
    let mut last_error = None;
    for socket_address in addresses {
        let attempt = match config.syn_every {
            Some(every) => staggered_connect(socket_address, every).await,
            None => tokio::net::TcpStream::connect(socket_address).await,
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    let Some(source) = last_error else {
        return Err(TransportError::Io {
            what: format!("{host}: resolving {}", config.address),
            source: std::io::Error::other("no address"),
        });
    };
    use std::io::ErrorKind;
    Err(match source.kind() {
        ErrorKind::ConnectionRefused => TransportError::ConnectionRefused { host, address },
        ErrorKind::TimedOut => {
            TransportError::ConnectTimedOut { host, address, after: config.connect_timeout }
        }
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
            TransportError::Unreachable { host, address, source }
        }
        _ => TransportError::Io { what: format!("{host}: connecting to {address}"), source },
    })
}

/// How many handshakes [`SshConfig::syn_every`] keeps going at once.
pub const SYN_ATTEMPTS: u32 = 50;

/// The longest wait between two handshakes of [`SshConfig::syn_every`].
const SYN_EVERY_MAX: Duration = Duration::from_secs(1);

/// The wait before the handshake after one sent `after` the one before: a tenth more, at most
/// [`SYN_EVERY_MAX`]. A host silent for a second gets about twenty, one silent for ten seconds
/// about forty, whatever the first interval.
fn next_syn_after(after: Duration) -> Duration {
    (after + after / 10).min(SYN_EVERY_MAX)
}

/// A TCP connection to `address`: a new handshake `every` at first, then ever less often
/// ([`next_syn_after`]) while none has been answered, each given up after `SYN_ATTEMPTS` of
/// its interval. The first answer decides: a connection, or an error such as a refusal. Runs
/// until the caller's timeout, which drops (and so closes) every attempt still going.
async fn staggered_connect(
    address: std::net::SocketAddr,
    every: Duration,
) -> std::io::Result<tokio::net::TcpStream> {
    let mut every = every.max(Duration::from_millis(1));
    let mut attempts = tokio::task::JoinSet::new();
    loop {
        attempts.spawn(tokio::time::timeout(
            every * SYN_ATTEMPTS,
            tokio::net::TcpStream::connect(address),
        ));
        let next = tokio::time::sleep(every);
        every = next_syn_after(every);
        tokio::pin!(next);
        loop {
            tokio::select! {
                () = &mut next => break,
                Some(done) = attempts.join_next() => match done {
                    Ok(Ok(answer)) => return answer,
                    // Unanswered for its time: later attempts carry on.
                    Ok(Err(_elapsed)) => {}
                    Err(join) => return Err(std::io::Error::other(join)),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_messages_of_the_shells_and_env() {
        for (stderr, name) in [
            ("patchctl: 1: apt: not found", "apt"),
            ("patchctl: line 2: apt: command not found", "apt"),
            ("patchctl: line 2: /no/apt: No such file or directory", "/no/apt"),
            ("env: 'apt': No such file or directory", "apt"),
            ("env: \u{2018}apt\u{2019}: No such file or directory", "apt"),
            ("bash: line 1: exec: sudo: not found", "sudo"),
        ] {
            assert!(is_not_found_message(stderr, name), "{stderr}");
        }
        assert!(!is_not_found_message("patchctl: 1: apt: not found", "t"));
        assert!(!is_not_found_message("E: Unable to locate package x: not found", "apt"));
    }

    #[test]
    fn handshakes_to_a_silent_host_go_out_ever_less_often() {
        let mut every = Duration::from_millis(20);
        let (mut sent, mut elapsed) = (0, Duration::ZERO);
        while elapsed < Duration::from_secs(10) {
            elapsed += every;
            every = next_syn_after(every);
            sent += 1;
        }
        // Fifty a second at first, about forty in ten seconds, then one a second.
        assert!((35..=50).contains(&sent), "{sent}");
        assert_eq!(every, SYN_EVERY_MAX);
        assert_eq!(next_syn_after(Duration::from_millis(20)), Duration::from_millis(22));
    }

    #[tokio::test]
    async fn staggered_handshakes_end_at_the_first_answer() {
        // A listener answers: the connection is made.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let every = Duration::from_millis(20);
        let stream = staggered_connect(address, every).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), address);
        // Nothing listens any more: refused at once, not tried until the caller gives up.
        drop((stream, listener));
        let started = std::time::Instant::now();
        let refused = staggered_connect(address, every).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}
