//! The scheduler's leadership: of the processes sharing one state (`patchctl serve`
//! replicas), the one that starts what is due and sends the notices. A lease on a one-row
//! table with a fencing token, the rollouts' leases in small: a claim is granted when nobody
//! holds it or the holder's lease ran out, and bumps the token; a renewal needs the token still
//! on the row; a release frees it at once. It is a row, not a session advisory lock, so that it
//! holds behind a transaction-pooling PgBouncer, and so that SQLite has it too.

use crate::StoreError;
use crate::validate::Checked;

/// Leadership of the scheduler, as every backend implements it. The methods taking a `Checked`
/// are called through [`crate::Store`], which works out the lease's end first.
#[async_trait::async_trait]
pub trait SchedulerLeader: Send + Sync {
    /// [`crate::Store::claim_leadership`], with the lease's end worked out.
    async fn claim_leadership(
        &self,
        checked: Checked,
        owner: &str,
        now_unix: i64,
        until_unix: i64,
    ) -> Result<LeaderClaim, StoreError>;

    /// [`crate::Store::renew_leadership`], with the lease's new end worked out.
    async fn renew_leadership(
        &self,
        checked: Checked,
        leadership: &Leadership,
        until_unix: i64,
    ) -> Result<Leadership, StoreError>;

    /// Gives the leadership up, so that another process may lead at once. True when the row
    /// still carried its token, false when someone else had claimed it since.
    async fn release_leadership(&self, leadership: &Leadership) -> Result<bool, StoreError>;

    /// Who led last, and until when unless they renew: `None` when nobody ever led or the last
    /// leader released it. A lease that ran out is anybody's to claim.
    async fn leader(&self) -> Result<Option<(String, i64)>, StoreError>;
}

/// The scheduler's leadership, as a claim granted it: the caller leads while the row still
/// carries `token`. Every claim bumps the token, so a leader that stalled past its lease and
/// was replaced cannot renew, even after its successor released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leadership {
    pub owner: String,
    /// The fencing token.
    pub token: i64,
    /// When it runs out unless renewed.
    pub until_unix: i64,
}

/// The answer to a claim of the scheduler's leadership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaderClaim {
    /// The caller leads now.
    Leader(Leadership),
    /// Another process leads, until `until_unix` unless it renews.
    HeldBy { owner: String, until_unix: i64 },
}

/// Takes the leadership for `$1` until `$2` when nobody holds it at `$3`, bumping the token;
/// returns the token, or no row when it is held (by another process, or by the caller under a
/// token it lost track of, which it claims again once that lease has run out). The same
/// statement on both databases.
pub(crate) const CLAIM_LEADERSHIP: &str =
    "INSERT INTO scheduler_leader (id, owner, lease_expires, fence) VALUES (1, $1, $2, 1)
     ON CONFLICT (id) DO UPDATE
        SET owner = excluded.owner, lease_expires = excluded.lease_expires,
            fence = scheduler_leader.fence + 1
        WHERE scheduler_leader.owner IS NULL OR scheduler_leader.lease_expires <= $3
     RETURNING fence";

/// Extends `$1`'s leadership under token `$2` to `$3`.
pub(crate) const RENEW_LEADERSHIP: &str =
    "UPDATE scheduler_leader SET lease_expires = $3 WHERE id = 1 AND owner = $1 AND fence = $2";

/// Frees `$1`'s leadership under token `$2`.
pub(crate) const RELEASE_LEADERSHIP: &str =
    "UPDATE scheduler_leader SET owner = NULL, lease_expires = NULL
     WHERE id = 1 AND owner = $1 AND fence = $2";

/// The leader and its lease's end.
pub(crate) const LEADER: &str = "SELECT owner, lease_expires FROM scheduler_leader WHERE id = 1";

/// How often a claim that lost to another writer looks again: the lease it lost to may have
/// been released in between, which one more try settles.
pub(crate) const CLAIM_ATTEMPTS: usize = 3;

/// What a claim that changed nothing answers, given who leads (`leader`) at `now_unix`:
/// `None` when the leadership is free after all (released meanwhile): claim again.
pub(crate) fn held(
    leader: Option<(Option<String>, Option<i64>)>,
    now_unix: i64,
) -> Option<LeaderClaim> {
    match leader {
        Some((Some(owner), Some(until_unix))) if until_unix > now_unix => {
            Some(LeaderClaim::HeldBy { owner, until_unix })
        }
        _ => None,
    }
}

/// The error of a claim that kept losing to other writers.
pub(crate) fn kept_changing(owner: &str) -> StoreError {
    StoreError::InvalidValue {
        doing: format!("claiming the scheduler's leadership for {owner}"),
        message: "the leadership kept changing hands while claiming".to_owned(),
    }
}

/// The leadership's implementation, the same statements on every backend: expanded in
/// `sqlite/leader.rs` and `postgres/leader.rs` for their pool, with their `get`.
macro_rules! impl_scheduler_leader {
    ($backend:ty, $get:path) => {
        #[async_trait::async_trait]
        impl $crate::SchedulerLeader for $backend {
            async fn claim_leadership(
                &self,
                _: $crate::validate::Checked,
                owner: &str,
                now_unix: i64,
                until_unix: i64,
            ) -> Result<$crate::LeaderClaim, $crate::StoreError> {
                let doing = || format!("claiming the scheduler's leadership for {owner}");
                for _ in 0..$crate::leader::CLAIM_ATTEMPTS {
                    let claimed: Option<i64> = sqlx::query_scalar($crate::leader::CLAIM_LEADERSHIP)
                        .bind(owner)
                        .bind(until_unix)
                        .bind(now_unix)
                        .fetch_optional(&self.pool)
                        .await
                        .doing(doing)?;
                    if let Some(token) = claimed {
                        return Ok($crate::LeaderClaim::Leader($crate::Leadership {
                            owner: owner.to_owned(),
                            token,
                            until_unix,
                        }));
                    }
                    if let Some(claim) =
                        $crate::leader::held(self.leader_row(&doing).await?, now_unix)
                    {
                        return Ok(claim);
                    }
                }
                Err($crate::leader::kept_changing(owner))
            }

            async fn renew_leadership(
                &self,
                _: $crate::validate::Checked,
                leadership: &$crate::Leadership,
                until_unix: i64,
            ) -> Result<$crate::Leadership, $crate::StoreError> {
                let doing =
                    || format!("renewing the scheduler's leadership for {}", leadership.owner);
                let renewed = sqlx::query($crate::leader::RENEW_LEADERSHIP)
                    .bind(&leadership.owner)
                    .bind(leadership.token)
                    .bind(until_unix)
                    .execute(&self.pool)
                    .await
                    .doing(doing)?;
                if renewed.rows_affected() == 1 {
                    return Ok($crate::Leadership { until_unix, ..leadership.clone() });
                }
                let holder = self.leader_row(&doing).await?.and_then(|(owner, _)| owner);
                Err($crate::StoreError::LeadershipLost {
                    owner: leadership.owner.clone(),
                    token: leadership.token,
                    holder,
                })
            }

            async fn release_leadership(
                &self,
                leadership: &$crate::Leadership,
            ) -> Result<bool, $crate::StoreError> {
                let doing =
                    || format!("releasing the scheduler's leadership of {}", leadership.owner);
                let released = sqlx::query($crate::leader::RELEASE_LEADERSHIP)
                    .bind(&leadership.owner)
                    .bind(leadership.token)
                    .execute(&self.pool)
                    .await
                    .doing(doing)?;
                Ok(released.rows_affected() == 1)
            }

            async fn leader(&self) -> Result<Option<(String, i64)>, $crate::StoreError> {
                let doing = || "reading who leads the scheduler".to_owned();
                Ok(match self.leader_row(&doing).await? {
                    Some((Some(owner), Some(until_unix))) => Some((owner, until_unix)),
                    _ => None,
                })
            }
        }

        impl $backend {
            /// The leadership's row: its owner and lease end, or `None` when nobody ever claimed it.
            async fn leader_row(
                &self,
                doing: &(dyn Fn() -> String + Sync),
            ) -> Result<Option<(Option<String>, Option<i64>)>, $crate::StoreError> {
                let row = sqlx::query($crate::leader::LEADER)
                    .fetch_optional(&self.pool)
                    .await
                    .doing(doing)?;
                row.map(|row| {
                    Ok(($get(&row, "owner", doing)?, $get(&row, "lease_expires", doing)?))
                })
                .transpose()
            }
        }
    };
}
pub(crate) use impl_scheduler_leader;
