//! The compliance trend in PostgreSQL (`compliance_days`).

use super::{Postgres, get};
use crate::error::QueryContext;
use crate::{ComplianceDay, ComplianceDays, StoreError};

#[async_trait::async_trait]
impl ComplianceDays for Postgres {
    async fn record_compliance_day(
        &self,
        day: &str,
        rows: &[ComplianceDay],
    ) -> Result<(), StoreError> {
        let doing = || format!("recording the compliance of {day}");
        let mut transaction = self.pool.begin().await.doing(doing)?;
        sqlx::query("DELETE FROM compliance_days WHERE day = $1")
            .bind(day)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
        for row in rows {
            sqlx::query(
                "INSERT INTO compliance_days (day, environment, hosts, compliant,
                 security_updates, hosts_with_security, reboot_required, pending_7d,
                 pending_30d, pending_90d, pending_older, patched, patched_seconds, evaluated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(day)
            .bind(&row.environment)
            .bind(row.hosts)
            .bind(row.compliant)
            .bind(row.security_updates)
            .bind(row.hosts_with_security)
            .bind(row.reboot_required)
            .bind(row.pending_by_age[0])
            .bind(row.pending_by_age[1])
            .bind(row.pending_by_age[2])
            .bind(row.pending_by_age[3])
            .bind(row.patched)
            .bind(row.patched_seconds)
            .bind(row.evaluated_at_unix)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
        }
        transaction.commit().await.doing(doing)
    }

    async fn compliance_days(&self, since: &str) -> Result<Vec<ComplianceDay>, StoreError> {
        let doing = || format!("reading the compliance of the days since {since}");
        let rows = sqlx::query(
            "SELECT day, environment, hosts, compliant, security_updates, hosts_with_security,
             reboot_required, pending_7d, pending_30d, pending_90d, pending_older, patched,
             patched_seconds, evaluated_at FROM compliance_days WHERE day >= $1
             ORDER BY day, environment",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter()
            .map(|row| {
                Ok(ComplianceDay {
                    day: get(row, "day", &doing)?,
                    environment: get(row, "environment", &doing)?,
                    hosts: get(row, "hosts", &doing)?,
                    compliant: get(row, "compliant", &doing)?,
                    security_updates: get(row, "security_updates", &doing)?,
                    hosts_with_security: get(row, "hosts_with_security", &doing)?,
                    reboot_required: get(row, "reboot_required", &doing)?,
                    pending_by_age: [
                        get(row, "pending_7d", &doing)?,
                        get(row, "pending_30d", &doing)?,
                        get(row, "pending_90d", &doing)?,
                        get(row, "pending_older", &doing)?,
                    ],
                    patched: get(row, "patched", &doing)?,
                    patched_seconds: get(row, "patched_seconds", &doing)?,
                    evaluated_at_unix: get(row, "evaluated_at", &doing)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::{ComplianceDay, Store};

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
        let store = Store::open_in_memory().await.unwrap();
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
