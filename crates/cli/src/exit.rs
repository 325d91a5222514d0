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

pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// [`SOME_HOSTS`] when `some_failed`, else success.
pub fn unless(some_failed: bool) -> ExitCode {
    if some_failed { code(SOME_HOSTS) } else { ExitCode::SUCCESS }
}
