//! The server's identities: users with their password hashes and failed logins, API tokens
//! stored as hashes, and the append-only record of what was done to them; [`Identities`], what
//! every backend implements for them. Roles are kept as their names; `ops` reads them.

use crate::StoreError;

/// Users, tokens and their record. Every write appends to the record in its transaction.
#[async_trait::async_trait]
pub trait Identities: Send + Sync {
    /// Creates a user; false, writing nothing, when one has the name already.
    async fn create_user(&self, user: &NewUser, actor: &str) -> Result<bool, StoreError>;

    async fn user(&self, name: &str) -> Result<Option<StoredUser>, StoreError>;

    /// Records a login's outcome: the failures in a row and the lockout after it. A new
    /// lockout (`locked_until_unix` later than the one on record) is added to the record.
    async fn record_login(
        &self,
        name: &str,
        failures: u32,
        locked_until_unix: Option<i64>,
        at_unix: i64,
    ) -> Result<(), StoreError>;

    /// Gives user `name` the role `role`; false, writing nothing, when it has it already. A
    /// change goes on the record as `role-changed` of `NAME: ROLE`.
    async fn set_role(
        &self,
        name: &str,
        role: &str,
        actor: &str,
        at_unix: i64,
    ) -> Result<bool, StoreError>;

    /// Replaces a user's password hash (`password-changed` on the record, by `actor`); false
    /// when there is no such user.
    async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        actor: &str,
        at_unix: i64,
    ) -> Result<bool, StoreError>;

    /// Saves a token's hash; the token itself is never stored.
    async fn create_token(&self, token: &NewToken, actor: &str) -> Result<(), StoreError>;

    /// The token whose SHA-256 (lowercase hex) is `hash`.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<StoredToken>, StoreError>;

    /// Revokes a token by id; false when no unrevoked token has it.
    async fn revoke_token(&self, id: &str, actor: &str, at_unix: i64) -> Result<bool, StoreError>;

    /// The record, oldest first.
    async fn identity_events(&self) -> Result<Vec<IdentityEvent>, StoreError>;

    /// Records that `actor` was refused `subject` (a route, and why): forged posts, calls
    /// above the caller's role.
    async fn record_refusal(
        &self,
        actor: &str,
        subject: &str,
        at_unix: i64,
    ) -> Result<(), StoreError>;
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    /// A PHC string (`$argon2id$…`); empty for an OIDC user, who has no password.
    pub password_hash: String,
    pub role: String,
    pub created_at_unix: i64,
    /// The OIDC provider's issuer and the user's subject there (`ISSUER SUBJECT`); `None` for
    /// a local user.
    pub oidc_subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub created_at_unix: i64,
    pub failed_logins: u32,
    pub locked_until_unix: Option<i64>,
    pub oidc_subject: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    /// Names the token in lists and revocations; not a secret.
    pub id: String,
    /// SHA-256 of the token, lowercase hex.
    pub hash: String,
    pub user: String,
    pub role: String,
    pub created_at_unix: i64,
    pub expires_at_unix: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub id: String,
    pub user: String,
    pub role: String,
    pub created_at_unix: i64,
    pub expires_at_unix: Option<i64>,
    pub revoked_at_unix: Option<i64>,
}

/// One entry of the identity record: `actor` did `kind` (`user-created`, `token-created`,
/// `token-revoked`, `locked-out`, `role-changed`, `refused`) to `subject` (a user name, a token
/// id, a user and their new role, or what was refused and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityEvent {
    pub at_unix: i64,
    pub actor: String,
    pub kind: String,
    pub subject: String,
}
