//! Assessing this machine (Debian, as CI's is) through the local transport: what the host says
//! decides, whatever package manager the caller expected.

use model::PackageManagerKind;
use ops::{AssessConfig, assess_host};
use pkgmgr::Depth;
use transport::{Limits, Local};

#[tokio::test]
async fn the_host_decides_its_package_manager_whatever_was_expected() {
    let local = Local::new(Limits::default());
    let assess = |expected| {
        let config = AssessConfig { depth: Depth::Installed, expected, ..AssessConfig::default() };
        let local = &local;
        async move { assess_host("here", local, &config).await.expect("assessing this machine") }
    };
    let plain = assess(None).await;
    assert_eq!(plain.package_manager, PackageManagerKind::Apt, "this machine is Debian");
    assert!(!plain.installed.is_empty());
    // Expected right: one round trip; expected wrong: the host's own probes after.
    for expected in [PackageManagerKind::Apt, PackageManagerKind::Dnf] {
        let guessed = assess(Some(expected)).await;
        assert_eq!(guessed.package_manager, plain.package_manager, "expected {expected:?}");
        assert_eq!(guessed.installed, plain.installed, "expected {expected:?}");
    }
}
