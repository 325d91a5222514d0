//! `patchctl audit verify --format json`. Printed with `pretty`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditReportV1 {
    pub chains: Vec<ChainVerdictV1>,
    pub anchor_file: String,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainVerdictV1 {
    pub chain: String,
    pub entries: u64,
    pub problem: Option<String>,
    pub first_bad_seq: Option<i64>,
    pub not_covered: bool,
}
