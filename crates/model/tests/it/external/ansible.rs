//! Every Ansible inventory of `../shared/data/external/inventories/` imported as
//! `patchctl hosts import-ansible` imports it, and compared with what `ansible-inventory --list`
//! made of it (`expected.tsv`: one row a host with its address, port, user and connection, or
//! `!refuse`, or `!empty`). `verdicts.tsv` names the few files where another answer is
//! acceptable, and which.
//!
//! A host Ansible reaches by a connection patchctl does not have (winrm, a network plugin) must
//! be left out with a warning naming it; every other host must be imported with the same
//! address, port, user, and the ssh or local transport.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use model::TransportKind;
use model::inventory::ansible::{self, AnsibleImport, ImportConfig};

use super::corpus;

#[derive(Debug, Clone, PartialEq, Eq)]
struct ExpectedHost {
    address: String,
    /// As Ansible gives it (a template's is `@PORT`).
    port: Option<String>,
    user: Option<String>,
    connection: String,
}

enum Expected {
    Refuse,
    Empty,
    Hosts(BTreeMap<String, ExpectedHost>),
}

enum Verdict {
    /// Ansible imports it; a refusal whose message contains one of these is acceptable too.
    RefuseOk(Vec<String>),
    /// Ansible refuses it; so must we, with a message containing one of these.
    RefuseMsg(Vec<String>),
    /// Ansible refuses it; importing it is acceptable too.
    ImportOk,
}

fn expected() -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(corpus("inventories/expected.tsv")).unwrap();
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [file, host, address, port, user, connection] = fields[..] else {
            panic!("expected.tsv: {line:?}")
        };
        let entry = match host {
            "!refuse" => Expected::Refuse,
            "!empty" => Expected::Empty,
            _ => {
                let mut hosts = match out.remove(file) {
                    Some(Expected::Hosts(hosts)) => hosts,
                    None => BTreeMap::new(),
                    Some(_) => panic!("expected.tsv: {file} has hosts and a verdict"),
                };
                let host_row = ExpectedHost {
                    address: address.to_owned(),
                    port: (!port.is_empty()).then(|| port.to_owned()),
                    user: (!user.is_empty()).then(|| user.to_owned()),
                    connection: connection.to_owned(),
                };
                hosts.insert(host.to_owned(), host_row);
                Expected::Hosts(hosts)
            }
        };
        out.insert(file.to_owned(), entry);
    }
    out
}

/// `verdicts.tsv`'s regular expressions are plain alternatives of words here: `\{\{`, `toml`,
/// `encrypt`, `@(HOST|PORT|…)`.
fn verdicts() -> BTreeMap<String, Verdict> {
    let text = std::fs::read_to_string(corpus("inventories/verdicts.tsv")).unwrap();
    let alternatives = |pattern: &str| -> Vec<String> {
        match pattern {
            r"\{\{" => vec!["{{".to_owned()],
            "@(HOST|PORT|NAME|USER|OS)" => {
                ["HOST", "PORT", "NAME", "USER", "OS"].iter().map(|w| format!("@{w}")).collect()
            }
            word if word.chars().all(char::is_alphanumeric) => vec![word.to_owned()],
            other => panic!("verdicts.tsv: a pattern this test does not know: {other:?}"),
        }
    };
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let verdict = if let Some(pattern) = fields[1].strip_prefix("refuse-ok:") {
            Verdict::RefuseOk(alternatives(pattern))
        } else if let Some(pattern) = fields[1].strip_prefix("refuse-msg:") {
            Verdict::RefuseMsg(alternatives(pattern))
        } else if fields[1] == "import-ok" {
            Verdict::ImportOk
        } else {
            panic!("verdicts.tsv: {line:?}")
        };
        out.insert(fields[0].to_owned(), verdict);
    }
    out
}

fn import(file: &str) -> Result<AnsibleImport, String> {
    let path = corpus("inventories/files").join(file);
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let config = ImportConfig { environment: "production".to_owned() };
    ansible::import(Path::new(file), &text, &config).map_err(|e| e.to_string())
}

/// What disagrees between our import and Ansible's; empty when they agree.
fn compare(
    file: &str,
    ours: &Result<AnsibleImport, String>,
    theirs: &Expected,
    verdict: Option<&Verdict>,
) -> String {
    let mut problems = String::new();
    // Each message begins with the file's name, which must not count as saying why.
    let refusal_ok = |message: &str, words: &[String]| {
        message.lines().all(|line| {
            let why = line.strip_prefix(file).unwrap_or(line);
            words.iter().any(|w| why.to_lowercase().contains(&w.to_lowercase()))
        })
    };
    match (ours, theirs, verdict) {
        (Err(message), Expected::Refuse, Some(Verdict::RefuseMsg(words))) => {
            if !refusal_ok(message, words) {
                let _ = write!(problems, "refused, but not saying any of {words:?}: {message}");
            }
        }
        (Err(_), Expected::Refuse, _) => {}
        (Ok(_), Expected::Refuse, Some(Verdict::ImportOk)) => {}
        (Ok(imported), Expected::Refuse, _) => {
            let names: Vec<&str> =
                imported.inventory.hosts().iter().map(|h| h.name.as_str()).collect();
            let _ = write!(problems, "Ansible refuses it; we imported {names:?}");
        }
        (Err(message), Expected::Hosts(_), Some(Verdict::RefuseOk(words)))
            if refusal_ok(message, words) => {}
        (Err(message), _, _) => {
            let _ = write!(problems, "we refused it, Ansible does not: {message}");
        }
        (Ok(imported), Expected::Empty, _) => {
            if !imported.inventory.hosts().is_empty() {
                let _ = write!(problems, "Ansible finds no host; we imported some");
            }
        }
        (Ok(imported), Expected::Hosts(hosts), _) => {
            problems = compare_hosts(imported, hosts);
        }
    }
    if problems.is_empty() { problems } else { format!("{file}: {problems}\n") }
}

fn compare_hosts(imported: &AnsibleImport, hosts: &BTreeMap<String, ExpectedHost>) -> String {
    let mut problems = String::new();
    let mut seen = 0;
    for (name, expected) in hosts {
        let ours_name = imported.renamed.get(name).unwrap_or(name);
        let transport = match expected.connection.as_str() {
            ""
            | "ssh"
            | "smart"
            | "paramiko"
            | "paramiko_ssh"
            | "ansible.builtin.ssh"
            | "ansible.builtin.paramiko_ssh" => Some(TransportKind::Ssh),
            "local" | "ansible.builtin.local" => Some(TransportKind::Local),
            _ => None,
        };
        let host = imported.inventory.host(ours_name);
        let (Some(transport), Some(host)) = (transport, host) else {
            if transport.is_none() && host.is_none() {
                // Left out: there must be a warning saying so.
                let subject = format!("host {name:?}");
                let warned = imported
                    .warnings
                    .iter()
                    .any(|w| w.subject == subject && w.message.contains("not imported"));
                if !warned {
                    let _ = write!(problems, "{name} left out without a warning; ");
                }
            } else if host.is_none() {
                let _ = write!(problems, "{name} missing; ");
            } else {
                let _ = write!(
                    problems,
                    "{name} imported, but its connection {:?} is not ours; ",
                    expected.connection
                );
            }
            continue;
        };
        seen += 1;
        if host.transport != transport {
            let _ = write!(
                problems,
                "{name}: transport {:?}, Ansible's {:?}; ",
                host.transport, expected.connection
            );
        }
        if transport == TransportKind::Ssh && host.address != expected.address {
            let _ = write!(
                problems,
                "{name}: address {:?}, Ansible's {:?}; ",
                host.address, expected.address
            );
        }
        if host.port.to_string() != expected.port.as_deref().unwrap_or("22") {
            let _ = write!(problems, "{name}: port {}, Ansible's {:?}; ", host.port, expected.port);
        }
        if let Some(user) = &expected.user
            && &host.user != user
        {
            let _ = write!(problems, "{name}: user {:?}, Ansible's {user:?}; ", host.user);
        }
    }
    let extra = imported.inventory.hosts().len() - seen;
    if extra > 0 {
        let _ = write!(problems, "{extra} hosts more than Ansible's; ");
    }
    problems
}

#[test]
fn every_inventory_imports_as_ansible_reads_it() {
    let expected = expected();
    let verdicts = verdicts();
    let mut files: Vec<String> = std::fs::read_dir(corpus("inventories/files"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 119, "the corpus has 119 inventories");
    let mut problems = String::new();
    let mut refused_where_ansible_imports = Vec::new();
    for file in &files {
        let theirs = expected.get(file).unwrap_or_else(|| panic!("{file}: not in expected.tsv"));
        let ours = import(file);
        if ours.is_err() && matches!(theirs, Expected::Hosts(_)) {
            refused_where_ansible_imports.push(file.as_str());
        }
        problems.push_str(&compare(file, &ours, theirs, verdicts.get(file)));
    }
    assert!(problems.is_empty(), "disagreements with Ansible:\n{problems}");
    // Only the templates, whose `ansible_host` is a Jinja expression or a placeholder that
    // Ansible itself renders at run time; the TOML inventories are imported.
    assert_eq!(
        refused_where_ansible_imports,
        [
            "ansible-test-inventory.networking.template.ini",
            "ansible-test-inventory.winrm.template.ini",
            "connection_paramiko_ssh-test_connection.ini",
            "delegate_to-inventory.ini",
        ]
    );
}
