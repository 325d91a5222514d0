//! Plans, rollouts and rollout leases: plans are immutable and found by a prefix of their id,
//! rollouts belong to saved plans, and of processes racing for a lease exactly one wins.

use store::{
    Claim, HostClaim, Lease, NewJournalEntry, NewRollout, PhaseUpdate, RolloutPhase, RolloutRow,
    Store, StoreError, StoredPlanSummary,
};

use crate::backends::test_dbs;

/// A plan id whose hex digits begin with `start`.
pub(crate) fn plan_id(start: &str) -> String {
    format!("sha256:{start}{}", "0".repeat(64 - start.len()))
}

pub(crate) fn new_rollout(id: &str, plan_id: &str, created_at_unix: i64) -> NewRollout {
    NewRollout {
        id: id.to_owned(),
        plan_id: plan_id.to_owned(),
        created_at_unix,
        config_json: r#"{"error_budget":1}"#.to_owned(),
        hosts: Vec::new(),
        // Most tests make several rollouts of one plan.
        again: true,
        first_entries: Vec::new(),
    }
}

/// Saves a plan and creates a rollout of it with this id.
pub(crate) async fn store_with_rollout(store: &Store, rollout_id: &str) {
    let plan = plan_id("feed01");
    store.save_plan(&plan, 100, r#"{"hosts":[]}"#).await.unwrap();
    store.create_rollout(&new_rollout(rollout_id, &plan, 200)).await.unwrap();
}

/// Claims the rollout's lease for a test process, at time 1000.
pub(crate) async fn leased(store: &Store, rollout_id: &str) -> Lease {
    claimed(store.claim_rollout(rollout_id, "test", 1000, 60).await.unwrap())
}

/// A phase update, from the text the `phase` column holds.
fn phase(phase: &str, at_unix: i64) -> PhaseUpdate {
    PhaseUpdate { phase: phase.parse().unwrap(), at_unix }
}

fn claimed(claim: Claim) -> Lease {
    match claim {
        Claim::Claimed(lease) => lease,
        held => panic!("{held:?}"),
    }
}

#[tokio::test]
async fn plans_are_immutable_and_found_by_prefix() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let first = plan_id("abcdef01");
        let second = plan_id("abcdef02");
        let body = r#"{"hosts":["deb1"]}"#;
        store.save_plan(&first, 100, body).await.unwrap();
        // Saving it again is a no-op, and keeps the first time.
        store.save_plan(&first, 150, body).await.unwrap();
        let error = store.save_plan(&first, 160, r#"{"hosts":["deb2"]}"#).await.unwrap_err();
        assert!(matches!(&error, StoreError::PlanConflict { id } if *id == first), "{error}");
        store.save_plan(&second, 200, "{}").await.unwrap();

        let found = store.plan(&first).await.unwrap().unwrap();
        assert_eq!(
            (found.id.as_str(), found.created_at_unix, found.body_json.as_str()),
            (first.as_str(), 100, body)
        );
        for given in ["abcdef01", "sha256:abcdef01", "ABCDEF01", &first[7..]] {
            let found = store.plan(given).await.unwrap();
            assert_eq!(found.map(|p| p.id), Some(first.clone()), "{given}");
        }
        assert_eq!(store.plan("abcdef03").await.unwrap(), None);

        let error = store.plan("abcdef").await.unwrap_err();
        assert!(
            matches!(error, StoreError::AmbiguousId { kind: "plan", n_matches: 2, .. }),
            "{error}"
        );
        assert_eq!(error.to_string(), "\"sha256:abcdef\" matches 2 plans; give more of the id");
        // What would be wildcards to LIKE are refused, as is anything but hex.
        for given in ["abcde%", "abc_ef", "abcde", "sha256:abcdeg", "%%%%%%"] {
            let error = store.plan(given).await.unwrap_err();
            assert!(
                matches!(error, StoreError::InvalidId { kind: "plan", .. }),
                "{given}: {error}"
            );
        }

        let error = store.save_plan("sha256:abc", 1, "{}").await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidId { .. }), "{error}");
        let error = store.save_plan(&plan_id("01"), 1, "{not json").await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidValue { .. }), "{error}");

        assert_eq!(
            store.plans().await.unwrap(),
            [
                StoredPlanSummary { id: second, created_at_unix: 200 },
                StoredPlanSummary { id: first, created_at_unix: 100 },
            ]
        );
    }
}

#[tokio::test]
async fn a_saved_plan_cannot_be_changed_by_hand() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store.save_plan(&plan_id("abcdef"), 100, "{}").await.unwrap();
        store.close().await;
        let error = db.execute("UPDATE plans SET body = '{\"evil\":1}'").await.unwrap_err();
        assert!(error.to_string().contains("plans are immutable"), "{error}");
    }
}

#[tokio::test]
async fn a_phase_reads_back_from_the_text_old_databases_hold_and_unknown_text_is_corrupt() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, "aaaaaa01").await;
        store.close().await;
        // The texts every release so far wrote, set by hand as an older patchctl left them.
        for text in [
            "created",
            "not_started",
            "running",
            "paused",
            "stopping",
            "completed",
            "halted",
            "cancelled",
        ] {
            let sql = format!("UPDATE rollouts SET phase = '{text}' WHERE id = 'aaaaaa01'");
            assert_eq!(db.execute(&sql).await.unwrap(), 1);
            let store = db.open().await;
            let rollout = store.rollout("aaaaaa01").await.unwrap().unwrap();
            assert_eq!(rollout.phase.as_str(), text);
            assert_eq!(
                rollout.phase.is_finished(),
                ["completed", "halted", "cancelled"].contains(&text)
            );
            store.close().await;
        }
        let sql = "UPDATE rollouts SET phase = 'exploded' WHERE id = 'aaaaaa01'";
        assert_eq!(db.execute(sql).await.unwrap(), 1);
        let store = db.open().await;
        for error in
            [store.rollout("aaaaaa01").await.unwrap_err(), store.rollouts().await.unwrap_err()]
        {
            assert!(matches!(error, StoreError::CorruptRow { .. }), "{error:?}");
            let message = error.to_string();
            assert!(
                message.contains("rollout aaaaaa01") && message.contains("\"exploded\""),
                "{message}"
            );
        }
    }
}

#[tokio::test]
async fn rollouts_belong_to_saved_plans() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let plan = plan_id("feed");
        let error =
            store.create_rollout(&new_rollout("0123456789abcdef", &plan, 10)).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::UnknownPlan { plan_id, .. } if *plan_id == plan),
            "{error}"
        );
        store.save_plan(&plan, 1, "{}").await.unwrap();

        store.create_rollout(&new_rollout("0123456789abcdef", &plan, 10)).await.unwrap();
        // A rollout id that is the beginning of another one.
        store.create_rollout(&new_rollout("012345", &plan, 20)).await.unwrap();
        store.create_rollout(&new_rollout("fedcba9876543210", &plan, 30)).await.unwrap();
        let error = store.create_rollout(&new_rollout("012345", &plan, 40)).await.unwrap_err();
        assert!(matches!(error, StoreError::RolloutExists { .. }), "{error}");
        for bad in ["01234", "0123456789ABCDEF", "rollout1"] {
            let error = store.create_rollout(&new_rollout(bad, &plan, 40)).await.unwrap_err();
            assert!(
                matches!(error, StoreError::InvalidId { kind: "rollout", .. }),
                "{bad}: {error}"
            );
        }

        let rollout = store.rollout("0123456789abcdef").await.unwrap().unwrap();
        assert_eq!(
            rollout,
            RolloutRow {
                id: "0123456789abcdef".to_owned(),
                plan_id: plan.clone(),
                created_at_unix: 10,
                config_json: r#"{"error_budget":1}"#.to_owned(),
                phase: RolloutPhase::Created,
                updated_at_unix: 10,
                owner: None,
                lease_expires_unix: None,
                fence: 0,
                chain_version: 2,
            }
        );
        // The exact id wins over the longer id it begins.
        assert_eq!(store.rollout("012345").await.unwrap().unwrap().id, "012345");
        assert_eq!(store.rollout("0123456").await.unwrap().unwrap().id, "0123456789abcdef");
        assert_eq!(store.rollout("FEDCBA").await.unwrap().unwrap().id, "fedcba9876543210");
        assert_eq!(store.rollout("aaaaaa").await.unwrap(), None);
        let error = store.rollout("01234_").await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidId { kind: "rollout", .. }), "{error}");

        store.create_rollout(&new_rollout("fedcba01", &plan, 50)).await.unwrap();
        let error = store.rollout("fedcba").await.unwrap_err();
        assert!(
            matches!(error, StoreError::AmbiguousId { kind: "rollout", n_matches: 2, .. }),
            "{error}"
        );

        let lease = leased(&store, "012345").await;
        store.append_journal(&lease, &[], Some(&phase("running", 60))).await.unwrap();
        let rollout = store.rollout("012345").await.unwrap().unwrap();
        assert_eq!((rollout.phase.as_str(), rollout.updated_at_unix), ("running", 60));

        let ids: Vec<String> = store.rollouts().await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["fedcba01", "fedcba9876543210", "012345", "0123456789abcdef"]);
    }
}

#[tokio::test]
async fn a_lease_is_held_until_it_runs_out_and_fenced_by_its_token() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let id = "0123456789abcdef";
        store_with_rollout(&store, id).await;

        let alice = claimed(store.claim_rollout(id, "alice", 1000, 60).await.unwrap());
        assert_eq!((alice.token, alice.until_unix), (1, 1060));
        let held_by_alice = Claim::HeldBy { owner: "alice".to_owned(), until_unix: 1060 };
        assert_eq!(store.claim_rollout(id, "bob", 1059, 60).await.unwrap(), held_by_alice);
        // Not even alice claims it again while she holds it: a claim is a take-over.
        assert!(matches!(
            store.claim_rollout(id, "alice", 1030, 60).await.unwrap(),
            Claim::HeldBy { .. }
        ));
        // A lease that ran out is still its holder's to renew while nobody else claims it.
        let alice = store.renew_rollout_lease(&alice, 2000, 60).await.unwrap();
        let rollout = store.rollout(id).await.unwrap().unwrap();
        assert_eq!(
            (rollout.owner.as_deref(), rollout.lease_expires_unix),
            (Some("alice"), Some(2060))
        );

        // Run out, it goes to whoever claims it, with a new token; the old holder can no longer
        // renew it, release it, or write to the journal.
        let bob = claimed(store.claim_rollout(id, "bob", 2060, 30).await.unwrap());
        assert_eq!(bob.token, 2);
        let error = store.renew_rollout_lease(&alice, 2061, 60).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::LeaseLost { holder: Some(holder), .. } if holder == "bob"),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            "renewing the lease on rollout 0123456789abcdef: the lease on rollout 0123456789abcdef \
         is no longer alice's (token 1): it is held by bob now; nothing was written"
        );
        assert!(!store.release_rollout(&alice).await.unwrap());
        let entry =
            NewJournalEntry { at_ms: 1, kind: "input".into(), host: None, body_json: "{}".into() };
        let error =
            store.append_journal(&alice, std::slice::from_ref(&entry), None).await.unwrap_err();
        assert!(matches!(error, StoreError::LeaseLost { .. }), "{error}");
        assert_eq!(
            store.append_journal(&bob, std::slice::from_ref(&entry), None).await.unwrap(),
            [1]
        );

        // Released, it is nobody's to renew, but anybody's to claim; the token moves on, so the
        // holder before the release cannot write either, even though the row has no owner.
        let bob = store.renew_rollout_lease(&bob, 2070, 30).await.unwrap();
        assert!(store.release_rollout(&bob).await.unwrap());
        let rollout = store.rollout(id).await.unwrap().unwrap();
        assert_eq!((rollout.owner, rollout.lease_expires_unix), (None, None));
        let error = store.renew_rollout_lease(&bob, 2071, 30).await.unwrap_err();
        assert!(matches!(error, StoreError::LeaseLost { holder: None, .. }), "{error}");
        let error =
            store.append_journal(&bob, std::slice::from_ref(&entry), None).await.unwrap_err();
        assert!(matches!(error, StoreError::LeaseLost { holder: None, .. }), "{error}");
        let carol = claimed(store.claim_rollout(id, "carol", 2072, 30).await.unwrap());
        assert_eq!(carol.token, 3);
        let error =
            store.append_journal(&bob, std::slice::from_ref(&entry), None).await.unwrap_err();
        assert!(matches!(error, StoreError::LeaseLost { .. }), "{error}");
        // A request from another process needs no lease: the holder decides on it.
        assert_eq!(store.append_request(id, &[entry]).await.unwrap(), [2]);
        assert_eq!(store.journal(id).await.unwrap().len(), 2);

        let error = store.claim_rollout(id, "carol", 2072, 0).await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidValue { .. }), "{error}");
        let nobody = Lease { rollout_id: "aaaaaa".into(), ..carol };
        for error in [
            store.claim_rollout("aaaaaa", "carol", 1, 30).await.unwrap_err(),
            store.renew_rollout_lease(&nobody, 1, 30).await.unwrap_err(),
            store.release_rollout(&nobody).await.unwrap_err(),
        ] {
            assert!(matches!(error, StoreError::UnknownRollout { .. }), "{error}");
        }
    }
}

#[tokio::test]
async fn a_plan_runs_once_and_a_host_is_claimed_by_one_unfinished_rollout() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let (plan, other_plan) = (plan_id("aa01"), plan_id("bb02"));
        store.save_plan(&plan, 1, "{}").await.unwrap();
        store.save_plan(&other_plan, 1, "{}").await.unwrap();
        let rollout = |id: &str, plan: &str, hosts: &[&str], again: bool| NewRollout {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            again,
            ..new_rollout(id, plan, 10)
        };
        store.create_rollout(&rollout("aaaaaa01", &plan, &["deb1", "deb2"], false)).await.unwrap();
        // The same plan again: refused, naming the rollout that ran it.
        let error =
            store.create_rollout(&rollout("aaaaaa02", &plan, &["deb1"], false)).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::PlanAlreadyRun { rollout_id, phase, .. } if rollout_id == "aaaaaa01" && phase.as_str() == "created"),
            "{error}"
        );
        // Another plan on a host the first one has not finished with: refused, naming both.
        let error = store
            .create_rollout(&rollout("bbbbbb01", &other_plan, &["deb2", "deb3"], false))
            .await
            .unwrap_err();
        let StoreError::HostsClaimed { claims, .. } = &error else { panic!("{error}") };
        assert_eq!(
            claims,
            &[HostClaim {
                host: "deb2".into(),
                rollout_id: "aaaaaa01".into(),
                phase: RolloutPhase::Created
            }]
        );
        assert!(error.to_string().contains("deb2 by rollout aaaaaa01 (created)"), "{error}");
        // --again does not lift the host claims.
        let error =
            store.create_rollout(&rollout("aaaaaa03", &plan, &["deb1"], true)).await.unwrap_err();
        assert!(matches!(error, StoreError::HostsClaimed { .. }), "{error}");
        assert!(store.rollout("aaaaaa03").await.unwrap().is_none(), "nothing half-created");

        // Finished, the first rollout claims nothing: the other plan runs, and the first plan runs
        // again only when asked to.
        let lease = leased(&store, "aaaaaa01").await;
        store.append_journal(&lease, &[], Some(&phase("completed", 20))).await.unwrap();
        store
            .create_rollout(&rollout("bbbbbb01", &other_plan, &["deb2", "deb3"], false))
            .await
            .unwrap();
        let error =
            store.create_rollout(&rollout("aaaaaa04", &plan, &["deb1"], false)).await.unwrap_err();
        assert!(matches!(error, StoreError::PlanAlreadyRun { .. }), "{error}");
        let first = NewJournalEntry {
            at_ms: 30_000,
            kind: "start".into(),
            host: None,
            body_json: r#"{"again":"the first run was cut short"}"#.into(),
        };
        store
            .create_rollout(&NewRollout {
                first_entries: vec![first],
                ..rollout("aaaaaa04", &plan, &["deb1"], true)
            })
            .await
            .unwrap();
        assert_eq!(store.journal("aaaaaa04").await.unwrap()[0].kind, "start");

        // A rollback by hand that would reopen the first rollout while another holds deb2: refused.
        let error =
            store.append_journal(&lease, &[], Some(&phase("running", 40))).await.unwrap_err();
        assert!(matches!(error, StoreError::HostsClaimed { .. }), "{error}");
        assert_eq!(store.rollout("aaaaaa01").await.unwrap().unwrap().phase.as_str(), "completed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_processes_starting_one_plan_at_once_exactly_one_creates_a_rollout() {
    const ROUNDS: usize = 20;
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let first = db.open().await;
        let second = db.open().await;
        for round in 0..ROUNDS {
            let plan = plan_id(&format!("{round:04x}"));
            first.save_plan(&plan, 1, "{}").await.unwrap();
            let start = |store: Store, id: String, plan: String| {
                tokio::spawn(async move {
                    let rollout = NewRollout {
                        hosts: vec!["deb1".into()],
                        again: false,
                        ..new_rollout(&id, &plan, 1)
                    };
                    store.create_rollout(&rollout).await
                })
            };
            let a = start(first.clone(), format!("a{round:015x}"), plan.clone());
            let b = start(second.clone(), format!("b{round:015x}"), plan.clone());
            let (a, b) = (a.await.unwrap(), b.await.unwrap());
            assert!(a.is_ok() != b.is_ok(), "round {round}: {a:?} and {b:?}");
            let refused = a.err().or(b.err()).unwrap();
            assert!(matches!(refused, StoreError::PlanAlreadyRun { .. }), "{refused}");
            // Finish it, so the next round's host is free.
            let id = if first.rollout(&format!("a{round:015x}")).await.unwrap().is_some() {
                format!("a{round:015x}")
            } else {
                format!("b{round:015x}")
            };
            let lease = claimed(first.claim_rollout(&id, "t", 1, 60).await.unwrap());
            first.append_journal(&lease, &[], Some(&phase("completed", 2))).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_processes_claiming_at_once_exactly_one_wins() {
    const ROUNDS: usize = 40;
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        // Two pools on one file stand for two patchctl processes.
        let first = db.open().await;
        let second = db.open().await;
        let plan = plan_id("feed01");
        first.save_plan(&plan, 1, "{}").await.unwrap();
        for round in 0..ROUNDS {
            let id = format!("{round:016x}");
            first.create_rollout(&new_rollout(&id, &plan, 1)).await.unwrap();
            let claim = |store: Store, owner: &'static str| {
                let id = id.clone();
                tokio::spawn(
                    async move { store.claim_rollout(&id, owner, 1000, 60).await.unwrap() },
                )
            };
            let a = claim(first.clone(), "process-a");
            let b = claim(second.clone(), "process-b");
            let (a, b) = (a.await.unwrap(), b.await.unwrap());
            let winner = match (&a, &b) {
                (Claim::Claimed(_), Claim::HeldBy { owner, until_unix: 1060 })
                    if owner == "process-a" =>
                {
                    "process-a"
                }
                (Claim::HeldBy { owner, until_unix: 1060 }, Claim::Claimed(_))
                    if owner == "process-b" =>
                {
                    "process-b"
                }
                _ => panic!("round {round}: {a:?} and {b:?}"),
            };
            let rollout = second.rollout(&id).await.unwrap().unwrap();
            assert_eq!(rollout.owner.as_deref(), Some(winner));
        }
    }
}

/// The application spawns what it asks the store, so every future must be `Send`; this only
/// has to compile.
#[tokio::test]
async fn every_future_can_be_spawned() {
    fn send<T: Send>(_: T) {}
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let (id, rollout) = (plan_id("ab"), new_rollout("abcdef", &plan_id("ab"), 1));
        send(store.save_plan(&id, 1, "{}"));
        send(store.plan(&id));
        send(store.plans());
        send(store.create_rollout(&rollout));
        send(store.rollout("abcdef"));
        send(store.rollouts());
        let lease =
            Lease { rollout_id: "abcdef".into(), owner: "a".into(), token: 1, until_unix: 2 };
        send(store.claim_rollout("abcdef", "a", 1, 1));
        send(store.renew_rollout_lease(&lease, 1, 1));
        send(store.release_rollout(&lease));
        send(store.append_journal(&lease, &[], None));
        send(store.append_request("abcdef", &[]));
        send(store.journal("abcdef"));
        send(store.journal_since("abcdef", 0));
        send(store.verify_journal("abcdef"));
    }
}
