//! Tidy tests, as rust-analyzer keeps them: checks of the code base's shape that `cargo test`
//! runs (xtask is a workspace member, so CI runs them with every other test). Each states an
//! invariant of ARCHITECTURE.md as an absence and fails, naming the file and line, when it is
//! broken; each check is itself tested on a made-up case it must catch.
//!
//! - The core (`model`, `pkgmgr`, `rollout`, and `protocol`, the stored and wire forms they
//!   convert to) does no I/O: it depends on no crate that does, and its code (tests aside)
//!   names no file, process, socket or runtime.
//! - The wall clock is read in `crates/ops/src/clock.rs` alone.
//! - No crate but `store` depends on a database driver: SQL lives in the store.
//! - `cli` depends on no crate of the workspace but `ops`, `model` and `server` (the core's
//!   other types reach it re-exported by `ops`); `server` on none but `ops`, `model` and
//!   `protocol`. Neither's code opens the state database: the shells reach the state only
//!   through `ops`'s use cases.

#![cfg(test)]

use std::path::{Path, PathBuf};

/// The crates of the core, and what they may depend on (all pure).
const CORE: &[(&str, &[&str])] = &[
    (
        "model",
        &[
            "chrono",
            "chrono-tz",
            "croner",
            "csv",
            "cvss",
            "protocol",
            "roxmltree",
            "rustc-hash",
            "serde",
            "serde_json",
            "sha2",
            "thiserror",
            "toml",
            "yaml_serde",
        ],
    ),
    ("pkgmgr", &["model", "serde", "serde_json", "thiserror"]),
    ("rollout", &["model", "protocol"]),
    // The stored and wire forms: serde types and the plan id's hash, knowing no domain type;
    // their OpenAPI schemas (utoipa, pure derives) for the server, behind a feature.
    ("protocol", &["serde", "serde_json", "sha2", "utoipa"]),
];

/// Text in a core crate's code that does I/O or waits on a runtime.
const IO: &[&str] = &[
    "std::fs",
    "std::process",
    "std::net::TcpStream",
    "std::net::TcpListener",
    "std::net::UdpSocket",
    "std::env::var",
    "std::io::stdin",
    "tokio::",
    "SystemTime::now",
    "Instant::now",
];

/// Reads of the wall clock.
const CLOCK_READS: &[&str] = &["SystemTime::now", "Utc::now", "Local::now"];

/// The one file that may read the wall clock.
const CLOCK: &str = "crates/ops/src/clock.rs";

/// The workspace crates `cli` may depend on.
const CLI_MAY_USE: &[&str] = &["model", "ops", "server"];

/// The workspace crates `server` may depend on: never `store` (nor, by the check above, a
/// database driver).
const SERVER_MAY_USE: &[&str] = &["model", "ops", "protocol"];

/// The shells, which reach the state only through the use cases of `ops`.
const SHELLS: &[&str] = &["cli", "server"];

/// Text in a shell's code that reaches the state database itself instead of through a use case.
const STATE_ACCESS: &[&str] = &[".store()", "Store::open", "store::"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

/// The names of a manifest's `[dependencies]` (not dev- or build-dependencies).
fn dependencies(manifest: &str) -> Vec<String> {
    let value: toml::Table = manifest.parse().expect("a valid Cargo.toml");
    match value.get("dependencies") {
        Some(toml::Value::Table(table)) => table.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The code of a source file that ships: everything before its first `#[cfg(test)]` (test
/// modules come last, by the house style).
fn shipped(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// Every `(line, pattern)` of `text` naming one of `patterns`, comments left out.
fn findings<'p>(text: &str, patterns: &[&'p str]) -> Vec<(usize, &'p str)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for pattern in patterns {
            if code.contains(pattern) {
                found.push((index + 1, *pattern));
            }
        }
    }
    found
}

/// The `.rs` files under `dir`, tests, benches and examples left out.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !matches!(name, "tests" | "benches" | "examples" | "target") {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") && name != "tests.rs" {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn manifest(krate: &str) -> String {
    let path = root().join("crates").join(krate).join("Cargo.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// Dependencies of `deps` not in `allowed`.
fn not_allowed<'d>(deps: &'d [String], allowed: &[&str]) -> Vec<&'d str> {
    deps.iter().map(String::as_str).filter(|d| !allowed.contains(d)).collect()
}

#[test]
fn the_core_depends_on_nothing_that_does_io() {
    let mut broken = Vec::new();
    for (krate, allowed) in CORE {
        for dep in not_allowed(&dependencies(&manifest(krate)), allowed) {
            broken.push(format!("crates/{krate}/Cargo.toml: depends on {dep}"));
        }
    }
    assert!(broken.is_empty(), "the core must stay pure:\n{}", broken.join("\n"));
}

#[test]
fn the_core_names_no_file_process_socket_or_runtime() {
    let mut broken = Vec::new();
    for (krate, _) in CORE {
        for file in sources(&root().join("crates").join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, pattern) in findings(shipped(&text), IO) {
                broken.push(format!("{}:{line}: {pattern}", relative(&file)));
            }
        }
    }
    assert!(broken.is_empty(), "I/O in the core:\n{}", broken.join("\n"));
}

#[test]
fn the_wall_clock_is_read_in_one_place() {
    let mut broken = Vec::new();
    for krate in
        ["cli", "model", "ops", "pkgmgr", "protocol", "rollout", "server", "store", "transport"]
    {
        for file in sources(&root().join("crates").join(krate).join("src")) {
            if relative(&file) == CLOCK {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, pattern) in findings(shipped(&text), CLOCK_READS) {
                broken.push(format!("{}:{line}: {pattern}", relative(&file)));
            }
        }
    }
    assert!(broken.is_empty(), "read the clock through {CLOCK}:\n{}", broken.join("\n"));
}

/// The database drivers, which only `store` may depend on.
const DATABASE_DRIVERS: &[&str] = &["sqlx", "rusqlite", "postgres", "tokio-postgres", "diesel"];

#[test]
fn only_the_store_talks_to_a_database() {
    let mut broken = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        let krate = entry.file_name().to_string_lossy().into_owned();
        if krate == "store" || !entry.path().join("Cargo.toml").exists() {
            continue;
        }
        for dep in dependencies(&manifest(&krate)) {
            if DATABASE_DRIVERS.contains(&dep.as_str()) {
                broken.push(format!("crates/{krate}/Cargo.toml: depends on {dep}"));
            }
        }
    }
    assert!(broken.is_empty(), "SQL belongs in store:\n{}", broken.join("\n"));
}

/// The workspace crates `krate` depends on.
fn workspace_dependencies(krate: &str) -> Vec<String> {
    let workspace: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let deps = dependencies(&manifest(krate));
    deps.into_iter().filter(|d| workspace.contains(d)).collect()
}

#[test]
fn cli_depends_on_ops_model_and_server_alone() {
    let internal = workspace_dependencies("cli");
    let extra = not_allowed(&internal, CLI_MAY_USE);
    assert!(extra.is_empty(), "cli depends on {extra:?}: go through ops");
}

#[test]
fn server_depends_on_ops_model_and_protocol_alone() {
    let internal = workspace_dependencies("server");
    let extra = not_allowed(&internal, SERVER_MAY_USE);
    assert!(extra.is_empty(), "server depends on {extra:?}: go through ops");
}

#[test]
fn the_shells_reach_the_state_only_through_use_cases() {
    let mut broken = Vec::new();
    for shell in SHELLS {
        for file in sources(&root().join("crates").join(shell).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, pattern) in findings(shipped(&text), STATE_ACCESS) {
                broken.push(format!("{}:{line}: {pattern}", relative(&file)));
            }
        }
    }
    assert!(broken.is_empty(), "call a use case of ops instead:\n{}", broken.join("\n"));
}

/// The checks themselves, on cases they must catch and cases they must let be.
#[test]
fn each_check_catches_what_it_is_for() {
    let manifest = "[package]\nname = \"model\"\n[dependencies]\nserde = \"1\"\ntokio = \"1\"\n\
                    [dev-dependencies]\nproptest = \"1\"\n";
    let deps = dependencies(manifest);
    assert_eq!(not_allowed(&deps, CORE[0].1), ["tokio"], "a runtime in the core is caught");

    let source = "use std::fs;\nfn f() { let _ = std::fs::read(\"x\"); } // std::process here is a comment\n\
                  fn g() -> i64 { chrono::Utc::now().timestamp() }\n\
                  #[cfg(test)]\nmod tests { fn h() { std::process::exit(0) } }\n";
    assert_eq!(findings(shipped(source), IO), [(1, "std::fs"), (2, "std::fs")]);
    assert_eq!(findings(shipped(source), CLOCK_READS), [(3, "Utc::now")]);

    let cli = ["ops".to_owned(), "model".to_owned(), "sqlx".to_owned()];
    assert_eq!(not_allowed(&cli[..2], &["ops", "model"]), Vec::<&str>::new());
    assert_eq!(not_allowed(&cli, &["ops", "model"]), ["sqlx"]);
    assert_eq!(not_allowed(&["store".to_owned()], CLI_MAY_USE), ["store"], "the store is caught");
    let server = ["ops".to_owned(), "store".to_owned(), "transport".to_owned()];
    assert_eq!(not_allowed(&server, SERVER_MAY_USE), ["store", "transport"], "server's arrow");
    let manifest = "[dependencies]\nops.workspace = true\nstore.workspace = true\n\
                    [dev-dependencies]\nstore.workspace = true\n";
    assert_eq!(dependencies(manifest), ["ops", "store"], "a shipped arrow to store is seen");
    let shell_manifest = "[dependencies]\nsqlx = \"0.8\"\n[dev-dependencies]\nrusqlite = \"1\"\n";
    let drivers: Vec<String> = dependencies(shell_manifest)
        .into_iter()
        .filter(|d| DATABASE_DRIVERS.contains(&d.as_str()))
        .collect();
    assert_eq!(drivers, ["sqlx"], "a driver is caught, a test's is let be");

    let shell =
        "let store = ctx.store().await?; // ctx.store() in a comment\nops::plan::show(ctx, id)\n";
    assert_eq!(findings(shipped(shell), STATE_ACCESS), [(1, ".store()")]);
}
