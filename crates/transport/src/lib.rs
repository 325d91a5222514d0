//! How patchctl reaches a host: run an argv, read a file, list a directory. The local
//! transport runs on this machine, the SSH transport (russh) on a remote one; the agent channel
//! comes later behind the same trait.
//!
//! Commands are argv vectors. Locally they are handed to the operating system as they are; over
//! SSH, whose exec request is one string for the remote shell, every word is quoted
//! (`shell_quote`), so the remote program receives exactly that argv and nothing a host or an
//! inventory says is ever interpreted as shell syntax.

mod local;
mod ssh;

use std::time::Duration;

pub use local::Local;
pub use ssh::{
    Auth, FileRead, HostKey, HostKeyPolicy, NulByte, Ssh, SshConfig, check_key_file,
    parse_read_files, shell_quote,
};

/// A command to run: the program and its arguments, and environment variables to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// What a finished command gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit code; a command killed by a signal reports 128 + the signal number, as shells do.
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Bounds on what one operation may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub command_timeout: Duration,
    /// The most bytes kept of standard output, of standard error, or of a file.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // apt's simulation of a large upgrade prints a few hundred kilobytes and dpkg-query of
        // 5,000 packages about half a megabyte; 32 MiB leaves room without letting a broken
        // host fill our memory.
        Limits { command_timeout: Duration::from_secs(300), max_output_bytes: 32 << 20 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{program}: not found on the host")]
    ProgramNotFound { program: String },
    #[error("{what}: timed out after {after:?}")]
    TimedOut { what: String, after: Duration },
    #[error("{what}: output exceeded {limit} bytes")]
    OutputTooLarge { what: String, limit: usize },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("empty command")]
    EmptyCommand,
    /// A command that cannot be passed to a remote shell as it is: a NUL byte, an environment
    /// variable name that is not a shell name, a program name that a shell or `env` would read
    /// as something else.
    #[error("{what}: cannot be passed to the remote shell: {reason}")]
    InvalidCommand { what: String, reason: String },
    #[error("{host}: connection to {address} refused (is sshd running on that port?)")]
    ConnectionRefused { host: String, address: String },
    #[error("{host}: connecting to {address} timed out after {after:?}")]
    ConnectTimedOut { host: String, address: String, after: Duration },
    #[error("{host}: {address} is unreachable: {source}")]
    Unreachable {
        host: String,
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// No method worked; `tried` says what was offered and why each was refused.
    #[error("{host}: authentication as {user} failed; tried: {}", .tried.join("; "))]
    AuthFailed { host: String, user: String, tried: Vec<String> },
    /// The host presented a key other than the pinned one: a reinstalled host, or someone in
    /// the middle. The connection was closed before authenticating.
    #[error(
        "{host}: THE HOST KEY HAS CHANGED: expected {expected_fingerprint}, the host presented \
         {actual_fingerprint}; if the change is legitimate, pin the new key"
    )]
    HostKeyChanged { host: String, expected_fingerprint: String, actual_fingerprint: String },
    /// No key is pinned for the host and new keys are not accepted.
    #[error("{host}: unknown host key {fingerprint}; check it and pin it: {key}")]
    HostKeyUnknown { host: String, fingerprint: String, key: String },
    #[error("invalid host key {text:?}: {reason}")]
    InvalidHostKey { text: String, reason: String },
    /// `sudo -n` would have to ask for a password; patchctl never types one.
    #[error("{host}: sudo needs a password (allow the user to run the commands with NOPASSWD)")]
    SudoNeedsPassword { host: String },
    /// The connection dropped (or stopped answering keepalives) while doing `what`.
    #[error("{host}: connection lost while {what}")]
    ConnectionLost { host: String, what: String },
    /// Any other failure of the SSH protocol.
    #[error("{host}: SSH: {message}")]
    Ssh { host: String, message: String },
}

/// A way to operate on one host.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    /// Runs `command` to completion. A non-zero exit is an `Ok` output: only patchctl's own
    /// failures to run it are errors.
    async fn run(&self, command: &Command) -> Result<Output, TransportError>;

    /// Reads a whole file; `Ok(None)` when it does not exist.
    async fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError>;

    /// Lists the names in a directory; `Ok(None)` when it does not exist.
    async fn list_dir(&self, path: &str) -> Result<Option<Vec<String>>, TransportError>;

    /// Reads several whole files, as [`Transport::read_file`] would each, in order. Over SSH
    /// they are read by one command (one round trip, one session on the host for them all).
    async fn read_files(&self, paths: &[String]) -> Vec<Result<Option<Vec<u8>>, TransportError>> {
        read_one_by_one(self, paths).await
    }
}

/// [`Transport::read_files`] as one [`Transport::read_file`] after another.
async fn read_one_by_one<T: Transport + ?Sized>(
    transport: &T,
    paths: &[String],
) -> Vec<Result<Option<Vec<u8>>, TransportError>> {
    let mut reads = Vec::with_capacity(paths.len());
    for path in paths {
        reads.push(transport.read_file(path).await);
    }
    reads
}
