//! Hostile input: names and versions that would be options or shell to someone, and text that
//! is nothing a tool printed. The builders refuse; the parsers answer, never panic.

use model::PackageManagerKind::{self, Apt, Dnf};
use proptest::prelude::*;

use crate::CommandSpec;
use crate::apply::*;

const HOSTILE_WORDS: &[&str] = &[
    "",
    "-o",
    "--allow-unauthenticated",
    "-y",
    "acme;reboot",
    "acme && rm -rf /",
    "$(id)",
    "`id`",
    "acme\nweb",
    "acme web",
    "acme\0",
    "../../etc/passwd",
    "acme|tee",
    "acme>x",
    "acme*",
    "ａｃｍｅ",
];

#[test]
fn apply_refuses_hostile_packages() {
    for kind in [Apt, Dnf] {
        for word in HOSTILE_WORDS {
            let options = ApplyOptions::default();
            for package in [
                PinnedPackage::new(word, "all", "1.0-1"),
                PinnedPackage::new("acme", word, "1.0-1"),
                PinnedPackage::new("acme", "all", word),
            ] {
                assert!(
                    apply_command(kind, std::slice::from_ref(&package), &options).is_err(),
                    "{kind} {package:?}"
                );
                assert!(
                    simulate_command(kind, std::slice::from_ref(&package), &options).is_err(),
                    "{kind} {package:?}"
                );
                let plan =
                    RollbackPlan { downgrade: vec![package.clone()], ..RollbackPlan::default() };
                assert!(rollback_commands(kind, &plan, &options).is_err(), "{kind} {package:?}");
            }
        }
        assert!(apply_command(kind, &[], &ApplyOptions::default()).is_err());
        let twice =
            [PinnedPackage::new("a", "all", "1.0-1"), PinnedPackage::new("a", "all", "1.1-1")];
        assert!(apply_command(kind, &twice, &ApplyOptions::default()).is_err());
    }
}

#[test]
fn apply_argv_shapes() {
    let apt = apply_command(
        Apt,
        &[PinnedPackage::new("libfoo", "i386", "2:1.0~rc1-1")],
        &ApplyOptions::default(),
    )
    .unwrap();
    assert_eq!(apt.argv.last().unwrap(), "libfoo:i386=2:1.0~rc1-1");
    assert_eq!(apt.argv[apt.argv.len() - 2], "--");
    let env: Vec<(&str, &str)> = apt.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        env,
        [
            ("LC_ALL", "C"),
            ("DEBIAN_FRONTEND", "noninteractive"),
            ("NEEDRESTART_MODE", "l"),
            ("APT_LISTCHANGES_FRONTEND", "none"),
            ("UCF_FORCE_CONFFOLD", "1")
        ]
    );
    let take_new = ApplyOptions { conffiles: ConffilePolicy::TakeNew, lock_timeout_seconds: 7 };
    let apt = apply_command(Apt, &[PinnedPackage::new("a", "all", "1")], &take_new).unwrap();
    let line = apt.argv.join(" ");
    assert!(
        line.contains("-o Dpkg::Options::=--force-confnew -o DPkg::Lock::Timeout=7 --"),
        "{line}"
    );
    assert!(!line.contains("confdef"));
    assert!(apt.env.contains(&("UCF_FORCE_CONFFNEW".into(), "1".into())));

    let dnf = apply_command(Dnf, &[PinnedPackage::new("acme-db", "x86_64", "2:3.0-2")], &take_new)
        .unwrap();
    assert_eq!(dnf.argv.last().unwrap(), "acme-db-2:3.0-2.x86_64");
    assert_eq!(dnf.env, [("LC_ALL".to_owned(), "C".to_owned())]);
}

#[test]
fn units_refuse_hostile_names_and_escape_dollars() {
    for (rollout, step) in [
        ("", "web1"),
        ("r1", ""),
        ("r-1", "web1"),
        ("r1", "-web1"),
        ("r1", "web1.mount"),
        ("r1", "web1/../x"),
        ("r1", "web 1"),
        ("r1", "web1;id"),
        ("r1", &"x".repeat(300)),
    ] {
        assert!(UnitName::new(rollout, step).is_err(), "{rollout:?} {step:?}");
    }
    let name = UnitName::new("01HX9ZK", "web1_apply-2").unwrap();
    assert_eq!(name.service(), "patchctl-01HX9ZK-web1_apply-2.service");

    let command =
        CommandSpec::new(["/usr/bin/printf", "%s $HOME ${PATH} $$"]).with_env("A_B", "x y");
    let argv = run_as_unit(&name, &command).unwrap().argv;
    assert_eq!(argv.last().unwrap(), "%s $$HOME $${PATH} $$$$");
    assert!(argv.contains(&"--setenv=A_B=x y".to_owned()));
    for bad in [
        CommandSpec::new(Vec::<String>::new()),
        CommandSpec::new(["-x"]),
        CommandSpec::new(["echo", "a\nb"]),
        CommandSpec::new(["echo"]).with_env("A=B", "x"),
        CommandSpec::new(["echo"]).with_env("A", "x\ny"),
    ] {
        assert!(run_as_unit(&name, &bad).is_err(), "{bad:?}");
    }
}

#[test]
fn checks_refuse_hostile_input() {
    for word in ["-x", "acme web", "a;b", "", "a$b"] {
        assert!(is_active_command(&[word]).is_err(), "{word:?}");
    }
    assert!(is_active_command::<&str>(&[]).is_err());
    assert!(is_active_command(&["getty@tty1.service", "sys-kernel-debug.mount"]).is_ok());
    for cursor in ["-x", "a b", "s=1;$(id)", ""] {
        assert!(journal_errors_command(&JournalSince::Mark(cursor.into())).is_err(), "{cursor:?}");
    }
    for message in ["-h", "a\nb", &"x".repeat(201)] {
        assert!(reboot_command(1, message).is_err(), "{message:?}");
    }
    assert_eq!(reboot_command(0, "").unwrap().argv, ["shutdown", "-r", "now"]);
    assert!(custom_check_command::<&str>(&[]).is_err());
    assert!(custom_check_command(&["-rf"]).is_err());
    let check = custom_check_command(&["curl", "-fsS", "http://localhost:8080/health"]).unwrap();
    assert_eq!(check.argv[0], "curl");
    let result = parse_custom_check(22, "", "curl: (22) The requested URL returned error: 500\n");
    assert!(!result.passed);
    assert!(result.output_tail.contains("error: 500"));
}

#[test]
fn output_tail_is_capped() {
    let long: String = (0..500).map(|i| format!("line {i} é\n")).collect();
    let tail = output_tail(&long, "E: it failed\n");
    assert!(tail.starts_with("line 470"), "{tail}");
    assert!(tail.ends_with("--- stderr ---\nE: it failed"));
    let wide = "é".repeat(10_000);
    assert!(output_tail(&wide, "").len() <= 4100);
    assert_eq!(output_tail("(Reading 5%\r(Reading 100%\r\n", ""), "(Reading 100%");
}

/// Text made of the pieces real outputs are made of, plus arbitrary characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Unpacking ".to_owned()),
        Just("Removing ".to_owned()),
        Just(" (".to_owned()),
        Just(") over (".to_owned()),
        Just(") ...".to_owned()),
        Just("Upgraded:\n".to_owned()),
        Just("Removed:\n  ".to_owned()),
        Just("Complete!\n".to_owned()),
        Just("Inst acme [1] (2 Acme:12/bookworm [all])\n".to_owned()),
        Just("Remv acme [".to_owned()),
        Just("=====\nUpgrading:\n ".to_owned()),
        Just("Transaction Summary\n".to_owned()),
        Just("Install  1 Package\n".to_owned()),
        Just("     replacing  ".to_owned()),
        Just("Operation aborted.\n".to_owned()),
        Just("Nothing to do.\n".to_owned()),
        Just("1 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n".to_owned()),
        Just("Could not get lock /x. It is held by process ".to_owned()),
        Just("RPMDB already locked by ".to_owned()),
        Just("Errors were encountered while processing:\n ".to_owned()),
        Just("Error in POSTIN scriptlet in rpm package ".to_owned()),
        Just("warning: %post(".to_owned()),
        Just("ExecMainCode=".to_owned()),
        Just("LoadState=loaded\n".to_owned()),
        Just("-- cursor: ".to_owned()),
        Just("2026-11-22T01:00:00+0000 h x[1]: ".to_owned()),
        Just("1 (".to_owned()),
        Just("\r".to_owned()),
        Just("\n".to_owned()),
        Just(" ".to_owned()),
        "[a-z0-9.+~:-]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn all_parsers(kind: PackageManagerKind, rc: i32, a: &str, b: &str) {
    let _ = parse_apply_output(kind, rc, a, b);
    let _ = parse_unit_status(a);
    let _ = parse_unit_start(rc, a, b);
    let _ = parse_is_active(&["a.service", "b.service"], rc, a);
    let _ = parse_journal_mark(rc, a);
    let _ = parse_journal_errors(rc, a);
    let _ = parse_custom_check(rc, a, b);
    let _ = output_tail(a, b);
    let _ = parse_simulation(kind, &[PinnedPackage::new("acme-web", "all", "1.1-1")], rc, a, b);
    let mut gathered = crate::Gathered::new();
    gathered.insert(BOOT_ID, crate::ProbeOutput::File(Some(a.to_owned())));
    gathered.insert(INIT_STAT, crate::ProbeOutput::File(Some(b.to_owned())));
    let _ = boot_identity(&gathered);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn parsers_never_panic(rc in prop_oneof![Just(0), Just(1), Just(100), Just(200), any::<i32>()], a in hostile_text(), b in hostile_text()) {
        all_parsers(Apt, rc, &a, &b);
        all_parsers(Dnf, rc, &a, &b);
    }

    #[test]
    fn builders_never_panic(name in any::<String>(), arch in any::<String>(), version in any::<String>()) {
        for kind in [Apt, Dnf] {
            let package = PinnedPackage::new(&name, &arch, &version);
            if let Ok(command) = apply_command(kind, &[package], &ApplyOptions::default()) {
                // What passes validation never starts with a dash and has no white space.
                let last = command.argv.last().unwrap();
                prop_assert!(!last.starts_with('-') && !last.contains(char::is_whitespace));
            }
            let _ = UnitName::new(&name, &arch);
            let _ = reboot_command(1, &name);
        }
    }
}
