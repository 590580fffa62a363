#!/bin/bash
# Registry integration tests for `kairos-upgrade pull`: a real registry
# (Debian's docker-registry on 127.0.0.1), images built with umoci and
# pushed with skopeo. Prints TAP.
#   tests/pull/run.sh BINARY
set -u
# Everything here talks to 127.0.0.1: never through a proxy from the environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/registry.sh"

WORK=$(mktemp -d /tmp/kairos-pull-test.XXXXXX)
PIDS=()
cleanup() {
	registry_stop
	mountpoint -q "$WORK/full" 2>/dev/null && umount "$WORK/full"
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
[ -n "${KEEP_WORK:-}" ] && echo "# work dir $WORK"
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -f "$WORK/err" ] && sed 's/^/# /' "$WORK/err" | tail -15
}
check() { # check NAME: the previous commands' status says it
	if [ "$?" -eq 0 ]; then ok "$1"; else not_ok "$1"; fi
}

# pull ARGS...: run the binary, stderr to $WORK/err.
pull() { rm -f "$WORK/x.squashfs"; "$BIN" pull --progress=none "$@" 2>"$WORK/err"; }

# The paths a squashfs image holds, one per line ("etc/a", "usr/b").
sqfs_paths() { unsquashfs -d '' -lc "$1" 2>/dev/null | sed -e 's|^/||' | sort; }

# expect_paths FILE PATH...: the image exists and holds each path.
# fails ARGS...: the pull must fail cleanly (status 1, not a crash).
fails() {
	pull "$@"
	local status=$?
	[ "$status" -eq 1 ] || { echo "# expected exit status 1, got $status"; return 1; }
}

expect_paths() {
	local f=$1 p listing
	shift
	[ -s "$f" ] || return 1
	listing=$(sqfs_paths "$f")
	for p in "$@"; do grep -qx "$p" <<<"$listing" || { echo "# missing $p in $f"; return 1; }; done
}

expect_error() { # expect_error REGEX: the last pull said it
	grep -Eq "$1" "$WORK/err" || { echo "# expected /$1/ in:"; sed 's/^/#   /' "$WORK/err"; return 1; }
}

# ---------------------------------------------------------------------------
# Fixtures: layer trees and images.
mk_tree() { # mk_tree DIR SEED: a small tree with a file that compresses badly
	mkdir -p "$1/etc" "$1/usr/bin"
	echo "$2" >"$1/etc/$2"
	head -c 300000 /dev/urandom >"$1/usr/bin/$2"
}
mk_tree "$WORK/l1" one
mk_tree "$WORK/l2" two
mk_tree "$WORK/l3" three
L=$WORK/layout
image_new "$L" multi
for l in l1 l2 l3; do image_add_layer "$L" multi "$WORK/$l"; done
image_new "$L" arm64 linux arm64 v8
image_add_layer "$L" arm64 "$WORK/l2"
image_new "$L" zstd && image_add_layer "$L" zstd "$WORK/l1" && image_add_layer "$L" zstd "$WORK/l2"
python3 "$LIB/oci_edit.py" recompress "$L" zstd zstd
image_new "$L" plain && image_add_layer "$L" plain "$WORK/l3"
python3 "$LIB/oci_edit.py" recompress "$L" plain none
python3 "$LIB/oci_edit.py" index "$L" multiarch multi arm64
# A big layer for the interrupted pull and the memory measurement.
mkdir -p "$WORK/big/data"
head -c $((24 * 1024 * 1024)) /dev/urandom >"$WORK/big/data/blob"
image_new "$L" big && image_add_layer "$L" big "$WORK/big"

# Whiteouts in upper layers, which the builder pre-scans before the build:
# a base with a kernel (so an upgrade takes it), a layer that deletes a
# file and empties a directory (opaque), one that deletes a file of the
# base and adds its own, while a hard link in the base keeps that file (so
# its data is needed after all). wh-big's upper layer is 8 MiB of noise.
mk_tree "$WORK/w1" base
ln "$WORK/w1/usr/bin/base" "$WORK/w1/usr/bin/base-link"
mkdir -p "$WORK/w1/boot" "$WORK/w1/opt/d" "$WORK/w2/etc" "$WORK/w2/opt/d" "$WORK/w3/usr/bin"
echo kernel >"$WORK/w1/boot/vmlinuz" && echo initrd >"$WORK/w1/boot/initrd"
head -c 200000 /dev/urandom >"$WORK/w1/opt/d/x"
echo two >"$WORK/w2/etc/two" && touch "$WORK/w2/etc/.wh.base" "$WORK/w2/opt/d/.wh..wh..opq"
head -c 100000 /dev/urandom >"$WORK/w3/usr/bin/three" && touch "$WORK/w3/usr/bin/.wh.base"
image_new "$L" wh
for l in w1 w2 w3; do image_add_layer "$L" wh "$WORK/$l"; done
# wh plus one layer (a Dockerfile FROM wh): an upgrade from wh fetches only that
mkdir -p "$WORK/w4/opt/d" "$WORK/w4/etc"
head -c 300000 /dev/urandom >"$WORK/w4/opt/d/new" && touch "$WORK/w4/etc/.wh.two"
image_new "$L" wh4
for l in w1 w2 w3 w4; do image_add_layer "$L" wh4 "$WORK/$l"; done
mkdir -p "$WORK/wbig/var"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$WORK/wbig/var/noise" && touch "$WORK/wbig/var/.wh.none"
image_new "$L" wh-big && image_add_layer "$L" wh-big "$WORK/w1" && image_add_layer "$L" wh-big "$WORK/wbig"
# 32 MiB of noise in 512 files smaller than a block, which the builder sets
# aside (the spill) until the image's end: one layer, so nothing is kept.
cp -a "$WORK/w1" "$WORK/smalls" && mkdir -p "$WORK/smalls/var/s"
head -c $((32 * 1024 * 1024)) /dev/urandom | split -b 65536 - "$WORK/smalls/var/s/f"
image_new "$L" smalls && image_add_layer "$L" smalls "$WORK/smalls"

# The registry's access log counts what each pull fetched.
REGISTRY_ACCESSLOG=1 registry_start "$WORK/reg" || { echo "not ok 1 - registry starts"; exit 1; }
push "$L" multi os
push "$L" multi os-docker --format v2s2
push "$L" zstd os
push "$L" plain os --dest-oci-accept-uncompressed-layers
push "$L" multiarch os --all
push "$L" multiarch os-docker --all --format v2s2
push "$L" big os
push "$L" wh os
push "$L" wh4 os
push "$L" wh-big os
push "$L" smalls os
R=oci:$REGISTRY/os

# ---------------------------------------------------------------------------
"$BIN" --help | grep -q '^  pull' && "$BIN" pull --help | grep -q -- '--source'
check "help lists pull and pull --help works"

pull --source "$R:multi" --output "$WORK/multi.squashfs" --insecure &&
	expect_paths "$WORK/multi.squashfs" etc/one etc/two etc/three usr/bin/one usr/bin/three
check "multi-layer OCI image (gzip) from the registry"

pull --source "oci:$REGISTRY/os-docker:multi" --output "$WORK/docker.squashfs" --insecure &&
	expect_paths "$WORK/docker.squashfs" etc/one etc/three
check "Docker schema2 image"

digest=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/os:multi" | sha256sum | cut -d' ' -f1)
pull --source "$R@sha256:$digest" --output "$WORK/bydigest.squashfs" --insecure &&
	expect_paths "$WORK/bydigest.squashfs" etc/two
check "pull by digest"

pull --source "$R:zstd" --output "$WORK/zstd.squashfs" --insecure && expect_paths "$WORK/zstd.squashfs" etc/one etc/two
check "zstd layers"

pull --source "$R:plain" --output "$WORK/plain.squashfs" --insecure && expect_paths "$WORK/plain.squashfs" etc/three
check "uncompressed layers"

pull --source "$R:multiarch" --output "$WORK/amd64.squashfs" --insecure --platform linux/amd64 &&
	expect_paths "$WORK/amd64.squashfs" etc/one etc/three
check "index: linux/amd64 chosen"

pull --source "oci:$REGISTRY/os-docker:multiarch" --output "$WORK/dlist.squashfs" --insecure --platform linux/arm64 &&
	expect_paths "$WORK/dlist.squashfs" etc/two &&
	skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/os-docker:multiarch" | grep -q manifest.list.v2
check "Docker manifest list: --platform linux/arm64"

pull --source "$R:multiarch" --output "$WORK/arm64.squashfs" --insecure --platform linux/arm64 &&
	expect_paths "$WORK/arm64.squashfs" etc/two && ! sqfs_paths "$WORK/arm64.squashfs" | grep -qx etc/one
check "index: --platform linux/arm64"

fails --source "$R:multiarch" --output "$WORK/s390x.squashfs" --insecure --platform linux/s390x &&
	expect_error "no variant for platform linux/s390x.*linux/amd64, linux/arm64" &&
	! grep -q unknown/unknown "$WORK/err" && [ ! -e "$WORK/s390x.squashfs" ]
check "index: missing platform lists the available ones"

fails --source "$R:multi" --output "$WORK/x.squashfs" --insecure --platform linux/arm64 &&
	expect_error "is for platform linux/amd64, not linux/arm64" && [ ! -e "$WORK/x.squashfs" ]
check "single image for another platform refused when --platform asks"

fails --source "$R:nosuchtag" --output "$WORK/x.squashfs" --insecure && expect_error "not found.*MANIFEST_UNKNOWN"
check "unknown tag is named"

fails --source "oci:$REGISTRY/nosuchrepo:t" --output "$WORK/x.squashfs" --insecure && expect_error "not found"
check "unknown repository is named"

fails --source "$R:multi" --output "$WORK/x.squashfs" && expect_error "plain HTTP, use --insecure"
check "plain HTTP refused without --insecure"

port=$(free_port)
fails --source "oci:127.0.0.1:$port/os:multi" --output "$WORK/x.squashfs" --insecure &&
	expect_error "Cannot reach registry 127.0.0.1:$port"
check "unreachable registry"

pull --source "oci-layout:$L:multi" --output "$WORK/layout.squashfs" && expect_paths "$WORK/layout.squashfs" etc/one etc/three
check "oci-layout: source"

pull --source "oci-layout:$L:multiarch" --output "$WORK/layout-arm.squashfs" --platform linux/arm64 &&
	expect_paths "$WORK/layout-arm.squashfs" etc/two
check "oci-layout: source with an index"

# Local images without a registry: what `docker save`, `buildah push IMG
# docker-archive:FILE` and `oci-archive:FILE` write, from the same layout.
DA=$WORK/docker-archive.tar OA=$WORK/oci-archive.tar
skopeo copy -q "oci:$L:multi" "docker-archive:$DA:kairos/os:multi" &&
	skopeo copy -q "oci:$L:multi" "oci-archive:$OA:multi"
check "skopeo writes a docker-archive and an oci-archive"

pull --source "docker-archive:$DA" --output "$WORK/da.squashfs" && expect_paths "$WORK/da.squashfs" etc/one etc/three
check "docker-archive: source (layers checked against the config's diff_ids)"

cat "$DA" | pull --source "docker-archive:-:kairos/os:multi" --output "$WORK/da-stdin.squashfs" &&
	expect_paths "$WORK/da-stdin.squashfs" etc/one etc/three && cmp -s "$WORK/da.squashfs" "$WORK/da-stdin.squashfs"
check "docker-archive:- from a pipe on standard input, by its tag"

pull --source "oci-archive:$OA:multi" --output "$WORK/oa.squashfs" && expect_paths "$WORK/oa.squashfs" etc/one etc/three &&
	"$BIN" pull --progress=json --source "oci-archive:$OA:multi" --output "$WORK/oa2.squashfs" 2>/dev/null |
	grep -q "$(skopeo inspect --raw "oci:$L:multi" | sha256sum | cut -d' ' -f1)"
check "oci-archive: source, with the layout's manifest digest as the image id"

# Hostile archives, each refused with its reason and nothing written.
python3 "$LIB/archive_edit.py" tamper-layer "$DA" "$WORK/bad-layer.tar" &&
	fails --source "docker-archive:$WORK/bad-layer.tar" --output "$WORK/bad.squashfs" &&
	expect_error "Digest mismatch for a layer .*rootfs.diff_id" && [ ! -e "$WORK/bad.squashfs" ]
check "docker-archive: a layer that fails its diff_id is refused"

python3 "$LIB/archive_edit.py" add-entry "$DA" "$WORK/climb.tar" ../../etc/evil &&
	fails --source "docker-archive:$WORK/climb.tar" --output "$WORK/bad.squashfs" &&
	expect_error "entry '../../etc/evil' has an absolute, empty or '..' path" && [ ! -e "$WORK/bad.squashfs" ]
check "docker-archive: a name that climbs out of the archive is refused"

python3 "$LIB/archive_edit.py" drop-entry "$OA" "$WORK/no-index.tar" index.json &&
	fails --source "oci-archive:$WORK/no-index.tar:multi" --output "$WORK/bad.squashfs" &&
	expect_error "has no index.json" && [ ! -e "$WORK/bad.squashfs" ]
check "oci-archive: a missing index.json is named"

python3 "$LIB/archive_edit.py" drop-entry "$DA" "$WORK/no-manifest.tar" manifest.json &&
	fails --source "docker-archive:$WORK/no-manifest.tar" --output "$WORK/bad.squashfs" && expect_error "has no manifest.json"
check "docker-archive: a missing manifest.json is named"

python3 "$LIB/archive_edit.py" link-layer "$DA" "$WORK/link.tar" &&
	fails --source "docker-archive:$WORK/link.tar" --output "$WORK/bad.squashfs" &&
	expect_error "is a link, which is never followed"
check "docker-archive: a layer that is a symlink is refused, not followed"

"$BIN" pull --progress=json --source "$R:multi" --output "$WORK/json.squashfs" --insecure >"$WORK/json" 2>"$WORK/err" &&
	head -1 "$WORK/json" | grep -q '"event":"start"' && tail -1 "$WORK/json" | grep -q '"result":"ok"' &&
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$WORK/json"
check "--progress=json prints JSON lines"

"$BIN" pull --progress=json --source "$R:nosuchtag" --output "$WORK/x.squashfs" --insecure >"$WORK/json" 2>"$WORK/err"
[ $? -eq 1 ] && tail -1 "$WORK/json" | grep -q '"result":"failed"'
check "--progress=json ends with a failed done event"

# Each blob crosses the network once, proven from the registry's own log:
# log_mark before a pull, then log_gets / log_bytes over what came after.
log_mark() { LOG_FROM=$(($(stat -c %s "$REGISTRY_DIR/registry.log") + 1)); }
log_since() { tail -c +"$LOG_FROM" "$REGISTRY_DIR/registry.log" | grep -a '^127\.0\.0\.1 .*"GET /v2/'; }
# "N DIGEST" for each blob GET, and the body bytes of every GET.
log_gets() { log_since | grep -ao 'GET /v2/[^ ]*/blobs/sha256:[0-9a-f]*' | sed 's|.*/blobs/||' | sort | uniq -c; }
log_bytes() { log_since | awk '{ s += $10 } END { print s + 0 }'; }
# once: every layer and the config of image TAG fetched exactly once.
once() {
	local gets want
	gets=$(log_gets)
	want=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/os:$1" |
		python3 -c 'import json,sys; m=json.load(sys.stdin); [print(d["digest"]) for d in [m["config"]] + m["layers"]]' | sort)
	[ "$(awk '{ print $2 }' <<<"$gets" | sort)" = "$want" ] && ! awk '$1 != 1' <<<"$gets" | grep -q . ||
		{ echo "# blob GETs (count digest):"; sed 's/^/#   /' <<<"$gets"; return 1; }
}
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

log_mark
"$BIN" pull --progress=json --source "$R:wh" --output "$WORK/wh.squashfs" --insecure >"$WORK/wh.progress" 2>"$WORK/err"
received=$(log_bytes) # before once's skopeo asks the registry too
once wh && expect_paths "$WORK/wh.squashfs" etc/two usr/bin/three opt/d usr/bin/base-link &&
	unsquashfs -cat "$WORK/wh.squashfs" usr/bin/base-link | cmp -s - "$WORK/w1/usr/bin/base" &&
	! sqfs_paths "$WORK/wh.squashfs" | grep -qx 'etc/base\|usr/bin/base\|opt/d/x'
check "pull: each blob of an image with whiteouts in its upper layers (and a hard link keeping a deleted file) is fetched once (registry log)"

[ "$(json_field "$WORK/wh.json" received)" = "$received" ] &&
	grep '"event":"progress"' "$WORK/wh.progress" | tail -1 | grep -q "\"bytes\":$received," &&
	grep -q "$(printf '%.1f' "$(echo "$received / 1048576" | bc -l)") MiB fetched" "$WORK/err" ||
	{ echo "# the registry sent $received bytes; the .json, progress and summary say:"
	  grep -h 'received\|"progress"\|fetched' "$WORK/wh.json" "$WORK/wh.progress" "$WORK/err" | tail -4 | sed 's/^/#   /'
	  false; }
check "pull: the .json, the progress and the summary report the bytes the registry sent"

# The same image as from the layout, whose layers are read twice from disk
# as before (nothing kept), and as main's binary builds it when given
# (KAIROS_MAIN_BIN): byte for byte.
"$BIN" pull --progress=none --source "oci-layout:$L:wh" --output "$WORK/wh-layout.squashfs" 2>"$WORK/err" &&
	cmp "$WORK/wh.squashfs" "$WORK/wh-layout.squashfs" &&
	{ [ -z "${KAIROS_MAIN_BIN:-}" ] || { "$KAIROS_MAIN_BIN" pull --progress=none --source "$R:wh" \
		--output "$WORK/wh-main.squashfs" --insecure 2>"$WORK/err" &&
		cmp "$WORK/wh.squashfs" "$WORK/wh-main.squashfs"; }; }
check "pull: the image built from kept layers is byte-identical"

# The upgrade path: the layers are kept on the state partition's images/.
mkdir -p "$WORK/state" "$WORK/no-hooks"
grub-editenv "$WORK/state/state.env" create
upgrade() { "$BIN" upgrade --insecure --progress=none --state-dir "$WORK/state" \
	--boot-record "$WORK/no-record.json" --hooks-dir "$WORK/no-hooks" "$@" >/dev/null 2>"$WORK/err"; }
log_mark
upgrade --source "$R:wh"
received=$(log_bytes)
once wh && id=$(basename "$(ls "$WORK"/state/images/*.squashfs)" .squashfs) &&
	cmp "$WORK/state/images/$id.squashfs" "$WORK/wh.squashfs" &&
	[ "$(json_field "$WORK/state/images/$id.json" received)" = "$received" ] &&
	"$BIN" status --json --state-dir "$WORK/state" --boot-record "$WORK/no-record.json" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["slots"]["active"]["received"])' | grep -qx "$received" &&
	[ -z "$(ls -A "$WORK/state/images" | grep -v "^$id\.")" ]
check "upgrade: each blob fetched once, the same image, status reports the bytes received, nothing else left"
# The text form too, in status's own units (format_size()).
size_text() { python3 -c 'import sys
v, u = float(sys.argv[1]), 0
while v >= 1024 and u < 4: v, u = v / 1024, u + 1
print(("%.0f %s" if u == 0 else "%.1f %s") % (v, ["B", "KiB", "MiB", "GiB", "TiB"][u]))' "$1"; }
"$BIN" status --state-dir "$WORK/state" --boot-record "$WORK/no-record.json" >"$WORK/err" 2>&1 &&
	grep -qx " *received $(size_text "$received") when pulled" "$WORK/err"
check "upgrade: status (text) shows the bytes received"

# An image that begins with all of the installed image's layers: only the
# layer it adds crosses the network, and the image is the one a pull of
# all the layers makes, byte for byte (and so is its layer index).
old=$id
"$BIN" pull --progress=none --source "$R:wh4" --output "$WORK/wh4.squashfs" --index "$WORK/wh4.index" \
	--insecure 2>"$WORK/err"
log_mark
upgrade --source "$R:wh4"
new_layer=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/os:wh4" |
	python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["config"]["digest"]); print(m["layers"][-1]["digest"])' | sort)
gets=$(log_gets)
id=$(grep -ao '^kairos_active=[0-9a-f]*' "$WORK/state/state.env" | cut -d= -f2)
[ "$(awk '{ print $2 }' <<<"$gets" | sort)" = "$new_layer" ] && ! awk '$1 != 1' <<<"$gets" | grep -q . &&
	cmp "$WORK/state/images/$id.squashfs" "$WORK/wh4.squashfs" && cmp "$WORK/state/images/$id.index" "$WORK/wh4.index" &&
	"$BIN" status --json --state-dir "$WORK/state" --boot-record "$WORK/no-record.json" |
	python3 -c 'import json,sys; a=json.load(sys.stdin)["slots"]["active"]; print(a["reused"] > 0, a["reused_from"])' |
	grep -qx "True $old" &&
	"$BIN" status --state-dir "$WORK/state" --boot-record "$WORK/no-record.json" | grep -q "built from image ${old:0:12}" ||
	{ echo "# blob GETs (count digest), want $new_layer:"; sed 's/^/#   /' <<<"$gets"; false; }
check "upgrade FROM the installed image: only the new layer fetched (registry log), byte-identical to a full pull, status shows what was reused"

# Memory stays bounded whatever the layer size; time the big pull too.
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$WORK/rss" "$BIN" pull --progress=none --source "$R:big" \
	--output "$WORK/big.squashfs" --insecure 2>"$WORK/err"
status=$?
end=$(date +%s.%N)
rss_kib=$(tail -1 "$WORK/rss")
echo "# big image (24 MiB layer): $(echo "$end - $start" | bc) s, peak RSS $((rss_kib / 1024)) MiB"
[ "$status" -eq 0 ] && [ "$rss_kib" -lt $((64 * 1024)) ] &&
	unsquashfs -cat "$WORK/big.squashfs" data/blob | cmp -s - "$WORK/big/data/blob"
check "big layer: same bytes, peak RSS under 64 MiB"

# Disk full: a small tmpfs as the output directory (needs root; else skipped).
mkdir -p "$WORK/full"
if mount -t tmpfs -o size=2m tmpfs "$WORK/full" 2>/dev/null; then
	fails --source "$R:big" --output "$WORK/full/big.squashfs" --insecure &&
		expect_error "full|No space" && [ -z "$(ls -A "$WORK/full")" ]
	check "disk full: clear error, temp file removed"
	umount "$WORK/full"
else
	ok "disk full: clear error, temp file removed # SKIP cannot mount tmpfs"
fi

# A retried 5xx: the proxy fails the first requests.
python3 "$LIB/flaky_proxy.py" "$REGISTRY_PORT" "$WORK/proxy1.port" --fail-first 3 &
PIDS+=($!)
for i in $(seq 50); do [ -s "$WORK/proxy1.port" ] && break; sleep 0.1; done
pull --source "oci:127.0.0.1:$(cat "$WORK/proxy1.port")/os:multi" --output "$WORK/retry.squashfs" --insecure &&
	expect_paths "$WORK/retry.squashfs" etc/one
check "503s are retried"

# start_proxy NAME ARGS...: a flaky_proxy.py in front of the registry; sets PROXY.
start_proxy() {
	local name=$1
	shift
	python3 "$LIB/flaky_proxy.py" "$REGISTRY_PORT" "$WORK/$name.port" "$@" 2>"$WORK/$name.log" &
	PIDS+=($!)
	PROXY_PID=$!
	for i in $(seq 50); do [ -s "$WORK/$name.port" ] && break; sleep 0.1; done
	PROXY=127.0.0.1:$(cat "$WORK/$name.port")
}

# The kept layers need space on the destination: checked before the first
# byte, with what is needed; nothing left. Then a pull killed while it keeps
# them: their space comes back at once (the file has no name), and the next
# pull works.
if mount -t tmpfs -o size=2m tmpfs "$WORK/full" 2>/dev/null; then
	fails --source "$R:wh-big" --output "$WORK/full/wh-big.squashfs" --insecure &&
		expect_error "Not enough space in $WORK/full to keep the upper layers .*: they need 8\.[0-9] MiB, [0-9.]+ MiB are free" &&
		[ -z "$(ls -A "$WORK/full")" ]
	check "kept layers: a full disk is refused before they are fetched, naming what they need; nothing left"
	umount "$WORK/full"
else
	ok "kept layers: a full disk is refused # SKIP cannot mount tmpfs"
fi
# The small files set aside beside the image while it is built need no room
# of their own: each one's room comes back as it goes into the image (a hole
# punched in the spill). 60 MiB hold the image of 32 MiB of small files and
# its margin (54 MiB), not the image and the spill (64 MiB): before, the
# build ran out of space at its very end, after fetching everything.
if mount -t tmpfs -o size=60m tmpfs "$WORK/full" 2>/dev/null; then
	mkdir -p "$WORK/full/state/images" && grub-editenv "$WORK/full/state/state.env" create
	"$BIN" upgrade --insecure --progress=none --state-dir "$WORK/full/state" --boot-record "$WORK/no-record.json" \
		--hooks-dir "$WORK/no-hooks" --source "$R:smalls" >/dev/null 2>"$WORK/err"
	status=$?
	echo "# $(df -m --output=used "$WORK/full" | tail -1 | tr -d ' ') MiB used after"
	[ $status -eq 0 ] && ls "$WORK"/full/state/images/*.squashfs >/dev/null
	check "upgrade: 32 MiB of small files fit where the image fits (the spill gives its room back as they go into the image)"
	umount "$WORK/full"
else
	ok "upgrade: small files set aside need no room of their own # SKIP cannot mount tmpfs"
fi
used_kib() { df -k --output=used "$1" | tail -1 | tr -d ' '; }
if mount -t tmpfs -o size=32m tmpfs "$WORK/full" 2>/dev/null; then
	start_proxy slow --rate 2000000
	"$BIN" pull --progress=none --source "oci:$PROXY/os:wh-big" \
		--output "$WORK/full/k.squashfs" --insecure 2>"$WORK/err" &
	pull_pid=$!
	kept=
	for i in $(seq 100); do
		kept=$(ls -l /proc/$pull_pid/fd 2>/dev/null | grep -a "$WORK/full/.*(deleted)")
		[ -n "$kept" ] && break
		sleep 0.05
	done
	sleep 1
	during=$(used_kib "$WORK/full")
	kill -9 "$pull_pid"
	wait "$pull_pid" 2>/dev/null
	after=$(used_kib "$WORK/full")
	echo "# killed pull: ${during} KiB used on the destination while keeping, ${after} KiB after"
	[ -n "$kept" ] && [ "$during" -ge 8192 ] && [ "$after" -lt 1024 ] &&
		! ls -A "$WORK/full" | grep -q spool &&
		pull --source "$R:wh-big" --output "$WORK/full/k.squashfs" --insecure && [ -s "$WORK/full/k.squashfs" ]
	check "kept layers: a killed pull leaves nothing to clean (unnamed file, space back), the next pull works"
	kill "$PROXY_PID"
	umount "$WORK/full"
else
	ok "kept layers: a killed pull leaves nothing # SKIP cannot mount tmpfs"
fi

# Bearer tokens, anonymous, expiring after a few requests (refresh mid-pull),
# with blobs redirected to another host name: no Authorization may follow.
start_proxy bearer --bearer anon --token-uses 3 --redirect-blobs
pull --source "oci:$PROXY/os:multi" --output "$WORK/bearer.squashfs" --insecure &&
	expect_paths "$WORK/bearer.squashfs" etc/one etc/three && ! grep -q LEAK "$WORK/bearer.log"
check "bearer: anonymous token, refreshed, not sent across a redirect"

start_proxy bearer2 --bearer 'tester:tok:pw'
pull --source "oci:$PROXY/os:multi" --output "$WORK/bearer2.squashfs" --insecure --creds 'tester:tok:pw' &&
	expect_paths "$WORK/bearer2.squashfs" etc/one
check "bearer: credentials sent to the realm"

fails --source "oci:$PROXY/os:multi" --output "$WORK/x.squashfs" --insecure --creds 'tester:bad-pw' &&
	expect_error "refused the credentials" && ! grep -q 'bad-pw\|tok[0-9]' "$WORK/err"
check "bearer: wrong credentials refused, secret not logged"

start_proxy drop --drop-once
pull --source "oci:$PROXY/os:big" --output "$WORK/resumed.squashfs" --insecure &&
	expect_paths "$WORK/resumed.squashfs" data/blob && grep -q "RANGE bytes=[1-9][0-9]*- 206" "$WORK/drop.log"
check "a dropped blob transfer resumes with Range"

start_proxy pad --pad-blobs
fails --source "oci:$PROXY/os:multi" --output "$WORK/x.squashfs" --insecure &&
	expect_error "Size mismatch for blob sha256:[0-9a-f]{64} \(the [a-z ]+\): the registry announces" && [ ! -e "$WORK/x.squashfs" ]
check "a blob bigger than its descriptor is refused"

# The registry (behind a slow proxy) stops mid-pull.
python3 "$LIB/flaky_proxy.py" "$REGISTRY_PORT" "$WORK/proxy2.port" --rate 2000000 &
proxy2=$!
PIDS+=($proxy2)
for i in $(seq 50); do [ -s "$WORK/proxy2.port" ] && break; sleep 0.1; done
"$BIN" pull --progress=none --source "oci:127.0.0.1:$(cat "$WORK/proxy2.port")/os:big" \
	--output "$WORK/stopped.squashfs" --insecure 2>"$WORK/err" &
pull_pid=$!
sleep 2
kill "$proxy2"
registry_stop
wait "$pull_pid"
status=$?
[ "$status" -eq 1 ] && expect_error "Cannot reach registry" && [ ! -e "$WORK/stopped.squashfs" ] &&
	! ls "$WORK" | grep -q '^\.tmp-\|stopped.squashfs\.'
check "registry stopped mid-pull: clear error, no output"

# TLS, verified by default: a private CA needs --ca-file (or --insecure).
make_ca "$WORK/ca" && registry_start "$WORK/reg" "" "$WORK/ca/cert.pem" "$WORK/ca/key.pem" || exit 1
R=oci:$REGISTRY/os
fails --source "$R:multi" --output "$WORK/x.squashfs" && expect_error "ca-file"
check "TLS: an unknown CA is refused, naming --ca-file"

pull --source "$R:multi" --output "$WORK/tls.squashfs" --ca-file "$WORK/ca/ca.pem" && expect_paths "$WORK/tls.squashfs" etc/one
check "TLS: --ca-file"

pull --source "$R:multi" --output "$WORK/tls2.squashfs" --insecure && expect_paths "$WORK/tls2.squashfs" etc/one
check "TLS: --insecure skips verification"
registry_stop

# A tampered blob in the registry's storage.
registry_start "$WORK/reg" || exit 1
R=oci:$REGISTRY/os
layer=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/os:multi" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][2]["digest"].split(":")[1])')
data=$(find "$WORK/reg/storage" -path "*/blobs/sha256/*/$layer/data")
cp "$data" "$WORK/blob.orig"
printf 'X' | dd of="$data" bs=1 seek=100 conv=notrunc 2>/dev/null
fails --source "$R:multi" --output "$WORK/tampered.squashfs" --insecure &&
	expect_error "Digest mismatch for blob sha256:$layer" && [ ! -e "$WORK/tampered.squashfs" ]
check "tampered blob: digest error names it, no output"
registry_stop
cp "$WORK/blob.orig" "$data"

# Basic auth (htpasswd, bcrypt).
htpasswd -Bbc "$WORK/htpasswd" tester 's3cret:pw' 2>/dev/null
registry_start "$WORK/reg" "$WORK/htpasswd" || exit 1
R=oci:$REGISTRY/os
fails --source "$R:multi" --output "$WORK/x.squashfs" --insecure && expect_error "requires credentials"
check "auth: anonymous refused with a hint"

pull --source "$R:multi" --output "$WORK/auth.squashfs" --insecure --creds 'tester:s3cret:pw' &&
	expect_paths "$WORK/auth.squashfs" etc/one
check "auth: right password"

fails --source "$R:multi" --output "$WORK/x.squashfs" --insecure --creds 'tester:wrong-pw' &&
	expect_error "refused" && ! grep -q 'wrong-pw' "$WORK/err" && [ ! -e "$WORK/x.squashfs" ]
check "auth: wrong password refused, secret not logged"

printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY" "$(printf 'tester:s3cret:pw' | base64)" >"$WORK/auth.json"
REGISTRY_AUTH_FILE=$WORK/auth.json pull --source "$R:multi" --output "$WORK/authfile.squashfs" --insecure &&
	expect_paths "$WORK/authfile.squashfs" etc/one && ! grep -q 's3cret' "$WORK/err"
check "auth: credentials from \$REGISTRY_AUTH_FILE"
registry_stop

echo "1..$n"
[ "$failed" -eq 0 ]
