//! `patchctl assess` over SSH on the test fleet's Debian and RPM hosts: compared with what each
//! host's own package manager says, with hosts killed and cut off, with a changed host key, and
//! with keys pinned on first use.

use std::collections::BTreeMap;
use std::process::Output;

use serde_json::Value;

use crate::support::text;
use crate::test_fleet::TestFleet;

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&output.stdout), text(&output.stderr)))
}

/// name -> (candidate, classification, severity, advisories) of one host's assessment.
fn updates(document: &Value, host: &str) -> BTreeMap<String, (String, String, Value, Value)> {
    let assessment = document["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["host"] == host)
        .unwrap_or_else(|| panic!("{host} not assessed: {document}"));
    assessment["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let field = |k: &str| u[k].as_str().unwrap().to_owned();
            (
                field("name"),
                (
                    field("candidate_version"),
                    field("classification"),
                    u["severity"].clone(),
                    u["advisories"].clone(),
                ),
            )
        })
        .collect()
}

#[test]
fn assess_all_agrees_with_each_hosts_package_manager_and_survives_lost_hosts() {
    let Some(fleet) = TestFleet::up("assess", 3, 1) else { return };
    let inventory = fleet.fleet.inventory.clone();

    let output = fleet.patchctl(&inventory, &["assess", "all", "--format", "json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let document = json(&output);
    assert_eq!(document["failures"].as_array().unwrap().len(), 0, "{document}");

    // Debian: the same packages and candidates as apt's own simulation.
    for host in ["deb1", "deb2", "deb3"] {
        let ours: BTreeMap<String, String> =
            updates(&document, host).into_iter().map(|(n, (c, ..))| (n, c)).collect();
        let (_, simulation) = fleet.exec(host, &["apt-get", "-s", "dist-upgrade"]);
        let apt: BTreeMap<String, String> = simulation
            .lines()
            .filter_map(|l| l.strip_prefix("Inst "))
            .map(|rest| {
                (
                    rest.split(' ').next().unwrap().to_owned(),
                    rest.split('(').nth(1).unwrap().split(' ').next().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(ours, apt, "{host}");
    }
    assert_eq!(updates(&document, "deb1")["acme-web"].1, "security");
    let first = document.clone();

    // RPM: the same packages and candidates as `dnf check-update`, and the advisories' types
    // and severities as `dnf updateinfo list` shows them.
    let ours = updates(&document, "rpm1");
    let (code, check_update) = fleet.exec("rpm1", &["dnf", "-q", "check-update"]);
    assert_eq!(code, 100);
    let dnf: BTreeMap<String, String> = check_update
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words[0].rsplit_once('.').unwrap().0.to_owned(), words[1].to_owned())
        })
        .collect();
    let candidates: BTreeMap<String, String> =
        ours.iter().map(|(n, (c, ..))| (n.clone(), c.clone())).collect();
    assert_eq!(candidates, dnf);
    let (_, updateinfo) = fleet.exec("rpm1", &["dnf", "-q", "updateinfo", "list", "--updates"]);
    for line in updateinfo.lines().filter(|l| !l.trim().is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (advisory, kind, nevra) = (words[0], words[1], words[2]);
        let name = nevra.rsplitn(3, '-').nth(2).unwrap();
        let (_, classification, severity, advisories) = &ours[name];
        assert!(
            advisories.as_array().unwrap().iter().any(|a| a == advisory),
            "{name}: {advisories}"
        );
        match kind.split_once('/') {
            Some((rating, "Sec.")) => {
                assert_eq!(classification, "security");
                assert_eq!(severity.as_str().unwrap(), rating.to_lowercase());
            }
            _ => assert_eq!(classification, kind),
        }
    }

    // A killed host and a host cut off the network are reported with the reason; the others
    // are assessed all the same.
    fleet.inject("deb2", fleet::Fault::Kill);
    fleet.inject("deb3", fleet::Fault::Partition);
    let output = fleet
        .patchctl(&inventory, &["assess", "all", "--format", "json", "--connect-timeout", "3"]);
    assert_eq!(output.status.code(), Some(3), "some hosts failed: {}", text(&output.stderr));
    let document = json(&output);
    let failures: BTreeMap<String, String> = document["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["host"].as_str().unwrap().to_owned(), f["kind"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(failures.keys().collect::<Vec<_>>(), ["deb2", "deb3"], "{document}");
    assert!(
        failures
            .values()
            .all(|kind| ["timed_out", "unreachable", "refused"].contains(&kind.as_str())),
        "{failures:?}"
    );
    let assessed: Vec<&str> = document["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["host"].as_str().unwrap())
        .collect();
    assert_eq!(assessed, ["deb1", "rpm1"]);
    // This time each host's package manager came from its first assessment (its probes went
    // out with the system's, in one round trip): the same answers.
    for host in ["deb1", "rpm1"] {
        assert_eq!(updates(&document, host), updates(&first, host), "{host}");
    }

    // Every attempt is in the history, failed ones with their reason.
    let history = fleet.patchctl(&inventory, &["history", "deb2"]);
    assert!(history.status.success(), "{}", text(&history.stderr));
    let history = text(&history.stdout);
    assert_eq!(history.lines().count(), 3, "a header and two attempts: {history}");
    assert!(history.lines().nth(1).unwrap().contains(&failures["deb2"]), "{history}");
}

#[test]
fn host_keys_are_pinned_and_a_changed_key_is_refused() {
    let Some(fleet) = TestFleet::up("keys", 2, 0) else { return };
    // deb1 is given deb2's key: a changed key, refused with both fingerprints.
    let deb1_key = fleet.fleet.host("deb1").unwrap().host_key.clone();
    let deb2_key = fleet.fleet.host("deb2").unwrap().host_key.clone();
    let swapped = fleet.edited_inventory("swapped.toml", |text| {
        text.replacen(
            &format!("host_key = \"{deb1_key}\""),
            &format!("host_key = \"{deb2_key}\""),
            1,
        )
    });
    let output = fleet.patchctl(&swapped, &["assess", "deb1", "--format", "json"]);
    assert_eq!(output.status.code(), Some(3));
    let failure = &json(&output)["failures"][0];
    assert_eq!(failure["kind"], "host_key_changed", "{failure}");
    let message = failure["message"].as_str().unwrap();
    assert_eq!(message.matches("SHA256:").count(), 2, "both fingerprints: {message}");

    // Without pinned keys: refused until --accept-new-host-keys pins them in the state database.
    let unpinned = fleet.edited_inventory("unpinned.toml", |text| {
        text.lines().filter(|l| !l.starts_with("host_key = ")).collect::<Vec<_>>().join("\n")
    });
    let refused = fleet.patchctl(&unpinned, &["assess", "all", "--format", "json"]);
    assert_eq!(refused.status.code(), Some(3));
    assert!(
        json(&refused)["failures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] == "host_key_unknown")
    );
    let accepted =
        fleet.patchctl(&unpinned, &["assess", "all", "--accept-new-host-keys", "--format", "json"]);
    assert!(accepted.status.success(), "{}", text(&accepted.stderr));
    let again = fleet.patchctl(&unpinned, &["assess", "all", "--format", "json"]);
    assert!(
        again.status.success(),
        "the pinned keys are used without the flag: {}",
        text(&again.stderr)
    );
}
