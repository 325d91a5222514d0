//! Logging in through an OpenID Connect provider: the authorization code flow with PKCE (S256),
//! a `state` and a `nonce`, through the `openidconnect` crate. [`start`] discovers the provider
//! (its `.well-known/openid-configuration` and its keys), keeps the login pending here (state →
//! PKCE verifier and nonce, for ten minutes, one use) and returns the URL to send the browser
//! to; [`finish`] takes the provider's answer, exchanges the code, checks the ID token
//! (signature against the provider's keys, issuer, audience, expiry, nonce), maps the user's
//! groups to a role (`model::access::GroupRoles`) and logs the user in as an OIDC user
//! (`identity::oidc_login`). A user in no mapped group is refused, on the identity record.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use model::access::{GroupRoles, Role};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IdTokenFields,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::Context;
use crate::identity::{IdentityError, IssuedToken, LoginSettings};

/// The provider and what the server asks of it (server.toml's `[oidc]`), the secret read.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// What the login page calls it: "Log in with NAME".
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where the provider sends the browser back; derived from the request when `None`.
    pub redirect_url: Option<String>,
    /// Always with `openid`.
    pub scopes: Vec<String>,
    /// The claim with the user's groups (a list of names, or one name).
    pub groups_claim: String,
    /// The claim whose value is the user's name here.
    pub username_claim: String,
    pub roles: GroupRoles,
}

/// The provider a server logs in through, with the logins under way. Made once per server.
pub struct Provider {
    settings: OidcSettings,
    http: Http,
    /// The provider's metadata and keys, and when they were fetched: fetched again after
    /// [`METADATA_SECONDS`], so that rotated keys are seen.
    metadata: tokio::sync::Mutex<Option<(i64, CoreProviderMetadata)>>,
    pending: Mutex<HashMap<String, Pending>>,
}

/// A login sent to the provider and not yet back.
struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    redirect_url: String,
    expires_at_unix: i64,
}

/// How long a login may take at the provider.
pub const PENDING_SECONDS: i64 = 600;
/// How long the provider's metadata and keys are used before they are fetched again.
const METADATA_SECONDS: i64 = 300;
/// Logins under way at once at most, so that anonymous requests cannot fill the memory.
const MAX_PENDING: usize = 10_000;

/// A login sent to the provider: the browser goes to `authorize_url`, and comes back with
/// `state`, which the server also keeps in a cookie so that the answer is this browser's.
#[derive(Debug, Clone)]
pub struct Started {
    pub authorize_url: String,
    pub state: String,
}

/// What the provider sent the browser back with.
#[derive(Debug, Clone, Default)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    /// The provider's refusal (`error`, `error_description`).
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The state this browser started with (its cookie).
    pub browser_state: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("{doing} at the OIDC provider {issuer}: {problem}")]
    Provider { doing: &'static str, issuer: String, problem: String },
    #[error("this login is unknown, expired or used already: log in again")]
    UnknownState,
    #[error("this login was started in another browser: log in again")]
    OtherBrowser,
    #[error("the OIDC provider refused the login: {0}")]
    Refused(String),
    #[error("the OIDC provider's ID token is not valid: {0}")]
    InvalidIdToken(String),
    #[error("the OIDC provider's ID token has no {0:?} claim to name the user by")]
    NoUserName(String),
    #[error(
        "{user} is in no group that has a role here (their groups: {groups}): ask an admin to \
         map one in server.toml's [oidc.roles]"
    )]
    NoRole { user: String, groups: String },
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl Provider {
    pub fn new(settings: OidcSettings) -> Result<Provider, OidcError> {
        crate::notify::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("patchctl/", env!("CARGO_PKG_VERSION")))
            // The crate's advice: following redirects would open the server to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Provider {
                doing: "making an HTTP client",
                issuer: settings.issuer.clone(),
                problem: e.to_string(),
            })?;
        Ok(Provider {
            settings,
            http: Http(http),
            metadata: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    fn error(&self, doing: &'static str, problem: impl ToString) -> OidcError {
        OidcError::Provider {
            doing,
            issuer: self.settings.issuer.clone(),
            problem: problem.to_string(),
        }
    }

    /// The provider's metadata and keys, discovered at most [`METADATA_SECONDS`] ago.
    async fn metadata(&self, now_unix: i64) -> Result<CoreProviderMetadata, OidcError> {
        let mut cached = self.metadata.lock().await;
        if let Some((at, metadata)) = cached.as_ref()
            && now_unix - at < METADATA_SECONDS
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| self.error("reading the issuer URL", e))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| self.error("discovering the provider", chain(&e)))?;
        *cached = Some((now_unix, metadata.clone()));
        Ok(metadata)
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
        redirect_url: &str,
    ) -> Result<Client, OidcError> {
        let redirect = RedirectUrl::new(redirect_url.to_owned())
            .map_err(|e| self.error("reading the redirect URL", e))?;
        Ok(Client::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }
}

/// Starts a login: the provider discovered, a PKCE verifier, a state and a nonce made and kept
/// for [`PENDING_SECONDS`], and the provider's URL to send the browser to. `redirect_url` is
/// where the provider sends it back (the configured one, else one the server derived).
pub async fn start(
    ctx: &Context,
    provider: &Provider,
    redirect_url: &str,
) -> Result<Started, OidcError> {
    let now = ctx.clock.now_unix();
    let metadata = provider.metadata(now).await?;
    let client = provider.client(metadata, redirect_url)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in provider.settings.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    let mut pending = provider.pending.lock().unwrap_or_else(|e| e.into_inner());
    pending.retain(|_, login| login.expires_at_unix > now);
    if pending.len() >= MAX_PENDING {
        return Err(
            provider.error("starting a login", "too many logins under way: try again later")
        );
    }
    let login = Pending {
        verifier,
        nonce,
        redirect_url: redirect_url.to_owned(),
        expires_at_unix: now + PENDING_SECONDS,
    };
    pending.insert(state.secret().clone(), login);
    Ok(Started { authorize_url: url.to_string(), state: state.secret().clone() })
}

/// Finishes a login the provider sent back: its pending entry taken (once), the code
/// exchanged with the PKCE verifier, the ID token checked, the role found from the groups,
/// and the user logged in as an OIDC user with a token of that role. A user in no mapped
/// group, or whose name is a local user's, is refused on the identity record.
pub async fn finish(
    ctx: &Context,
    provider: &Provider,
    callback: &Callback,
    settings: &LoginSettings,
) -> Result<IssuedToken, OidcError> {
    let now = ctx.clock.now_unix();
    let state = callback.state.as_deref().ok_or(OidcError::UnknownState)?;
    let login = {
        let mut pending = provider.pending.lock().unwrap_or_else(|e| e.into_inner());
        // Taken whatever follows: a state is good for one try.
        pending.remove(state).filter(|login| login.expires_at_unix > now)
    };
    let login = login.ok_or(OidcError::UnknownState)?;
    if callback.browser_state.as_deref() != Some(state) {
        return Err(OidcError::OtherBrowser);
    }
    if let Some(error) = &callback.error {
        let description = callback.error_description.as_deref().unwrap_or("");
        return Err(OidcError::Refused(format!("{error} {description}").trim().to_owned()));
    }
    let code = callback.code.clone().ok_or_else(|| OidcError::Refused("no code".into()))?;
    let metadata = provider.metadata(now).await?;
    let client = provider.client(metadata, &login.redirect_url)?;
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| provider.error("exchanging the code", e))?
        .set_pkce_verifier(login.verifier)
        .request_async(&provider.http)
        .await
        .map_err(|e| provider.error("exchanging the code", chain(&e)))?;
    let id_token = response
        .id_token()
        .ok_or_else(|| OidcError::InvalidIdToken("the provider sent none".into()))?;
    let verifier = client.id_token_verifier().set_time_fn(move || {
        chrono::DateTime::from_timestamp(now, 0).unwrap_or(chrono::DateTime::UNIX_EPOCH)
    });
    let claims = id_token
        .claims(&verifier, &login.nonce)
        .map_err(|e| OidcError::InvalidIdToken(chain(&e)))?;
    let subject = format!("{} {}", claims.issuer().as_str(), claims.subject().as_str());
    let claims = serde_json::to_value(claims)
        .map_err(|e| OidcError::InvalidIdToken(format!("reading its claims: {e}")))?;
    let settings_oidc = &provider.settings;
    let user = claims
        .get(&settings_oidc.username_claim)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| OidcError::NoUserName(settings_oidc.username_claim.clone()))?
        .to_owned();
    let groups = groups(claims.get(&settings_oidc.groups_claim));
    let Some(role) = settings_oidc.roles.role(&groups) else {
        let groups = if groups.is_empty() { "none".to_owned() } else { groups.join(", ") };
        let refusal = OidcError::NoRole { user: user.clone(), groups };
        crate::identity::refused(ctx, &user, &format!("OIDC login: {refusal}")).await?;
        return Err(refusal);
    };
    Ok(oidc_login(ctx, &user, &subject, role, settings).await?)
}

/// The user logged in as an OIDC user, refusals on the record.
async fn oidc_login(
    ctx: &Context,
    user: &str,
    subject: &str,
    role: Role,
    settings: &LoginSettings,
) -> Result<IssuedToken, IdentityError> {
    match crate::identity::oidc_login(ctx, user, subject, role, settings).await {
        Err(error @ (IdentityError::NotOidcUser(_) | IdentityError::InvalidName(_))) => {
            crate::identity::refused(ctx, user, &format!("OIDC login: {error}")).await?;
            Err(error)
        }
        other => other,
    }
}

/// The group names in a groups claim: a list of names, or one name.
fn groups(claim: Option<&serde_json::Value>) -> Vec<String> {
    match claim {
        Some(serde_json::Value::String(group)) => vec![group.clone()],
        Some(serde_json::Value::Array(groups)) => {
            groups.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect()
        }
        _ => Vec::new(),
    }
}

/// Every claim of the ID token, the standard ones aside (they are read from its JSON).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(transparent)]
struct OtherClaims(serde_json::Map<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

type Fields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// `openidconnect::core::CoreClient` with [`OtherClaims`], as made from the provider's
/// metadata.
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<Fields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

/// The provider's HTTP, through the process's reqwest client (rustls, aws-lc-rs).
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(|e| HttpError(chain(&e)))?;
            let response = self.0.execute(request).await.map_err(|e| HttpError(chain(&e)))?;
            let mut answer = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let body = response.bytes().await.map_err(|e| HttpError(chain(&e)))?;
            answer.body(body.to_vec()).map_err(|e| HttpError(e.to_string()))
        })
    }
}

/// An error with its sources, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
