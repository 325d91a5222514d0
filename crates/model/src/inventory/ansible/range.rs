//! Ansible host patterns: `web[01:03].example.com` names three hosts, `db-[a:c]` three more;
//! an optional port (`host:2222`, `[2001:db8::1]:2222`). As Ansible's `expand_hostname_range`.

/// At most this many hosts from one pattern, so that `h[0:99999999]` is an error, not an
/// exhausted memory.
pub const MAX_HOSTS_PER_PATTERN: usize = 10_000;

/// Splits a trailing `:PORT` off a host pattern. The colon must be outside brackets (a range
/// has one inside) and the only one there (an IPv6 address has several); a bracketed address
/// or name, which may hold ranges itself, may carry a port after its `]` (`[::1]:2222`,
/// `[web.example.com]:2222`, `[2001:db8::[1:3]]:2222`), as Ansible's `parse_address` reads them.
pub fn split_port(pattern: &str) -> Result<(&str, Option<u16>), String> {
    if let Some((inside, rest)) = bracketed(pattern) {
        if let Some(port) = rest.strip_prefix(':') {
            return Ok((inside, Some(parse_port(pattern, port)?)));
        }
        if rest.is_empty() && inside.matches(':').count() > 1 {
            return Ok((inside, None));
        }
    }
    let mut depth = 0i32;
    let mut outside_colons = Vec::new();
    for (i, c) in pattern.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => outside_colons.push(i),
            _ => {}
        }
    }
    match outside_colons.as_slice() {
        [i] => Ok((&pattern[..*i], Some(parse_port(pattern, &pattern[i + 1..])?))),
        _ => Ok((pattern, None)),
    }
}

/// `[INSIDE]REST` with the brackets matched (INSIDE may hold ranges in brackets of its own),
/// when INSIDE is an address or a name rather than a range: it holds a `.` or two `:`.
fn bracketed(pattern: &str) -> Option<(&str, &str)> {
    let inner = pattern.strip_prefix('[')?;
    let mut depth = 1;
    for (i, c) in inner.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    let (inside, rest) = (&inner[..i], &inner[i + 1..]);
                    let range = inside.matches(':').count() == 1 && !inside.contains('.');
                    return (!range && !inside.is_empty()).then_some((inside, rest));
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_port(pattern: &str, port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("invalid port {port:?} in host pattern {pattern:?}: expected 1 to 65535")),
    }
}

/// Expands every `[BEGIN:END]` or `[BEGIN:END:STEP]` in a host pattern, left to right.
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    expand_into(pattern, pattern, &mut out)?;
    Ok(out)
}

fn expand_into(original: &str, pattern: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = pattern.find('[') else {
        if pattern.contains(']') {
            return Err(format!("unbalanced ']' in host pattern {original:?}"));
        }
        out.push(pattern.to_owned());
        return Ok(());
    };
    let Some(close) = pattern[open..].find(']').map(|i| open + i) else {
        return Err(format!("unbalanced '[' in host pattern {original:?}"));
    };
    let (head, range, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let values = range_values(original, range)?;
    for value in values {
        if out.len() >= MAX_HOSTS_PER_PATTERN {
            return Err(format!(
                "host pattern {original:?} names more than {MAX_HOSTS_PER_PATTERN} hosts"
            ));
        }
        expand_into(original, &format!("{head}{value}{tail}"), out)?;
    }
    Ok(())
}

fn range_values(original: &str, range: &str) -> Result<Vec<String>, String> {
    let invalid =
        |why: &str| format!("invalid range [{range}] in host pattern {original:?}: {why}");
    let parts: Vec<&str> = range.split(':').collect();
    let (begin, end, step) = match parts.as_slice() {
        [begin, end] => (*begin, *end, "1"),
        [begin, end, step] => (*begin, *end, *step),
        _ => return Err(invalid("expected [BEGIN:END] or [BEGIN:END:STEP]")),
    };
    let step: usize = match step.parse() {
        Ok(step) if step > 0 => step,
        _ => return Err(invalid("the step must be a positive number")),
    };
    if end.is_empty() {
        return Err(invalid("the end is missing"));
    }
    let begin = if begin.is_empty() { "0" } else { begin };
    let letter = |s: &str| {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => LETTERS.find(c),
            _ => None,
        }
    };
    if let (Some(first), Some(last)) = (letter(begin), letter(end)) {
        if first > last {
            return Err(invalid("the beginning is after the end"));
        }
        return Ok(LETTERS[first..=last].chars().step_by(step).map(String::from).collect());
    }
    let digits = |s: &str| !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(begin) || !digits(end) {
        return Err(invalid("expected numbers or single letters"));
    }
    // A leading zero asks for zero padding to the width of the beginning, as in Ansible.
    let width = if begin.len() > 1 && begin.starts_with('0') {
        if begin.len() != end.len() {
            return Err(invalid(
                "a zero-padded range needs the same number of digits on both ends",
            ));
        }
        begin.len()
    } else {
        0
    };
    let (first, last): (u64, u64) = match (begin.parse(), end.parse()) {
        (Ok(first), Ok(last)) => (first, last),
        _ => return Err(invalid("expected numbers or single letters")),
    };
    if first > last {
        return Err(invalid("the beginning is after the end"));
    }
    if (last - first) / step as u64 >= MAX_HOSTS_PER_PATTERN as u64 {
        return Err(format!(
            "host pattern {original:?} names more than {MAX_HOSTS_PER_PATTERN} hosts"
        ));
    }
    Ok((first..=last).step_by(step).map(|n| format!("{n:0width$}")).collect())
}

/// Ansible's `string.ascii_letters`: a range of letters may run from lower to upper case.
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            expand("web[01:03].example.com").unwrap(),
            ["web01.example.com", "web02.example.com", "web03.example.com"]
        );
        assert_eq!(expand("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand("h[1:10:4]").unwrap(), ["h1", "h5", "h9"]);
        assert_eq!(expand("r[1:2]-[a:b]").unwrap(), ["r1-a", "r1-b", "r2-a", "r2-b"]);
        assert_eq!(expand("h[:2]").unwrap(), ["h0", "h1", "h2"]);
        assert_eq!(expand("plain.example.com").unwrap(), ["plain.example.com"]);
    }

    #[test]
    fn bad_ranges_are_errors() {
        for (pattern, why) in [
            ("h[3:1]", "beginning is after the end"),
            ("h[01:100]", "same number of digits"),
            ("h[1:]", "end is missing"),
            ("h[1:2:0]", "step must be a positive"),
            ("h[1-2]", "expected [BEGIN:END]"),
            ("h[1:2", "unbalanced '['"),
            ("h1:2]", "unbalanced ']'"),
            ("h[0:99999999]", "more than 10000 hosts"),
            ("h[0:99][0:99][0:99]", "more than 10000 hosts"),
            ("h[aa:b]", "expected numbers or single letters"),
        ] {
            let error = expand(pattern).unwrap_err();
            assert!(error.contains(why), "{pattern}: {error}");
        }
    }

    #[test]
    fn ports() {
        assert_eq!(
            split_port("badwolf.example.com:5309").unwrap(),
            ("badwolf.example.com", Some(5309))
        );
        assert_eq!(split_port("web[01:03]:2222").unwrap(), ("web[01:03]", Some(2222)));
        assert_eq!(split_port("web[01:03]").unwrap(), ("web[01:03]", None));
        assert_eq!(split_port("2001:db8::1").unwrap(), ("2001:db8::1", None));
        assert_eq!(split_port("[2001:db8::1]:22").unwrap(), ("2001:db8::1", Some(22)));
        assert_eq!(split_port("[::1]:442").unwrap(), ("::1", Some(442)));
        assert_eq!(split_port("[some.host.com]:493").unwrap(), ("some.host.com", Some(493)));
        assert_eq!(
            split_port("[abcd:ef98::7654:[6:32]]:2222").unwrap(),
            ("abcd:ef98::7654:[6:32]", Some(2222))
        );
        assert_eq!(split_port("[a:b]foo.com").unwrap(), ("[a:b]foo.com", None));
        assert_eq!(split_port("foo[a:b]:42").unwrap(), ("foo[a:b]", Some(42)));
        assert_eq!(split_port("abcd:ef98::7654:[1:9]").unwrap(), ("abcd:ef98::7654:[1:9]", None));
        assert!(split_port("host:http").is_err());
    }
}
