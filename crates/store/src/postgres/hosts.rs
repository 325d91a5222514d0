//! Hosts and their pinned SSH host keys in PostgreSQL. A key is pinned by insert-if-absent, so two
//! processes pinning at once cannot both win.

use model::PackageManagerKind;

use super::{Postgres, get, package_manager_column, unknown_host};
use crate::error::QueryContext;
use crate::{HostRow, Hosts, PinOutcome, PinnedHostKey, StoreError, StoredHost};

#[async_trait::async_trait]
impl Hosts for Postgres {
    async fn upsert_host(&self, host: &HostRow) -> Result<(), StoreError> {
        let doing = || format!("saving host {}", host.name);
        sqlx::query(
            "INSERT INTO hosts (name, address, environment, package_manager, first_seen, last_seen)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (name) DO UPDATE SET
                 address = excluded.address,
                 environment = excluded.environment,
                 package_manager = COALESCE(excluded.package_manager, hosts.package_manager),
                 first_seen = CASE WHEN excluded.first_seen < hosts.first_seen
                                   THEN excluded.first_seen ELSE hosts.first_seen END,
                 last_seen = CASE WHEN excluded.last_seen > hosts.last_seen
                                  THEN excluded.last_seen ELSE hosts.last_seen END",
        )
        .bind(&host.name)
        .bind(&host.address)
        .bind(&host.environment)
        .bind(host.package_manager.map(PackageManagerKind::as_str))
        .bind(host.seen_at_unix)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        Ok(())
    }

    async fn hosts(&self) -> Result<Vec<StoredHost>, StoreError> {
        let doing = || "listing hosts".to_owned();
        let rows = sqlx::query(
            "SELECT name, address, environment, package_manager, first_seen, last_seen
             FROM hosts ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter()
            .map(|row| {
                Ok(StoredHost {
                    name: get(row, "name", &doing)?,
                    address: get(row, "address", &doing)?,
                    environment: get(row, "environment", &doing)?,
                    package_manager: package_manager_column(row, &doing)?,
                    first_seen_unix: get(row, "first_seen", &doing)?,
                    last_seen_unix: get(row, "last_seen", &doing)?,
                })
            })
            .collect()
    }

    async fn pin_host_key(&self, key: &PinnedHostKey) -> Result<PinOutcome, StoreError> {
        let doing = || format!("pinning a host key for {}", key.host);
        // Insert-if-absent is one statement, so two processes pinning at once cannot both win.
        // A key unpinned between it and the read that follows is a race with a person; trying
        // again settles it, and a second time is never needed in practice.
        for _ in 0..3 {
            let inserted = sqlx::query(
                "INSERT INTO host_keys (host, key_type, key, fingerprint, pinned_at, pinned_by)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (host) DO NOTHING",
            )
            .bind(&key.host)
            .bind(&key.key_type)
            .bind(&key.key)
            .bind(&key.fingerprint)
            .bind(key.pinned_at_unix)
            .bind(&key.pinned_by)
            .execute(&self.pool)
            .await
            .doing_unless(doing, |kind| unknown_host(kind, doing(), &key.host))?;
            if inserted.rows_affected() == 1 {
                return Ok(PinOutcome::Pinned);
            }
            match self.host_key(&key.host).await? {
                Some(pinned) if pinned.key_type == key.key_type && pinned.key == key.key => {
                    return Ok(PinOutcome::AlreadyPinned);
                }
                Some(pinned) => {
                    return Err(StoreError::HostKeyMismatch {
                        host: key.host.clone(),
                        pinned_fingerprint: pinned.fingerprint,
                        offered_fingerprint: key.fingerprint.clone(),
                    });
                }
                None => continue,
            }
        }
        Err(StoreError::InvalidValue {
            doing: doing(),
            message: "the pinned key kept changing while pinning".to_owned(),
        })
    }

    async fn host_key(&self, host: &str) -> Result<Option<PinnedHostKey>, StoreError> {
        let doing = || format!("reading the host key of {host}");
        let row = sqlx::query(
            "SELECT host, key_type, key, fingerprint, pinned_at, pinned_by
             FROM host_keys WHERE host = $1",
        )
        .bind(host)
        .fetch_optional(&self.pool)
        .await
        .doing(doing)?;
        row.map(|row| {
            Ok(PinnedHostKey {
                host: get(&row, "host", &doing)?,
                key_type: get(&row, "key_type", &doing)?,
                key: get(&row, "key", &doing)?,
                fingerprint: get(&row, "fingerprint", &doing)?,
                pinned_at_unix: get(&row, "pinned_at", &doing)?,
                pinned_by: get(&row, "pinned_by", &doing)?,
            })
        })
        .transpose()
    }

    async fn unpin_host_key(&self, host: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM host_keys WHERE host = $1")
            .bind(host)
            .execute(&self.pool)
            .await
            .doing(|| format!("unpinning the host key of {host}"))?;
        Ok(result.rows_affected() > 0)
    }
}
