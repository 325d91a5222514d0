//! The import of an Ansible INI inventory (`ansible::import_as`): every error points at a
//! line and column inside the source, and none is the importer's own "would not be valid"
//! (what it writes must always parse as an inventory).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use model::inventory::ansible::{AnsibleFormat, ImportConfig, import_as};
use patchctl_fuzz::assert_within;

/// How the importer begins its message when what it wrote does not parse. Other messages may
/// quote the input, which may hold these words.
const IMPORTER_BUG: &str = "the imported inventory would not be valid (a patchctl bug)";

fuzz_target!(|text: &str| {
    let config = ImportConfig { environment: "production".to_owned() };
    match import_as(AnsibleFormat::Ini, Path::new("hosts"), text, &config) {
        Ok(imported) => {
            for warning in &imported.warnings {
                assert_within(text, warning.line, warning.column, &warning.message);
            }
        }
        Err(invalid) => {
            assert!(!invalid.errors.is_empty(), "an invalid inventory without an error");
            for error in &invalid.errors {
                assert!(!error.message.starts_with(IMPORTER_BUG), "{}", error.message);
                assert_within(text, error.line, error.column, &error.message);
            }
        }
    }
});
