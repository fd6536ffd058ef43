#!/bin/sh
# Builds a disk that boots the test guest with no --kernel (boot/disk_boot.h):
#   mkdiskboot.sh GUEST_BZIMAGE BASE.qcow2 OVERLAY.qcow2
# GPT, partition 1 ext4 labelled guestroot holding /boot/vmlinuz-guest and a
# grub.cfg that finds it by `search --label`; converted to a compressed
# qcow2 base with an overlay on top (backing file named relative to it).
set -eu
kernel=$1 base=$2 overlay=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/boot/grub"
cp "$kernel" "$work/root/boot/vmlinuz-guest"
printf 'guest initrd\n' > "$work/root/boot/initrd.img-guest"
cat > "$work/root/boot/grub/grub.cfg" <<'CFG'
set default=guest
set timeout=0
menuentry 'minivmm test guest' --id guest {
	insmod part_gpt
	insmod ext2
	search --no-floppy --label --set=root guestroot
	linux /boot/vmlinuz-guest exit=46
	initrd /boot/initrd.img-guest
}
CFG
mkfs.ext4 -q -F -L guestroot -d "$work/root" "$work/fs.img" 8M
truncate -s 12M "$work/disk.img"
printf 'label: gpt\nstart=2048, size=16384, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
	sfdisk -q "$work/disk.img"
dd if="$work/fs.img" of="$work/disk.img" bs=512 seek=2048 conv=notrunc status=none
rm -f "$base" "$overlay"
qemu-img convert -c -O qcow2 "$work/disk.img" "$base"
qemu-img create -q -f qcow2 -F qcow2 -b "$(basename "$base")" "$overlay"
