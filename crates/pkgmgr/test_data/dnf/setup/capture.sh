#!/bin/bash
# Captures the outputs under test_data/dnf/ on a realistic RPM host: a Debian bookworm minbase
# chroot with Debian's own dnf, dnf-plugins-core and rpm (setup B of notes/fleet-images.md).
# Run as root on a Debian 12 machine with debootstrap, rpm (rpmbuild), createrepo-c and gpg:
#
#   capture.sh SCRATCH_DIR OUT_DIR
#
# SCRATCH_DIR keeps the bare host (rootfs-base) for the next run; remove it when done. Mounts are
# undone on exit. The Debian mirror is read from this
# machine's apt sources, never written here.
set -euo pipefail

SETUP=$(cd "$(dirname "$0")" && pwd)
S=$1
OUT=$2
R=$S/rootfs
mkdir -p "$S" "$OUT"

mirror() {
    local uri
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [ -z "$uri" ]; then
        uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
    fi
    echo "$uri"
}

mounted=()
daemon=
cleanup() {
    if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" || true; done
}
trap cleanup EXIT

bind() { # bind SRC DST [ro]
    mount --bind "$1" "$2"
    mounted+=("$2")
    if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}

in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C "$@"; }

# cap NAME ARGV...: runs ARGV in the chroot as patchctl would (LC_ALL=C, no terminal), and keeps
# its standard output, standard error and exit code byte for byte.
cap() {
    local name=$1
    shift
    set +e
    in_root "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" </dev/null
    echo $? >"$OUT/$name.rc"
    set -e
    echo "$name: rc $(cat "$OUT/$name.rc")"
}

# --- The host -----------------------------------------------------------------------------------
# The bare host (minbase + dnf) is kept in $S/rootfs-base across runs; every run starts from a
# fresh copy of it.
BASE=$S/rootfs-base
if [ ! -x "$BASE/usr/bin/dnf" ]; then
    rm -rf "$BASE"
    debootstrap --variant=minbase bookworm "$BASE" "$(mirror)"
    cp /etc/resolv.conf "$BASE/etc/resolv.conf"
    for m in proc dev dev/pts sys; do bind "/$m" "$BASE/$m"; done
    chroot "$BASE" apt-get update -q
    chroot "$BASE" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends dnf dnf-plugins-core rpm
    cleanup
    mounted=()
fi
rm -rf "$R" "$S/build" "$S/repo" "$S/gnupg"
cp -a "$BASE" "$R"
for m in proc dev dev/pts sys; do bind "/$m" "$R/$m"; done
mkdir -p "$R/etc/rpm"
echo '%_dbpath /var/lib/rpm' >"$R/etc/rpm/macros.dbpath"
in_root rpm --initdb
echo 1 >"$R/etc/dnf/vars/releasever"
sed -i 's/^enabled *=.*/enabled = false/' "$R/etc/dnf/plugins/local.conf"
mkdir -p "$R/etc/yum.repos.d" "$R/repo"
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

# --- The packages -------------------------------------------------------------------------------
B=$S/build
mkdir -p "$B" "$S/repo/base" "$S/repo/updates"
# rpmbuild would otherwise create Debian's default database, ~/.rpmdb, in root's home.
RPMBUILD=(rpmbuild --quiet --define "_topdir $B" --define "_dbpath $B/rpmdb")
build() { # build REPO TARGET NAME VERSION RELEASE [rpmbuild args...]
    local repo=$1 target=$2 name=$3 version=$4 release=$5
    shift 5
    "${RPMBUILD[@]}" --define "_rpmdir $S/repo/$repo" --target "$target" \
        --define "pkg_name $name" --define "pkg_version $version" --define "pkg_release $release" \
        "$@" -bb "$SETUP/acme.spec"
}
kernel() { # kernel REPO VERSION RELEASE KERNEL_RELEASE
    "${RPMBUILD[@]}" --define "_rpmdir $S/repo/$1" --target x86_64 \
        --define "pkg_version $2" --define "pkg_release $3" --define "kernel_release $4" \
        -bb "$SETUP/kernel-core.spec"
}
LONG=acme-agent-plugin-for-the-very-long-enterprise-monitoring-suite
"${RPMBUILD[@]}" --define "_rpmdir $S/repo/base" -bb "$SETUP/fleet-base-provides.spec"
build base noarch acme-web 1.0 1
build base x86_64 acme-db 3.0 1 --define "pkg_epoch 2"
build base noarch "$LONG" 1.0 1
build base x86_64 acme-lib 1.0 1
build base i686 acme-lib 1.0 1
build base noarch acme-pinned 1.0 1
build base x86_64 acme-tools 1.0 1 --define "pkg_epoch 0"
build base noarch acme-old 1.0 1
build base x86_64 acme-daemon 1.0 1 --define "pkg_binary /bin/sleep"
# The "running" kernel owns /lib/modules/$(uname -r), as a real one would, so that dnf's
# running-kernel check recognises it.
kernel base 6.0.9 1.acme 6.0.9-1.acme.x86_64
kernel base 6.1.0 1.acme "$(uname -r)"
createrepo_c --quiet "$S/repo/base"
createrepo_c --quiet "$S/repo/updates"
bind "$S/repo" "$R/repo" ro

in_root dnf -y -q install fleet-base-provides acme-web acme-db "$LONG" acme-lib.x86_64 acme-lib.i686 \
    acme-pinned acme-tools acme-old acme-daemon kernel-core-6.0.9-1.acme kernel-core-6.1.0-1.acme
# A long-running process that maps a file of an RPM, for needs-restarting to find once that RPM is
# upgraded under it.
chroot "$R" /usr/bin/acme-daemon 3600 &
daemon=$!
# A gpg-pubkey pseudo package, as every RHEL host has.
export GNUPGHOME=$S/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Acme Packages <packages@acme.test>' rsa2048 sign never
gpg --batch --armor --export packages@acme.test >"$R/tmp/acme.asc"
in_root rpm --import /tmp/acme.asc
rm "$R/tmp/acme.asc"

# The argv of each probe, exactly as pkgmgr::dnf::probes() builds them.
DNF_Q=(dnf -q --setopt=skip_if_unavailable=False)
DNF_LOCAL=(dnf -q '--disablerepo=*')
RPM_QA=(rpm --query --all --queryformat '%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n')
RPM_INSTALLONLY=(rpm --query --queryformat '%{NAME}\n' --whatprovides
    'installonlypkg(kernel)' 'installonlypkg(kernel-module)' 'multiversion(kernel)')

# The dnf batch (pkgmgr/src/dnf/batch.rs): batch.py, run by the interpreter that /usr/bin/dnf
# names (/usr/bin/python3 here), with the dnf commands of the table above but versionlock-list,
# in pkgmgr::dnf::dnf_commands() order. `$(cat …)` would drop the file's final newline.
BATCH_PY=$(cat "$SETUP/../../../src/dnf/batch.py" && printf x)
BATCH_PY=${BATCH_PY%x}
Q=(-q --setopt=skip_if_unavailable=False)
LOCAL=(-q '--disablerepo=*')
BATCH=(/usr/bin/python3 -c "$BATCH_PY" /usr/bin/dnf
    "${Q[@]}" check-update ';'
    "${Q[@]}" updateinfo list --updates ';'
    "${Q[@]}" updateinfo list --updates --with-cve ';'
    "${LOCAL[@]}" needs-restarting -r ';'
    "${LOCAL[@]}" needs-restarting -s ';'
    "${LOCAL[@]}" check)
# The batch when the version locks cannot be read from the plugin's files: one command more.
BATCH_VERSIONLOCK=("${BATCH[@]}" ';' "${LOCAL[@]}" versionlock list)

# same_as_alone BATCH_CAPTURE PREFIX NAME...: the output of the batch's Nth command is byte for
# byte the capture PREFIX-NAME (its Nth NAME) of the same command run alone in the same state;
# `-` skips a command that was not run alone. The one difference allowed: the traceback of an
# exception dnf does not catch starts with the frame of dnf's script when run alone.
same_as_alone() {
    python3 - "$OUT" "$@" <<'PYTHON'
import re, sys
SCRIPT_FRAME = re.compile(
    rb'^Traceback \(most recent call last\):\n'
    rb'  File "/usr/bin/dnf", line [0-9]+, in <module>\n'
    rb'    main\.user_main\(sys\.argv\[1:\], exit_code=True\)\n', re.M)
out, batch, prefix, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
data = open("%s/%s.stdout" % (out, batch), "rb").read()
magic, plugins, rest = data.split(b"\n", 2)
assert magic == b"patchctl-dnf-batch 1", magic
for i, name in enumerate(names, 1):
    header, rest = rest.split(b"\n", 1)
    words = header.split(b" ")
    assert words[:2] == [b"command", b"%d" % i], header
    code, n_out, n_err = int(words[3]), int(words[5]), int(words[7])
    got = (rest[:n_out], rest[n_out:n_out + n_err], code)
    rest = rest[n_out + n_err:]
    if name != "-":
        alone = "%s/%s-%s" % (out, prefix, name)
        stderr = SCRIPT_FRAME.sub(b"Traceback (most recent call last):\n",
                                  open(alone + ".stderr", "rb").read())
        want = (open(alone + ".stdout", "rb").read(), stderr, int(open(alone + ".rc").read()))
        assert got == want, "%s: command %d differs from %s" % (batch, i, alone)
assert rest == b"end %d\n" % len(names), rest
print("%s: each command's output is that of the command run alone" % batch)
PYTHON
}
BATCH_NAMES=(check-update updateinfo-list updateinfo-list-cves needs-restarting-r needs-restarting-s check)

capture_all() { # capture_all PREFIX
    cap "$1-rpm-qa" "${RPM_QA[@]}"
    cap "$1-rpm-installonly" "${RPM_INSTALLONLY[@]}"
    cap "$1-check-update" "${DNF_Q[@]}" check-update
    cap "$1-updateinfo-list" "${DNF_Q[@]}" updateinfo list --updates
    cap "$1-updateinfo-list-cves" "${DNF_Q[@]}" updateinfo list --updates --with-cve
    cap "$1-versionlock-list" "${DNF_LOCAL[@]}" versionlock list
    cap "$1-needs-restarting-r" "${DNF_LOCAL[@]}" needs-restarting -r
    cap "$1-needs-restarting-s" "${DNF_LOCAL[@]}" needs-restarting -s
    cap "$1-check" "${DNF_LOCAL[@]}" check
    cap "$1-dnf-batch" "${BATCH[@]}"
    same_as_alone "$1-dnf-batch" "$1" "${BATCH_NAMES[@]}"
}

# --- State 1: everything installed, no updates --------------------------------------------------
capture_all none
# dnf's script (for its interpreter line) and Debian's dnf.conf, as the batch's probes read them.
cp "$R/usr/bin/dnf" "$OUT/usr-bin-dnf"
cp "$R/etc/dnf/dnf.conf" "$OUT/dnf.conf"

# --- State 2: updates with advisories, a version lock, a package that asks for a reboot ---------
build updates noarch acme-web 1.1 1
build updates noarch acme-web 1.2 1
build updates x86_64 acme-db 3.0 2 --define "pkg_epoch 2"
build updates noarch "$LONG" 1.0 2
build updates x86_64 acme-lib 1.2 1
build updates i686 acme-lib 1.2 1
build updates noarch acme-pinned 1.1 1
build updates x86_64 acme-tools 1.1 0.20260115git0123456789abcdef.acme1 --define "pkg_epoch 0"
build updates x86_64 acme-daemon 1.1 1 --define "pkg_binary /bin/sleep"
build updates noarch acme-new 2.0 1 --define "pkg_obsoletes acme-old < 2.0" --define "pkg_provides acme-old = 2.0"
kernel updates 6.1.0 2.acme 6.1.0-2.acme.x86_64
createrepo_c --quiet "$S/repo/updates"
modifyrepo_c --mdtype=updateinfo "$SETUP/updateinfo.xml" "$S/repo/updates/repodata"
in_root dnf -q '--disablerepo=*' versionlock add acme-pinned
mkdir -p "$R/etc/dnf/plugins/needs-restarting.d"
printf 'acme-db\nacme-absent\n' >"$R/etc/dnf/plugins/needs-restarting.d/acme.conf"
capture_all updates
cp "$R/etc/dnf/plugins/versionlock.list" "$OUT/updates-versionlock.list"
cp "$R/etc/dnf/plugins/versionlock.conf" "$OUT/updates-versionlock.conf"
cap updates-dnf-batch-versionlock "${BATCH_VERSIONLOCK[@]}"
same_as_alone updates-dnf-batch-versionlock updates "${BATCH_NAMES[@]}" versionlock-list

# The same check-update without -q (the metadata is downloaded again: metadata_expire=0), with
# the metadata left in the cache (the "Last metadata expiration check" line), and on an 80-column
# terminal, where dnf wraps long fields (script(1) gives dnf a pty, which also turns line ends
# into CR LF and merges standard error into the output).
cap updates-check-update-verbose dnf --setopt=skip_if_unavailable=False check-update
sleep 2 # the line is left out when the metadata is less than a second old
cap updates-check-update-verbose-cached dnf '--setopt=*.metadata_expire=1d' check-update
script -qec "stty cols 80; chroot $R env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C ${DNF_Q[*]} check-update" /dev/null \
    >"$OUT/updates-check-update-tty80.stdout" || true
# COLUMNS does not change anything: dnf asks the terminal (TIOCGWINSZ), and there is none.
in_root env COLUMNS=40 "${DNF_Q[@]}" check-update >"$S/columns40.stdout" || true
cmp "$S/columns40.stdout" "$OUT/updates-check-update.stdout" && echo "COLUMNS=40: same output"

# --- State 3: the new kernel installed but not running, and an interrupted transaction ----------
in_root dnf -q -y upgrade kernel-core
cap kernel-check-update "${DNF_Q[@]}" check-update
cap kernel-rpm-qa "${RPM_QA[@]}"
cap kernel-updateinfo-list "${DNF_Q[@]}" updateinfo list --updates
# An upgrade whose old version was never erased, as a killed transaction leaves it.
in_root rpm -i --nodeps --replacefiles /repo/updates/noarch/acme-web-1.1-1.noarch.rpm 2>/dev/null
cap duplicate-check "${DNF_LOCAL[@]}" check
cap duplicate-rpm-qa "${RPM_QA[@]}"
in_root rpm -e --nodeps acme-web-1.1-1.noarch 2>/dev/null
# A running program whose file was replaced by an upgrade. There is no systemd (nor D-Bus) in the
# chroot, which is what -s then runs into.
in_root dnf -q -y upgrade acme-daemon
cap stale-needs-restarting-s "${DNF_LOCAL[@]}" needs-restarting -s
cap stale-needs-restarting-r "${DNF_LOCAL[@]}" needs-restarting -r
kill "$daemon"
wait "$daemon" || true
daemon=

# dnf's rpmdb lock, taken the way a running transaction takes it: a file holding the pid.
in_root python3 -c 'import dnf.lock, time
with dnf.lock.build_rpmdb_lock("/var/lib/dnf", True):
    time.sleep(8)' &
locker=$!
sleep 3
cp "$R/var/lib/dnf/rpmdb_lock.pid" "$OUT/locked-rpmdb_lock.pid"
cap locked-install dnf -q -y --setopt=exit_on_lock=True install acme-new
wait $locker

# --- Errors -------------------------------------------------------------------------------------
# A repository that cannot be read. With Debian's default skip_if_unavailable=True and -q, dnf
# says nothing and exits 0.
sed -i 's|file:///repo/updates|file:///repo/missing|' "$R/etc/yum.repos.d/acme.repo"
cap broken-repo-check-update "${DNF_Q[@]}" check-update
cap broken-repo-check-update-skip dnf -q check-update
cap broken-repo-updateinfo-list "${DNF_Q[@]}" updateinfo list --updates
cap broken-repo-dnf-batch "${BATCH[@]}"
same_as_alone broken-repo-dnf-batch broken-repo check-update updateinfo-list - - - -
sed -i 's|file:///repo/missing|file:///repo/updates|' "$R/etc/yum.repos.d/acme.repo"
# A repository with no baseurl.
printf '[broken]\nname=Broken\nenabled=1\n' >"$R/etc/yum.repos.d/broken.repo"
cap bad-config-check-update "${DNF_Q[@]}" check-update
rm "$R/etc/yum.repos.d/broken.repo"
# The rpm database is missing.
mv "$R/var/lib/rpm" "$R/var/lib/rpm.away"
cap no-rpmdb-rpm-qa "${RPM_QA[@]}"
cap no-rpmdb-check-update "${DNF_Q[@]}" check-update
rm -rf "$R/var/lib/rpm"
mv "$R/var/lib/rpm.away" "$R/var/lib/rpm"
# The rpm database is unreadable garbage.
cp -a "$R/var/lib/rpm" "$R/var/lib/rpm.good"
for f in "$R"/var/lib/rpm/rpmdb.sqlite*; do head -c 4096 /dev/urandom >"$f"; done
cap bad-rpmdb-rpm-qa "${RPM_QA[@]}"
rm -rf "$R/var/lib/rpm"
mv "$R/var/lib/rpm.good" "$R/var/lib/rpm"
# No dnf-plugins-core: versionlock and needs-restarting are unknown commands.
in_root dpkg -r dnf-plugins-core >/dev/null
cap no-plugins-versionlock-list "${DNF_LOCAL[@]}" versionlock list
cap no-plugins-needs-restarting-r "${DNF_LOCAL[@]}" needs-restarting -r
cap no-plugins-needs-restarting-s "${DNF_LOCAL[@]}" needs-restarting -s
# dpkg -r keeps configuration files: the plugin's configuration and lock file are still there.
cp "$R/etc/dnf/plugins/versionlock.conf" "$OUT/no-plugins-versionlock.conf"
cp "$R/etc/dnf/plugins/versionlock.list" "$OUT/no-plugins-versionlock.list"
cap no-plugins-dnf-batch "${BATCH[@]}"
same_as_alone no-plugins-dnf-batch no-plugins - - - needs-restarting-r needs-restarting-s -
# No package provides any installonly capability.
in_root rpm -e --nodeps --allmatches kernel-core 2>/dev/null
cap no-kernel-rpm-installonly "${RPM_INSTALLONLY[@]}"
# The interpreter without the dnf module: the batch cannot start.
mv "$R/usr/lib/python3/dist-packages/dnf" "$R/usr/lib/python3/dist-packages/dnf.away"
cap no-dnf-module-dnf-batch "${BATCH[@]}"
mv "$R/usr/lib/python3/dist-packages/dnf.away" "$R/usr/lib/python3/dist-packages/dnf"

echo "captured into $OUT"
