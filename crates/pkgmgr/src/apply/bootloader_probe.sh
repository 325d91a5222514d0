# patchctl: what picks the kernel this host boots (pkgmgr::apply::bootloader).
if command -v grubby >/dev/null 2>&1; then
    echo '@@patchctl grubby'
    grubby --default-kernel 2>&1
    echo "@@patchctl exit $?"
    exit 0
fi
for dir in /boot/grub /boot/grub2; do
    [ -f "$dir/grub.cfg" ] || continue
    case $dir in */grub2) tools=grub2 ;; *) tools=grub ;; esac
    if ! command -v "$tools-set-default" >/dev/null 2>&1 || ! command -v "$tools-editenv" >/dev/null 2>&1; then
        echo "@@patchctl grub-without-tools $dir"
        exit 0
    fi
    echo "@@patchctl grub $dir $tools"
    echo '@@patchctl GRUB_DEFAULT'
    (
        GRUB_DEFAULT=0
        { [ -f /etc/default/grub ] && . /etc/default/grub; } >/dev/null 2>&1 </dev/null
        for cfg in /etc/default/grub.d/*.cfg; do
            { [ -f "$cfg" ] && . "$cfg"; } >/dev/null 2>&1 </dev/null
        done
        printf '%s\n' "$GRUB_DEFAULT"
    )
    echo '@@patchctl grubenv'
    "$tools-editenv" "$dir/grubenv" list 2>&1
    echo '@@patchctl grub.cfg'
    cat "$dir/grub.cfg"
    exit 0
done
echo '@@patchctl none'
