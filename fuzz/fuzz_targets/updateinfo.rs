//! A dnf repository's updateinfo.xml (`parse_updateinfo`); what parses is then indexed and
//! matched against a host, as `patchctl cves` does.

#![no_main]

use libfuzzer_sys::fuzz_target;
use patchctl_fuzz::match_advisories;

fuzz_target!(|text: &str| {
    let parsed = model::advisory::updateinfo::parse_updateinfo("fuzz.xml", text);
    for skipped in &parsed.skipped {
        assert!(!skipped.reason.is_empty(), "a record skipped for no reason: {skipped:?}");
    }
    match_advisories(parsed.advisories);
});
