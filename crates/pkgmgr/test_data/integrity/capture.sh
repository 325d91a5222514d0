#!/bin/sh
# Captures dpkg --verify and rpm -V of the scenario's packages in the situations the integrity
# check must tell apart. Usage: capture.sh FLEET OUT (a fleet from `cargo xtask fleet up
# --debian 1 --rpm 1 --name FLEET`, which this script changes: throw it away afterwards).
set -eu
fleet=$1
out=$2
mkdir -p "$out"
deb=$fleet-deb1
rpm=$fleet-rpm1

# NAME CONTAINER ARGV...: NAME.stdout, NAME.stderr, NAME.rc, NAME.argv.
capture() {
    name=$1 container=$2
    shift 2
    printf '%s\n' "$@" > "$out/$name.argv"
    set +e
    docker exec -e LC_ALL=C "$container" "$@" > "$out/$name.stdout" 2> "$out/$name.stderr" < /dev/null
    echo $? > "$out/$name.rc"
    set -e
}
on() {
    container=$1
    shift
    docker exec -e LC_ALL=C "$container" "$@" < /dev/null > /dev/null
}

dpkg_verify() { capture "$1" "$deb" dpkg --verify --verify-format=rpm -- "$2"; }
rpm_verify() { capture "$1" "$rpm" rpm -V --nodeps --noscripts -- "$2"; }

# --- dpkg ---
dpkg_verify dpkg-not-installed acme-agent:all
on "$deb" apt-get install -y -q -- acme-agent=1.0-1
dpkg_verify dpkg-clean acme-agent:all
capture dpkg-clean-bare-name "$deb" dpkg --verify --verify-format=rpm -- acme-agent
on "$deb" chmod 0600 /usr/bin/acme-agent
on "$deb" touch -d 2001-01-01 /usr/share/acme-agent/VERSION
dpkg_verify dpkg-mode-and-time-changed acme-agent:all
on "$deb" chmod 0755 /usr/bin/acme-agent
on "$deb" sh -c 'echo "interval = 5" >> /etc/acme-agent.conf'
dpkg_verify dpkg-conffile-edited acme-agent:all
# 1.1's own postinst alters /usr/bin/acme-agent; apt keeps the edited conffile (confold).
on "$deb" apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- acme-agent=1.1-1
dpkg_verify dpkg-altered-by-postinst acme-agent:all
on "$deb" rm /usr/share/acme-agent/VERSION
dpkg_verify dpkg-file-missing acme-agent:all
on "$deb" rm /etc/acme-agent.conf
dpkg_verify dpkg-conffile-removed acme-agent:all
dpkg_verify dpkg-other-package-clean acme-web:all

# --- rpm ---
rpm_verify rpm-not-installed acme-agent-1.0-1.noarch
on "$rpm" dnf -y -q install -- acme-agent-1.0-1.noarch
rpm_verify rpm-clean acme-agent-1.0-1.noarch
on "$rpm" touch -d 2001-01-01 /usr/share/acme-agent/VERSION
rpm_verify rpm-time-changed acme-agent-1.0-1.noarch
on "$rpm" chmod 0600 /usr/bin/acme-agent
rpm_verify rpm-mode-changed acme-agent-1.0-1.noarch
on "$rpm" chmod 0755 /usr/bin/acme-agent
on "$rpm" sh -c 'echo "interval = 5" >> /etc/acme-agent.conf'
rpm_verify rpm-conffile-edited acme-agent-1.0-1.noarch
on "$rpm" dnf -y -q install -- acme-agent-1.1-1.noarch
rpm_verify rpm-altered-by-postinst acme-agent-1.1-1.noarch
rpm_verify rpm-other-version-not-installed acme-agent-1.0-1.noarch
on "$rpm" rm /usr/share/acme-agent/VERSION
rpm_verify rpm-file-missing acme-agent-1.1-1.noarch
on "$rpm" rm /etc/acme-agent.conf
rpm_verify rpm-conffile-removed acme-agent-1.1-1.noarch
on "$rpm" chown nobody /usr/bin/acme-agent
rpm_verify rpm-owner-changed acme-agent-1.1-1.noarch
# An installonly package at two versions: only the one named is verified.
on "$rpm" dnf -y -q install -- acme-kernel-1.1-1.noarch
on "$rpm" sh -c 'echo tampered >> /boot/vmlinuz-1.1-acme'
rpm_verify rpm-installonly-old-version acme-kernel-1.0-1.noarch
rpm_verify rpm-installonly-new-version acme-kernel-1.1-1.noarch
