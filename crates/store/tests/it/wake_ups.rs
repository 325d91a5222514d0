//! The wake-up between processes: on PostgreSQL, a request journaled or a rollout created by
//! one store wakes another store's waiter at once, a burst of them once, and a listener whose
//! connection is cut connects again; on SQLite nothing wakes it (polling does the work).

use std::time::Duration;

use store::{NewJournalEntry, Store};

use crate::backends::test_dbs;
use crate::rollouts::{new_rollout, plan_id, store_with_rollout};

fn request() -> NewJournalEntry {
    NewJournalEntry {
        at_ms: 1,
        kind: "request".to_owned(),
        host: None,
        body_json: r#"{"input":"pause"}"#.to_owned(),
    }
}

/// Whether `wake_ups` is woken within `within`.
async fn woken(wake_ups: &mut store::WakeUps, within: Duration) -> bool {
    tokio::time::timeout(within, wake_ups.woken()).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_processs_request_wakes_a_waiter_on_postgresql_and_a_cut_listener_reconnects() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let (listening, asking): (Store, Store) = (db.open().await, db.open().await);
        store_with_rollout(&asking, "abcdef01").await;
        let mut wake_ups = listening.wake_ups();
        if !db.is_postgres() {
            asking.append_request("abcdef01", &[request()]).await.unwrap();
            assert!(!woken(&mut wake_ups, Duration::from_millis(500)).await, "SQLite never wakes");
            continue;
        }
        // The listener connected (which wakes too: notifications may have been missed).
        assert!(woken(&mut wake_ups, Duration::from_secs(5)).await, "the listener connected");
        assert!(!woken(&mut wake_ups, Duration::from_millis(300)).await, "nothing happened");

        // A burst of requests wakes the waiter, once it looks, once.
        for _ in 0..3 {
            asking.append_request("abcdef01", &[request()]).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(woken(&mut wake_ups, Duration::from_secs(2)).await, "a request wakes");
        assert!(!woken(&mut wake_ups, Duration::from_millis(300)).await, "coalesced");
        // A new rollout wakes it too.
        asking.create_rollout(&new_rollout("abcdef02", &plan_id("feed01"), 300)).await.unwrap();
        assert!(woken(&mut wake_ups, Duration::from_secs(2)).await, "a new rollout wakes");

        // The listener's connection cut (a restarted server, a proxy's timeout): it connects
        // again, and the next request still wakes.
        let cut = db
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            )
            .await
            .unwrap();
        assert_eq!(cut, 1, "one listener in the process");
        assert!(woken(&mut wake_ups, Duration::from_secs(10)).await, "reconnected");
        asking.append_request("abcdef01", &[request()]).await.unwrap();
        assert!(woken(&mut wake_ups, Duration::from_secs(2)).await, "a request wakes again");
    }
}
