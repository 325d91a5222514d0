//! `--server URL`: the commands that run against a team server instead of the local state.
//! The client sends the token `patchctl login` stored for that server (or `PATCHCTL_TOKEN`),
//! reads the same `protocol` forms the local commands print, walks pages, and turns the
//! server's problem documents into errors that say what the server refused and why. Identity
//! is the login's: `--as` is refused here.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use anyhow::{Context, bail};
use ops::protocol::output::problem::ProblemV1;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `--server`, global.
#[derive(clap::Args)]
pub struct Target {
    /// A patchctl server (`https://patch.example.com`) to run the command on, as the user
    /// `patchctl login` logged in; without it, the command works on the local state.
    #[arg(long, global = true, env = "PATCHCTL_SERVER", value_name = "URL")]
    pub server: Option<String>,
}

/// The server's answers, read as the forms they are.
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of `server` with the token stored for it (or `PATCHCTL_TOKEN`).
    pub fn new(server: &str) -> anyhow::Result<Client> {
        let base = normalize(server)?;
        let token = match std::env::var("PATCHCTL_TOKEN") {
            Ok(token) if !token.is_empty() => token,
            _ => Credentials::load()?.token(&base).with_context(|| {
                format!("not logged in to {base}: run `patchctl login {base}` first")
            })?,
        };
        Ok(Client { base, token, http: http_client()? })
    }

    /// `POST /api/login`: the one call without a token.
    pub async fn login(
        server: &str,
        request: &ops::protocol::api::LoginRequestV1,
    ) -> anyhow::Result<ops::protocol::api::TokenV1> {
        let base = normalize(server)?;
        let url = format!("{base}/api/login");
        let response = http_client()?
            .post(&url)
            .json(request)
            .send()
            .await
            .with_context(|| format!("POST {url}: no answer"))?;
        read(response, "/api/login").await
    }

    /// `GET path` as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self.send(self.http.get(self.url(path))).await?;
        read(response, path).await
    }

    /// Every item of the list at `path`, page after page (the `Link: rel="next"` header).
    pub async fn get_all<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Vec<T>> {
        let mut items = Vec::new();
        let mut next = Some(self.url(path));
        while let Some(url) = next.take() {
            let response = self.send(self.http.get(&url)).await?;
            next = next_page(response.headers()).map(|link| self.url(&link));
            items.extend(read::<Vec<T>>(response, path).await?);
        }
        Ok(items)
    }

    /// `POST path` with `body` as JSON, the answer as `T`.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        let response = self.send(self.http.post(self.url(path)).json(body)).await?;
        read(response, path).await
    }

    /// `POST path` with `body` as JSON, for an answer without a body (204).
    pub async fn post_for_nothing(&self, path: &str, body: &impl Serialize) -> anyhow::Result<()> {
        let response = self.send(self.http.post(self.url(path)).json(body)).await?;
        if response.status().is_success() {
            return Ok(());
        }
        read::<serde_json::Value>(response, path).await.map(|_| ())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let request = request.bearer_auth(&self.token).build()?;
        let what = format!("{} {}", request.method(), request.url());
        self.http.execute(request).await.with_context(|| format!("{what}: no answer"))
    }
}

/// A server's address without a trailing slash; https, or http on loopback only (the server
/// refuses plain HTTP elsewhere too).
fn normalize(server: &str) -> anyhow::Result<String> {
    let base = server.trim_end_matches('/').to_owned();
    let rest =
        base.strip_prefix("https://").or_else(|| base.strip_prefix("http://")).with_context(
            || format!("{server:?} is not a server's URL: expected https://HOST[:PORT]"),
        )?;
    let host = rest.split(['/', ':']).next().unwrap_or("");
    let loopback = ["127.0.0.1", "localhost", "[", "::1"].iter().any(|l| host.starts_with(l));
    if base.starts_with("http://") && !loopback {
        bail!("{server}: plain HTTP only to a server on this machine; use https://");
    }
    Ok(base)
}

/// Rustls with the aws-lc-rs provider, trusting the system's roots and, when
/// `PATCHCTL_SERVER_CA` names a PEM file, that certificate too (a server with its own CA).
fn http_client() -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60));
    if let Some(path) = std::env::var_os("PATCHCTL_SERVER_CA") {
        let pem = std::fs::read(&path)
            .with_context(|| format!("reading PATCHCTL_SERVER_CA {}", path.to_string_lossy()))?;
        let certificate = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", path.to_string_lossy()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build().context("making the HTTP client")
}

/// The answer as `T`, or the server's problem document as the error.
async fn read<T: DeserializeOwned>(response: reqwest::Response, path: &str) -> anyhow::Result<T> {
    let status = response.status();
    let body = response.bytes().await.with_context(|| format!("reading the answer to {path}"))?;
    if !status.is_success() {
        let said = match serde_json::from_slice::<ProblemV1>(&body) {
            Ok(problem) => format!("{} ({}): {}", problem.status, problem.code, problem.detail),
            Err(_) => format!("{status}: {}", String::from_utf8_lossy(&body)),
        };
        bail!("the server refused {path}: {said}");
    }
    serde_json::from_slice(&body).with_context(|| {
        format!("the server's answer to {path} is not the form this patchctl reads")
    })
}

/// The target of a `Link: <…>; rel="next"` header.
fn next_page(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let start = part.find('<')? + 1;
        let end = part.find('>')?;
        Some(part[start..end].to_owned())
    })
}

/// The tokens `patchctl login` stored, one per server, in a file only its owner reads.
#[derive(Default, serde::Deserialize, serde::Serialize)]
pub struct Credentials {
    #[serde(default)]
    servers: std::collections::BTreeMap<String, Stored>,
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Stored {
    user: String,
    token: String,
}

impl Credentials {
    /// `$XDG_CONFIG_HOME/patchctl/credentials.toml`, or under `~/.config`.
    pub fn path() -> anyhow::Result<PathBuf> {
        let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => {
                PathBuf::from(std::env::var_os("HOME").context("$HOME is not set")?).join(".config")
            }
        };
        Ok(base.join("patchctl").join("credentials.toml"))
    }

    pub fn load() -> anyhow::Result<Credentials> {
        let path = Credentials::path()?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        toml::from_str(&text).with_context(|| format!("{} does not parse", path.display()))
    }

    /// Forgets the token stored for `server`; the file's path.
    pub fn forget(server: &str) -> anyhow::Result<PathBuf> {
        let mut credentials = Credentials::load()?;
        credentials.servers.remove(&normalize(server)?);
        credentials.save()
    }

    fn token(&self, server: &str) -> Option<String> {
        self.servers.get(server).map(|stored| stored.token.clone())
    }

    /// Stores `token` for `server`: the file replaced whole, mode 0600 from its creation, in a
    /// folder only its owner may enter.
    pub fn store(server: &str, user: &str, token: &str) -> anyhow::Result<PathBuf> {
        let mut credentials = Credentials::load()?;
        let server = normalize(server)?;
        credentials
            .servers
            .insert(server, Stored { user: user.to_owned(), token: token.to_owned() });
        credentials.save()
    }

    /// Writes the file whole, mode 0600 from its creation, in a folder only its owner may
    /// enter.
    fn save(&self) -> anyhow::Result<PathBuf> {
        let credentials = self;
        let path = Credentials::path()?;
        let dir = path.parent().expect("the credentials file is in a folder");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let temporary = dir.join(".credentials.toml.new");
        let _ = std::fs::remove_file(&temporary);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .with_context(|| format!("creating {}", temporary.display()))?;
        file.write_all(toml::to_string(&credentials)?.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
            .with_context(|| format!("replacing {}", path.display()))?;
        Ok(path)
    }
}

/// What a command says when it cannot run against a server yet.
pub fn not_remote(command: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "`patchctl {command}` does not run against a server yet: run it without --server (on \
         the server's machine, against its state)"
    )
}

/// `--as` names who acts on the local state; a server knows who acts from the login.
pub fn refuse_as(actor: &Option<String>) -> anyhow::Result<()> {
    if actor.is_some() {
        bail!(
            "--as is refused with --server: the server records the user you logged in as \
             (`patchctl login`), and no one else"
        );
    }
    Ok(())
}
