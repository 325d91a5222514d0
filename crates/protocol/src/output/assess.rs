//! `patchctl assess --format json`: every assessment with its summary, and the hosts that could
//! not be assessed. Printed with `pretty_sorted`.

use serde::{Deserialize, Serialize};

use crate::assessment::AssessmentV1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssessOutputV1 {
    pub assessments: Vec<AssessedV1>,
    pub failures: Vec<AssessFailureV1>,
}

/// An assessment in its stored form, with its summary as one more member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssessedV1 {
    #[serde(flatten)]
    pub assessment: AssessmentV1,
    pub summary: SummaryV1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryV1 {
    pub n_updates: u64,
    pub n_security: u64,
    pub n_kernel: u64,
    pub reboot_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssessFailureV1 {
    pub host: String,
    pub kind: String,
    pub message: String,
}
