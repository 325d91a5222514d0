//! Change journals (chained, checked before they grow, never changed) and the scheduler's
//! window claims (exactly one claimant per window).

use store::{JournalBreak, JournalCheck, NewChangeEntry};

use crate::backends::test_dbs;
use crate::rollouts::plan_id;

fn entry(at_ms: i64, kind: &str, actor: &str) -> NewChangeEntry {
    NewChangeEntry {
        at_ms,
        kind: kind.to_owned(),
        actor: actor.to_owned(),
        body_json: r#"{"comment":null}"#.to_owned(),
    }
}

#[tokio::test]
async fn actions_are_chained_per_plan_and_checked_inside_the_transaction() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let plan = plan_id("c0ffee");
        let other = plan_id("c0ffef");
        store.save_plan(&plan, 100, "{}").await.unwrap();
        store.save_plan(&other, 100, "{}").await.unwrap();
        let yes = |_: &[store::ChangeEntry]| Ok(());
        assert_eq!(
            store.append_change(&plan, &entry(1, "request", "erin"), &yes).await.unwrap(),
            Ok(1)
        );
        // The check sees the journal as it is: here, refuse a second action by the same actor.
        let once = |journal: &[store::ChangeEntry]| {
            if journal.iter().any(|e| e.actor == "frank") {
                Err("frank acted already".to_owned())
            } else {
                Ok(())
            }
        };
        assert_eq!(
            store.append_change(&plan, &entry(2, "approve", "frank"), &once).await.unwrap(),
            Ok(2)
        );
        assert_eq!(
            store.append_change(&plan, &entry(3, "approve", "frank"), &once).await.unwrap(),
            Err("frank acted already".to_owned())
        );
        assert_eq!(
            store.append_change(&other, &entry(4, "request", "bob"), &yes).await.unwrap(),
            Ok(1)
        );
        let journal = store.change_journal(&plan).await.unwrap();
        assert_eq!(journal.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>(), ["erin", "frank"]);
        assert_eq!(journal[1].prev_hash, journal[0].hash);
        assert!(matches!(
            store.verify_change_journal(&plan).await.unwrap(),
            JournalCheck::Intact { n_entries: 2, .. }
        ));
        let unknown =
            store.append_change(&plan_id("dead00"), &entry(1, "request", "x"), &yes).await;
        assert!(unknown.unwrap_err().to_string().contains("is not in the state database"));
    }
}

#[tokio::test]
async fn the_change_journal_cannot_be_edited_and_a_forged_actor_shows() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let plan = plan_id("c0ffee");
        store.save_plan(&plan, 100, "{}").await.unwrap();
        let yes = |_: &[store::ChangeEntry]| Ok(());
        store.append_change(&plan, &entry(1, "request", "erin"), &yes).await.unwrap().unwrap();
        store.append_change(&plan, &entry(2, "approve", "frank"), &yes).await.unwrap().unwrap();
        store.close().await;

        let error = db.execute("UPDATE change_journal SET actor = 'erin'").await.unwrap_err();
        assert!(error.to_string().contains("append-only: entries cannot be changed"), "{error}");
        let error = db.execute("DELETE FROM change_journal").await.unwrap_err();
        assert!(error.to_string().contains("append-only: entries cannot be deleted"), "{error}");
        db.execute(&format!(
            "{} UPDATE change_journal SET actor = 'mallory' WHERE seq = 2",
            db.drop_trigger("change_journal_refuses_update", "change_journal")
        ))
        .await
        .unwrap();
        let store = db.open().await;
        assert_eq!(
            store.verify_change_journal(&plan).await.unwrap(),
            JournalCheck::Broken { seq: 2, reason: JournalBreak::HashMismatch }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_notice_is_claimed_once_whoever_asks() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            // Separate pools, as two schedulers would have.
            let location = db.location();
            tasks.spawn(async move {
                let store = location.open().await;
                let won = store.claim_notice("escalation:7:1", &format!("s{i}"), 5).await.unwrap();
                store.close().await;
                won
            });
        }
        let winners = tasks.join_all().await.into_iter().filter(|won| *won).count();
        assert_eq!(winners, 1);
        assert!(!store.claim_notice("escalation:7:1", "s9", 6).await.unwrap());
        assert!(store.claim_notice("escalation:7:2", "s9", 6).await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_window_is_claimed_once_whoever_asks() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            // Separate pools, as separate processes would have.
            let location = db.location();
            tasks.spawn(async move {
                let store = location.open().await;
                let won = store
                    .claim_window("production", 1_790_000_000, &format!("s{i}"), 5)
                    .await
                    .unwrap();
                store.close().await;
                won
            });
        }
        let winners = tasks.join_all().await.into_iter().filter(|won| *won).count();
        assert_eq!(winners, 1);
        assert!(store.claim_window("production", 1_790_000_060, "s9", 6).await.unwrap());
        assert!(store.claim_window("staging", 1_790_000_000, "s9", 6).await.unwrap());
        store.record_window("staging", 1_790_000_000, None, None, "nothing pending").await.unwrap();
        let claims = store.window_claims().await.unwrap();
        assert_eq!(claims.len(), 3);
        assert_eq!(
            claims.iter().find(|c| c.environment == "staging").unwrap().outcome.as_deref(),
            Some("nothing pending")
        );
    }
}
