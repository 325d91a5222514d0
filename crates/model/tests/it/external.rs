//! The Ansible and dnf projects' own test data (`../shared/data/external/`, beside the
//! repository; its README names the source of every file), read in place, each case compared
//! with what the real tool made of it.

mod ansible;
mod updateinfo;

use std::path::{Path, PathBuf};

/// A path in the external corpora.
fn corpus(relative: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external");
    assert!(
        root.join("README.md").is_file(),
        "the external corpora are expected at {}",
        root.display()
    );
    root.join(relative)
}
