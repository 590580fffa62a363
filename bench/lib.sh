#!/bin/bash
# Sourced by the bench scripts: timing under /usr/bin/time -v, and ratios.

# measure NAME OUTPUT CMD...: run $repeat times (BENCH_REPEAT, default 3)
# under /usr/bin/time -v, in the current directory; keep the minimum wall,
# CPU and RSS (the box is shared: the minimum is the least disturbed run) in
# WALL, CPU and RSS, and OUTPUT's size in SIZE (MiB; /dev/null for none).
repeat=${BENCH_REPEAT:-3}
# shellcheck disable=SC2034 # for the script that sources this
declare -A WALL CPU RSS SIZE
measure() {
	local name=$1 out=$2 i w c m
	shift 2
	WALL[$name]=999999 CPU[$name]=999999 RSS[$name]=999999
	for ((i = 0; i < repeat; i++)); do
		sync
		/usr/bin/time -v -o time.txt "$@" >/dev/null 2>run.err || { cat run.err time.txt; exit 1; }
		w=$(awk -F': ' '/Elapsed \(wall/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' time.txt)
		c=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' time.txt)
		m=$(awk -F': ' '/Maximum resident/ {printf "%.1f", $2/1024}' time.txt)
		WALL[$name]=$(awk -v a="$w" -v b="${WALL[$name]}" 'BEGIN {print (a < b ? a : b)}')
		CPU[$name]=$(awk -v a="$c" -v b="${CPU[$name]}" 'BEGIN {print (a < b ? a : b)}')
		RSS[$name]=$(awk -v a="$m" -v b="${RSS[$name]}" 'BEGIN {print (a < b ? a : b)}')
	done
	SIZE[$name]=$(awk -v b="$(size_of "$out")" 'BEGIN {printf "%.1f", b/1048576}')
}

# A squashfs's size is the superblock's bytes_used (byte 40): ours carries
# its dm-verity tree after it, mksquashfs's only padding; compared alike.
size_of() {
	if [ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d " \n")" = 68737173 ]; then
		od -An -tu8 -j40 -N8 "$1" | tr -d ' '
	else
		stat -c %s "$1"
	fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
