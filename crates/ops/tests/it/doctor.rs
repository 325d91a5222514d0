//! `doctor`'s checks on real files in a temporary folder: a key made by the real ssh-keygen, a
//! key others can read, a file that is no key, missing TLS files, a real SQLite database. (The
//! scheduler's check and an installed service are proven by `crates/cli/tests/it/deb_install.rs`.)

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use ops::doctor::{Check, Install, ServerSettings, Verdict};
use ops::{Clock, Context, Sources};

fn context(dir: &Path) -> Context {
    let sources = Sources {
        config: dir.join("patchctl.toml"),
        state: None,
        policy: None,
        no_policy: false,
        database_url: None,
    };
    Context::new(sources, Clock::real(), "tester".into())
}

fn install(dir: &Path, tls: Option<(&str, &str)>) -> Install {
    Install {
        server_config: dir.join("server.toml"),
        parsed: Ok(ServerSettings {
            tls: tls.map(|(cert, key)| (dir.join(cert), dir.join(key))),
            scheduler_inside: false,
            oidc_secret_file: None,
        }),
    }
}

/// The verdict of the check named `what` (the first, when there are several).
fn verdict<'c>(checks: &'c [Check], what: &str) -> &'c Verdict {
    &checks.iter().find(|check| check.what == what).unwrap_or_else(|| panic!("{what}")).verdict
}

fn found(verdict: &Verdict) -> (&str, bool) {
    match verdict {
        Verdict::Ok(found) => (found, true),
        Verdict::Problem { found, .. } => (found, false),
    }
}

#[tokio::test]
async fn each_check_tells_a_usable_file_from_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("running ssh-keygen");
    assert!(made.success());
    std::fs::write(dir.path().join("not-a-key"), "hello\n").unwrap();
    std::fs::set_permissions(dir.path().join("not-a-key"), std::fs::Permissions::from_mode(0o600))
        .unwrap();
    let inventory = format!(
        "[hosts.web1]\naddress = \"10.0.0.1\"\nenvironment = \"dev\"\nssh_key = \"{}\"\n\
         [hosts.web2]\naddress = \"10.0.0.2\"\nenvironment = \"dev\"\nssh_key = \"{}\"\n",
        key.display(),
        dir.path().join("not-a-key").display()
    );
    std::fs::write(dir.path().join("patchctl.toml"), inventory).unwrap();
    std::fs::write(dir.path().join("cert.pem"), "-----BEGIN CERTIFICATE-----\nMII=\n").unwrap();
    let ctx = context(dir.path());

    let checks =
        ops::doctor::check(&ctx, &install(dir.path(), Some(("cert.pem", "key.pem")))).await;
    let keys: Vec<(&str, bool)> =
        checks.iter().filter(|c| c.what == "ssh key").map(|c| found(&c.verdict)).collect();
    assert_eq!(keys.len(), 2, "{checks:?}");
    assert!(keys[0].1 && keys[0].0.contains("(ssh-ed25519 SHA256:"), "{keys:?}");
    assert!(!keys[1].1 && keys[1].0.contains("not-a-key could not be used"), "{keys:?}");
    let (tls, tls_ok) = found(verdict(&checks, "tls"));
    assert!(!tls_ok && tls.contains("cannot read") && tls.contains("key.pem"), "{tls}");
    let (database, database_ok) = found(verdict(&checks, "database"));
    assert!(database_ok && database.contains("does not exist yet"), "{database}");
    assert!(found(verdict(&checks, "inventory")).1 && found(verdict(&checks, "server config")).1);

    // A key others can read is refused as OpenSSH would; an existing database answers.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    ops::health::ready(&ctx).await.unwrap();
    let checks = ops::doctor::check(&ctx, &install(dir.path(), None)).await;
    let (key_found, key_ok) = found(verdict(&checks, "ssh key"));
    assert!(!key_ok && key_found.contains("mode 0644"), "{key_found}");
    assert_eq!(
        found(verdict(&checks, "tls")),
        ("none: plain HTTP, on a loopback address only", true)
    );
    let (database, database_ok) = found(verdict(&checks, "database"));
    assert!(database_ok && database.ends_with("is writable and answers"), "{database}");
    ctx.close().await;
}

#[tokio::test]
async fn a_configuration_that_does_not_parse_is_a_problem_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let install = Install {
        server_config: dir.path().join("server.toml"),
        parsed: Err("server.toml:1:10: \"localhost\" is not an address and port".into()),
    };
    let checks = ops::doctor::check(&context(dir.path()), &install).await;
    let Verdict::Problem { found: message, fix } = verdict(&checks, "server config") else {
        panic!("{checks:?}")
    };
    assert!(message.contains("1:10") && fix.starts_with("correct "), "{message} / {fix}");
    let (inventory, inventory_ok) = found(verdict(&checks, "inventory"));
    assert!(!inventory_ok && inventory.contains("patchctl.toml"), "{inventory}");
    assert!(checks.iter().all(|check| check.what != "tls"), "no TLS check without a config");
}

#[tokio::test]
async fn the_oidc_client_secret_file_must_read_and_hold_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path());
    std::fs::write(dir.path().join("empty"), "\n").unwrap();
    std::fs::write(dir.path().join("secret"), "s3cret\n").unwrap();
    // (the file, whether it is fine, what is said)
    let cases = [
        ("secret", true, "is readable"),
        ("empty", false, "is empty"),
        ("missing", false, "cannot read"),
    ];
    for (file, fine, said) in cases {
        let mut install = install(dir.path(), None);
        if let Ok(settings) = &mut install.parsed {
            settings.oidc_secret_file = Some(dir.path().join(file));
        }
        let checks = ops::doctor::check(&ctx, &install).await;
        let (found, ok) = found(verdict(&checks, "oidc"));
        assert_eq!(ok, fine, "{file}: {found}");
        assert!(found.contains(said), "{file}: {found}");
    }
    let checks = ops::doctor::check(&ctx, &install(dir.path(), None)).await;
    assert!(!checks.iter().any(|check| check.what == "oidc"), "no [oidc], no check");
}
