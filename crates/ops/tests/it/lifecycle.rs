//! Lifecycle notifications over real HTTP to receivers on 127.0.0.1: a Slack-format webhook
//! signed with its secret (the receiver checks the HMAC itself), retried after a 500, a dead
//! letter when the retries run out; the scheduler's notices (a window announced, a failure
//! escalated level by level), each sent once.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use model::notification::webhook::SIGNATURE_HEADER;
use model::notification::{Event, EventKind, Notifications, Webhook, WebhookFormat, WebhookSecret};
use model::policy::Policy;
use model::postmortem::Subject;
use ops::notices::send_due_notices;
use ops::notify::notify;
use ops::postmortem::{NewPostmortemRequest, open_postmortem};
use sha2::Sha256;
use store::Store;

use crate::receivers::HttpReceiver;

const SECRET: &str = "s3cret-for-the-receiver-only";

/// What a receiver does with a signed body: its own HMAC of the bytes it read, compared in
/// constant time with the header's.
fn signature_holds(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header.and_then(|h| h.strip_prefix("sha256=")) else { return false };
    let Ok(expected) = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()).ok_or(()))
        .collect::<Result<Vec<u8>, ()>>()
    else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn event() -> Event {
    Event {
        hosts: vec!["deb1".into()],
        owners: vec![],
        ..Event::new(
            EventKind::WaveHalted,
            "patchctl: rollout r1 HALTED",
            "wave production-1: 2 failed hosts, the error budget is 1",
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        )
    }
}

#[tokio::test]
async fn a_signed_slack_webhook_is_retried_after_a_500_and_its_signature_verifies() {
    let receiver = HttpReceiver::start_answering(&[500, 200]).await;
    let settings = Notifications {
        webhooks: vec![Webhook {
            url: receiver.url.clone(),
            format: WebhookFormat::Slack,
            secret: Some(WebhookSecret::Inline(SECRET.into())),
            events: None,
        }],
        retries: 3,
        retry_backoff_ms: 50,
        ..Notifications::default()
    };
    let store = Store::open_in_memory().await.unwrap();
    let report = notify(&store, &settings, &event()).await;
    assert!(report.problems().is_empty(), "{:?}", report.problems());

    let requests = receiver.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "one 500, then one 200");
    for request in &requests {
        assert!(signature_holds(SECRET, &request.body, request.header(SIGNATURE_HEADER)));
        assert!(!signature_holds(
            "another secret",
            &request.body,
            request.header(SIGNATURE_HEADER)
        ));
        let message: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(message["text"], ":rotating_light: patchctl: rollout r1 HALTED");
        assert_eq!(message["blocks"][0]["text"]["text"], "patchctl: rollout r1 HALTED");
    }
    assert_eq!(requests[0].body, requests[1].body, "the retry sends the same bytes");
    let recorded = store.notifications().await.unwrap();
    assert_eq!(recorded.len(), 1, "one delivery, recorded once");
    assert_eq!(recorded[0].record.error, None);
    assert!(!format!("{:?}", recorded[0].record).contains(SECRET));
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_is_a_dead_letter_and_a_4xx_is_not_retried() {
    let failing = HttpReceiver::start(503).await;
    let refusing = HttpReceiver::start(400).await;
    let settings = Notifications {
        webhooks: vec![Webhook::plain(&failing.url), Webhook::plain(&refusing.url)],
        retries: 2,
        retry_backoff_ms: 20,
        ..Notifications::default()
    };
    let store = Store::open_in_memory().await.unwrap();
    let report = notify(&store, &settings, &event()).await;
    assert_eq!(failing.requests.lock().unwrap().len(), 3, "1 + 2 retries");
    assert_eq!(refusing.requests.lock().unwrap().len(), 1, "a 400 is final");
    let recorded = store.notifications().await.unwrap();
    let dead: Vec<_> = recorded.iter().filter(|n| n.record.error.is_some()).collect();
    assert_eq!(dead.len(), 2, "{recorded:?}");
    let errors: Vec<&str> = dead.iter().filter_map(|n| n.record.error.as_deref()).collect();
    assert!(
        errors.iter().any(|e| e.starts_with(
            "dead letter: gave up after 3 attempts (1 + 2 retries); the last: HTTP 503"
        )),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.starts_with("HTTP 400")), "{errors:?}");
    // The dead letter keeps the whole event, to be sent again by hand.
    let kept: protocol::notification::EventV1 =
        serde_json::from_str(&dead[0].record.event_json).unwrap();
    let kept = Event::try_from(kept).unwrap();
    assert_eq!(kept, event());
    assert_eq!(report.problems().len(), 2);
}

fn policy(text: &str) -> Policy {
    Policy::parse(Path::new("policy.toml"), text).unwrap()
}

fn inventory() -> model::Inventory {
    model::Inventory::parse(
        Path::new("patchctl.toml"),
        "[hosts.deb1]\naddress = \"10.0.0.1\"\nenvironment = \"production\"\nowner = \"team-web\"\n",
    )
    .unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[tokio::test]
async fn an_unresolved_failure_escalates_level_by_level_each_once_until_closed() {
    let level1 = HttpReceiver::start(200).await;
    let level2 = HttpReceiver::start(200).await;
    let owners = HttpReceiver::start(200).await;
    let policy = policy(&format!(
        "[[environments]]\nname = \"production\"\nschedule = \"0 22 * * *\"\ntimezone = \"UTC\"\n\
         window = \"2h\"\napproval = \"auto\"\n\
         [notifications]\nescalate_after = \"30m\"\nannounce_before = \"0m\"\n\
         [notifications.contacts.team-web]\nwebhooks = [\"{}\"]\n\
         [[notifications.escalation]]\nname = \"on-call\"\nwebhooks = [\"{}\"]\n\
         [[notifications.escalation]]\nname = \"manager\"\nwebhooks = [{{ url = \"{}\", format = \"teams\" }}]\n",
        owners.url, level1.url, level2.url
    ));
    let store = Store::open_in_memory().await.unwrap();
    let opened = at("2026-12-07T10:00:00Z");
    let request = NewPostmortemRequest {
        subject: Subject::Rollout("r1".into()),
        title: "rollout r1 halted; failed: deb1".into(),
        hosts: vec!["deb1".into()],
        owner: Some("team-web".into()),
        due_after: TimeDelta::hours(24),
        opened_by: "patchctl".into(),
    };
    let (postmortem, _) = open_postmortem(&store, &request, opened).await.unwrap();
    let inventory = inventory();
    let pass = |minutes: i64| {
        let (store, policy, inventory) = (&store, &policy, &inventory);
        async move {
            send_due_notices(store, policy, inventory, "test", opened + TimeDelta::minutes(minutes))
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.notice.key())
                .collect::<Vec<_>>()
        }
    };
    let count = |r: &HttpReceiver| r.requests.lock().unwrap().len();
    let id = postmortem.id;
    assert_eq!(pass(29).await, Vec::<String>::new(), "not yet");
    assert_eq!(pass(30).await, [format!("escalation:{id}:1")]);
    assert_eq!((count(&level1), count(&level2)), (1, 0));
    assert_eq!(pass(45).await, Vec::<String>::new(), "sent once");
    assert_eq!(pass(61).await, [format!("escalation:{id}:2")]);
    assert_eq!((count(&level1), count(&level2), count(&owners)), (1, 1, 0));
    let card: serde_json::Value =
        serde_json::from_slice(&level2.requests.lock().unwrap()[0].body).unwrap();
    let title = card["attachments"][0]["content"]["body"][0]["text"].as_str().unwrap();
    assert!(title.starts_with("patchctl: ESCALATION (level 2, manager)"), "{title}");
    // The reminder and the overdue notice go to the owners; no third level exists.
    assert_eq!(pass(18 * 60).await, [format!("postmortem_due:{id}")]);
    assert_eq!(pass(25 * 60).await, [format!("postmortem_overdue:{id}")]);
    assert_eq!(count(&owners), 2);
    assert_eq!((count(&level1), count(&level2)), (1, 1));

    // A second failure, closed before its time: never escalated.
    let request = NewPostmortemRequest { subject: Subject::Rollout("r2".into()), ..request };
    let (second, _) = open_postmortem(&store, &request, opened).await.unwrap();
    ops::postmortem::close_postmortem(
        &store,
        second.id,
        "a bad mirror",
        &[],
        "alice",
        opened + TimeDelta::minutes(10),
    )
    .await
    .unwrap();
    assert_eq!(pass(26 * 60).await, Vec::<String>::new());
    assert_eq!((count(&level1), count(&level2)), (1, 1));
}

#[tokio::test]
async fn a_window_with_an_approved_run_is_announced_to_its_owners_once() {
    let owners = HttpReceiver::start(200).await;
    let policy = policy(&format!(
        "[[environments]]\nname = \"production\"\nschedule = \"0 22 * * *\"\ntimezone = \"UTC\"\n\
         window = \"2h\"\ncutoff = \"1h\"\napproval = \"auto\"\n\
         [notifications]\nannounce_before = \"12h\"\n\
         [notifications.contacts.team-web]\nwebhooks = [\"{}\"]\n",
        owners.url
    ));
    let store = Store::open_in_memory().await.unwrap();
    let inventory = inventory();
    let keys = |now: &str| {
        let (store, policy, inventory) = (&store, &policy, &inventory);
        let now = at(now);
        async move {
            send_due_notices(store, policy, inventory, "test", now)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.notice.key())
                .collect::<Vec<_>>()
        }
    };
    let opens = at("2026-12-07T22:00:00Z").timestamp();
    assert_eq!(keys("2026-12-07T09:59:00Z").await, Vec::<String>::new(), "12 h 1 m ahead");
    assert_eq!(
        keys("2026-12-07T10:00:00Z").await,
        [format!("window_announced:production:{opens}")]
    );
    assert_eq!(keys("2026-12-07T15:00:00Z").await, Vec::<String>::new(), "once");
    let requests = owners.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let told = crate::received_event(&requests[0].body);
    assert_eq!(told.kind, EventKind::WindowAnnounced);
    assert_eq!(
        (told.hosts.as_slice(), told.owners.as_slice()),
        (&["deb1".to_owned()][..], &["team-web".to_owned()][..])
    );
    assert!(told.subject.ends_with("opens at 2026-12-07 22:00 UTC"), "{}", told.subject);
    assert!(told.body.contains("no host starts after 2026-12-07 23:00 UTC"), "{}", told.body);
}

/// A saved plan of one production host owned by team-web.
async fn saved_plan(store: &Store) -> model::plan::Plan {
    use model::plan::{HostPlan, Plan, PlanOptions, PlannedReboot, Wave};
    let mut plan = Plan {
        id: String::new(),
        created_at_unix: 1,
        selectors: vec!["all".into()],
        options: PlanOptions::default(),
        hosts: vec![HostPlan {
            host: "deb1".into(),
            environment: "production".into(),
            owner: Some("team-web".into()),
            package_manager: model::PackageManagerKind::Apt,
            assessed_at_unix: 1,
            running_kernel: "6.1.0-1-amd64".into(),
            changes: vec![],
            reboot: PlannedReboot::No,
            services_needing_restart: vec![],
            restarts: Default::default(),
            risks: vec![],
        }],
        waves: vec![Wave {
            name: "production-1".into(),
            environment: "production".into(),
            canary: false,
            hosts: vec!["deb1".into()],
        }],
        excluded: vec![],
        withheld: vec![],
        emergency: None,
    };
    plan.id = plan.content_hash();
    store
        .save_plan(
            &plan.id,
            1,
            &serde_json::to_string(&protocol::plan::PlanV1::from(&plan)).unwrap(),
        )
        .await
        .unwrap();
    plan
}

#[tokio::test]
async fn a_change_request_asks_the_approvers_and_the_answer_goes_to_the_requester() {
    use model::change::ChangeKind;
    use ops::change::{Act, act};
    let (alice, bob, carol, team) = (
        HttpReceiver::start(200).await,
        HttpReceiver::start(200).await,
        HttpReceiver::start(200).await,
        HttpReceiver::start(200).await,
    );
    let policy = policy(&format!(
        "[[environments]]\nname = \"production\"\nschedule = \"0 22 * * *\"\ntimezone = \"UTC\"\n\
         window = \"2h\"\napproval = {{ approvers = 1, role = \"cab\" }}\n\
         [roles]\ncab = [\"alice\", \"bob\", \"carol\"]\n\
         [notifications.contacts.alice]\nwebhooks = [\"{}\"]\n\
         [notifications.contacts.bob]\nwebhooks = [\"{}\"]\n\
         [notifications.contacts.carol]\nwebhooks = [\"{}\"]\n\
         [notifications.contacts.team-web]\nwebhooks = [\"{}\"]\n",
        alice.url, bob.url, carol.url, team.url
    ));
    let store = Store::open_in_memory().await.unwrap();
    let plan = saved_plan(&store).await;
    let now = at("2026-12-07T09:00:00Z");
    let kinds = |r: &HttpReceiver| -> Vec<EventKind> {
        r.requests.lock().unwrap().iter().map(|q| crate::received_event(&q.body).kind).collect()
    };
    let request =
        Act { kind: ChangeKind::Request, actor: "alice".into(), ticket: None, comment: None };
    let change = act(&store, &policy, &plan.id, request, now).await.unwrap();
    assert!(change.notified.unwrap().problems().is_empty());
    // The other members of the role are asked, the owners told; never the requester.
    assert_eq!(kinds(&bob), [EventKind::ChangeRequested]);
    assert_eq!(kinds(&carol), [EventKind::ChangeRequested]);
    assert_eq!(kinds(&team), [EventKind::ChangeRequested]);
    assert_eq!(kinds(&alice), []);
    let approve =
        Act { kind: ChangeKind::Approve, actor: "bob".into(), ticket: None, comment: None };
    act(&store, &policy, &plan.id, approve, now).await.unwrap();
    assert_eq!(kinds(&alice), [EventKind::ChangeApproved], "the requester hears the answer");
    assert_eq!(kinds(&bob), [EventKind::ChangeRequested]);
    let told = crate::received_event(&alice.requests.lock().unwrap()[0].body);
    assert!(told.body.contains("The change is approved"), "{}", told.body);
}
