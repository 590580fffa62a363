#!/bin/bash
# pull.sh BINARY WORKDIR: `make bench-pull` (issue 16). In one run, from a
# local docker-registry on 127.0.0.1 with its access log on, for the
# reference OS v2 (scripts/mk-os-image) and a multi-GB image of three layers
# made from the host's /usr (cached in $KAIROS_CACHE/bench): our pull at the
# default compression and at zstd:3; the scripted pipeline (skopeo copy +
# umoci unpack + mksquashfs) at the same settings; mksquashfs zstd:15's size;
# the I/O floor (the same blobs downloaded, hashed and decompressed, all at
# once, nothing written); the bytes the registry served against the image's
# blob bytes; and what a v1 -> v2 upgrade fetches. Prints the issue's table,
# the details, and its goals with the ratios measured in this run.
#   BENCH_CURVE=1       also ours at zstd 1, 3, 6, 9, 12, 15, 19 and xz (item 2),
#                       or at the settings it lists ("zstd:1 zstd:9 gzip:1")
#   BENCH_PULL_SMOKE=1  two small generated images instead: seconds (tests/tools)
#   BENCH_GEN_LAYERS="usr/lib,usr/share usr/bin,..."  the generated image's
#                       layers (paths under /, a comma between layers)
#   BENCH_REPEAT=N      runs per measurement, best kept (default 3; 1 on an
#                       image over 512 MiB)
set -eu
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

# pull.sh floor URL DIGEST MEDIATYPE ...: the I/O floor, timed by the caller.
# Each blob is downloaded, hashed and decompressed in parallel with the
# others, with the fastest tools here (igzip, OpenSSL's SHA-256); nothing is
# written. FLOOR_COUNT=1 prints the decompressed bytes instead (untimed).
if [ "${1:-}" = floor ]; then
	shift
	set -o pipefail
	gunzip=gzip
	for g in igzip pigz; do command -v $g >/dev/null && gunzip=$g && break; done
	tmp=$(mktemp -d /tmp/kairos-floor.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	blob() { # URL DIGEST MEDIATYPE N
		local dec=cat pid
		case $3 in
		*gzip) dec="$gunzip -dc" ;;
		*zstd) dec="zstd -dcq" ;;
		esac
		mkfifo "$tmp/$4"
		if [ "${FLOOR_COUNT:-}" = 1 ]; then
			$dec <"$tmp/$4" | wc -c >"$tmp/$4.count" &
		else
			$dec <"$tmp/$4" >/dev/null &
		fi
		pid=$!
		curl -sf "$1" | tee "$tmp/$4" | openssl dgst -sha256 -r >"$tmp/$4.sum"
		wait $pid
		[ "sha256:$(cut -d' ' -f1 "$tmp/$4.sum")" = "$2" ] || { echo "floor: $2: digest mismatch" >&2; return 1; }
	}
	pids=() n=0
	while [ $# -ge 3 ]; do
		blob "$1" "$2" "$3" $n &
		pids+=($!) n=$((n + 1))
		shift 3
	done
	for p in "${pids[@]}"; do wait "$p"; done
	[ "${FLOOR_COUNT:-}" = 1 ] && cat "$tmp"/*.count | awk '{s += $1} END {print s}'
	exit 0
fi

BIN=$(realpath "$1")
W=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
. "$HERE/lib.sh"
. "$TOP/tests/lib/registry.sh"
CACHE=${KAIROS_CACHE:-/var/cache/kairos}/bench
smoke=${BENCH_PULL_SMOKE:-0}
jobs=$(nproc)
rm -rf --one-file-system "$W"
mkdir -p "$W"
W=$(realpath "$W")
cd "$W"
trap 'registry_stop || true' EXIT
say() { echo "# $*" >&2; }

# The default compression, as pull --help states it: the pipeline runs at it too.
default=$("$BIN" pull --help | grep -A2 -e '--compression' | sed -n 's/.*(default \([a-z0-9]*\(:[0-9]*\)\{0,1\}\)[;),].*/\1/p' | head -1)
[ -n "$default" ] || { echo "bench-pull: cannot find the default compression in '$BIN pull --help'" >&2; exit 1; }

# mks_comp ALG[:LEVEL]: mksquashfs's options for the same compressor and level.
mks_comp() {
	local alg=${1%%:*} level=${1#*:}
	echo "-comp $alg"
	[ "$level" != "$1" ] && echo "-Xcompression-level $level"
	return 0
}

# layer_tars OUT_DIR "DIRS" ...: one tar per argument, of those paths under /.
layer_tars() {
	local out=$1 i=0 d
	shift
	mkdir -p "$out"
	for d; do
		i=$((i + 1))
		# shellcheck disable=SC2086 # a layer is several paths
		# (exit 1: a file changed while read, as on a live host: it is only an input)
		tar -C / --sort=name -cf "$out/$i.tar" $d || [ $? = 1 ]
	done
}

# add_layers LAYOUT TAG TAR...: the tars as the image's next layers (gzip).
add_layers() {
	local layout=$1 tag=$2 t
	shift 2
	for t; do umoci raw add-layer --image "$layout:$tag" "$t" >/dev/null; done
}

# The generated image: three layers of the host's /usr, 2.6 GB of tar (the
# smoke run: three small ones). Cached by the recipe and the files' names,
# sizes and times: the host's packages change, and then so does the image.
if [ -n "${BENCH_GEN_LAYERS:-}" ]; then
	IFS=, read -r -a GEN_LAYERS <<<"$BENCH_GEN_LAYERS"
elif [ "$smoke" = 1 ]; then
	GEN_LAYERS=(usr/include/linux/netfilter usr/include/linux/usb usr/include/asm-generic)
else
	GEN_LAYERS=(usr/lib/x86_64-linux-gnu usr/share "usr/bin usr/sbin usr/include")
fi
gen_image() {
	local key dest tmp
	# shellcheck disable=SC2068 # the layers' paths, split
	key=$( { declare -f gen_image layer_tars add_layers; printf '%s\n' "${GEN_LAYERS[@]}";
		cd / && find ${GEN_LAYERS[@]} -printf '%p %s %T@\n'; } | sha256sum | cut -c1-16)
	dest=$CACHE/gen-$key
	[ "$smoke" = 1 ] && dest=$W/gen
	if [ ! -d "$dest" ]; then
		say "generating the image from /: ${GEN_LAYERS[*]} (cached as $dest)"
		mkdir -p "$(dirname "$dest")"
		tmp=$(mktemp -d "$dest.tmp.XXXXXX")
		layer_tars "$tmp/tars" "${GEN_LAYERS[@]}"
		image_new "$tmp/layout" gen
		add_layers "$tmp/layout" gen "$tmp"/tars/*.tar
		umoci gc --layout "$tmp/layout"
		mv "$tmp/layout" "$dest"
		rm -rf "$tmp"
	fi
	echo "$dest"
}

# The reference OS (v1, v2), or in the smoke run a small one of the same shape:
# v2 is v1 plus a layer.
os_image() {
	local l
	if [ "$smoke" = 1 ]; then
		l=$W/os
		mkdir -p "$W/os-tree/boot" "$W/os-tree/etc"
		echo kernel >"$W/os-tree/boot/vmlinuz"
		echo initrd >"$W/os-tree/boot/initrd"
		echo 'VERSION="1"' >"$W/os-tree/etc/os-release"
		layer_tars "$W/os-tars" "usr/include/linux" "usr/include/asm-generic"
		image_new "$l" v1 && add_layers "$l" v1 "$W/os-tars/1.tar" && image_add_layer "$l" v1 "$W/os-tree"
		sed -i 's/1/2/' "$W/os-tree/etc/os-release"
		umoci tag --image "$l:v1" v2 && add_layers "$l" v2 "$W/os-tars/2.tar" && image_add_layer "$l" v2 "$W/os-tree"
		umoci config --image "$l:v2" --config.label org.opencontainers.image.version=2 >/dev/null
		rm -rf "$W/os-tree" "$W/os-tars"
	elif ! l=$("$TOP/scripts/mk-os-image" --cached); then
		say "building the reference OS (scripts/mk-os-image: minutes, then cached)"
		"$TOP/scripts/mk-os-image" "$W/os" >&2
		l=$W/os
	fi
	echo "$l"
}

# BENCH_PULL_ONLY=gen: make (or find) the generated image, print its layout.
if [ "${BENCH_PULL_ONLY:-}" = gen ]; then
	gen_image
	exit
fi
REGISTRY_ACCESSLOG=1 registry_start "$W/registry" >/dev/null
LOG=$W/registry/registry.log
os=$(os_image)
gen=$(gen_image)
push "$os" v1 os
push "$os" v2 os
push "$gen" gen gen

# blobs NAME TAG: "DIGEST SIZE MEDIATYPE" for the config and each layer.
blobs() {
	curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REGISTRY/v2/$1/manifests/$2" | jq -r '.config, .layers[] | "\(.digest) \(.size) \(.mediaType)"'
}
# served_since LINE: blob bytes the registry sent after that line of its log.
served_since() {
	# The registry logs a request once its response is out: a request of our
	# own, logged, says the ones before it are too.
	local i
	curl -s -o /dev/null "http://$REGISTRY/v2/?mark=$1"
	for i in $(seq 100); do grep -q "mark=$1 " "$LOG" && break; sleep 0.05; done
	tail -n +$(($1 + 1)) "$LOG" | awk '$6 == "\"GET" && $7 ~ /\/blobs\/sha256:/ && ($9 == 200 || $9 == 206) {s += $10} END {print s + 0}'
}
declare -A SERVED
# timed NAME OUTPUT CMD...: measure, and the registry's blob bytes per run.
timed() {
	local mark
	mark=$(wc -l <"$LOG")
	measure "$@"
	SERVED[$1]=$(($(served_since "$mark") / repeat))
	say "$1: ${WALL[$1]} s, ${CPU[$1]} s CPU, ${RSS[$1]} MiB RSS, ${SIZE[$1]} MiB, $(mb "${SERVED[$1]}") MB served"
}
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }

ours() { # NAME IMAGE TAG [COMPRESSION]: our pull to a file
	local name=$1 ref=oci:$REGISTRY/$2:$3
	timed "$name" ours.squashfs "$BIN" pull --insecure --progress=none --source "$ref" --output ours.squashfs \
		${4:+--compression "$4"}
	rm -f ours.squashfs ours.squashfs.json
}

declare -A DESC BLOBS NEWBYTES REF
# repeats KEY: how many runs a measurement of that image gets (the best is kept).
repeats() {
	repeat=${BENCH_REPEAT:-$(((BLOBS[$1] > 512 * 1048576) || smoke ? 1 : 3))}
}
# bench_image KEY NAME TAG: every measurement of one image.
bench_image() {
	local key=$1 name=$2 tag=$3 list floor=() d s t tar last
	list=$(blobs "$name" "$tag")
	while read -r d s t; do floor+=("http://$REGISTRY/v2/$name/blobs/$d" "$d" "$t"); done <<<"$list"
	BLOBS[$key]=$(awk '{s += $2} END {print s}' <<<"$list")
	tar=$(FLOOR_COUNT=1 bash "$HERE/pull.sh" floor "${floor[@]}")
	DESC[$key]=$(awk -v n="$(($(wc -l <<<"$list") - 1))" -v b="${BLOBS[$key]}" -v t="$tar" \
		'BEGIN {printf "%d layers, %.1f MiB compressed, %.1f MiB of tar", n, b / 1048576, t / 1048576}')
	REF[$key]="$name $tag"
	repeats "$key"
	say "$key: $name:$tag, ${DESC[$key]}, best of $repeat"

	ours "$key/ours-default" "$name" "$tag"
	ours "$key/ours-zstd:3" "$name" "$tag" zstd:3
	for c in "$default" zstd:3; do
		# shellcheck disable=SC2016 # expanded by sh -c
		timed "$key/pipeline-$c" pipe.sqfs sh -c 'd=$(mktemp -d unpack.XXXXXX) &&
			skopeo copy -q --src-tls-verify=false "docker://$1" "oci:$d/p:t" >/dev/null &&
			umoci unpack --image "$d/p:t" "$d/bundle" >/dev/null &&
			mksquashfs "$d/bundle/rootfs" pipe.sqfs -noappend -quiet -processors "$2" -b 131072 $3' \
			- "$REGISTRY/$name:$tag" "$jobs" "$(mks_comp "$c")"
		rm -f pipe.sqfs
		last=$(find . -maxdepth 1 -type d -name 'unpack.*' -printf '%T@ %f\n' | sort -n | tail -1 | cut -d' ' -f2)
		find . -maxdepth 1 -type d -name 'unpack.*' ! -name "$last" -exec rm -rf {} +
	done
	# mksquashfs zstd:15 of the tree the last pipeline unpacked
	# shellcheck disable=SC2046 # the options, split
	repeat=1 timed "$key/mksquashfs-zstd:15" mks.sqfs mksquashfs "$last/bundle/rootfs" mks.sqfs -noappend -quiet \
		-processors "$jobs" -b 131072 $(mks_comp zstd:15)
	rm -rf mks.sqfs "$last"
	timed "$key/floor" /dev/null bash "$HERE/pull.sh" floor "${floor[@]}"
}

# upgrade v1 -> v2 of the OS image, as a node does it: the bytes fetched and
# the time, against v2's new blobs and a full pull of v2; with layer reuse
# (v2 is v1 plus a layer: the node has v1's layer index) and without (the
# index removed, as on a node installed by an older release).
bench_upgrade() {
	local s=$W/state up
	for key in upgrade-reuse upgrade; do
		rm -rf "$s" && mkdir -p "$s"
		grub-editenv "$s/state.env" create
		up=("$BIN" upgrade --insecure --state-dir "$s" --boot-record "$W/none.json" --progress=none --source)
		"${up[@]}" "oci:$REGISTRY/os:v1" >/dev/null 2>"$W/upgrade-v1.err" || { cat "$W/upgrade-v1.err" >&2; exit 1; }
		[ "$key" = upgrade-reuse ] || rm -f "$s"/images/*.index
		repeat=1 timed "$key" /dev/null "${up[@]}" "oci:$REGISTRY/os:v2"
	done
	NEWBYTES[os]=$(blobs os v2 | grep -vFf <(blobs os v1 | cut -d' ' -f1) | awk '{s += $2} END {print s + 0}')
	rm -rf "$s"
}

bench_image os os v2
bench_image gen gen gen
bench_upgrade

if [ "$smoke" = 1 ]; then
	DESC[os]="small generated OS (smoke) v2: ${DESC[os]}" DESC[gen]="small generated image (smoke): ${DESC[gen]}"
else
	DESC[os]="reference OS v2: ${DESC[os]}" DESC[gen]="the host's /usr: ${DESC[gen]}"
fi
cell() { # KEY: "wall s, size MiB, RSS MiB RSS"
	printf '%s s, %s MiB, %s MiB RSS' "${WALL[$1]}" "${SIZE[$1]}" "${RSS[$1]}"
}
echo
echo "# bench-pull: $(date -u '+%F %H:%M UTC'), $jobs cores, load $(cut -d' ' -f1-3 /proc/loadavg), $("$BIN" --version | head -1)"
echo
echo "| image | ours, default $default | ours, zstd:3 | skopeo copy + umoci unpack + mksquashfs, $default | the same, zstd:3 | mksquashfs zstd:15 | I/O floor |"
echo "|---|---|---|---|---|---|---|"
for k in os gen; do
	echo "| ${DESC[$k]} | $(cell "$k/ours-default") | $(cell "$k/ours-zstd:3") | $(cell "$k/pipeline-$default") |" \
		"$(cell "$k/pipeline-zstd:3") | ${SIZE[$k/mksquashfs-zstd:15]} MiB | ${WALL[$k/floor]} s, ${RSS[$k/floor]} MiB RSS |"
done

echo
echo "| run | wall s | CPU s | peak RSS MiB | size MiB | registry served MB | image's blobs MB |"
echo "|---|---|---|---|---|---|---|"
for k in os gen; do
	for r in ours-default ours-zstd:3 "pipeline-$default" pipeline-zstd:3 mksquashfs-zstd:15 floor; do
		n=$k/$r
		echo "| $n | ${WALL[$n]} | ${CPU[$n]} | ${RSS[$n]} | ${SIZE[$n]} | $(mb "${SERVED[$n]}") | $(mb "${BLOBS[$k]}") |"
	done
done

echo
echo "| ${DESC[os]%%:*}, v1 -> v2 | bytes fetched MB | vs v2's new blobs ($(mb "${NEWBYTES[os]}") MB) | wall s | vs a full pull of v2 |"
echo "|---|---|---|---|---|"
echo "| full pull of v2 (ours, default) | $(mb "${SERVED[os/ours-default]}") | $(ratio "${SERVED[os/ours-default]}" "${NEWBYTES[os]}")x | ${WALL[os/ours-default]} | 1.00x |"
echo "| upgrade v1 -> v2, no layer index (all layers fetched) | $(mb "${SERVED[upgrade]}") | $(ratio "${SERVED[upgrade]}" "${NEWBYTES[os]}")x | ${WALL[upgrade]} | $(ratio "${WALL[upgrade]}" "${WALL[os/ours-default]}")x |"
echo "| upgrade v1 -> v2 with layer reuse | $(mb "${SERVED[upgrade-reuse]}") | $(ratio "${SERVED[upgrade-reuse]}" "${NEWBYTES[os]}")x | ${WALL[upgrade-reuse]} | $(ratio "${WALL[upgrade-reuse]}" "${WALL[os/ours-default]}")x |"


# goal TEXT MEASURED LIMIT: one line of the goals table.
goal() {
	echo "| $1 | $2x | <= $3x | $(awk -v a="$2" -v b="$3" 'BEGIN {print (a <= b ? "met" : "NOT met")}') |"
}
echo
echo "| goal (issue 16), ratios in this run | measured | goal | |"
echo "|---|---|---|---|"
for k in os gen; do
	goal "$k: default ($default) image / mksquashfs zstd:15" "$(ratio "${SIZE[$k/ours-default]}" "${SIZE[$k/mksquashfs-zstd:15]}")" 1.08
	goal "$k: default pull's wall / I/O floor" "$(ratio "${WALL[$k/ours-default]}" "${WALL[$k/floor]}")" 1.25
	for c in "$default" zstd:3; do
		r=ours-zstd:3
		[ "$c" = "$default" ] && r=ours-default
		goal "$k: size at $c / mksquashfs at $c" "$(ratio "${SIZE[$k/$r]}" "${SIZE[$k/pipeline-$c]}")" 1.00
		goal "$k: wall at $c / scripted pipeline at $c" "$(ratio "${WALL[$k/$r]}" "${WALL[$k/pipeline-$c]}")" 0.30
	done
	goal "$k: full pull's bytes served / image's blob bytes" "$(ratio "${SERVED[$k/ours-default]}" "${BLOBS[$k]}")" 1.00
done
goal "os: v1 -> v2 bytes fetched / v2's new blobs" "$(ratio "${SERVED[upgrade-reuse]}" "${NEWBYTES[os]}")" 1.05
goal "os: v1 -> v2 wall / full pull of v2" "$(ratio "${WALL[upgrade-reuse]}" "${WALL[os/ours-default]}")" 0.30
rss=$(awk -v a="${RSS[gen/ours-default]}" -v b="${RSS[gen/ours-zstd:3]}" 'BEGIN {print (a > b ? a : b)}')
goal "gen: peak RSS / 64 MiB (both settings)" "$(ratio "$rss" 64)" 1.00

# The level curve (item 2), last: the longest part, and optional.
if [ -n "${BENCH_CURVE:-}" ]; then
	curve=(zstd:1 zstd:3 zstd:6 zstd:9 zstd:12 zstd:15 zstd:19 xz)
	[ "$BENCH_CURVE" = 1 ] || read -r -a curve <<<"$BENCH_CURVE"
	for k in os gen; do
		repeats "$k"
		# shellcheck disable=SC2086 # name and tag
		for c in "${curve[@]}"; do ours "$k/curve-$c" ${REF[$k]} "$c"; done
	done
	echo
	echo "| level curve (ours) | image | wall s | CPU s | peak RSS MiB | size MiB | vs mksquashfs zstd:15 | vs the I/O floor's wall |"
	echo "|---|---|---|---|---|---|---|---|"
	for k in os gen; do
		for c in "${curve[@]}"; do
			n=$k/curve-$c
			echo "| $c | $k | ${WALL[$n]} | ${CPU[$n]} | ${RSS[$n]} | ${SIZE[$n]} |" \
				"$(ratio "${SIZE[$n]}" "${SIZE[$k/mksquashfs-zstd:15]}")x | $(ratio "${WALL[$n]}" "${WALL[$k/floor]}")x |"
		done
	done
fi
rm -rf --one-file-system "$W"/registry/storage
