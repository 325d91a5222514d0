//! The dnf backend (being written).

use crate::{AssessError, Gathered, PackageState, ProbeSpec, Problem};

pub fn probes() -> Vec<ProbeSpec> {
    Vec::new()
}

pub fn assemble(_gathered: &Gathered) -> Result<PackageState, AssessError> {
    Err(AssessError::new(
        "dnf",
        Problem::Invalid("the dnf backend is being written".into()),
    ))
}
