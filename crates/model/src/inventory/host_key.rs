//! A pinned SSH host key as OpenSSH writes it (`TYPE BASE64`, as in `known_hosts` or
//! `/etc/ssh/ssh_host_*_key.pub`), checked for shape without any cryptography.

use std::fmt;

/// Key types OpenSSH accepts for host keys. DSA is absent: OpenSSH dropped it.
pub const KNOWN_HOST_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// A host key in OpenSSH's public form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostKey {
    key_type: String,
    base64: String,
}

impl HostKey {
    /// Parses `TYPE BASE64 [COMMENT]`. The comment is dropped. The base64 must decode to an SSH
    /// key blob that names the same type, which catches a key pasted with a line break or a
    /// truncation, and a type written by hand that does not match the key.
    pub fn parse(text: &str) -> Result<HostKey, String> {
        let mut words = text.split_whitespace();
        let (Some(key_type), Some(base64)) = (words.next(), words.next()) else {
            return Err(format!(
                "expected a host key as \"TYPE BASE64\" (e.g. the contents of \
                 /etc/ssh/ssh_host_ed25519_key.pub), found {text:?}"
            ));
        };
        if !KNOWN_HOST_KEY_TYPES.contains(&key_type) {
            return Err(format!(
                "unknown host key type {key_type:?}, expected one of {}",
                KNOWN_HOST_KEY_TYPES.join(", ")
            ));
        }
        let Some(blob) = decode_base64(base64) else {
            return Err(format!("the {key_type} host key is not valid base64"));
        };
        match blob_key_type(&blob) {
            Some(inner) if inner == key_type.as_bytes() => {}
            Some(inner) => {
                return Err(format!(
                    "the host key says {key_type:?} but its data is a {:?} key",
                    String::from_utf8_lossy(inner)
                ));
            }
            None => return Err(format!("the {key_type} host key's data is not an SSH key")),
        }
        Ok(HostKey { key_type: key_type.to_owned(), base64: base64.to_owned() })
    }

    /// e.g. `ssh-ed25519`.
    pub fn key_type(&self) -> &str {
        &self.key_type
    }

    /// The key blob in base64, as OpenSSH writes it.
    pub fn base64(&self) -> &str {
        &self.base64
    }

    /// The decoded key blob (what SSH fingerprints are computed over).
    pub fn blob(&self) -> Vec<u8> {
        // Checked by `parse`, so this cannot fail; an empty blob keeps it panic-free regardless.
        decode_base64(&self.base64).unwrap_or_default()
    }
}

impl fmt::Display for HostKey {
    /// `TYPE BASE64`, the canonical form patchctl stores and compares.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key_type, self.base64)
    }
}

/// The key type an SSH key blob names in its first field, when the blob is well formed: every
/// public key format is a sequence of length-prefixed fields (RFC 4253 section 6.6), the type and
/// at least one more, that ends exactly where the blob does. That catches a truncated paste.
fn blob_key_type(blob: &[u8]) -> Option<&[u8]> {
    let mut fields = Vec::new();
    let mut rest = blob;
    while !rest.is_empty() {
        let length = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        fields.push(rest.get(4..4usize.checked_add(length)?)?);
        rest = &rest[4 + length..];
    }
    if fields.len() < 2 {
        return None;
    }
    fields.first().copied()
}

/// Standard base64 with padding, as OpenSSH writes it. `None` on any other character, a wrong
/// length or bits left over.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    match bytes.len() % 4 {
        0 if !bytes.is_empty() => {}
        _ => return None,
    }
    let padding = bytes.iter().rev().take_while(|&&c| c == b'=').count();
    if padding > 2 {
        return None;
    }
    let data = &bytes[..bytes.len() - padding];
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let mut accumulator: u32 = 0;
    let mut bits = 0;
    for &c in data {
        accumulator = (accumulator << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((accumulator >> bits) as u8);
            accumulator &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero, as in any canonical encoding.
    (accumulator == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The public part of a throwaway ed25519 key (ssh-keygen -t ed25519).
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO+ZekfE2mC65ISkiL2Sf/UXh2XCh3L3QWZYIExFI8Yl root@deb1";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ1EHcu2J4i6esFiCKsJoivwkbX5MXqYd9RvJBzZjHHj1CDpk2QheiOHIrQEXTVXQO9iO+7KPWCttt+iN5p2SdE=";

    #[test]
    fn parses_openssh_public_keys_and_drops_the_comment() {
        let key = HostKey::parse(ED25519).unwrap();
        assert_eq!(key.key_type(), "ssh-ed25519");
        assert_eq!(key.to_string(), ED25519.trim_end_matches(" root@deb1"));
        assert_eq!(key.blob().len(), 51);
        // Padding, and a key type that is not ed25519.
        assert_eq!(HostKey::parse(ECDSA).unwrap().key_type(), "ecdsa-sha2-nistp256");
    }

    #[test]
    fn rejects_what_is_not_a_host_key() {
        for (text, expected) in [
            ("", "expected a host key"),
            ("ssh-ed25519", "expected a host key"),
            ("ssh-dss AAAA", "unknown host key type \"ssh-dss\""),
            ("ssh-ed25519 AAAA!!!!", "not valid base64"),
            ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO+Zek", "not valid base64"),
            (
                "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIO+ZekfE2mC65ISkiL2Sf/UXh2XCh3L3QWZYIExFI8Yl",
                "its data is a \"ssh-ed25519\" key",
            ),
            ("ssh-ed25519 aGVsbG8=", "not an SSH key"),
        ] {
            let error = HostKey::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
