//! The fleet crate's integration tests: real package builds, real images, real containers.
//! They run only with `PATCHCTL_INTEGRATION=1` (CI sets it); otherwise each prints "skipped".

mod hosts;
mod lifecycle;
mod scenario;
mod support;
