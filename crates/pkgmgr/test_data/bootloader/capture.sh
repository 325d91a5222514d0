#!/bin/sh
# Captures the bootloader probe's real outputs (see CAPTURE.md). Usage, from the repository root:
#     sh crates/pkgmgr/test_data/bootloader/capture.sh IMAGE
# IMAGE is a patchctl/fleet-debian image (GRUB's tools installed, no bootloader set up).
set -eu
image=$1
here=crates/pkgmgr/test_data/bootloader
probe=crates/pkgmgr/src/apply/bootloader_probe.sh
stand_in=crates/fleet/src/grub_probe_stand_in.sh

# scenario NAME GRUB_DEFAULT|none: one fresh container; writes NAME-*.{stdout,stderr,rc}.
scenario() {
    docker run --rm --network none -e LC_ALL=C \
        -v "$PWD/$probe:/probe.sh:ro" -v "$PWD/$stand_in:/stand-in:ro" -v "$PWD/$here:/out" \
        "$image" sh -c '
set -u
name=$1 default=$2
run() { # run STEP argv…: the argv, its outputs and exit code
    step=$1; shift
    "$@" >"/out/$name-$step.stdout" 2>"/out/$name-$step.stderr" </dev/null
    echo $? >"/out/$name-$step.rc"
}
if [ "$default" != none ]; then
    dpkg-divert --quiet --local --rename --add /usr/sbin/grub-probe
    install -m 755 /stand-in /usr/sbin/grub-probe
    sed "s/^GRUB_DEFAULT=.*/GRUB_DEFAULT=$default/" /usr/share/grub/default/grub >/etc/default/grub
    for release in 6.1.0-26-amd64 6.1.0-27-amd64 6.1.0-28-amd64; do
        echo "stand-in boot image $release" >/boot/vmlinuz-$release
        echo "stand-in initrd $release" >/boot/initrd.img-$release
    done
    mkdir -p /boot/grub # as grub-install makes it
    run update-grub update-grub
    grub-editenv /boot/grub/grubenv create
fi
run probe sh -c "$(cat /probe.sh)"
if [ "$default" = saved ]; then
    entry=$(sed -n "s/.*submenu .*\$menuentry_id_option .\([^'"'"']*\).*/\1/p" /boot/grub/grub.cfg)
    id=$(sed -n "s/.*\$menuentry_id_option .\(gnulinux-6.1.0-27-amd64-advanced-[^'"'"']*\).*/\1/p" /boot/grub/grub.cfg)
    run set-default grub-set-default "$entry>$id"
    run editenv-list grub-editenv /boot/grub/grubenv list
    run probe-after sh -c "$(cat /probe.sh)"
fi
' capture "$1" "$2"
}

scenario saved saved
scenario default 0
scenario none none
