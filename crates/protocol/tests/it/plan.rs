use protocol::plan::{
    EmergencyV1, LimitV1, PLAN_ID_VERSION, PlanOptionsV1, PlanV1, RebootPolicyV1, ScopeV1,
    StrategyV1, canonical_bytes, id_version, plan_id,
};

use crate::test_data;

/// The bodies of the plans the fixture database holds, as written.
const BODIES: [&str; 2] = ["plan-v1.json", "plan-v1-emergency.json"];

#[test]
fn a_stored_plan_parses_writes_back_to_its_bytes_and_has_its_id() {
    for name in BODIES {
        let body = test_data(name);
        let plan: PlanV1 = serde_json::from_str(&body).unwrap();
        assert_eq!(serde_json::to_string(&plan).unwrap(), body, "{name}");
        assert_eq!(plan_id(&plan), plan.id, "{name}: the id is reproduced");
        assert_eq!(id_version(&plan.id), Some(PLAN_ID_VERSION));
        // The canonical bytes are the body with its id emptied.
        let unhashed = body.replacen(&plan.id, "", 1);
        assert_eq!(String::from_utf8(canonical_bytes(&plan)).unwrap(), unhashed, "{name}");
    }
}

#[test]
fn any_change_of_content_changes_the_id_and_the_id_itself_does_not() {
    let plan: PlanV1 = serde_json::from_str(&test_data("plan-v1.json")).unwrap();
    let renamed = PlanV1 { id: "sha256:whatever".into(), ..plan.clone() };
    assert_eq!(plan_id(&renamed), plan.id);
    let mut changed = plan.clone();
    changed.hosts[0].changes[0].to.push('1');
    assert_ne!(plan_id(&changed), plan.id);
}

/// The rules of the module's documentation, on a plan small enough to read whole: member
/// order, the members left out and those written as null, enum spellings, string escapes and
/// the float.
#[test]
fn the_canonical_form_is_what_the_module_documents() {
    let plan = PlanV1 {
        id: "sha256:ignored".into(),
        created_at_unix: 1_800_000_000,
        selectors: vec!["tab\there \"quoted\" \u{1} é".into()],
        options: PlanOptionsV1 {
            scope: ScopeV1::Packages(vec!["openssl".into()]),
            reboot: RebootPolicyV1::IfRequired,
            strategy: StrategyV1 {
                canary: 1,
                max_unavailable: LimitV1::Percent(25),
                error_budget: LimitV1::Count(0),
            },
            environment_order: vec![],
            keep_kernels: 2,
            goals: vec![],
            restart_services: None,
        },
        hosts: vec![],
        waves: vec![],
        excluded: vec![],
        withheld: vec![],
        emergency: Some(EmergencyV1 {
            advisories: vec!["DSA-1".into()],
            cves: vec![],
            cvss_score: Some(10.0),
            reason: "named by alice".into(),
        }),
    };
    let expected = concat!(
        r#"{"id":"","created_at_unix":1800000000,"#,
        r#""selectors":["tab\there \"quoted\" \u0001 é"],"#,
        r#""options":{"scope":{"packages":["openssl"]},"reboot":"if-required","#,
        r#""strategy":{"canary":1,"max_unavailable":{"percent":25},"error_budget":{"count":0}},"#,
        r#""environment_order":[],"keep_kernels":2},"#,
        r#""hosts":[],"waves":[],"excluded":[],"#,
        r#""emergency":{"advisories":["DSA-1"],"cves":[],"cvss_score":10.0,"reason":"named by alice"}}"#,
    );
    assert_eq!(String::from_utf8(canonical_bytes(&plan)).unwrap(), expected);
    // And the id is SHA-256 over exactly those bytes.
    let digest = <sha2::Sha256 as sha2::Digest>::digest(expected.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(plan_id(&plan), format!("sha256:{hex}"));
}

#[test]
fn an_id_says_its_version() {
    assert_eq!(id_version(&format!("sha256:{}", "0a".repeat(32))), Some(1));
    assert_eq!(id_version(&format!("sha256:{}", "0A".repeat(32))), None, "lowercase only");
    assert_eq!(id_version("sha256:0a"), None);
    assert_eq!(id_version(&format!("md5:{}", "0a".repeat(32))), None);
}
