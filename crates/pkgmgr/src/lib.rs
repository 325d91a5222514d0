//! apt/dpkg and dnf/rpm, as data: which commands to run and files to read on a host to assess
//! it (argv vectors, never shell strings), and pure parsers that turn their outputs into an
//! [`model::Assessment`]. Nothing here runs anything: `ops` runs the probes over a transport
//! and hands the outputs back.
//!
//! Every parser is tested on captured output of the real tool, under `test_data/`.

pub mod apply;
pub mod apt;
mod assemble;
pub mod dnf;
mod error;
pub mod lists;
mod probe;
pub mod system;

pub use assemble::{
    Depth, PackageState, assemble, assemble_at, detect, followup_probes_at, followup_probes_for,
    likely_followups_at, probes_at, probes_for, system_probes,
};
pub use error::{AssessError, Problem};
pub use probe::{CommandSpec, Gathered, Probe, ProbeOutput, ProbeSpec};
