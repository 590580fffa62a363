#!/bin/bash
# The A/B commit through the real binary, on state directories: upgrade
# rotation, no-op upgrades, recovery upgrades, hooks, the fallback guard,
# ENOSPC (pre-flight and mid-write, on a small loop-mounted ext4), two
# upgrades at once, and a kill at every fault point of every state-changing
# command. Images are small OCI layouts built here with umoci. Prints TAP.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KAIROS_UPGRADE:-build/kairos-upgrade}
B=${KAIROS_BOOT:-build/kairos-boot}
KILL_SWEEP=${KILL_SWEEP:-all} # "all", or every Nth point (make check runs a subset)
work=$(mktemp -d /tmp/kairos-commit.XXXXXX)
mnt=""
cleanup() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# ---- fixtures -------------------------------------------------------------

# layout L with tags v1 (two layers), v2 (v1 + a layer) and big (random data),
# each with the kernel and initrd an upgrade requires (a few bytes: GRUB never
# reads them here); nokernel, v1 with a layer removing /boot/vmlinuz, as a
# derived image's `RUN rm -f /boot/vmlinuz*` makes; linked, v1 with
# /boot/vmlinuz a symbolic link to vmlinuz-6.1 (as Debian names kernels);
# dangling, the link without its target.
make_layout() {
	local l=$work/layout t=$work/tars
	mkdir -p "$t/base/etc" "$t/base/usr/bin" "$t/up/etc" "$t/base/boot" "$t/big/boot" "$t/nok/boot" "$t/lnk/boot" \
		"$t/dng/boot"
	echo kernel >"$t/base/boot/vmlinuz"
	echo initrd >"$t/base/boot/initrd"
	cp "$t/base/boot/vmlinuz" "$t/base/boot/initrd" "$t/big/boot/"
	touch "$t/nok/boot/.wh.vmlinuz"
	echo kernel >"$t/lnk/boot/vmlinuz-6.1"
	ln -s vmlinuz-6.1 "$t/lnk/boot/vmlinuz"
	ln -s ../boot/vmlinuz-6.1 "$t/dng/boot/vmlinuz"
	for x in nok lnk dng; do tar -C "$t/$x" -cf "$t/$x.tar" --owner=0 --group=0 .; done
	echo 'VERSION="1"' >"$t/base/etc/os-release"
	printf '#!/bin/sh\necho init\n' >"$t/base/usr/bin/init"
	chmod 755 "$t/base/usr/bin/init"
	head -c 300000 /dev/urandom >"$t/base/usr/bin/blob"
	head -c 2000000 /dev/urandom >"$t/up/etc/blob2"
	echo 'VERSION="2"' >"$t/up/etc/os-release"
	tar -C "$t/base" -cf "$t/base.tar" --owner=0 --group=0 .
	tar -C "$t/up" -cf "$t/up.tar" --owner=0 --group=0 .
	mkdir -p "$t/big/data"
	head -c $((40 << 20)) /dev/urandom >"$t/big/data/random"
	tar -C "$t/big" -cf "$t/big.tar" --owner=0 --group=0 .
	umoci init --layout "$l"
	umoci new --image "$l:v1"
	umoci raw add-layer --image "$l:v1" "$t/base.tar"
	umoci new --image "$l:v2"
	umoci raw add-layer --image "$l:v2" "$t/base.tar"
	umoci raw add-layer --image "$l:v2" "$t/up.tar"
	umoci new --image "$l:big"
	umoci raw add-layer --image "$l:big" "$t/big.tar"
	for x in nokernel:nok linked:lnk dangling:dng; do
		umoci new --image "$l:${x%%:*}"
		umoci raw add-layer --image "$l:${x%%:*}" "$t/base.tar"
		umoci raw add-layer --image "$l:${x%%:*}" "$t/${x#*:}.tar"
	done
}

# The id kairos-upgrade gives an image: the hex of its manifest digest.
image_id() {
	local l=$work/layout
	jq -r --arg tag "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $tag) | .digest' \
		"$l/index.json" | sed 's/^sha256://'
}

ku() { "$K" "$@" --state-dir "$S" --boot-record "$work/boot.json" --hooks-dir "$work/hooks" --progress=none; }
ku_state() { "$K" "$@" --state-dir "$S" --boot-record "$work/boot.json"; }
json() { ku_state status --json | jq -r "$1"; }

# A node with v1 installed and confirmed, v1 as recovery too.
installed_node() {
	S=$1
	rm -rf "$S" && mkdir -p "$S"
	grub-editenv "$S/state.env" create
	ku upgrade --source "oci-layout:$work/layout:v1" >/dev/null 2>&1 &&
		ku_state mark-good >/dev/null 2>&1 &&
		ku upgrade --recovery --source "oci-layout:$work/layout:v1" >/dev/null 2>&1
}

# The slot the next boot would use has a complete image: the state decides
# a bootable image whatever happened.
decides_complete_image() {
	local slot id
	slot=$(ku_state status --json | jq -r .next_boot.slot) || return 1
	id=$(ku_state status --json | jq -r ".slots.$slot.image") || return 1
	[ -n "$id" ] && [ "$id" != null ] || return 1
	local dir=$S
	# A node in recovery (the reset tests): recovery has a partition of its own.
	[ "$slot" = recovery ] && [ -n "${RDIR:-}" ] && dir=$RDIR
	unsquashfs -s "$dir/images/$id.squashfs" >/dev/null 2>&1
}

make_layout >/dev/null 2>&1 || { tap_not_ok "build the test images with umoci"; tap_done; exit 1; }
V1=$(image_id v1) V2=$(image_id v2)
rm -f "$work/boot.json"
mkdir -p "$work/hooks"

# ---- upgrades --------------------------------------------------------------

# A local image without a registry: `docker save IMG | kairos-upgrade upgrade
# --source docker-archive:-` (skopeo writes what docker save does).
installed_node "$work/s-archive"
skopeo copy -q "oci:$work/layout:v2" "docker-archive:$work/v2-docker.tar:kairos/os:v2"
upgrade_from_pipe() { cat "$work/v2-docker.tar" | ku upgrade --source docker-archive:-; }
tap_expect "upgrade from a docker-archive piped on standard input" ok "Active image is now" upgrade_from_pipe
tap_check "  its source recorded, v2's file in the image" sh -c \
	"[ \"\$(\"$K\" status --json --state-dir '$S' | jq -r .slots.active.source)\" = docker-archive:- ] &&
	 unsquashfs -cat '$S/images/'\"\$(\"$K\" status --json --state-dir '$S' | jq -r .slots.active.image)\".squashfs etc/os-release | grep -q 'VERSION=\"2\"'"

# --version and status --json say the version and the commit built from;
# a tree without .git (a release tarball) still builds and says "unknown".
want_commit=unknown
[ -e .git ] && want_commit=$(git rev-parse --short=12 HEAD)
tap_check "--version: VERSION and the commit, the same in status --json" sh -c \
	"\"$K\" --version | grep -Eq '^kairos-upgrade $(cat VERSION) \\(commit $want_commit(-dirty)?\\)\$' &&
	 [ \"\$(\"$K\" status --json --state-dir '$S' | jq -r '.kairos_upgrade | .version + \" \" + .commit' | sed 's/-dirty\$//')\" = '$(cat VERSION) $want_commit' ]"
if [ -e .git ]; then
	mkdir -p "$work/tarball" && git archive HEAD | tar -x -C "$work/tarball"
	tap_check "  a tree without .git says commit unknown" sh -c \
		"make -s -C '$work/tarball' build/gen/version.h && grep -q 'KAIROS_COMMIT \"unknown\"' '$work/tarball/build/gen/version.h'"
fi

# ---- verify: every slot's image through its dm-verity tree ------------------
# v2 active, v1 passive and recovery; each image's .json has its record.
installed_node "$work/s-verify" && ku upgrade --source "oci-layout:$work/layout:v2" >/dev/null 2>&1
verify_rc() { # WANT_RC JQ_FILTER VERIFY_ARGS...: the exit status, and the filter true on --json
	local want=$1 filter=$2 out rc
	shift 2
	out=$(ku_state verify --json "$@" 2>"$work/verify.err")
	rc=$?
	[ "$rc" = "$want" ] || { echo "exit status $rc, not $want: $(cat "$work/verify.err")"; return 1; }
	jq -e "$filter" <<<"$out" >/dev/null || { echo "$out"; cat "$work/verify.err"; return 1; }
}
tap_check "verify all: active, passive and recovery read through their trees: OK, exit 0" verify_rc 0 \
	'[.images[] | .result] == ["ok", "ok", "ok"] and ([.images[] | .slot] == ["active", "passive", "recovery"])'
cp "$S/images/$V1.squashfs" "$work/v1.keep"
printf 'X' | dd of="$S/images/$V1.squashfs" bs=1 seek=$((4096 * 3 + 100)) conv=notrunc 2>/dev/null
tap_check "verify passive: one byte flipped in its data block 3: corrupt, block 3 named, exit 2" verify_rc 2 \
	'.images == [.images[0]] and .images[0].result == "corrupt" and .images[0].first_bad_block == 3 and .images[0].bad_area == "data"' passive
tap_check "  the corrupt passive is committed bad (never fallen back to), the block in the reason" test \
	"$(json '.slots.passive.status + "," + .slots.passive.reason')" = "bad,dm-verity: data block 3 of image ${V1:0:12} corrupt"
tap_expect "  status (text) shows why" ok "bad because: dm-verity: data block 3 of image ${V1:0:12} corrupt" ku_state status
before=$(stat -c '%i %Y' "$S/state.env")
sleep 1.1
committed_once() { verify_rc 2 '.images[0].first_bad_block == 3' passive && [ "$(stat -c '%i %Y' "$S/state.env")" = "$before" ]; }
tap_check "  verify passive again: exit 2, state.env untouched (committed once)" committed_once
tap_check "  verify active alone is still OK (exit 0)" verify_rc 0 '.images[0].result == "ok"' active
# (recovery is the same v1 file here: --state-dir keeps recovery images in it)
tap_check "  verify all: exit 2, the corrupt ones named" verify_rc 2 '[.images[] | .result] == ["ok", "corrupt", "corrupt"]'
tap_expect "  a corrupt recovery: status warns, naming the block and the way out" ok \
	'Warning: +recovery image corrupt: data block 3; run upgrade --recovery' ku_state status
tap_check "  status --json: slots.recovery.corrupt, recovery itself still good (it always boots)" test \
	"$(json '[.slots.recovery.status, (.slots.recovery.corrupt.block|tostring), .slots.recovery.corrupt.area] | join(",")')" = "good,3,data"
tap_check "  the record: a file on the state partition, naming the image" grep -qx "image=$V1" "$S/recovery-corrupt.env"
cp "$work/v1.keep" "$S/images/$V1.squashfs"
record_cleared() {
	verify_rc 0 '.images[0].result == "ok"' recovery && [ ! -e "$S/recovery-corrupt.env" ] &&
		[ "$(json .slots.recovery.corrupt)" = null ]
}
tap_check "verify recovery of a repaired copy: OK, and its record is cleared" record_cleared
printf 'X' | dd of="$S/images/$V1.squashfs" bs=1 seek=$((4096 * 5 + 7)) conv=notrunc 2>/dev/null
verify_rc 2 true recovery >/dev/null
tap_expect "upgrade --recovery to the same image rewrites a corrupt one (no --force needed)" ok 'Recovery image is now' \
	ku upgrade --recovery --source "oci-layout:$work/layout:v1"
replaced_whole() {
	[ ! -e "$S/recovery-corrupt.env" ] && verify_rc 0 '.images[0].result == "ok"' recovery &&
		! ku_state status | grep -q 'recovery image corrupt'
}
tap_check "  the record is gone, the new copy verifies, status warns no more" replaced_whole
tap_expect "  and once it is whole, the same image again is nothing to do" ok 'already the recovery image; nothing to do' \
	ku upgrade --recovery --source "oci-layout:$work/layout:v1"
cp "$work/v1.keep" "$S/images/$V1.squashfs"
jq 'del(.verity)' "$S/images/$V2.json" >"$work/v2.json" && cp "$work/v2.json" "$S/images/$V2.json"
tap_check "verify active of an image installed before (no record): reported, exit 0" verify_rc 0 \
	'.images[0].result == "no-record"' active
tap_check "  with --require-verity: exit 3" verify_rc 3 '.images[0].result == "no-record"' active --require-verity
tap_expect "verify with an unknown slot: refused, naming it" fail "unknown slot 'bogus'" ku_state verify bogus

# ---- state.env: each slot's verity record, committed with the slot --------
env_key() { grub-editenv "$S/state.env" list | sed -n "s/^$1=//p"; }
record_of() { # JSON: ROOT:DATA_BLOCKS:HASH_START_BLOCK, what boot needs, from an image's .json
	jq -r '.verity | "\(.root_hash):\(.data_blocks):\(.hash_offset / 4096 + 1)"' "$1"
}
installed_node "$work/s-vstate" && ku upgrade --source "oci-layout:$work/layout:v2" >/dev/null 2>&1
tap_check "upgrade: state.env has each slot's verity record, as the images' .json say" sh -c \
	"$(declare -f env_key record_of); S='$S'
	 [ \"\$(env_key kairos_active_verity)\" = \"\$(record_of '$S/images/$V2.json')\" ] &&
	 [ \"\$(env_key kairos_passive_verity)\" = \"\$(record_of '$S/images/$V1.json')\" ] &&
	 [ \"\$(env_key kairos_recovery_verity)\" = \"\$(record_of '$S/images/$V1.json')\" ] &&
	 env_key kairos_active_verity | grep -Eq '^[0-9a-f]{64}:[1-9][0-9]*:[1-9][0-9]*\$'"
ku_state rollback >/dev/null 2>&1
tap_check "  rollback: the records move with their images" sh -c \
	"$(declare -f env_key record_of); S='$S'
	 [ \"\$(env_key kairos_active_verity)\" = \"\$(record_of '$S/images/$V1.json')\" ] &&
	 [ \"\$(env_key kairos_passive_verity)\" = \"\$(record_of '$S/images/$V2.json')\" ]"
grub-editenv "$S/state.env" set kairos_passive_verity=garbage
tap_check "  a damaged record: status still reads the map, and says so" sh -c \
	"'$K' status --json --state-dir '$S' | jq -e '.slots.passive.verity_record == \"damaged\" and .slots.passive.root_hash == null and .slots.active.verity_record == \"present\"' >/dev/null &&
	 '$K' status --state-dir '$S' | grep -q 'its verity record in state.env is damaged'"
ku upgrade --recovery --source "oci-layout:$work/layout:v2" >/dev/null 2>&1
tap_check "  and another commit (a recovery upgrade) keeps it damaged (never 'no record')" sh -c \
	"$(declare -f env_key record_of); S='$S'; [ \"\$(env_key kairos_passive_verity)\" = - ] &&
	 [ \"\$(env_key kairos_recovery_verity)\" = \"\$(record_of '$S/images/$V2.json')\" ]"

installed_node "$work/s"
tap_check "install v1 into an empty state" test "$(json '.slots.active.image + .slots.active.status')" = "${V1}good"
tap_expect "upgrade to v2" ok "Active image is now" ku upgrade --source "oci-layout:$work/layout:v2"
tap_check "  v2 active (new, 3 tries), v1 passive, recovery untouched" test \
	"$(json '[.slots.active.image, .slots.active.status, (.slots.active.tries_left|tostring), .slots.passive.image, .slots.recovery.image] | join(",")')" = "$V2,new,3,$V1,$V1"
tap_check "  digest, source and size recorded" test \
	"$(json '[.slots.active.source, (.slots.active.size > 0 | tostring)] | join(",")')" = "oci-layout:$work/layout:v2,true"
tap_check "  the image is a squashfs with v2's file" sh -c "unsquashfs -cat '$S/images/$V2.squashfs' etc/os-release | grep -q 'VERSION=\"2\"'"
# GRUB boots the kernel and initrd beside the image (grub/grub.cfg): the
# image's own bytes, written before the commit.
beside_is_inside() { # DIR ID: ID.vmlinuz and ID.initrd in DIR/images hold the image's /boot files
	unsquashfs -cat "$1/images/$2.squashfs" boot/vmlinuz | cmp -s - "$1/images/$2.vmlinuz" &&
		unsquashfs -cat "$1/images/$2.squashfs" boot/initrd | cmp -s - "$1/images/$2.initrd"
}
tap_check "  its kernel and initrd beside it (<id>.vmlinuz, <id>.initrd), the bytes inside the image" \
	beside_is_inside "$S" "$V2"

before=$(stat -c '%i %Y' "$S/state.env")
sleep 1.1
tap_expect "upgrading to the active digest is a no-op" ok "already the active image" \
	strace -f -o "$work/noop.trace" -e trace=openat "$K" upgrade --source "oci-layout:$work/layout:v2" --state-dir "$S" \
	--boot-record "$work/boot.json" --hooks-dir "$work/hooks" --progress=none
tap_check "  nothing written (state.env same inode and mtime)" test "$(stat -c '%i %Y' "$S/state.env")" = "$before"
layer=$(jq -r '.layers[-1].digest' "$work/layout/blobs/sha256/$V2" | sed 's/sha256://')
tap_check "  no layer blob opened" sh -c "! grep -q '$layer' '$work/noop.trace'"

# (v1 is older than v2: a downgrade, asked for; tests/signatures/downgrade.sh has the rule)
tap_expect "upgrade v2 -> v1 again rotates the slots" ok "Active image is now" \
	ku upgrade --source "oci-layout:$work/layout:v1" --allow-downgrade
tap_check "  v1 active, v2 passive; no image left unreferenced" sh -c \
	"test \"\$(ls '$S/images' | sort | tr '\n' ' ')\" = \"$(for i in "$V1" "$V2"; do printf '%s\n' "$i.json" "$i.squashfs" "$i.vmlinuz" "$i.initrd" "$i.index"; done | sort | tr '\n' ' ')\""
# The GC: the image that leaves the slots goes with its kernel and initrd.
LINKED=$(image_id linked)
tap_expect "upgrade to a third image pushes v2 out" ok "Active image is now" ku upgrade --source "oci-layout:$work/layout:linked"
tap_check "  v2's squashfs, json, vmlinuz, initrd and index removed together, nothing else" sh -c \
	"test \"\$(ls -a '$S/images' | sort | tr '\n' ' ')\" = \"$(printf '%s\n' . .. "$V1".{json,squashfs,vmlinuz,initrd,index} "$LINKED".{json,squashfs,vmlinuz,initrd,index} | sort | tr '\n' ' ')\""
tap_check "  /boot/vmlinuz a link inside the image: its target's bytes beside it" sh -c \
	"[ \"\$(cat '$S/images/$LINKED.vmlinuz')\" = kernel ] && [ ! -L '$S/images/$LINKED.vmlinuz' ]"

# An image without the kernel or initrd GRUB loads from it would be committed
# and then spend every try: refused before the commit, nothing left behind.
installed_node "$work/s"
before=$(ls -a "$S" "$S/images"; cat "$S/state.env")
tap_expect "an image without /boot/vmlinuz is refused before the commit, with why" fail \
	'has no /boot/vmlinuz \(missing\).*cannot boot.*Nothing was changed' ku upgrade --source "oci-layout:$work/layout:nokernel"
tap_check "  state and images unchanged" test "$(ls -a "$S" "$S/images"; cat "$S/state.env")" = "$before"
tap_expect "  a recovery upgrade to it too" fail 'has no /boot/vmlinuz' \
	ku upgrade --recovery --source "oci-layout:$work/layout:nokernel"
tap_expect "  /boot/vmlinuz as a link to a dangling target too" fail 'has no /boot/vmlinuz \(missing\)' \
	ku upgrade --source "oci-layout:$work/layout:dangling"
tap_expect "/boot/vmlinuz as a link to vmlinuz-6.1 (Debian's naming) is accepted" ok "Active image is now" \
	ku upgrade --source "oci-layout:$work/layout:linked"

# The boot menu: an older node's grub.cfg (the state partition's grub/) is
# replaced by this program's before the commit; a directory without grub/
# (not a state partition) gets none.
installed_node "$work/s"
tap_check "a state directory without grub/ gets no grub.cfg" test ! -e "$S/grub"
mkdir -p "$S/grub" && echo "# an older release's menu" >"$S/grub/grub.cfg"
tap_expect "upgrade on a node with an older grub.cfg" ok "Updated the boot menu" ku upgrade --source "oci-layout:$work/layout:v2"
tap_check "  grub/grub.cfg is now this release's (both layouts), no temporary left" sh -c \
	"cmp -s grub/grub.cfg '$S/grub/grub.cfg' && [ \"\$(ls -a '$S/grub' | tr '\n' ' ')\" = '. .. grub.cfg ' ]"
ino=$(stat -c %i "$S/grub/grub.cfg")
ku upgrade --source "oci-layout:$work/layout:v1" --allow-downgrade >/dev/null 2>&1
tap_check "  the next upgrade leaves it alone (same inode)" test "$(stat -c %i "$S/grub/grub.cfg")" = "$ino"

installed_node "$work/s"
tap_expect "recovery upgrade" ok "Recovery image is now" ku upgrade --recovery --source "oci-layout:$work/layout:v2"
tap_check "  leaves active and passive alone" test "$(json '[.slots.active.image, .slots.active.status, .slots.passive.image, .slots.recovery.image] | join(",")')" = "$V1,good,,$V2"

installed_node "$work/s"
echo '{"slot":"passive","reason":"fallback","image":"'$V1'","why":"fallback to passive: active has no tries left"}' >"$work/boot.json"
tap_expect "refuses to upgrade while on passive after a fallback" fail "running passive because active could not boot" ku upgrade --source "oci-layout:$work/layout:v2"
tap_expect "  unless --force" ok "Active image is now" ku upgrade --force --source "oci-layout:$work/layout:v2"
rm -f "$work/boot.json"

installed_node "$work/s"
mkdir -p "$work/hooks/before-upgrade.d" "$work/hooks/after-upgrade.d"
printf '#!/bin/sh\necho "hook saw $KAIROS_SLOT $KAIROS_DIGEST" >>%s\nexit 1\n' "$work/hook.log" >"$work/hooks/before-upgrade.d/50-veto"
chmod 755 "$work/hooks/before-upgrade.d/50-veto"
cp -a "$S" "$work/before-hook"
tap_expect "a failing before-upgrade hook aborts" fail "50-veto failed" ku upgrade --source "oci-layout:$work/layout:v2"
tap_check "  and nothing changed" diff -r "$S" "$work/before-hook" -x .kairos-upgrade.lock
tap_check "  the hook saw the slot and digest" grep -q "hook saw active sha256:$V2" "$work/hook.log"
rm -rf "$work/hooks"/*; mkdir -p "$work/hooks"

# ---- ENOSPC on a real (small) filesystem ------------------------------------

if [ "$(id -u)" -eq 0 ]; then
	mnt=$work/small
	mkdir -p "$mnt"
	truncate -s 48M "$work/small.ext4"
	mkfs.ext4 -q -F -m 0 "$work/small.ext4"
	mount -o loop "$work/small.ext4" "$mnt"
	installed_node "$mnt/s"
	cp -a "$S" "$work/before-enospc"
	tap_expect "pre-flight: an image that cannot fit is refused" fail "Not enough space.*needs about" \
		ku upgrade --source "oci-layout:$work/layout:big"
	tap_check "  nothing written" diff -r "$S" "$work/before-enospc" -x .kairos-upgrade.lock
	# Mid-write: the pre-flight passes, then something else fills the disk.
	mkdir -p "$work/hooks/before-upgrade.d"
	printf '#!/bin/sh\nfallocate -l $(( $(stat -f -c "%%a*%%S" %s) - 262144 )) %s/filler\n' "$mnt" "$mnt" \
		>"$work/hooks/before-upgrade.d/10-fill"
	chmod 755 "$work/hooks/before-upgrade.d/10-fill"
	tap_expect "ENOSPC mid-write: clean error naming the disk" fail "full|No space left" \
		ku upgrade --source "oci-layout:$work/layout:v2"
	tap_check "  state unchanged, no leftover files" diff -r "$S" "$work/before-enospc" -x .kairos-upgrade.lock
	rm -f "$mnt/filler"
	rm -rf "$work/hooks"/*
	tap_expect "  the next upgrade succeeds" ok "Active image is now" ku upgrade --source "oci-layout:$work/layout:v2"
	umount "$mnt" && mnt=""
else
	tap_ok "# SKIP ENOSPC tests need root (loop mount)"
fi

# ---- hostile layer sizes in the space estimate --------------------------------
# (2^63-1) + (2^63-1) + 3 wraps to 1 in 64 bits: the pre-flight must not
# take it for a 1-byte image.
installed_node "$work/sizes"
python3 tests/lib/oci_edit.py claim-sizes "$work/layout" v1 wrapped 9223372036854775807 9223372036854775807 3
cp -a "$S" "$work/before-sizes"
tap_expect "pre-flight: claimed layer sizes summing past 2^64 do not wrap" fail "Not enough space.*needs about" \
	ku upgrade --source "oci-layout:$work/layout:wrapped"
tap_check "  nothing written" diff -r "$S" "$work/before-sizes" -x .kairos-upgrade.lock

# ---- two upgrades at once -----------------------------------------------------

installed_node "$work/s"
(ku upgrade --source "oci-layout:$work/layout:v2" >"$work/c1.log" 2>&1; echo $? >"$work/c1.rc") &
(ku upgrade --source "oci-layout:$work/layout:v2" >"$work/c2.log" 2>&1; echo $? >"$work/c2.rc") &
wait
tap_check "two upgrades at once: one runs, the other refuses (or finds it done)" sh -c \
	"cat '$work/c1.log' '$work/c2.log' | grep -qE 'Another kairos-upgrade|already the active' && test \"\$(cat '$work/c1.rc' '$work/c2.rc' | sort | tr -d '\n')\" != 11"
tap_check "  the state is consistent: v2 active, v1 passive" test "$(json '.slots.active.image + "," + .slots.passive.image')" = "$V2,$V1"

# ---- kill at every fault point --------------------------------------------

# sweep NAME SETUP RERUN CMD...: count CMD's fault points on a fresh node,
# then kill it at each one. After each kill the slot map must be the one
# before CMD or the one after it, never anything between, and the state
# must decide a complete image; with RERUN=rerun, running CMD again must
# succeed (rollback is not idempotent: a second one swaps back).
# The slot map and counter as the boot sees them (not the install times).
slots() { ku_state status --json | jq -c '[(.slots[] | if . then {image, status, generation} else null end), .boot_next, .tries_left]'; }
# rerun-again: a rerun after the commit is a new reset (reset --auto commits
# every time, so that the loop guard counts it): the same slots, a newer generation.
slots_again() { ku_state status --json | jq -c '[(.slots[] | if . then {image, status} else null end), .boot_next, .tries_left]'; }
sweep() {
	local name=$1 setup=$2 rerun=$3 n points before after after_again now step=1 failures=""
	shift 3
	installed_node "$work/s" && $setup
	rm -rf "$work/sweep0" && cp -a "$S" "$work/sweep0"
	before=$(slots)
	points=$(KAIROS_FAULT_TRACE=1 "$@" 2>&1 >/dev/null | grep -c '^fault-point')
	after=$(slots) after_again=$(slots_again)
	[ "$KILL_SWEEP" = all ] || step=$KILL_SWEEP
	for ((n = 1; n <= points; n += step)); do
		rm -rf "$S" && cp -a "$work/sweep0" "$S"
		[ -z "${SWEEP_HOOK:-}" ] || $SWEEP_HOOK pre
		KAIROS_FAULT_KILL_AT=$n "$@" >/dev/null 2>&1
		[ $? -eq 137 ] || failures="$failures $n:not-killed"
		now=$(slots)
		[ -z "${SWEEP_HOOK:-}" ] || $SWEEP_HOOK post || failures="$failures $n:$SWEEP_HOOK"
		[ "$now" = "$before" ] || [ "$now" = "$after" ] || failures="$failures $n:half-state"
		decides_complete_image || failures="$failures $n:no-complete-image"
		[ "$rerun" = no-rerun ] && continue
		"$@" >/dev/null 2>&1 || failures="$failures $n:rerun-failed"
		if [ "$rerun" = rerun-again ]; then
			[ "$(slots_again)" = "$after_again" ] || failures="$failures $n:rerun-differs"
		else
			[ "$(slots)" = "$after" ] || failures="$failures $n:rerun-differs"
		fi
		decides_complete_image || failures="$failures $n:rerun-no-image"
	done
	if [ -z "$failures" ] && [ "$points" -gt 0 ]; then
		local also=""
		[ "$rerun" != no-rerun ] && also=", and a rerun completes it"
		tap_ok "kill at each of $points fault points of $name (every $step): old or new state, a complete image$also"
	else
		tap_not_ok "kill at fault points of $name ($points points)" "failures:$failures"
	fi
	echo "# kill points: $name $points"
}
no_setup() { :; }
upgraded() { ku upgrade --source "oci-layout:$work/layout:v2" >/dev/null 2>&1; }
upgraded_twice() { upgraded && ku upgrade --source "oci-layout:$work/layout:v1" --allow-downgrade >/dev/null 2>&1; } # v2 passive
# And kills at spread times while the image data streams in (between fault
# points), on an image big enough to take a while.
timed_failures=""
for delay in 0.05 0.15 0.3 0.5 0.8; do
	installed_node "$work/s"
	before=$(slots)
	# The binary itself in the background (not the ku function's subshell),
	# so that kill -9 stops it the way a power cut would.
	"$K" upgrade --source "oci-layout:$work/layout:big" --state-dir "$S" --boot-record "$work/boot.json" \
		--hooks-dir "$work/hooks" --progress=none >/dev/null 2>&1 &
	sleep "$delay"
	kill -9 $! 2>/dev/null
	wait $! 2>/dev/null
	now=$(slots)
	[ "$now" = "$before" ] || [ "$(json .slots.active.image)" = "$(image_id big)" ] || timed_failures="$timed_failures $delay:half-state"
	decides_complete_image || timed_failures="$timed_failures $delay:no-complete-image"
	# (big may have landed before the kill: v2, built before it, is then older)
	ku upgrade --source "oci-layout:$work/layout:v2" --allow-downgrade >/dev/null 2>&1 ||
		timed_failures="$timed_failures $delay:next-upgrade-failed"
	[ -z "$(ls -A "$S/images" | grep tmp)" ] || timed_failures="$timed_failures $delay:temporaries-left"
done
if [ -z "$timed_failures" ]; then
	tap_ok "kill -9 at 5 times during the image build: old state, complete image, next upgrade cleans up and succeeds"
else
	tap_not_ok "kill -9 during the image build" "failures:$timed_failures"
fi

sweep "upgrade" no_setup rerun ku upgrade --source "oci-layout:$work/layout:v2"
sweep "upgrade --recovery" no_setup rerun ku upgrade --recovery --source "oci-layout:$work/layout:v2"
# upgrade --force of the image a slot already holds: the builder's rename
# replaces images/<id>.squashfs before the commit. GRUB, which does not
# replay the journal, may see the old directory entry after a power cut: until
# the commit the old file must stay linked (its blocks never reused), and
# nothing of it may stay once the commit is done.
old_file_kept() { # pre|post: the old image's inode, then still linked until the commit
	if [ "$1" = pre ]; then read -r kept_inode kept_size < <(stat -c '%i %s' "$S/images/$V2.squashfs"); return 0; fi
	# (the size too: a freed inode number is soon given to another file)
	[ "$now" != "$before" ] || find "$S/images" -inum "$kept_inode" -size "${kept_size}c" | grep -q .
}
# (no rerun: each --force is a new installation, a new generation)
SWEEP_HOOK=old_file_kept sweep "upgrade --force of the active image" upgraded no-rerun \
	ku upgrade --force --source "oci-layout:$work/layout:v2"
upgraded && ku upgrade --force --source "oci-layout:$work/layout:v2" >/dev/null 2>&1
tap_check "  --force of the active image: the old file is released after the commit" \
	test "$(ls -A "$S/images" | grep -c tmp)/$(json .slots.active.image)" = "0/$V2"
SWEEP_HOOK=old_file_kept sweep "upgrade to the passive image" upgraded_twice rerun \
	ku upgrade --source "oci-layout:$work/layout:v2"
sweep "mark-good" upgraded rerun ku_state mark-good
# mark-corrupt (udev, issue 17): the booted, confirmed v1 committed bad once.
booted_v1() { echo '{"slot":"active","reason":"confirmed","image":"'"$V1"'"}' >"$work/boot.json"; }
echo root=kairos >"$work/cmdline" && mkdir -p "$work/oem"
sweep "mark-corrupt" booted_v1 rerun ku_state mark-corrupt kairos-active 0,5 --no-reboot --cmdline "$work/cmdline" \
	--oem-dir "$work/oem"
rm -f "$work/boot.json"
sweep "rollback" upgraded no-rerun ku_state rollback
sweep "boot-next" no_setup rerun ku_state boot-next recovery

# ---- reset from recovery ----------------------------------------------------

# A node that fell back to recovery: v2 active and v1 passive both bad, the
# v1 recovery image on a recovery partition of its own ($RDIR), passive's
# copy of it gone from the state partition, booted from recovery.
RDIR=$work/rec
in_recovery() {
	ku upgrade --source "oci-layout:$work/layout:v2" >/dev/null 2>&1 || return 1
	rm -rf "$RDIR" && mkdir -p "$RDIR/images"
	cp "$S/images/$V1.squashfs" "$S/images/$V1.json" "$S/images/$V1.index" "$RDIR/images/"
	rm -f "$S/images/$V1.squashfs" "$S/images/$V1.json" "$S/images/$V1.index"
	grub-editenv "$S/state.env" set kairos_active_status=bad kairos_passive_status=bad
	booted recovery fallback
}
booted() { # SLOT REASON
	echo "{\"slot\":\"$1\",\"reason\":\"$2\",\"image\":\"$V1\",\"why\":\"test\"}" >"$work/rec-boot.json"
}
ku_reset() { "$K" reset --state-dir "$S" --recovery-dir "$RDIR" --boot-record "$work/rec-boot.json" --progress=none "$@"; }
rjson() { "$K" status --json --state-dir "$S" --recovery-dir "$RDIR" --boot-record "$work/rec-boot.json" | jq -r "$1"; }
rsum() { sha256sum "$RDIR"/images/* | sha256sum; }

installed_node "$work/s" && in_recovery
booted active confirmed
tap_expect "reset: refused when booted from active, with why" fail 'only when booted from recovery.*booted active' ku_reset
rm -f "$work/rec-boot.json"
tap_expect "reset: refused without a boot record" fail 'only when booted from recovery' ku_reset
booted recovery fallback
tap_check "  (the refusals changed nothing)" test "$(rjson '.slots.active.image + "," + .slots.active.status')" = "$V2,bad"
rec_before=$(rsum)
tap_expect "reset from recovery: the recovery image becomes active" ok 'active is now image .* from the recovery image' ku_reset
tap_check "  active v1 new with fresh tries, passive empty, recovery as it was" test \
	"$(rjson '[.slots.active.image, .slots.active.status, .tries_left, .slots.passive, .slots.recovery.image, .next_boot.slot] | map(tostring) | join(",")')" = "$V1,new,3,null,$V1,active"
tap_check "  the image was copied to the state partition, whole; the old ones removed" sh -c \
	"cmp '$RDIR/images/$V1.squashfs' '$S/images/$V1.squashfs' && test ! -e '$S/images/$V2.squashfs'"
tap_check "  its kernel and initrd beside the copy (recovery's in the old layout), v2's removed" sh -c \
	"$(declare -f beside_is_inside); beside_is_inside '$S' '$V1' && test ! -e '$S/images/$V2.vmlinuz' && test ! -e '$S/images/$V2.initrd'"
tap_check "  its layer index copied with it (the next upgrade FROM it fetches only new layers)" \
	cmp "$RDIR/images/$V1.index" "$S/images/$V1.index"
tap_check "  the recovery partition was not written" test "$(rsum)" = "$rec_before"
tap_check "  state.env has the copy's verity record, the recovery image's" test \
	"$(env_key kairos_active_verity)" = "$(record_of "$RDIR/images/$V1.json")"
inode=$(stat -c '%i %Y' "$S/state.env")
sleep 1.1
tap_expect "reset again: nothing to commit" ok 'already image .*nothing to commit' ku_reset
tap_check "  (state.env untouched)" test "$(stat -c '%i %Y' "$S/state.env")" = "$inode"

mkdir -p "$work/pers/.state/home"
echo data >"$work/pers/.state/home/file"
ku_reset >/dev/null 2>&1
tap_check "reset without --wipe-persistent keeps persistent data" test -f "$work/pers/.state/home/file"
tap_expect "reset --wipe-persistent empties the persistent directory" ok 'persistent data wiped' \
	ku_reset --wipe-persistent --persistent-dir "$work/pers"
tap_check "  (empty, the directory itself kept)" test -d "$work/pers" -a -z "$(ls -A "$work/pers")"
tap_expect "reset --auto --wipe-persistent is refused" fail 'never wipes' ku_reset --auto --wipe-persistent

installed_node "$work/s" && in_recovery
before=$(ls -a "$S" "$S/images"; cat "$S/state.env")
tap_expect "reset --source of an image without /boot/vmlinuz is refused, with why" fail 'has no /boot/vmlinuz' \
	ku_reset --source "oci-layout:$work/layout:nokernel"
tap_check "  state and images unchanged" test "$(ls -a "$S" "$S/images"; cat "$S/state.env")" = "$before"
# The install path is upgrade's: the same pre-flight before anything is written.
tap_expect "reset --source: an image that cannot fit is refused before writing" fail "Not enough space.*needs about" \
	ku_reset --source "oci-layout:$work/layout:wrapped" --allow-downgrade
tap_check "  state and images unchanged" test "$(ls -a "$S" "$S/images"; cat "$S/state.env")" = "$before"
tap_expect "reset --source: active from a registry or layout instead" ok "active is now image .* from oci-layout" \
	ku_reset --source "oci-layout:$work/layout:v2"
tap_check "  active v2, passive empty, recovery v1" test \
	"$(rjson '[.slots.active.image, .slots.passive, .slots.recovery.image] | map(tostring) | join(",")')" = "$V2,null,$V1"

# The copy's .json is what the commit reads the record from: an invalid one
# is refused before the commit; one without a record (an image from before
# the tree) commits no key.
installed_node "$work/s" && in_recovery
jq '.verity.data_blocks = "12"' "$RDIR/images/$V1.json" >"$S/images/$V1.json"
before=$(cat "$S/state.env")
tap_expect "reset: an invalid verity record in the image's .json is refused, naming it" fail \
	"$V1.json: the verity record is invalid.*not committed" ku_reset
tap_check "  state.env unchanged" test "$(cat "$S/state.env")" = "$before"
jq 'del(.verity)' "$RDIR/images/$V1.json" >"$S/images/$V1.json"
tap_expect "reset: an image without a verity record commits" ok 'active is now image' ku_reset
tap_check "  with no verity key for it" test -z "$(env_key kairos_active_verity)"

# A lost slot map: recovery boots the newest image there; reset writes a whole map.
installed_node "$work/s" && in_recovery
head -c 1024 /dev/zero >"$S/state.env"
tap_expect "reset with state.env damaged writes a whole new map" ok 'active is now image' ku_reset
tap_check "  active and recovery both the booted recovery image" test \
	"$(rjson '[.slots.active.image, .slots.active.status, .slots.recovery.image] | join(",")')" = "$V1,new,$V1"

# --auto: what kairos-recovery.service runs at every boot.
echo "root=kairos" >"$work/cmdline-off"
echo "root=kairos kairos.recovery=auto" >"$work/cmdline-auto"
echo "root=kairos kairos.reset=1" >"$work/cmdline-reset"
mkdir -p "$work/oem-empty" "$work/oem-auto"
echo "recovery=auto" >"$work/oem-auto/kairos.conf"
auto() { ku_reset --auto --cmdline "$work/cmdline-$1" --oem-dir "$work/oem-$2"; }
installed_node "$work/s" && in_recovery
tap_expect "reset --auto, policy unset: declines (exit 0) and says why" ok 'not resetting: automated recovery is off' auto off empty
tap_check "  nothing changed; status shows how recovery was reached and the outcome" test \
	"$(rjson '[.slots.active.image, .recovery.reached_by, .recovery.automation.action] | join(",")')" = "$V2,fallback,declined"
booted recovery one-shot
tap_expect "reset --auto after a one-shot choice of recovery: declines" ok 'not reached by fallback' auto auto empty
booted recovery fallback
tap_expect "reset --auto with recovery=auto in kairos.conf on COS_OEM: resets" ok 'automated reset 1 of at most 2' auto off auto
tap_check "  counted for the loop guard; status says so" test "$(rjson '[.recovery.auto_resets, .recovery.automation.action, .slots.active.image] | map(tostring) | join(",")')" = "1,reset,$V1"
tap_expect "status (text) shows the count" ok 'Auto reset: 1 of at most 2' "$K" status --state-dir "$S" --boot-record "$work/rec-boot.json"
grub-editenv "$S/state.env" set kairos_active_status=bad
tap_expect "the healed active failed: kairos.recovery=auto on the command line resets again" ok 'automated reset 2 of at most 2' auto auto empty
grub-editenv "$S/state.env" set kairos_active_status=bad
tap_expect "and again: the loop guard stops it" ok 'loop guard: 2 automated resets' auto auto auto
tap_check "  nothing changed; status says declined" test "$(rjson '[.slots.active.status, .recovery.automation.action, .recovery.auto_resets] | map(tostring) | join(",")')" = "bad,declined,2"
tap_expect "kairos.reset=1 (GRUB's reset entry) resets past the guard, as a person's reset" ok 'active is now image' auto reset empty
tap_check "  the count starts over" test "$(rjson .recovery.auto_resets)" = 0
booted active confirmed
tap_expect "reset --auto when booted active: nothing, silently" ok '^$' auto auto auto
booted recovery fallback
grub-editenv "$S/state.env" set kairos_active_status=bad kairos_auto_resets=1
ku_state() { "$K" "$@" --state-dir "$S" --boot-record "$work/act-boot.json"; }
echo "{\"slot\":\"active\",\"reason\":\"trying\",\"image\":\"$V1\"}" >"$work/act-boot.json"
grub-editenv "$S/state.env" set kairos_active_status=new
ku_state mark-good >/dev/null 2>&1
tap_check "mark-good of the healed active clears the loop guard's count" test "$(rjson .recovery.auto_resets)" = 0
# The healed active's copy is damaged so that GRUB cannot load it: recovery by
# fallback again, and the map already says "reset to this image". The reset
# must replace the copy and commit, counted, never reboot uncounted (issue 18 #1).
booted recovery fallback
printf 'damaged' | dd of="$S/images/$V1.squashfs" bs=1 seek=0 conv=notrunc 2>/dev/null
tap_expect "reset --auto when the map already names the recovery image: commits" ok 'active is now image' auto auto empty
tap_check "  counted by the loop guard" test "$(rjson .recovery.auto_resets)" = 1
tap_check "  the damaged copy was replaced by a whole one" cmp -s "$RDIR/images/$V1.squashfs" "$S/images/$V1.squashfs"
ku_state() { "$K" "$@" --state-dir "$S" --boot-record "$work/boot.json"; }

sweep "reset" in_recovery rerun ku_reset
sweep "reset --auto" in_recovery rerun-again ku_reset --auto --cmdline "$work/cmdline-auto" --oem-dir "$work/oem-empty"
sweep "reset --source" in_recovery rerun ku_reset --source "oci-layout:$work/layout:v2"
tap_done
