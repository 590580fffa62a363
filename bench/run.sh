#!/bin/bash
# run.sh BUILDER WORKDIR COMPRESSION: time our build against tar2sqfs and
# umoci unpack + mksquashfs on one generated tree; print a table and ratios.
# BENCH_TREE (default: a ~230 MB slice of the host's /usr) picks the input;
# BENCH_LEVELS="1 3 6 9 15" adds our zstd level curve.
# Then one directory of BENCH_DIR_ENTRIES (default 1 M) empty files, their
# entries in ascending, descending and random order (insertion must not
# depend on the order). BENCH_ONLY=dirs runs only that part.
set -eu
builder=$(realpath "$1") work=$2 compression=$3
gen=$(realpath "$(dirname "$0")")/dir_tar.py
. "$(dirname "$gen")/lib.sh"
comp=${compression%%:*}
level=${compression#*:}
[ "$level" = "$compression" ] && level=
mkdir -p "$work"
cd "$work"
tree=${BENCH_TREE:-usr/include usr/lib/python3.11 usr/share/i18n usr/share/perl}
jobs=$(nproc)

if [ "${BENCH_ONLY:-}" != dirs ]; then
if [ ! -f layer.tar ]; then
	echo "# generating layer.tar from /: $tree"
	tar -C / --sort=name -cf layer.tar $tree
	gzip -1 -c layer.tar >layer.tar.gz
fi
if [ ! -f upper.tar ]; then
	# an upper layer deleting a big subtree: what the pre-scan is for
	mkdir -p upper/usr/lib
	: >upper/usr/lib/.wh.python3.11
	tar -C upper -cf upper.tar usr
	rm -rf upper
fi
entries=$(tar -tf layer.tar | wc -l)
echo "# input: $(du -m layer.tar | cut -f1) MiB tar, $entries entries, $jobs cores, $compression, best of ${BENCH_REPEAT:-3} runs"
echo "# note: ours fsyncs the image before renaming it into place; tar2sqfs and mksquashfs do not"

case $comp in
zstd) t2s_x=(-X "level=${level:-3}"); mks_x=(-Xcompression-level "${level:-3}") ;;
gzip) t2s_x=(-X "level=${level:-9}"); mks_x=(-Xcompression-level "${level:-9}") ;;
*) t2s_x=(); mks_x=() ;;
esac

rm -f ours.sqfs ours-gz.sqfs t2s.sqfs mks.sqfs
measure ours ours.sqfs "$builder" --output ours.sqfs --compression "$compression" --threads "$jobs" --layer layer.tar
measure ours-gzip-layer ours-gz.sqfs "$builder" --output ours-gz.sqfs --compression "$compression" --threads "$jobs" --layer layer.tar.gz
measure ours-2-layers-prescan ours2.sqfs "$builder" --output ours2.sqfs --compression "$compression" --threads "$jobs" --layer layer.tar.gz --layer upper.tar
measure ours-2-layers-no-prescan ours2.sqfs "$builder" --output ours2.sqfs --compression "$compression" --threads "$jobs" --no-prescan --layer layer.tar.gz --layer upper.tar
rm -f ours2.sqfs
measure tar2sqfs t2s.sqfs sh -c "tar2sqfs -q -f -c $comp ${t2s_x[*]} -j $jobs t2s.sqfs <layer.tar"

# the scripted pipeline: OCI layout (not timed), then unpack + mksquashfs (timed)
if [ ! -d img ]; then
	umoci init --layout img >/dev/null
	umoci new --image img:t >/dev/null
	umoci raw add-layer --image img:t layer.tar >/dev/null
fi
measure umoci-unpack+mksquashfs mks.sqfs sh -c "rm -rf bundle && umoci unpack --image img:t bundle && mksquashfs bundle/rootfs mks.sqfs -noappend -quiet -comp $comp ${mks_x[*]} -processors $jobs -b 131072"
rm -rf bundle

printf '\n| %-26s | %8s | %8s | %9s | %9s |\n' builder "wall s" "CPU s" "RSS MiB" "size MiB"
printf '|%s|%s|%s|%s|%s|\n' ---------------------------- ---------- ---------- ----------- -----------
for n in ours ours-gzip-layer ours-2-layers-prescan ours-2-layers-no-prescan tar2sqfs umoci-unpack+mksquashfs; do
	printf '| %-26s | %8s | %8s | %9s | %9s |\n' "$n" "${WALL[$n]}" "${CPU[$n]}" "${RSS[$n]}" "${SIZE[$n]}"
done
echo
echo "ours / tar2sqfs: wall $(ratio "${WALL[ours]}" "${WALL[tar2sqfs]}")x, CPU $(ratio "${CPU[ours]}" "${CPU[tar2sqfs]}")x, RSS $(ratio "${RSS[ours]}" "${RSS[tar2sqfs]}")x, size $(ratio "${SIZE[ours]}" "${SIZE[tar2sqfs]}")x (target: wall <= 1.25x, RSS <= 64 MiB)"
echo "ours / umoci+mksquashfs: wall $(ratio "${WALL[ours]}" "${WALL[umoci-unpack+mksquashfs]}")x, RSS $(ratio "${RSS[ours]}" "${RSS[umoci-unpack+mksquashfs]}")x, size $(ratio "${SIZE[ours]}" "${SIZE[umoci-unpack+mksquashfs]}")x"

if [ -n "${BENCH_LEVELS:-}" ]; then
	echo
	printf '| %-10s | %8s | %8s | %9s |\n' "ours zstd" "wall s" "CPU s" "size MiB"
	for l in $BENCH_LEVELS; do
		measure "zstd:$l" lvl.sqfs "$builder" --output lvl.sqfs --compression "zstd:$l" --threads "$jobs" --layer layer.tar
		printf '| %-10s | %8s | %8s | %9s |\n' "$l" "${WALL[zstd:$l]}" "${CPU[zstd:$l]}" "${SIZE[zstd:$l]}"
	done
	rm -f lvl.sqfs
fi
fi

# One big directory, in each order: time and peak RSS of our build.
n=${BENCH_DIR_ENTRIES:-1000000}
echo
echo "# one directory of $n empty files, best of ${BENCH_REPEAT:-3} runs"
printf '| %-26s | %8s | %8s | %9s |\n' "entries order" "wall s" "CPU s" "RSS MiB"
printf '|%s|%s|%s|%s|\n' ---------------------------- ---------- ---------- -----------
for order in ascending descending random; do
	[ -f "dir-$n-$order.tar" ] || python3 "$gen" "$n" "$order" "dir-$n-$order.tar"
	measure "dir-$order" dir.sqfs "$builder" --output dir.sqfs --compression "$compression" --threads "$jobs" \
		--layer "dir-$n-$order.tar"
	printf '| %-26s | %8s | %8s | %9s |\n' "$order" "${WALL[dir-$order]}" "${CPU[dir-$order]}" "${RSS[dir-$order]}"
done
rm -f dir.sqfs
