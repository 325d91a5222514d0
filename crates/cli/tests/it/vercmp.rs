//! `patchctl vercmp` from the command line.

use assert_cmd::Command;

fn vercmp(args: &[&str]) -> (bool, String, String) {
    let output = Command::cargo_bin("patchctl").unwrap().arg("vercmp").args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn single_pairs() {
    assert_eq!(vercmp(&["deb", "1.0~rc1", "1.0"]).1, "<\n");
    assert_eq!(vercmp(&["deb", "1:0.9", "2.0"]).1, ">\n");
    assert_eq!(vercmp(&["deb", "1.0-1", "1.0-01"]).1, "=\n");
    assert_eq!(vercmp(&["rpm", "1.0^git1", "1.0"]).1, ">\n");
    assert_eq!(vercmp(&["rpm", "1.0~rc1", "1.0"]).1, "<\n");
}

#[test]
fn batch_reads_pairs_from_standard_input() {
    let output = Command::cargo_bin("patchctl")
        .unwrap()
        .args(["vercmp", "deb", "--batch"])
        .write_stdin("1.0 1.1\n2:1 1:9\n1.0 1.0\n")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "<\n>\n=\n");
}

#[test]
fn a_bad_version_is_named() {
    let (ok, _, stderr) = vercmp(&["deb", "a:1.0", "1.0"]);
    assert!(!ok);
    assert!(stderr.contains("a:1.0"), "{stderr}");
    let output = Command::cargo_bin("patchctl")
        .unwrap()
        .args(["vercmp", "deb", "--batch"])
        .write_stdin("1.0 1.1\n1.0\n")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 2"));
}
