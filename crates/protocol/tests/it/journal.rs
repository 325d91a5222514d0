use protocol::change::ChangeBodyV1;
use protocol::journal::{
    EVENT, EventV1, INPUT, InputEntryV1, InputV1, OUTPUT, OutputV1, REQUEST, START, StartV1,
};
use protocol::rollout::ConfigV1;

use crate::test_data;

/// Parses `body` as `T` and writes it back: the bytes must not change (they are hashed into
/// the journal's chain).
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(kind: &str, body: &str) {
    let parsed: T = serde_json::from_str(body).unwrap_or_else(|e| panic!("{kind} {body}: {e}"));
    assert_eq!(serde_json::to_string(&parsed).unwrap(), body, "{kind}");
}

#[test]
fn every_journal_entry_of_the_old_database_parses_and_writes_back_to_its_bytes() {
    let journal = test_data("journal-v1.tsv");
    let mut kinds = std::collections::BTreeSet::new();
    for line in journal.lines() {
        let (kind, body) = line.split_once('\t').unwrap();
        match kind {
            INPUT | REQUEST => round_trip::<InputEntryV1>(kind, body),
            EVENT => round_trip::<EventV1>(kind, body),
            OUTPUT => round_trip::<OutputV1>(kind, body),
            START => round_trip::<StartV1>(kind, body),
            other => panic!("unknown kind {other}"),
        }
        kinds.insert(kind);
    }
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), [EVENT, INPUT, OUTPUT, REQUEST, START]);
}

/// Who asked is an optional member after the input's own: an old entry reads with nobody, and
/// an entry with nobody writes the old bytes.
#[test]
fn an_input_entry_names_who_asked_only_when_someone_did() {
    let old: InputEntryV1 = serde_json::from_str(r#"{"input":"pause"}"#).unwrap();
    assert_eq!(old, InputEntryV1 { input: InputV1::Pause, actor: None });
    let asked = InputEntryV1 {
        input: InputV1::RollBack { host: "web1".into() },
        actor: Some("olga".into()),
    };
    let text = serde_json::to_string(&asked).unwrap();
    assert_eq!(text, r#"{"input":"roll_back","host":"web1","actor":"olga"}"#);
    assert_eq!(serde_json::from_str::<InputEntryV1>(&text).unwrap(), asked);
    let tick = InputEntryV1 { input: InputV1::Tick, actor: None };
    assert_eq!(serde_json::to_string(&tick).unwrap(), r#"{"input":"tick"}"#);
}

#[test]
fn the_old_rollout_config_parses_and_writes_back_to_its_bytes() {
    let body = test_data("rollout-config-v1.json");
    round_trip::<ConfigV1>("config", body.trim_end());
}

/// Members added after the first journals were written are optional, with the value those
/// journals behave by.
#[test]
fn a_config_from_before_the_later_members_reads_with_their_old_values() {
    let body = r#"{"waves":[{"name":"w","canary":false,"hosts":[{"name":"h","snapshot":false,"reboot":"never"}]}],"error_budget":{"count":0},"max_in_flight":1,"timeouts":{"precheck":1,"snapshot":1,"apply":1,"reboot":1,"postcheck":1,"rollback":1},"rollback":"manual"}"#;
    let config: ConfigV1 = serde_json::from_str(body).unwrap();
    assert_eq!(config.timeouts.cleanup, 600_000);
    assert_eq!(config.precheck_ahead, None);
    assert!(!config.ahead_after_wave_prechecks && !config.waves[0].hosts[0].cleanup_kernels);
}

#[test]
fn every_change_journal_body_of_the_old_database_parses_and_writes_back_to_its_bytes() {
    let journal = test_data("change-journal-v1.tsv");
    let kinds: Vec<&str> = journal.lines().map(|l| l.split_once('\t').unwrap().0).collect();
    assert_eq!(kinds, ["request", "approve"]);
    for line in journal.lines() {
        let (kind, body) = line.split_once('\t').unwrap();
        round_trip::<ChangeBodyV1>(kind, body);
    }
}
