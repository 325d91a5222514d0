//! The scheduler's leadership, on both databases, with two stores on one database standing for
//! two processes: exactly one of several claiming at once leads; the other is told who leads
//! and until when; a leader is replaced only once its lease runs out; a replaced leader cannot
//! renew, even after its successor released; a release frees it at once.

use store::{LeaderClaim, Leadership, StoreError};

use crate::backends::test_dbs;

fn leader(claim: LeaderClaim) -> Leadership {
    match claim {
        LeaderClaim::Leader(leadership) => leadership,
        held => panic!("{held:?}"),
    }
}

#[tokio::test]
async fn one_process_leads_until_its_lease_runs_out_and_a_replaced_leader_cannot_renew() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let (a, b) = (db.open().await, db.open().await);
        assert_eq!(a.leader().await.unwrap(), None, "nobody led yet");

        let first = leader(a.claim_leadership("replica-a", 1000, 30).await.unwrap());
        assert_eq!((first.owner.as_str(), first.until_unix), ("replica-a", 1030));
        assert_eq!(b.leader().await.unwrap(), Some(("replica-a".to_owned(), 1030)));
        // B is told who leads while A's lease lasts, to its last second.
        for now in [1000, 1029] {
            let claim = b.claim_leadership("replica-b", now, 30).await.unwrap();
            assert_eq!(claim, LeaderClaim::HeldBy { owner: "replica-a".into(), until_unix: 1030 });
        }
        // A renews: its lease moves, B still waits.
        let renewed = a.renew_leadership(&first, 1010, 30).await.unwrap();
        assert_eq!((renewed.token, renewed.until_unix), (first.token, 1040));
        assert!(matches!(
            b.claim_leadership("replica-b", 1035, 30).await.unwrap(),
            LeaderClaim::HeldBy { until_unix: 1040, .. }
        ));

        // A stalls past its lease: B takes over with a new token.
        let second = leader(b.claim_leadership("replica-b", 1040, 30).await.unwrap());
        assert!(second.token > first.token, "{second:?} {first:?}");
        // A wakes: its renewal is refused, naming who leads now.
        let error = a.renew_leadership(&renewed, 1041, 30).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::LeadershipLost { holder: Some(h), .. } if h == "replica-b"),
            "{error}"
        );
        assert!(error.to_string().contains("it is held by replica-b now"), "{error}");
        // And its release changes nothing.
        assert!(!a.release_leadership(&renewed).await.unwrap());
        assert_eq!(a.leader().await.unwrap(), Some(("replica-b".to_owned(), 1070)));

        // B releases: A may lead at once, and B's old token is worth nothing after that.
        assert!(b.release_leadership(&second).await.unwrap());
        assert_eq!(a.leader().await.unwrap(), None);
        let error = a.renew_leadership(&renewed, 1042, 30).await.unwrap_err();
        assert!(matches!(&error, StoreError::LeadershipLost { holder: None, .. }), "{error}");
        assert!(error.to_string().contains("it was released"), "{error}");
        let third = leader(a.claim_leadership("replica-a", 1042, 30).await.unwrap());
        assert!(third.token > second.token);
        assert!(b.renew_leadership(&second, 1043, 30).await.is_err());

        // A leader claiming again (having lost track of its token) is told it holds it, and
        // leads under a new token once that lease has run out.
        let claim = a.claim_leadership("replica-a", 1043, 30).await.unwrap();
        assert_eq!(claim, LeaderClaim::HeldBy { owner: "replica-a".into(), until_unix: 1072 });
        let fourth = leader(a.claim_leadership("replica-a", 1072, 30).await.unwrap());
        assert!(fourth.token > third.token);
        assert!(a.renew_leadership(&third, 1073, 30).await.is_err(), "the old token is fenced");
        assert!(a.renew_leadership(&fourth, 1073, 30).await.is_ok());

        // A lease of no time is refused before the database is asked.
        let error = a.claim_leadership("replica-a", 1074, 0).await.unwrap_err();
        assert!(error.to_string().contains("at least a second"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_processes_claiming_at_once_exactly_one_leads() {
    const PROCESSES: usize = 6;
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        for round in 0..5_i64 {
            let mut claims = tokio::task::JoinSet::new();
            for process in 0..PROCESSES {
                let store = db.open().await;
                // Each round starts after the last round's leases ran out.
                let now = 2000 + round * 100;
                claims.spawn(async move {
                    let owner = format!("replica-{round}-{process}");
                    let claim = store.claim_leadership(&owner, now, 30).await.unwrap();
                    store.close().await;
                    claim
                });
            }
            let claims = claims.join_all().await;
            let leaders: Vec<&Leadership> = claims
                .iter()
                .filter_map(|claim| match claim {
                    LeaderClaim::Leader(leadership) => Some(leadership),
                    LeaderClaim::HeldBy { .. } => None,
                })
                .collect();
            assert_eq!(leaders.len(), 1, "round {round}: {claims:?}");
            for claim in &claims {
                if let LeaderClaim::HeldBy { owner, .. } = claim {
                    assert_eq!(owner, &leaders[0].owner, "round {round}");
                }
            }
        }
    }
}
