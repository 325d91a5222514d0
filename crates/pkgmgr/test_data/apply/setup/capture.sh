#!/bin/bash
# Captures the outputs under test_data/apply/ on a fresh test fleet of one Debian and one RPM
# host. Run from the workspace root, where `cargo xtask` works:
#
#   cargo xtask fleet up --debian 1 --rpm 1 --name FLEET
#   crates/pkgmgr/test_data/apply/setup/capture.sh FLEET OUT_DIR
#   cargo xtask fleet down --name FLEET
#
# Every command runs through `docker exec` with LC_ALL=C, without a terminal and with stdin
# closed, as patchctl runs commands. For each capture NAME it writes NAME.stdout, NAME.stderr
# and NAME.rc; for the apply and rollback commands also NAME.argv, the argv one word a line,
# which the tests compare with what pkgmgr::apply builds. Commands marked "unit" run as a
# transient systemd unit, as a rollout runs them: NAME.stdout and NAME.stderr are then the
# unit's output files and NAME.rc its ExecMainStatus. The script stops at the first step that
# does not go as expected; the fleet is then in an unknown state: take it down.
set -euo pipefail

FLEET=$1
OUT=$2
D=$FLEET-deb1
R=$FLEET-rpm1
UNITS=/var/lib/patchctl/units
SHOW=--property=ActiveState,SubState,Result,ExecMainStatus,ExecMainCode,LoadState
TIMED=ExecMainStartTimestampMonotonic,ExecMainExitTimestampMonotonic
mkdir -p "$OUT"

fault() { cargo xtask fleet "$1" "$2" --name "$FLEET"; }

# run NAME CONTAINER [-e K=V…] ARGV…: runs ARGV, captures its outputs and exit code.
run() {
    local name=$1 c=$2
    shift 2
    local env=()
    while [[ $1 == -e ]]; do env+=("$1" "$2"); shift 2; done
    set +e
    docker exec -e LC_ALL=C "${env[@]}" "$c" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" </dev/null
    echo $? >"$OUT/$name.rc"
    set -e
}

# argv NAME ARGV…: records the argv of a command captured as NAME.
argv() { local name=$1; shift; printf '%s\n' "$@" >"$OUT/$name.argv"; }

# quiet CONTAINER ARGV…: a setup step, which must succeed; its output is not kept.
quiet() { local c=$1; shift; docker exec -e LC_ALL=C "$c" "$@" >/dev/null 2>&1 </dev/null; }

# unit_wait CONTAINER UNIT: until the unit's main process has ended.
unit_wait() {
    for _ in $(seq 600); do
        case $(docker exec "$1" systemctl show -P SubState "$2.service") in
            exited | failed | dead) return ;;
        esac
        sleep 0.5
    done
    echo "unit $2 did not end" >&2
    exit 1
}

# unit NAME CONTAINER UNIT SYSTEMD-RUN-ARGV…: starts the unit (which must start), waits for it,
# and captures its output files and exit status as NAME. The unit stays loaded.
unit() {
    local name=$1 c=$2 u=$3
    shift 3
    argv "$name" "$@"
    run "$name-start" "$c" "$@"
    if [[ $(cat "$OUT/$name-start.rc") != 0 ]]; then
        echo "unit $u did not start: $(cat "$OUT/$name-start.stderr")" >&2
        exit 1
    fi
    unit_wait "$c" "$u"
    docker exec "$c" cat "$UNITS/$u.stdout" >"$OUT/$name.stdout"
    docker exec "$c" cat "$UNITS/$u.stderr" >"$OUT/$name.stderr"
    docker exec "$c" systemctl show -P ExecMainStatus "$u.service" >"$OUT/$name.rc"
    rm "$OUT/$name-start".*
}

# uo UNIT: the systemd-run options of every unit, into the array UO; then the environment of
# apt's commands.
uo() {
    UO=("--unit=$1.service" "--description=patchctl $1" --remain-after-exit
        "--property=StandardOutput=file:$UNITS/$1.stdout" "--property=StandardError=file:$UNITS/$1.stderr")
}
APT_SETENV=(--setenv=LC_ALL=C --setenv=DEBIAN_FRONTEND=noninteractive --setenv=NEEDRESTART_MODE=l
    --setenv=APT_LISTCHANGES_FRONTEND=none --setenv=UCF_FORCE_CONFFOLD=1)
APT_ENV=(-e DEBIAN_FRONTEND=noninteractive -e NEEDRESTART_MODE=l -e APT_LISTCHANGES_FRONTEND=none
    -e UCF_FORCE_CONFFOLD=1)
# apt_install TIMEOUT [--allow-downgrades]: the words of patchctl's apt-get install up to `--`:
# an apply's (with --no-remove), or a rollback's.
apt_install() {
    local timeout=$1 mode=${2:---no-remove}
    echo apt-get install -y --no-install-recommends "$mode" -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold -o "DPkg::Lock::Timeout=$timeout" --
}
DNF=(dnf -y --setopt=exit_on_lock=True --setopt=strict=True --setopt=install_weak_deps=False
    --setopt=skip_if_unavailable=False)

# apt_direct NAME TIMEOUT WORDS…: patchctl's apt-get install of WORDS, run directly.
apt_direct() {
    local name=$1 timeout=$2
    shift 2
    # shellcheck disable=SC2046
    argv "$name" $(apt_install "$timeout") "$@"
    # shellcheck disable=SC2046
    run "$name" "$D" "${APT_ENV[@]}" $(apt_install "$timeout") "$@"
}

# dnf_direct NAME VERB WORDS…
dnf_direct() {
    local name=$1 verb=$2
    shift 2
    argv "$name" "${DNF[@]}" "$verb" -- "$@"
    run "$name" "$R" "${DNF[@]}" "$verb" -- "$@"
}

############################################################################## Debian host
quiet "$D" mkdir -p -m 0700 -- "$UNITS"
# acme-tools is removed first, so that the apply installs it anew and the rollback removes it.
quiet "$D" dpkg --purge acme-tools

U=patchctl-capture-deb1-apply
uo "$U"
# shellcheck disable=SC2046
unit apt-apply-ok "$D" "$U" systemd-run "${UO[@]}" "${APT_SETENV[@]}" -- \
    $(apt_install 120) acme-web:all=1.1-1 acme-tools:all=1.1-1
# systemd-run's own output, for the apply above, and the unit's status after it.
docker exec "$D" systemctl stop "$U.service"
run systemd-run-started "$D" systemd-run "${UO[@]}" -- /bin/true
unit_wait "$D" "$U"
run unit-show-exited-0 "$D" systemctl show "$U.service" "$SHOW"
run systemd-run-already-loaded "$D" systemd-run "${UO[@]}" -- /bin/true
run systemctl-stop "$D" systemctl stop "$U.service"
run unit-show-not-found "$D" systemctl show "$U.service" "$SHOW"
uo patchctl-capture-deb1-none
run systemd-run-no-program "$D" systemd-run "${UO[@]}" -- /usr/bin/patchctl-no-such-program

U=patchctl-capture-deb1-broken
uo "$U"
# shellcheck disable=SC2046
unit apt-apply-postinst-failed "$D" "$U" systemd-run "${UO[@]}" "${APT_SETENV[@]}" -- \
    $(apt_install 120) acme-broken:all=1.1-1 acme-kernel:all=1.1-1
run unit-show-exited-100 "$D" systemctl show "$U.service" "$SHOW"
run systemctl-reset-failed "$D" systemctl reset-failed "$U.service"

# acme-web is at 1.1-1 now: asking for 1.0-1 without --allow-downgrades.
apt_direct apt-apply-would-downgrade 120 acme-web:all=1.0-1

U=patchctl-capture-deb1-rollback
uo "$U"
# shellcheck disable=SC2046
unit apt-rollback "$D" "$U" systemd-run "${UO[@]}" "${APT_SETENV[@]}" -- \
    $(apt_install 120 --allow-downgrades) acme-web:all=1.0-1 acme-broken:all=1.0-1 \
    acme-kernel:all=1.0-1 acme-tools:all-
quiet "$D" systemctl stop "$U.service"

apt_direct apt-apply-version-not-found 120 acme-web:all=9.9-1
apt_direct apt-apply-package-not-found 120 acme-nope:all=1.0-1

# A removal the apply does not allow: the apply's options with a word that removes a package.
apt_direct apt-apply-would-remove 120 acme-held:all-

quiet "$D" apt-mark hold acme-held
apt_direct apt-apply-held 120 acme-held:all=1.1-1
quiet "$D" apt-mark unhold acme-held

fault hold-lock deb1
apt_direct apt-apply-locked 3 acme-regress:all=1.1-1
fault heal deb1

fault fill-disk deb1
apt_direct apt-apply-disk-full 120 acme-regress:all=1.1-1
fault heal deb1

fault interrupt-dpkg deb1
apt_direct apt-apply-interrupted 120 acme-regress:all=1.1-1
fault heal deb1

fault partition deb1
apt_direct apt-apply-download-failed 120 acme-regress:all=1.1-1
fault heal deb1

# A dependency that cannot be installed: acme-web, which acme-regress needs, removed and held.
quiet "$D" dpkg --purge --force-depends acme-web
quiet "$D" apt-mark hold acme-web
apt_direct apt-apply-unmet-dependencies 120 acme-regress:all=1.1-1
quiet "$D" apt-mark unhold acme-web
quiet "$D" env DEBIAN_FRONTEND=noninteractive apt-get install -y acme-web=1.0-1

# Postchecks: units.
quiet "$D" systemd-run --unit=patchctl-capture-deb1-false.service --remain-after-exit -- /bin/false
unit_wait "$D" patchctl-capture-deb1-false
run systemctl-is-active-all "$D" systemctl is-active -- acme-web.service ssh.service
run systemctl-is-active-mixed "$D" systemctl is-active -- acme-web.service acme-nope.service \
    patchctl-capture-deb1-false.service
quiet "$D" systemctl reset-failed patchctl-capture-deb1-false.service

# A unit running, then killed.
U=patchctl-capture-deb1-sleep
uo "$U"
quiet "$D" systemd-run "${UO[@]}" -- /bin/sleep 600
run unit-show-running "$D" systemctl show "$U.service" "$SHOW"
quiet "$D" systemctl kill --signal=KILL "$U.service"
unit_wait "$D" "$U"
run unit-show-killed "$D" systemctl show "$U.service" "$SHOW"
quiet "$D" systemctl reset-failed "$U.service"

# A unit's run time by the host's clock: its main process's start and exit, as systemd
# recorded them (microseconds of CLOCK_MONOTONIC), while it runs and once it ended.
U=patchctl-capture-deb1-timed
uo "$U"
quiet "$D" systemd-run "${UO[@]}" -- /bin/sleep 1.5
run unit-show-timed-running "$D" systemctl show "$U.service" "$SHOW,$TIMED"
unit_wait "$D" "$U"
run unit-show-timed-exited "$D" systemctl show "$U.service" "$SHOW,$TIMED"
quiet "$D" systemctl stop "$U.service"

# A unit started and watched to its end in one round trip, as a rollout runs its apply: the
# script of pkgmgr's start_and_wait_command, whose tests compare it with this one.
# start_wait NAME UNIT SECONDS ARGV…: runs the script with the unit's systemd-run of ARGV.
start_wait() {
    local name=$1 u=$2 seconds=$3 fine=$(($3 * 50)) looks=$(($3 * 20))
    shift 3
    uo "$u"
    local script="mkdir -p -m 0700 -- $UNITS && \"\$@\" || exit; echo 'patchctl: started'; \
pid=\$(systemctl show -p MainPID --value \"\$0\"); i=0; case \$pid in ''|*[!0-9]*) pid=0 ;; esac; \
if [ \"\$pid\" -gt 0 ]; then timeout --foreground $seconds tail --pid=\"\$pid\" -s 0.005 -f /dev/null 2>/dev/null; \
case \$? in 0) ;; 124) i=$fine ;; \
*) while [ -d /proc/\$pid ] && [ \$i -lt $fine ]; do sleep 0.02; i=\$((i+1)); done ;; esac; fi; \
if [ \$i -ge $fine ]; then i=$looks; else i=0; fi; while :; do \
s=\$(systemctl show \"\$0\" $SHOW,$TIMED) || exit; \
case \$s in *SubState=start*|*SubState=running*|*SubState=reload*|*SubState=stop*|*SubState=final*) ;; \
*) break ;; esac; [ \$i -lt $looks ] || break; sleep 0.05; i=\$((i+1)); done; \
printf '%s\\n' \"\$s\""
    argv "$name" sh -c "$script" "$u.service" systemd-run "${UO[@]}" --setenv=LC_ALL=C -- "$@"
    run "$name" "$D" sh -c "$script" "$u.service" systemd-run "${UO[@]}" --setenv=LC_ALL=C -- "$@"
}
start_wait start-and-wait-ok patchctl-capture-deb1-quick 5 /bin/sleep 0.3
start_wait start-and-wait-running patchctl-capture-deb1-slow 1 /bin/sleep 600
quiet "$D" systemctl stop patchctl-capture-deb1-slow.service
start_wait start-and-wait-already-loaded patchctl-capture-deb1-quick 5 /bin/sleep 0.3
quiet "$D" systemctl stop patchctl-capture-deb1-quick.service
start_wait start-and-wait-no-program patchctl-capture-deb1-none 5 /usr/bin/patchctl-no-such-program

# Journal: the mark, this boot's errors, an error logged after the mark, the errors since.
run journal-mark "$D" journalctl --no-pager -q -n 0 --show-cursor
CURSOR=$(sed -n 's/^-- cursor: //p' "$OUT/journal-mark.stdout")
run journal-errors-boot "$D" journalctl --no-pager -q -p err -o short-iso -n 1000 -b
quiet "$D" logger -p user.err -t acme-capture "patchctl capture: an error logged after the mark"
sleep 1 # journald reads the syslog socket asynchronously.
run journal-errors-after "$D" journalctl --no-pager -q -p err -o short-iso -n 1000 "--cursor=$CURSOR"

# Reboot: a scheduled one cancelled, then one now; the boot identity before and after.
run boot-id-before "$D" cat /proc/sys/kernel/random/boot_id
run init-stat-before "$D" cat /proc/1/stat
run shutdown-scheduled "$D" shutdown -r +5 "patchctl: rebooting after patching"
run shutdown-cancel "$D" shutdown -c
run shutdown-now "$D" shutdown -r now "patchctl: rebooting after patching"
sleep 5
fault heal deb1
run boot-id-after "$D" cat /proc/sys/kernel/random/boot_id
run init-stat-after "$D" cat /proc/1/stat
run journal-errors-after-reboot "$D" journalctl --no-pager -q -p err -o short-iso -n 1000 "--cursor=$CURSOR"
# What systemd 252's --after-cursor does with a filter: it skips the first error after the mark.
run journal-errors-after-cursor-bug "$D" journalctl --no-pager -q -p err -o short-iso -n 1000 "--after-cursor=$CURSOR"
run journal-errors-boot-after-reboot "$D" journalctl --no-pager -q -p err -o short-iso -n 1000 -b

# The download ahead of an apply (captured 2026-12-06, after the rest): with the lock held it
# gives up at once; then it fetches acme-regress 1.1-1 into apt's cache and installs nothing.
DOWNLOAD=(apt-get install -y --no-install-recommends --no-remove --download-only
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
    -o DPkg::Lock::Timeout=0 -- acme-regress:all=1.1-1)
fault hold-lock deb1
argv apt-download-locked "${DOWNLOAD[@]}"
run apt-download-locked "$D" "${APT_ENV[@]}" "${DOWNLOAD[@]}"
fault heal deb1
argv apt-download-ok "${DOWNLOAD[@]}"
run apt-download-ok "$D" "${APT_ENV[@]}" "${DOWNLOAD[@]}"
quiet "$D" test -f /var/cache/apt/archives/acme-regress_1.1-1_all.deb
quiet "$D" sh -c '[ "$(dpkg-query -W -f "\${Version}" acme-regress)" = 1.0-1 ]'

############################################################################## RPM host
quiet "$R" mkdir -p -m 0700 -- "$UNITS"
quiet "$R" rpm -e acme-tools

U=patchctl-capture-rpm1-apply
uo "$U"
unit dnf-apply-ok "$R" "$U" systemd-run "${UO[@]}" --setenv=LC_ALL=C -- \
    "${DNF[@]}" install -- acme-web-1.1-1.noarch acme-tools-1.1-1.noarch
quiet "$R" systemctl stop "$U.service"

U=patchctl-capture-rpm1-broken
uo "$U"
unit dnf-apply-scriptlet-failed "$R" "$U" systemd-run "${UO[@]}" --setenv=LC_ALL=C -- \
    "${DNF[@]}" install -- acme-broken-1.1-1.noarch
quiet "$R" systemctl stop "$U.service"

U=patchctl-capture-rpm1-rollback
uo "$U"
unit dnf-rollback "$R" "$U" systemd-run "${UO[@]}" --setenv=LC_ALL=C -- \
    "${DNF[@]}" install -- acme-web-1.0-1.noarch acme-broken-1.0-1.noarch
quiet "$R" systemctl stop "$U.service"
U=patchctl-capture-rpm1-rollback-remove
uo "$U"
unit dnf-rollback-remove "$R" "$U" systemd-run "${UO[@]}" --setenv=LC_ALL=C -- \
    "${DNF[@]}" --noautoremove remove -- acme-tools-1.1-1.noarch
quiet "$R" systemctl stop "$U.service"

dnf_direct dnf-apply-not-found install acme-web-9.9-1.noarch

quiet "$R" dnf -q versionlock add acme-held
dnf_direct dnf-apply-held install acme-held-1.1-1.noarch
quiet "$R" dnf -q versionlock delete acme-held

fault hold-lock rpm1
dnf_direct dnf-apply-locked install acme-regress-1.1-1.noarch
fault heal rpm1

fault fill-disk rpm1
dnf_direct dnf-apply-disk-full install acme-regress-1.1-1.noarch
fault heal rpm1

fault partition rpm1
dnf_direct dnf-apply-download-failed install acme-regress-1.1-1.noarch
fault heal rpm1

# A dependency that cannot be installed: acme-web removed and excluded in dnf.conf.
quiet "$R" rpm -e --nodeps acme-web
quiet "$R" sh -c 'echo excludepkgs=acme-web >> /etc/dnf/dnf.conf'
dnf_direct dnf-apply-dependencies install acme-regress-1.1-1.noarch
quiet "$R" sed -i '/^excludepkgs=acme-web$/d' /etc/dnf/dnf.conf
quiet "$R" dnf -y install acme-web-1.0-1.noarch

# The download ahead of an apply (captured 2026-12-06, after the rest): with the lock held it
# gives up at once; then it fetches acme-regress 1.1-1 into dnf's cache and installs nothing.
fault hold-lock rpm1
argv dnf-download-locked "${DNF[@]}" --downloadonly install -- acme-regress-1.1-1.noarch
run dnf-download-locked "$R" "${DNF[@]}" --downloadonly install -- acme-regress-1.1-1.noarch
fault heal rpm1
argv dnf-download-ok "${DNF[@]}" --downloadonly install -- acme-regress-1.1-1.noarch
run dnf-download-ok "$R" "${DNF[@]}" --downloadonly install -- acme-regress-1.1-1.noarch
quiet "$R" sh -c 'ls /var/cache/dnf/*/packages/acme-regress-1.1-1.noarch.rpm'
quiet "$R" sh -c '[ "$(rpm -q --qf "%{VERSION}-%{RELEASE}" acme-regress)" = 1.0-1 ]'

echo "captured into $OUT"
