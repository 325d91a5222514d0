//! The JSON documents the command line prints (`--format json`, `--json`), one form per
//! document, member for member what each command has printed since it had the option; the
//! domain types convert to them by hand (in `model` and `ops`), and `cli` prints them with
//! [`pretty`] or [`pretty_sorted`], as the document says.
//!
//! Documents that were built as JSON values (`assess`, `cve`, `change show`, `plan show`,
//! `postmortem`, `rollout report`, the dry run, `verify-integrity`) print with their object
//! members in name order ([`pretty_sorted`]); the others (`compliance`, `audit`, `cves`, `plan
//! list`) in the order their forms declare ([`pretty`]).

use serde::Serialize;

pub mod advisory;
pub mod assess;
pub mod audit;
pub mod change;
pub mod compliance;
pub mod dry_run;
pub mod host;
pub mod integrity;
pub mod notification;
pub mod plan;
pub mod postmortem;
pub mod problem;
pub mod rollout;
pub mod schedule;

/// `document` as indented JSON, its object members in the order its form declares.
pub fn pretty<T: Serialize>(document: &T) -> String {
    // Forms hold strings, numbers, lists and maps with string keys: they always serialize.
    serde_json::to_string_pretty(document).expect("an output form serializes")
}

/// `document` as indented JSON, the members of every object in name order.
pub fn pretty_sorted<T: Serialize>(document: &T) -> String {
    // Through a value, whose objects keep their members sorted.
    let value = serde_json::to_value(document).expect("an output form serializes");
    serde_json::to_string_pretty(&value).expect("a JSON value serializes")
}
