//! HTTP postchecks, from patchctl's side as a user or a load balancer sees the service: a GET,
//! the status, optionally a text the body must contain. Plain `http://` only for now.

use std::time::Duration;

use model::checks::HttpCheck;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most of a response read: a health endpoint answers in a few bytes.
const MAX_RESPONSE: u64 = 1 << 20;

/// `Err` says what was wrong, in words for the report.
pub async fn check(check: &HttpCheck, timeout: Duration) -> Result<(), String> {
    let url = &check.url;
    let (authority, path) = parse_url(url)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: patchctl\r\nConnection: close\r\n\r\n"
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&authority).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.take(MAX_RESPONSE).read_to_end(&mut response).await?;
        std::io::Result::Ok(response)
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("GET {url}: no answer within {timeout:?}"))?
        .map_err(|error| format!("GET {url}: {error}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("GET {url}: not an HTTP response"))?;
    if status != check.status {
        return Err(format!("GET {url}: status {status}, expected {}", check.status));
    }
    if let Some(expected) = &check.body
        && !body.contains(expected.as_str())
    {
        let shown: String = body.trim().chars().take(200).collect();
        return Err(format!(
            "GET {url}: the body does not contain {expected:?} (it says {shown:?})"
        ));
    }
    Ok(())
}

/// `http://HOST[:PORT]/PATH` → (`HOST:PORT`, `/PATH`).
fn parse_url(url: &str) -> Result<(String, String), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!("{url}: only http:// checks are supported so far"));
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(['@', ' ']) || path.contains([' ', '\r', '\n']) {
        return Err(format!("{url}: not a URL patchctl can check"));
    }
    let authority =
        if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
    Ok((authority, path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://10.0.0.5:8080/health").unwrap(),
            ("10.0.0.5:8080".into(), "/health".into())
        );
        assert_eq!(parse_url("http://web1").unwrap(), ("web1:80".into(), "/".into()));
        assert!(parse_url("https://web1/").is_err());
        assert!(parse_url("http://a b/").is_err());
        assert!(parse_url("http://x/\r\nInjected: 1").is_err());
    }
}
