//! Ansible inventories from `test_data/inventory/ansible/`: each imports to the TOML beside it
//! (`NAME.EXT.toml`) with the warnings beside it (`NAME.EXT.warnings`), or fails with the
//! messages beside it (`NAME.EXT.errors`). `PATCHCTL_BLESS=1` rewrites them.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::inventory::TransportKind;
use crate::inventory::tests::{cases, expect_file, render};

fn config() -> ImportConfig {
    ImportConfig { environment: "production".to_owned() }
}

fn sibling(case: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = case.file_name().unwrap().to_os_string();
    name.push(suffix);
    case.with_file_name(name)
}

/// The inventories among the files: `NAME.toml` is one, `NAME.ini.toml` what `NAME.ini`
/// imports to.
fn inventories() -> Vec<std::path::PathBuf> {
    let extensions = ["ini", "yml", "toml"];
    let snapshot = |case: &Path| {
        let stem = Path::new(case.file_stem().unwrap());
        stem.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e))
    };
    cases("ansible", &extensions).into_iter().filter(|case| !snapshot(case)).collect()
}

#[test]
fn ansible_inventories() {
    for case in inventories() {
        let text = std::fs::read_to_string(&case).unwrap();
        let name = Path::new(case.file_name().unwrap());
        match import(name, &text, &config()) {
            Ok(imported) => {
                let warnings: String = imported.warnings.iter().map(|w| format!("{w}\n")).collect();
                expect_file(&sibling(&case, ".warnings"), &warnings);
                expect_file(&sibling(&case, ".toml"), &imported.toml);
                expect_file(&sibling(&case, ".resolved"), &render(&imported.inventory));
            }
            Err(error) => expect_file(&sibling(&case, ".errors"), &format!("{error}\n")),
        }
    }
}

/// INI and YAML say the same thing in `docs.ini` and `docs.yml` where they overlap.
#[test]
fn the_docs_examples_resolve_as_ansible_would() {
    let ini =
        std::fs::read_to_string(crate::inventory::tests::test_data("ansible/docs.ini")).unwrap();
    let imported = import(Path::new("docs.ini"), &ini, &config()).unwrap();
    let inventory = &imported.inventory;
    let host = |name: &str| inventory.host(name).unwrap_or_else(|| panic!("{name} missing"));
    // Ranges expand; a host variable beats `all`.
    for name in ["www01.example.com", "www02.example.com", "www03.example.com"] {
        assert_eq!(host(name).user, "deploy");
    }
    assert_eq!(host("mail.example.com").user, "admin");
    assert!(host("mail.example.com").groups.is_empty());
    // host:port, and ansible_host.
    assert_eq!(host("bar.example.com").port, 5309);
    assert_eq!(host("two.example.com").address, "192.0.2.50");
    assert_eq!(host("three.example.com").ssh_key.as_deref(), Some(Path::new("~/.ssh/db_ed25519")));
    // Group of groups: southeast's port reaches atlanta's and raleigh's hosts.
    assert_eq!(host("host1").port, 2200);
    assert_eq!(host("host2").groups, ["atlanta", "raleigh", "southeast", "usa"]);
    assert_eq!(host("host1").vars["ntp_server"], "ntp.atlanta.example.com");
    assert!(host("host3").sudo);
    assert_eq!(host("control").transport, TransportKind::Local);
    // winrm is not something patchctl can drive: left out, with a warning.
    assert!(inventory.host("win1.example.com").is_none());
    assert!(imported.warnings.iter().any(|w| w.subject == "host \"win1.example.com\""
        && w.message.contains("not imported")));
    // Every variable patchctl does not act on is a warning naming it and its place.
    let warning = imported
        .warnings
        .iter()
        .find(|w| {
            w.variable.as_deref() == Some("maxRequestsPerChild") && w.subject == "host \"host1\""
        })
        .unwrap();
    assert_eq!((warning.line, warning.column), (17, 20));

    let yaml =
        std::fs::read_to_string(crate::inventory::tests::test_data("ansible/docs.yml")).unwrap();
    let imported = import(Path::new("docs.yml"), &yaml, &config()).unwrap();
    let inventory = &imported.inventory;
    let host = |name: &str| inventory.host(name).unwrap_or_else(|| panic!("{name} missing"));
    assert_eq!(host("www02.example.com").user, "deploy");
    assert_eq!(host("bar.example.com").port, 5555);
    assert_eq!(host("foo.example.com").groups, ["east", "prod", "webservers"]);
    assert!(host("foo.example.com").sudo);
    assert_eq!(
        host("one.example.com").vars["ntp_servers"],
        "[\"ntp1.example.com\", \"ntp2.example.com\"]"
    );
    assert_eq!(host("one.example.com").vars["retries"], "3");
    let warning =
        imported.warnings.iter().find(|w| w.variable.as_deref() == Some("retries")).unwrap();
    assert_eq!((warning.line, warning.column), (43, 9));
}

#[test]
fn the_output_round_trips() {
    for case in inventories() {
        let text = std::fs::read_to_string(&case).unwrap();
        if let Ok(imported) = import(Path::new(case.file_name().unwrap()), &text, &config()) {
            let again = Inventory::parse(Path::new("inventory.toml"), &imported.toml).unwrap();
            assert_eq!(again, imported.inventory);
        }
    }
}

#[test]
fn the_environment_must_be_a_valid_name() {
    let error = import(Path::new("hosts"), "a\n", &ImportConfig { environment: "Prod".to_owned() })
        .unwrap_err();
    assert!(error.to_string().contains("the environment to import into"), "{error}");
}

/// The first error of importing `text` as `name`, or `ok`.
fn first_error(name: &str, text: &str) -> String {
    match import(Path::new(name), text, &config()) {
        Ok(_) => "ok".to_owned(),
        Err(error) => error.errors[0].to_string(),
    }
}

/// `[g0:children] g1`, `[g1:children] g2`, …: `n` groups, each the child of the one before,
/// the last one holding a host; closed into a cycle when `cycle`.
fn ini_chain(n: usize, cycle: bool) -> String {
    let mut text: String = (0..n - 1).map(|i| format!("[g{i}:children]\ng{}\n", i + 1)).collect();
    text.push_str(&format!("[g{}]\nh1 ansible_host=192.0.2.1\n", n - 1));
    if cycle {
        text.push_str(&format!("[g{}:children]\ng0\n", n - 1));
    }
    text
}

/// The same chain in YAML, every group at the top level under `all`'s children.
fn yaml_chain(n: usize) -> String {
    let mut text = "all:\n  children:\n".to_owned();
    for i in 0..n - 1 {
        text.push_str(&format!("    g{i}:\n      children:\n        g{}:\n", i + 1));
    }
    text.push_str(&format!(
        "    g{}:\n      hosts:\n        h1:\n          ansible_host: 192.0.2.1\n",
        n - 1
    ));
    text
}

/// A hostile inventory gets a clear error naming the file and the line, never a hang.
#[test]
fn hostile_inventories_are_refused_with_the_place() {
    let long = "h".repeat(MAX_LINE_BYTES + 1);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "hosts",
            format!("[web]\n{long}\n"),
            "hosts:2:1: this line is 65537 bytes long, more than the 65536 an inventory line may have",
        ),
        (
            "hosts.yml",
            format!("all:\n  hosts:\n    {long}:\n"),
            "hosts.yml:3:1: this line is 65542 bytes",
        ),
        ("hosts", format!("[web]\n{}\n", "h".repeat(MAX_LINE_BYTES)), "ok"),
        // 10,000 groups each the child of the one before: refused at the 65th.
        ("hosts", ini_chain(10_000, false), "hosts:129:1: group \"g64\" is nested 65 deep"),
        ("hosts.yml", yaml_chain(10_000), "hosts.yml:194:9: group \"g64\" is nested 65 deep"),
        ("hosts", ini_chain(MAX_GROUP_DEPTH, false), "ok"),
        ("hosts.yml", yaml_chain(MAX_GROUP_DEPTH), "ok"),
        // A cycle, short or through 10,000 groups, is an error at an entry that closes it.
        (
            "hosts",
            "[a:children]\nb\n[b:children]\na\n[a]\nh1 ansible_host=192.0.2.1\n".to_owned(),
            "hosts:2:1: group \"a\" lists child \"b\", which contains \"a\": children must not form a cycle",
        ),
        (
            "hosts",
            ini_chain(10_000, true),
            "hosts:2:1: group \"g0\" lists child \"g1\", which contains \"g0\"",
        ),
    ];
    for (name, text, expected) in cases {
        let actual = first_error(name, &text);
        assert!(actual.starts_with(expected), "{name} {:.60}…: {actual}", text);
    }
}

/// In a chain as deep as allowed, a host gets every group above it, the deepest one's
/// variables winning.
#[test]
fn a_deep_chain_within_the_limit_resolves_with_ansible_precedence() {
    let mut text = ini_chain(MAX_GROUP_DEPTH, false);
    for i in 0..MAX_GROUP_DEPTH {
        text.push_str(&format!("[g{i}:vars]\nansible_port={}\n", 2000 + i));
    }
    let imported = import(Path::new("hosts"), &text, &config()).unwrap();
    let host = imported.inventory.host("h1").unwrap();
    assert_eq!(host.port, 2000 + MAX_GROUP_DEPTH as u16 - 1);
    assert_eq!(host.groups.len(), MAX_GROUP_DEPTH);
}

/// Text made of the pieces INI and YAML inventories are made of, plus arbitrary characters.
fn ansible_like_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[web]\n".to_owned()),
        Just("[web:vars]\n".to_owned()),
        Just("[web:children]\n".to_owned()),
        Just("[all:vars]\n".to_owned()),
        Just("h[01:0".to_owned()),
        Just("3]".to_owned()),
        Just(" ansible_port=".to_owned()),
        Just(" ansible_host=".to_owned()),
        Just(" ansible_connection=local".to_owned()),
        Just("all:\n".to_owned()),
        Just("  children:\n".to_owned()),
        Just("    web:\n".to_owned()),
        Just("      hosts:\n".to_owned()),
        Just("        h1:\n".to_owned()),
        Just("  vars:\n".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("\n".to_owned()),
        "[a-z0-9:.=\\[\\] -]{0,10}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn importing_never_panics_and_what_imports_round_trips(text in ansible_like_text()) {
        for format in [AnsibleFormat::Ini, AnsibleFormat::Yaml, AnsibleFormat::Toml] {
            if let Ok(imported) = import_as(format, Path::new("hosts"), &text, &[], &config()) {
                let again = Inventory::parse(Path::new("inventory.toml"), &imported.toml);
                prop_assert_eq!(again.ok(), Some(imported.inventory));
            }
        }
    }

    #[test]
    fn host_patterns_never_panic(pattern in "[a-z0-9\\[\\]:]{0,16}") {
        let _ = range::split_port(&pattern).map(|(names, _)| range::expand(names));
    }
}

/// Flow style, two hosts a line: most keys start no line, and finding each is a lookup, not a
/// search through the text (this took minutes when it was).
#[test]
fn keys_that_start_no_line_are_not_searched_for_through_the_text() {
    let mut text = "all:\n  hosts: {\n".to_owned();
    for i in 0..5_000 {
        text.push_str(&format!(
            "    a{i}: {{ansible_host: 192.0.2.1, x: 1}}, b{i}: {{ansible_host: 192.0.2.2}},\n"
        ));
    }
    text.push_str("  }\n");
    let imported = import(Path::new("hosts.yml"), &text, &config()).unwrap();
    assert_eq!(imported.inventory.hosts().len(), 10_000);
    // `x` of a1 starts no line: its warning is at its host's key.
    let warning = imported.warnings.iter().find(|w| w.subject == "host \"a1\"").unwrap();
    assert_eq!((warning.line, warning.column), (4, 5));
}

/// `test_data/inventory/ansible-vars/`: an inventory with `group_vars/` and `host_vars/`
/// beside it imports with the address, port and user `ansible-inventory --list` gave each host
/// (captured beside it), and the file that names no host is a warning.
#[test]
fn vars_folders_as_ansible_reads_them() {
    let folder = crate::inventory::tests::test_data("ansible-vars");
    let mut paths = Vec::new();
    let mut pending = vec![folder.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { pending.push(path) } else { paths.push(path) }
        }
    }
    paths.sort();
    let vars_files: Vec<VarsFile> = paths
        .iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&folder).unwrap();
            let scope = vars_scope(relative)?;
            let text = std::fs::read_to_string(path).unwrap();
            Some(VarsFile { path: relative.to_path_buf(), scope, text })
        })
        .collect();
    assert_eq!(vars_files.len(), 7, "{vars_files:#?}");
    let text = std::fs::read_to_string(folder.join("hosts.ini")).unwrap();
    let imported = import_with_vars(Path::new("hosts.ini"), &text, &vars_files, &config()).unwrap();
    let captured: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("ansible-inventory-list.json")).unwrap(),
    )
    .unwrap();
    let hostvars = captured["_meta"]["hostvars"].as_object().unwrap();
    assert_eq!(imported.inventory.hosts().len(), hostvars.len());
    for (name, vars) in hostvars {
        let host = imported.inventory.host(name).unwrap();
        assert_eq!(host.address, vars.get("ansible_host").and_then(|v| v.as_str()).unwrap_or(name));
        assert_eq!(Some(u64::from(host.port)), vars["ansible_port"].as_u64(), "{name}");
        assert_eq!(host.user, vars["ansible_user"].as_str().unwrap(), "{name}");
    }
    let warnings: Vec<String> = imported.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("host_vars/ghost.yml:1:1: warning: host \"ghost.yml\"")
                && w.contains("no host \"ghost\"")),
        "{warnings:#?}"
    );
    // A kept variable from a group's file is warned about at its line in that file.
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("group_vars/web.yml:2:1:") && w.contains("ntp_server")),
        "{warnings:#?}"
    );
}

/// A variables file's errors point into it.
#[test]
fn a_bad_vars_file_is_refused_at_its_line() {
    let file = |path: &str, text: &str| VarsFile {
        path: path.into(),
        scope: vars_scope(Path::new(path)).unwrap(),
        text: text.to_owned(),
    };
    let inventory = "[web]\nweb1\n";
    for (vars, expected) in [
        (
            file("group_vars/web.yml", "ansible_port: 22\nansible_user: 'a b'\n"),
            "group_vars/web.yml:2:1: ansible_user: user \"a b\" contains ' '",
        ),
        (file("group_vars/web.yml", "a: [\n"), "group_vars/web.yml:2:1: invalid YAML"),
        (file("host_vars/web1", "- a list\n"), "host_vars/web1:1:1: expected a mapping"),
        (
            file("group_vars/all", "$ANSIBLE_VAULT;1.1;AES256\n6162\n"),
            "group_vars/all:1:1: the file is encrypted with ansible-vault",
        ),
    ] {
        let error =
            import_with_vars(Path::new("hosts"), inventory, &[vars], &config()).unwrap_err();
        assert!(error.to_string().starts_with(expected), "{error}");
    }
}
