//! patchctl's exit codes, all of them (README.md lists them for users). Clap exits 2 on bad
//! arguments by itself.

use std::process::ExitCode;

/// An error stopped the command; it says what was being done.
pub const ERROR: u8 = 1;
/// The command line is wrong, or the clock it asks for is refused (`--now` on the real state).
pub const USAGE: u8 = 2;
/// Done, but not everywhere: a host failed, was lost, could not be reached or checked, or
/// (`rollout start --dry-run`) would fail.
pub const SOME_HOSTS: u8 = 3;
/// `compliance`: a host or an environment is not compliant.
pub const NOT_COMPLIANT: u8 = 4;
/// `audit verify`: an evidence chain is broken.
pub const BROKEN_EVIDENCE: u8 = 5;
/// `doctor`: the installation has a problem (each is printed with what to do).
pub const INSTALL_PROBLEM: u8 = 6;

pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// [`SOME_HOSTS`] when `some_failed`, else success.
pub fn unless(some_failed: bool) -> ExitCode {
    if some_failed { code(SOME_HOSTS) } else { ExitCode::SUCCESS }
}

/// A usage error: the command line asks for what may not be done (`--now` on the real state).
#[derive(Debug)]
pub struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Marks `error` a usage error, for [`for_error`].
pub fn usage(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Usage(error.to_string()))
}

/// The exit code of an error that stopped a command: [`USAGE`] for one marked by [`usage`],
/// else [`ERROR`].
pub fn for_error(error: &anyhow::Error) -> u8 {
    if error.is::<Usage>() { USAGE } else { ERROR }
}
