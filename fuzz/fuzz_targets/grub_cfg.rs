//! The bootloader: `grub.cfg` (`parse_grub_cfg`), the bootloader probe's output that embeds it
//! (`parse_bootloader`), the change of the boot default to each kernel found, and the default
//! read back (`parse_saved_default`). The input is the text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pkgmgr::apply::{self, BootDefault};

fuzz_target!(|text: &str| {
    if let Ok(entries) = apply::parse_grub_cfg(text) {
        for entry in &entries {
            assert!(!entry.release.is_empty(), "an entry without a kernel release: {entry:?}");
        }
    }
    if let Ok(bootloader) = apply::parse_bootloader(0, text) {
        let mut releases = vec!["6.1.0-27-amd64".to_owned()];
        if let apply::Bootloader::Grub(grub) = &bootloader {
            releases.extend(grub.entries.iter().map(|e| e.release.clone()));
        }
        for release in &releases {
            if let BootDefault::Change { set, expect, .. } =
                apply::boot_default_change(&bootloader, release)
            {
                // The saved entry becomes an argument of grub-set-default: never an option.
                let last = set.argv.last().expect("an argv");
                assert!(
                    !last.starts_with('-'),
                    "grub-set-default would read {last:?} as an option"
                );
                let _ = apply::parse_saved_default(0, &format!("saved_entry={expect}\n"), &expect)
                    .expect("the default it expects is found when read back");
            }
        }
    }
    let _ = apply::parse_saved_default(
        0,
        text,
        "gnulinux-advanced-x>gnulinux-6.1.0-27-amd64-advanced-x",
    );
});
