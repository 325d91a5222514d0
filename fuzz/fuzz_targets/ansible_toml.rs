//! The import of an Ansible TOML inventory (`ansible::import_as`): every error points at a
//! line and column inside the source, and none is the importer's own "would not be valid"
//! (what it writes must always parse as an inventory). The checks: `check_ansible_import`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use model::inventory::ansible::AnsibleFormat;

fuzz_target!(|text: &str| patchctl_fuzz::check_ansible_import(AnsibleFormat::Toml, text));
