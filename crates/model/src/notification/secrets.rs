//! Secrets in the notification settings, kept out of everything patchctl prints or stores. A
//! webhook URL carries its token in its path (`https://hooks.example.com/services/T0/B0/XXXX`),
//! so records and messages show [`redact_url`]'s form and a [`key_id`] instead; an SMTP password
//! is masked wherever a message might quote it ([`scrub_password`]).
//!
//! - [`redact_url`]: the scheme, the host and its port, then a fixed mask:
//!   `https://hooks.example.com/…`. Never the user name, the path, the query or the fragment,
//!   and never how long they were.
//! - [`key_id`]: the first 12 hex digits of the SHA-256 of the URL exactly as the policy writes
//!   it, so that an operator can tell which configured webhook a record is about without the
//!   record holding its token (`printf %s "$URL" | sha256sum | cut -c1-12` gives the same).
//! - [`redact_urls_in`]: every URL in a text redacted; HTTP libraries quote the URL they failed
//!   on (`error sending request for url (…)`).
//! - [`scrub_webhook_message`]: a message about one webhook with that webhook's path and query
//!   masked too, and their long parts (tokens), which a receiver's error page may quote back.
//! - [`sends_in_clear`]: whether a webhook goes unencrypted to another machine.

use sha2::{Digest, Sha256};

/// What replaces a secret: one character, the same whatever it hides.
pub const MASK: &str = "…";

/// How many hex digits of the SHA-256 a key id keeps: enough to tell a fleet's webhooks apart,
/// too few to be worth guessing a token against.
const KEY_ID_DIGITS: usize = 12;

/// The parts of a URL's path and query at least this long are masked on their own in a message
/// about it: a token (Slack's are 24 characters, Teams' 32 and more), not a word like `hooks`.
const LONG_PART: usize = 16;

/// A password shorter than this is not looked for in messages: masking every `a` of a message
/// would make it unreadable, and such a password protects nothing anyway.
const MIN_MASKED_PASSWORD: usize = 4;

/// `https://hooks.example.com/…`: the scheme, the host and its port, and [`MASK`]. A text that
/// is not `scheme://host…` becomes the mask alone.
pub fn redact_url(url: &str) -> String {
    match scheme_and_host(url) {
        Some((scheme, host)) => format!("{scheme}://{host}/{MASK}"),
        None => MASK.to_owned(),
    }
}

/// The first 12 hex digits of the SHA-256 of `url`, as written.
pub fn key_id(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..KEY_ID_DIGITS].to_owned()
}

/// `text` with every `scheme://…` in it replaced by its [`redact_url`] form. A URL ends at
/// white space, a quote or an angle bracket; a `)`, `.`, `,`, `;` or `:` that ends it is taken
/// for the sentence's. Redacting twice changes nothing more.
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(separator) = rest.find("://") {
        let before = &rest[..separator];
        let scheme_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || "+-.".contains(*c))
            .last()
            .map_or(separator, |(i, _)| i);
        // A scheme begins with a letter.
        let scheme_start = scheme_start
            + before[scheme_start..].find(|c: char| c.is_ascii_alphabetic()).unwrap_or(0);
        let after = &rest[separator + 3..];
        let mut end = separator
            + 3
            + after
                .find(|c: char| c.is_whitespace() || c.is_control() || "\"'<>`".contains(c))
                .unwrap_or(after.len());
        while end > separator + 3 && rest[..end].ends_with([')', '.', ',', ';', ':']) {
            end -= 1;
        }
        if scheme_start == separator {
            out.push_str(&rest[..separator + 3]);
            rest = &rest[separator + 3..];
            continue;
        }
        out.push_str(&rest[..scheme_start]);
        out.push_str(&redact_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A message about delivering to `url` (an error, an error page quoted back), fit to print and
/// store: `url` and every other URL redacted, `url`'s path and query masked wherever they
/// appear, and so are their parts of 16 characters or more. Scrubbing again, or with `url`
/// redacted already, changes nothing more.
pub fn scrub_webhook_message(text: &str, url: &str) -> String {
    let mut scrubbed =
        if url.is_empty() { text.to_owned() } else { text.replace(url, &redact_url(url)) };
    scrubbed = redact_urls_in(&scrubbed);
    let tail = url_tail(url);
    // A URL redacted already leaves nothing to mask (and its mask is to be kept).
    if tail.len() > 1 && tail.strip_prefix('/') != Some(MASK) {
        scrubbed = scrubbed.replace(tail, MASK);
    }
    for part in tail.split(['/', '\\', '?', '&', '=', '#', ';', '@']) {
        if part.chars().count() >= LONG_PART {
            scrubbed = scrubbed.replace(part, MASK);
        }
    }
    scrubbed
}

/// `text` with an SMTP password masked: as itself, and base64-encoded the ways AUTH LOGIN and
/// AUTH PLAIN send it (a relay may quote the command it refused). A password of fewer than 4
/// characters is left alone.
pub fn scrub_password(text: &str, username: &str, password: &str) -> String {
    if password.chars().count() < MIN_MASKED_PASSWORD {
        return text.to_owned();
    }
    // The longest first, so that a shorter form inside a longer one does not break it up.
    let forms = [
        base64_unpadded(format!("\0{username}\0{password}").as_bytes()),
        base64_unpadded(password.as_bytes()),
        password.to_owned(),
    ];
    forms.iter().fold(text.to_owned(), |text, form| text.replace(form.as_str(), MASK))
}

/// Whether a webhook would go unencrypted to another machine: `http://` to a host other than
/// a loopback one (`localhost`, 127.0.0.0/8, `[::1]`). Loopback stays allowed: nothing crosses
/// a network, and tests and local relays use it. A host written any other way (`127.1`, a
/// name that resolves to 127.0.0.1) counts as another machine.
pub fn sends_in_clear(url: &str) -> bool {
    let Some((scheme, host)) = scheme_and_host(url) else { return false };
    scheme.eq_ignore_ascii_case("http") && !is_loopback(host)
}

/// `host` or `host:port`, as [`scheme_and_host`] gives it.
fn is_loopback(host_and_port: &str) -> bool {
    if let Some(bracketed) = host_and_port.strip_prefix('[') {
        let address = bracketed.split(']').next().unwrap_or("");
        return address.parse::<std::net::Ipv6Addr>().is_ok_and(|address| {
            address.is_loopback() || address.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        });
    }
    let host = host_and_port.rsplit_once(':').map_or(host_and_port, |(host, _)| host);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|address| address.is_loopback())
}

/// The scheme and the host (with its port, without any user name) of `scheme://host/…`.
fn scheme_and_host(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    // As browsers and reqwest read a URL: a backslash ends the host like a slash, and the
    // user name is everything up to the last `@` before it.
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host_ok = !host.is_empty() && host.chars().all(|c| !c.is_whitespace() && !c.is_control());
    (scheme_ok && host_ok).then_some((scheme, host))
}

/// What follows the host: the path, the query and the fragment; empty when nothing does.
fn url_tail(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else { return "" };
    rest.find(['/', '\\', '?', '#']).map_or("", |start| &rest[start..])
}

/// Standard base64 without its `=` padding, which a quoted form may have lost.
fn base64_unpadded(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | (u32::from(*byte) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_scheme_and_host_only() {
        for (url, redacted) in [
            ("https://hooks.example.com/services/T000/B000/XXXX", "https://hooks.example.com/…"),
            ("https://hooks.example.com", "https://hooks.example.com/…"),
            ("https://hooks.example.com?token=XXXX", "https://hooks.example.com/…"),
            ("https://hooks.example.com#XXXX", "https://hooks.example.com/…"),
            ("http://127.0.0.1:8080/hook/XXXX", "http://127.0.0.1:8080/…"),
            ("http://[::1]:8080/XXXX", "http://[::1]:8080/…"),
            ("https://user:XXXX@hooks.example.com/p", "https://hooks.example.com/…"),
            ("https://a@b@hooks.example.com/p", "https://hooks.example.com/…"),
            ("https://hooks.example.com\\services\\XXXX", "https://hooks.example.com/…"),
            ("HTTPS://Hooks.Example.com/XXXX", "HTTPS://Hooks.Example.com/…"),
            ("https://hooks.example.com/…", "https://hooks.example.com/…"),
            ("hooks.example.com/services/XXXX", "…"),
            ("https:///XXXX", "…"),
            ("://host/XXXX", "…"),
            ("1http://host/XXXX", "…"),
            ("", "…"),
        ] {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn a_key_id_is_the_start_of_the_sha256_of_the_url_as_written() {
        for (url, key) in [
            // printf %s URL | sha256sum | cut -c1-12
            ("https://hooks.example.com/services/T000/B000/XXXX", "c01ef99d34df"),
            ("https://hooks.example.com/services/T000/B000/YYYY", "254657b9fbc7"),
            ("", "e3b0c44298fc"),
        ] {
            assert_eq!(key_id(url), key, "{url}");
        }
    }

    #[test]
    fn every_url_in_a_text_is_redacted() {
        for (text, redacted) in [
            (
                "error sending request for url (https://hooks.example.com/services/T0/B0/XXXX)",
                "error sending request for url (https://hooks.example.com/…)",
            ),
            (
                "https://a.example/XXXX, then http://b.example:81/YYYY.",
                "https://a.example/…, then http://b.example:81/….",
            ),
            (
                "\"https://a.example/XXXX\" <http://b.example/YYYY>",
                "\"https://a.example/…\" <http://b.example/…>",
            ),
            (
                "a path with a paren https://a.example/x)XXXX) ends",
                "a path with a paren https://a.example/…) ends",
            ),
            ("(https://a.example/XXXX):", "(https://a.example/…):"),
            ("ws://a.example/XXXX", "ws://a.example/…"),
            ("é—https://a.example/XXXX", "é—https://a.example/…"),
            ("no URL: ://, http:/; no host: x://", "no URL: ://, http:/; no host: …"),
            ("https://", "…"),
            ("already https://a.example/… twice", "already https://a.example/… twice"),
        ] {
            assert_eq!(redact_urls_in(text), redacted, "{text}");
            assert_eq!(redact_urls_in(redacted), redacted, "{redacted} again");
        }
    }

    #[test]
    fn a_webhook_message_loses_the_path_and_its_tokens_wherever_they_are() {
        let url = "https://hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX?x=1";
        for (text, scrubbed) in [
            (
                "could not connect: error sending request for url (https://hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX?x=1): refused",
                "could not connect: error sending request for url (https://hooks.example.com/…): refused",
            ),
            (
                "HTTP 404 Not Found: no route for /services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX?x=1",
                "HTTP 404 Not Found: no route for …",
            ),
            (
                "HTTP 403 Forbidden: invalid_token XXXXXXXXXXXXXXXXXXXXXXXX",
                "HTTP 403 Forbidden: invalid_token …",
            ),
            ("HTTP 500: services down", "HTTP 500: services down"),
        ] {
            assert_eq!(scrub_webhook_message(text, url), scrubbed, "{text}");
        }
        assert_eq!(scrub_webhook_message("at /", "https://h/"), "at /");
        let redacted = "for url (https://hooks.example.com/…)";
        assert_eq!(scrub_webhook_message(redacted, "https://hooks.example.com/…"), redacted);
        assert_eq!(scrub_webhook_message("x", ""), "x");
    }

    #[test]
    fn a_password_is_masked_plain_and_base64_encoded() {
        for (text, scrubbed) in [
            ("535 bad password hunter22", "535 bad password …"),
            // AUTH PLAIN's `\0alice\0hunter22` and AUTH LOGIN's password, as a relay may echo
            // them, padded or not.
            (
                "502 unknown command AUTH PLAIN AGFsaWNlAGh1bnRlcjIy",
                "502 unknown command AUTH PLAIN …",
            ),
            ("502 unknown command aHVudGVyMjI=", "502 unknown command …="),
            ("250 ok", "250 ok"),
        ] {
            assert_eq!(scrub_password(text, "alice", "hunter22"), scrubbed, "{text}");
        }
        assert_eq!(scrub_password("a cat", "alice", "a"), "a cat", "too short to look for");
    }

    #[test]
    fn base64_is_the_standard_one() {
        for (bytes, encoded) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"\0alice\0secret", "AGFsaWNlAHNlY3JldA"),
            (&[0xff, 0xfe, 0xfd], "//79"),
        ] {
            assert_eq!(base64_unpadded(bytes), encoded);
        }
    }

    #[test]
    fn plain_http_is_in_the_clear_unless_to_loopback() {
        for (url, in_clear) in [
            ("http://hooks.example.com/XXXX", true),
            ("HTTP://hooks.example.com/XXXX", true),
            ("http://10.0.0.5:8080/XXXX", true),
            ("http://127.1/XXXX", true),
            ("http://localhost.example.com/XXXX", true),
            ("http://127.0.0.1.example.com/XXXX", true),
            ("http://127.0.0.1:80@hooks.example.com/XXXX", true),
            ("http://[::2]/XXXX", true),
            ("https://hooks.example.com/XXXX", false),
            ("http://127.0.0.1:8080/XXXX", false),
            ("http://127.255.0.9/XXXX", false),
            ("http://localhost:8080/XXXX", false),
            ("http://LocalHost/XXXX", false),
            ("http://[::1]:8080/XXXX", false),
            ("http://[::ffff:127.0.0.1]/XXXX", false),
            ("http://hooks.example.com#@127.0.0.1/XXXX", true),
            ("http://127.0.0.1\\@hooks.example.com/XXXX", false),
        ] {
            assert_eq!(sends_in_clear(url), in_clear, "{url}");
        }
    }
}
