#!/bin/bash
# What signature verification adds to an upgrade (issue 15 wants <= 50 ms):
# the same small signed image upgraded ROUNDS times with the policy that
# requires its signature and ROUNDS times with no policy at all
# (/etc/containers hidden in a mount namespace), alternating, in the same
# run, from a local docker-registry. Prints the medians and the difference.
#   bench/signatures.sh BINARY [ROUNDS]
set -eu
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
BIN=$(realpath "$1")
ROUNDS=${2:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/lib/registry.sh"
export COSIGN_PASSWORD=bench
W=$(mktemp -d /tmp/kairos-bench-sig.XXXXXX)
trap 'registry_stop || true; rm -rf "$W"' EXIT
cr() { /usr/bin/python3 "$HERE/../tests/cosign/cosign_registry.py" "$@"; }

registry_start "$W/registry" >/dev/null
export REGISTRY
cr genkey --type ecdsa --out "$W/k" >/dev/null
mkdir -p "$W/t/boot" "$W/t/etc"
echo kernel >"$W/t/boot/vmlinuz"
echo initrd >"$W/t/boot/initrd"
echo 'VERSION="1"' >"$W/t/etc/os-release"
image_new "$W/layout" v1 && image_add_layer "$W/layout" v1 "$W/t" && push "$W/layout" v1 os
cr sign os:v1 --key "$W/k.pem" >/dev/null
cat >"$W/policy.json" <<J
{"default": [{"type": "reject"}], "transports": {"docker": {"$REGISTRY": [{"type": "sigstoreSigned",
 "keyPath": "$W/k.pub", "signedIdentity": {"type": "matchRepository"}}]}}}
J
mkdir -p "$W/empty" "$W/s"
grub-editenv "$W/s/state.env" create
hide=""
[ -d /etc/containers ] && hide="mount --bind $W/empty /etc/containers &&"

one() { # one MODE: milliseconds of one upgrade --force
	local args=(upgrade --force --insecure --source "oci:$REGISTRY/os:v1" --state-dir "$W/s"
		--boot-record "$W/none.json" --progress=none)
	local t0 t1
	t0=$(date +%s%N)
	[ "$1" = signed ] && args+=(--policy "$W/policy.json")
	# Both the same way (the namespace costs the same), one with the policy.
	unshare -m sh -c "$hide exec \"\$0\" \"\$@\"" "$BIN" "${args[@]}" >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
one signed >/dev/null # warm up both paths
grep -q '"signed_by": "[0-9a-f]' "$W"/s/images/*.json # the signed run was verified
one none >/dev/null
: >"$W/signed"
: >"$W/none"
for _ in $(seq "$ROUNDS"); do
	one signed >>"$W/signed"
	one none >>"$W/none"
done
s=$(median <"$W/signed")
u=$(median <"$W/none")
printf 'signature verification on upgrade (%s rounds, median): signed+policy %.1f ms, no policy %.1f ms, added %.1f ms (ratio %.2f)\n' \
	"$ROUNDS" "$(echo "$s / 1000" | bc -l)" "$(echo "$u / 1000" | bc -l)" "$(echo "($s - $u) / 1000" | bc -l)" \
	"$(echo "$s / $u" | bc -l)"
