//! Rollouts and their leases in PostgreSQL: a rollout is created in one transaction with its
//! host claims and first journal entries, under a lock on the claims; a lease is claimed,
//! renewed and released by conditional UPDATEs whose `rows_affected` (or returned row) decides,
//! under a fencing token. Ids and JSON arrive checked
//! (`validate.rs`); lookups by prefix arrive as lowercase hex prefixes. The journal is in
//! `rollouts/journal.rs`, the verified versions in `rollouts/verified.rs`.

mod journal;
mod verified;

pub use journal::JOURNAL_SINCE;

use sqlx::error::ErrorKind;
use sqlx::postgres::PgRow;
use sqlx::{Postgres as Db, Transaction};

use super::{Postgres, check_unique, get};
use crate::error::{HostClaim, QueryContext};
use crate::journal_chain::{self, CHAIN_VERSION, RolloutHeader};
use crate::validate::Checked;
use crate::{Claim, Lease, NewRollout, RolloutPhase, RolloutRow, Rollouts, StoreError};

/// The columns `rollout_row` reads; a macro so that every query stays a `&'static str`.
macro_rules! rollout_columns {
    () => {
        "id, plan_id, created_at, config, phase, updated_at, owner, lease_expires, fence, \
         chain_version"
    };
}

/// Takes rollout `$1`'s lease for `$2` until `$3` when nobody holds it at `$4`, bumping its
/// fencing token; returns the token, or no row when the lease is held.
pub const CLAIM_ROLLOUT: &str =
    "UPDATE rollouts SET owner = $2, lease_expires = $3, fence = fence + 1
     WHERE id = $1 AND (owner IS NULL OR lease_expires <= $4)
     RETURNING fence";

/// The rollouts whose driver's lease ran out, through the partial index
/// `rollouts_under_way` (migration 0019).
pub const ORPHANED_ROLLOUTS: &str = "SELECT id FROM rollouts
     WHERE phase IN ('running', 'stopping') AND owner IS NOT NULL AND lease_expires <= $1
     ORDER BY lease_expires, id";

/// How often a claim or renewal that lost to another writer looks again: the row it lost to
/// may be released in between, which one more try settles.
const LEASE_ATTEMPTS: usize = 3;

#[async_trait::async_trait]
impl Rollouts for Postgres {
    async fn create_rollout(&self, _: Checked, rollout: &NewRollout) -> Result<(), StoreError> {
        let doing = || format!("creating rollout {} of plan {}", rollout.id, rollout.plan_id);
        // One transaction decides: the plan has no rollout yet (unless again), none of the
        // hosts is claimed by an unfinished rollout, then the row, its hosts and its first
        // journal entries. The claims table is locked first against every other writer of it
        // (readers go on): two processes starting rollouts at once, on one replica or two, are
        // checked one after the other, and the second sees the first's rollout and claims, as
        // SQLite's single writer does.
        let mut transaction = self.pool.begin().await.doing(doing)?;
        lock_claims(&mut transaction, &doing).await?;
        if !rollout.again {
            let earlier = sqlx::query(
                "SELECT id, phase FROM rollouts WHERE plan_id = $1
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(&rollout.plan_id)
            .fetch_optional(&mut *transaction)
            .await
            .doing(doing)?;
            if let Some(row) = earlier {
                let rollout_id: String = get(&row, "id", &doing)?;
                return Err(StoreError::PlanAlreadyRun {
                    plan_id: rollout.plan_id.clone(),
                    phase: phase_column(&row, &rollout_id, &doing)?,
                    rollout_id,
                });
            }
        }
        let claims = claims_of(&mut transaction, &rollout.hosts, None, &doing).await?;
        if !claims.is_empty() {
            return Err(StoreError::HostsClaimed { doing: doing(), claims });
        }
        sqlx::query(
            "INSERT INTO rollouts (id, plan_id, created_at, config, phase, updated_at, chain_version)
             VALUES ($1, $2, $3, $4, $5, $3, $6)",
        )
        .bind(&rollout.id)
        .bind(&rollout.plan_id)
        .bind(rollout.created_at_unix)
        .bind(&rollout.config_json)
        .bind(RolloutPhase::Created.as_str())
        .bind(CHAIN_VERSION)
        .execute(&mut *transaction)
        .await
        .doing_unless(doing, |kind| match kind {
            ErrorKind::ForeignKeyViolation => {
                Some(StoreError::UnknownPlan { doing: doing(), plan_id: rollout.plan_id.clone() })
            }
            ErrorKind::UniqueViolation => {
                Some(StoreError::RolloutExists { rollout_id: rollout.id.clone() })
            }
            _ => None,
        })?;
        for host in &rollout.hosts {
            sqlx::query(
                "INSERT INTO rollout_hosts (rollout_id, host) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&rollout.id)
            .bind(host)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
        }
        if !rollout.first_entries.is_empty() {
            let header = RolloutHeader {
                chain_version: CHAIN_VERSION,
                rollout_id: &rollout.id,
                plan_id: &rollout.plan_id,
                config_json: &rollout.config_json,
            };
            let genesis = header.genesis().expect("the current chain version has a genesis");
            let entries = journal_chain::chain(0, &genesis, &rollout.first_entries);
            journal::insert_entries(&mut transaction, &rollout.id, &entries, &doing).await?;
        }
        Postgres::notify_wake(&mut transaction, &rollout.id, &doing).await?;
        transaction.commit().await.doing(doing)?;
        Ok(())
    }

    async fn rollout(&self, _: Checked, prefix: &str) -> Result<Option<RolloutRow>, StoreError> {
        let doing = || format!("reading rollout {prefix}");
        // Rollout ids differ in length, so one can be the beginning of another: an exact match
        // sorts first and wins.
        let row = sqlx::query(concat!(
            "SELECT ",
            rollout_columns!(),
            ", COUNT(*) OVER () AS n_matches
             FROM rollouts WHERE starts_with(id, $1)
             ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END, id LIMIT 1"
        ))
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await
        .doing(doing)?;
        let Some(row) = row else { return Ok(None) };
        let rollout = rollout_row(&row, &doing)?;
        if rollout.id != prefix {
            check_unique(&row, "rollout", prefix, &doing)?;
        }
        Ok(Some(rollout))
    }

    async fn rollouts(&self) -> Result<Vec<RolloutRow>, StoreError> {
        let doing = || "listing rollouts".to_owned();
        let rows = sqlx::query(concat!(
            "SELECT ",
            rollout_columns!(),
            " FROM rollouts ORDER BY created_at DESC, id DESC"
        ))
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter().map(|row| rollout_row(row, &doing)).collect()
    }

    async fn claim_rollout(
        &self,
        _: Checked,
        id: &str,
        owner: &str,
        now_unix: i64,
        until_unix: i64,
    ) -> Result<Claim, StoreError> {
        let doing = || format!("claiming rollout {id} for {owner}");
        for _ in 0..LEASE_ATTEMPTS {
            // The condition and the change are one statement: of two processes claiming at once,
            // the second waits for the first's row lock, PostgreSQL evaluates the condition again
            // on the row the first wrote, and the second changes nothing. A lease ends at
            // `lease_expires`, so `<=` lets a claim take it from that second on. Whether the holder
            // still runs is never asked: a process that stalled, or runs in another PID namespace,
            // is told by its lease alone.
            let claimed: Option<i64> = sqlx::query_scalar(CLAIM_ROLLOUT)
                .bind(id)
                .bind(owner)
                .bind(until_unix)
                .bind(now_unix)
                .fetch_optional(&self.pool)
                .await
                .doing(doing)?;
            if let Some(token) = claimed {
                return Ok(Claim::Claimed(Lease {
                    rollout_id: id.to_owned(),
                    owner: owner.to_owned(),
                    token,
                    until_unix,
                }));
            }
            match self.lease(id, &doing).await? {
                Some((Some(holder), Some(until_unix))) if until_unix > now_unix => {
                    return Ok(Claim::HeldBy { owner: holder, until_unix });
                }
                Some(_) => continue,
                None => {
                    return Err(StoreError::UnknownRollout {
                        doing: doing(),
                        rollout_id: id.to_owned(),
                    });
                }
            }
        }
        Err(StoreError::InvalidValue {
            doing: doing(),
            message: "the lease kept changing hands while claiming".to_owned(),
        })
    }

    async fn renew_rollout_lease(
        &self,
        _: Checked,
        lease: &Lease,
        until_unix: i64,
    ) -> Result<Lease, StoreError> {
        let doing = || format!("renewing the lease on rollout {}", lease.rollout_id);
        // Renewal needs the caller's token on the row, even if its lease ran out: a claim by
        // anyone else, even one since released, bumped it, and the caller must then stop,
        // because that process may have driven the rollout meanwhile.
        let renewed = sqlx::query(
            "UPDATE rollouts SET lease_expires = $4 WHERE id = $1 AND owner = $2 AND fence = $3",
        )
        .bind(&lease.rollout_id)
        .bind(&lease.owner)
        .bind(lease.token)
        .bind(until_unix)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        if renewed.rows_affected() == 1 {
            return Ok(Lease { until_unix, ..lease.clone() });
        }
        Err(self.lease_lost(lease, &doing).await)
    }

    async fn release_rollout(&self, lease: &Lease) -> Result<bool, StoreError> {
        let doing = || format!("releasing rollout {} for {}", lease.rollout_id, lease.owner);
        let released = sqlx::query(
            "UPDATE rollouts SET owner = NULL, lease_expires = NULL
             WHERE id = $1 AND owner = $2 AND fence = $3",
        )
        .bind(&lease.rollout_id)
        .bind(&lease.owner)
        .bind(lease.token)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        if released.rows_affected() == 1 {
            return Ok(true);
        }
        match self.lease(&lease.rollout_id, &doing).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::UnknownRollout {
                doing: doing(),
                rollout_id: lease.rollout_id.clone(),
            }),
        }
    }

    async fn orphaned_rollouts(&self, now_unix: i64) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(ORPHANED_ROLLOUTS)
            .bind(now_unix)
            .fetch_all(&self.pool)
            .await
            .doing(|| "listing the rollouts whose driver's lease ran out".to_owned())
    }
}

impl Postgres {
    /// The error for a write under `lease` that the row no longer carries: lost, with whoever
    /// holds the rollout now.
    pub(super) async fn lease_lost(
        &self,
        lease: &Lease,
        doing: &(dyn Fn() -> String + Sync),
    ) -> StoreError {
        match self.lease(&lease.rollout_id, doing).await {
            Ok(Some((holder, _))) => StoreError::LeaseLost {
                doing: doing(),
                rollout_id: lease.rollout_id.clone(),
                owner: lease.owner.clone(),
                token: lease.token,
                holder,
            },
            Ok(None) => {
                StoreError::UnknownRollout { doing: doing(), rollout_id: lease.rollout_id.clone() }
            }
            Err(error) => error,
        }
    }

    /// A rollout's owner and lease end, or `None` when there is no such rollout.
    async fn lease(
        &self,
        id: &str,
        // Sync, so that the future stays Send for callers that spawn it.
        doing: &(dyn Fn() -> String + Sync),
    ) -> Result<Option<(Option<String>, Option<i64>)>, StoreError> {
        let row = sqlx::query("SELECT owner, lease_expires FROM rollouts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .doing(doing)?;
        row.map(|row| Ok((get(&row, "owner", doing)?, get(&row, "lease_expires", doing)?)))
            .transpose()
    }
}

fn rollout_row(row: &PgRow, doing: &dyn Fn() -> String) -> Result<RolloutRow, StoreError> {
    let id: String = get(row, "id", doing)?;
    Ok(RolloutRow {
        phase: phase_column(row, &id, doing)?,
        id,
        plan_id: get(row, "plan_id", doing)?,
        created_at_unix: get(row, "created_at", doing)?,
        config_json: get(row, "config", doing)?,
        updated_at_unix: get(row, "updated_at", doing)?,
        owner: get(row, "owner", doing)?,
        lease_expires_unix: get(row, "lease_expires", doing)?,
        fence: get(row, "fence", doing)?,
        chain_version: get(row, "chain_version", doing)?,
    })
}

/// Locks the host claims against every other writer of them until `transaction` ends: taken
/// before reading the claims by whoever may add some (a new rollout, one reopened).
async fn lock_claims(
    transaction: &mut Transaction<'_, Db>,
    doing: &(dyn Fn() -> String + Sync),
) -> Result<(), StoreError> {
    sqlx::query("LOCK TABLE rollout_hosts IN EXCLUSIVE MODE")
        .execute(&mut **transaction)
        .await
        .doing(doing)?;
    Ok(())
}

/// Which of `hosts` are claimed by unfinished rollouts (other than `except`), with the
/// rollout and its phase; sorted by host.
async fn claims_of(
    transaction: &mut Transaction<'_, Db>,
    hosts: &[String],
    except: Option<&str>,
    doing: &(dyn Fn() -> String + Sync),
) -> Result<Vec<HostClaim>, StoreError> {
    let mut claims = Vec::new();
    for host in hosts {
        let rows = sqlx::query(
            "SELECT rollouts.id, rollouts.phase FROM rollout_hosts
             JOIN rollouts ON rollouts.id = rollout_hosts.rollout_id
             WHERE rollout_hosts.host = $1
               AND rollouts.phase NOT IN ($2, $3, $4)
               AND rollouts.id IS DISTINCT FROM $5
             ORDER BY rollouts.created_at, rollouts.id",
        )
        .bind(host)
        .bind(RolloutPhase::FINISHED[0].as_str())
        .bind(RolloutPhase::FINISHED[1].as_str())
        .bind(RolloutPhase::FINISHED[2].as_str())
        .bind(except)
        .fetch_all(&mut **transaction)
        .await
        .doing(doing)?;
        for row in &rows {
            let rollout_id: String = get(row, "id", doing)?;
            claims.push(HostClaim {
                host: host.clone(),
                phase: phase_column(row, &rollout_id, doing)?,
                rollout_id,
            });
        }
    }
    Ok(claims)
}

/// A row's `phase` column, of rollout `rollout_id`: text this patchctl does not know as a
/// phase is a corrupt row.
fn phase_column(
    row: &PgRow,
    rollout_id: &str,
    doing: &dyn Fn() -> String,
) -> Result<RolloutPhase, StoreError> {
    let text: String = get(row, "phase", doing)?;
    text.parse().map_err(|message| StoreError::CorruptRow {
        doing: doing(),
        message: format!("rollout {rollout_id}: {message}"),
    })
}
