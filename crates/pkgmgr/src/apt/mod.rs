//! The apt backend (being written).

use crate::{AssessError, Gathered, PackageState, ProbeSpec, Problem};

pub fn probes() -> Vec<ProbeSpec> {
    Vec::new()
}

pub fn assemble(_gathered: &Gathered) -> Result<PackageState, AssessError> {
    Err(AssessError::new(
        "apt",
        Problem::Invalid("the apt backend is being written".into()),
    ))
}
