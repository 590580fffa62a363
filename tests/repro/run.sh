#!/bin/bash
# check-repro: the same image with the same settings gives byte-identical
# squashfs output (docs/DESIGN.md, "Deterministic images"), whatever the
# thread count, the output's directory and file system, the environment
# (TZ, locale, umask), the mtimes of the host's files and the transport
# (registry, OCI layout, oci-archive, docker-archive). Every build is its
# own process: fs_hash_bytes() is keyed at random per process, so each
# build also runs with another hash key. Prints TAP.
#   tests/repro/run.sh BINARY [long]
# long (make check-repro-long): every compressor on 1 and 4 threads, and the
# reference OS from /var/cache/kairos/os-layout when it is there.
set -u
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
BIN=$(realpath "$1")
LONG=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/registry.sh"
. "$LIB/tap.sh"

# Two places on two file systems: tmpfs and the root's /var/tmp.
SHM=/dev/shm
[ -d "$SHM" ] && [ -w "$SHM" ] || SHM=/tmp
WORK=$(mktemp -d /var/tmp/kairos-repro.XXXXXX)
WORK2=$(mktemp -d "$SHM/kairos-repro.XXXXXX")
cleanup() {
	registry_stop
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK" "$WORK2"
}
[ -n "${KEEP_WORK:-}" ] && echo "# work dirs $WORK $WORK2"
trap cleanup EXIT
trap 'exit 1' INT TERM

# build NAME SOURCE [OPTIONS...]: one pull into $WORK/NAME.squashfs, in a
# process of its own, with the reference environment unless the caller's
# env says otherwise (OUT= another directory).
build() {
	local name=$1 source=$2 out=${OUT:-$WORK}
	shift 2
	(umask "${UMASK:-022}" && TZ=${BTZ:-UTC} LC_ALL=${BLC:-C} LANG=${BLC:-C} \
		"$BIN" pull --progress=none --source "$source" --output "$out/$name.squashfs" "$@") \
		2>"$WORK/$name.err" || { sed 's/^/# /' "$WORK/$name.err" | tail -5; return 1; }
	[ "$out" = "$WORK" ] || mv "$out/$name.squashfs" "$out/$name.json" "$WORK/"
}

# same NAME REF: NAME's image is byte for byte REF's.
same() {
	cmp "$WORK/$2.squashfs" "$WORK/$1.squashfs" >/dev/null 2>&1 ||
		{ echo "# $1 differs from $2: $(cmp "$WORK/$2.squashfs" "$WORK/$1.squashfs" 2>&1 | head -1)"; return 1; }
	# the build record (what a verifier needs to reproduce it) is the same too
	[ "$(jq -cS .build "$WORK/$1.json")" = "$(jq -cS .build "$WORK/$2.json")" ] ||
		{ echo "# build records differ: $(jq -c .build "$WORK/$1.json") vs $(jq -c .build "$WORK/$2.json")"; return 1; }
}

# ---------------------------------------------------------------------------
# The image: the cases of tests/repro/fixtures.py in three layers; and its
# first layer alone (one layer: no pre-scan).
python3 "$HERE/fixtures.py" "$WORK/tars" || { echo "not ok 1 - fixtures"; exit 1; }
L=$WORK/layout
umoci init --layout "$L" >/dev/null
for tag in mix one; do
	umoci new --image "$L:$tag" >/dev/null
	umoci config --image "$L:$tag" --os linux --architecture amd64 >/dev/null
done
for t in layer1 layer2 layer3; do umoci raw add-layer --image "$L:mix" "$WORK/tars/$t.tar" >/dev/null; done
umoci raw add-layer --image "$L:one" "$WORK/tars/layer1.tar" >/dev/null
DA=$WORK/docker-archive.tar OA=$WORK/oci-archive.tar
skopeo copy -q "oci:$L:mix" "docker-archive:$DA:repro/mix:1" &&
	skopeo copy -q "oci:$L:mix" "oci-archive:$OA:mix"
tap_check "fixtures: an OCI layout, a docker-archive and an oci-archive of one image" test -s "$DA" -a -s "$OA"
registry_start "$WORK/reg" || { tap_not_ok "registry starts"; exit 1; }
push "$L" mix repro && push "$L" one repro
tap_check "image pushed to a local registry" true

# ---------------------------------------------------------------------------
# The reference build: OCI layout, 1 thread, /var/tmp, TZ=UTC, LC_ALL=C, umask 022.
tap_check "reference build (OCI layout, 1 thread)" build ref "oci-layout:$L:mix" --threads 1
tap_check "the superblock's mkfs time is 0, not the build's" \
	test "$(od -An -tu4 -j8 -N4 "$WORK/ref.squashfs" | tr -d ' ')" = 0
tap_check "the build record names the compressor, level, block size and libraries" \
	jq -e '.build | .compressor == "zstd" and .level == 6 and .block_size == 131072 and
		(.libsquashfs | test("libsquashfs")) and (.libzstd | test("^[0-9]+[.][0-9]+")) and
		(.libarchive | test("^[0-9]+[.][0-9]+")) and
		.format == 1 and .prescan == true' "$WORK/ref.json"

for n in 2 4; do
	build "threads$n" "oci-layout:$L:mix" --threads "$n" && same "threads$n" ref
	tap_check "$n threads: same bytes as 1" test $? = 0
done
OUT=$WORK2 build tmpfs "oci-layout:$L:mix" --threads 1 && same tmpfs ref
tap_check "output on tmpfs instead of /var/tmp: same bytes" test $? = 0
BTZ=Pacific/Auckland build tz "oci-layout:$L:mix" --threads 1 && same tz ref
tap_check "TZ=Pacific/Auckland: same bytes" test $? = 0
BLC=C.UTF-8 build locale "oci-layout:$L:mix" --threads 1 && same locale ref
tap_check "LC_ALL=C.UTF-8 (names in UTF-8 and in no encoding): same bytes" test $? = 0
UMASK=077 build umask "oci-layout:$L:mix" --threads 1 && same umask ref
tap_check "umask 077: same bytes" test $? = 0
# The host's files at other times: the layout's blobs and directories.
find "$L" -exec touch -h -d '2001-02-03 04:05:06' {} + &&
	build mtimes "oci-layout:$L:mix" --threads 1 && same mtimes ref
tap_check "the layout's files with other mtimes: same bytes" test $? = 0
OUT=$WORK2 BTZ=Asia/Kolkata BLC=C.UTF-8 UMASK=027 build host2 "oci-layout:$L:mix" --threads 2 && same host2 ref
tap_check "another host's everything at once (tmpfs, 2 threads, TZ, locale, umask): same bytes" test $? = 0

build registry "oci:$REGISTRY/repro:mix" --insecure --threads 2 && same registry ref
tap_check "from the registry (its layers kept for the hard link's re-read): same bytes" test $? = 0
build docker "docker-archive:$DA" --threads 1 && same docker ref
tap_check "from a docker-archive (uncompressed layers): same bytes" test $? = 0
build ociarchive "oci-archive:$OA:mix" --threads 4 && same ociarchive ref
tap_check "from an oci-archive: same bytes" test $? = 0

build one1 "oci-layout:$L:one" --threads 1 && build one4 "oci:$REGISTRY/repro:one" --insecure --threads 4 &&
	same one4 one1
tap_check "one layer (no pre-scan), layout on 1 thread vs registry on 4: same bytes" test $? = 0
build xz1 "oci-layout:$L:mix" --compression xz --threads 1 &&
	OUT=$WORK2 BTZ=Pacific/Auckland build xz4 "oci:$REGISTRY/repro:mix" --insecure --compression xz --threads 4 &&
	same xz4 xz1 && jq -e '.build | .compressor == "xz" and (.liblzma | test("^[0-9]"))' "$WORK/xz1.json" >/dev/null
tap_check "xz: 1 vs 4 threads, layout vs registry: same bytes" test $? = 0

# The pre-scan is decided on the manifest's layer sizes (64 MiB, as stored):
# a docker-archive stores an upper layer of 70 MiB of zeros as is, a registry
# as a few KiB of gzip, so by default only the registry's build pre-scans
# and skips the hidden file's data. Both records say so, and the archive
# rebuilt with --prescan=always (what the record says) has the same bytes.
python3 - "$WORK/tars/big.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for wh in ("var/lib/.wh.hidden", "boot/.wh.vmlinuz"):  # kept by a hard link; gone
        t.addfile(tarfile.TarInfo(wh))
    ti = tarfile.TarInfo("var/zeros")
    ti.size = 70 << 20
    with open("/dev/zero", "rb") as z:
        t.addfile(ti, z)
PY
umoci new --image "$L:big" >/dev/null && umoci config --image "$L:big" --os linux --architecture amd64 >/dev/null &&
	umoci raw add-layer --image "$L:big" "$WORK/tars/layer1.tar" >/dev/null &&
	umoci raw add-layer --image "$L:big" "$WORK/tars/big.tar" >/dev/null &&
	skopeo copy -q "oci:$L:big" "docker-archive:$WORK/big.tar:repro/big:1" && push "$L" big repro &&
	build big-reg "oci:$REGISTRY/repro:big" --insecure && build big-da "docker-archive:$WORK/big.tar" &&
	jq -e '.build.prescan == true' "$WORK/big-reg.json" >/dev/null &&
	jq -e '.build.prescan == false' "$WORK/big-da.json" >/dev/null &&
	! cmp -s "$WORK/big-reg.squashfs" "$WORK/big-da.squashfs" &&
	build big-da-always "docker-archive:$WORK/big.tar" --prescan=always && same big-da-always big-reg
tap_check "pre-scan decided on stored sizes: recorded, and --prescan=always rebuilds the registry's bytes from a docker-archive" test $? = 0
rm -f "$WORK/big.tar" "$WORK"/big-*.squashfs

bad_option() { # bad_option MESSAGE OPTION...: refused by name, nothing written
	! "$BIN" pull --progress=none --source "oci-layout:$L:mix" --output "$WORK/bad.squashfs" "$@" 2>"$WORK/bad.err" &&
		grep -q -- "$1" "$WORK/bad.err" && [ ! -e "$WORK/bad.squashfs" ]
}
tap_check "--threads 0, --threads 4x, --prescan=maybe are refused by name" eval \
	'bad_option "--threads wants a number from 1 to 256" --threads 0 &&
	bad_option "--threads wants a number from 1 to 256" --threads 4x &&
	bad_option "--prescan wants auto, always or never" --prescan=maybe'

# Nothing in the image layer reads the wall clock into the image: the only
# clocks there time the build (monotonic) or seed the hash key, whose order
# never reaches the output (children are sorted by name before writing).
clocks=$(grep -nE '\b(time|gettimeofday|clock_gettime|localtime(_r)?|gmtime(_r)?|ftime)[[:space:]]*\(' \
	"$HERE"/../../userspace/image/*.c | grep -vE 'build_image\.c:[0-9]+:[[:space:]]*clock_gettime\(CLOCK_MONOTONIC|fs_tree\.c:[0-9]+:[[:space:]]*clock_gettime\(CLOCK_REALTIME, &ts\);')
tap_check "no wall clock read in userspace/image/ but the hash key's fallback" test -z "$clocks"
[ -n "$clocks" ] && echo "$clocks" | sed 's/^/# /'

# ---------------------------------------------------------------------------
if [ "$LONG" = long ]; then
	for c in zstd:1 zstd:19 gzip:9 lz4; do
		build "c1-$c" "oci-layout:$L:mix" --compression "$c" --threads 1 &&
			OUT=$WORK2 BLC=C.UTF-8 build "c4-$c" "docker-archive:$DA" --compression "$c" --threads 4 &&
			same "c4-$c" "c1-$c"
		tap_check "$c: 1 thread (layout) vs 4 (docker-archive, tmpfs): same bytes" test $? = 0
	done
	os=$(ls -td /var/cache/kairos/os-layout/*/index.json 2>/dev/null | head -1)
	if [ -n "$os" ]; then
		os=$(dirname "$os")
		skopeo copy -q "oci:$os:v2" "docker-archive:$WORK/os.tar:os:v2" &&
			build os1 "oci-layout:$os:v2" --threads 1 &&
			OUT=$WORK2 BTZ=Pacific/Auckland BLC=C.UTF-8 UMASK=077 build os4 "docker-archive:$WORK/os.tar" --threads 4 &&
			same os4 os1
		tap_check "the reference OS v2: 1 thread (layout) vs 4 (docker-archive, tmpfs): same bytes" test $? = 0
	else
		echo "ok $((TAP_N + 1)) - # SKIP no reference OS in /var/cache/kairos/os-layout (make check-e2e builds it)"
		TAP_N=$((TAP_N + 1))
	fi
fi

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
