//! How patchctl reaches a host: run an argv, read a file, list a directory. The local
//! transport runs on this machine; SSH and the agent channel come later behind the same trait.
//!
//! Commands are argv vectors handed to the operating system as they are: no shell ever sees
//! them, so nothing a host or an inventory says can be interpreted as shell syntax.

mod local;

use std::time::Duration;

pub use local::Local;

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
}
