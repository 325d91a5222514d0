//! What the store checks before any query, the same for every backend: the syntax of plan and
//! rollout ids, that JSON documents parse, that leases last and verified versions belong where
//! they are recorded, that host steps name a host and a step and claims take 1 to 1,000. Lookups by prefix compare a bound substring (no `LIKE`, so no wildcard
//! can sneak in), and only hex digits reach them.

use crate::{NewHostStep, NewJournalEntry, StepClaim, StepScope, StoreError, VerifiedHost};

/// Proof that [`crate::Store`] ran these checks on a call's arguments. A backend method that
/// takes one is reached through the `Store` method of the same name, which checks first: no
/// one outside the crate can make a `Checked`, so no caller can skip the checks.
#[derive(Debug, Clone, Copy)]
pub struct Checked(());

/// What `Store` passes once the arguments are checked.
pub(crate) const CHECKED: Checked = Checked(());

/// Plan ids are `sha256:` and the 64 hex digits of the plan's content hash.
const PLAN_ID_SCHEME: &str = "sha256:";
const PLAN_HEX_DIGITS: usize = 64;

/// Rollout ids are random hex strings the application makes, 16 digits in practice.
const ROLLOUT_HEX_DIGITS: std::ops::RangeInclusive<usize> = 6..=64;

/// The shortest prefix a lookup accepts: 6 hex digits are 16 million values, enough to name
/// one of a database's plans or rollouts, and short enough to type.
const MIN_PREFIX_DIGITS: usize = 6;

/// Checks an id a plan is saved under: `sha256:` and 64 lowercase hex digits.
pub(crate) fn check_plan_id(id: &str) -> Result<(), StoreError> {
    let hex = id.strip_prefix(PLAN_ID_SCHEME).unwrap_or("");
    if hex.len() == PLAN_HEX_DIGITS && is_lowercase_hex(hex) {
        Ok(())
    } else {
        Err(invalid("plan", id, "`sha256:` and 64 lowercase hex digits"))
    }
}

/// Checks an id a rollout is created with: 6 to 64 lowercase hex digits.
pub(crate) fn check_rollout_id(id: &str) -> Result<(), StoreError> {
    if ROLLOUT_HEX_DIGITS.contains(&id.len()) && is_lowercase_hex(id) {
        Ok(())
    } else {
        Err(invalid("rollout", id, "6 to 64 lowercase hex digits"))
    }
}

/// What a plan lookup compares the ids' beginnings with: `sha256:` and the hex digits given
/// (at least 6, with or without `sha256:`, in either case), in lowercase.
pub(crate) fn plan_prefix(given: &str) -> Result<String, StoreError> {
    let hex = given.strip_prefix(PLAN_ID_SCHEME).unwrap_or(given);
    hex_prefix(hex, PLAN_HEX_DIGITS).map(|hex| format!("{PLAN_ID_SCHEME}{hex}")).ok_or_else(|| {
        invalid("plan", given, "at least 6 hex digits of a plan id, with or without `sha256:`")
    })
}

/// What a rollout lookup compares the ids' beginnings with: the hex digits given (at least 6),
/// in lowercase.
pub(crate) fn rollout_prefix(given: &str) -> Result<String, StoreError> {
    hex_prefix(given, *ROLLOUT_HEX_DIGITS.end())
        .ok_or_else(|| invalid("rollout", given, "at least 6 hex digits of a rollout id"))
}

/// Checks that a JSON document parses, so that what is stored can be read back. It is stored
/// as given, byte for byte: journal hashes cover the exact text.
pub(crate) fn check_json(
    json: &str,
    doing: impl Fn() -> String,
    what: &str,
) -> Result<(), StoreError> {
    serde_json::from_str::<serde_json::Value>(json).map(drop).map_err(|e| {
        StoreError::InvalidValue { doing: doing(), message: format!("{what} is not JSON: {e}") }
    })
}

/// When a lease taken at `now_unix` for `lease_seconds` ends. A lease of no time would be over
/// as it is granted.
pub(crate) fn lease_end(
    doing: impl Fn() -> String,
    now_unix: i64,
    lease_seconds: u32,
) -> Result<i64, StoreError> {
    if lease_seconds == 0 {
        return Err(StoreError::InvalidValue {
            doing: doing(),
            message: "a lease must last at least a second".to_owned(),
        });
    }
    now_unix.checked_add(i64::from(lease_seconds)).ok_or_else(|| StoreError::InvalidValue {
        doing: doing(),
        message: format!("a lease from {now_unix} for {lease_seconds} s is out of range"),
    })
}

/// Journal entries arrive with bodies that are JSON.
pub(crate) fn check_entries(
    entries: &[NewJournalEntry],
    doing: impl Fn() -> String,
) -> Result<(), StoreError> {
    for entry in entries {
        let what = format!("the body of the {} entry", entry.kind);
        check_json(&entry.body_json, &doing, &what)?;
    }
    Ok(())
}

/// Verified versions must be of the rollout and host they are recorded under.
pub(crate) fn check_verified(
    rollout_id: &str,
    hosts: &[VerifiedHost],
    doing: impl Fn() -> String,
) -> Result<(), StoreError> {
    for host in hosts {
        let stray =
            host.versions.iter().find(|v| v.rollout_id != rollout_id || v.host != host.host);
        if let Some(version) = stray {
            return Err(StoreError::InvalidValue {
                doing: doing(),
                message: format!(
                    "a verified version of rollout {} on {} recorded for rollout {rollout_id} on {}",
                    version.rollout_id, version.host, host.host
                ),
            });
        }
    }
    Ok(())
}

/// Host steps to enqueue name a host and a step, and no token twice.
pub(crate) fn check_steps(
    steps: &[NewHostStep],
    doing: impl Fn() -> String,
) -> Result<(), StoreError> {
    let mut tokens = std::collections::BTreeSet::new();
    for step in steps {
        let refuse = |message: String| StoreError::InvalidValue { doing: doing(), message };
        if step.host.trim().is_empty() {
            return Err(refuse(format!("step {} names no host", step.token)));
        }
        if step.step.trim().is_empty() {
            return Err(refuse(format!("step {} on {} names no step", step.token, step.host)));
        }
        if !tokens.insert(step.token) {
            return Err(refuse(format!("step {} is given twice", step.token)));
        }
    }
    Ok(())
}

/// A claim of host steps names its owner, takes 1 to [`StepClaim::MAX_LIMIT`] steps, and
/// scopes them to a well-formed rollout id, if any.
pub(crate) fn check_step_claim(
    claim: &StepClaim,
    doing: impl Fn() -> String,
) -> Result<(), StoreError> {
    let refuse = |message: String| StoreError::InvalidValue { doing: doing(), message };
    if claim.owner.trim().is_empty() {
        return Err(refuse("the claimer has no name".to_owned()));
    }
    if !(1..=StepClaim::MAX_LIMIT).contains(&claim.limit) {
        return Err(refuse(format!(
            "a claim takes 1 to {} steps, not {}",
            StepClaim::MAX_LIMIT,
            claim.limit
        )));
    }
    match &claim.scope {
        StepScope::Any => Ok(()),
        StepScope::Rollout(rollout_id) | StepScope::Step { rollout_id, .. } => {
            check_rollout_id(rollout_id)
        }
    }
}

fn hex_prefix(hex: &str, max_digits: usize) -> Option<String> {
    let fits = (MIN_PREFIX_DIGITS..=max_digits).contains(&hex.len())
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    fits.then(|| hex.to_ascii_lowercase())
}

fn is_lowercase_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn invalid(kind: &'static str, given: &str, expected: &'static str) -> StoreError {
    StoreError::InvalidId { kind, given: given.to_owned(), expected }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_ids_and_prefixes() {
        let hex = "0123456789abcdef".repeat(4);
        assert!(check_plan_id(&format!("sha256:{hex}")).is_ok());
        for bad in [hex.clone(), format!("sha256:{}", &hex[1..]), format!("sha256:{hex}0")] {
            assert!(check_plan_id(&bad).is_err(), "{bad}");
        }
        assert!(check_plan_id(&format!("sha256:{}", hex.to_uppercase())).is_err());

        assert_eq!(plan_prefix("abcdef").unwrap(), "sha256:abcdef");
        assert_eq!(plan_prefix("sha256:ABCDEF0").unwrap(), "sha256:abcdef0");
        assert_eq!(plan_prefix(&hex).unwrap(), format!("sha256:{hex}"));
        for bad in ["abcde", "sha256:abcde", "abcde%", "abc_ef", "abcdeg", "sha256:", "", "abcdéf"]
        {
            let error = plan_prefix(bad).unwrap_err();
            assert!(matches!(error, StoreError::InvalidId { kind: "plan", .. }), "{bad}: {error}");
        }
        assert!(plan_prefix(&format!("{hex}0")).is_err());
    }

    #[test]
    fn rollout_ids_and_prefixes() {
        assert!(check_rollout_id("0123456789abcdef").is_ok());
        assert!(check_rollout_id("abcdef").is_ok());
        for bad in ["abcde", "ABCDEF", "abcdef%", "sha256:abcdef", &"a".repeat(65)] {
            assert!(check_rollout_id(bad).is_err(), "{bad}");
        }
        assert_eq!(rollout_prefix("0123AB").unwrap(), "0123ab");
        let error = rollout_prefix("01%3ab").unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"01%3ab\" is not a rollout id: expected at least 6 hex digits of a rollout id"
        );
    }
}
