//! Rollout journals: numbered and hash-chained, all of a batch or none of it, never changed or
//! removed, any tampering found by the check, and concurrent appenders never fork the chain.

use std::collections::BTreeSet;

use store::{Claim, JournalBreak, JournalCheck, Lease, NewJournalEntry, StoreError};

use crate::backends::test_dbs;
use crate::rollouts::{leased, plan_id, store_with_rollout};

const ROLLOUT: &str = "0123456789abcdef";

/// The genesis of a rollout's chain (version 2), written out from the layout documented in
/// `journal_chain.rs`, apart from the store's code.
fn genesis(rollout_id: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let string = |s: &str| [&(s.len() as u64).to_be_bytes()[..], s.as_bytes()].concat();
    let mut bytes = string("patchctl rollout journal v2");
    bytes.extend(string(rollout_id));
    bytes.extend(string(&plan_id("feed01")));
    bytes.extend(string(r#"{"error_budget":1}"#));
    Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn entry(at_ms: i64, kind: &str, host: Option<&str>, body_json: &str) -> NewJournalEntry {
    NewJournalEntry {
        at_ms,
        kind: kind.to_owned(),
        host: host.map(str::to_owned),
        body_json: body_json.to_owned(),
    }
}

#[tokio::test]
async fn entries_are_numbered_and_chained() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, ROLLOUT).await;
        let lease = leased(&store, ROLLOUT).await;
        let seqs = store
            .append_journal(
                &lease,
                &[
                    entry(1000, "rollout_started", None, "{}"),
                    entry(1001, "host_started", Some("deb1"), "{}"),
                ],
                None,
            )
            .await
            .unwrap();
        assert_eq!(seqs, [1, 2]);
        let seqs = store
            .append_journal(
                &lease,
                &[
                    entry(1002, "step_done", Some("deb1"), r#"{"step":"apply"}"#),
                    entry(1003, "step_done", Some(""), r#"{"step":"reboot"}"#),
                    entry(1004, "rollout_done", None, "{}"),
                ],
                None,
            )
            .await
            .unwrap();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(store.append_journal(&lease, &[], None).await.unwrap(), Vec::<i64>::new());

        let journal = store.journal(ROLLOUT).await.unwrap();
        assert_eq!(journal.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert_eq!(journal[0].prev_hash, genesis(ROLLOUT));
        for pair in journal.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
        assert_eq!(
            (journal[2].kind.as_str(), journal[2].host.as_deref(), journal[2].body_json.as_str()),
            ("step_done", Some("deb1"), r#"{"step":"apply"}"#)
        );
        assert_eq!((journal[0].host.as_deref(), journal[3].host.as_deref()), (None, Some("")));
        assert_eq!(store.journal_since(ROLLOUT, 3).await.unwrap(), journal[3..]);
        assert!(store.journal_since(ROLLOUT, 5).await.unwrap().is_empty());
        assert_eq!(
            store.verify_journal(ROLLOUT).await.unwrap(),
            JournalCheck::Intact { n_entries: 5, last_hash: Some(journal[4].hash.clone()) }
        );
        assert!(store.journal("aaaaaa").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_batch_is_appended_whole_or_not_at_all() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, ROLLOUT).await;
        let lease = leased(&store, ROLLOUT).await;
        let error = store
            .append_journal(
                &lease,
                &[entry(1, "a", None, "{}"), entry(2, "b", None, "{oops")],
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::InvalidValue { .. }), "{error}");
        let nobody =
            Lease { rollout_id: "aaaaaa".into(), owner: "a".into(), token: 1, until_unix: 9 };
        let error =
            store.append_journal(&nobody, &[entry(1, "a", None, "{}")], None).await.unwrap_err();
        assert!(matches!(error, StoreError::UnknownRollout { .. }), "{error}");
        assert!(store.journal(ROLLOUT).await.unwrap().is_empty());
        // Nothing half-written moved the numbering.
        assert_eq!(
            store.append_journal(&lease, &[entry(3, "c", None, "{}")], None).await.unwrap(),
            [1]
        );
    }
}

#[tokio::test]
async fn the_journal_cannot_be_changed_or_deleted_even_by_hand() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, ROLLOUT).await;
        let lease = leased(&store, ROLLOUT).await;
        store.append_journal(&lease, &[entry(1, "a", None, "{}")], None).await.unwrap();
        store.close().await;

        let error = db.execute("UPDATE rollout_journal SET body = '{}'").await.unwrap_err();
        assert!(error.to_string().contains("append-only: entries cannot be changed"), "{error}");
        let error = db.execute("DELETE FROM rollout_journal").await.unwrap_err();
        assert!(error.to_string().contains("append-only: entries cannot be deleted"), "{error}");
        // Nor can a rollout with a journal go: the journal refers to it.
        let error = db.execute("DELETE FROM rollouts").await.unwrap_err();
        assert!(error.to_string().to_lowercase().contains("foreign key"), "{error}");

        let store = db.open().await;
        assert_eq!(store.journal(ROLLOUT).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn tampering_is_found_at_the_first_entry_it_touched() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let other = "fedcba9876543210";
        store_with_rollout(&store, ROLLOUT).await;
        store_with_rollout(&store, other).await;
        let entries: Vec<_> = (0..5).map(|i| entry(i, "step_done", Some("deb1"), "{}")).collect();
        let (lease, other_lease) = (leased(&store, ROLLOUT).await, leased(&store, other).await);
        store.append_journal(&lease, &entries, None).await.unwrap();
        store.append_journal(&other_lease, &entries, None).await.unwrap();
        store.close().await;

        // Someone drops the guard and edits an entry's body: the entry no longer hashes to its hash.
        db.execute(&format!(
            "{} {} UPDATE rollout_journal SET body = '{{\"ok\":true}}'
             WHERE rollout_id = '0123456789abcdef' AND seq = 2",
            db.drop_trigger("rollout_journal_refuses_update", "rollout_journal"),
            db.drop_trigger("rollout_journal_refuses_delete", "rollout_journal"),
        ))
        .await
        .unwrap();
        let store = db.open().await;
        let broken = |seq, reason| JournalCheck::Broken { seq, reason };
        assert_eq!(
            store.verify_journal(ROLLOUT).await.unwrap(),
            broken(2, JournalBreak::HashMismatch)
        );
        store.close().await;

        // A forger who knows the layout rehashes the edited entry: the break moves to the next
        // entry, whose prev_hash still names the original.
        let journal = db.open().await.journal(ROLLOUT).await.unwrap();
        let forged_hash =
            layout_hash(&journal[0].hash, 2, 1, "step_done", Some("deb1"), r#"{"ok":true}"#);
        db.execute(
        &format!("UPDATE rollout_journal SET hash = '{forged_hash}' WHERE rollout_id = '{ROLLOUT}' AND seq = 2"),
    )
    .await
    .unwrap();
        let store = db.open().await;
        assert_eq!(
            store.verify_journal(ROLLOUT).await.unwrap(),
            broken(3, JournalBreak::PrevHashMismatch)
        );
        store.close().await;

        // A removed entry leaves a gap.
        db.execute("DELETE FROM rollout_journal WHERE rollout_id = 'fedcba9876543210' AND seq = 3")
            .await
            .unwrap();
        let store = db.open().await;
        assert_eq!(
            store.verify_journal(other).await.unwrap(),
            broken(4, JournalBreak::UnexpectedSeq { expected: 3 })
        );
    }
}

/// The entry hash written out again from the layout documented in `journal_chain.rs`, apart
/// from the store's code: what a forger, or an outside auditor, would compute.
fn layout_hash(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    kind: &str,
    host: Option<&str>,
    body_json: &str,
) -> String {
    use sha2::{Digest as _, Sha256};
    let string = |s: &str| [&(s.len() as u64).to_be_bytes()[..], s.as_bytes()].concat();
    let mut bytes = string(prev_hash);
    bytes.extend(seq.to_be_bytes());
    bytes.extend(at_ms.to_be_bytes());
    bytes.extend(string(kind));
    match host {
        None => bytes.push(0),
        Some(host) => {
            bytes.push(1);
            bytes.extend(string(host));
        }
    }
    bytes.extend(string(body_json));
    Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test]
async fn an_outside_auditor_recomputes_the_same_hashes() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, ROLLOUT).await;
        let lease = leased(&store, ROLLOUT).await;
        store
            .append_journal(
                &lease,
                &[entry(-1, "a", None, "{}"), entry(i64::MAX, "b", Some("deb1"), r#"{"x":"é"}"#)],
                None,
            )
            .await
            .unwrap();
        let journal = store.journal(ROLLOUT).await.unwrap();
        let mut prev_hash = genesis(ROLLOUT);
        for e in &journal {
            let hash =
                layout_hash(&prev_hash, e.seq, e.at_ms, &e.kind, e.host.as_deref(), &e.body_json);
            assert_eq!(e.hash, hash, "entry {}", e.seq);
            prev_hash = hash;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders_never_fork_the_chain() {
    const TASKS: usize = 4;
    const BATCHES: usize = 25;
    const BATCH: usize = 3;
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        // Two pools on one file stand for two processes; two tasks each share a pool.
        let first = db.open().await;
        let second = db.open().await;
        store_with_rollout(&first, ROLLOUT).await;
        let lease = leased(&first, ROLLOUT).await;
        let mut handles = Vec::new();
        for task in 0..TASKS {
            let store = if task % 2 == 0 { first.clone() } else { second.clone() };
            let lease = lease.clone();
            handles.push(tokio::spawn(async move {
                let mut batches = Vec::new();
                for batch in 0..BATCHES {
                    let entries: Vec<_> = (0..BATCH)
                        .map(|i| {
                            let body = format!(r#"{{"task":{task},"batch":{batch},"i":{i}}}"#);
                            entry(0, "step_done", None, &body)
                        })
                        .collect();
                    batches.push(store.append_journal(&lease, &entries, None).await.unwrap());
                }
                batches
            }));
        }
        let mut all_seqs = BTreeSet::new();
        for handle in handles {
            for seqs in handle.await.unwrap() {
                // Each batch landed contiguous, nobody else's entries in between.
                assert_eq!(seqs.len(), BATCH);
                assert!(seqs.windows(2).all(|pair| pair[1] == pair[0] + 1), "{seqs:?}");
                for seq in seqs {
                    assert!(all_seqs.insert(seq), "seq {seq} was handed out twice");
                }
            }
        }
        let n = i64::try_from(TASKS * BATCHES * BATCH).unwrap();
        assert_eq!(all_seqs, (1..=n).collect());
        let check = second.verify_journal(ROLLOUT).await.unwrap();
        assert!(
            matches!(check, JournalCheck::Intact { n_entries, .. } if n_entries == n.unsigned_abs()),
            "{check:?}"
        );
    }
}

#[tokio::test]
async fn a_journal_copied_under_another_rollout_does_not_verify() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let other = "fedcba9876543210";
        store_with_rollout(&store, ROLLOUT).await;
        store_with_rollout(&store, other).await;
        let lease = leased(&store, ROLLOUT).await;
        let entries: Vec<_> = (0..3).map(|i| entry(i, "step_done", Some("deb1"), "{}")).collect();
        store.append_journal(&lease, &entries, None).await.unwrap();
        store.close().await;
        // Every entry copied byte for byte, hashes included, under the other rollout's id.
        db.execute(&format!(
            "INSERT INTO rollout_journal (rollout_id, seq, at_ms, kind, host, body, prev_hash, hash)
             SELECT '{other}', seq, at_ms, kind, host, body, prev_hash, hash
             FROM rollout_journal WHERE rollout_id = '{ROLLOUT}'"
        ))
        .await
        .unwrap();
        let store = db.open().await;
        assert!(matches!(
            store.verify_journal(ROLLOUT).await.unwrap(),
            JournalCheck::Intact { .. }
        ));
        assert_eq!(
            store.verify_journal(other).await.unwrap(),
            JournalCheck::Broken { seq: 1, reason: JournalBreak::PrevHashMismatch }
        );
        // So is a configuration edited after the fact: the chain begins with it.
        store.close().await;
        db.execute(&format!(
            "UPDATE rollouts SET config = '{{\"error_budget\":99}}' WHERE id = '{ROLLOUT}'"
        ))
        .await
        .unwrap();
        let store = db.open().await;
        assert_eq!(
            store.verify_journal(ROLLOUT).await.unwrap(),
            JournalCheck::Broken { seq: 1, reason: JournalBreak::PrevHashMismatch }
        );
    }
}

/// A process whose lease ran out appends while another claims the rollout and reads its
/// journal: whatever the timing, the old holder's entry either landed before the claim (and
/// the new holder reads it) or not at all. Nothing is written under a token after it lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_holder_racing_a_takeover_writes_nothing_after_it() {
    const ROUNDS: usize = 30;
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let stale = db.open().await;
        let taker = db.open().await;
        let (mut landed, mut fenced) = (0, 0);
        for round in 0..ROUNDS {
            let id = format!("{round:016x}");
            store_with_rollout(&stale, &id).await;
            // Held until 1060, and it is 2000 now: anyone may take it.
            let Claim::Claimed(old) = stale.claim_rollout(&id, "stale", 1000, 60).await.unwrap()
            else {
                panic!("round {round}: the first claim was refused")
            };
            let append = {
                let stale = stale.clone();
                tokio::spawn(async move {
                    stale.append_journal(&old, &[entry(1, "late", None, "{}")], None).await
                })
            };
            let takeover = {
                let (taker, id) = (taker.clone(), id.clone());
                tokio::spawn(async move {
                    let Claim::Claimed(_) = taker.claim_rollout(&id, "taker", 2000, 60).await?
                    else {
                        panic!("the takeover was refused")
                    };
                    taker.journal(&id).await
                })
            };
            let appended = append.await.unwrap();
            let seen_at_takeover = takeover.await.unwrap().unwrap();
            let journal = taker.journal(&id).await.unwrap();
            match appended {
                Ok(_) => {
                    landed += 1;
                    assert_eq!(seen_at_takeover.len(), 1, "round {round}: landed after the claim");
                }
                Err(StoreError::LeaseLost { .. }) => {
                    fenced += 1;
                    assert!(journal.is_empty(), "round {round}: {journal:?}");
                }
                Err(error) => panic!("round {round}: {error}"),
            }
        }
        eprintln!("{landed} appends landed before the takeover, {fenced} were fenced off");
    }
}
