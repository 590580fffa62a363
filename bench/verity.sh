#!/bin/bash
# verity.sh BUILD_FROM_TARS KAIROS_UPGRADE WORKDIR: `make bench-verity`
# (issue 17), in one run, on the reference OS v2 (its cached layout; the
# newest cached one when the current build has none) and a generated image
# of incompressible data:
#  - what the dm-verity tree adds to a build: the builder's own clock around
#    the tree step (read back, hashed, written) against the rest of the same
#    build (goal <= 5 %);
#  - the tree's size against the squashfs part (about 1/128);
#  - a sequential read of every block through the tree against a plain
#    read of the same bytes, page cache dropped before each (goal <= 10 %).
#    This host's kernel has no dm-verity (no module, see BOOT-TESTS.md), and
#    a TCG guest would time QEMU's emulation of SHA-256, so the read is
#    `kairos-upgrade verify --image`: the same work dm-verity does per block
#    (one salted SHA-256 of each 4096-byte data block, the tree's blocks read
#    and checked), in user space, against `cat` of the same file.
#   BENCH_REPEAT=N       runs per measurement, the least disturbed kept (3)
#   BENCH_VERITY_SMOKE=1 the generated image only, small: seconds (tests/tools)
set -eu
BFT=$(realpath "$1")
BIN=$(realpath "$2")
W=$3
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
. "$HERE/lib.sh"
smoke=${BENCH_VERITY_SMOKE:-0}
rm -rf --one-file-system "$W"
mkdir -p "$W"
W=$(realpath "$W")
cd "$W"
say() { echo "# $*" >&2; }
[ "$(id -u)" = 0 ] || say "not root: the page cache cannot be dropped, reads are warm"

drop_caches() { sync; [ "$(id -u)" != 0 ] || echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
# wall CMD...: seconds of one run, the page cache dropped before it.
wall() {
	local t0 t1
	drop_caches
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN {print (b == "" || a < b ? a : b)}'; }

# The layer blobs of LAYOUT:TAG, lowest first, as files.
layout_layers() {
	local layout=$1 tag=$2 manifest
	manifest=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
		"$layout/index.json")
	[ -n "$manifest" ] || { echo "bench-verity: no tag $tag in $layout" >&2; return 1; }
	jq -r '.layers[].digest' "$layout/blobs/sha256/${manifest#sha256:}" | sed "s|^sha256:|$layout/blobs/sha256/|"
}

reference_os() {
	local l
	if l=$("$TOP/scripts/mk-os-image" --cached); then
		echo "$l"
	elif l=$(ls -1td "${KAIROS_CACHE:-/var/cache/kairos}"/os-layout/*/ 2>/dev/null | while read -r d; do
		[ -f "$d/index.json" ] && grep -q '"v2"' "$d/index.json" && echo "${d%/}" && break
	done) && [ -n "$l" ]; then
		say "the current inputs have no cached reference OS: using the newest cached one ($l)"
		echo "$l"
	else
		say "building the reference OS (scripts/mk-os-image: minutes, then cached)"
		"$TOP/scripts/mk-os-image" "$W/os" >&2
		echo "$W/os"
	fi
}

# One image: build it $repeat times (the least disturbed build kept), then
# read it cold $repeat times each way. Prints one row of each table.
declare -a BUILD_ROWS READ_ROWS GOALS
bench_image() {
	local name=$1 file=$2 i out stats root off best_total="" best_tree="" total tree rest bytes file_bytes tree_bytes plain="" verified=""
	shift 2
	local args=()
	for l; do args+=(--layer "$l"); done
	out=$W/$file.squashfs
	for ((i = 0; i < repeat; i++)); do
		rm -f "$out"
		stats=$("$BFT" --output "$out" --stats "${args[@]}" 2>run.err) || { cat run.err >&2; exit 1; }
		total=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' <<<"$stats")
		tree=$(sed -n 's/.* verity_seconds=\([0-9.]*\) .*/\1/p' <<<"$stats")
		if [ -z "$best_total" ] || awk -v a="$total" -v b="$best_total" 'BEGIN {exit !(a < b)}'; then
			best_total=$total best_tree=$tree
		fi
		root=$(sed -n 's/.* verity_root=\([0-9a-f]*\) .*/\1/p' <<<"$stats")
		off=$(sed -n 's/.* hash_offset=\([0-9]*\) .*/\1/p' <<<"$stats")
	done
	rest=$(awk -v a="$best_total" -v b="$best_tree" 'BEGIN {printf "%.3f", a - b}')
	bytes=$(size_of "$out")
	file_bytes=$(stat -c %s "$out")
	tree_bytes=$((file_bytes - (bytes + 4095) / 4096 * 4096))
	# Checked against the root hash the build gave, as a node boots it.
	local check=("$BIN" verify --image "$out" --root-hash "$root" --hash-offset "$off")
	"${check[@]}" >/dev/null || { echo "bench-verity: $name does not verify" >&2; exit 1; }
	for ((i = 0; i < repeat; i++)); do
		plain=$(min "$(wall cat "$out")" "$plain")
		verified=$(min "$(wall "${check[@]}")" "$verified")
	done
	BUILD_ROWS+=("| $name | $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1048576}') MiB | $best_total s | $best_tree s | $(ratio "$best_tree" "$rest")x | $(awk -v t="$tree_bytes" -v b="$bytes" 'BEGIN {printf "%.2f %% (1/%.0f)", 100*t/b, b/t}') |")
	READ_ROWS+=("| $name | $(awk -v b="$file_bytes" 'BEGIN {printf "%.1f", b/1048576}') MiB | $plain s | $verified s | $(ratio "$verified" "$plain")x |")
	GOALS+=("| $name: tree / rest of the build | $(ratio "$best_tree" "$rest")x | <= 0.05x | $(awk -v a="$best_tree" -v b="$rest" 'BEGIN {print (a <= 0.05 * b ? "met" : "NOT met")}') |")
	GOALS+=("| $name: read through the tree / plain read | $(ratio "$verified" "$plain")x | <= 1.10x | $(awk -v a="$verified" -v b="$plain" 'BEGIN {print (a <= 1.10 * b ? "met" : "NOT met")}') |")
}

# Generated: incompressible data (every block stored, the worst case for the
# tree's share of the build: compressing costs nothing), in two layers.
gen_mib=256
[ "$smoke" = 1 ] && gen_mib=8 repeat=1
mkdir -p gen/a gen/b
head -c $((gen_mib / 2 * 1048576)) /dev/urandom >gen/a/noise
head -c $((gen_mib / 2 * 1048576)) /dev/urandom >gen/b/noise2
tar -C gen/a -cf a.tar . && tar -C gen/b -cf b.tar . && rm -rf gen
bench_image "random data, $gen_mib MiB" random a.tar b.tar
if [ "$smoke" != 1 ]; then
	os=$(reference_os)
	mapfile -t layers < <(layout_layers "$os" v2)
	bench_image "reference OS v2" os "${layers[@]}"
fi

echo "## make bench-verity ($(date -u +%FT%TZ), $(nproc) cores, best of $repeat)"
echo
echo "| image | squashfs | build | of which the tree | tree / rest | tree's size / squashfs |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${BUILD_ROWS[@]}"
echo
echo "| image | file (with tree) | cat, cold | verify --image, cold | ratio |"
echo "|---|---|---|---|---|"
printf '%s\n' "${READ_ROWS[@]}"
echo
echo "| goal | measured | wanted | |"
echo "|---|---|---|---|"
printf '%s\n' "${GOALS[@]}"
