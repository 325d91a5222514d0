//! Promotion evidence in PostgreSQL (`verified_versions`): replaced host by host inside a journal
//! append's transaction, filled once for a rollout journaled before the table existed, read
//! whole by the promotion gate.

use sqlx::{Postgres as Db, Transaction};

use super::{Postgres, get};
use crate::error::QueryContext;
use crate::validate::Checked;
use crate::{StoreError, VerifiedHost, VerifiedVersion, VerifiedVersions};

#[async_trait::async_trait]
impl VerifiedVersions for Postgres {
    async fn verified_versions(&self) -> Result<Vec<VerifiedVersion>, StoreError> {
        let doing = || "reading the verified package versions".to_owned();
        // Newest rollout first, like `rollouts`, and each host's versions in the order written.
        let rows = sqlx::query(
            "SELECT v.rollout_id, v.host, v.environment, v.name, v.arch, v.version, v.verified_at
             FROM verified_versions v JOIN rollouts r ON r.id = v.rollout_id
             ORDER BY r.created_at DESC, r.id DESC, v.seq",
        )
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter()
            .map(|row| {
                Ok(VerifiedVersion {
                    rollout_id: get(row, "rollout_id", &doing)?,
                    host: get(row, "host", &doing)?,
                    environment: get(row, "environment", &doing)?,
                    name: get(row, "name", &doing)?,
                    arch: get(row, "arch", &doing)?,
                    version: get(row, "version", &doing)?,
                    verified_at_unix: get(row, "verified_at", &doing)?,
                })
            })
            .collect()
    }

    async fn rollouts_without_verified(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT id FROM rollouts WHERE NOT verified_recorded ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .doing(|| "listing the rollouts whose verified versions are not recorded yet".to_owned())
    }

    async fn record_verified(
        &self,
        _: Checked,
        rollout_id: &str,
        through_seq: i64,
        hosts: &[VerifiedHost],
    ) -> Result<bool, StoreError> {
        let doing = || format!("recording the verified versions of rollout {rollout_id}");
        // The rollout's row is locked before reading, like a journal append: no append can
        // slip in between the check that the journal is still the one replayed and the rows it
        // proves.
        let mut transaction = self.pool.begin().await.doing(doing)?;
        super::journal::lock_rollout(&mut transaction, rollout_id, &doing).await?;
        let last_seq: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) FROM rollout_journal WHERE rollout_id = $1",
        )
        .bind(rollout_id)
        .fetch_one(&mut *transaction)
        .await
        .doing(doing)?;
        if last_seq != through_seq {
            return Ok(false);
        }
        sqlx::query("DELETE FROM verified_versions WHERE rollout_id = $1")
            .bind(rollout_id)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
        replace_verified(&mut transaction, rollout_id, hosts, &doing).await?;
        sqlx::query("UPDATE rollouts SET verified_recorded = TRUE WHERE id = $1")
            .bind(rollout_id)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
        transaction.commit().await.doing(doing)?;
        Ok(true)
    }
}

/// Replaces the verified versions of each of `hosts` in rollout `rollout_id`, inside
/// `transaction`.
pub(super) async fn replace_verified(
    transaction: &mut Transaction<'_, Db>,
    rollout_id: &str,
    hosts: &[VerifiedHost],
    doing: &(dyn Fn() -> String + Sync),
) -> Result<(), StoreError> {
    for host in hosts {
        sqlx::query("DELETE FROM verified_versions WHERE rollout_id = $1 AND host = $2")
            .bind(rollout_id)
            .bind(&host.host)
            .execute(&mut **transaction)
            .await
            .doing(doing)?;
        for version in &host.versions {
            sqlx::query(
                "INSERT INTO verified_versions
                     (rollout_id, host, environment, name, arch, version, verified_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(rollout_id)
            .bind(&host.host)
            .bind(&version.environment)
            .bind(&version.name)
            .bind(&version.arch)
            .bind(&version.version)
            .bind(version.verified_at_unix)
            .execute(&mut **transaction)
            .await
            .doing(doing)?;
        }
    }
    Ok(())
}
