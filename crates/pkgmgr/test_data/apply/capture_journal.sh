#!/usr/bin/env bash
# Captures the journal postcheck's outputs on a fleet host, from this machine (Docker):
#   crates/pkgmgr/test_data/apply/capture_journal.sh CONTAINER
# The host's journal errors as `-o json`: this boot's, then after errors logged by root, by a
# system account (nobody), by a login user (uid 1000) and by that user's own systemd unit,
# then across a reboot. CAPTURE.md says what each shows.
set -euo pipefail
container=$1
here=$(cd "$(dirname "$0")" && pwd)
fields="MESSAGE,SYSLOG_IDENTIFIER,_COMM,_PID,_UID,_TRANSPORT,_SYSTEMD_UNIT"
errors=(journalctl --no-pager -q -p err -o json "--output-fields=$fields" -n 1000)

on_host() { docker exec "$container" "$@"; }

capture() { # NAME COMMAND...
    local name=$1
    shift
    set +e
    on_host "$@" >"$here/$name.stdout" 2>"$here/$name.stderr"
    echo $? >"$here/$name.rc"
    set -e
}

on_host sh -c 'id alice >/dev/null 2>&1 || useradd -m -u 1000 alice'
capture journal-mark journalctl --no-pager -q -n 0 --show-cursor
cursor=$(sed -n 's/^-- cursor: //p' "$here/journal-mark.stdout")
capture journal-errors-boot "${errors[@]}" -b
on_host logger -p user.err -t acme-capture "patchctl capture: an error logged by root"
on_host runuser -u nobody -- logger -p user.err -t acme-nobody "patchctl capture: an error logged by nobody"
on_host runuser -u alice -- logger -p user.err -t acme-alice "patchctl capture: an error logged by a user"
sleep 1
capture journal-errors-after "${errors[@]}" "--cursor=$cursor"
on_host sh -c 'shutdown -r now "patchctl capture" || true'
# Docker starts the container again (restart policy); wait for systemd to be up.
sleep 1
for _ in $(seq 100); do
    if docker exec "$container" true 2>/dev/null; then break; fi
    sleep 0.3
done
on_host systemctl is-system-running --wait >/dev/null 2>&1 || true
capture journal-errors-after-reboot "${errors[@]}" "--cursor=$cursor"
capture journal-errors-after-cursor-bug "${errors[@]}" "--after-cursor=$cursor"
capture journal-errors-boot-after-reboot "${errors[@]}" -b
