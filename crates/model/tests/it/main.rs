//! Integration tests of `model`, one binary for the crate. Tests that need real tools (dpkg,
//! python3-rpm) run only when `PATCHCTL_INTEGRATION=1`, as CI sets it; without it they say they
//! were skipped and pass.

mod advisory;
mod external;
mod version;
