//! Inventories from `test_data/inventory/`: each valid one against a rendering of its resolved
//! hosts, each invalid one against its messages. `PATCHCTL_BLESS=1 cargo test -p model` rewrites
//! the expected files after a deliberate change; review them with `git diff`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

pub(crate) fn test_data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/inventory").join(relative)
}

/// Compares `actual` with the file `expected`, or writes it when blessing.
pub(crate) fn expect_file(expected: &Path, actual: &str) {
    if std::env::var_os("PATCHCTL_BLESS").is_some() {
        std::fs::write(expected, actual).unwrap();
        return;
    }
    let wanted = std::fs::read_to_string(expected)
        .unwrap_or_else(|_| panic!("{} is missing: run with PATCHCTL_BLESS=1", expected.display()));
    assert!(
        wanted == actual,
        "{} differs (PATCHCTL_BLESS=1 rewrites it):\n--- expected\n{wanted}\n--- actual\n{actual}",
        expected.display()
    );
}

/// The `.toml` files of a folder, sorted.
pub(crate) fn cases(folder: &str, extensions: &[&str]) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(test_data(folder))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {folder}");
    cases
}

/// One line per host and per group, every resolved field.
pub(crate) fn render(inventory: &Inventory) -> String {
    let mut out = String::new();
    for h in inventory.hosts() {
        let _ = writeln!(
            out,
            "host {} address={} port={} user={} sudo={} transport={} environment={}",
            h.name,
            h.address,
            h.port,
            h.user,
            h.sudo,
            h.transport.as_str(),
            h.environment
        );
        let _ = writeln!(out, "  groups=[{}] tags=[{}]", h.groups.join(","), h.tags.join(","));
        let optional = [
            ("owner", h.owner.clone()),
            ("ssh_key", h.ssh_key.as_ref().map(|k| k.display().to_string())),
            ("package_manager", h.package_manager.map(|p| p.to_string())),
            ("host_key", h.host_key.clone()),
            ("checks", h.checks.as_ref().map(|c| format!("{c:?}"))),
            ("hooks", h.hooks.as_ref().map(|c| format!("{c:?}"))),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                let _ = writeln!(out, "  {name}={value}");
            }
        }
        for (name, value) in &h.vars {
            let _ = writeln!(out, "  vars.{name}={value:?}");
        }
    }
    for g in inventory.groups() {
        let _ = writeln!(
            out,
            "group {} hosts=[{}] children=[{}] owner={:?} vars={:?}",
            g.name,
            g.hosts.join(","),
            g.children.join(","),
            g.owner,
            g.vars
        );
    }
    out
}

#[test]
fn valid_inventories() {
    for case in cases("valid", &["toml"]) {
        let text = std::fs::read_to_string(&case).unwrap();
        let name = Path::new(case.file_name().unwrap());
        let inventory = Inventory::parse(name, &text).unwrap_or_else(|e| panic!("{e}"));
        expect_file(&case.with_extension("expected"), &render(&inventory));
    }
}

#[test]
fn invalid_inventories() {
    for case in cases("invalid", &["toml"]) {
        let text = std::fs::read_to_string(&case).unwrap();
        let name = Path::new(case.file_name().unwrap());
        let error = Inventory::parse(name, &text).map(|_| ()).unwrap_err();
        expect_file(&case.with_extension("expected"), &format!("{error}\n"));
    }
}

#[test]
fn a_typo_in_a_key_points_at_it_and_suggests_the_word() {
    let text = "[hosts.deb1]\nenvironment = \"dev\"\n    adress = \"10.0.0.1\"\n";
    let error = Inventory::parse(Path::new("inventory.toml"), text).unwrap_err();
    let first = &error.errors[0];
    assert_eq!((first.line, first.column), (3, 5));
    assert!(
        first
            .message
            .starts_with("unknown field \"adress\", expected one of address, environment,")
    );
    assert!(first.message.ends_with("(did you mean \"address\"?)"), "{}", first.message);
    assert!(error.to_string().starts_with("inventory.toml:3:5: unknown field \"adress\""));
}

#[test]
fn a_mistake_in_checks_or_hooks_is_an_error_of_the_file_at_its_position() {
    let cases = [
        (
            "[hosts.deb1]\nenvironment = \"dev\"\naddress = \"x\"\n[hosts.deb1.checks]\nfailing_befor = \"fail\"\n",
            (5, 1),
            "(did you mean \"failing_before\"?)",
        ),
        (
            "[defaults.hooks]\nrefresh = \"sometimes\"\n[hosts.deb1]\nenvironment = \"dev\"\naddress = \"x\"\n",
            (2, 11),
            "expected \"always\", \"never\" or \"if-older-than:DURATION\"",
        ),
        (
            "[checks]\nfailing_before = \"ignore\"\n[hosts.deb1]\nenvironment = \"dev\"\naddress = \"x\"\n",
            (2, 18),
            "unknown variant \"ignore\", expected report or fail",
        ),
        (
            "[groups.web.hooks]\nunit_output_days = -1\n[hosts.deb1]\nenvironment = \"dev\"\naddress = \"x\"\n",
            (2, 20),
            "",
        ),
    ];
    for (text, position, message) in cases {
        let error = Inventory::parse(Path::new("inventory.toml"), text).unwrap_err();
        let first = &error.errors[0];
        assert_eq!((first.line, first.column), position, "{text}: {}", first.message);
        assert!(first.message.contains(message), "{text}: {}", first.message);
    }
}

#[test]
fn defaults_then_groups_then_the_host() {
    let text = std::fs::read_to_string(test_data("valid/full.toml")).unwrap();
    let inventory = Inventory::parse(Path::new("full.toml"), &text).unwrap();
    let web1 = inventory.host("web1").unwrap();
    // `web` is deeper than `linux`, so its value wins; both win over [defaults].
    assert_eq!(web1.vars["site"], "web-default");
    assert_eq!(web1.vars["kernel_cleanup"], "keep-2");
    assert_eq!(web1.vars["maintenance_contact"], "ops@example.com");
    assert_eq!(web1.owner.as_deref(), Some("team-web"));
    assert_eq!(web1.groups, ["linux", "web"]);
    assert_eq!((web1.port, web1.user.as_str(), web1.sudo), (2222, "patch", true));
    let db1 = inventory.host("db1").unwrap();
    assert_eq!(db1.vars["site"], "fra1");
    assert_eq!(db1.owner.as_deref(), Some("team-dba"));
    assert!(!db1.sudo);
    let web2 = inventory.host("web2").unwrap();
    // root needs no sudo unless asked.
    assert_eq!((web2.port, web2.user.as_str(), web2.sudo), (22, "root", false));
    let laptop = inventory.host("laptop").unwrap();
    assert_eq!((laptop.address.as_str(), laptop.transport), ("localhost", TransportKind::Local));
    assert_eq!(inventory.group("linux").unwrap().hosts, ["web1", "web2", "db1"]);
    assert_eq!(inventory.environments(), ["dev", "production", "staging"]);
    assert!(inventory.checks().is_some() && inventory.hooks().is_some());
}

/// 10,000 groups each the child of the one before, a host in the last and one in the first:
/// resolved in one pass over the graph, not one per group and host.
#[test]
fn a_chain_of_ten_thousand_groups_resolves_in_linear_time() {
    let n = 10_000;
    let mut text = "[defaults]\nenvironment = \"dev\"\n".to_owned();
    text.push_str("[hosts.deep]\naddress = \"192.0.2.1\"\ngroups = [\"g9999\"]\n");
    text.push_str("[hosts.top]\naddress = \"192.0.2.2\"\ngroups = [\"g0\"]\n");
    for i in 0..n - 1 {
        text.push_str(&format!(
            "[groups.g{i}]\nchildren = [\"g{}\"]\nvars.level = \"{i}\"\n",
            i + 1
        ));
    }
    let inventory = Inventory::parse(Path::new("inventory.toml"), &text).unwrap();
    let deep = inventory.host("deep").unwrap();
    assert_eq!(deep.groups.len(), n);
    // The deepest group that sets `level` wins.
    assert_eq!(deep.vars["level"], "9998");
    assert_eq!(inventory.host("top").unwrap().groups, ["g0"]);
    assert_eq!(inventory.group("g0").unwrap().hosts, ["deep", "top"]);

    // Closed into a cycle: every entry on it is an error, found in one pass too.
    text.push_str("[groups.g9999]\nchildren = [\"g0\"]\n");
    let error = Inventory::parse(Path::new("inventory.toml"), &text).unwrap_err();
    assert_eq!(error.errors.len(), n);
    assert!(error.errors[0].message.ends_with("children must not form a cycle"), "{error}");
}

#[test]
fn an_empty_file_is_an_empty_inventory() {
    let inventory = Inventory::parse(Path::new("inventory.toml"), "# nothing yet\n").unwrap();
    assert!(inventory.hosts().is_empty() && inventory.groups().is_empty());
}

/// Text made of the pieces inventories are made of, in any order, plus arbitrary characters.
fn inventory_like_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[hosts.h]\n".to_owned()),
        Just("[groups.g]\n".to_owned()),
        Just("[defaults]\n".to_owned()),
        Just("address = \"10.0.0.1\"\n".to_owned()),
        Just("environment = \"dev\"\n".to_owned()),
        Just("groups = [\"g\", \"h\"]\n".to_owned()),
        Just("children = [\"g\", \"x\"]\n".to_owned()),
        Just("port = 70000\n".to_owned()),
        Just("host_key = \"ssh-ed25519 AAAA\"\n".to_owned()),
        Just("\"".to_owned()),
        Just("é".to_owned()),
        Just("\n".to_owned()),
        "[a-z_]{0,8} = ".prop_map(|s| s),
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn parsing_never_panics(text in inventory_like_text()) {
        match Inventory::parse(Path::new("inventory.toml"), &text) {
            Ok(_) => {}
            Err(error) => {
                prop_assert!(!error.errors.is_empty());
                for e in &error.errors {
                    prop_assert!(e.line >= 1 && e.column >= 1);
                }
            }
        }
    }

    #[test]
    fn host_keys_never_panic(text in "(ssh-ed25519|ssh-rsa|x)? ?[A-Za-z0-9+/=]{0,80}") {
        let _ = HostKey::parse(&text);
    }
}

#[test]
fn the_audit_section_names_the_anchor_file() {
    let text = "[audit]\nanchor_file = \"/var/lib/patchctl/anchors\"\nsyslog = true\n\n\
                [hosts.deb1]\naddress = \"10.0.0.1\"\nenvironment = \"dev\"\n";
    let inventory = Inventory::parse(Path::new("inventory.toml"), text).unwrap();
    assert_eq!(
        inventory.audit(),
        &crate::AuditSettings {
            anchor_file: Some("/var/lib/patchctl/anchors".into()),
            syslog: true
        }
    );
    let error = Inventory::parse(Path::new("inventory.toml"), "[audit]\nanchor = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("inventory.toml:2:1: unknown field \"anchor\""), "{error}");
}
