//! The test fleet: real Debian and RPM hosts in Docker containers, built with no registry, with
//! package repositories for every patch scenario. `cargo xtask fleet …` and the integration
//! tests drive it through this one library.
//!
//! This is test infrastructure: its errors are `anyhow` with context, since no caller branches
//! on them; they print and stop.

pub mod images;
