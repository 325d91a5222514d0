//! Users, tokens and the identity record, on a real file: read back after reopening, the
//! record append-only.

use crate::backends::test_dbs;
use store::{IdentityEvent, NewToken, NewUser};

fn user(name: &str) -> NewUser {
    NewUser {
        name: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: "approver".into(),
        created_at_unix: 10,
        oidc_subject: None,
    }
}

fn token(id: &str, user: &str) -> NewToken {
    NewToken {
        id: id.into(),
        hash: format!("{id:0>64}"),
        user: user.into(),
        role: "viewer".into(),
        created_at_unix: 20,
        expires_at_unix: Some(100),
    }
}

#[tokio::test]
async fn users_tokens_and_lockouts_are_kept_and_recorded() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        assert!(store.create_user(&user("alice"), "root").await.unwrap());
        assert!(!store.create_user(&user("alice"), "root").await.unwrap(), "a second alice");
        store.create_token(&token("t1", "alice"), "root").await.unwrap();
        assert!(store.create_token(&token("t2", "nobody"), "root").await.is_err(), "no such user");
        store.record_login("alice", 2, None, 30).await.unwrap();
        store.record_login("alice", 0, Some(90), 31).await.unwrap();
        // The same lockout again is not a new one.
        store.record_login("alice", 0, Some(90), 32).await.unwrap();
        assert!(store.revoke_token("t1", "root", 40).await.unwrap());
        assert!(!store.revoke_token("t1", "root", 41).await.unwrap(), "revoked once");
        let oidc = NewUser { oidc_subject: Some("https://idp 42".into()), ..user("carol") };
        assert!(store.create_user(&oidc, "carol").await.unwrap());
        assert!(store.set_role("carol", "operator", "carol", 50).await.unwrap());
        assert!(!store.set_role("carol", "operator", "carol", 51).await.unwrap(), "unchanged");
        store.close().await;

        let store = db.open().await;
        let alice = store.user("alice").await.unwrap().unwrap();
        assert_eq!((alice.failed_logins, alice.locked_until_unix), (0, Some(90)));
        assert_eq!((alice.role.as_str(), alice.oidc_subject), ("approver", None));
        let carol = store.user("carol").await.unwrap().unwrap();
        assert_eq!(
            (carol.role.as_str(), carol.oidc_subject.as_deref()),
            ("operator", Some("https://idp 42"))
        );
        let t1 = store.token_by_hash(&format!("{:0>64}", "t1")).await.unwrap().unwrap();
        assert_eq!((t1.user.as_str(), t1.revoked_at_unix), ("alice", Some(40)));
        assert_eq!(store.token_by_hash("0").await.unwrap(), None);
        let event = |at_unix, actor: &str, kind: &str, subject: &str| IdentityEvent {
            at_unix,
            actor: actor.into(),
            kind: kind.into(),
            subject: subject.into(),
        };
        assert_eq!(
            store.identity_events().await.unwrap(),
            [
                event(10, "root", "user-created", "alice"),
                event(20, "root", "token-created", "t1"),
                event(31, "alice", "locked-out", "alice"),
                event(40, "root", "token-revoked", "t1"),
                event(10, "carol", "user-created", "carol"),
                event(50, "carol", "role-changed", "carol: operator"),
            ]
        );
        store.close().await;

        let changed = db.execute("UPDATE identity_events SET actor = 'mallory'").await;
        assert!(changed.unwrap_err().to_string().contains("append-only"));
        let deleted = db.execute("DELETE FROM identity_events").await;
        assert!(deleted.unwrap_err().to_string().contains("append-only"));
    }
}
