//! The scheduler's notices through the `patchctl` binary, at a virtual time on a rehearsal
//! state, to a real HTTP receiver on 127.0.0.1 in this test: a window announced to the team's
//! Slack channel and an open failure escalated to the on-call level, each once; the Slack body
//! signed (checked here with the secret), retried after a 500; a receiver that keeps failing
//! left as a dead letter in `notifications list --failed`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, KeyInit, Mac};

use crate::support::{PATCHCTL, text};

const SECRET: &str = "a-secret-the-receiver-shares";

/// (path, signature header, body) of every request, in order.
type Seen = Arc<Mutex<Vec<(String, Option<String>, Vec<u8>)>>>;

/// Answers the first request to `/slack` with 500, every one to `/dead` with 503, the rest
/// with 200.
fn receiver() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let (mut length, mut signature) = (0, None);
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "x-patchctl-signature-256" => signature = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = {
                let mut seen = record.lock().unwrap();
                let first_slack = !seen.iter().any(|(p, _, _)| p == "/slack");
                seen.push((path.clone(), signature, body));
                match path.as_str() {
                    "/slack" if first_slack => 500,
                    "/dead" => 503,
                    _ => 200,
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Whatever\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (base, seen)
}

fn patchctl(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(PATCHCTL)
        .arg("--config")
        .arg(dir.join("patchctl.toml"))
        .arg("--state")
        .arg(dir.join("rehearsal.db"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let output = patchctl(dir, args);
    assert!(output.status.success(), "patchctl {args:?}: {}", text(&output.stderr));
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

fn signed(body: &[u8], signature: Option<&str>) -> bool {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    signature == Some(format!("sha256={expected}").as_str())
}

#[test]
fn the_scheduler_announces_a_window_and_escalates_a_failure_once_signed_and_retried() {
    let (base, seen) = receiver();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(
        dir.join("patchctl.toml"),
        "[hosts.web1]\naddress = \"192.0.2.10\"\nenvironment = \"production\"\nowner = \"team-web\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.toml"),
        format!(
            "[[environments]]\nname = \"production\"\nschedule = \"0 22 * * *\"\ntimezone = \"UTC\"\n\
             window = \"2h\"\napproval = \"auto\"\n\
             [notifications]\nannounce_before = \"12h\"\nescalate_after = \"30m\"\nretries = 1\n\
             webhooks = [\"{base}/dead\"]\n\
             [[notifications.webhook]]\nurl = \"{base}/slack\"\nformat = \"slack\"\nsecret = \"{SECRET}\"\n\
             [notifications.contacts.team-web]\nwebhooks = [\"{base}/team\"]\n\
             [[notifications.escalation]]\nname = \"on-call\"\nwebhooks = [\"{base}/oncall\"]\n"
        ),
    )
    .unwrap();
    let rehearsal = dir.join("rehearsal.db");
    ok(dir, &["rehearsal", "create", "--empty", rehearsal.to_str().unwrap()]);
    ok(
        dir,
        &[
            "--now",
            "2026-12-07T10:00:00Z",
            "postmortem",
            "open",
            "disk full on web1",
            "--host",
            "web1",
            "--as",
            "alice",
        ],
    );
    let said = ok(dir, &["--now", "2026-12-07T10:30:00Z", "scheduler", "--once"]);
    assert!(said.contains("notified: window_announced:production:"), "{said}");
    assert!(said.contains("notified: escalation:1:1"), "{said}");
    assert!(said.contains("dead letter: gave up after 2 attempts"), "{said}");

    let requests = seen.lock().unwrap().clone();
    let to = |path: &str| requests.iter().filter(|(p, _, _)| p == path).collect::<Vec<_>>();
    // The channel: both notices, the first attempt answered 500 and sent again; every body signed.
    let slack = to("/slack");
    assert_eq!(slack.len(), 3, "{slack:?}");
    assert!(slack.iter().all(|(_, signature, body)| signed(body, signature.as_deref())));
    let texts: Vec<String> = slack
        .iter()
        .map(|(_, _, body)| {
            serde_json::from_slice::<serde_json::Value>(body).unwrap()["text"].to_string()
        })
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("maintenance window for production opens at 2026-12-07 22:00 UTC")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("ESCALATION (level 1, on-call)")), "{texts:?}");
    // The owners hear of the window, the on-call level of the failure only.
    let kind = |(_, _, body): &&(String, Option<String>, Vec<u8>)| {
        serde_json::from_slice::<serde_json::Value>(body).unwrap()["kind"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(to("/team").iter().map(kind).collect::<Vec<_>>(), ["window_announced"]);
    assert_eq!(to("/oncall").iter().map(kind).collect::<Vec<_>>(), ["escalation"]);
    assert_eq!(to("/dead").len(), 4, "two notices, 1 + 1 retry each");

    // Sent once: a later pass sends nothing again.
    let n = requests.len();
    ok(dir, &["--now", "2026-12-07T10:45:00Z", "scheduler", "--once"]);
    assert_eq!(seen.lock().unwrap().len(), n);
    let failed = ok(dir, &["notifications", "list", "--failed"]);
    assert_eq!(failed.matches("dead letter").count(), 2, "{failed}");
    assert!(!failed.contains("/dead"), "the URL is shown redacted: {failed}");
    assert!(!failed.contains(SECRET));
}
