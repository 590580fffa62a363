#!/bin/bash
# The anti-downgrade rule of issue 15 (trust/downgrade.h, node/install_age.c)
# through the real binary, on state directories: an image older than the one
# it replaces (by its org.opencontainers.image.version label, else its
# config's created time) is refused before any layer byte, with images/ and
# state.env byte-identical, unless --allow-downgrade; an image with neither
# is accepted with a warning and status says "age unknown"; rollback is not
# an install. Images are OCI layouts built here with umoci, whose configs
# carry the created times and labels (no registry: the rule reads the config
# pull_source fetches for every source alike). Hostile configs (huge,
# control bytes, invalid) count as absent. Prints TAP; runs alone
# (`bash tests/signatures/downgrade.sh`) or from tests/signatures/run.sh.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KAIROS_UPGRADE:-build/kairos-upgrade}
work=$(mktemp -d /tmp/kairos-downgrade.XXXXXX)
trap "${KEEP:+:} rm -rf \"$work\"" EXIT
L=$work/layout
LABEL=org.opencontainers.image.version

# ---- fixtures -------------------------------------------------------------

# TAG from base with config changes made by python on the dict c (or, for
# bytes no JSON writer makes, on raw): a config umoci cannot write.
edit_config() { # FROM NEWTAG PYTHON
	python3 - "$L" "$@" <<'PY'
import hashlib, json, os, sys
layout, src, tag, code = sys.argv[1:5]
def path(d): return os.path.join(layout, "blobs", "sha256", d.split(":", 1)[1])
def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(path(d), "wb").write(data)
    return d
index = json.load(open(os.path.join(layout, "index.json")))
ref = "org.opencontainers.image.ref.name"
desc = next(d for d in index["manifests"] if d.get("annotations", {}).get(ref) == src)
m = json.load(open(path(desc["digest"]), "rb"))
c = json.load(open(path(m["config"]["digest"]), "rb"))
raw = None
exec(code)
raw = raw if raw is not None else json.dumps(c).encode()
m["config"] = dict(m["config"], digest=put(raw), size=len(raw))
body = json.dumps(m).encode()
new = {"mediaType": desc["mediaType"], "digest": put(body), "size": len(body), "annotations": {ref: tag}}
index["manifests"] = [d for d in index["manifests"] if d.get("annotations", {}).get(ref) != tag] + [new]
json.dump(index, open(os.path.join(layout, "index.json"), "w"))
PY
}

make_layout() {
	local t=$work/tars
	mkdir -p "$t/base/boot" "$t/base/etc"
	echo kernel >"$t/base/boot/vmlinuz"
	echo initrd >"$t/base/boot/initrd"
	echo 'VERSION="1"' >"$t/base/etc/os-release"
	tar -C "$t/base" -cf "$t/base.tar" --owner=0 --group=0 .
	umoci init --layout "$L"
	umoci new --image "$L:base"
	umoci raw add-layer --image "$L:base" "$t/base.tar"
	# TAG VERSION CREATED: each a distinct image (the config differs)
	while read -r tag version created; do
		local args=(--created "$created")
		[ "$version" = - ] || args+=(--config.label "$LABEL=$version")
		umoci config --image "$L:base" --tag "$tag" "${args[@]}"
	done <<-LIST
		v1.0 1.0.0 2024-01-01T00:00:00Z
		v1.1 1.1.0 2024-02-01T00:00:00Z
		v1.2 1.2.0 2024-03-01T00:00:00Z
		v1.3 v1.3.0 2024-04-01T00:00:00Z
		v1.2-rebuild-old 1.2.0 2024-02-15T00:00:00Z
		v1.2-rebuild-new 1.2.0 2024-03-15T00:00:00Z
		hotfix 1.1.1 2024-05-01T00:00:00Z
		nolabel-old - 2024-01-15T00:00:00Z
		nolabel-new - 2024-06-01T00:00:00.5+02:00
		rc 1.3.0-rc1 2024-05-01T00:00:00Z
	LIST
	# neither a version nor a created time; a reproducible build's 1970
	edit_config base none 'c.pop("created", None); c.get("config", {}).pop("Labels", None)'
	umoci config --image "$L:base" --tag epoch --created 1970-01-01T00:00:00Z
	# hostile: each older than 1.2.0 / 2024-03-01 if it were read
	edit_config v1.0 h-control "c['config']['Labels']['$LABEL'] = '1.0.0\x1b[2J\x07'; c['created'] = '2024-01-01T00:00:00Z\x1b[31m'"
	edit_config v1.0 h-huge "c['config']['Labels']['$LABEL'] = '1.' + '0' * (1 << 20); c['created'] = '2024-01-01T00:00:00' + '.' + '0' * 100000 + 'Z'"
	edit_config v1.0 h-invalid "c['config']['Labels']['$LABEL'] = '1.0 .0'; c['created'] = '2024-02-30T00:00:00Z'"
	edit_config v1.0 h-types "c['config']['Labels'] = ['$LABEL', '1.0.0']; c['created'] = 1704067200"
	edit_config v1.0 h-label-object "c['config']['Labels']['$LABEL'] = {'v': '1.0.0'}; c['created'] = None"
	edit_config v1.0 h-utf8 "c['config']['Labels']['$LABEL'] = '1.0.0\u00e9'; c['created'] = '2024-01-01T00:00:00\u200bZ'"
	edit_config v1.0 h-notjson 'raw = b"{\"created\": \"2024-01-01T00:00:00Z\", \"config\": {\"Labels\": {\"org.opencontainers.image.version\": \"1.0.0\"" '
	edit_config v1.0 h-nul "raw = json.dumps(c).replace('\"1.0.0\"', '\"1.0.0\\\\u0000\"').encode()"
	# an image index over v1.0 (the config is read through it too)
	python3 tests/lib/oci_edit.py index "$L" idx-v1.0 v1.0
}

image_id() {
	jq -r --arg tag "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $tag) | .digest' \
		"$L/index.json" | sed 's/^sha256://'
}
ku() { "$K" "$@" --state-dir "$S" --boot-record "$work/boot.json" --hooks-dir "$work/hooks" --progress=none; }
ku_state() { "$K" "$@" --state-dir "$S" --boot-record "$work/boot.json"; }
json() { ku_state status --json | jq -r "$1"; }
src() { echo "oci-layout:$L:$1"; }

# A node with TAG active (confirmed) and TAG as recovery.
node() { # DIR TAG
	S=$1
	rm -rf "$S" && mkdir -p "$S"
	grub-editenv "$S/state.env" create
	ku upgrade --source "$(src "$2")" --allow-downgrade >/dev/null 2>&1 &&
		ku_state mark-good >/dev/null 2>&1 &&
		ku upgrade --recovery --source "$(src "$2")" --allow-downgrade >/dev/null 2>&1
}
# Every byte of images/ and state.env (and the recovery partition's images/
# when there is one), names, inodes and times: a refusal must leave them as
# they were. (The lock file beside them holds the pid of each run.)
snapshot() {
	(cd "$S" && sha256sum state.env images/* && ls -lai --time-style=full-iso state.env images)
	[ -z "${RDIR:-}" ] || (cd "$RDIR" && sha256sum images/* && ls -lai --time-style=full-iso images)
}

make_layout >"$work/fixtures.log" 2>&1 || {
	tap_not_ok "build the test images with umoci" "$(tail -20 "$work/fixtures.log")"
	tap_done
	exit 1
}
mkdir -p "$work/hooks"

# refused: upgrade TAG on node S is refused, naming both ages; nothing written
refused() { # NAME TAG PATTERN [ARGS...]
	local name=$1 tag=$2 pattern=$3 before
	shift 3
	before=$(snapshot)
	tap_expect "$name" fail "$pattern" ku upgrade --source "$(src "$tag")" "$@"
	tap_check "  nothing written (images/ and state.env byte-identical)" test "$(snapshot)" = "$before"
}

# ---- the rule --------------------------------------------------------------

node "$work/n" v1.1 || tap_not_ok "set up a node at 1.1.0"
tap_expect "newer version accepted (1.2.0 over 1.1.0)" ok "Active image is now" ku upgrade --source "$(src v1.2)"
tap_check "  its version and created time recorded" test \
	"$(json '[.slots.active.version, .slots.active.created, .slots.active.age_unknown] | map(tostring) | join(",")')" = \
	"1.2.0,2024-03-01T00:00:00Z,false"
ku_state mark-good >/dev/null 2>&1
refused "older version refused (1.0.0 under 1.2.0), naming both and --allow-downgrade" v1.0 \
	"Refusing .*older than the active image.*version 1\.0\.0.*installed: version 1\.2\.0.*--allow-downgrade"
refused "older version refused even when built later (hotfix 1.1.1 of May under 1.2.0)" hotfix \
	"Refusing .*version 1\.1\.1"
refused "older created time refused (no label, January, under March's 1.2.0)" nolabel-old \
	"Refusing .*created 2024-01-15T00:00:00Z.*created 2024-03-01T00:00:00Z"
refused "same version, older rebuild refused (1.2.0 of February under 1.2.0 of March)" v1.2-rebuild-old \
	"Refusing .*version 1\.2\.0, created 2024-02-15"
refused "an older image through an image index refused too (config read via the index)" idx-v1.0 \
	"Refusing .*version 1\.0\.0"
tap_expect "same version, newer rebuild accepted" ok "Active image is now" ku upgrade --source "$(src v1.2-rebuild-new)"
ku_state mark-good >/dev/null 2>&1
tap_expect "newer created, no label, accepted (times decide)" ok "Active image is now" \
	ku upgrade --source "$(src nolabel-new)"
ku_state mark-good >/dev/null 2>&1
node "$work/n1" v1.2
tap_expect "a pre-release of a newer version (1.3.0-rc1 over 1.2.0) accepted" ok "Active image is now" \
	ku upgrade --source "$(src rc)"
ku_state mark-good >/dev/null 2>&1
refused "1.2.0 under 1.3.0-rc1 refused (semver order)" v1.2-rebuild-new \
	"Refusing .*version 1\.2\.0.*installed: version 1\.3\.0-rc1"
tap_expect "the release 1.3.0 (\"v1.3.0\") over its pre-release accepted" ok "Active image is now" \
	ku upgrade --source "$(src v1.3)"

node "$work/n2" v1.2
out=$(ku upgrade --source "$(src none)" 2>&1)
tap_check "neither field: accepted, with the age-unknown warning naming the label to set" sh -c \
	'printf "%s\n" "$1" | grep -q "Cannot tell whether .*age unknown.*org.opencontainers.image.version" &&
	 printf "%s\n" "$1" | grep -q "Active image is now"' - "$out"
tap_check "  status --json: version and created null, age_unknown true" test \
	"$(json '[.slots.active.version, .slots.active.created, .slots.active.age_unknown, .slots.passive.version] | map(tostring) | join(",")')" = \
	"null,null,true,1.2.0"
tap_expect "  status (text) says age unknown under the slot" ok "age unknown: no version label or meaningful created time" ku_state status
tap_expect "  and the next upgrade from it is unknown too: accepted with the warning" ok "Cannot tell whether" \
	ku upgrade --source "$(src v1.0)"
node "$work/n3" v1.2
tap_expect "created 1970-01-01 (reproducible builds) counts as absent: the version pair is missing too, accepted with the warning" \
	ok "Cannot tell whether" ku upgrade --source "$(src epoch)" --force
tap_check "  status --json shows its created time, and age_unknown true" test \
	"$(json '[.slots.active.created, .slots.active.age_unknown] | map(tostring) | join(",")')" = "1970-01-01T00:00:00Z,true"

# ---- --allow-downgrade, rollback --------------------------------------------

node "$work/n4" v1.1
ku upgrade --source "$(src v1.2)" >/dev/null 2>&1 && ku_state mark-good >/dev/null 2>&1
tap_expect "--allow-downgrade installs the older 1.0.0, with a log line" ok \
	"older than the active image.*--allow-downgrade" ku upgrade --source "$(src v1.0)" --allow-downgrade
tap_check "  active is 1.0.0, passive 1.2.0" test "$(json '.slots.active.version + "," + .slots.passive.version')" = "1.0.0,1.2.0"
tap_expect "rollback to the newer passive is unaffected" ok "" ku_state rollback
tap_check "  active is 1.2.0 again" test "$(json .slots.active.version)" = "1.2.0"
node "$work/n5" v1.1
ku upgrade --source "$(src v1.2)" >/dev/null 2>&1
tap_expect "rollback to an older passive (1.1.0 under 1.2.0) is unaffected: not an install" ok "" ku_state rollback
tap_check "  active is 1.1.0" test "$(json .slots.active.version)" = "1.1.0"
tap_expect "boot-next passive is unaffected" ok "" ku_state boot-next passive

# ---- upgrade --recovery: against the recovery image --------------------------

node "$work/n6" v1.1
ku upgrade --source "$(src v1.3)" >/dev/null 2>&1 && ku_state mark-good >/dev/null 2>&1
refused "upgrade --recovery: older than the recovery image (1.0.0 under 1.1.0) refused" v1.0 \
	"Refusing .*older than the recovery image.*installed: version 1\.1\.0" --recovery
tap_expect "upgrade --recovery: compared with the recovery image, not active (1.2.0: older than active 1.3.0, newer than recovery 1.1.0)" \
	ok "Recovery image is now" ku upgrade --recovery --source "$(src v1.2)"
tap_check "  recovery is 1.2.0, active still v1.3.0" test "$(json '.slots.recovery.version + "," + .slots.active.version')" = "1.2.0,v1.3.0"
tap_expect "upgrade --recovery --allow-downgrade installs an older one" ok "Recovery image is now" \
	ku upgrade --recovery --source "$(src v1.0)" --allow-downgrade

# ---- reset --source: against the active image it replaces --------------------

node "$work/n7" v1.1
ku upgrade --source "$(src v1.2)" >/dev/null 2>&1
RDIR=$work/rec
rm -rf "$RDIR" && mkdir -p "$RDIR/images"
V11=$(image_id v1.1)
mv "$S/images/$V11.squashfs" "$S/images/$V11.json" "$RDIR/images/"
grub-editenv "$S/state.env" set kairos_active_status=bad kairos_passive_status=bad
echo "{\"slot\":\"recovery\",\"reason\":\"fallback\",\"image\":\"$V11\",\"why\":\"test\"}" >"$work/rec-boot.json"
ku_reset() { "$K" reset --state-dir "$S" --recovery-dir "$RDIR" --boot-record "$work/rec-boot.json" --progress=none "$@"; }
before=$(snapshot)
tap_expect "reset --source older than the active image (1.0.0 under 1.2.0) refused" fail \
	"Refusing .*older than the active image.*--allow-downgrade" ku_reset --source "$(src v1.0)"
tap_check "  nothing written (images/ and state.env byte-identical)" test "$(snapshot)" = "$before"
tap_expect "reset --allow-downgrade without --source is refused as meaningless" fail "goes with --source" \
	ku_reset --allow-downgrade
tap_expect "reset from the recovery image (1.1.0, older than active) is never refused: it is the floor" ok \
	"active is now image .* from the recovery image" ku_reset
tap_check "  its age copied with it" test "$("$K" status --json --state-dir "$S" --recovery-dir "$RDIR" \
	--boot-record "$work/rec-boot.json" | jq -r .slots.active.version)" = "1.1.0"
tap_expect "reset --source --allow-downgrade installs an older one" ok "active is now image" \
	ku_reset --source "$(src v1.0)" --allow-downgrade

# ---- hostile configs: absent, never shown ------------------------------------

for h in h-control h-huge h-invalid h-types h-label-object h-utf8 h-notjson h-nul; do
	node "$work/h" v1.2
	tap_expect "hostile config ($h): treated as absent, accepted with the warning" ok "Cannot tell whether" \
		ku upgrade --source "$(src "$h")"
	tap_check "  recorded as null, status says age unknown, no control byte on the terminal" sh -c "
		test \"\$(\"$K\" status --json --state-dir '$S' --boot-record '$work/boot.json' | jq -r '[.slots.active.version, .slots.active.created, .slots.active.age_unknown] | map(tostring) | join(\",\")')\" = null,null,true &&
		\"$K\" status --state-dir '$S' --boot-record '$work/boot.json' | grep -q 'age unknown' &&
		! \"$K\" status --state-dir '$S' --boot-record '$work/boot.json' | LC_ALL=C grep -q '[[:cntrl:]]' "
done
# A hostile .json on the disk beside an image (not from pull): read as absent.
node "$work/h2" v1.2
A=$(json .slots.active.image)
jq '.version = "9.9.9\u001b[2J" | .created = "2099-01-01T00:00:00Z\u0007"' "$S/images/$A.json" >"$work/m" && cp "$work/m" "$S/images/$A.json"
tap_expect "a hostile metadata file on disk counts as absent (the upgrade is not blocked by a fake 9.9.9)" ok \
	"Cannot tell whether" ku upgrade --source "$(src v1.0)"

# ---- pull writes them into FILE.json ------------------------------------------

"$K" pull --source "$(src v1.2)" --output "$work/p.squashfs" --progress=none >/dev/null 2>&1
tap_check "pull: FILE.json has created and version" test \
	"$(jq -r '.created + "," + .version' "$work/p.json" 2>/dev/null)" = "2024-03-01T00:00:00Z,1.2.0"
"$K" pull --source "$(src none)" --output "$work/q.squashfs" --progress=none >/dev/null 2>&1
tap_check "pull: FILE.json says null when the image has neither" test \
	"$(jq -c '[.created, .version]' "$work/q.json" 2>/dev/null)" = "[null,null]"

tap_done
