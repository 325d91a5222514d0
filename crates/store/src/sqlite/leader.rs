//! The scheduler's leadership in Sqlite: the statements of `leader.rs`, whose condition and
//! change are one statement, so that of two processes claiming at once exactly one leads.

use super::{Sqlite, get};
use crate::error::QueryContext;
use crate::leader::{
    CLAIM_ATTEMPTS, CLAIM_LEADERSHIP, LEADER, RELEASE_LEADERSHIP, RENEW_LEADERSHIP, held,
    kept_changing,
};
use crate::validate::Checked;
use crate::{LeaderClaim, Leadership, SchedulerLeader, StoreError};

#[async_trait::async_trait]
impl SchedulerLeader for Sqlite {
    async fn claim_leadership(
        &self,
        _: Checked,
        owner: &str,
        now_unix: i64,
        until_unix: i64,
    ) -> Result<LeaderClaim, StoreError> {
        let doing = || format!("claiming the scheduler's leadership for {owner}");
        for _ in 0..CLAIM_ATTEMPTS {
            let claimed: Option<i64> = sqlx::query_scalar(CLAIM_LEADERSHIP)
                .bind(owner)
                .bind(until_unix)
                .bind(now_unix)
                .fetch_optional(&self.pool)
                .await
                .doing(doing)?;
            if let Some(token) = claimed {
                return Ok(LeaderClaim::Leader(Leadership {
                    owner: owner.to_owned(),
                    token,
                    until_unix,
                }));
            }
            if let Some(claim) = held(self.leader_row(&doing).await?, now_unix) {
                return Ok(claim);
            }
        }
        Err(kept_changing(owner))
    }

    async fn renew_leadership(
        &self,
        _: Checked,
        leadership: &Leadership,
        until_unix: i64,
    ) -> Result<Leadership, StoreError> {
        let doing = || format!("renewing the scheduler's leadership for {}", leadership.owner);
        let renewed = sqlx::query(RENEW_LEADERSHIP)
            .bind(&leadership.owner)
            .bind(leadership.token)
            .bind(until_unix)
            .execute(&self.pool)
            .await
            .doing(doing)?;
        if renewed.rows_affected() == 1 {
            return Ok(Leadership { until_unix, ..leadership.clone() });
        }
        let holder = self.leader_row(&doing).await?.and_then(|(owner, _)| owner);
        Err(StoreError::LeadershipLost {
            owner: leadership.owner.clone(),
            token: leadership.token,
            holder,
        })
    }

    async fn release_leadership(&self, leadership: &Leadership) -> Result<bool, StoreError> {
        let doing = || format!("releasing the scheduler's leadership of {}", leadership.owner);
        let released = sqlx::query(RELEASE_LEADERSHIP)
            .bind(&leadership.owner)
            .bind(leadership.token)
            .execute(&self.pool)
            .await
            .doing(doing)?;
        Ok(released.rows_affected() == 1)
    }

    async fn leader(&self) -> Result<Option<(String, i64)>, StoreError> {
        let doing = || "reading who leads the scheduler".to_owned();
        Ok(match self.leader_row(&doing).await? {
            Some((Some(owner), Some(until_unix))) => Some((owner, until_unix)),
            _ => None,
        })
    }
}

impl Sqlite {
    /// The leadership's row: its owner and lease end, or `None` when nobody ever claimed it.
    async fn leader_row(
        &self,
        doing: &(dyn Fn() -> String + Sync),
    ) -> Result<Option<(Option<String>, Option<i64>)>, StoreError> {
        let row = sqlx::query(LEADER).fetch_optional(&self.pool).await.doing(doing)?;
        row.map(|row| Ok((get(&row, "owner", doing)?, get(&row, "lease_expires", doing)?)))
            .transpose()
    }
}
