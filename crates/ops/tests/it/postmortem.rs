//! Postmortems in a real SQLite store: opened once per subject, closed once, every action on
//! record with its actor and time, overdue judged at the time passed in.

use chrono::{DateTime, TimeDelta, Utc};
use model::postmortem::{DEFAULT_DUE_AFTER, PostmortemStatus, Subject};
use ops::postmortem::{NewPostmortemRequest, close_postmortem, open_postmortem, postmortem};
use store::Store;

fn at(hours: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::hours(hours)
}

fn request(subject: Subject) -> NewPostmortemRequest {
    NewPostmortemRequest {
        subject,
        title: "rollout r1 rolled back deb2".into(),
        hosts: vec!["deb2".into()],
        owner: Some("team-web".into()),
        due_after: DEFAULT_DUE_AFTER,
        opened_by: "patchctl".into(),
    }
}

#[tokio::test]
async fn a_postmortem_is_due_in_a_day_overdue_after_and_closed_once() {
    let store = Store::open_in_memory().await.unwrap();
    let (opened, new) =
        open_postmortem(&store, &request(Subject::Rollout("r1".into())), at(0)).await.unwrap();
    assert!(new);
    assert_eq!(opened.due_at, at(24));
    assert_eq!(opened.status(at(24)), PostmortemStatus::Open);
    assert_eq!(opened.status(at(25)), PostmortemStatus::Overdue);
    // Opening again for the same rollout returns the same one.
    let (again, new) =
        open_postmortem(&store, &request(Subject::Rollout("r1".into())), at(1)).await.unwrap();
    assert!(!new);
    assert_eq!(again, opened);

    let closed = close_postmortem(
        &store,
        opened.id,
        "acme-regress 1.1 broke /health",
        &["pin acme-regress".into()],
        "alice",
        at(30),
    )
    .await
    .unwrap();
    assert_eq!(closed.status(at(100)), PostmortemStatus::Closed);
    assert_eq!(closed.closed_by.as_deref(), Some("alice"));
    assert_eq!(closed.actions, ["pin acme-regress"]);
    let error = close_postmortem(&store, opened.id, "again", &[], "bob", at(31)).await.unwrap_err();
    assert!(error.to_string().contains("closed already, by alice"), "{error}");
    assert!(close_postmortem(&store, opened.id + 1, "x", &[], "bob", at(31)).await.is_err());
    assert!(close_postmortem(&store, opened.id, "  ", &[], "bob", at(31)).await.is_err());

    let (_, record) = postmortem(&store, opened.id).await.unwrap().unwrap();
    let actions: Vec<(&str, &str, i64)> =
        record.iter().map(|e| (e.actor.as_str(), e.action.as_str(), e.at_unix)).collect();
    assert_eq!(
        actions,
        [("patchctl", "opened", at(0).timestamp()), ("alice", "closed", at(30).timestamp())]
    );
    assert!(record[1].body_json.contains("acme-regress 1.1 broke /health"));
}
