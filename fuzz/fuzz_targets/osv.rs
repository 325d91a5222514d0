//! OSV records (`parse_osv`), from bytes as a mirror serves them; what parses is then indexed
//! and matched against a host of each scheme, as `patchctl cves` does.

#![no_main]

use libfuzzer_sys::fuzz_target;
use patchctl_fuzz::match_advisories;

fuzz_target!(|bytes: &[u8]| {
    let parsed = model::advisory::osv::parse_osv("fuzz.json", bytes);
    for skipped in &parsed.skipped {
        assert!(!skipped.reason.is_empty(), "a record skipped for no reason: {skipped:?}");
    }
    match_advisories(parsed.advisories);
});
