//! `patchctl advisories import`, `cves` and `cve` on the test fleet (one Debian and one RPM
//! host): acme-web's CVEs are listed on every host before patching and none after a rollout,
//! from the RPM repository's own updateinfo and an OSV record for Debian 12 written here in
//! Debian's shape; and, before that updateinfo is imported, from what rpm1's dnf says of its
//! pending updates. The rollout is a `--security-only` plan, which takes an update only an
//! advisory calls security (apt puts acme-tools in the regular suite).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::text;
use crate::test_fleet::TestFleet;

const ACME_WEB_CVES: [&str; 2] = ["CVE-2026-10001", "CVE-2026-10002"];
const ACME_KERNEL_CVE: &str = "CVE-2026-10003";
/// A CVE of our own for acme-tools, which the scenario ships as a bug fix.
const ACME_TOOLS_CVE: &str = "CVE-2026-10009";

/// OSV records for the fleet's Debian 12 hosts, shaped like Debian's DSA records (source
/// package, `introduced: 0`, `fixed`, CVE and DEBIAN-CVE ids in `upstream`).
pub(crate) fn debian_record(id: &str, package: &str, cves: &[&str]) -> String {
    debian_record_scored(id, package, cves, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
}

/// [`debian_record`] with its own CVSS v3.1 vector.
pub(crate) fn debian_record_scored(id: &str, package: &str, cves: &[&str], vector: &str) -> String {
    let upstream: Vec<String> =
        cves.iter().flat_map(|cve| [format!("\"{cve}\""), format!("\"DEBIAN-{cve}\"")]).collect();
    format!(
        r#"{{
  "schema_version": "1.7.3",
  "id": "{id}",
  "published": "2026-01-10T00:00:00Z",
  "modified": "2026-01-10T08:00:00Z",
  "upstream": [{upstream}],
  "summary": "{package} - security update",
  "severity": [{{ "type": "CVSS_V3", "score": "{vector}" }}],
  "affected": [
    {{
      "package": {{ "name": "{package}", "ecosystem": "Debian:12", "purl": "pkg:deb/debian/{package}?arch=source" }},
      "ranges": [{{ "type": "ECOSYSTEM", "events": [{{ "introduced": "0" }}, {{ "fixed": "1.1-1" }}] }}],
      "versions": ["1.0-1"]
    }}
  ]
}}
"#,
        upstream = upstream.join(", ")
    )
}

/// The dnf repository's updateinfo as the fleet's repository serves it (gzip, from
/// `modifyrepo_c`).
fn served_updateinfo() -> PathBuf {
    let scenario = fleet::scenario::build(&fleet::cache_dir()).unwrap();
    let repodata = scenario.root.join("rpm/repodata");
    std::fs::read_dir(&repodata)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.to_string_lossy().ends_with("updateinfo.xml.gz"))
        .unwrap_or_else(|| panic!("no updateinfo in {}", repodata.display()))
}

fn ok(fleet: &TestFleet, config: &Path, args: &[&str]) -> Output {
    let output = fleet.patchctl(config, args);
    assert!(
        output.status.success(),
        "patchctl {args:?}: {}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// Host → the CVEs `patchctl cves` lists for it.
fn exposed(fleet: &TestFleet, config: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let output = ok(fleet, config, &["cves", "all", "--format", "json"]);
    let hosts: Value = serde_json::from_slice(&output.stdout).unwrap();
    hosts
        .as_array()
        .unwrap()
        .iter()
        .map(|host| {
            assert_eq!(host["state"], "assessed", "{host}");
            let cves = host["findings"]
                .as_array()
                .unwrap()
                .iter()
                .inspect(|f| assert_eq!(f["status"], "affected", "{f}"))
                .flat_map(|f| {
                    f["cves"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned())
                })
                .collect();
            (host["host"].as_str().unwrap().to_owned(), cves)
        })
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

#[test]
fn cves_are_listed_before_the_rollout_and_gone_after_it() {
    let Some(fleet) = TestFleet::up("cves", 1, 1) else { return };
    // The journal check is off, as in `rollout_fleet.rs`: every container reboot logs unmount
    // errors a real host does not.
    let config = fleet.edited_inventory("cves.toml", |inventory| {
        inventory.replacen(
            "[defaults]\n",
            "[defaults.checks]\njournal_errors = false\n\n[defaults]\n",
            1,
        )
    });
    let records = fleet.fleet.dir.join("advisories");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(
        records.join("DSA-9901-1.json"),
        debian_record("DSA-9901-1", "acme-web", &ACME_WEB_CVES),
    )
    .unwrap();
    std::fs::write(
        records.join("DSA-9902-1.json"),
        debian_record("DSA-9902-1", "acme-tools", &[ACME_TOOLS_CVE]),
    )
    .unwrap();
    // Before any import, rpm1's own repository names the CVEs of its pending security
    // updates (dnf's updateinfo, as `assess` shows them); apt names none on deb1.
    ok(&fleet, &config, &["assess", "all"]);
    let mut rpm = set(&ACME_WEB_CVES);
    rpm.insert(ACME_KERNEL_CVE.into());
    assert_eq!(
        exposed(&fleet, &config),
        BTreeMap::from([("deb1".to_owned(), BTreeSet::new()), ("rpm1".to_owned(), rpm.clone())])
    );
    let json: Value =
        serde_json::from_slice(&ok(&fleet, &config, &["cves", "rpm1", "--format", "json"]).stdout)
            .unwrap();
    for finding in json[0]["findings"].as_array().unwrap() {
        assert_eq!(finding["source"], "repository", "{finding}");
        assert!(finding["advisory"].as_str().unwrap().starts_with("ACME-2026:"), "{finding}");
    }

    let updateinfo = served_updateinfo();
    let import = ok(
        &fleet,
        &config,
        &["advisories", "import", records.to_str().unwrap(), updateinfo.to_str().unwrap()],
    );
    let summary = text(&import.stdout);
    assert!(summary.contains("3 files: 8 advisories read (8 new, 0 updated, 0 unchanged), 0 records skipped, 0 warnings"), "{summary}");
    // Importing again changes nothing.
    let again = ok(
        &fleet,
        &config,
        &["advisories", "import", records.to_str().unwrap(), updateinfo.to_str().unwrap()],
    );
    assert!(
        text(&again.stdout).contains("(0 new, 0 updated, 8 unchanged)"),
        "{}",
        text(&again.stdout)
    );

    ok(&fleet, &config, &["assess", "all"]);
    let before = exposed(&fleet, &config);
    let mut debian = set(&ACME_WEB_CVES);
    debian.insert(ACME_TOOLS_CVE.into());
    // The imported updateinfo says the same as the repository: no finding twice.
    assert_eq!(before, BTreeMap::from([("deb1".to_owned(), debian), ("rpm1".to_owned(), rpm)]));
    let json: Value =
        serde_json::from_slice(&ok(&fleet, &config, &["cves", "rpm1", "--format", "json"]).stdout)
            .unwrap();
    for finding in json[0]["findings"].as_array().unwrap() {
        assert_eq!(finding["source"], "imported", "{finding}");
    }
    let table = text(&ok(&fleet, &config, &["cves", "all"]).stdout);
    assert!(table.contains("2 of 2 hosts exposed"), "{table}");
    // The repository's bug fix advisories (acme-tools on rpm1) expose nothing.
    assert!(!table.contains("ACME-2026:0002"), "{table}");
    let csv =
        text(&ok(&fleet, &config, &["cves", "all", "--format", "csv", "--min-cvss", "9.0"]).stdout);
    // Only the Debian records carry a CVSS score (9.8); the fleet's updateinfo has none.
    assert_eq!(csv.lines().filter(|l| l.starts_with("deb1,")).count(), 3, "{csv}");
    assert!(
        csv.contains(
            "deb1,CVE-2026-10001,DSA-9901-1,critical,9.8,acme-web,1.0-1,1.1-1,1.1-1,affected"
        ),
        "{csv}"
    );
    assert!(!csv.contains("rpm1,CVE"), "{csv}");

    let cve = text(&ok(&fleet, &config, &["cve", "CVE-2026-10001"]).stdout);
    assert!(cve.contains("2 affected"), "{cve}");

    // The security-only plan takes acme-tools on deb1 for its advisory, with the advisory's id.
    let plan: Value = serde_json::from_slice(
        &ok(&fleet, &config, &["plan", "create", "all", "--security-only", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let changes: BTreeMap<(String, String), Value> =
        plan["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|host| {
                let name = host["host"].as_str().unwrap().to_owned();
                host["changes"].as_array().unwrap().iter().map(move |c| {
                    ((name.clone(), c["name"].as_str().unwrap().to_owned()), c.clone())
                })
            })
            .collect();
    let tools = &changes[&("deb1".to_owned(), "acme-tools".to_owned())];
    assert_eq!(tools["advisories"], serde_json::json!(["DSA-9902-1"]), "{tools}");
    assert_eq!(
        changes[&("rpm1".to_owned(), "acme-web".to_owned())]["cves"],
        serde_json::json!(ACME_WEB_CVES)
    );
    assert!(
        !changes.contains_key(&("rpm1".to_owned(), "acme-tools".to_owned())),
        "a bug fix on rpm1: {changes:?}"
    );

    let mut start = vec!["rollout", "start", plan["id"].as_str().unwrap()];
    start.extend(["--reboot-delay", "0", "--reboot-timeout", "120", "--unreachable-grace", "15"]);
    ok(&fleet, &config, &start);
    ok(&fleet, &config, &["assess", "all"]);
    let after = exposed(&fleet, &config);
    assert_eq!(
        after,
        BTreeMap::from([
            ("deb1".to_owned(), BTreeSet::new()),
            ("rpm1".to_owned(), BTreeSet::new())
        ])
    );
    let table = text(&ok(&fleet, &config, &["cves", "all"]).stdout);
    assert!(table.contains("0 of 2 hosts exposed"), "{table}");
    let cve = text(&ok(&fleet, &config, &["cve", "CVE-2026-10001", "--json"]).stdout);
    let cve: Value = serde_json::from_str(&cve).unwrap();
    let verdicts: Vec<(&str, &str)> = cve["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["host"].as_str().unwrap(), h["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(verdicts, [("deb1", "fixed"), ("rpm1", "fixed")]);
}
