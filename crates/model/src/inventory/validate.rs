//! The rules every value of an inventory must follow, as functions from a value to a message.
//!
//! The rules are allow-lists. Names and addresses end up in SSH connections, log lines, file
//! names and selectors, so anything a shell, `ssh` or a selector could read as syntax (spaces,
//! `;`, `$`, a leading `-` that looks like an option, `:`) is refused here, once. Letters and
//! digits of any script are allowed (`příbor`, an internationalised DNS name), as Ansible allows
//! them: none is syntax to a shell, `ssh` or a selector.

/// Names of hosts, groups and tags: letters, digits, `.`, `_` and `-`, not starting with `-`,
/// and not `all` (the selector for every host).
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} name is empty"));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{what} name {name:?} contains {bad:?}: use letters, digits, '.', '_' and '-'"
        ));
    }
    if name.starts_with('-') {
        return Err(format!("{what} name {name:?} starts with '-'"));
    }
    if name == "all" {
        return Err(format!(
            "{what} name \"all\" is reserved: the selector `all` means every host"
        ));
    }
    Ok(())
}

/// Environment names: `[a-z0-9_-]+`, lower case so that `Prod` and `prod` cannot be two
/// environments with different approval rules.
pub fn check_environment(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("environment name is empty".to_owned());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')))
    {
        return Err(format!(
            "environment name {name:?} contains {bad:?}: use lower-case letters, digits, '_' and '-'"
        ));
    }
    Ok(())
}

/// An IP address (v4, or v6 with an optional `%zone`) or a DNS name (internationalised ones in
/// their own letters too, as the resolver is handed them).
pub fn check_address(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("address is empty".to_owned());
    }
    if let Some(bad) =
        address.chars().find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%')))
    {
        let what = if bad.is_whitespace() { "white space".to_owned() } else { format!("{bad:?}") };
        return Err(format!(
            "address {address:?} contains {what}: expected an IP address or a DNS name"
        ));
    }
    if address.starts_with('-') {
        return Err(format!("address {address:?} starts with '-'"));
    }
    Ok(())
}

/// SSH ports.
pub fn check_port(port: i64) -> Result<u16, String> {
    match u16::try_from(port) {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("port {port} is out of range: expected 1 to 65535")),
    }
}

/// Login names as `useradd` accepts them, plus `@` for directory accounts.
pub fn check_user(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("user is empty".to_owned());
    }
    if let Some(bad) = user
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '$')))
    {
        return Err(format!("user {user:?} contains {bad:?}"));
    }
    if user.starts_with('-') {
        return Err(format!("user {user:?} starts with '-'"));
    }
    Ok(())
}

/// Paths and free text (owners, variable names): not empty and no control characters, which
/// would garble a terminal or a log line.
pub fn check_text(what: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{what} {text:?} contains a control character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["deb1", "web01.example.com", "db_2", "a-b", "příbor", "é"] {
            assert_eq!(check_name("host", good), Ok(()));
        }
        for bad in ["", "a b", "a;b", "-x", "all", "env:prod", "a\u{202e}b", "a\u{a0}b"] {
            assert!(check_name("host", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn addresses() {
        for good in
            ["172.29.5.11", "deb1.example.com", "fe80::1%eth0", "2001:db8::1", "fóöbär.éxàmplê.com"]
        {
            assert_eq!(check_address(good), Ok(()));
        }
        for bad in ["", "a b", "$(reboot)", "a;b", "-oProxyCommand=x", "host\n", "`id`"] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_address("10.0.0.1 ").unwrap_err(),
            "address \"10.0.0.1 \" contains white space: expected an IP address or a DNS name"
        );
    }

    #[test]
    fn ports_environments_users() {
        assert_eq!(check_port(22), Ok(22));
        assert_eq!(check_port(65535), Ok(65535));
        assert!(check_port(0).is_err() && check_port(65536).is_err() && check_port(-1).is_err());
        assert_eq!(check_environment("prod-eu_1"), Ok(()));
        assert!(check_environment("Prod").is_err() && check_environment("").is_err());
        assert_eq!(check_user("svc.patch@corp"), Ok(()));
        assert!(check_user("-oX").is_err() && check_user("a b").is_err());
    }
}
