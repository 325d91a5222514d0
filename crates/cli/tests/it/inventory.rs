//! `patchctl init`, `hosts list|show` and `hosts import-ansible` from the command line.

use assert_cmd::Command;

fn patchctl(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("patchctl")
        .unwrap()
        .arg("--config")
        .arg(dir.join("patchctl.toml"))
        .args(args)
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn init_writes_an_inventory_and_a_state_database_once() {
    let dir = temp_dir("init");
    let output = patchctl(&dir, &["init"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(dir.join("patchctl.db").exists());
    let list = patchctl(&dir, &["hosts", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("localhost"));
    let show = patchctl(&dir, &["hosts", "show", "localhost"]);
    assert!(String::from_utf8_lossy(&show.stdout).contains("local"));
    let again = patchctl(&dir, &["init"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
}

#[test]
fn a_malformed_inventory_is_refused_at_its_line_and_column() {
    let dir = temp_dir("malformed");
    std::fs::write(
        dir.join("patchctl.toml"),
        "[defaults]\nenvironment = \"dev\"\n\n[hosts.web1]\nadress = \"192.0.2.1\"\n",
    )
    .unwrap();
    let output = patchctl(&dir, &["assess", "all"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("patchctl.toml:5:1: unknown field \"adress\""), "{stderr}");
    std::fs::write(
        dir.join("patchctl.toml"),
        "[hosts.web1]\naddress = \"192.0.2.1; reboot\"\nenvironment = \"dev\"\n",
    )
    .unwrap();
    let stderr = String::from_utf8_lossy(&patchctl(&dir, &["hosts", "list"]).stderr).into_owned();
    assert!(stderr.contains("patchctl.toml:2:11") && stderr.contains("';'"), "{stderr}");
}

#[test]
fn import_ansible_ini_and_yaml() {
    let dir = temp_dir("ansible");
    std::fs::write(
        dir.join("hosts.ini"),
        "[web]\nweb[1:2].example.com ansible_user=admin\n\n[db]\ndb1 ansible_host=192.0.2.5 ansible_port=2222 http_port=80\n\n[prod:children]\nweb\ndb\n",
    )
    .unwrap();
    let output = patchctl(
        &dir,
        &[
            "hosts",
            "import-ansible",
            dir.join("hosts.ini").to_str().unwrap(),
            "--environment",
            "staging",
        ],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let toml = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("http_port"),
        "unknown variables are warned about"
    );
    std::fs::write(dir.join("patchctl.toml"), &toml).unwrap();
    let list = String::from_utf8_lossy(&patchctl(&dir, &["hosts", "list"]).stdout).into_owned();
    assert!(list.contains("web1.example.com") && list.contains("web2.example.com"), "{list}");
    assert!(list.contains("192.0.2.5:2222"), "{list}");

    std::fs::write(
        dir.join("hosts.yml"),
        "all:\n  children:\n    web:\n      hosts:\n        web3.example.com:\n          ansible_user: deploy\n",
    )
    .unwrap();
    let output =
        patchctl(&dir, &["hosts", "import-ansible", dir.join("hosts.yml").to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("web3.example.com"));
}

/// The group_vars/ and host_vars/ folders beside the inventory are read (the case and what
/// Ansible made of it are in model's test data).
#[test]
fn import_ansible_reads_the_vars_folders_beside_the_inventory() {
    let dir = temp_dir("ansible-vars");
    let inventory = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../model/test_data/inventory/ansible-vars/hosts.ini");
    let output = patchctl(&dir, &["hosts", "import-ansible", inventory.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let toml = String::from_utf8_lossy(&output.stdout).into_owned();
    std::fs::write(dir.join("patchctl.toml"), &toml).unwrap();
    let show = |host: &str| {
        String::from_utf8_lossy(&patchctl(&dir, &["hosts", "show", host]).stdout).into_owned()
    };
    assert!(show("web1.example.com").contains("fromhostfile"), "{toml}");
    assert!(show("db1").contains("192.0.2.11:2203"), "{toml}");
    assert!(stderr.contains("host_vars/ghost.yml:1:1: warning"), "{stderr}");
}

/// The PostgreSQL pool's settings from the environment are checked before anything runs,
/// the message naming the setting and its range.
#[test]
fn a_pool_setting_out_of_range_is_refused_naming_it() {
    let dir = temp_dir("pool");
    let cases = [
        ("PATCHCTL_DB_MAX_CONNECTIONS", "0", "--db-max-connections", "1..=1000"),
        ("PATCHCTL_DB_ACQUIRE_TIMEOUT_SECONDS", "9999", "--db-acquire-timeout-seconds", "1..=3600"),
    ];
    for (variable, value, flag, range) in cases {
        let output = std::process::Command::new(crate::support::PATCHCTL)
            .current_dir(&dir)
            .env(variable, value)
            .args(["hosts"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = crate::support::text(&output.stderr);
        assert!(stderr.contains(flag) && stderr.contains(range), "{stderr}");
    }
}
