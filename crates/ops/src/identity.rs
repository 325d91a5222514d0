//! The server's identities: users created with a one-time password (hashed with argon2id),
//! logins checked against it under the lockout rule (`model::access::Lockout`), API tokens
//! issued (32 random bytes, shown once, stored as their SHA-256), authenticated and revoked.
//! Users who log in through the OIDC provider (`oidc.rs`) are made here too: they have no
//! password, and their role follows their groups at every login. Every write is put on the
//! identity record with who did it, at the context's clock.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use model::access::{Lockout, LoginRecord, Role};
use sha2::{Digest, Sha256};
use store::{NewToken, NewUser};

use crate::Context;

/// Who a request comes from, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    /// The token's role: never more than its user's.
    pub role: Role,
    /// The token that proved it (for revoking it, for the record).
    pub token_id: String,
}

/// A token just issued: `secret` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: String,
    pub secret: String,
    pub user: String,
    pub role: Role,
    pub expires_at_unix: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Source(#[from] crate::SourceError),
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error("{0:?} is not a user name: use letters, digits, '.', '_' or '-' (at most 64)")]
    InvalidName(String),
    #[error("creating user {0}: a user has this name already")]
    UserExists(String),
    #[error("no user {0}")]
    UnknownUser(String),
    /// A wrong user or password: which of the two is not said.
    #[error("wrong user or password")]
    BadCredentials,
    #[error("user {user} is locked out after failed logins until Unix time {until_unix}")]
    LockedOut { user: String, until_unix: i64 },
    #[error("not a valid token")]
    UnknownToken,
    #[error("token {0} has expired")]
    TokenExpired(String),
    #[error("token {0} was revoked")]
    TokenRevoked(String),
    #[error("a token of {user} cannot have role {asked}: the user's role is {held}")]
    RoleTooHigh { user: String, asked: Role, held: Role },
    #[error("{doing}: {problem}")]
    Crypto { doing: String, problem: String },
    #[error(
        "{0} is a local user (or another OIDC user's name): an OIDC login cannot take over their \
         account"
    )]
    NotOidcUser(String),
    #[error("the old password is wrong")]
    WrongPassword,
    #[error("{0}")]
    WeakPassword(String),
    #[error("the state database holds an unknown role {0:?}")]
    CorruptRole(String),
}

/// How long tokens live and when logins lock: the server's settings.
#[derive(Debug, Clone, Copy)]
pub struct LoginSettings {
    pub lockout: Lockout,
    /// A login's token lives this long.
    pub token_seconds: i64,
}

/// The prefix of every token, so that a leaked one is recognizable (by secret scanners too).
const TOKEN_PREFIX: &str = "pct_";

/// Creates a user with `role` and returns its one-time password (shown once, stored hashed),
/// recorded as done by `actor`.
pub async fn create_user(
    ctx: &Context,
    actor: &str,
    name: &str,
    role: Role,
) -> Result<String, IdentityError> {
    check_name(name)?;
    let password = random_hex(16, "making a password")?;
    let hash = hash_password(password.clone()).await?;
    let user = NewUser {
        name: name.to_owned(),
        password_hash: hash,
        role: role.as_str().to_owned(),
        created_at_unix: ctx.clock.now_unix(),
        oidc_subject: None,
    };
    if !ctx.store().await?.create_user(&user, actor).await? {
        return Err(IdentityError::UserExists(name.to_owned()));
    }
    Ok(password)
}

/// Checks `password` for `name` under the lockout rule and issues a token of the user's role;
/// a failure is counted, and the one that reaches the limit locks the user out (on the record).
pub async fn login(
    ctx: &Context,
    name: &str,
    password: &str,
    settings: &LoginSettings,
) -> Result<IssuedToken, IdentityError> {
    let store = ctx.store().await?;
    let now = ctx.clock.now_unix();
    let Some(user) = store.user(name).await? else {
        // As slow as a wrong password, so that timing does not tell which users exist.
        let _ = verify_password(password.to_owned(), dummy_hash().await?).await;
        return Err(IdentityError::BadCredentials);
    };
    if user.oidc_subject.is_some() {
        // An OIDC user has no password: said like any wrong one, and not counted.
        let _ = verify_password(password.to_owned(), dummy_hash().await?).await;
        return Err(IdentityError::BadCredentials);
    }
    let record =
        LoginRecord { failures: user.failed_logins, locked_until_unix: user.locked_until_unix };
    if let Some(until_unix) = settings.lockout.locked(&record, now) {
        return Err(IdentityError::LockedOut { user: name.to_owned(), until_unix });
    }
    if !verify_password(password.to_owned(), user.password_hash.clone()).await? {
        let after = settings.lockout.after_failure(&record, now);
        store.record_login(name, after.failures, after.locked_until_unix, now).await?;
        if let Some(until_unix) = settings.lockout.locked(&after, now) {
            ctx.progress.notice(&format!(
                "user {name} locked out until Unix time {until_unix} after failed logins"
            ));
        }
        return Err(IdentityError::BadCredentials);
    }
    if user.failed_logins != 0 {
        store.record_login(name, 0, user.locked_until_unix, now).await?;
    }
    let role = role(&user.role)?;
    issue(ctx, name, name, role, Some(now + settings.token_seconds)).await
}

/// Logs in `name`, whom the OIDC provider vouched for as `subject` (`ISSUER SUBJECT`) with
/// groups that give `role`: the user is made on the first login (with no password), given
/// `role` on every later one, and issued a token of it, each on the record as done by the user.
/// Refused when `name` is a local user's, or another subject's.
pub async fn oidc_login(
    ctx: &Context,
    name: &str,
    subject: &str,
    role: Role,
    settings: &LoginSettings,
) -> Result<IssuedToken, IdentityError> {
    check_name(name)?;
    let store = ctx.store().await?;
    let now = ctx.clock.now_unix();
    match store.user(name).await? {
        None => {
            let user = NewUser {
                name: name.to_owned(),
                password_hash: String::new(),
                role: role.as_str().to_owned(),
                created_at_unix: now,
                oidc_subject: Some(subject.to_owned()),
            };
            if !store.create_user(&user, name).await? {
                return Err(IdentityError::UserExists(name.to_owned()));
            }
        }
        Some(user) if user.oidc_subject.as_deref() == Some(subject) => {
            store.set_role(name, role.as_str(), name, now).await?;
        }
        Some(_) => return Err(IdentityError::NotOidcUser(name.to_owned())),
    }
    issue(ctx, name, name, role, Some(now + settings.token_seconds)).await
}

/// Issues a token for `user` with `role` (at most the user's) that expires after `seconds`
/// (never, with `None`), recorded as done by `actor`.
pub async fn create_token(
    ctx: &Context,
    actor: &str,
    user: &str,
    role: Role,
    seconds: Option<i64>,
) -> Result<IssuedToken, IdentityError> {
    let stored = ctx
        .store()
        .await?
        .user(user)
        .await?
        .ok_or_else(|| IdentityError::UnknownUser(user.to_owned()))?;
    let held = self::role(&stored.role)?;
    if !held.includes(role) {
        return Err(IdentityError::RoleTooHigh { user: user.to_owned(), asked: role, held });
    }
    let expires = seconds.map(|seconds| ctx.clock.now_unix() + seconds);
    issue(ctx, actor, user, role, expires).await
}

/// The shortest password a user may choose.
pub const MIN_PASSWORD: usize = 12;

/// Changes `name`'s own password: the old one checked under the lockout rule like a login (a
/// wrong one counts against it), the new one at least [`MIN_PASSWORD`] characters and not the
/// old one; on the identity record as done by `name`.
pub async fn change_password(
    ctx: &Context,
    name: &str,
    old: &str,
    new: &str,
    settings: &LoginSettings,
) -> Result<(), IdentityError> {
    let chars = new.chars().count();
    if !(MIN_PASSWORD..=1024).contains(&chars) {
        return Err(IdentityError::WeakPassword(format!(
            "the new password has {chars} characters: it needs {MIN_PASSWORD} to 1024"
        )));
    }
    if new == old {
        return Err(IdentityError::WeakPassword("the new password is the old one".to_owned()));
    }
    let store = ctx.store().await?;
    let now = ctx.clock.now_unix();
    let user = store.user(name).await?.ok_or_else(|| IdentityError::UnknownUser(name.into()))?;
    let record =
        LoginRecord { failures: user.failed_logins, locked_until_unix: user.locked_until_unix };
    if let Some(until_unix) = settings.lockout.locked(&record, now) {
        return Err(IdentityError::LockedOut { user: name.to_owned(), until_unix });
    }
    if !verify_password(old.to_owned(), user.password_hash.clone()).await? {
        let after = settings.lockout.after_failure(&record, now);
        store.record_login(name, after.failures, after.locked_until_unix, now).await?;
        return Err(IdentityError::WrongPassword);
    }
    let hash = hash_password(new.to_owned()).await?;
    if !store.set_password(name, &hash, name, now).await? {
        return Err(IdentityError::UnknownUser(name.to_owned()));
    }
    Ok(())
}

/// Revokes the token `id`; false when there is no unrevoked one by that id.
pub async fn revoke_token(ctx: &Context, actor: &str, id: &str) -> Result<bool, IdentityError> {
    Ok(ctx.store().await?.revoke_token(id, actor, ctx.clock.now_unix()).await?)
}

/// The identity a token proves: refused when unknown, expired or revoked.
pub async fn authenticate(ctx: &Context, secret: &str) -> Result<Identity, IdentityError> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Err(IdentityError::UnknownToken);
    }
    let token = ctx
        .store()
        .await?
        .token_by_hash(&sha256_hex(secret))
        .await?
        .ok_or(IdentityError::UnknownToken)?;
    if token.revoked_at_unix.is_some() {
        return Err(IdentityError::TokenRevoked(token.id));
    }
    if token.expires_at_unix.is_some_and(|at| ctx.clock.now_unix() >= at) {
        return Err(IdentityError::TokenExpired(token.id));
    }
    // A token acts with no more than its user holds now: a role lowered since it was issued
    // (by an admin, or by the OIDC provider's groups at the next login) applies at once.
    let store = ctx.store().await?;
    let user = store.user(&token.user).await?.ok_or(IdentityError::UnknownToken)?;
    let granted = role(&token.role)?.min(role(&user.role)?);
    Ok(Identity { user: token.user, role: granted, token_id: token.id })
}

/// Puts on the identity record that `actor` was refused `subject` (what and why).
pub async fn refused(ctx: &Context, actor: &str, subject: &str) -> Result<(), IdentityError> {
    Ok(ctx.store().await?.record_refusal(actor, subject, ctx.clock.now_unix()).await?)
}

/// The form token that goes with a session (its token's secret): a page's forms carry it and
/// a post is refused without it, so another site cannot post with the browser's cookie. Derived
/// from the secret, so it needs no state; and the secret cannot be learnt back from it.
pub fn csrf_token(secret: &str) -> String {
    sha256_hex(&format!("patchctl-csrf:{secret}"))
}

/// The identity record, oldest first.
pub async fn events(ctx: &Context) -> Result<Vec<store::IdentityEvent>, IdentityError> {
    Ok(ctx.store().await?.identity_events().await?)
}

async fn issue(
    ctx: &Context,
    actor: &str,
    user: &str,
    role: Role,
    expires_at_unix: Option<i64>,
) -> Result<IssuedToken, IdentityError> {
    let secret = format!("{TOKEN_PREFIX}{}", random_hex(32, "making a token")?);
    let hash = sha256_hex(&secret);
    // The id names the token and reveals nothing of it: a hash of the hash.
    let id = sha256_hex(&hash)[..16].to_owned();
    let token = NewToken {
        id: id.clone(),
        hash,
        user: user.to_owned(),
        role: role.as_str().to_owned(),
        created_at_unix: ctx.clock.now_unix(),
        expires_at_unix,
    };
    ctx.store().await?.create_token(&token, actor).await?;
    Ok(IssuedToken { id, secret, user: user.to_owned(), role, expires_at_unix })
}

fn role(text: &str) -> Result<Role, IdentityError> {
    text.parse().map_err(|_| IdentityError::CorruptRole(text.to_owned()))
}

fn check_name(name: &str) -> Result<(), IdentityError> {
    let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > 64 || !name.chars().all(fits) {
        return Err(IdentityError::InvalidName(name.to_owned()));
    }
    Ok(())
}

fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(n_bytes: usize, doing: &str) -> Result<String, IdentityError> {
    let mut bytes = vec![0u8; n_bytes];
    getrandom::fill(&mut bytes)
        .map_err(|e| IdentityError::Crypto { doing: doing.to_owned(), problem: e.to_string() })?;
    Ok(hex(&bytes))
}

/// Argon2id with its default parameters, off the runtime's threads (it takes tens of
/// milliseconds of CPU on purpose).
async fn hash_password(password: String) -> Result<String, IdentityError> {
    let crypto =
        |problem: String| IdentityError::Crypto { doing: "hashing a password".to_owned(), problem };
    tokio::task::spawn_blocking(move || {
        Argon2::default().hash_password(password.as_bytes()).map(|hash| hash.to_string())
    })
    .await
    .map_err(|e| crypto(e.to_string()))?
    .map_err(|e| crypto(e.to_string()))
}

async fn verify_password(password: String, hash: String) -> Result<bool, IdentityError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok()
    })
    .await
    .map_err(|e| IdentityError::Crypto {
        doing: "checking a password".to_owned(),
        problem: e.to_string(),
    })
}

/// A hash of nothing anyone knows, to check the passwords of unknown users against.
async fn dummy_hash() -> Result<String, IdentityError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY.get_or_try_init(|| hash_password("no user has this password".to_owned())).await.cloned()
}
