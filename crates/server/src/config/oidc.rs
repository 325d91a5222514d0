//! server.toml's `[oidc]` table: the OpenID Connect provider users log in through, and the
//! roles its groups give (`[oidc.roles]`, group = role). Checked here like the rest of the
//! file; the client secret's file is read when the server starts ([`OidcConfig::settings`]).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use model::access::{GroupRoles, Role};
use ops::oidc::OidcSettings;
use serde::Deserialize;
use toml::Spanned;

/// The `[oidc]` table, checked.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// What the login page's link says: "Log in with NAME".
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Derived from each login's request (its Host, the server's scheme) when `None`.
    pub redirect_url: Option<String>,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub username_claim: String,
    pub roles: GroupRoles,
}

/// Where the client secret is: in the file, or in a file of its own (which the package can
/// keep readable by the service's user only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSecret {
    Inline(String),
    File(PathBuf),
}

impl OidcConfig {
    /// The settings `ops::oidc` wants, the client secret read from its file if it has one.
    pub fn settings(&self) -> Result<OidcSettings, std::io::Error> {
        let client_secret = match &self.client_secret {
            ClientSecret::Inline(secret) => secret.clone(),
            ClientSecret::File(path) => std::fs::read_to_string(path)?.trim().to_owned(),
        };
        Ok(OidcSettings {
            name: self.name.clone(),
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_secret,
            redirect_url: self.redirect_url.clone(),
            scopes: self.scopes.clone(),
            groups_claim: self.groups_claim.clone(),
            username_claim: self.username_claim.clone(),
            roles: self.roles.clone(),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OidcFile {
    name: Option<String>,
    issuer: Option<Spanned<String>>,
    client_id: Option<Spanned<String>>,
    client_secret: Option<Spanned<String>>,
    client_secret_file: Option<Spanned<PathBuf>>,
    redirect_url: Option<Spanned<String>>,
    scopes: Option<Spanned<Vec<String>>>,
    groups_claim: Option<String>,
    username_claim: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, Spanned<String>>,
}

const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// Checks the `[oidc]` table (at `table`'s span), saying each problem through `problem`;
/// `None` when it has any.
pub(super) fn parse(
    table: &Spanned<OidcFile>,
    dir: &Path,
    problem: &mut dyn FnMut(Range<usize>, String),
) -> Option<OidcConfig> {
    let file = table.get_ref();
    let mut fine = true;
    let mut say = |span: Range<usize>, message: String| {
        fine = false;
        problem(span, message);
    };
    let mut required = |value: &Option<Spanned<String>>, key: &str| match value {
        Some(value) if !value.get_ref().trim().is_empty() => value.get_ref().clone(),
        Some(value) => {
            say(value.span(), format!("{key} is empty"));
            String::new()
        }
        None => {
            say(table.span(), format!("[oidc] needs {key}"));
            String::new()
        }
    };
    let issuer = required(&file.issuer, "issuer");
    let client_id = required(&file.client_id, "client_id");
    if let Some(spanned) = &file.issuer
        && let Err(message) = check_url(&issuer)
    {
        say(spanned.span(), format!("issuer {issuer:?} {message}"));
    }
    if let Some(spanned) = &file.redirect_url
        && let Err(message) = check_url(spanned.get_ref())
    {
        say(spanned.span(), format!("redirect_url {:?} {message}", spanned.get_ref()));
    }
    let client_secret = match (&file.client_secret, &file.client_secret_file) {
        (Some(secret), None) => ClientSecret::Inline(secret.get_ref().clone()),
        (None, Some(path)) => ClientSecret::File(dir.join(path.get_ref())),
        (Some(_), Some(path)) => {
            say(path.span(), "give client_secret or client_secret_file, not both".into());
            ClientSecret::Inline(String::new())
        }
        (None, None) => {
            say(table.span(), "[oidc] needs client_secret or client_secret_file".into());
            ClientSecret::Inline(String::new())
        }
    };
    let scopes = match &file.scopes {
        None => DEFAULT_SCOPES.map(str::to_owned).to_vec(),
        Some(scopes) => {
            if !scopes.get_ref().iter().any(|s| s == "openid") {
                say(scopes.span(), "scopes must include \"openid\"".into());
            }
            scopes.get_ref().clone()
        }
    };
    let mut roles = Vec::new();
    for (group, role) in &file.roles {
        match role.get_ref().parse::<Role>() {
            Ok(parsed) => roles.push((group.clone(), parsed)),
            Err(message) => say(role.span(), format!("group {group:?}: {message}")),
        }
    }
    if file.roles.is_empty() {
        say(
            table.span(),
            "[oidc.roles] maps no group to a role, so no one could log in: add e.g. \
             ops = \"operator\""
                .into(),
        );
    }
    fine.then(|| OidcConfig {
        name: file.name.clone().unwrap_or_else(|| "OIDC".into()),
        issuer,
        client_id,
        client_secret,
        redirect_url: file.redirect_url.as_ref().map(|url| url.get_ref().clone()),
        scopes,
        groups_claim: file.groups_claim.clone().unwrap_or_else(|| "groups".into()),
        username_claim: file.username_claim.clone().unwrap_or_else(|| "preferred_username".into()),
        roles: GroupRoles { roles },
    })
}

/// An `https` URL, or `http` to a loopback address only (a provider on the same machine).
fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("is plain HTTP to another machine: use https".into()),
        scheme => Err(format!("has the scheme {scheme}: use https")),
    }
}
