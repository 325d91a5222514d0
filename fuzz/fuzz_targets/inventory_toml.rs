//! The TOML inventory (`Inventory::parse`): every error points at a line and column inside
//! the text, and every host of a valid one is selected by `host:NAME`.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use patchctl_fuzz::assert_within;

fuzz_target!(|text: &str| {
    match model::Inventory::parse(Path::new("inventory.toml"), text) {
        Ok(inventory) => {
            for host in inventory.hosts() {
                // Every host is found by its own name, written `host:NAME` (a bare name that is
                // also a group's is ambiguous, and the selector says so).
                let selector = model::Selector::parse(&format!("host:{}", host.name))
                    .expect("a host's name selects");
                let selected = model::select(&inventory, &[selector]).expect("its host");
                assert!(
                    selected.iter().any(|h| h.name == host.name),
                    "{:?} not selected",
                    host.name
                );
            }
        }
        Err(invalid) => {
            assert!(!invalid.errors.is_empty(), "an invalid inventory without an error");
            for error in &invalid.errors {
                assert_within(text, error.line, error.column, &error.message);
            }
        }
    }
});
