//! The journal's hash chain: how an entry's hash is computed, and how a journal is checked.
//! Pure and shared by every backend, so that a journal written by one database verifies the
//! same when read from another.
//!
//! An entry's `hash` is the lowercase hex SHA-256 of these bytes, in this order:
//!
//! | field       | bytes                                                                 |
//! |-------------|-----------------------------------------------------------------------|
//! | `prev_hash` | string: the previous entry's `hash`, or 64 ASCII `0` for the first    |
//! | `seq`       | 8, big-endian two's complement                                        |
//! | `at_ms`     | 8, big-endian two's complement                                        |
//! | `kind`      | string                                                                |
//! | `host`      | 1 byte `0x00` when absent; `0x01` then the string when present        |
//! | `body_json` | string                                                                |
//!
//! where a string is its length in bytes (8, big-endian unsigned) followed by its UTF-8 bytes.
//! The length prefixes make the encoding injective: no two different entries give the same
//! bytes, whatever their fields contain. The host's presence byte keeps an absent host apart
//! from an empty one, so even that edit shows.
//!
//! The first entry's `prev_hash` is the chain's genesis. For a rollout's journal (chain
//! version 2, every rollout created since migration 0007) it is the lowercase hex SHA-256 of
//! the string `patchctl rollout journal v2` followed by the strings `rollout_id`, `plan_id`
//! and the rollout's `config` JSON, in that order and encoded as above: the chain covers the
//! rollout it belongs to, so a journal copied under another rollout id, or a configuration
//! edited after the fact, breaks at the first entry. Version 1 (rollouts created before) and
//! change journals begin with 64 ASCII `0` ([`GENESIS_HASH`]); a change entry's body names
//! its plan instead.

use sha2::{Digest as _, Sha256};

use crate::{JournalBreak, JournalCheck, JournalEntry, NewJournalEntry};

/// The `prev_hash` of a journal's first entry.
pub(crate) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// What a rollout's journal chain begins with: see the module's documentation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RolloutHeader<'a> {
    pub chain_version: i64,
    pub rollout_id: &'a str,
    pub plan_id: &'a str,
    pub config_json: &'a str,
}

/// The chain version of every rollout created now.
pub(crate) const CHAIN_VERSION: i64 = 2;

impl RolloutHeader<'_> {
    /// The `prev_hash` of the journal's first entry; `None` for a version this patchctl does
    /// not know.
    pub(crate) fn genesis(&self) -> Option<String> {
        match self.chain_version {
            1 => Some(GENESIS_HASH.to_owned()),
            2 => {
                let mut hasher = Sha256::new();
                string(&mut hasher, "patchctl rollout journal v2");
                string(&mut hasher, self.rollout_id);
                string(&mut hasher, self.plan_id);
                string(&mut hasher, self.config_json);
                Some(hex(&hasher.finalize()))
            }
            _ => None,
        }
    }
}

/// The genesis of a postmortem's record: its opening, which never changes, hashed as the
/// string `patchctl postmortem v1` followed by the strings of its id (decimal), subject kind,
/// subject reference, title, opener, and its opening and due times (decimal Unix seconds).
pub(crate) fn postmortem_genesis(postmortem: &crate::StoredPostmortem) -> String {
    let mut hasher = Sha256::new();
    string(&mut hasher, "patchctl postmortem v1");
    for field in [
        &postmortem.id.to_string(),
        &postmortem.subject_kind,
        &postmortem.subject_ref,
        &postmortem.title,
        &postmortem.opened_by,
        &postmortem.opened_at_unix.to_string(),
        &postmortem.due_at_unix.to_string(),
    ] {
        string(&mut hasher, field);
    }
    hex(&hasher.finalize())
}

/// The entries `new` become when appended after the entry with `last_seq` and `last_hash`
/// (`0` and [`GENESIS_HASH`] for an empty journal): numbered and chained, ready to insert.
pub(crate) fn chain(last_seq: i64, last_hash: &str, new: &[NewJournalEntry]) -> Vec<JournalEntry> {
    let mut prev_hash = last_hash.to_owned();
    let mut seq = last_seq;
    let mut entries = Vec::with_capacity(new.len());
    for entry in new {
        seq += 1;
        let hash = entry_hash(
            &prev_hash,
            seq,
            entry.at_ms,
            &entry.kind,
            entry.host.as_deref(),
            &entry.body_json,
        );
        entries.push(JournalEntry {
            seq,
            at_ms: entry.at_ms,
            kind: entry.kind.clone(),
            host: entry.host.clone(),
            body_json: entry.body_json.clone(),
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
    }
    entries
}

/// Recomputes the chain of a journal given in seq order, from `genesis` (the first entry's
/// expected `prev_hash`), and reports the first entry that does not fit.
pub(crate) fn verify(genesis: &str, entries: &[JournalEntry]) -> JournalCheck {
    let mut prev_hash = genesis;
    for (expected_seq, entry) in (1..).zip(entries) {
        let broken = |reason| JournalCheck::Broken { seq: entry.seq, reason };
        if entry.seq != expected_seq {
            return broken(JournalBreak::UnexpectedSeq { expected: expected_seq });
        }
        if entry.prev_hash != prev_hash {
            return broken(JournalBreak::PrevHashMismatch);
        }
        let hash = entry_hash(
            prev_hash,
            entry.seq,
            entry.at_ms,
            &entry.kind,
            entry.host.as_deref(),
            &entry.body_json,
        );
        if entry.hash != hash {
            return broken(JournalBreak::HashMismatch);
        }
        prev_hash = &entry.hash;
    }
    JournalCheck::Intact {
        n_entries: entries.len() as u64,
        last_hash: entries.last().map(|e| e.hash.clone()),
    }
}

/// The hash of one entry, over the layout in this module's documentation.
fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    kind: &str,
    host: Option<&str>,
    body_json: &str,
) -> String {
    let mut hasher = Sha256::new();
    string(&mut hasher, prev_hash);
    hasher.update(seq.to_be_bytes());
    hasher.update(at_ms.to_be_bytes());
    string(&mut hasher, kind);
    match host {
        None => hasher.update([0x00]),
        Some(host) => {
            hasher.update([0x01]);
            string(&mut hasher, host);
        }
    }
    string(&mut hasher, body_json);
    hex(&hasher.finalize())
}

/// A string as the layout writes it: its length, then its bytes.
fn string(hasher: &mut Sha256, s: &str) {
    hasher.update((s.len() as u64).to_be_bytes());
    hasher.update(s.as_bytes());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(at_ms: i64, kind: &str, host: Option<&str>, body_json: &str) -> NewJournalEntry {
        NewJournalEntry {
            at_ms,
            kind: kind.to_owned(),
            host: host.map(str::to_owned),
            body_json: body_json.to_owned(),
        }
    }

    /// The expected hashes were computed independently, with Python's hashlib and struct over
    /// the documented layout, so the layout is pinned: changing it breaks every stored journal.
    #[test]
    fn the_byte_layout_is_the_documented_one() {
        let entries = chain(
            0,
            GENESIS_HASH,
            &[
                new(1_700_000_000_123, "rollout_started", None, "{}"),
                new(-5, "host_started", Some("deb1"), r#"{"wave":0,"ü":"é"}"#),
            ],
        );
        let first = "0a70818d75673885d71c78c56042f46ffe10dba42e31f3252f9f4c96909dc1de";
        assert_eq!((entries[0].seq, entries[0].prev_hash.as_str()), (1, GENESIS_HASH));
        assert_eq!(entries[0].hash, first);
        assert_eq!((entries[1].seq, entries[1].prev_hash.as_str()), (2, first));
        assert_eq!(
            entries[1].hash,
            "f8600720bf2c0e47f8c3b374defc4aa26dea41191af0f1eaea5646a927983c66"
        );
        // An empty host is not an absent one.
        let empty_host =
            chain(1, first, &[new(-5, "host_started", Some(""), entries[1].body_json.as_str())]);
        assert_eq!(
            empty_host[0].hash,
            "66c3817c20a205c9477d403e28e89b8fa577077eb0cbc4f193df631dc96247f2"
        );
        assert_eq!(
            verify(GENESIS_HASH, &entries),
            JournalCheck::Intact { n_entries: 2, last_hash: Some(entries[1].hash.clone()) }
        );
    }

    /// Computed with Python's hashlib over the documented layout, like the entries' hashes.
    #[test]
    fn a_rollouts_chain_begins_with_the_rollout() {
        let plan_id = format!("sha256:{}", "ab".repeat(32));
        let header = RolloutHeader {
            chain_version: 2,
            rollout_id: "0123456789abcdef",
            plan_id: &plan_id,
            config_json: r#"{"error_budget":1}"#,
        };
        assert_eq!(
            header.genesis().unwrap(),
            "776e32c561bbedd3aa9b4b3c275e4a46d8cfd8c845015c50111806a00029088a"
        );
        let other = RolloutHeader { rollout_id: "0123456789abcdee", ..header };
        assert_ne!(other.genesis(), header.genesis());
        let legacy = RolloutHeader { chain_version: 1, ..header };
        assert_eq!(legacy.genesis().as_deref(), Some(GENESIS_HASH));
        assert_eq!(RolloutHeader { chain_version: 3, ..header }.genesis(), None);
    }

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        // Without length prefixes these two would hash the same bytes "ab" + "c".
        let a = chain(0, GENESIS_HASH, &[new(1, "ab", None, "c")]);
        let b = chain(0, GENESIS_HASH, &[new(1, "a", None, "bc")]);
        assert_ne!(a[0].hash, b[0].hash);
    }

    #[test]
    fn the_first_broken_entry_is_named() {
        let new_entries: Vec<_> = (0..4).map(|i| new(i, "step", Some("deb1"), "{}")).collect();
        let entries = chain(0, GENESIS_HASH, &new_entries);
        assert_eq!(
            verify(GENESIS_HASH, &[]),
            JournalCheck::Intact { n_entries: 0, last_hash: None }
        );

        let mut edited = entries.clone();
        edited[1].body_json = r#"{"ok":true}"#.to_owned();
        let broken = |seq, reason| JournalCheck::Broken { seq, reason };
        assert_eq!(verify(GENESIS_HASH, &edited), broken(2, JournalBreak::HashMismatch));

        // Rehashing the edited entry moves the break to the next one.
        let rehashed =
            chain(1, &entries[0].hash, &[new(1, "step", Some("deb1"), r#"{"ok":true}"#)]);
        edited[1] = rehashed[0].clone();
        assert_eq!(verify(GENESIS_HASH, &edited), broken(3, JournalBreak::PrevHashMismatch));

        let mut missing = entries.clone();
        missing.remove(2);
        assert_eq!(
            verify(GENESIS_HASH, &missing),
            broken(4, JournalBreak::UnexpectedSeq { expected: 3 })
        );
    }
}
