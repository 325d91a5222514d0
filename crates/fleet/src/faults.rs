//! Faults for tests: a host killed, cut off from the network, rebooted, out of disk, with the
//! package manager's lock held, or with dpkg interrupted; and `heal`, which undoes them all.

use anyhow::{Context, bail};

use crate::docker::Engine;
use crate::fleet::{self, Family, Fleet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Kill,
    Partition,
    Reboot,
    FillDisk,
    HoldLock,
    InterruptDpkg,
}

impl std::str::FromStr for Fault {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Fault> {
        Ok(match s {
            "kill" => Fault::Kill,
            "partition" => Fault::Partition,
            "reboot" => Fault::Reboot,
            "fill-disk" => Fault::FillDisk,
            "hold-lock" => Fault::HoldLock,
            "interrupt-dpkg" => Fault::InterruptDpkg,
            other => bail!(
                "unknown fault {other:?}: kill, partition, reboot, fill-disk, hold-lock or interrupt-dpkg"
            ),
        })
    }
}

/// The pid of the process `hold-lock` started, so that `heal` can end it.
const LOCK_HOLDER_PID: &str = "/run/patchctl-hold-lock.pid";

/// Holds dpkg's frontend lock and its database lock with the same kind of lock apt and dpkg
/// take (fcntl F_SETLK, a POSIX record lock), as a stuck apt would. The `flock` command would
/// not do: flock(2) locks do not conflict with fcntl locks on Linux. The struct is amd64's.
const HOLD_DPKG_LOCK: &str = r#"use Fcntl;
open(my $frontend, ">>", "/var/lib/dpkg/lock-frontend") or die "lock-frontend: $!";
open(my $db, ">>", "/var/lib/dpkg/lock") or die "lock: $!";
my $lock = pack("s s x4 q q i x4", F_WRLCK, SEEK_SET, 0, 0, 0);
fcntl($frontend, F_SETLK, $lock) or die "lock-frontend is already locked: $!";
fcntl($db, F_SETLK, $lock) or die "lock is already locked: $!";
open(my $pid, ">", "/run/patchctl-hold-lock.pid") or die; print $pid "$$\n"; close $pid;
sleep;"#;

/// dnf's lock is a pid file that dnf honours while that process lives.
const HOLD_DNF_LOCK: &str = "echo $$ > /run/patchctl-hold-lock.pid; echo $$ > /var/lib/dnf/rpmdb_lock.pid; exec sleep 2147483647";

/// Builds a package whose preinst kills dpkg, and installs it: dpkg dies half-way, with the
/// package half-installed and its journal left in /var/lib/dpkg/updates, as after a power cut.
const INTERRUPT_DPKG: &str = r#"set -e
d=$(mktemp -d)
mkdir "$d/DEBIAN"
printf 'Package: acme-interrupt\nVersion: 1.0-1\nArchitecture: all\nMaintainer: patchctl fleet <fleet@patchctl.test>\nDescription: kills dpkg in its preinst\n' > "$d/DEBIAN/control"
printf '#!/bin/sh\necho "acme-interrupt: preinst kills dpkg" >&2\nkill -9 $PPID\n' > "$d/DEBIAN/preinst"
chmod 755 "$d/DEBIAN/preinst"
dpkg-deb --root-owner-group --build "$d" /tmp/acme-interrupt.deb >/dev/null
rm -rf "$d"
dpkg -i /tmp/acme-interrupt.deb || true
test -n "$(ls /var/lib/dpkg/updates)""#;

/// Undoes every fault that can be undone from inside the host.
const HEAL_INSIDE: &str = r#"if [ -f /run/patchctl-hold-lock.pid ]; then kill "$(cat /run/patchctl-hold-lock.pid)" 2>/dev/null || true; rm -f /run/patchctl-hold-lock.pid /var/lib/dnf/rpmdb_lock.pid; fi
rm -f /var/cache/apt/archives/patchctl-fill /var/cache/dnf/patchctl-fill
if [ -f /tmp/acme-interrupt.deb ]; then
  dpkg --configure -a >/dev/null 2>&1 || true
  dpkg --remove --force-remove-reinstreq acme-interrupt >/dev/null 2>&1 || true
  rm -f /tmp/acme-interrupt.deb
fi
true"#;

/// Fills the package cache file system (a small tmpfs; see `fleet::CACHE_SIZE`).
const FILL_DISK: &str = r#"for dir in /var/cache/apt/archives /var/cache/dnf; do
  if [ -d "$dir" ] && mountpoint -q "$dir"; then dd if=/dev/zero of="$dir/patchctl-fill" bs=1M 2>/dev/null || true; fi
done
true"#;

pub async fn inject(fleet: &Fleet, host: &str, fault: Fault) -> anyhow::Result<()> {
    let engine = Engine::connect().await?;
    let host = fleet.host(host)?;
    let container = &host.container;
    match fault {
        Fault::Kill => engine.kill(container).await,
        Fault::Partition => engine.disconnect(&fleet.network, container).await,
        Fault::Reboot => {
            engine.restart(container).await?;
            fleet::wait_until_ready(&engine, container, &host.address).await.map(drop)
        }
        Fault::FillDisk => engine
            .exec(container, &["sh", "-c", FILL_DISK])
            .await?
            .check("filling the disk")
            .map(drop),
        Fault::HoldLock => {
            let argv: &[&str] = match host.family {
                Family::Debian => &["perl", "-e", HOLD_DPKG_LOCK],
                Family::Rpm => &["sh", "-c", HOLD_DNF_LOCK],
            };
            engine.exec_detached(container, argv).await?;
            // The holder writes its pid once it holds the lock.
            for _ in 0..50 {
                if engine.exec(container, &["test", "-s", LOCK_HOLDER_PID]).await?.exit_code == 0 {
                    return Ok(());
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            bail!("{}: the lock holder did not start", host.name)
        }
        Fault::InterruptDpkg => {
            if host.family != Family::Debian {
                bail!("{}: interrupt-dpkg needs a Debian host", host.name);
            }
            engine
                .exec(container, &["sh", "-c", INTERRUPT_DPKG])
                .await?
                .check("interrupting dpkg")
                .map(drop)
        }
    }
    .with_context(|| format!("{fault:?} on {}", host.name))
}

/// Undoes what the faults did: starts a killed host, reconnects a cut-off one at its address,
/// frees the disk, releases the lock, and repairs and removes the interrupted package.
pub async fn heal(fleet: &Fleet, host: &str) -> anyhow::Result<()> {
    let engine = Engine::connect().await?;
    let host = fleet.host(host)?;
    let container = &host.container;
    let Some((running, networks)) = engine.state(container).await? else {
        bail!("{}: container {container} does not exist", host.name);
    };
    if !networks.contains(&fleet.network) {
        engine
            .connect_to(&fleet.network, container, &host.address, vec![host.name.clone()])
            .await?;
    }
    if !running {
        engine.start(container).await?;
    }
    fleet::wait_until_ready(&engine, container, &host.address).await?;
    engine
        .exec(container, &["sh", "-c", HEAL_INSIDE])
        .await?
        .check(&format!("healing {}", host.name))?;
    Ok(())
}
