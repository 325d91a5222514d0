//! Which Debian mirrors this machine uses, read from its own apt sources at run time.
//!
//! The repository never names a mirror or registry host: the images are built from whatever
//! mirror the build machine is configured with. Both apt formats are read: deb822 `*.sources`
//! files and one-line `sources.list` / `*.list` files. Third-party sources (Docker's, Microsoft's,
//! NodeSource's, …) are ignored even when they reuse Debian's suite names.

use std::path::Path;

use anyhow::Context as _;

/// The two URIs a Debian release is fetched from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebianMirrors {
    /// Serves the release suite and its `-updates` suite, e.g. `http://…/debian`.
    pub main: String,
    /// Serves the `-security` suite, e.g. `http://…/debian-security`.
    pub security: String,
}

/// One `deb` line, or one deb822 stanza expanded to its URIs and suites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceEntry {
    pub uris: Vec<String>,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    /// The `Signed-By` / `signed-by=` value, if any.
    pub signed_by: Option<String>,
}

/// Reads `/etc/apt/sources.list` and `/etc/apt/sources.list.d/*.{list,sources}` and picks the
/// Debian mirrors that serve `codename` and `codename-security`.
pub fn debian_mirrors(codename: &str) -> anyhow::Result<DebianMirrors> {
    let entries = read_host_sources(Path::new("/etc/apt"))?;
    pick_debian_mirrors(&entries, codename).with_context(|| {
        format!("reading Debian's mirror for {codename} from this machine's apt sources (/etc/apt)")
    })
}

/// Picks the first Debian entry serving `codename` and the first serving `codename-security`.
pub fn pick_debian_mirrors(
    entries: &[SourceEntry],
    codename: &str,
) -> anyhow::Result<DebianMirrors> {
    let security_suite = format!("{codename}-security");
    let find = |suite: &str, path_segment: &str| {
        entries
            .iter()
            .filter(|entry| is_debian_entry(entry, path_segment))
            .find(|entry| entry.suites.iter().any(|s| s == suite))
            .and_then(|entry| entry.uris.first())
            .map(|uri| uri.trim_end_matches('/').to_owned())
    };
    let main = find(codename, "debian")
        .with_context(|| format!("no Debian source with suite {codename} and component main"))?;
    let security = find(&security_suite, "debian-security").with_context(|| {
        format!("no Debian source with suite {security_suite} and component main")
    })?;
    Ok(DebianMirrors { main, security })
}

/// Parses a deb822 `.sources` file. Disabled stanzas (`Enabled: no`) and non-`deb` types are
/// dropped.
pub fn parse_deb822(text: &str) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut flush = |fields: &mut Vec<(String, String)>| {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let words = |name: &str| -> Vec<String> {
            get(name).unwrap_or("").split_whitespace().map(str::to_owned).collect()
        };
        let enabled = get("Enabled").is_none_or(|value| !value.trim().eq_ignore_ascii_case("no"));
        if enabled && words("Types").iter().any(|t| t == "deb") {
            entries.push(SourceEntry {
                uris: words("URIs"),
                suites: words("Suites"),
                components: words("Components"),
                signed_by: get("Signed-By").map(|v| v.trim().to_owned()),
            });
        }
        fields.clear();
    };
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut fields);
        } else if line.starts_with([' ', '\t']) {
            // A continuation line (e.g. an inline Signed-By key) belongs to the previous field.
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    flush(&mut fields);
    entries
}

/// Parses a one-line `sources.list` file (`deb [options] URI suite component…`).
pub fn parse_one_line(text: &str) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("deb ").or_else(|| line.strip_prefix("deb\t")) else {
            continue;
        };
        let rest = rest.trim_start();
        let (options, rest) = match rest.strip_prefix('[') {
            Some(after) => match after.split_once(']') {
                Some((options, rest)) => (options, rest),
                None => continue,
            },
            None => ("", rest),
        };
        let signed_by = options
            .split_whitespace()
            .find_map(|option| option.strip_prefix("signed-by="))
            .map(str::to_owned);
        let mut words = rest.split_whitespace().map(str::to_owned);
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        entries.push(SourceEntry {
            uris: vec![uri],
            suites: vec![suite],
            components: words.collect(),
            signed_by,
        });
    }
    entries
}

/// Debian's own entries carry component `main`, are signed by the Debian archive keyring (or
/// name no key, so apt's default trusted keys apply) and their URI's path ends in `debian` or
/// `debian-security`, or in that and a timestamp for snapshot archives (`…/debian/20250520T000000Z`).
/// Vendors that reuse the suite names put more after it (`…/debian/12/prod`).
fn is_debian_entry(entry: &SourceEntry, archive_name: &str) -> bool {
    let signed_by_debian =
        entry.signed_by.as_deref().is_none_or(|key| key.contains("debian-archive-keyring"));
    let path_matches = entry.uris.first().is_some_and(|uri| {
        let after_scheme = uri.split_once("://").map_or(uri.as_str(), |(_, rest)| rest);
        let path = after_scheme.split_once('/').map_or("", |(_, path)| path);
        let mut segments = path.split('/').filter(|s| !s.is_empty()).rev();
        match (segments.next(), segments.next()) {
            (Some(last), _) if last == archive_name => true,
            (Some(last), Some(before)) => before == archive_name && is_snapshot_timestamp(last),
            _ => false,
        }
    });
    signed_by_debian && path_matches && entry.components.iter().any(|c| c == "main")
}

/// `20250520T000000Z`, as in the URIs of Debian's snapshot archive.
fn is_snapshot_timestamp(segment: &str) -> bool {
    segment.len() == 16
        && segment.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

/// Reads every source file apt itself would read (apt ignores other extensions, such as
/// `*.disabled`).
fn read_host_sources(apt_dir: &Path) -> anyhow::Result<Vec<SourceEntry>> {
    let mut entries = Vec::new();
    let list = apt_dir.join("sources.list");
    if list.exists() {
        let text = std::fs::read_to_string(&list)
            .with_context(|| format!("reading {}", list.display()))?;
        entries.extend(parse_one_line(&text));
    }
    let dir = apt_dir.join("sources.list.d");
    let mut paths: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(read_dir) => read_dir
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("listing {}", dir.display()))?
            .into_iter()
            .map(|entry| entry.path())
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error).with_context(|| format!("listing {}", dir.display())),
    };
    paths.sort();
    for path in paths {
        let parse: fn(&str) -> Vec<SourceEntry> = match path.extension().and_then(|e| e.to_str()) {
            Some("sources") => parse_deb822,
            Some("list") => parse_one_line,
            _ => continue,
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        entries.extend(parse(&text));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Host names here are placeholders under the reserved `.example` domain.
    const DEB822: &str = "\
Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: https://packages.vendor.example/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/vendor.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

    #[test]
    fn deb822_picks_debian_and_skips_third_party() {
        let entries = parse_deb822(DEB822);
        assert_eq!(entries.len(), 3, "deb-src dropped");
        let mirrors = pick_debian_mirrors(&entries, "bookworm").unwrap();
        assert_eq!(
            mirrors,
            DebianMirrors {
                main: "http://mirror.example/debian".into(),
                security: "http://mirror.example/debian-security".into(),
            }
        );
    }

    #[test]
    fn one_line_with_options_and_third_party_on_the_same_suite() {
        let text = "\
# deb http://old.example/debian bookworm main
deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.gpg] https://download.example/linux/debian bookworm stable
deb https://packages.vendor.example/debian/12/prod bookworm main
deb http://mirror.example/debian/ bookworm main contrib
deb http://snapshot.example/archive/debian/20250520T000000Z bookworm-updates main
deb http://security.example/debian-security bookworm-security main
";
        let mirrors = pick_debian_mirrors(&parse_one_line(text), "bookworm").unwrap();
        assert_eq!(mirrors.main, "http://mirror.example/debian");
        assert_eq!(mirrors.security, "http://security.example/debian-security");
        let snapshot = parse_one_line(
            "deb http://snapshot.example/archive/debian/20250520T000000Z bookworm main\n\
             deb http://snapshot.example/archive/debian-security/20250520T000000Z bookworm-security main\n",
        );
        let mirrors = pick_debian_mirrors(&snapshot, "bookworm").unwrap();
        assert_eq!(mirrors.main, "http://snapshot.example/archive/debian/20250520T000000Z");
    }

    #[test]
    fn disabled_stanza_is_ignored_and_missing_security_is_an_error() {
        let text = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n\n\
                    Enabled: no\nTypes: deb\nURIs: http://mirror.example/debian-security\n\
                    Suites: bookworm-security\nComponents: main\n";
        let error = pick_debian_mirrors(&parse_deb822(text), "bookworm").unwrap_err();
        assert!(error.to_string().contains("bookworm-security"), "{error}");
    }
}
