//! The CLI on PostgreSQL (`PATCHCTL_DATABASE_URL`), a real server from Debian's packages:
//! `db migrate` makes the schema, the commands read and write there and name the database
//! without its password, and a command line naming both an SQLite file and a URL is refused.

use std::process::{Command, Output};

use crate::support::{PATCHCTL, text};

fn patchctl(dir: &std::path::Path, url: &str, args: &[&str]) -> Output {
    Command::new(PATCHCTL)
        .arg("--config")
        .arg(dir.join("patchctl.toml"))
        .env("PATCHCTL_DATABASE_URL", url)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_cli_migrates_and_uses_a_postgresql_state() {
    let Some(postgres) = fleet::postgres::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("patchctl.toml"),
        "[hosts.web1]\naddress = \"192.0.2.10\"\nenvironment = \"dev\"\n",
    )
    .unwrap();
    // A password in the URL (trust authentication ignores it) must never be printed.
    let url = postgres.create_database().unwrap().replace("patchctl@", "patchctl:hunter2@");

    let migrated = patchctl(dir.path(), &url, &["db", "migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    let said = text(&migrated.stdout);
    assert!(
        said.contains("postgres://patchctl@127.0.0.1:") && said.contains("is migrated"),
        "{said}"
    );
    assert!(!said.contains("hunter2"), "{said}");

    // Written there: a postmortem opened, then listed by another process.
    let opened = patchctl(dir.path(), &url, &["postmortem", "open", "disk full", "--as", "alice"]);
    assert!(opened.status.success(), "{}", text(&opened.stderr));
    let listed = patchctl(dir.path(), &url, &["postmortem", "list", "--format", "json"]);
    assert!(text(&listed.stdout).contains("disk full"), "{}", text(&listed.stdout));
    assert!(!dir.path().join("patchctl.db").exists(), "no SQLite file beside the inventory");

    let missing = patchctl(dir.path(), &url, &["history", "web1"]);
    let message = text(&missing.stderr);
    assert!(
        message.contains("postgres://patchctl@127.0.0.1:") && !message.contains("hunter2"),
        "{message}"
    );

    let both = patchctl(dir.path(), &url, &["--state", "x.db", "db", "migrate"]);
    assert_eq!(both.status.code(), Some(2), "{}", text(&both.stderr));
}

/// A laptop's state moved to PostgreSQL: the real 18d7299 fixture (rollouts, journals,
/// changes, postmortems) copied by `db copy`, then `audit verify --all` on PostgreSQL.
#[test]
fn db_copy_moves_a_sqlite_state_to_postgresql_with_its_evidence_intact() {
    let Some(postgres) = fleet::postgres::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../ops/test_data/state-18d7299.db");
    let laptop = dir.path().join("laptop.db");
    std::fs::copy(fixture, &laptop).unwrap();
    std::fs::write(dir.path().join("patchctl.toml"), "").unwrap();
    let url = postgres.create_database().unwrap().replace("patchctl@", "patchctl:hunter2@");
    let copy = |url: &str| {
        Command::new(PATCHCTL)
            .current_dir(dir.path())
            .args(["db", "copy", "--from", &format!("sqlite:{}", laptop.display()), "--to", url])
            .output()
            .unwrap()
    };

    let copied = copy(&url);
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    let said = text(&copied.stdout);
    assert!(said.contains("rollout_journal") && said.contains("verified intact"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");

    let audit = patchctl(dir.path(), &url, &["audit", "verify", "--all"]);
    assert!(audit.status.success(), "{}{}", text(&audit.stdout), text(&audit.stderr));
    assert!(!text(&audit.stdout).contains("BROKEN"), "{}", text(&audit.stdout));

    // Copied once: a second copy into the same database is refused, naming a table.
    let again = copy(&url);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    let message = text(&again.stderr);
    assert!(message.contains("holds rows") || message.contains("not empty"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
