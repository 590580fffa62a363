#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# kairos-boot end to end on the host: squashfs images, a state directory
# written with GRUB's own grub-editenv, `kairos-boot mount` in a private
# mount namespace, and assertions on the mounts, the files and boot.json.
# Prints TAP. Needs root; every boot runs in `unshare -m`, so its mounts (and
# with them the auto-clearing loop devices) go when it exits.
set -u
KB=$(realpath "${KAIROS_BOOT:-build/kairos-boot}")
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# check NAME COMMAND...: one TAP line for a shell condition.
check() {
	local name=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name" "failed: $*" "log: $(tail -n 5 "$W/log" 2>/dev/null | tr '\n' '|')"; fi
}

if [ "$(id -u)" -ne 0 ]; then echo "ok 1 - bootlocal # SKIP needs root (loop and overlay mounts)"; exit 0; fi
for tool in mksquashfs grub-editenv jq unshare mkfs.ext4 losetup; do
	command -v $tool >/dev/null || { echo "not ok 1 - bootlocal: $tool is missing (make deps)"; exit 1; }
done

W=$(mktemp -d /tmp/kairos-bootlocal.XXXXXX)
LOOPS=()
cleanup() {
	local l
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
	# Every mount lived in a namespace that is gone; refuse to delete
	# through one that somehow is not.
	if ! grep -q " $W" /proc/self/mountinfo; then rm -rf "$W"; fi
}
trap cleanup EXIT

# ---- images ---------------------------------------------------------------

id_of() { printf '%s' "$1" | sha256sum | cut -c1-64; }
# mkimage VERSION [boot.conf text]: a small OS tree as squashfs in $W/img/.
mkimage() {
	local v=$1 t="$W/tree-$1"
	mkdir -p "$t"/{sbin,etc/ssh,etc/kairos,var/log,var/lib,srv,home,root,opt,usr/bin,proc,sys,dev,run,tmp}
	printf '#!/bin/sh\n' >"$t/sbin/init"; chmod 755 "$t/sbin/init"
	echo "$v" >"$t/etc/version"
	echo "hostkey-$v" >"$t/etc/ssh/ssh_host_key"
	echo "boot log of the image" >"$t/var/log/image.log"
	head -c 200000 /dev/urandom >"$t/usr/bin/payload" # so a truncation cuts real data
	[ -n "${2:-}" ] && printf '%s\n' "$2" >"$t/etc/kairos/boot.conf"
	[ "${3:-}" = opt-symlink ] && rmdir "$t/opt" && mkdir -p "$t/var/opt" && ln -s var/opt "$t/opt"
	mkdir -p "$W/img"
	mksquashfs "$t" "$W/img/$(id_of "$v").squashfs" -quiet -noappend -comp gzip -no-progress >/dev/null
}
A=$(id_of A) B=$(id_of B) R=$(id_of R) C=$(id_of C)
mkimage A; mkimage B; mkimage R; mkimage C "persistent=/home,/srv
overlay=/etc,/var" opt-symlink

# fresh_state: an empty state dir, recovery dir and persistent dir.
fresh_state() {
	rm -rf "$W/state" "$W/recovery" "$W/persist" "$W/run"
	mkdir -p "$W/state/images" "$W/recovery/images" "$W/persist" "$W/run"
	cp "$W/img/$R.squashfs" "$W/recovery/images/"
}
install_image() { cp "$W/img/$1.squashfs" "$W/state/images/"; }
# state KEY=VALUE...: write state.env (the slot map) with grub-editenv.
state() {
	grub-editenv "$W/state/state.env" create
	grub-editenv "$W/state/state.env" set kairos_tries_max=3 kairos_gen=3 kairos_recovery="$R" \
		kairos_recovery_status=good kairos_recovery_gen=1 "$@"
}
env_get() { grub-editenv "$W/state/$1" list | sed -n "s/^$2=//p"; }
counter_sum() { cat "$W/state/counter.env" 2>/dev/null | md5sum; }

# boot [CMDLINE [EXTRA_ARGS...]]: one boot in a private mount namespace.
# Inside, it writes what the tests look at: the mount list, the version,
# and whether the writable paths are writable. $W/rc gets the exit code.
# A command in $INSIDE runs in the namespace after the mount (e.g. writes).
boot() {
	local cmdline=${1:-root=kairos}; shift || true
	echo "$cmdline" >"$W/cmdline"
	rm -rf "$W/out" "$W/root" "$W/boot.json"; mkdir -p "$W/out" "$W/root" "$W/run"
	local persist=(--persistent-dir "$W/persist")
	[ "${NO_PERSIST:-}" = 1 ] && persist=()
	unshare -m -- bash -c '
		W=$1; shift
		"$@" >"$W/log" 2>&1; echo $? >"$W/rc"
		r=$W/root
		findmnt -R -n -r -o TARGET,FSTYPE "$r" | sed "s|^$r||" >"$W/out/mounts"
		findmnt -n -r -o TARGET | grep -c "^$W" >"$W/out/nmounts"
		cat "$r/etc/version" >"$W/out/version" 2>/dev/null
		touch "$r/etc/probe" 2>/dev/null && echo yes >"$W/out/etc_rw"
		touch "$r/var/probe" 2>/dev/null && echo yes >"$W/out/var_rw"
		touch "$r/usr/probe" 2>/dev/null && echo yes >"$W/out/usr_rw"
		touch "$r/home/probe" 2>/dev/null && echo yes >"$W/out/home_rw"
		[ -z "${INSIDE:-}" ] || (cd "$r" && eval "$INSIDE")
	' _ "$W" "$KB" mount --no-reboot --cmdline "$W/cmdline" --state-dir "$W/state" \
		--recovery-dir "$W/recovery" "${persist[@]}" --root "$W/root" --run-dir "$W/run" \
		--record "$W/boot.json" "$@"
}
rc() { cat "$W/rc"; }
rec() { jq -r "$1" "$W/boot.json"; }
mounted() { grep -qx "$1 $2" "$W/out/mounts"; }
out() { cat "$W/out/$1" 2>/dev/null; }

# ---- the active slot, end to end ------------------------------------------

fresh_state; install_image "$A"; install_image "$B"
state kairos_active="$A" kairos_active_status=new kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
INSIDE='mkdir -p home/alice && echo kept >home/alice/file && echo newkey >etc/ssh/extra && echo gone >etc/volatile' boot
check "new active boots" test "$(rc)" = 0
check "record: slot active, image A, trying" test "$(rec '.slot + " " + .image + " " + .reason')" = "active $A trying"
check "record: why" test "$(rec .why)" = "active: not yet confirmed, 2 tries left after this boot"
check "record: counted by the helper, no fallback" test "$(rec '.counted_by + " " + (.fallback_from|tostring) + " " + (.failed|length|tostring)')" = "helper null 0"
check "the try is spent on disk (3 -> 2)" test "$(env_get counter.env kairos_tries)" = 2
check "root is the image, read-only" test "$(out version)" = A -a -z "$(out usr_rw)"
check "squashfs at the root" mounted "" squashfs
check "tmpfs overlays on /etc /var /srv /tmp" eval 'mounted /etc overlay && mounted /var overlay && mounted /srv overlay && mounted /tmp overlay'
check "overlays are writable" test "$(out etc_rw)$(out var_rw)" = yesyes
check "persistent binds on /home /root /opt /var/log /etc/ssh" \
	eval 'for p in /home /root /opt /var/log /etc/ssh; do grep -q "^$p " "$W/out/mounts" || exit 1; done'
check "persistent data seeded from the image" test "$(cat "$W/persist/.state/etc-ssh/ssh_host_key")" = hostkey-A
check "record: persistent mounted, binds seeded" test "$(rec '.persistent.status + " " + ([.persistent.binds[].status]|unique|join(","))')" = "mounted seeded"
check "record: timings" test "$(rec '.timings_ms.start_to_root >= .timings_ms.start_to_state')" = true
echo "# helper time, start to root: $(rec .timings_ms.start_to_root) ms"

INSIDE='cat home/alice/file >"$W/out/alice"; cat etc/ssh/extra >"$W/out/extra"; test -e etc/volatile && echo yes >"$W/out/volatile"' boot
check "second boot: persistent data survived" test "$(out alice)$(out extra)" = keptnewkey
check "second boot: overlay changes are gone" test -z "$(out volatile)"
check "second boot: binds not re-seeded" test "$(rec '[.persistent.binds[].status]|unique|join(",")')" = mounted
check "one try per boot (2 -> 1)" test "$(env_get counter.env kairos_tries)" = 1
boot
check "third boot spends the last try" test "$(env_get counter.env kairos_tries)/$(rec .slot)" = 0/active
boot
check "no tries left: passive, by the rules" test "$(rec .slot)/$(out version)" = passive/B
check "record: why" test "$(rec .why)" = "fallback to passive: active has no tries left"
check "falling back spends nothing more" test "$(env_get counter.env kairos_tries)" = 0

# ---- GRUB already counted ---------------------------------------------------

state kairos_active="$A" kairos_active_status=new kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
grub-editenv "$W/state/counter.env" create
grub-editenv "$W/state/counter.env" set kairos_tries=1 kairos_tries_gen=3 kairos_boot_next=
before=$(counter_sum)
boot "root=kairos kairos.slot=active kairos.image=$A kairos.counted=1"
check "kairos.counted=1: GRUB's slot boots" test "$(rc)/$(rec .slot)" = 0/active
check "kairos.counted=1: nothing counted again" test "$(counter_sum)" = "$before"
check "kairos.counted=1: record" test "$(rec '.counted_by + " " + (.tries_left|tostring)')" = "grub 1"
grub-editenv "$W/state/counter.env" set kairos_tries=0
before=$(counter_sum)
boot "root=kairos kairos.slot=active kairos.image=$A kairos.counted=1"
check "kairos.counted=1 with the last try: still GRUB's active" test "$(rec .slot)/$(counter_sum)" = "active/$before"
rm "$W/state/images/$A.squashfs"
boot "root=kairos kairos.slot=active kairos.counted=1"
check "kairos.counted=1 but no image: validated, falls back" test "$(rc)/$(rec .slot)/$(rec .fallback_from)" = 0/passive/active
install_image "$A"

# ---- a confirmed slot writes nothing -----------------------------------------

state kairos_active="$A" kairos_active_status=good kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
rm -f "$W/state/counter.env"
s_before=$(md5sum <"$W/state/state.env")
for i in 1 2 3 4 5; do boot; [ "$(rec .reason)" = confirmed ] || break; done
check "good active: 5 boots, all confirmed" test "$i/$(rec .reason)" = 5/confirmed
check "good active: 5 boots write nothing" test ! -e "$W/state/counter.env" -a "$(md5sum <"$W/state/state.env")" = "$s_before"

# ---- broken images: mark bad, fall back ----------------------------------------

state kairos_active="$A" kairos_active_status=new kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
rm -f "$W/state/counter.env"
head -c 8192 "$W/img/$A.squashfs" >"$W/state/images/$A.squashfs"
boot
check "truncated active: passive boots" test "$(rc)/$(rec .slot)/$(out version)" = 0/passive/B
check "truncated active: marked bad with a reason" \
	eval '[ "$(env_get state.env kairos_active_status)" = bad ] && env_get state.env kairos_active_reason | grep -q "does not mount"'
check "truncated active: record lists the failure" \
	test "$(rec '.fallback_from + " " + .failed[0].slot + " " + .failed[0].image')" = "active active $A"
check "truncated active: no loop device or mount left from it" test "$(grep -c squashfs "$W/out/mounts")" = 1
boot
check "bad active stays skipped, without a new failure" test "$(rec '.slot + " " + (.failed|length|tostring)')" = "passive 0"

state kairos_active="$A" kairos_active_status=good kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
rm "$W/state/images/$A.squashfs"
boot
check "missing active image: passive boots" test "$(rec .slot)/$(rec .failed[0].error)" = "passive/image file is missing"

# ---- dm-verity: state.env's record of the slot ---------------------------------
# vimage ID: image ID with a dm-verity tree after it (veritysetup, as the
# builder's is byte-identical: tests/flatten); prints ROOT:DATA_BLOCKS:HASH_START_BLOCK.
vimage() {
	local f=$W/state/images/$1.squashfs size blocks root
	cp "$W/img/$1.squashfs" "$f"
	size=$(( ($(stat -c %s "$f") + 4095) / 4096 * 4096 ))
	truncate -s "$size" "$f"
	blocks=$((size / 4096))
	root=$(veritysetup format --hash-offset="$size" "$f" "$f" | sed -n 's/^Root hash:[[:space:]]*//p')
	echo "$root:$blocks:$((blocks + 1))"
}
verity_state() { # ACTIVE_VERITY: A good with that record, B good passive
	state kairos_active="$A" kairos_active_status=good kairos_active_gen=3 kairos_active_verity="$1" \
		kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
}
fresh_state; install_image "$B"
VA=$(vimage "$A")
verity_state garbage
boot
check "verity record damaged in state.env: passive boots, never active unverified" \
	test "$(rc)/$(rec .slot)/$(out version)/$(rec .failed[0].error)" = "0/passive/B/verity record in state.env is damaged"
check "  active marked bad with that reason; passive read without verity (no record)" \
	test "$(env_get state.env kairos_active_status)/$(env_get state.env kairos_active_reason)/$(rec .verity)" = \
	"bad/verity record in state.env is damaged/null"
verity_state "$(cut -d: -f1 <<<"$VA"):$(( $(cut -d: -f2 <<<"$VA") - 1 )):$(cut -d: -f3 <<<"$VA")"
boot
check "verity superblock's data blocks differ from state.env's: passive boots, active bad, why recorded" \
	eval '[ "$(rc)/$(rec .slot)/$(env_get state.env kairos_active_status)" = 0/passive/bad ] &&
	      rec .failed[0].error | grep -q "verity superblock says .* data blocks, state.env"'
cp "$W/img/$A.squashfs" "$W/state/images/$A.squashfs" # no tree after it
verity_state "$VA"
boot
check "a record for an image without a tree: passive boots, active bad, why recorded" \
	eval '[ "$(rc)/$(rec .slot)/$(env_get state.env kairos_active_status)" = 0/passive/bad ] &&
	      rec .failed[0].error | grep -q "verity superblock at block .*: shorter than a verity superblock"'
VA=$(vimage "$A")
verity_state "$VA"
boot
if dmsetup targets 2>/dev/null | grep -q '^verity'; then
	check "a valid record: the root is read through dm-verity, the table in the record" \
		eval '[ "$(rc)/$(rec .slot)/$(out version)" = 0/active/A ] &&
		      rec .verity | grep -Eq "^0 [0-9]+ verity 1 7:[0-9]+ 7:[0-9]+ 4096 4096 $(cut -d: -f2 <<<"$VA") $(cut -d: -f3 <<<"$VA") sha256 ${VA%%:*} [0-9a-f]{64}\$"'
	check "  and the device is gone with the mount" test ! -e /dev/mapper/kairos-active
	verity_state "$(printf '%064d' 0):$(cut -d: -f2- <<<"$VA")"
	boot
	check "a root hash that does not match: passive boots, active bad" \
		test "$(rc)/$(rec .slot)/$(env_get state.env kairos_active_status)" = 0/passive/bad
else
	# This kernel has no device-mapper (or no dm-verity): never an unverified
	# mount instead, and no image is blamed for it.
	check "a valid record on a kernel without dm-verity: the boot fails, nothing mounted, no slot blamed" \
		eval '[ "$(rc)" != 0 ] && [ "$(rec .slot)" = null ] && [ "$(env_get state.env kairos_active_status)" = good ] &&
		      rec .error | grep -q "no device-mapper for dm-verity" && [ "$(out nmounts)" = 0 ]'
fi
rm -f "$W/state/images/$A.squashfs"

# An image that mounts but has no init: the image's fault (it was found
# only by booting it in QEMU, where a confirmed active rebooted forever).
N=$(id_of noinit)
cp -a "$W/tree-A" "$W/tree-noinit" && rm "$W/tree-noinit/sbin/init"
mksquashfs "$W/tree-noinit" "$W/state/images/$N.squashfs" -quiet -noappend -comp gzip -no-progress >/dev/null
state kairos_active="$N" kairos_active_status=good kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
boot
check "active image without init: passive boots, active marked bad" \
	test "$(rc)/$(rec .slot)/$(rec .failed[0].error)/$(env_get state.env kairos_active_status)" = "0/passive/image has no /sbin/init/bad"
rm "$W/state/images/$N.squashfs"

# An image that mounts and has init, but whose /etc cannot be read (EIO from
# a damaged inode block) while the root is assembled: the image's fault too.
# Before, the boot failed without marking it, and a confirmed active
# rebooted for ever (issue 18 #3).
E=$(id_of eio)
cp -a "$W/tree-A" "$W/tree-eio" && mkdir "$W/tree-eio/m" && (cd "$W/tree-eio/m" && touch $(seq -f f%g 1 1500))
mksquashfs "$W/tree-eio" "$W/state/images/$E.squashfs" -quiet -noappend -comp gzip -no-progress >/dev/null
# The inode table's first metadata block holds /etc's inode; the 1500 files
# of /m push /sbin/init's and the root's into later ones.
python3 - "$W/state/images/$E.squashfs" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    start = struct.unpack_from("<Q", f.read(96), 64)[0]
    f.seek(start)
    length = struct.unpack("<H", f.read(2))[0] & 0x7FFF
    f.seek(start + 2 + length // 2)
    f.write(b"\xff" * 16)
PY
state kairos_active="$E" kairos_active_status=good kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
boot
check "active image failing with EIO while its root is assembled: passive boots, active marked bad" \
	test "$(rc)/$(rec .slot)/$(env_get state.env kairos_active_status)" = "0/passive/bad"
check "  the reason is recorded" eval '[[ "$(rec .failed[0].error)" == "image failed while the root was assembled"* ]]'
rm "$W/state/images/$E.squashfs"

# An image path that leads off the state partition: a symlink in place of the
# image (here to a good image elsewhere), or images/ itself on another filesystem.
state kairos_active="$A" kairos_active_status=good kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
ln -s "$W/img/$A.squashfs" "$W/state/images/$A.squashfs"
boot
check "active image is a symlink: refused, passive boots" test "$(rec .slot)/$(rec .failed[0].error)" = "passive/image file is a symlink"
check "active image is a symlink: marked bad with the reason" \
	test "$(env_get state.env kairos_active_status)/$(env_get state.env kairos_active_reason)" = "bad/image file is a symlink"
rm "$W/state/images/$A.squashfs"
mkdir -p "$W/elsewhere" && mount -t tmpfs tmpfs "$W/elsewhere" && mkdir "$W/elsewhere/images"
cp "$W/img/$A.squashfs" "$W/state/images/$B.squashfs" "$W/elsewhere/images/"
mv "$W/state/images" "$W/images.real" && ln -s "$W/elsewhere/images" "$W/state/images"
state kairos_active="$A" kairos_active_status=good kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
boot
check "images/ on another filesystem: refused, recovery boots" \
	test "$(rec .slot)/$(rec '[.failed[].error]|unique|join(",")')" = "recovery/image file is not on its partition"
umount "$W/elsewhere"; rm "$W/state/images"; mv "$W/images.real" "$W/state/images"

state kairos_active="$A" kairos_active_status=new kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
head -c 8192 "$W/img/$A.squashfs" >"$W/state/images/$A.squashfs"
rm "$W/state/images/$B.squashfs"
boot
check "both broken: recovery boots" test "$(rc)/$(rec .slot)/$(out version)" = 0/recovery/R
check "both broken: both marked bad" test "$(env_get state.env kairos_active_status)/$(env_get state.env kairos_passive_status)" = bad/bad
check "both broken: two failures recorded" test "$(rec '[.failed[].slot]|join(",")')" = active,passive
check "recovery: tmpfs only, no persistent binds" \
	eval '! grep -q ext4 "$W/out/mounts" && mounted /home overlay && [ "$(rec .persistent.status)" = not-used ]'

mv "$W/recovery/images/$R.squashfs" "$W/R.away"
boot
check "nothing bootable: exit code, no reboot in tests" test "$(rc)" = 1
check "nothing bootable: every mount undone" test "$(out nmounts)" = 0 -a -z "$(out mounts)"
check "nothing bootable: record says why" test "$(rec '.slot == null and (.error|test("No slot can boot"))')" = true
mv "$W/R.away" "$W/recovery/images/$R.squashfs"

# ---- one-shot, damaged state, missing persistent, boot.conf -----------------------

install_image "$A"; install_image "$B"
state kairos_active="$A" kairos_active_status=new kairos_active_gen=3 \
	kairos_passive="$B" kairos_passive_status=good kairos_passive_gen=2
grub-editenv "$W/state/counter.env" create
grub-editenv "$W/state/counter.env" set kairos_tries=2 kairos_tries_gen=3 kairos_boot_next=passive
boot
check "one-shot passive boots once, spends nothing" \
	test "$(rec .slot)/$(rec .reason)/$(env_get counter.env kairos_tries)/$(env_get counter.env kairos_boot_next)" = passive/one-shot/2/
boot
check "after the one-shot: active again" test "$(rec .slot)/$(env_get counter.env kairos_tries)" = active/1

head -c 1024 /dev/zero >"$W/state/state.env"
boot
check "damaged state.env: recovery boots from the recovery partition's image" test "$(rc)/$(rec .slot)/$(rec .image)" = "0/recovery/$R"
# Two images there: GRUB took one (the last in directory order) and says
# which in kairos.image=; the root comes from that one, never the other
# (issue 18 #8), even when the other is newer.
cp "$W/img/$C.squashfs" "$W/recovery/images/" && touch -d '+1 hour' "$W/recovery/images/$C.squashfs"
boot "root=kairos kairos.slot=recovery kairos.image=$R kairos.counted=1 kairos.via=fallback"
check "damaged state.env, two recovery images: the root of the one GRUB loaded" \
	test "$(rc)/$(rec .slot)/$(rec .image)/$(rec .kernel_image)" = "0/recovery/$R/$R"
boot
check "  without GRUB: the newest" test "$(rc)/$(rec .slot)/$(rec .image)" = "0/recovery/$C"
rm "$W/recovery/images/$C.squashfs"

state kairos_active="$A" kairos_active_status=good kairos_active_gen=3
NO_PERSIST=1 boot
check "no persistent partition: boots anyway" test "$(rc)/$(rec .slot)" = 0/active
check "no persistent partition: said in the record, paths on tmpfs" \
	eval '[ "$(rec .persistent.status)" = missing ] && [ "$(out home_rw)" = yes ] && mounted /home overlay'
check "no persistent partition: said loudly" grep -q "error: .*persistent" "$W/log"

# A full persistent partition: seeding fails. A confirmed active is never
# replaced by another slot, so failing the boot would reboot it forever.
mount -t tmpfs -o size=64k tmpfs "$W/persist" # over the persistent dir, until umount
dd if=/dev/zero of="$W/persist/filler" bs=4k 2>/dev/null
boot
check "full persistent partition: boots anyway" test "$(rc)/$(rec .slot)" = 0/active
check "full persistent partition: the record says failed and why, paths on tmpfs" \
	eval '[ "$(rec .persistent.status)" = failed ] && rec .persistent.error | grep -q "No space left" && [ "$(out home_rw)" = yes ] && mounted /home overlay'
check "full persistent partition: said loudly" grep -q "error: Cannot use the persistent partition .*No space left" "$W/log"
check "full persistent partition: no partial copy left" eval '! compgen -G "$W/persist/.state/*.seeding" >/dev/null'
rm "$W/persist/filler"
boot
check "space again: persistent data seeded" test "$(rec .persistent.status)/$(cat "$W/persist/.state/etc-ssh/ssh_host_key")" = mounted/hostkey-A
umount "$W/persist"

install_image "$C"
state kairos_active="$C" kairos_active_status=good kairos_active_gen=3
boot
check "boot.conf in the image sets the lists" \
	test "$(rec '([.persistent.binds[].path]|join(",")) + " " + ([.overlays[].path]|join(","))')" = "/home,/srv /etc,/var"
rm -rf "$W/persist/.state/opt"
boot "root=kairos kairos.persistent=/opt,/root kairos.overlay=/etc"
check "the command line beats boot.conf" \
	test "$(rec '([.persistent.binds[].path]|join(",")) + " " + ([.overlays[].path]|join(","))')" = "/opt,/root /etc"
check "a symlink in the image is not mounted through, and boot goes on" \
	test "$(rc)/$(rec '[.persistent.binds[].status]|join(",")')/$(ls "$W/persist/.state" | grep -c '^opt$')" = 0/skipped,mounted/0

# ---- a damaged persistent partition: boot on tmpfs, blame no image -------------

state kairos_active="$A" kairos_active_status=new kairos_active_gen=3
rm -f "$W/state/counter.env"
mkdir -p "$W/persist/.state"; rm -rf "$W/persist/.state/opt"; echo file >"$W/persist/.state/opt"
boot
check "damaged persistent: boots, persistent paths on tmpfs" \
	test "$(rc)/$(rec .persistent.status)/$(out home_rw)" = 0/failed/yes
check "damaged persistent: the record names the path" eval 'rec .persistent.error | grep -q "^/opt: Not a directory"'
check "damaged persistent: the persistent partition is left as it was" test "$(cat "$W/persist/.state/opt")" = file
check "damaged persistent: the image is not blamed" test "$(env_get state.env kairos_active_status)" = new
check "damaged persistent: the try is spent" test "$(env_get counter.env kairos_tries)" = 2
rm -f "$W/persist/.state/opt"

# ---- partitions found by label (loop devices with unique labels) -------------------

tag=KB$$
mkdir -p "$W/p/state/images" "$W/p/persist"
cp "$W/img/$A.squashfs" "$W/p/state/images/"
cp "$W/state/state.env" "$W/p/state/"
grub-editenv "$W/p/state/state.env" set kairos_active="$A" kairos_active_status=new kairos_active_gen=3
mkfs.ext4 -q -L "${tag}S" -d "$W/p/state" "$W/p/state.img" 16M >/dev/null
mkfs.ext4 -q -L "${tag}P" -d "$W/p/persist" "$W/p/persist.img" 8M >/dev/null
sdev=$(losetup -f --show "$W/p/state.img") && LOOPS+=("$sdev")
pdev=$(losetup -f --show "$W/p/persist.img") && LOOPS+=("$pdev")
echo "root=kairos kairos.state=${tag}S kairos.persistent_label=${tag}P kairos.wait=5" >"$W/cmdline"
rm -rf "$W/root" "$W/run"; mkdir -p "$W/root" "$W/run"
# Separate loop devices stand in for the partitions of one disk (the host
# kernel does not scan partitions on loop): --node-disks says which.
by_label() { # [ARGS...]: boot in a namespace, keep its log, rc, mounts and mount options in $W/p/out.*
	rm -rf "$W/root" "$W/run"; mkdir -p "$W/root" "$W/run"
	unshare -m -- bash -c 'out=$1 root=$2; shift 2; "$@" >"$out.log" 2>&1; echo $? >"$out.rc"
		findmnt -R -n -r -o TARGET,FSTYPE "$root" >"$out.mounts"; findmnt -n -r -o TARGET,OPTIONS >"$out.opts"' _ \
		"$W/p/out" "$W/root" "$KB" mount --no-reboot --cmdline "$W/cmdline" --root "$W/root" --run-dir "$W/run" \
		--record "$W/boot.json" "$@"
	cp "$W/p/out.log" "$W/log"
}
by_label --node-disks "${pdev#/dev/}"
check "by label: state and persistent partitions found" \
	test "$(cat "$W/p/out.rc")/$(rec .state_device)/$(rec .persistent.device)" = "0/$sdev/$pdev"
echo "# by label, helper time: start to state $(rec .timings_ms.start_to_state) ms, to root $(rec .timings_ms.start_to_root) ms"
check "by label: root assembled from the state partition" eval 'grep -q "/home ext4" "$W/p/out.mounts"'
check "by label: the try is written to the partition" \
	test "$(debugfs -R 'cat /counter.env' "$W/p/state.img" 2>/dev/null | sed -n 's/^kairos_tries=//p')" = 2
opts() { awk -v t="$1" '$1 == t { print $2 }' "$W/p/out.opts"; }
check "by label: state mounted nosuid,nodev,noexec" eval '[[ ,$(opts "$W/run/state"), =~ ,nosuid,nodev,noexec, ]]'
check "by label: persistent binds are nosuid,nodev (programs in /opt still run)" \
	eval '[[ ,$(opts "$W/root/home"), =~ ,nosuid,nodev, && ,$(opts "$W/root/opt"), != *,noexec,* ]]'

# A USB stick labelled like the persistent partition, holding an SSH key for
# root, while the node's disk has none: never mounted, never bound over
# /root; the console, the record and its warnings say so.
mkdir -p "$W/p/stick/.state/root/.ssh"
echo "ssh-ed25519 AAAA attacker" >"$W/p/stick/.state/root/.ssh/authorized_keys"
mkfs.ext4 -q -L "${tag}P" -d "$W/p/stick" "$W/p/stick.img" 8M >/dev/null
stdev=$(losetup -f --show "$W/p/stick.img") && LOOPS+=("$stdev")
losetup -d "$pdev"
by_label
check "foreign persistent: boots on tmpfs, the stick is refused" \
	test "$(cat "$W/p/out.rc")/$(rec .persistent.status)/$(rec .persistent.device)" = "0/refused/null"
check "foreign persistent: nothing of the stick mounted, /root not bound" \
	eval '! grep -q "$stdev\|/root ext4" "$W/p/out.mounts" && ! grep -q "^$W/run/rw/persistent " "$W/p/out.opts"'
check "foreign persistent: a warning in the record names it" \
	test "$(rec '.warnings|join(";")')" = "label ${tag}P: $stdev refused (not on the state partition's disk)"
check "foreign persistent: the console says REFUSED" grep -q "REFUSED the persistent partition" "$W/log"
pdev=$(losetup -f --show "$W/p/persist.img") && LOOPS+=("$pdev")
by_label --node-disks "${pdev#/dev/}"
check "foreign persistent: beside the node's own, the node's is used, the stick named" \
	test "$(rec '.persistent.device + " " + (.warnings|join(";"))')" = \
	"$pdev label ${tag}P is on 2 filesystems: $pdev used, $stdev ignored"
losetup -d "$stdev"

# kairos.state_uuid= names a filesystem that is not there: another one with
# the label is never taken instead, however long ours takes.
echo "root=kairos kairos.state=${tag}S kairos.persistent_label=${tag}P kairos.wait=1 kairos.state_uuid=0a7e1c8b-2a47-4e5e-9c1e-7d5b4c2f1e01" >"$W/cmdline"
by_label --node-disks "${pdev#/dev/}"
check "state UUID not there: the other ${tag}S is not mounted, the boot fails" \
	eval '[ "$(cat "$W/p/out.rc")/$(rec .state_device)" = 1/null ] && ! grep -q "Found ${tag}S" "$W/log"'
check "state UUID not there: the record says why" \
	test "$(rec '(.error|test("State partition")) and (.warnings[0]|test("not the filesystem GRUB read"))')" = true
debugfs -w -R 'rm /counter.env' "$W/p/state.img" >/dev/null 2>&1 # the tries those boots spent
# The same label twice (a second disk with another node's system): the one
# GRUB read (kairos.state_uuid=) wins; without it the first, and a warning.
mkdir -p "$W/p/state2/images"
cp "$W/img/$B.squashfs" "$W/p/state2/images/"
cp "$W/state/state.env" "$W/p/state2/"
grub-editenv "$W/p/state2/state.env" set kairos_active="$B" kairos_active_status=good kairos_active_gen=3
mkfs.ext4 -q -L "${tag}S" -d "$W/p/state2" "$W/p/state2.img" 16M >/dev/null
s2dev=$(losetup -f --show "$W/p/state2.img") && LOOPS+=("$s2dev")
boot_by_label() { # CMDLINE: "device image warnings"
	echo "$1" >"$W/cmdline"
	unshare -m -- "$KB" mount --no-reboot --cmdline "$W/cmdline" --root "$W/root" --run-dir "$W/run" \
		--record "$W/boot.json" --node-disks "${pdev#/dev/}" >"$W/log" 2>&1
	rec '.state_device + " " + .image + " " + (.warnings|join(";"))'
}
base="root=kairos kairos.state=${tag}S kairos.persistent_label=${tag}P kairos.wait=5"
for dev in "$sdev" "$s2dev"; do
	want=$A; [ "$dev" = "$s2dev" ] && want=$B
	other=$sdev; [ "$dev" = "$sdev" ] && other=$s2dev
	check "label twice: kairos.state_uuid= picks the one GRUB read ($dev), says so" \
		test "$(boot_by_label "$base kairos.state_uuid=$(blkid -s UUID -o value "$dev")")" = \
		"$dev $want label ${tag}S is on 2 filesystems: $dev used, $other ignored"
done
check "label twice: the warning on the console" grep -q "warning: The label ${tag}S is on 2 filesystems" "$W/log"
# Without the UUID (a direct kernel boot) nothing says which is ours:
# refused, never the first the kernel lists.
got=$(boot_by_label "$base")
both="($sdev $s2dev|$s2dev $sdev)"
check "label twice, no kairos.state_uuid=: refused, the record names both" \
	eval '[[ "$got/$(rec ".error|test(\"State partition\")")" =~ ^\ *label\ ${tag}S:\ $both\ refused\ \(more\ than\ one\ could\ be\ ours\)/true$ ]]'
check "label twice, no kairos.state_uuid=: the console says why" grep -q "refusing to guess" "$W/log"
losetup -d "$s2dev"
# A cloned disk: the same filesystem UUID twice. Refused too.
cp "$W/p/state.img" "$W/p/clone.img"
cdev=$(losetup -f --show "$W/p/clone.img") && LOOPS+=("$cdev")
got=$(boot_by_label "$base kairos.state_uuid=$(blkid -s UUID -o value "$sdev")")
both="($sdev $cdev|$cdev $sdev)"
check "cloned state partition (same UUID twice): refused, the record names both" \
	eval '[[ "$got" =~ ^\ *label\ ${tag}S:\ $both\ refused\ \(more\ than\ one\ could\ be\ ours\)$ ]]'
losetup -d "$cdev"

start=$(date +%s%N)
echo "root=kairos kairos.state=${tag}NONE kairos.wait=1" >"$W/cmdline"
unshare -m -- "$KB" mount --no-reboot --cmdline "$W/cmdline" --root "$W/root" --run-dir "$W/run" \
	--record "$W/boot.json" >"$W/log" 2>&1
r=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "no state partition: gives up after kairos.wait (${ms} ms)" test "$r" = 1 -a "$ms" -ge 1000 -a "$ms" -lt 4000
check "no state partition: record says why" test "$(rec '.error|test("State partition")')" = true

# ---- PID 1 of a minimal initramfs ---------------------------------------------------
# /init is kairos-boot, run as PID 1 of a new PID namespace chrooted into a
# tiny initramfs tree: it mounts /proc /sys /dev /run itself, finds the
# partitions by label, builds the root and switches to it. The image's init
# (busybox sh) saves what it sees to the persistent /home and exits, which
# ends the namespace.

t="$W/tree-D"
mkdir -p "$t"/{bin,sbin,etc,var,srv,home,root,opt,proc,sys,dev,run,usr}
cp /bin/busybox "$t/bin/busybox"
cat >"$t/sbin/init" <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
$bb cat /run/kairos/boot.json >/home/pid1-record
$bb cat /proc/self/mountinfo >/home/pid1-mountinfo
echo "$$" >/home/pid1-pid
INIT
chmod 755 "$t/sbin/init"
D=$(id_of D)
mksquashfs "$t" "$W/img/$D.squashfs" -quiet -noappend -comp gzip -no-progress >/dev/null
mkdir -p "$W/p2/state/images" "$W/p2/persist" "$W/initrd"/{dev,proc,sys,run,sysroot}
cp "$W/img/$D.squashfs" "$W/p2/state/images/"
grub-editenv "$W/p2/state/state.env" create
grub-editenv "$W/p2/state/state.env" set kairos_tries_max=3 kairos_gen=1 kairos_active="$D" \
	kairos_active_status=good kairos_active_gen=1
mkfs.ext4 -q -L "${tag}S2" -d "$W/p2/state" "$W/p2/state.img" 16M >/dev/null
mkfs.ext4 -q -L "${tag}P2" -d "$W/p2/persist" "$W/p2/persist.img" 8M >/dev/null
sdev2=$(losetup -f --show "$W/p2/state.img") && LOOPS+=("$sdev2")
pdev2=$(losetup -f --show "$W/p2/persist.img") && LOOPS+=("$pdev2")
cp "$KB" "$W/initrd/init"
echo "root=kairos kairos.state=${tag}S2 kairos.persistent_label=${tag}P2 kairos.wait=5" >"$W/initrd/cmdline"
timeout 60 unshare -f -p -m --propagation private -- chroot "$W/initrd" /init --no-reboot --cmdline /cmdline \
	--node-disks "${pdev2#/dev/}" >"$W/log" 2>&1
r=$?
p2() { debugfs -R "cat /.state/home/$1" "$W/p2/persist.img" 2>/dev/null; }
check "PID 1: switched root and ran the image's init" test "$r/$(p2 pid1-pid)" = 0/1
check "PID 1: the record was moved along with /run" test "$(p2 pid1-record | jq -r '.slot + " " + .image')" = "active $D"
check "PID 1: the new root sees its overlays and binds" \
	eval 'p2 pid1-mountinfo | grep -q " /etc .* overlay " && p2 pid1-mountinfo | grep -q " /home .* ext4 "'
p2 pid1-record | jq -r '"# PID 1 helper time: start to root \(.timings_ms.start_to_root) ms"'
check "PID 1 only: refuses to run as init otherwise" eval '! "$KB" init --no-reboot 2>/dev/null'

# ---- live: kairos.live=LABEL, --live-dir standing in for the medium ---------

fresh_state; install_image "$A"
state kairos_active="$A" kairos_active_status=new kairos_active_gen=3
before=$(counter_sum)
mkdir -p "$W/live/kairos"; cp "$W/img/$B.squashfs" "$W/live/kairos/os.squashfs"
boot "root=kairos kairos.live=KAIROS_LIVE kairos.image=$B" --live-dir "$W/live"
check "live: boots the medium's image" test "$(rc)/$(out version)" = 0/B
check "live: record says slot live, its image, reason live" test "$(rec '.slot + " " + .image + " " + .reason')" = "live $B live"
check "live: tmpfs overlays only, writable, nothing persistent" \
	eval '! grep -q ext4 "$W/out/mounts" && mounted /etc overlay && mounted /home overlay && [ "$(out etc_rw)$(out home_rw)" = yesyes ] && [ "$(rec .persistent.status)" = not-used ]'
check "live: no counter spent, no state touched" test "$(counter_sum)" = "$before"
# kairos.verity= (the medium's grub.cfg, from os.json's record): one that
# does not parse is never "no verity"; a valid one on a kernel without
# dm-verity fails the boot rather than mount unverified.
boot "root=kairos kairos.live=KAIROS_LIVE kairos.image=$B kairos.verity=$(printf '%064d' 0):1" --live-dir "$W/live"
check "live: a damaged kairos.verity=: fails, nothing mounted, why recorded" \
	eval '[ "$(rc)/$(out nmounts)" = 1/0 ] && rec .error | grep -q "kairos.verity= is damaged"'
VB=$(vimage "$B") && mv "$W/state/images/$B.squashfs" "$W/live/kairos/os.squashfs"
boot "root=kairos kairos.live=KAIROS_LIVE kairos.image=$B kairos.verity=$VB" --live-dir "$W/live"
if dmsetup targets 2>/dev/null | grep -q '^verity'; then
	check "live: a valid kairos.verity=: read through dm-verity, the table in the record" \
		eval '[ "$(rc)/$(out version)" = 0/B ] && rec .verity | grep -q " sha256 ${VB%%:*} "'
else
	check "live: a valid kairos.verity= on a kernel without dm-verity: fails, nothing mounted" \
		eval '[ "$(rc)/$(out nmounts)" = 1/0 ] && rec .error | grep -q "no device-mapper for dm-verity"'
fi
rm "$W/live/kairos/os.squashfs"
boot "root=kairos kairos.live=KAIROS_LIVE" --live-dir "$W/live"
check "live: no image on the medium: fails, every mount undone" test "$(rc)/$(out nmounts)" = 1/0
check "live: record says why" test "$(rec '.slot == null and (.error|test("live image"))')" = true

echo "1..$n"
[ "$failed" -eq 0 ]
