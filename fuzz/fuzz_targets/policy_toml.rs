//! The policy file (`Policy::parse`): every error points at a line and column inside the text.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use patchctl_fuzz::assert_within;

fuzz_target!(|text: &str| {
    if let Err(invalid) = model::policy::Policy::parse(Path::new("policy.toml"), text) {
        assert!(!invalid.errors.is_empty(), "an invalid policy without an error");
        for error in &invalid.errors {
            assert_within(text, error.line, error.column, &error.message);
        }
    }
});
