//! Users, API tokens and their record in PostgreSQL. Each write and its entry in the record are
//! one transaction.

use sqlx::postgres::PgRow;

use super::{Postgres, Serialized, get};
use crate::error::QueryContext;
use crate::{Identities, IdentityEvent, NewToken, NewUser, StoreError, StoredToken, StoredUser};

#[async_trait::async_trait]
impl Identities for Postgres {
    async fn create_user(&self, user: &NewUser, actor: &str) -> Result<bool, StoreError> {
        let doing = || format!("creating user {}", user.name);
        let mut transaction = self.begin_serialized(Serialized::Identities, &doing).await?;
        let inserted = sqlx::query(
            "INSERT INTO users (name, password_hash, role, created_at, oidc_subject)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(&user.role)
        .bind(user.created_at_unix)
        .bind(&user.oidc_subject)
        .execute(&mut *transaction)
        .await
        .doing(doing)?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        record(&mut transaction, user.created_at_unix, actor, "user-created", &user.name, &doing)
            .await?;
        transaction.commit().await.doing(doing)?;
        Ok(true)
    }

    async fn user(&self, name: &str) -> Result<Option<StoredUser>, StoreError> {
        let doing = || format!("reading user {name}");
        let row = sqlx::query(
            "SELECT name, password_hash, role, created_at, failed_logins, locked_until, oidc_subject
             FROM users WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .doing(doing)?;
        let Some(row) = row else { return Ok(None) };
        let failed: i64 = get(&row, "failed_logins", &doing)?;
        Ok(Some(StoredUser {
            name: get(&row, "name", &doing)?,
            password_hash: get(&row, "password_hash", &doing)?,
            role: get(&row, "role", &doing)?,
            created_at_unix: get(&row, "created_at", &doing)?,
            failed_logins: u32::try_from(failed).unwrap_or(u32::MAX),
            locked_until_unix: get(&row, "locked_until", &doing)?,
            oidc_subject: get(&row, "oidc_subject", &doing)?,
        }))
    }

    async fn record_login(
        &self,
        name: &str,
        failures: u32,
        locked_until_unix: Option<i64>,
        at_unix: i64,
    ) -> Result<(), StoreError> {
        let doing = || format!("recording a login of {name}");
        let mut transaction = self.begin_serialized(Serialized::Identities, &doing).await?;
        let before: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_until FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *transaction)
                .await
                .doing(doing)?;
        let Some(before) = before else {
            return Err(StoreError::InvalidValue {
                doing: doing(),
                message: "no such user".to_owned(),
            });
        };
        sqlx::query("UPDATE users SET failed_logins = $2, locked_until = $3 WHERE name = $1")
            .bind(name)
            .bind(i64::from(failures))
            .bind(locked_until_unix)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
        if locked_until_unix.is_some_and(|until| before.is_none_or(|before| until > before)) {
            record(&mut transaction, at_unix, name, "locked-out", name, &doing).await?;
        }
        transaction.commit().await.doing(doing)?;
        Ok(())
    }

    async fn set_role(
        &self,
        name: &str,
        role: &str,
        actor: &str,
        at_unix: i64,
    ) -> Result<bool, StoreError> {
        let doing = || format!("giving user {name} the role {role}");
        let subject = format!("{name}: {role}");
        let entry = Entry { at_unix, actor, kind: "role-changed", subject: &subject };
        let update = "UPDATE users SET role = $2 WHERE name = $1 AND role <> $2";
        self.update_user_on_record(update, name, role, entry, &doing).await
    }

    async fn create_token(&self, token: &NewToken, actor: &str) -> Result<(), StoreError> {
        let doing = || format!("creating token {} of {}", token.id, token.user);
        let mut transaction = self.begin_serialized(Serialized::Identities, &doing).await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, hash, user_name, role, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.id)
        .bind(&token.hash)
        .bind(&token.user)
        .bind(&token.role)
        .bind(token.created_at_unix)
        .bind(token.expires_at_unix)
        .execute(&mut *transaction)
        .await
        .doing(doing)?;
        record(&mut transaction, token.created_at_unix, actor, "token-created", &token.id, &doing)
            .await?;
        transaction.commit().await.doing(doing)?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<StoredToken>, StoreError> {
        let doing = || "looking a token up".to_owned();
        let row = sqlx::query(
            "SELECT id, user_name, role, created_at, expires_at, revoked_at
             FROM api_tokens WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .doing(doing)?;
        row.map(|row| token(&row, &doing)).transpose()
    }

    async fn revoke_token(&self, id: &str, actor: &str, at_unix: i64) -> Result<bool, StoreError> {
        let doing = || format!("revoking token {id}");
        let mut transaction = self.begin_serialized(Serialized::Identities, &doing).await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2, revoked_by = $3
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(at_unix)
        .bind(actor)
        .execute(&mut *transaction)
        .await
        .doing(doing)?
        .rows_affected();
        if revoked == 0 {
            return Ok(false);
        }
        record(&mut transaction, at_unix, actor, "token-revoked", id, &doing).await?;
        transaction.commit().await.doing(doing)?;
        Ok(true)
    }

    async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        actor: &str,
        at_unix: i64,
    ) -> Result<bool, StoreError> {
        let doing = || format!("changing the password of {name}");
        let entry = Entry { at_unix, actor, kind: "password-changed", subject: name };
        let update = "UPDATE users SET password_hash = $2 WHERE name = $1";
        self.update_user_on_record(update, name, password_hash, entry, &doing).await
    }

    async fn record_refusal(
        &self,
        actor: &str,
        subject: &str,
        at_unix: i64,
    ) -> Result<(), StoreError> {
        let doing = || format!("recording that {actor} was refused {subject}");
        let mut transaction = self.begin_serialized(Serialized::Identities, &doing).await?;
        record(&mut transaction, at_unix, actor, "refused", subject, &doing).await?;
        transaction.commit().await.doing(doing)
    }

    async fn identity_events(&self) -> Result<Vec<IdentityEvent>, StoreError> {
        let doing = || "reading the identity record".to_owned();
        let rows = sqlx::query("SELECT at, actor, kind, subject FROM identity_events ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .doing(doing)?;
        rows.iter()
            .map(|row| {
                Ok(IdentityEvent {
                    at_unix: get(row, "at", &doing)?,
                    actor: get(row, "actor", &doing)?,
                    kind: get(row, "kind", &doing)?,
                    subject: get(row, "subject", &doing)?,
                })
            })
            .collect()
    }
}

/// An entry of the identity record.
struct Entry<'a> {
    at_unix: i64,
    actor: &'a str,
    kind: &'a str,
    subject: &'a str,
}

impl Postgres {
    /// Runs `update` of user `name` (`$1`) to `value` (`$2`) and, when it changed the user, puts
    /// `entry` on the record: one transaction. Whether it changed the user.
    async fn update_user_on_record(
        &self,
        update: &'static str,
        name: &str,
        value: &str,
        entry: Entry<'_>,
        doing: &(dyn Fn() -> String + Sync),
    ) -> Result<bool, StoreError> {
        let mut transaction = self.begin_serialized(Serialized::Identities, &doing).await?;
        let changed = sqlx::query(update)
            .bind(name)
            .bind(value)
            .execute(&mut *transaction)
            .await
            .doing(doing)?
            .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        let Entry { at_unix, actor, kind, subject } = entry;
        record(&mut transaction, at_unix, actor, kind, subject, doing).await?;
        transaction.commit().await.doing(doing)?;
        Ok(true)
    }
}

fn token(row: &PgRow, doing: &dyn Fn() -> String) -> Result<StoredToken, StoreError> {
    Ok(StoredToken {
        id: get(row, "id", doing)?,
        user: get(row, "user_name", doing)?,
        role: get(row, "role", doing)?,
        created_at_unix: get(row, "created_at", doing)?,
        expires_at_unix: get(row, "expires_at", doing)?,
        revoked_at_unix: get(row, "revoked_at", doing)?,
    })
}

/// Appends an entry to the identity record inside `transaction`.
async fn record(
    transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    at_unix: i64,
    actor: &str,
    kind: &str,
    subject: &str,
    doing: &(dyn Fn() -> String + Sync),
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO identity_events (at, actor, kind, subject) VALUES ($1, $2, $3, $4)")
        .bind(at_unix)
        .bind(actor)
        .bind(kind)
        .bind(subject)
        .execute(&mut **transaction)
        .await
        .doing(doing)?;
    Ok(())
}
