//! The pure core stays pure: its manifests name no runtime, socket, process or database crate.

const PURE_CRATES: [&str; 3] = ["model", "pkgmgr", "rollout"];
const FORBIDDEN: [&str; 12] = [
    "tokio",
    "async-std",
    "smol",
    "futures",
    "sqlx",
    "reqwest",
    "hyper",
    "axum",
    "russh",
    "bollard",
    "transport",
    "store",
];

#[test]
fn pure_crates_depend_on_no_io() {
    let crates_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for name in PURE_CRATES {
        let manifest = std::fs::read_to_string(crates_dir.join(name).join("Cargo.toml")).unwrap();
        let dependencies = manifest
            .split("\n[")
            .find(|section| section.starts_with("dependencies]"))
            .unwrap_or_default();
        for line in dependencies.lines().skip(1) {
            let dependency = line.split(['=', '.', ' ']).next().unwrap_or_default();
            assert!(
                !FORBIDDEN.contains(&dependency),
                "crates/{name} must do no I/O but depends on `{dependency}`"
            );
        }
    }
}
