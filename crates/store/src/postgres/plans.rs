//! Plans in PostgreSQL: saved by insert-if-absent, then compared, so a plan is never overwritten.
//! Ids and JSON arrive checked (`validate.rs`); lookups by prefix arrive as lowercase hex
//! prefixes.

use super::{Postgres, check_unique, get};
use crate::error::QueryContext;
use crate::validate::Checked;
use crate::{Plans, StoreError, StoredPlan, StoredPlanSummary};

#[async_trait::async_trait]
impl Plans for Postgres {
    async fn save_plan(
        &self,
        _: Checked,
        id: &str,
        created_at_unix: i64,
        body_json: &str,
    ) -> Result<(), StoreError> {
        let doing = || format!("saving plan {id}");
        // Insert-if-absent, then compare: one statement decides, so two processes saving the
        // same plan at once both succeed and neither overwrites the other.
        let inserted = sqlx::query(
            "INSERT INTO plans (id, created_at, body) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(created_at_unix)
        .bind(body_json)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        if inserted.rows_affected() == 1 {
            return Ok(());
        }
        let stored: String = sqlx::query_scalar("SELECT body FROM plans WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .doing(doing)?;
        if stored == body_json {
            Ok(())
        } else {
            Err(StoreError::PlanConflict { id: id.to_owned() })
        }
    }

    async fn plan(&self, _: Checked, prefix: &str) -> Result<Option<StoredPlan>, StoreError> {
        let doing = || format!("reading plan {prefix}");
        // The count of all matches comes with the first one, in one statement: window
        // functions run before LIMIT.
        let row = sqlx::query(
            "SELECT id, created_at, body, COUNT(*) OVER () AS n_matches
             FROM plans WHERE starts_with(id, $1)
             ORDER BY id LIMIT 1",
        )
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await
        .doing(doing)?;
        let Some(row) = row else { return Ok(None) };
        // Plan ids all have the same length, so an exact id never matches more than itself.
        check_unique(&row, "plan", prefix, &doing)?;
        Ok(Some(StoredPlan {
            id: get(&row, "id", &doing)?,
            created_at_unix: get(&row, "created_at", &doing)?,
            body_json: get(&row, "body", &doing)?,
        }))
    }

    async fn plans(&self) -> Result<Vec<StoredPlanSummary>, StoreError> {
        let doing = || "listing plans".to_owned();
        let rows =
            sqlx::query("SELECT id, created_at FROM plans ORDER BY created_at DESC, id DESC")
                .fetch_all(&self.pool)
                .await
                .doing(doing)?;
        rows.iter()
            .map(|row| {
                Ok(StoredPlanSummary {
                    id: get(row, "id", &doing)?,
                    created_at_unix: get(row, "created_at", &doing)?,
                })
            })
            .collect()
    }
}
