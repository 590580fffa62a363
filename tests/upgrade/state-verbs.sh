#!/bin/bash
# status, mark-good, mark-bad, rollback and boot-next on a state directory,
# through the real kairos-upgrade binary. Prints TAP.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KAIROS_UPGRADE:-build/kairos-upgrade}
work=$(mktemp -d /tmp/kairos-state-verbs.XXXXXX)
trap 'rm -rf "$work"' EXIT

A=$(printf 'a%.0s' $(seq 64)) B=$(printf 'b%.0s' $(seq 64)) R=$(printf 'c%.0s' $(seq 64))

# A node after an upgrade: new active A (3 tries), confirmed passive B, recovery R.
fresh_state() {
	rm -rf "$work/s" && mkdir -p "$work/s/images"
	grub-editenv "$work/s/state.env" create
	grub-editenv "$work/s/state.env" set kairos_tries_max=3 kairos_gen=3 \
		kairos_active=$A kairos_active_status=new kairos_active_gen=3 \
		kairos_passive=$B kairos_passive_status=good kairos_passive_gen=2 \
		kairos_recovery=$R kairos_recovery_status=good kairos_recovery_gen=1
	for id in $A $B $R; do : >"$work/s/images/$id.squashfs"; done
	echo '{"source":"oci:127.0.0.1:5000/os:v2","digest":"sha256:'$A'","size":1048576,"installed":"2026-11-23T10:00:00Z"}' \
		>"$work/s/images/$A.json"
}
record() { # slot reason image
	echo "{\"slot\":\"$1\",\"reason\":\"$2\",\"image\":\"$3\",\"why\":\"test\"}" >"$work/boot.json"
}
ku() { "$K" "$@" --state-dir "$work/s" --boot-record "$work/boot.json"; }
json() { ku status --json | jq -r "$1"; }

fresh_state
rm -f "$work/boot.json"
tap_expect "status prints the slots" ok 'active +new, 3/3 tries left' ku status
tap_check "status --json is valid and complete" test "$(json '[.slots.active.status, .slots.passive.image[0:4], .tries_left, .next_boot.slot, .slots.active.source] | join(",")')" = "new,bbbb,3,active,oci:127.0.0.1:5000/os:v2"
tap_expect "status without a boot record says so" ok 'Booted: +unknown' ku status
# Each row's image id starts under IMAGE, whatever its status text says.
columns_aligned() {
	ku status | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
col = next(l for l in lines if l.startswith("SLOT ")).index("IMAGE")
rows = [l for l in lines if re.match(r"(active|passive|recovery) ", l) and "empty" not in l]
bad = [l for l in rows if not re.match(r"[0-9a-f]{12} ", l[col:])]
print("\n".join(bad)); sys.exit(1 if bad or not rows else 0)'
}
tap_check "status: columns line up after a long status text (new, 3/3 tries left)" columns_aligned
# The bytes the pull received, from the .json; older metadata has none:
# nothing shown rather than a guess.
tap_check "status: no received line for metadata without it" sh -c "! '$K' status --state-dir '$work/s' --boot-record '$work/boot.json' | grep received"
echo '{"source":"oci:127.0.0.1:5000/os:v1","digest":"sha256:'$B'","size":2097152,"installed":"2026-11-22T10:00:00Z","received":123635098}' \
	>"$work/s/images/$B.json"
tap_expect "status shows the bytes received for an image" ok '^ +received 117\.9 MiB when pulled$' ku status
received_under() { ku status | awk '/^[a-z]/ { slot = $1 } /received/ { print slot }'; }
tap_check "  only under that image's row" test "$(received_under)" = passive
rm -f "$work/s/images/$B.json"
grub-editenv "$work/s/counter.env" create
grub-editenv "$work/s/counter.env" set kairos_tries=0 kairos_tries_gen=3
tap_expect "status: an active that spent all its tries is shown failed, not new" ok 'active +failed, 0/3 tries left' ku status
tap_check "  columns still line up" columns_aligned
rm -f "$work/s/counter.env"

record active trying $A
before=$(stat -c '%i %Y' "$work/s/state.env")
tap_expect "mark-good confirms the booted active" ok 'marked good' ku mark-good
tap_check "status shows it confirmed" test "$(json .slots.active.status)" = good
after=$(stat -c '%i %Y' "$work/s/state.env")
tap_check "mark-good replaced state.env (one atomic rename)" test "$before" != "$after"
sleep 1.1
tap_expect "a second mark-good changes nothing" ok 'already confirmed' ku mark-good
tap_check "  (state.env untouched: same inode and mtime)" test "$(stat -c '%i %Y' "$work/s/state.env")" = "$after"

# Issue 17, mechanism 2: boots of the confirmed active that did not come up
# (kairos_active_unconfirmed, counted at boot) are cleared by the healthy
# boot's mark-good, which also arms the count: GRUB and kairos-boot count
# only a key present for the active's generation (an older release's
# mark-good never clears it). Written only when it is not 0 for this one.
counter_val() { grub-editenv "$work/s/counter.env" list | sed -n "s/^$1=//p"; }
tap_check "  the confirmation armed the count (counter.env: 0 for generation 3)" test "$(counter_val kairos_active_unconfirmed),$(counter_val kairos_tries_gen)" = "0,3"
grub-editenv "$work/s/counter.env" create
grub-editenv "$work/s/counter.env" set kairos_tries=3 kairos_tries_gen=3 kairos_boot_next=
tap_expect "mark-good of a confirmed active without the key arms the count" ok 'counted from now on' ku mark-good
tap_check "  counter.env says 0, tries and generation kept" test "$(counter_val kairos_active_unconfirmed),$(counter_val kairos_tries),$(counter_val kairos_tries_gen)" = "0,3,3"
tap_check "  state.env untouched" test "$(stat -c '%i %Y' "$work/s/state.env")" = "$after"
cbefore=$(stat -c '%i %Y %s' "$work/s/counter.env")
sleep 1.1
ku mark-good >/dev/null 2>&1
tap_check "  a second mark-good writes nothing (counter.env: same inode and mtime)" test "$(stat -c '%i %Y %s' "$work/s/counter.env")" = "$cbefore"
grub-editenv "$work/s/counter.env" set kairos_active_unconfirmed=1
tap_expect "mark-good of the confirmed active clears its count of boots that did not come up" ok '1 boot that did not come up cleared' ku mark-good
tap_check "  counter.env says 0, tries and generation kept" test "$(counter_val kairos_active_unconfirmed),$(counter_val kairos_tries),$(counter_val kairos_tries_gen)" = "0,3,3"
cbefore=$(stat -c '%i %Y %s' "$work/s/counter.env")
sleep 1.1
ku mark-good >/dev/null 2>&1
tap_check "  a mark-good with no count writes nothing (counter.env: same inode and mtime)" test "$(stat -c '%i %Y %s' "$work/s/counter.env")" = "$cbefore"
grub-editenv "$work/s/counter.env" set kairos_active_unconfirmed=2 kairos_tries_gen=2
tap_expect "status: a count of another generation is not armed: the active boots" ok 'Next boot: +active: confirmed good' ku status
tap_expect "mark-good arms it for the active's generation (another's count is stale)" ok 'counted from now on' ku mark-good
tap_check "  counter.env says 0 for generation 3" test "$(counter_val kairos_active_unconfirmed),$(counter_val kairos_tries_gen)" = "0,3"
grub-editenv "$work/s/counter.env" set kairos_active_unconfirmed=2 kairos_tries_gen=3
tap_expect "status: a confirmed active that did not come up twice in a row is passed over" ok 'Next boot: +fallback to passive: confirmed active did not come up twice in a row' ku status
tap_check "  status --json: next boot passive" test "$(json .next_boot.slot)" = passive
grub-editenv "$work/s/counter.env" set kairos_active_unconfirmed=x
tap_expect "status: a count that is not a digit is a damaged counter (defaults)" ok 'boot counter was damaged' ku status
tap_check "  and the active boots" test "$(json .next_boot.slot)" = active
rm -f "$work/s/counter.env"

echo '{"slot":"active","reason":"confirmed","image":"'$A'","why":"test","persistent":{"status":"failed","error":"/home: No space left on device"}}' >"$work/boot.json"
tap_expect "status warns when persistent paths are on tmpfs, and why" ok 'Warning: +persistent paths are on tmpfs .*failed: /home: No space left' ku status
echo '{"slot":"active","reason":"confirmed","image":"'$A'","why":"test","persistent":{"status":"refused","error":"COS_PERSISTENT is only on another disk than the state partition'"'"'s: refused"},"warnings":["label COS_PERSISTENT: /dev/sda refused (not on the state partition'"'"'s disk)"]}' >"$work/boot.json"
tap_expect "status warns when a persistent partition on another disk was refused" ok 'Warning: +persistent paths are on tmpfs .*refused: COS_PERSISTENT is only on another disk' ku status
tap_expect "status shows the boot record's warnings" ok 'Warning: +at boot: label COS_PERSISTENT: /dev/sda refused' ku status
tap_check "status --json carries them" test "$(json '.booted.persistent.status + " " + (.booted.warnings[0]|split(" (")[0])')" = "refused label COS_PERSISTENT: /dev/sda refused"

fresh_state
record active trying $A
ku mark-bad >/dev/null 2>&1
tap_check "mark-bad: the next boot falls back to passive" test "$(json .next_boot.slot)" = passive
tap_check "mark-bad: the reason is recorded" test "$(json .slots.active.reason)" = "marked bad by kairos-upgrade mark-bad"

# The slots rotated after boot (upgrade committed, no reboot): the booted
# image, now in passive, is the one mark-good confirms.
fresh_state
grub-editenv "$work/s/state.env" set kairos_passive_status=new
record active trying $B
ku mark-good >/dev/null 2>&1
tap_check "mark-good follows the booted image, not the slot name" test "$(json '.slots.passive.status + "," + .slots.active.status')" = "good,new"
record recovery one-shot $R
tap_expect "mark-bad refuses recovery, saying why" fail 'recovery, which always boots' ku mark-bad

fresh_state
record active trying $A
ku rollback >/dev/null 2>&1
tap_check "rollback swaps active and passive, active confirmed" test "$(json '[.slots.active.image[0:1], .slots.active.status, .slots.passive.image[0:1]] | join(",")')" = "b,good,a"
tap_expect "rollback onto an unconfirmed passive is refused" fail 'not confirmed good' ku rollback
grub-editenv "$work/s/state.env" set kairos_passive=
tap_expect "rollback with an empty passive is refused" fail 'Passive is empty' ku rollback

fresh_state
ku boot-next recovery >/dev/null
tap_check "boot-next recovery: next boot is recovery, one-shot recorded" test "$(json '.next_boot.why + "," + .boot_next')" = "recovery: one-shot choice,recovery"
tap_check "boot-next writes counter.env in place, readable by grub-editenv" sh -c "grub-editenv '$work/s/counter.env' list | grep -qx 'kairos_boot_next=recovery'"
grub-editenv "$work/s/state.env" set kairos_passive=
tap_expect "boot-next to an empty slot is refused" fail 'passive slot is empty' ku boot-next passive
tap_expect "boot-next to an unknown slot is refused" fail 'Unknown slot' ku boot-next sideways

# One change at a time: a held lock makes a second writer refuse, naming the holder.
fresh_state
record active trying $A
exec 9>"$work/s/.kairos-upgrade.lock"
flock 9
echo 4242 >&9
tap_expect "a second writer refuses while the lock is held" fail 'Another kairos-upgrade \(pid 4242\)' ku mark-bad
exec 9>&-
tap_check "  and the state is unchanged" test "$(json .slots.active.status)" = new
# mark-good (kairos-mark-good.service at boot) waits for a running upgrade
# instead of leaving the healthy image unconfirmed (issue 18 #9).
(exec 9>"$work/s/.kairos-upgrade.lock" && flock 9 && sleep 2) &
holder=$!
while flock -n "$work/s/.kairos-upgrade.lock" true; do sleep 0.05; done # until the holder has it
tap_expect "mark-good waits for the lock an upgrade holds" ok 'waiting up to' ku mark-good
wait $holder
tap_check "  then confirms" test "$(json .slots.active.status)" = good

# A verdict stands: mark-good never turns bad back into good (a rollback or a
# mark-bad since this boot), and never confirms a root whose own kernel has
# not run (GRUB loaded another slot's kernel, whose root did not mount).
fresh_state
record active trying $A
ku mark-bad >/dev/null 2>&1
tap_expect "mark-good refuses an image marked bad, saying why" fail 'marked bad .*not confirming' ku mark-good
tap_check "  it stays bad" test "$(json .slots.active.status)" = bad
fresh_state
echo '{"slot":"active","reason":"fallback","image":"'$A'","kernel_image":"'$B'","why":"test"}' >"$work/boot.json"
tap_expect "mark-good does not confirm a root booted under another image's kernel" ok 'kernel of image bbbb.*not confirming' ku mark-good
tap_check "  it stays new" test "$(json .slots.active.status)" = new

# Damaged or missing state: a clear error, nothing written.
fresh_state
head -c 1024 /dev/urandom >"$work/s/state.env"
cp "$work/s/state.env" "$work/damaged"
tap_expect "damaged state.env: clear error" fail 'state.env is damaged' ku mark-good
tap_check "  and the file is left as it was" cmp -s "$work/s/state.env" "$work/damaged"
rm -f "$work/s/state.env"
tap_expect "no state.env: says to install first" fail 'install the node first' ku status
tap_expect "missing state directory: names it" fail 'nonexistent' "$K" status --state-dir "$work/nonexistent"

# A live system (kairos.live=): no state partition, only the record.
echo '{"slot":"live","reason":"live","image":null,"why":"live: /kairos/os.squashfs on /dev/sr0 (KAIROS_LIVE)"}' >"$work/live.json"
tap_expect "status on a live system: what booted, nothing installed" ok 'Booted: +live \(live: /kairos' \
	"$K" status --boot-record "$work/live.json"
tap_check "status --json on a live system" test "$("$K" status --json --boot-record "$work/live.json" | jq -r '[.booted.slot, (.slots|tostring)] | join(",")')" = live,null
tap_expect "mark-good on a live system fails, naming the missing state" fail 'state partition mounted' "$K" mark-good --boot-record "$work/live.json"

# ---- mark-corrupt: a corrupt block the kernel read (udev, issue 17) ----------
# The uevent gives the device's name (kairos-SLOT at boot) and TYPE,BLOCK.
mkdir -p "$work/oem"
echo 'root=kairos' >"$work/cmdline"
kc() { ku mark-corrupt "$@" --no-reboot --cmdline "$work/cmdline" --oem-dir "$work/oem"; }
confirmed_node() { # a confirmed active A booted, confirmed passive B, recovery R
	fresh_state
	grub-editenv "$work/s/state.env" set kairos_active_status=good
	record active confirmed $A
}
confirmed_node
tap_expect "mark-corrupt kairos-active 0,1234 (the uevent's values): the booted active committed bad" ok \
	'active \(image aaaaaaaaaaaa\) marked bad: dm-verity: data block 1234 of image aaaaaaaaaaaa corrupt; next boot: fallback to passive' \
	kc kairos-active 0,1234
tap_check "  status --json: active bad, the reason names the block and the image" test \
	"$(json '.slots.active.status + "," + .slots.active.reason')" = "bad,dm-verity: data block 1234 of image aaaaaaaaaaaa corrupt"
tap_expect "  status (text) shows the reason" ok 'bad because: dm-verity: data block 1234 of image aaaaaaaaaaaa corrupt' ku status
tap_check "  the reason fits state.env's reason bound" test \
	"$(grub-editenv "$work/s/state.env" list | sed -n 's/^kairos_active_reason=//p')" = "dm-verity: data block 1234 of image aaaaaaaaaaaa corrupt"
confirmed_node
tap_expect "  the running active: a reboot is asked for (policy not set: on), said in the log" ok \
	'Would reboot now \(automated recovery not set, default\)' kc active 0 1234
before=$(stat -c '%i %Y' "$work/s/state.env")
sleep 1.1
tap_expect "mark-corrupt again (the rule fires once per block): nothing changed, exit 0" ok \
	'already marked bad \(dm-verity: data block 1234 of image aaaaaaaaaaaa corrupt\); nothing changed' kc active 0 99
tap_check "  state.env untouched (same inode and mtime), and no reboot asked for" sh -c \
	"[ \"\$(stat -c '%i %Y' '$work/s/state.env')\" = '$before' ] && ! '$K' mark-corrupt active 0 99 --no-reboot --cmdline '$work/cmdline' --oem-dir '$work/oem' --state-dir '$work/s' --boot-record '$work/boot.json' 2>&1 | grep -q reboot"
confirmed_node
echo 'root=kairos kairos.recovery=manual' >"$work/cmdline"
tap_expect "kairos.recovery=manual: committed bad, no reboot, and the log says why" ok \
	'Not rebooting: automated recovery is off \(kernel command line\)' kc active 1 7
tap_check "  hash block (type 1) named as such" test "$(json .slots.active.reason)" = "dm-verity: hash block 7 of image aaaaaaaaaaaa corrupt"
echo 'root=kairos' >"$work/cmdline"
echo 'recovery=off' >"$work/oem/kairos.conf"
confirmed_node
tap_expect "recovery=off in kairos.conf on COS_OEM: no reboot either" ok \
	'Not rebooting: automated recovery is off \(COS_OEM kairos.conf\)' kc active 0 5
echo 'recovery=auto' >"$work/oem/kairos.conf"
confirmed_node
tap_expect "recovery=auto: the reboot is asked for" ok 'Would reboot now \(automated recovery auto, COS_OEM kairos.conf\)' \
	kc active 0 5
rm -f "$work/oem/kairos.conf"

# Booted A as active, then an upgrade without a reboot: A is passive now.
fresh_state
grub-editenv "$work/s/state.env" set kairos_active=$R kairos_active_status=new kairos_passive=$A \
	kairos_passive_status=good
record active confirmed $A
out=$(kc kairos-active 0 42 2>&1)
rotated_marked() {
	[ "$(json '.slots.passive.status + "," + .slots.passive.reason + "," + .slots.active.status')" = \
		"bad,dm-verity: data block 42 of image aaaaaaaaaaaa corrupt,new" ] && ! grep -qi reboot <<<"$out"
}
tap_check "after an upgrade without reboot: the booted image (now passive) is the one marked bad, no reboot" rotated_marked

# Booted recovery: recovery always boots, so its corruption is a record.
fresh_state
record recovery menu $R
tap_expect "booted recovery: mark-corrupt kairos-recovery records the recovery image corrupt" ok \
	'recovery image cccccccccccc corrupt: data block 77; run upgrade --recovery' kc kairos-recovery 0,77
tap_expect "  status warns: recovery image corrupt, block, run upgrade --recovery" ok \
	'Warning: +recovery image corrupt: data block 77; run upgrade --recovery' ku status
tap_check "  status --json: slots.recovery.corrupt; recovery still good (it always boots)" test \
	"$(json '[.slots.recovery.status, (.slots.recovery.corrupt.block|tostring), .slots.recovery.corrupt.area, .slots.active.corrupt] | map(tostring) | join(",")')" = "good,77,data,null"
tap_expect "  again: already recorded, nothing changed" ok 'already recorded corrupt \(block 77\); nothing changed' kc recovery 0 78
grub-editenv "$work/s/state.env" set kairos_recovery=$B
tap_check "  a record naming another image than the recovery slot's applies no more" sh -c \
	"! '$K' status --state-dir '$work/s' --boot-record '$work/boot.json' | grep -q 'recovery image corrupt' && [ \"\$('$K' status --json --state-dir '$work/s' | jq -r .slots.recovery.corrupt)\" = null ]"
printf 'image=%s\nblock=77\narea=data\x1b[2J\n' $B >"$work/s/recovery-corrupt.env"
tap_expect "  a damaged record (a control character in it): ignored with a warning" ok 'recovery-corrupt.env is damaged: ignored' ku status
printf 'image=%s\nblock=99999999999999999999\narea=data\n' $B >"$work/s/recovery-corrupt.env"
tap_expect "  a block number out of bounds: damaged, ignored" ok 'recovery-corrupt.env is damaged: ignored' ku status

# Bad input: a clear error, nothing committed.
confirmed_node
cp "$work/s/state.env" "$work/state.before"
refused() { # NAME PATTERN ARGS...: refused naming the problem, state.env byte-identical
	local name=$1 pattern=$2
	shift 2
	tap_expect "mark-corrupt refuses $name" fail "$pattern" kc "$@"
	tap_check "  nothing committed" cmp -s "$work/s/state.env" "$work/state.before"
}
refused "an unknown slot" "unknown slot 'kairos-bogus'" kairos-bogus 0 1
refused "the live device" "unknown slot 'kairos-live'" kairos-live 0 1
refused "a block type other than 0 or 1" "block type '2' is not" active 2 1
refused "a non-numeric block" "block '12x' is not a block number" active 0 12x
refused "a signed block" "block '\\+1' is not a block number" active 0 +1
refused "a negative block (an unknown option to getopt)" "invalid option" active 0 -1
refused "a block with a leading zero" "block '012' is not a block number" active 0 012
refused "a block past the bound" "block '99999999999999999999' is not a block number" active 0 99999999999999999999
refused "TYPE,BLOCK without a comma" "'0' is not TYPE,BLOCK" kairos-active 0
refused "a missing argument" "takes SLOT TYPE BLOCK" active
refused "a control character, shown escaped" "unknown slot 'x\\\\x1b\[2J'" $'x\e[2J' 0 1
refused "a slot that did not boot (booted active, told passive)" "booted active, not passive" kairos-passive 0 1
rm -f "$work/boot.json"
refused "without a boot record" "no boot record" active 0 1
record active confirmed $(printf 'd%.0s' $(seq 64))
refused "when the booted image is in no slot" "no longer in any slot" active 0 1
tap_expect "mark-corrupt --help" ok '^Usage: kairos-upgrade mark-corrupt SLOT TYPE BLOCK' "$K" mark-corrupt --help

tap_expect "build-iso --help runs kairos-build-iso" ok '^Usage: kairos-build-iso' "$K" build-iso --help
for verb in status mark-good mark-bad rollback boot-next; do
	tap_expect "$verb --help" ok "^Usage: kairos-upgrade $verb" "$K" $verb --help
done
# Strings from a disk (state.env, the boot record, an image's metadata)
# reach the terminal and JSON in their printable form: ESC, CR, BEL, a lone
# 0x9b (CSI), U+009B and bytes that are not UTF-8.
fresh_state
grub-editenv "$work/s/state.env" set kairos_active_status=bad kairos_active_reason=$'x\e[2J\r\a\x9b\xffy'
printf '{"slot":"active","reason":"trying","image":"%s","why":"w\\u001b]0;owned\\u0007\\u009b","persistent":{"status":"failed","error":"e\\u001b[2J\\r"}}\n' $A >"$work/boot.json"
printf '{"source":"s\\u001b[31m\\u009b\\u202e","digest":"sha256:%s","size":1,"installed":"i\\u007f"}\n' $A >"$work/s/images/$A.json"
ku status >"$work/out" 2>&1
tap_check "status prints strings from the disk escaped" sh -c "grep -q 'bad because: x\\\\x1b\[2J\\\\x0d\\\\x07\\\\x9b\\\\xffy' '$work/out' && python3 tests/lib/printable.py '$work/out' || { cat -v '$work/out'; false; }"
ku status --json >"$work/out.json" 2>&1
tap_check "status --json: valid, escaped, the damaged reason kept" sh -c "python3 tests/lib/printable.py '$work/out.json' && test \"\$(jq -r '.slots.active.reason + \",\" + .slots.active.source + \",\" + .booted.why' '$work/out.json')\" = 'x\\x1b[2J\\x0d\\x07\\x9b\\xffy,s\\x1b[31m\\u009b\\u202e,w\\x1b]0;owned\\x07\\u009b' || { cat -v '$work/out.json'; false; }"

tap_done
