//! The dnf backend through the public API: the probes it declares, answered with captured real
//! outputs (`test_data/dnf/`, see its CAPTURE.md), and with hostile text.

use model::{Classification, Severity, UpdateAction};
use pkgmgr::{Depth, Gathered, Probe, ProbeOutput, Problem, dnf};
use proptest::prelude::*;

fn ran(exit_code: &str, stdout: &str, stderr: &str) -> ProbeOutput {
    ProbeOutput::Ran {
        exit_code: exit_code.trim().parse().unwrap(),
        stdout: stdout.to_owned(),
        stderr: stderr.to_owned(),
    }
}

/// `NAME.rc`, `NAME.stdout` and `NAME.stderr` of one capture, as a probe output.
macro_rules! captured {
    ($name:literal) => {
        ran(
            include_str!(concat!("../../test_data/dnf/", $name, ".rc")),
            include_str!(concat!("../../test_data/dnf/", $name, ".stdout")),
            include_str!(concat!("../../test_data/dnf/", $name, ".stderr")),
        )
    };
}

/// A file's contents, as read from the host.
fn file(text: &str) -> ProbeOutput {
    ProbeOutput::File(Some(text.to_owned()))
}

/// The answers to `dnf::probes()` on the host of CAPTURE.md with its updates, a version lock and
/// a package asking for a reboot.
fn first_probes() -> Gathered {
    let mut gathered = Gathered::new();
    for spec in dnf::probes() {
        let output = match spec.key {
            dnf::RPM_QA => captured!("updates-rpm-qa"),
            dnf::RPM_INSTALLONLY => captured!("updates-rpm-installonly"),
            dnf::DNF_SCRIPT => file(include_str!("../../test_data/dnf/usr-bin-dnf")),
            dnf::DNF_CONF => file(include_str!("../../test_data/dnf/dnf.conf")),
            dnf::VERSIONLOCK_CONF => {
                file(include_str!("../../test_data/dnf/updates-versionlock.conf"))
            }
            dnf::VERSIONLOCK_LIST => {
                file(include_str!("../../test_data/dnf/updates-versionlock.list"))
            }
            dnf::RPMDB_LOCK => ProbeOutput::File(None),
            dnf::PROCESSES => ProbeOutput::Dir(Some(vec!["1".into(), "self".into()])),
            other => panic!("a probe this test does not know: {other}"),
        };
        gathered.insert(spec.key, output);
    }
    gathered
}

/// That host as patchctl gathers it: the first probes, then the dnf batch they ask for.
fn host_with_updates() -> Gathered {
    let mut gathered = first_probes();
    let followups = dnf::followup_probes(&gathered);
    assert_eq!(followups.iter().map(|p| p.key).collect::<Vec<_>>(), [dnf::BATCH]);
    gathered.insert(dnf::BATCH, captured!("updates-dnf-batch"));
    gathered
}

/// The argv of the batch the first probes ask for.
fn batch_argv(gathered: &Gathered) -> Vec<String> {
    let followups = dnf::followup_probes(gathered);
    let [spec] = &followups[..] else { panic!("one batch: {followups:?}") };
    let Probe::Run(command) = &spec.probe else { panic!("the batch is a command") };
    assert!(command.env.contains(&("LC_ALL".to_owned(), "C".to_owned())));
    command.argv.clone()
}

#[test]
fn every_probe_is_an_argv_with_lc_all_c() {
    for spec in dnf::probes() {
        if let Probe::Run(command) = &spec.probe {
            assert_eq!(command.argv[0], "rpm", "{}", spec.key);
            assert!(command.env.contains(&("LC_ALL".to_owned(), "C".to_owned())));
        }
    }
}

#[test]
fn dnf_starts_once_with_every_command() {
    // What setup/capture.sh ran (CAPTURE.md, "The dnf batch"): dnf's interpreter, the program,
    // then the dnf commands.
    let argv = batch_argv(&first_probes());
    assert_eq!(argv[..3], ["/usr/bin/python3", "-c", dnf::BATCH_PROGRAM]);
    assert_eq!(
        argv[3..].join(" "),
        "/usr/bin/dnf -q --setopt=skip_if_unavailable=False check-update ; \
         -q --setopt=skip_if_unavailable=False updateinfo list --updates ; \
         -q --setopt=skip_if_unavailable=False updateinfo list --updates --with-cve ; \
         -q --disablerepo=* needs-restarting -r ; -q --disablerepo=* needs-restarting -s ; \
         -q --disablerepo=* check"
    );
}

#[test]
fn a_host_with_updates() {
    let state = dnf::assemble(&host_with_updates()).unwrap();
    assert_eq!(state.updates.len(), 9);
    let web = state.updates.iter().find(|u| u.name == "acme-web").unwrap();
    assert_eq!(
        (web.installed_version.as_deref(), web.candidate_version.as_str()),
        (Some("1.0-1"), "1.2-1")
    );
    assert_eq!(
        (web.classification, web.severity),
        (Classification::Security, Some(Severity::Critical))
    );
    assert_eq!(web.cves, ["CVE-2026-10001", "CVE-2026-10002"]);
    assert_eq!(web.origins[0].label.as_deref(), Some("acme-updates"));
    let kernel = state.updates.iter().find(|u| u.kernel).unwrap();
    assert_eq!((kernel.name.as_str(), kernel.action), ("kernel-core", UpdateAction::NewInstall));
    let long = state.updates.iter().find(|u| u.name.len() > 60).unwrap();
    assert_eq!(long.classification, Classification::Bugfix);
    assert_eq!(state.held, ["acme-pinned"]);
    assert_eq!(state.removals, ["acme-old"]);
    assert_eq!(state.reboot.packages, ["acme-db"]);
    // needs-restarting -s found a stale process in the chroot, which has no D-Bus to ask
    // systemd about it (CAPTURE.md).
    assert_eq!(state.services_needing_restart, None);
}

#[test]
fn the_batch_assesses_as_the_commands_run_one_by_one() {
    // Each command's output under its own key, as patchctl gathered them before the batch: the
    // same state but for needs-restarting -s, which the batch's capture shows failing.
    let mut one_by_one = Gathered::new();
    for (key, output) in [
        (dnf::RPM_QA, captured!("updates-rpm-qa")),
        (dnf::RPM_INSTALLONLY, captured!("updates-rpm-installonly")),
        (dnf::CHECK_UPDATE, captured!("updates-check-update")),
        (dnf::UPDATEINFO, captured!("updates-updateinfo-list")),
        (dnf::UPDATEINFO_CVES, captured!("updates-updateinfo-list-cves")),
        (dnf::VERSIONLOCK, captured!("updates-versionlock-list")),
        (dnf::NEEDS_RESTARTING_REBOOT, captured!("updates-needs-restarting-r")),
        (dnf::NEEDS_RESTARTING_SERVICES, captured!("stale-needs-restarting-s")),
        (dnf::CHECK, captured!("updates-check")),
        (dnf::RPMDB_LOCK, ProbeOutput::File(None)),
        (dnf::PROCESSES, ProbeOutput::Dir(Some(vec!["1".into(), "self".into()]))),
    ] {
        one_by_one.insert(key, output);
    }
    assert_eq!(dnf::assemble(&host_with_updates()).unwrap(), dnf::assemble(&one_by_one).unwrap());
}

#[test]
fn an_unusual_versionlock_configuration_asks_dnf() {
    let mut gathered = first_probes();
    let moved = format!(
        "{}pluginconfpath=/etc/dnf/plugins\n",
        include_str!("../../test_data/dnf/dnf.conf")
    );
    gathered.insert(dnf::DNF_CONF, file(&moved));
    let argv = batch_argv(&gathered);
    assert_eq!(argv[argv.len() - 5..], [";", "-q", "--disablerepo=*", "versionlock", "list"]);
    gathered.insert(dnf::BATCH, captured!("updates-dnf-batch-versionlock"));
    let state = dnf::assemble(&gathered).unwrap();
    assert_eq!(state.held, ["acme-pinned"]);
    assert_eq!(state.updates.len(), 9);
}

#[test]
fn the_likely_batch_is_the_one_a_usual_host_asks_for() {
    // The captured host (python3 runs dnf, its locks in the usual file): the batch guessed
    // before its first probes answer is exactly the one they ask for, at either depth.
    let gathered = first_probes();
    assert_eq!(dnf::likely_followups_at(Depth::Full), dnf::followup_probes(&gathered));
    assert_eq!(
        dnf::likely_followups_at(Depth::Health),
        dnf::followup_probes_at(Depth::Health, &gathered)
    );
    assert!(dnf::likely_followups_at(Depth::Installed).is_empty());
    // A host whose dnf runs under another interpreter, or that must ask dnf for its locks,
    // asks for another batch: the guess does not stand for it.
    let mut platform = gathered.clone();
    platform.insert(dnf::DNF_SCRIPT, file("#!/usr/libexec/platform-python\n"));
    assert_ne!(dnf::likely_followups_at(Depth::Full), dnf::followup_probes(&platform));
    let mut moved = gathered;
    let conf = format!(
        "{}pluginconfpath=/etc/dnf/plugins\n",
        include_str!("../../test_data/dnf/dnf.conf")
    );
    moved.insert(dnf::DNF_CONF, file(&conf));
    assert_ne!(dnf::likely_followups_at(Depth::Full), dnf::followup_probes(&moved));
}

#[test]
fn without_dnf_plugins_core() {
    // Removed with dpkg -r: its configuration files stay, lock list included, but dnf loads no
    // plugin and locks nothing (check-update lists acme-pinned's update).
    let mut gathered = first_probes();
    gathered.insert(
        dnf::VERSIONLOCK_CONF,
        file(include_str!("../../test_data/dnf/no-plugins-versionlock.conf")),
    );
    gathered.insert(
        dnf::VERSIONLOCK_LIST,
        file(include_str!("../../test_data/dnf/no-plugins-versionlock.list")),
    );
    assert_eq!(batch_argv(&gathered), batch_argv(&first_probes()));
    gathered.insert(dnf::BATCH, captured!("no-plugins-dnf-batch"));
    let state = dnf::assemble(&gathered).unwrap();
    assert!(state.held.is_empty());
    assert!(state.updates.iter().any(|u| u.name == "acme-pinned"));
    assert!(!state.reboot.required);
    assert_eq!(state.services_needing_restart, None);
}

#[test]
fn a_broken_repository_fails_the_step_that_read_it() {
    let mut gathered = host_with_updates();
    gathered.insert(dnf::BATCH, captured!("broken-repo-dnf-batch"));
    let err = dnf::assemble(&gathered).unwrap_err();
    assert_eq!(err.step, dnf::CHECK_UPDATE);
    assert!(err.to_string().contains("Failed to download metadata for repo 'acme-updates'"));
}

#[test]
fn without_dnf_or_its_python_module() {
    let mut gathered = host_with_updates();
    gathered.insert(dnf::BATCH, captured!("no-dnf-module-dnf-batch"));
    let err = dnf::assemble(&gathered).unwrap_err();
    assert_eq!(err.step, dnf::BATCH);
    assert!(
        matches!(&err.problem, Problem::Failed { exit_code: 1, stderr_tail } if stderr_tail.contains("No module named 'dnf'")),
        "{err}"
    );

    let mut gathered = first_probes();
    gathered.insert(dnf::DNF_SCRIPT, ProbeOutput::File(None));
    assert!(dnf::followup_probes(&gathered).is_empty());
    let err = dnf::assemble(&gathered).unwrap_err();
    assert_eq!((err.step.as_str(), err.problem), (dnf::DNF_SCRIPT, Problem::ToolMissing));
}

/// Text made of the pieces dnf's and rpm's outputs are made of, in any order, plus arbitrary
/// characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just(" ".to_owned()),
        Just("    ".to_owned()),
        Just("\t".to_owned()),
        Just(":".to_owned()),
        Just("-".to_owned()),
        Just(".noarch".to_owned()),
        Just(".x86_64".to_owned()),
        Just("(none)".to_owned()),
        Just("@System".to_owned()),
        Just("Obsoleting Packages\n".to_owned()),
        Just(
            "Last metadata expiration check: 0:00:02 ago on Sat Nov 21 23:09:29 2026.\n".to_owned()
        ),
        Just("Security: ".to_owned()),
        Just("Critical/Sec.".to_owned()),
        Just("Unknown/Sec.".to_owned()),
        Just("bugfix".to_owned()),
        Just("no package provides installonlypkg(kernel)\n".to_owned()),
        Just("Core libraries or services have been updated since boot-up:\n".to_owned()),
        Just("  * ".to_owned()),
        Just("!".to_owned()),
        Just("patchctl-dnf-batch 1\n".to_owned()),
        Just("plugins versionlock.py\n".to_owned()),
        Just("command 1 exit 0 stdout 3 stderr 0\n".to_owned()),
        Just("end 6\n".to_owned()),
        Just("[main]\nenabled=1\nlocklist=/etc/dnf/plugins/versionlock.list\n".to_owned()),
        "[a-z0-9.+~^_-]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

/// A batch output framing `outputs` (exit code, standard output, standard error), one per
/// command of the batch: hostile text in real framing reaches the parsers behind it.
fn framed(outputs: &[(i32, String, String)]) -> String {
    let mut text = String::from("patchctl-dnf-batch 1\nplugins versionlock.py\n");
    for (i, (code, stdout, stderr)) in outputs.iter().enumerate() {
        text.push_str(&format!(
            "command {} exit {code} stdout {} stderr {}\n{stdout}{stderr}",
            i + 1,
            stdout.len(),
            stderr.len()
        ));
    }
    text.push_str(&format!("end {}\n", outputs.len()));
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn dnf_assemble_never_panics(
        rpm_qa in hostile_text(),
        check_update in hostile_text(),
        updateinfo in hostile_text(),
        other in hostile_text(),
        exit_code in prop_oneof![Just(0), Just(1), Just(2), Just(100)],
    ) {
        // Every probe answers with hostile text, the batch and the files included.
        let mut gathered = host_with_updates();
        let all_probes: Vec<_> =
            dnf::probes().into_iter().chain(dnf::followup_probes(&gathered)).collect();
        for spec in &all_probes {
            let output = match spec.probe {
                Probe::Run(_) => ProbeOutput::Ran { exit_code, stdout: other.clone(), stderr: other.clone() },
                Probe::ReadFile(_) => ProbeOutput::File(Some(other.clone())),
                Probe::ListDir(_) => ProbeOutput::Dir(Some(vec![other.clone()])),
            };
            gathered.insert(spec.key, output);
        }
        let _ = dnf::assemble(&gathered);

        // The batch is well framed, and its commands' outputs are hostile.
        let mut gathered = host_with_updates();
        let ran = |stdout: &str| ProbeOutput::Ran { exit_code, stdout: stdout.to_owned(), stderr: String::new() };
        gathered.insert(dnf::RPM_QA, ran(&format!("acme\t(none)\t1.0\t1\tnoarch\n{rpm_qa}")));
        let mut outputs = vec![(exit_code, other.clone(), other.clone()); 6];
        outputs[0] = (exit_code, check_update.clone(), String::new());
        outputs[1] = (exit_code, updateinfo.clone(), String::new());
        gathered.insert(dnf::BATCH, ran(&framed(&outputs)));
        let _ = dnf::assemble(&gathered);
    }

    #[test]
    fn dnf_parsers_never_panic(text in hostile_text()) {
        let _ = dnf::Evr::parse(&text);
        let _ = dnf::Nevra::parse(&text);
    }
}
