//! Whatever a host prints, the parsers answer with a value or an error, never a panic.

use pkgmgr::{Gathered, Probe, ProbeOutput, apt};
use proptest::prelude::*;

/// Text made of the pieces real outputs are made of, in any order, plus arbitrary characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Inst ".to_owned()),
        Just("Remv ".to_owned()),
        Just(" [".to_owned()),
        Just("] (".to_owned()),
        Just(")".to_owned()),
        Just(", ".to_owned()),
        Just(":".to_owned()),
        Just("/".to_owned()),
        Just("\t".to_owned()),
        Just("\n".to_owned()),
        Just("install installed ok".to_owned()),
        Just("1 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.".to_owned()),
        Just("NEEDRESTART-SVC: ".to_owned()),
        "[a-z0-9.+~-]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn apt_assemble(query in hostile_text(), full in hostile_text(), plain in hostile_text(), other in hostile_text()) {
        let mut gathered = Gathered::new();
        for spec in apt::probes() {
            let output = match spec.probe {
                Probe::Run(_) => ProbeOutput::Ran { exit_code: 0, stdout: other.clone(), stderr: other.clone() },
                Probe::ReadFile(_) => ProbeOutput::File(Some(other.clone())),
                Probe::ListDir(_) => ProbeOutput::Dir(Some(vec![other.clone()])),
            };
            gathered.insert(spec.key, output);
        }
        let ran = |stdout: &str| ProbeOutput::Ran { exit_code: 0, stdout: stdout.to_owned(), stderr: String::new() };
        gathered.insert(apt::DPKG_QUERY, ran(&format!("dpkg\tamd64\t1.21\tinstall installed ok\tadmin\tdpkg\t1.21\n{query}")));
        gathered.insert(apt::DIST_UPGRADE, ran(&full));
        gathered.insert(apt::UPGRADE, ran(&plain));
        let _ = apt::assemble(&gathered);
    }

    #[test]
    fn system_parsers(text in hostile_text()) {
        let _ = pkgmgr::system::parse_df(&text);
        let _ = pkgmgr::system::parse_proc_locks(&text);
        let _ = model::OsRelease::parse(&text);
    }

    #[test]
    fn bootloader_parsers(text in grub_text()) {
        let _ = pkgmgr::apply::parse_grub_cfg(&text);
        if let Ok(bootloader) = pkgmgr::apply::parse_bootloader(0, &text) {
            let _ = pkgmgr::apply::boot_default_change(&bootloader, "6.1.0-27-amd64");
        }
        let _ = pkgmgr::apply::parse_saved_default(0, &text, "x");
    }
}

/// The bootloader probe's marks and grub.cfg's syntax, in any order.
fn grub_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("@@patchctl grub /boot/grub grub\n".to_owned()),
        Just("@@patchctl GRUB_DEFAULT\nsaved\n".to_owned()),
        Just("@@patchctl grubenv\nsaved_entry=".to_owned()),
        Just("@@patchctl grub.cfg\n".to_owned()),
        Just("@@patchctl grubby\n".to_owned()),
        Just("menuentry 'Linux' $menuentry_id_option 'gnulinux-6.1.0-27-amd64-x' {\n".to_owned()),
        Just("submenu 'Advanced' --id=adv {\n".to_owned()),
        Just("\tlinux /boot/vmlinuz-6.1.0-27-amd64 ro single\n".to_owned()),
        Just("}\n".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just(">".to_owned()),
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}
