#!/usr/bin/env bash
# Installs everything minivmm needs from Debian 12's packages, then builds.
#   sudo scripts/setup.sh            (or as root)
# Re-running is cheap: apt skips what is installed, meson reconfigures.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
	# build
	build-essential meson ninja-build pkg-config clang
	libclang-rt-14-dev	# libFuzzer and sanitizer runtimes for clang
	# libraries
	check liburing-dev zlib1g-dev libzstd-dev libfdt-dev
	libext2fs-dev	# boot/: reading the kernel out of an ext2/3/4 disk
	fdisk	# sfdisk: tests assemble partitioned disks
	libmnl-dev libnftables-dev libnftnl-dev
	libxml2-dev	# network and domain XML (as libvirt reads it)
	libjson-c-dev	# the JSON control socket of background VMs (vmm/life/)
	libslirp-dev libglib2.0-dev	# --net user (slirp.pc requires glib-2.0)
	# ACPI tables are compiled from ASL at build time
	acpica-tools
	# test harness: the L1 VM (QEMU TCG) and its initramfs
	qemu-system-x86 qemu-utils busybox-static cpio kmod
	# SMBIOS tables are checked by dmidecode --from-dump
	dmidecode
	# network tests and the peers the benchmarks compare with
	iproute2 nftables dnsmasq-base udhcpc fio hyperfine
	# tests/images/build-cirros-like: GPT, ext3, vfat and GRUB 2 on a file, no root
	gdisk e2fsprogs dosfstools mtools grub-pc-bin
)

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -d build ]; then
	meson setup --reconfigure build
else
	meson setup build
fi
ninja -C build
