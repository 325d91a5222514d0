//! The stored forms of a postmortem record's entry bodies (the `postmortem_events` table's
//! `body`): members in name order, as patchctl has written them since postmortems existed. A
//! body is in its record's hash chain, so these bytes never change.

use serde::{Deserialize, Serialize};

/// The body of an `opened` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenedV1 {
    pub hosts: Vec<String>,
    pub owner: Option<String>,
    pub title: String,
}

/// The body of a `closed` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClosedV1 {
    pub actions: Vec<String>,
    pub root_cause: String,
}
