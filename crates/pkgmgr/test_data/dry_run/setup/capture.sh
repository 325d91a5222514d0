#!/bin/bash
# Captures the outputs under test_data/dry_run/ on a fresh test fleet of one Debian and one RPM
# host. Run from the workspace root, where `cargo xtask` works:
#
#   cargo xtask fleet up --debian 1 --rpm 1 --name FLEET
#   crates/pkgmgr/test_data/dry_run/setup/capture.sh FLEET OUT_DIR
#   cargo xtask fleet down --name FLEET
#
# Every command runs through `docker exec` with LC_ALL=C, without a terminal and with stdin
# closed, as patchctl runs commands. For each capture NAME it writes NAME.stdout, NAME.stderr,
# NAME.rc and NAME.argv (the argv, one word a line, which the tests compare with what
# pkgmgr::apply::simulate_command builds). The script stops at the first setup step that fails;
# the fleet is then in an unknown state: take it down.
set -euo pipefail

FLEET=$1
OUT=$2
D=$FLEET-deb1
R=$FLEET-rpm1
mkdir -p "$OUT"

fault() { cargo xtask fleet "$1" "$2" --name "$FLEET"; }

# run NAME CONTAINER [-e K=V…] ARGV…: runs ARGV, captures its outputs, exit code and argv.
run() {
    local name=$1 c=$2
    shift 2
    local env=()
    while [[ $1 == -e ]]; do env+=("$1" "$2"); shift 2; done
    printf '%s\n' "$@" >"$OUT/$name.argv"
    set +e
    docker exec -e LC_ALL=C "${env[@]}" "$c" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" </dev/null
    echo $? >"$OUT/$name.rc"
    set -e
}

# quiet CONTAINER ARGV…: a setup step, which must succeed; its output is not kept.
quiet() { local c=$1; shift; docker exec -e LC_ALL=C "$c" "$@" >/dev/null 2>&1 </dev/null; }

APT_ENV=(-e DEBIAN_FRONTEND=noninteractive -e NEEDRESTART_MODE=l -e APT_LISTCHANGES_FRONTEND=none
    -e UCF_FORCE_CONFFOLD=1)
# patchctl's simulation of an apply: the apply's apt-get install with --simulate, no lock wait,
# and no locking at all.
APT_SIM=(apt-get install -y --no-install-recommends --no-remove --simulate
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
    -o DPkg::Lock::Timeout=0 -o Debug::NoLocking=1 --)
# The same for dnf: the apply's options with --assumeno instead of -y, from the cached metadata.
DNF_SIM=(dnf --assumeno --cacheonly --setopt=exit_on_lock=True --setopt=strict=True
    --setopt=install_weak_deps=False --setopt=skip_if_unavailable=False install --)
DNF=(dnf -y -q --setopt=install_weak_deps=False)

apt_sim() { local name=$1; shift; run "$name" "$D" "${APT_ENV[@]}" "${APT_SIM[@]}" "$@"; }
dnf_sim() { local name=$1; shift; run "$name" "$R" "${DNF_SIM[@]}" "$@"; }

# The installed packages, compared before and after each simulation by `same`.
deb_state() { docker exec "$D" dpkg-query -W -f '${Package} ${Version} ${Status}\n'; }
rpm_state() { docker exec "$R" rpm -qa --qf '%{NEVRA}\n' | sort; }
same() {
    if [[ $1 != "$2" ]]; then
        echo "a simulation changed the installed packages: $3" >&2
        exit 1
    fi
}

## Debian host
before=$(deb_state)
apt_sim apt-sim-ok acme-web:all=1.1-1 acme-broken:all=1.1-1
same "$before" "$(deb_state)" apt-sim-ok

quiet "$D" apt-mark hold acme-broken
apt_sim apt-sim-held acme-web:all=1.1-1 acme-broken:all=1.1-1
quiet "$D" apt-mark unhold acme-broken

apt_sim apt-sim-version-not-found acme-web:all=9.9-1
apt_sim apt-sim-package-not-found acme-nope:all=1.0-1

fault hold-lock deb1
apt_sim apt-sim-locked acme-web:all=1.1-1
fault heal deb1

quiet "$D" apt-get purge -y acme-regress acme-web
before=$(deb_state)
apt_sim apt-sim-extra-install acme-regress:all=1.1-1
same "$before" "$(deb_state)" apt-sim-extra-install
quiet "$D" apt-get install -y --no-install-recommends acme-web=1.0-1 acme-regress=1.0-1

quiet "$D" apt-get install -y acme-tools=1.1-1
apt_sim apt-sim-partly-done acme-tools:all=1.1-1 acme-web:all=1.1-1
apt_sim apt-sim-would-downgrade acme-tools:all=1.0-1
quiet "$D" apt-get install -y --allow-downgrades acme-tools=1.0-1

## RPM host
before=$(rpm_state)
dnf_sim dnf-sim-ok acme-web-1.1-1.noarch acme-broken-1.1-1.noarch
same "$before" "$(rpm_state)" dnf-sim-ok

quiet "$R" dnf -q versionlock add acme-broken
dnf_sim dnf-sim-held acme-web-1.1-1.noarch acme-broken-1.1-1.noarch
quiet "$R" dnf -q versionlock delete acme-broken

dnf_sim dnf-sim-not-found acme-web-9.9-1.noarch
dnf_sim dnf-sim-nothing-to-do acme-web-1.0-1.noarch

fault hold-lock rpm1
dnf_sim dnf-sim-locked acme-web-1.1-1.noarch
fault heal rpm1

quiet "$R" rpm -e acme-regress acme-web
before=$(rpm_state)
dnf_sim dnf-sim-extra-install acme-regress-1.1-1.noarch acme-tools-1.1-1.noarch
same "$before" "$(rpm_state)" dnf-sim-extra-install
quiet "$R" "${DNF[@]}" install acme-web-1.0-1.noarch acme-regress-1.0-1.noarch

quiet "$R" "${DNF[@]}" install acme-tools-1.1-1.noarch
dnf_sim dnf-sim-downgrade acme-tools-1.0-1.noarch
quiet "$R" "${DNF[@]}" install acme-tools-1.0-1.noarch

quiet "$R" dnf clean all
dnf_sim dnf-sim-no-cache acme-web-1.1-1.noarch
quiet "$R" dnf -q makecache

echo "captured into $OUT"
