//! The compliance trend (`compliance_days`): a day's rows replaced whole, read in order.

use store::ComplianceDay;

use crate::backends::test_dbs;

fn row(day: &str, environment: &str, compliant: i64) -> ComplianceDay {
    ComplianceDay {
        day: day.into(),
        environment: environment.into(),
        hosts: 10,
        compliant,
        security_updates: 3,
        hosts_with_security: 2,
        reboot_required: 1,
        pending_by_age: [1, 0, 2, 0],
        patched: 4,
        patched_seconds: 3600,
        evaluated_at_unix: 1_700_000_000,
    }
}

#[tokio::test]
async fn a_days_rows_are_replaced_whole_and_read_in_order() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let first = [row("2026-12-06", "staging", 4), row("2026-12-06", "production", 9)];
        store.record_compliance_day("2026-12-06", &first).await.unwrap();
        store
            .record_compliance_day("2026-12-05", &[row("2026-12-05", "staging", 1)])
            .await
            .unwrap();
        // Later that day: staging only (production left the inventory).
        store
            .record_compliance_day("2026-12-06", &[row("2026-12-06", "staging", 7)])
            .await
            .unwrap();
        let days = store.compliance_days("2026-12-05").await.unwrap();
        let seen: Vec<(&str, &str, i64)> =
            days.iter().map(|d| (d.day.as_str(), d.environment.as_str(), d.compliant)).collect();
        assert_eq!(seen, [("2026-12-05", "staging", 1), ("2026-12-06", "staging", 7)]);
        assert_eq!(
            store.compliance_days("2026-12-06").await.unwrap(),
            [row("2026-12-06", "staging", 7)]
        );
    }
}
