//! The host-step queue on both databases: processes claiming at once never get the same step
//! and together take every one; a claim whose lease ran out is taken over under a new fencing
//! token, after which its old holder can neither renew nor complete it; steps are enqueued and
//! abandoned only under the rollout's lease; bad arguments are refused before any query.

use std::collections::BTreeSet;

use store::{
    ClaimedStep, NewHostStep, StepClaim, StepLease, StepScope, StepState, Store, StoreError,
};

use crate::backends::test_dbs;
use crate::rollouts::{leased, store_with_rollout};

const ROLLOUT: &str = "5e1ec7ed";

fn steps(tokens: std::ops::Range<i64>) -> Vec<NewHostStep> {
    tokens
        .map(|token| NewHostStep {
            token,
            host: format!("deb{}", token % 7),
            step: "apply".to_owned(),
            resume: token % 2 == 1,
        })
        .collect()
}

fn claim(owner: &str, limit: i64, lease_seconds: u32) -> StepClaim {
    StepClaim { owner: owner.to_owned(), limit, scope: StepScope::Any, lease_seconds }
}

fn leases(claimed: &[ClaimedStep]) -> Vec<StepLease> {
    claimed.iter().map(|c| c.lease.clone()).collect()
}

fn tokens(claimed: &[ClaimedStep]) -> Vec<i64> {
    claimed.iter().map(|c| c.lease.token).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_take_every_step_exactly_once() {
    const STEPS: i64 = 300;
    const CLAIMERS: usize = 4;
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, ROLLOUT).await;
        let lease = leased(&store, ROLLOUT).await;
        assert_eq!(store.enqueue_steps(&lease, &steps(0..STEPS), 1000).await.unwrap(), 300);
        let mut claimers = tokio::task::JoinSet::new();
        for n in 0..CLAIMERS {
            // Each its own store, as another process would have.
            let location = db.location();
            claimers.spawn(async move {
                let store = location.open().await;
                let owner = format!("claimer{n}");
                let mut taken = Vec::new();
                loop {
                    // Batches of 1 to 4, so that claims overlap in every way.
                    let limit = 1 + (taken.len() % 4) as i64;
                    let claimed = store.claim_steps(&claim(&owner, limit, 60), 1001).await.unwrap();
                    if claimed.is_empty() {
                        break;
                    }
                    for step in &claimed {
                        assert!(!step.retaken, "{step:?}");
                        assert_eq!(step.lease.fence, 1, "{step:?}");
                        let result = format!(r#"{{"by":"{owner}"}}"#);
                        store.complete_step(&step.lease, 1002, &result).await.unwrap();
                    }
                    taken.extend(tokens(&claimed));
                }
                store.close().await;
                taken
            });
        }
        let mut all = Vec::new();
        let mut busy_claimers = 0;
        while let Some(taken) = claimers.join_next().await {
            let taken = taken.unwrap();
            busy_claimers += usize::from(!taken.is_empty());
            all.extend(taken);
        }
        let distinct: BTreeSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), distinct.len(), "a step was claimed twice");
        assert_eq!(distinct, (0..STEPS).collect::<BTreeSet<_>>());
        assert!(busy_claimers > 1, "the claimers did not run side by side");
        assert!(store.unfinished_steps(ROLLOUT).await.unwrap().is_empty());
        let history = store.host_steps(ROLLOUT).await.unwrap();
        assert_eq!(history.len(), STEPS as usize);
        for row in &history {
            assert_eq!((row.state, row.attempts, row.fence), (StepState::Done, 1, 1), "{row:?}");
            let by = row.owner.clone().unwrap();
            assert_eq!(row.result_json.as_deref(), Some(format!(r#"{{"by":"{by}"}}"#).as_str()));
            assert_eq!((row.finished_at_unix, row.lease_expires_unix), (Some(1002), None));
        }
    }
}

#[tokio::test]
async fn an_expired_claim_is_retaken_and_its_old_holder_refused() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, ROLLOUT).await;
        let lease = leased(&store, ROLLOUT).await;
        store.enqueue_steps(&lease, &steps(1..3), 1000).await.unwrap();

        let first = store.claim_steps(&claim("a", 10, 10), 1000).await.unwrap();
        assert_eq!(tokens(&first), [1, 2]);
        assert!(
            first.iter().all(|c| !c.retaken && c.lease.fence == 1 && c.lease.until_unix == 1010)
        );
        assert_eq!((first[0].step.as_str(), first[0].resume), ("apply", true));
        // Held: nothing is ready until the leases run out.
        assert!(store.claim_steps(&claim("b", 10, 10), 1009).await.unwrap().is_empty());
        // "a" renews step 2 only; step 1's lease runs out and "b" takes it over.
        let renewed = store.renew_step_leases(&leases(&first[1..]), 1005, 30).await.unwrap();
        assert_eq!(renewed[0].as_ref().unwrap().until_unix, 1035);
        let retaken = store.claim_steps(&claim("b", 10, 10), 1010).await.unwrap();
        assert_eq!(tokens(&retaken), [1]);
        assert!(retaken[0].retaken, "a step taken over says it was in flight");
        assert_eq!(retaken[0].lease.fence, 2);

        // The old holder of step 1 can neither renew nor complete it.
        let renewals = store.renew_step_leases(&leases(&first), 1011, 30).await.unwrap();
        let lost = renewals[0].as_ref().unwrap_err();
        let StoreError::StepLost { step, .. } = lost else { panic!("{lost}") };
        let now = (step.token, step.state, step.holder.as_deref(), step.current_fence);
        assert_eq!(now, (1, StepState::Claimed, Some("b"), 2));
        assert!(renewals[1].is_ok(), "step 2 is still a's: {:?}", renewals[1]);
        let error = store.complete_step(&first[0].lease, 1012, "{}").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "completing step 1 of rollout {ROLLOUT}: step 1 (deb1) of rollout {ROLLOUT} is \
                 no longer a's (fence 1): b claimed it since (fence 2); nothing was written"
            )
        );
        // Its new holder can; then nobody can again.
        store.complete_step(&retaken[0].lease, 1013, r#"{"ok":true}"#).await.unwrap();
        let error = store.complete_step(&retaken[0].lease, 1014, "{}").await.unwrap_err();
        assert!(
            matches!(&error, StoreError::StepLost { step, .. } if step.state == StepState::Done),
            "{error}"
        );
        // A lease that ran out but that nobody took over still counts.
        store.complete_step(&first[1].lease, 2000, "{}").await.unwrap();
        let history = store.host_steps(ROLLOUT).await.unwrap();
        assert_eq!(
            history.iter().map(|r| (r.token, r.state, r.attempts)).collect::<Vec<_>>(),
            [(1, StepState::Done, 2), (2, StepState::Done, 1)]
        );
        assert_eq!(history[0].result_json.as_deref(), Some(r#"{"ok":true}"#));
    }
}

#[tokio::test]
async fn claims_keep_to_their_scope_and_enqueueing_twice_adds_nothing() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, ROLLOUT).await;
        store
            .create_rollout(&crate::rollouts::new_rollout(
                "0e0e0e",
                &crate::rollouts::plan_id("feed01"),
                300,
            ))
            .await
            .unwrap();
        let lease = leased(&store, ROLLOUT).await;
        let other = leased(&store, "0e0e0e").await;
        assert_eq!(store.enqueue_steps(&other, &steps(0..3), 1000).await.unwrap(), 3);
        assert_eq!(store.enqueue_steps(&lease, &steps(0..5), 1000).await.unwrap(), 5);
        // Enqueued again (a driver replaying its journal): nothing new.
        assert_eq!(store.enqueue_steps(&lease, &steps(3..7), 1001).await.unwrap(), 2);

        let mut one = claim("a", 10, 60);
        one.scope = StepScope::Step { rollout_id: ROLLOUT.to_owned(), token: 4 };
        let claimed = store.claim_steps(&one, 1002).await.unwrap();
        assert_eq!(tokens(&claimed), [4]);
        assert_eq!(claimed[0].lease.rollout_id, ROLLOUT);
        assert!(store.claim_steps(&one, 1002).await.unwrap().is_empty());
        let mut of_rollout = claim("a", 2, 60);
        of_rollout.scope = StepScope::Rollout(ROLLOUT.to_owned());
        assert_eq!(tokens(&store.claim_steps(&of_rollout, 1002).await.unwrap()), [0, 1]);

        let unfinished = store.unfinished_steps(ROLLOUT).await.unwrap();
        let view: Vec<(i64, StepState)> = unfinished.iter().map(|r| (r.token, r.state)).collect();
        assert_eq!(
            view,
            [
                (0, StepState::Claimed),
                (1, StepState::Claimed),
                (2, StepState::Queued),
                (3, StepState::Queued),
                (4, StepState::Claimed),
                (5, StepState::Queued),
                (6, StepState::Queued),
            ]
        );
        assert_eq!(unfinished[2].created_at_unix, 1000);
        assert_eq!(unfinished[6].created_at_unix, 1001);
        // The other rollout's steps were enqueued first: an unscoped claim takes them first.
        let any = store.claim_steps(&claim("b", 4, 60), 1003).await.unwrap();
        let view: Vec<(&str, i64)> =
            any.iter().map(|c| (c.lease.rollout_id.as_str(), c.lease.token)).collect();
        assert_eq!(view, [("0e0e0e", 0), ("0e0e0e", 1), ("0e0e0e", 2), (ROLLOUT, 2)]);
    }
}

#[tokio::test]
async fn steps_are_written_only_under_the_rollouts_lease() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, ROLLOUT).await;
        let lost = leased(&store, ROLLOUT).await;
        store.enqueue_steps(&lost, &steps(0..2), 1000).await.unwrap();
        // Another process takes the rollout over once the lease ran out.
        let taken = store.claim_rollout(ROLLOUT, "other", 1060, 60).await.unwrap();
        let store::Claim::Claimed(current) = taken else { panic!("{taken:?}") };

        let error = store.enqueue_steps(&lost, &steps(2..4), 1061).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::LeaseLost { holder: Some(h), .. } if h == "other"),
            "{error}"
        );
        let error = store.abandon_steps(&lost, &[0, 1], 1061).await.unwrap_err();
        assert!(matches!(error, StoreError::LeaseLost { .. }), "{error}");
        assert_eq!(
            store
                .unfinished_steps(ROLLOUT)
                .await
                .unwrap()
                .iter()
                .map(|r| r.token)
                .collect::<Vec<_>>(),
            [0, 1],
            "nothing was written under the lost lease"
        );
        assert_eq!(store.enqueue_steps(&current, &steps(2..4), 1062).await.unwrap(), 2);

        let mut unknown = current.clone();
        unknown.rollout_id = "abcdef99".to_owned();
        let error = store.enqueue_steps(&unknown, &steps(0..1), 1062).await.unwrap_err();
        assert!(matches!(error, StoreError::UnknownRollout { .. }), "{error}");
    }
}

#[tokio::test]
async fn abandoned_steps_cannot_be_completed_or_claimed() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store_with_rollout(&store, ROLLOUT).await;
        let lease = leased(&store, ROLLOUT).await;
        store.enqueue_steps(&lease, &steps(0..3), 1000).await.unwrap();
        let claimed = store.claim_steps(&claim("a", 2, 60), 1000).await.unwrap();
        store.complete_step(&claimed[1].lease, 1001, "{}").await.unwrap();
        // Step 0 claimed, 1 done, 2 queued: the two unfinished ones are abandoned.
        assert_eq!(store.abandon_steps(&lease, &[0, 1, 2, 99], 1002).await.unwrap(), 2);

        let error = store.complete_step(&claimed[0].lease, 1003, "{}").await.unwrap_err();
        let StoreError::StepLost { step, .. } = &error else { panic!("{error}") };
        assert_eq!((step.token, step.state), (0, StepState::Abandoned));
        assert!(error.to_string().contains("the rollout's driver abandoned it"), "{error}");
        let renewals = store.renew_step_leases(&leases(&claimed[..1]), 1003, 60).await.unwrap();
        assert!(matches!(renewals[0], Err(StoreError::StepLost { .. })), "{renewals:?}");
        assert!(store.claim_steps(&claim("b", 10, 60), 5000).await.unwrap().is_empty());
        assert!(store.unfinished_steps(ROLLOUT).await.unwrap().is_empty());
        let history = store.host_steps(ROLLOUT).await.unwrap();
        let view: Vec<(i64, StepState, Option<i64>)> =
            history.iter().map(|r| (r.token, r.state, r.finished_at_unix)).collect();
        assert_eq!(
            view,
            [
                (0, StepState::Abandoned, Some(1002)),
                (1, StepState::Done, Some(1001)),
                (2, StepState::Abandoned, Some(1002)),
            ]
        );
    }
}

#[tokio::test]
async fn bad_arguments_are_refused_before_any_query() {
    let store = Store::open_in_memory().await.unwrap();
    store_with_rollout(&store, ROLLOUT).await;
    let lease = leased(&store, ROLLOUT).await;
    let invalid = |error: StoreError| match error {
        StoreError::InvalidValue { message, .. } => message,
        other => panic!("{other}"),
    };

    let mut bad = steps(0..2);
    bad[1].host = " ".to_owned();
    let message = invalid(store.enqueue_steps(&lease, &bad, 1000).await.unwrap_err());
    assert_eq!(message, "step 1 names no host");
    let mut bad = steps(0..2);
    bad[0].step = String::new();
    let message = invalid(store.enqueue_steps(&lease, &bad, 1000).await.unwrap_err());
    assert_eq!(message, "step 0 on deb0 names no step");
    let mut bad = steps(0..2);
    bad[1].token = 0;
    let message = invalid(store.enqueue_steps(&lease, &bad, 1000).await.unwrap_err());
    assert_eq!(message, "step 0 is given twice");

    for limit in [0, -1, StepClaim::MAX_LIMIT + 1] {
        let message = invalid(store.claim_steps(&claim("a", limit, 60), 1000).await.unwrap_err());
        assert_eq!(message, format!("a claim takes 1 to 1000 steps, not {limit}"));
    }
    let message = invalid(store.claim_steps(&claim("", 1, 60), 1000).await.unwrap_err());
    assert_eq!(message, "the claimer has no name");
    let message = invalid(store.claim_steps(&claim("a", 1, 0), 1000).await.unwrap_err());
    assert_eq!(message, "a lease must last at least a second");
    let mut scoped = claim("a", 1, 60);
    scoped.scope = StepScope::Rollout("nothex".to_owned());
    let error = store.claim_steps(&scoped, 1000).await.unwrap_err();
    assert!(matches!(error, StoreError::InvalidId { kind: "rollout", .. }), "{error}");

    store.enqueue_steps(&lease, &steps(0..1), 1000).await.unwrap();
    let claimed = store.claim_steps(&claim("a", 1, 60), 1000).await.unwrap();
    let message = invalid(store.complete_step(&claimed[0].lease, 1001, "{oops").await.unwrap_err());
    assert!(message.starts_with("the step's result is not JSON"), "{message}");
    let message =
        invalid(store.renew_step_leases(&[claimed[0].lease.clone()], 1001, 0).await.unwrap_err());
    assert_eq!(message, "a lease must last at least a second");
    // Nothing was written by the refused calls.
    let history = store.host_steps(ROLLOUT).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].state, history[0].lease_expires_unix), (StepState::Claimed, Some(1060)));
}
