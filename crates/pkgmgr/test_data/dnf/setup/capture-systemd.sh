#!/bin/bash
# Captures `dnf needs-restarting -s` on a host where systemd is PID 1 and a service runs a program
# that an upgrade replaced. The chroot of capture.sh has no systemd, so this host is a Docker
# container made from the same bare host plus systemd and D-Bus. Run after capture.sh, with the
# same arguments (it reuses SCRATCH_DIR/rootfs-base and the repositories in SCRATCH_DIR/repo):
#
#   capture-systemd.sh SCRATCH_DIR OUT_DIR
#
# The image and the container are removed on exit.
set -euo pipefail

S=$1
OUT=$2
R=$S/rootfs-sd
NAME=patchctl-dnf-capture-$$

mounted=()
cleanup() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" || true; done
    docker rm -f "$NAME" >/dev/null 2>&1 || true
    docker rmi "$NAME:latest" >/dev/null 2>&1 || true
    rm -rf "$R"
}
trap cleanup EXIT

rm -rf "$R"
cp -a "$S/rootfs-base" "$R"
for m in proc dev dev/pts sys; do
    mount --bind "/$m" "$R/$m"
    mounted+=("$R/$m")
done
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C "$@"; }
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    systemd systemd-sysv dbus >/dev/null
mkdir -p "$R/etc/rpm" "$R/etc/yum.repos.d"
echo '%_dbpath /var/lib/rpm' >"$R/etc/rpm/macros.dbpath"
in_root rpm --initdb
echo 1 >"$R/etc/dnf/vars/releasever"
sed -i 's/^enabled *=.*/enabled = false/' "$R/etc/dnf/plugins/local.conf"
cp -a "$S/repo" "$R/repo"
cat >"$R/etc/yum.repos.d/acme.repo" <<'EOF'
[acme]
name=Acme base
baseurl=file:///repo/base
enabled=1
gpgcheck=0
metadata_expire=0

[acme-updates]
name=Acme updates
baseurl=file:///repo/updates
enabled=1
gpgcheck=0
metadata_expire=0
EOF
in_root dnf -q -y install fleet-base-provides acme-daemon-1.0-1 >/dev/null
cat >"$R/etc/systemd/system/acme-daemon.service" <<'EOF'
[Unit]
Description=Acme daemon (a test service)

[Service]
ExecStart=/usr/bin/acme-daemon infinity

[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/acme-daemon.service "$R/etc/systemd/system/multi-user.target.wants/acme-daemon.service"
for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}"; done
mounted=()

tar -C "$R" -c . | docker import - "$NAME:latest" >/dev/null
docker run -d --name "$NAME" --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro "$NAME:latest" /sbin/init >/dev/null
for _ in $(seq 30); do
    state=$(docker exec "$NAME" systemctl is-system-running 2>/dev/null || true)
    case $state in running | degraded) break ;; esac
    sleep 1
done
docker exec "$NAME" systemctl is-active acme-daemon.service
docker exec "$NAME" env LC_ALL=C dnf -q -y upgrade acme-daemon >/dev/null

cap() { # cap NAME ARGV...
    local name=$1
    shift
    set +e
    docker exec "$NAME" env LC_ALL=C "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" </dev/null
    echo $? >"$OUT/$name.rc"
    set -e
    echo "$name: rc $(cat "$OUT/$name.rc")"
}
cap systemd-needs-restarting-s dnf -q '--disablerepo=*' needs-restarting -s
cap systemd-needs-restarting-r dnf -q '--disablerepo=*' needs-restarting -r
# Why -s finds nothing here: the process maps the replaced file, but its start time as the plugin
# computes it (mtime of /proc/1, the container's start, plus the start ticks counted from the
# host's boot) lies after the upgrade.
pid=$(docker exec "$NAME" systemctl show -P MainPID acme-daemon.service)
docker exec "$NAME" grep -m1 acme-daemon "/proc/$pid/maps"
docker exec "$NAME" python3 -c "import os; t = os.stat('/proc/1').st_mtime; s = int(open('/proc/$pid/stat').read().split()[21]) // os.sysconf('SC_CLK_TCK'); print('computed start', int(t + s), 'now', int(__import__('time').time()))"
