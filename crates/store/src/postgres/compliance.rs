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
