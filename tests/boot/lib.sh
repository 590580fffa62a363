# SPDX-License-Identifier: Apache-2.0
# Helpers for tests/boot/run: boot a disk image in QEMU, read what booted
# from the serial log, and read or change files on the disk image without
# mounting it (debugfs on the partition's offset).
# shellcheck shell=bash

BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
OVMF=${OVMF:-/usr/share/ovmf/OVMF.fd}

# qemu_boot MODE DISK LOG [CMDLINE]: one boot, until the guest powers off or
# reboots (-no-reboot makes both end QEMU). MODE: bios, uefi, or direct:
# QEMU loads $KERNEL_DIR/vmlinux and $DIRECT_INITRD itself (no GRUB), the
# fast path for what GRUB does not decide; without GRUB's rd.emergency=
# and rd.shell=, so the dracut module's own defaults are what is tested.
# OTHER_DISK=FILE adds a second disk ahead of DISK.
# TCG only (BOOT-TESTS.md: KVM
# here is a nested backend that stalls). Returns timeout's status.
qemu_boot() {
	local mode=$1 disk=$2 log=$3 cmdline=${4:-}
	local -a args=(-accel tcg -m 512 -smp 1 -no-reboot -display none -monitor none -serial "file:$log")
	if [ -n "${OTHER_DISK:-}" ] && [ "$mode" = direct ]; then
		# No firmware boots a disk (-kernel takes bootindex 0): just Linux's order.
		args+=(-drive "file=$OTHER_DISK,if=virtio,format=raw" -drive "file=$disk,if=virtio,format=raw")
	elif [ -n "${OTHER_DISK:-}" ]; then
		# A second disk with the same labels, first in Linux's order
		# (vda) while the firmware boots ours (vdb).
		args+=(-drive "file=$OTHER_DISK,if=none,id=other,format=raw" -device "virtio-blk-pci,drive=other,bootindex=1"
			-drive "file=$disk,if=none,id=ours,format=raw" -device "virtio-blk-pci,drive=ours,bootindex=0")
	else
		args+=(-drive "file=$disk,if=virtio,format=raw")
	fi
	case $mode in
	bios) ;;
	uefi) args+=(-bios "$OVMF") ;;
	direct) args+=(-kernel "$KERNEL_DIR/vmlinux" -initrd "$DIRECT_INITRD"
		-append "root=kairos console=ttyS0,115200 panic=5 $cmdline") ;;
	*) echo "qemu_boot: unknown mode $mode" >&2; return 2 ;;
	esac
	timeout "$BOOT_TIMEOUT" qemu-system-x86_64 "${args[@]}" </dev/null >>"$log.qemu" 2>&1
}

# What one boot's log says, as one word: the slot whose OS reported it
# booted ("active"), or the slot GRUB started followed by "!" when its OS
# never got there (init failed, kernel panic: "active!"), or "none!".
boot_outcome() {
	local log=$1 slot
	slot=$(tr -d '\r' <"$log" | sed -n 's/.*KAIROS-TEST: booted slot=\([a-z]*\).*/\1/p' | tail -n1)
	if [ -n "$slot" ]; then
		echo "$slot"
		return
	fi
	slot=$(tr -d '\r' <"$log" | grep -a -o 'kairos: booting [a-z]*' | tail -n1 | cut -d' ' -f3)
	[ -n "$slot" ] || slot=$(tr -d '\r' <"$log" | sed -n 's/.*KAIROS-TEST: failing slot=\([a-z]*\).*/\1/p' | tail -n1)
	echo "${slot:-none}!"
}

# boot_seq MODE DISK N [CMDLINE]: boot the same disk N times, one QEMU
# each; sets SEQ ("active! active! passive") and counts BOOTS.
boot_seq() {
	local mode=$1 disk=$2 n=$3 cmdline=${4:-} i log
	SEQ=""
	for ((i = 1; i <= n; i++)); do
		BOOTS=$((BOOTS + 1))
		log="$SC_DIR/boot$BOOTS.log"
		: >"$log"
		if ! qemu_boot "$mode" "$disk" "$log" "$cmdline"; then
			# A panicking kernel ends QEMU through -no-reboot (status 0);
			# only a hang reaches the timeout.
			[ $? -eq 124 ] && echo "timeout" >>"$log"
		fi
		SEQ="${SEQ:+$SEQ }$(boot_outcome "$log")"
	done
}

part_offset() { awk -v l="$2" '$1 == l { print $2 }' "$1.parts"; }

# fs_cat DISK LABEL PATH: a file's content from an ext4 partition.
fs_cat() {
	debugfs -R "cat $3" "$1?offset=$(part_offset "$1" "$2")" 2>/dev/null
}

# fs_put DISK LABEL LOCAL PATH: replace PATH with LOCAL's content.
fs_put() {
	local spec="$1?offset=$(part_offset "$1" "$2")"
	printf 'rm %s\nwrite %s %s\n' "$4" "$3" "$4" | debugfs -w -f - "$spec" >/dev/null 2>&1
	[ "$(debugfs -R "cat $4" "$spec" 2>/dev/null | cksum)" = "$(cksum <"$3")" ] || {
		echo "fs_put: could not write $4 on $1 ($2)" >&2
		return 1
	}
}

fs_rm() {
	printf 'rm %s\n' "$3" | debugfs -w -f - "$1?offset=$(part_offset "$1" "$2")" >/dev/null 2>&1
}

# env_get DISK FILE KEY: a key of state.env or counter.env on COS_STATE.
env_get() {
	fs_cat "$1" COS_STATE "/$2" | sed -n "s/^$3=//p"
}

# env_set DISK FILE KEY=VALUE...: change keys the way userspace would
# (the whole file replaced); the test's stand-in for `kairos-upgrade`.
env_set() {
	local disk=$1 file=$2 tmp
	shift 2
	tmp=$(mktemp "$SC_DIR/env.XXXXXX")
	fs_cat "$disk" COS_STATE "/$file" >"$tmp"
	grub-editenv "$tmp" set "$@"
	fs_put "$disk" COS_STATE "$tmp" "/$file"
	rm -f "$tmp"
}

# Assertions: each failure is printed as a TAP diagnostic and remembered.
expect_seq() {
	if [ "$SEQ" != "$1" ]; then
		echo "# expected boots: $1"
		echo "#      got boots: $SEQ"
		FAILED=1
	fi
}

expect_env() { # DISK FILE KEY VALUE
	local got
	got=$(env_get "$1" "$2" "$3")
	if [ "$got" != "$4" ]; then
		echo "# expected $2 $3='$4', got '$got'"
		FAILED=1
	fi
}

expect_log() { # BOOT-NUMBER PATTERN: the nth boot's serial log matches
	if ! tr -d '\r' <"$SC_DIR/boot$1.log" | grep -a -E "$2" >/dev/null; then
		echo "# boot $1: serial log does not match /$2/"
		FAILED=1
	fi
}
