#!/bin/sh
# patchctl test fleet: a stand-in for grub-probe, diverted into place (dpkg-divert) on a host that
# a test gives a GRUB configuration. A container's root is an overlay file system that the real
# grub-probe cannot map to a disk, so grub-mkconfig (update-grub) would stop at its first probe.
# This answers its questions as for an ext4 root on the first partition of an MBR disk. Nothing
# boots from it: the host is a container.
target=
while [ $# -gt 0 ]; do
    case $1 in
        --target=*) target=${1#--target=} ;;
        -t|--target) shift; target=$1 ;;
    esac
    shift
done
case $target in
    device) echo /dev/vda1 ;;
    fs) echo ext2 ;;
    fs_uuid) echo 4f3c2b1a-9d8e-4c7b-a6f5-0e1d2c3b4a59 ;;
    partuuid) echo 5a4b3c2d-01 ;;
    partmap) echo msdos ;;
    abstraction) ;;
    hints_string) echo '--hint-bios=hd0,msdos1 --hint-efi=hd0,msdos1 --hint-baremetal=ahci0,msdos1' ;;
    compatibility_hint) echo hd0,msdos1 ;;
    drive) echo '(hd0,msdos1)' ;;
    *) echo "grub-probe stand-in: no answer for --target=$target" >&2; exit 1 ;;
esac
