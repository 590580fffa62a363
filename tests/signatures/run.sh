#!/bin/bash
# Signature verification on every fetch (issue 15): `pull`, `upgrade` and
# `reset --source` against a real registry (Debian's docker-registry on
# 127.0.0.1), cosign classic signatures written by
# tests/cosign/cosign_registry.py with Python's cryptography (never by our C
# code; Debian's skopeo has sigstore compiled out, so it cannot be the
# reference). Each case names its exact outcome; every refusal leaves
# nothing written. Prints TAP.
#   tests/signatures/run.sh BINARY
# Bundles, the anti-downgrade rule and the sign verb are suites of their own
# beside this one (bundle.sh, downgrade.sh, sign.sh: check-bundle,
# check-downgrade, check-sign).
set -u
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../lib
. "$LIB/registry.sh"
export COSIGN_PASSWORD=kairos-test

W=$(mktemp -d /tmp/kairos-signatures-test.XXXXXX)
cleanup() {
	registry_stop
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$W"
}
[ -n "${KEEP_WORK:-}" ] && echo "# work dir $W"
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$LIB/tap.sh"
# check NAME: the previous command's status says it (stderr of the last run shown on failure).
check() {
	if [ "$?" -eq 0 ]; then tap_ok "$1"; else tap_not_ok "$1" "$(tail -8 "$W/err" 2>/dev/null)"; fi
}
expect_error() { # the last command's stderr matched REGEX
	grep -Eq "$1" "$W/err" || { echo "# expected /$1/ in:"; sed 's/^/#   /' "$W/err" | tail -5; return 1; }
}

cr() { /usr/bin/python3 "$HERE/../cosign/cosign_registry.py" "$@"; }
fingerprint() { openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | sha256sum | cut -c1-64; }

registry_start "$W/registry" || { tap_not_ok "start docker-registry"; tap_done; exit 1; }
export REGISTRY
for k in ecdsa rsa ed25519; do cr genkey --type "$k" --out "$W/$k" >/dev/null || exit 1; done
cr badkeys "$W/bad" >/dev/null || exit 1

# policy FILE KEY [IDENTITY_TYPE] [EXTRA_IDENTITY_JSON]: this registry needs
# a signature by KEY; everything else is rejected.
policy() {
	local file=$1 key=$2 ident=${3:-matchRepository}
	cat >"$file" <<-J
		{"default": [{"type": "reject"}],
		 "transports": {"docker": {"$REGISTRY": [{"type": "sigstoreSigned", "keyPath": "$key",
		   "signedIdentity": {"type": "$ident"}}]}}}
	J
}
policy "$W/p-ecdsa.json" "$W/ecdsa.pub"
policy "$W/p-rsa.json" "$W/rsa.pub"
policy "$W/p-ed25519.json" "$W/ed25519.pub"
policy "$W/p-exact.json" "$W/ecdsa.pub" matchRepoDigestOrExact
policy "$W/p-badkey.json" "$W/bad/truncated.pub"
echo '{"default": [{"type": "insecureAcceptAnything"}]}' >"$W/p-accept.json"
echo '{"default": [{"type": "reject"}]}' >"$W/p-reject.json"
# Valid JSON, an unknown field: the whole file is refused.
echo '{"default": [{"type": "insecureAcceptAnything"}], "transports": {"docker": {"'"$REGISTRY"'": [{"type": "sigstoreSigned", "keyPath": "/k", "keyPth": 1}]}}}' >"$W/p-malformed.json"

seed=0
# image REPO [push-image options]: a tiny image at REPO:v1 (its own content).
image() {
	seed=$((seed + 1))
	local repo=$1
	shift
	cr push-image "$repo:v1" --seed "$seed" "$@" >/dev/null
}
# pull REPO POLICY [options]: stderr to $W/err, output $W/out.squashfs.
pull() {
	local repo=$1 pol=$2
	shift 2
	rm -f "$W/out.squashfs" "$W/out.json"
	local t0 st
	t0=$(date +%s%N)
	/usr/bin/time -o "$W/rss" -f %M "$BIN" pull --progress=none --insecure --source "oci:$REGISTRY/$repo:v1" \
		--output "$W/out.squashfs" ${pol:+--policy "$pol"} "$@" 2>"$W/err" >/dev/null
	st=$?
	PULL_RSS=$(tail -1 "$W/rss")
	# This pull alone, for the names of the bound cases (not a timed test).
	PULL_MS=$((($(date +%s%N) - t0) / 1000000))
	return $st
}
meta() { jq -r "$1" "$W/out.json"; }
accepted() { # accepted KEY.pub: pulled, recorded as signed by KEY
	[ -s "$W/out.squashfs" ] && [ "$(meta .signed_by)" = "$(fingerprint "$1")" ] &&
		[ "$(meta .signature)" = cosign ] && [ "$(meta .policy)" != null ]
}
one_error() { # the refusal is the only error said
	[ "$(grep -c 'error:' "$W/err")" = 1 ] || { echo "# more than one error line:"; cat "$W/err"; return 1; }
}
refused() { # refused REGEX: status 1, nothing written, the reason said
	local st=$?
	[ "$st" -eq 1 ] || { echo "# exit status $st, expected 1"; return 1; }
	[ ! -e "$W/out.squashfs" ] && [ ! -e "$W/out.json" ] || { echo "# output written"; return 1; }
	expect_error "$1"
}
sign() { cr sign "$@" >/dev/null; }

# ---- valid signatures, each key type ---------------------------------------
for k in ecdsa rsa ed25519; do
	image "valid-$k" && sign "valid-$k:v1" --key "$W/$k.pem" && pull "valid-$k" "$W/p-$k.json"
	accepted "$W/$k.pub"
	check "V: $k signature by the policy's key: pulled, FILE.json signed_by its fingerprint"
done

# ---- refusals --------------------------------------------------------------
NOKEY='no valid signature by a key the policy .* trusts for'
hostile() { # hostile NAME REGEX SIGN-FLAGS...: a fresh image signed with a fault
	local name=$1 re=$2
	shift 2
	image "$name" && sign "$name:v1" --key "$W/ecdsa.pem" "$@"
	pull "$name" "$W/p-ecdsa.json"
	refused "$re"
}
hostile wrong-key "$NOKEY" --wrong-key
check "V: signed by another key: refused, nothing written"
hostile altered "$NOKEY" --alter-payload
check "V: payload altered after signing: refused"
hostile other-digest "signatures for other images only" --other-digest
check "V: signature over another image's digest: refused"
hostile other-identity "signatures naming another repository only" --other-identity
check "V: identity of another repository (matchRepository): refused"
image exact-other && sign exact-other:v1 --key "$W/ecdsa.pem" --identity "$REGISTRY/other/repo:v1"
pull exact-other "$W/p-exact.json"
refused "signatures naming another repository only"
check "V: identity of another repository (matchRepoDigestOrExact): refused"
image exact-ok && sign exact-ok:v1 --key "$W/ecdsa.pem" --identity "$REGISTRY/exact-ok:v1" &&
	pull exact-ok "$W/p-exact.json"
accepted "$W/ecdsa.pub"
check "V: exact identity under matchRepoDigestOrExact: pulled"
hostile unknown-critical "malformed signature payload" --unknown-critical
check "V: unknown key in critical: refused"
hostile dup-keys "malformed signature payload" --duplicate-keys
check "V: duplicate JSON keys in the payload: refused"
image unsigned && pull unsigned "$W/p-ecdsa.json"
refused "no signature by a key" && one_error
check "V: no signature at all: refused, in one line (the missing sha256-HEX.sig tag is an answer, not an error)"
hostile many-layers "has 1000 signatures, more than the 64" --many-layers 1000
check "V: signature manifest of 1000 layers: refused (count bound), in $PULL_MS ms, $((PULL_RSS / 1024)) MiB RSS"
hostile big-real "claims 10485[0-9]{4} bytes, more than the 65536" --big-layer-real
check "V: 100 MiB signature payload: refused before reading it, in $PULL_MS ms, $((PULL_RSS / 1024)) MiB RSS"
hostile big-lie "claims 104857600 bytes" --big-layer-lie
check "V: descriptor claiming 100 MiB: refused, in $PULL_MS ms, $((PULL_RSS / 1024)) MiB RSS"
hostile bad-b64 "$NOKEY" --bad-base64
check "V: signature not base64: refused"
hostile raw-sig "$NOKEY" --raw-signature
check "V: ECDSA signature as raw r||s, not DER: refused"
hostile no-annotation "no signature by a key" --no-annotation
check "V: signature layer without the signature annotation: refused"
image badkey && sign badkey:v1 --key "$W/ecdsa.pem" && pull badkey "$W/p-badkey.json"
refused "truncated.pub that the policy .* names is not a PEM public key"
check "V: malformed key file in the policy: refused, the key file named"
image decoys && sign decoys:v1 --key "$W/ecdsa.pem" --decoys 3 && pull decoys "$W/p-ecdsa.json"
accepted "$W/ecdsa.pub"
check "V: three signatures by other keys, then a valid one: pulled"

# ---- index vs platform digest ----------------------------------------------
image idx-index --platforms linux/amd64,linux/arm64 && sign idx-index:v1 --key "$W/ecdsa.pem" &&
	pull idx-index "$W/p-ecdsa.json" --platform linux/arm64
accepted "$W/ecdsa.pub"
check "V: signature over the index digest: the platform's image pulled"
image idx-plat --platforms linux/amd64,linux/arm64 &&
	sign idx-plat:v1 --key "$W/ecdsa.pem" --platform linux/arm64 &&
	pull idx-plat "$W/p-ecdsa.json" --platform linux/arm64
accepted "$W/ecdsa.pub"
check "V: signature over the platform manifest digest: pulled"
pull idx-plat "$W/p-ecdsa.json" --platform linux/amd64
refused "no signature by a key"
check "V: signature of the arm64 manifest does not cover amd64: refused"

# ---- policies --------------------------------------------------------------
pull valid-ecdsa "$W/p-malformed.json"
refused "does not parse: .*p-malformed.json: \\$\\.transports\\.docker.*keyPth"
check "V: malformed policy: every fetch refused, naming the file and JSON path"
pull unsigned "$W/p-accept.json"
[ -s "$W/out.squashfs" ] && [ "$(meta .signed_by)" = null ] && [ "$(meta .policy)" = "$W/p-accept.json" ]
check "V: insecureAcceptAnything: unsigned image pulled, recorded unsigned with the policy"
pull valid-ecdsa "$W/p-reject.json"
refused "rejects these images"
check "V: reject: refused even when signed"
# No policy file anywhere: /etc/containers hidden under an empty directory
# in a mount namespace of this command only.
mkdir -p "$W/empty-etc"
rm -f "$W/out.squashfs" "$W/out.json"
hide_etc=""
[ -d /etc/containers ] && hide_etc="mount --bind '$W/empty-etc' /etc/containers &&"
unshare -m sh -c "$hide_etc exec '$BIN' pull --progress=none --insecure --source 'oci:$REGISTRY/unsigned:v1' \
	--output '$W/out.squashfs'" 2>"$W/err" >/dev/null
[ -s "$W/out.squashfs" ] && [ "$(meta .signed_by)" = null ] && [ "$(meta .policy)" = null ]
check "V: no policy anywhere: pulled as before, recorded unsigned, no policy"

# ---- upgrade and reset --source: refusals write nothing ---------------------
mkdir -p "$W/t/boot" "$W/t/etc"
echo kernel >"$W/t/boot/vmlinuz"
echo initrd >"$W/t/boot/initrd"
for v in 1 2; do
	echo "VERSION=\"$v\"" >"$W/t/etc/os-release"
	image_new "$W/layout" "v$v" && image_add_layer "$W/layout" "v$v" "$W/t" || exit 1
	push "$W/layout" "v$v" os >/dev/null || exit 1
done
sign os:v1 --key "$W/ecdsa.pem"
S=$W/state
ku() { "$BIN" "$@" --state-dir "$S" --boot-record "$W/boot.json" --progress=none; }
rm -f "$W/boot.json"
mkdir -p "$S" && grub-editenv "$S/state.env" create
ku upgrade --insecure --source "oci:$REGISTRY/os:v1" --policy "$W/p-ecdsa.json" >/dev/null 2>"$W/err" &&
	[ "$("$BIN" status --json --state-dir "$S" | jq -r .slots.active.signed_by)" = "$(fingerprint "$W/ecdsa.pub")" ] &&
	"$BIN" status --state-dir "$S" 2>/dev/null | grep -q "signed by $(fingerprint "$W/ecdsa.pub" | cut -c1-16) (cosign"
check "V: upgrade to a signed image: status and status --json say who signed it"

snapshot() { (cd "$S" && find images state.env -print0 | sort -z | xargs -0 ls -ld --time-style=+%s.%N && find images state.env -type f -print0 | sort -z | xargs -0 sha256sum) >"$W/$1"; }
unchanged() { snapshot after && cmp -s "$W/before" "$W/after"; }
snapshot before
ku upgrade --insecure --source "oci:$REGISTRY/os:v2" --policy "$W/p-ecdsa.json" >/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "Refusing .*os:v2.*no signature by a key" && unchanged
check "V: upgrade to an unsigned image: refused, images/ and state.env byte-identical"
ku upgrade --insecure --source "oci:$REGISTRY/os:v2" --policy "$W/p-malformed.json" >/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "does not parse" && unchanged
check "V: upgrade under a malformed policy: refused, nothing written"
mkdir -p "$W/oem"
cp "$W/p-ecdsa.json" "$W/oem/policy.json"
ku upgrade --insecure --source "oci:$REGISTRY/os:v2" --oem-dir "$W/oem" >/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "policy $W/oem/policy.json" && unchanged
check "V: policy.json on COS_OEM (--oem-dir) overrides /etc/containers/policy.json: unsigned upgrade refused"
# reset runs when booted from recovery: a boot record saying so.
echo '{"slot":"recovery","reason":"menu","image":"'"$(jq -r .slots.active.image <<<"$("$BIN" status --json --state-dir "$S")")"'","why":"test"}' >"$W/rec-boot.json"
mkdir -p "$W/rec"
"$BIN" reset --source "oci:$REGISTRY/os:v2" --insecure --policy "$W/p-ecdsa.json" --state-dir "$S" --recovery-dir "$W/rec" \
	--boot-record "$W/rec-boot.json" --progress=none >/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "Refusing .*os:v2" && unchanged
check "V: reset --source of an unsigned image: refused, images/ and state.env byte-identical"
ku upgrade --insecure --source "oci:$REGISTRY/os:v2" --recovery --recovery-dir "$W/rec" --policy "$W/p-ecdsa.json" \
	>/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "Refusing .*os:v2" && unchanged && [ -z "$(ls -A "$W/rec")" ]
check "V: upgrade --recovery to an unsigned image: refused, nothing written in either partition"
# --policy wins over COS_OEM's (which requires a signature).
ku upgrade --insecure --source "oci:$REGISTRY/os:v2" --policy "$W/p-accept.json" --oem-dir "$W/oem" >/dev/null 2>"$W/err" &&
	[ "$("$BIN" status --json --state-dir "$S" | jq -r .slots.active.signed_by)" = null ] &&
	"$BIN" status --state-dir "$S" 2>/dev/null | grep -q "unsigned, accepted by policy $W/p-accept.json"
check "V: --policy over COS_OEM's, insecureAcceptAnything: upgraded, status says unsigned and the policy"

# ---- the signed dm-verity root hash (issue 17) ------------------------------
# The publisher signs the root hash of its own build (sign --verity, or one
# computed elsewhere); each node compares it with the image it built, after
# the build and before the commit.
for v in 3 4 5 6 7; do
	echo "VERSION=\"$v\"" >"$W/t/etc/os-release"
	image_new "$W/layout" "v$v" && image_add_layer "$W/layout" "v$v" "$W/t" || exit 1
	push "$W/layout" "v$v" os >/dev/null || exit 1
done
layers_of() { curl -sf --noproxy '*' -H "Accept: application/vnd.oci.image.manifest.v1+json" \
	"http://$REGISTRY/v2/os/manifests/sha256-$(digest_of "$1").sig" | jq '.layers | length'; }
digest_of() { skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/os:$1" | sha256sum | cut -c1-64; }
# committed ID: state.env names the image (the upgrade's commit).
committed() { grep -q "$1" "$S/state.env"; }
# A refusal after the build: the directory's mtime moves, its files do not.
files_before() { (cd "$S" && find images state.env -type f | sort | xargs sha256sum) >"$W/files-before"; }
files_unchanged() { (cd "$S" && find images state.env -type f | sort | xargs sha256sum) | cmp -s "$W/files-before" -; }
"$BIN" sign --insecure --key "$W/ecdsa.pem" --verity --progress=none "$REGISTRY/os:v3" >/dev/null 2>"$W/err" &&
	H3=$(sed -n 's/.*pins dm-verity root hash \([0-9a-f]\{64\}\) (\(.*\))$/\1/p' "$W/err") &&
	B3=$(sed -n 's/.*pins dm-verity root hash [0-9a-f]\{64\} (\(.*\))$/\1/p' "$W/err") && [ -n "$H3" ] &&
	/usr/bin/python3 "$HERE/sign_check.py" "$REGISTRY" os "sha256:$(digest_of v3)" --pub "$W/ecdsa.pub" --kind ecdsa \
		--layers 1 -a "dev.kairos.verity.root_hash=$H3" -a "dev.kairos.verity.build=$B3" >"$W/err" 2>&1
check "SR: sign --verity builds the image and signs its root hash and settings: cosign's bytes, openssl verifies"
ku upgrade --insecure --source "oci:$REGISTRY/os:v3" --policy "$W/p-ecdsa.json" --require-signed-root-hash \
	>/dev/null 2>"$W/err" && expect_error "root hash $H3 is the signed one" &&
	committed "$(digest_of v3)" &&
	[ "$(jq -r .verity.root_hash "$S/images/$(digest_of v3).json")" = "$H3" ] &&
	[ "$(jq -r .build.settings "$S/images/$(digest_of v3).json")" = "$B3" ]
check "SR: upgrade to an image signed with --verity, root hash required: built, the same root hash, committed"
"$BIN" sign --insecure --key "$W/ecdsa.pem" --verity --progress=none "$REGISTRY/os:v4" >/dev/null 2>"$W/err"
files_before
ku upgrade --insecure --source "oci:$REGISTRY/os:v4" --policy "$W/p-ecdsa.json" --compression gzip >/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "root hash [0-9a-f]{64} is not the signed [0-9a-f]{64}: signed for zstd:6 128K .*; this node built with gzip:[0-9]+ 128K .*build with the publisher's settings" &&
	files_unchanged && [ ! -e "$S/images/$(digest_of v4).squashfs" ]
check "SR: a node building with other settings (gzip): refused naming both hashes and settings; state.env and images/ byte-identical"
ku upgrade --insecure --source "oci:$REGISTRY/os:v4" --policy "$W/p-ecdsa.json" --prescan=never \
	--compression zstd:5 --force >/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "is not the signed" && files_unchanged
check "SR: another level (zstd:5) and no pre-scan: refused, nothing committed"
sign os:v5 --key "$W/ecdsa.pem"
ku upgrade --insecure --source "oci:$REGISTRY/os:v5" --policy "$W/p-ecdsa.json" --require-signed-root-hash \
	>/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "is signed .* but its signature carries no dm-verity root hash; the policy requires one" &&
	files_unchanged && [ ! -e "$S/images/$(digest_of v5).squashfs" ]
check "SR: root hash required, a signature without one: refused, nothing committed"
mkdir -p "$W/oem-rh" && cp "$W/p-ecdsa.json" "$W/oem-rh/policy.json" &&
	printf '# the operator\nsigned_root_hash=required\n' >"$W/oem-rh/kairos.conf"
ku upgrade --insecure --source "oci:$REGISTRY/os:v5" --oem-dir "$W/oem-rh" >/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "carries no dm-verity root hash; the policy requires one" && files_unchanged
check "SR: kairos.conf signed_root_hash=required on COS_OEM (--oem-dir): the same refusal"
printf 'signed_root_hash=maybe\n' >"$W/oem-rh/kairos.conf"
ku upgrade --insecure --source "oci:$REGISTRY/os:v5" --oem-dir "$W/oem-rh" >/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "signed_root_hash=maybe; it must be required or optional" && files_unchanged
check "SR: kairos.conf signed_root_hash=maybe: every image refused, nothing written"
ZERO=0000000000000000000000000000000000000000000000000000000000000000
HEXU=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
for bad in "root_hash=$HEXU" "root_hash=${ZERO}0" "root_hash=" "build=" "build=zstd:6$(printf '\t')128K"; do
	k=${bad%%=*} name=$(printf %q "$bad" | cut -c1-40)
	other=$([ "$k" = root_hash ] && echo "build=zstd:6" || echo "root_hash=$ZERO")
	cr sign os:v6 --key "$W/ecdsa.pem" --replace -a "dev.kairos.verity.$bad" -a "dev.kairos.verity.$other" >/dev/null
	ku upgrade --insecure --source "oci:$REGISTRY/os:v6" --policy "$W/p-ecdsa.json" >/dev/null 2>"$W/err"
	[ $? -eq 1 ] && expect_error "dev.kairos.verity.$k is not" && files_unchanged
	check "SR: a signed payload whose dev.kairos.verity.$name is malformed: refused, nothing written"
done
cr sign os:v6 --key "$W/ecdsa.pem" --replace -a "dev.kairos.verity.root_hash=$ZERO" >/dev/null
ku upgrade --insecure --source "oci:$REGISTRY/os:v6" --policy "$W/p-ecdsa.json" >/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "without the other" && files_unchanged
check "SR: a signed root hash without its build settings: refused, nothing written"
# The root hash a pull computes, signed by Python's cryptography (code we
# did not write), then by our verb from the .json without building.
rm -f "$W/out.squashfs" "$W/out.json"
"$BIN" pull --progress=none --insecure --source "oci:$REGISTRY/os:v7" --output "$W/out.squashfs" 2>"$W/err" >/dev/null &&
	H7=$(jq -r .verity.root_hash "$W/out.json") && B7=$(jq -r .build.settings "$W/out.json") &&
	cr sign os:v7 --key "$W/rsa.pem" -a "dev.kairos.verity.root_hash=$H7" -a "dev.kairos.verity.build=$B7" >/dev/null &&
	ku upgrade --insecure --source "oci:$REGISTRY/os:v7" --policy "$W/p-rsa.json" --require-signed-root-hash \
		>/dev/null 2>"$W/err" && expect_error "root hash $H7 is the signed one" &&
	committed "$(digest_of v7)"
check "SR: a root hash signed by Python cryptography (cosign -a's payload): accepted and committed"
"$BIN" sign --insecure --key "$W/ed25519.pem" --verity-root-hash "$H7" --verity-build "$B7" "$REGISTRY/os:v7" \
	>/dev/null 2>"$W/err" &&
	/usr/bin/python3 "$HERE/sign_check.py" "$REGISTRY" os "sha256:$(digest_of v7)" --pub "$W/ed25519.pub" \
		--kind ed25519 --layers 2 --layer 1 -a "dev.kairos.verity.root_hash=$H7" -a "dev.kairos.verity.build=$B7" \
		>"$W/err" 2>&1 &&
	ku upgrade --insecure --source "oci:$REGISTRY/os:v7" --policy "$W/p-ed25519.json" --require-signed-root-hash \
		--force >/dev/null 2>"$W/err" && expect_error "root hash $H7 is the signed one"
check "SR: sign --verity-root-hash/--verity-build from pull's FILE.json, no build: openssl verifies, a node accepts"
files_before
ku upgrade --insecure --source "oci:$REGISTRY/os:v7" --policy "$W/p-rsa.json" --compression lz4 --force \
	>/dev/null 2>"$W/err"
[ $? -eq 1 ] && expect_error "is not the signed" && files_unchanged && [ -s "$S/images/$(digest_of v7).squashfs" ] &&
	committed "$(digest_of v7)"
check "SR: --force of the active image with other settings: refused, the active image file kept as it was"
for bad in "--verity-root-hash $HEXU --verity-build x" "--verity-root-hash $ZERO" "--verity --verity-root-hash $ZERO --verity-build x" \
	"-a dev.kairos.verity.root_hash=$ZERO"; do
	name=$(cut -c1-40 <<<"$bad")
	# shellcheck disable=SC2086
	"$BIN" sign --insecure --key "$W/ecdsa.pem" $bad "$REGISTRY/os:v7" >/dev/null 2>"$W/err"
	[ $? -ne 0 ] && [ "$(layers_of v7)" = 2 ]
	check "SR: sign $name: refused, nothing pushed"
done

# ---- local sources: the policy's default ------------------------------------
DEFPOL=$W/p-default.json
echo '{"default": [{"type": "sigstoreSigned", "keyPath": "'"$W/ecdsa.pub"'"}]}' >"$DEFPOL"
rm -f "$W/out.squashfs" "$W/out.json"
"$BIN" pull --progress=none --source "oci-layout:$W/layout:v2" --output "$W/out.squashfs" --policy "$DEFPOL" \
	2>"$W/err" >/dev/null
refused "Refusing .*no signature by a key the policy .* trusts for local images" && one_error
check "V: local OCI layout without a signature under a default that requires one: refused, in one line"
# A docker-archive (docker save) holds one image and no signature tag.
skopeo copy -q "oci:$W/layout:v2" "docker-archive:$W/v2.tar:os:v2" >/dev/null 2>&1
rm -f "$W/out.squashfs" "$W/out.json"
"$BIN" pull --progress=none --source "docker-archive:$W/v2.tar" --output "$W/out.squashfs" --policy "$DEFPOL" \
	2>"$W/err" >/dev/null
refused "Refusing .*no signature by a key the policy .* trusts for local images" && one_error
check "V: docker-archive under a default that requires a signature: refused as unsigned (its manifest is not taken for a signature image)"
d=$(cr sign os:v1 --key "$W/ecdsa.pem" --replace | jq -r .tag)
skopeo copy -q --src-tls-verify=false "docker://$REGISTRY/os:$d" "oci:$W/layout:$d" >/dev/null 2>&1
rm -f "$W/out.squashfs" "$W/out.json"
"$BIN" pull --progress=none --source "oci-layout:$W/layout:v1" --output "$W/out.squashfs" --policy "$DEFPOL" \
	2>"$W/err" >/dev/null
accepted "$W/ecdsa.pub"
check "V: local OCI layout with its sha256-HEX.sig (as cosign save writes it): pulled, signed_by recorded"

# ---- cosign 3's Sigstore bundles (OCI referrers, tag schema here) -----------
bundle() { cr bundle "$@" >/dev/null; }
accepted_bundle() { # accepted_bundle KEY.pub: pulled, recorded as a bundle by KEY
	[ -s "$W/out.squashfs" ] && [ "$(meta .signed_by)" = "$(fingerprint "$1")" ] &&
		[ "$(meta .signature)" = bundle ] && [ "$(meta .policy)" != null ]
}
# No signedIdentity at all: matchRepoDigestOrExact, the default.
echo '{"default": [{"type": "reject"}], "transports": {"docker": {"'"$REGISTRY"'": [{"type": "sigstoreSigned", "keyPath": "'"$W/ed25519.pub"'"}]}}}' >"$W/p-ed25519-default.json"
image bundle-ecdsa && bundle bundle-ecdsa:v1 --key "$W/ecdsa.pem" --no-name && pull bundle-ecdsa "$W/p-exact.json"
accepted_bundle "$W/ecdsa.pub"
check "U: ECDSA bundle naming no repository, matchRepoDigestOrExact: pulled, FILE.json signature bundle, signed_by"
image bundle-ed25519 && bundle bundle-ed25519:v1 --key "$W/ed25519.pem" --no-name &&
	pull bundle-ed25519 "$W/p-ed25519-default.json"
accepted_bundle "$W/ed25519.pub"
check "U: Ed25519 bundle naming no repository, signedIdentity absent (the default): pulled as a bundle"
image bundle-named && bundle bundle-named:v1 --key "$W/ecdsa.pem" && pull bundle-named "$W/p-exact.json"
accepted_bundle "$W/ecdsa.pub"
check "U: bundle naming this repository under matchRepoDigestOrExact (the digest pins the image): pulled"
pull bundle-named "$W/p-ecdsa.json"
accepted_bundle "$W/ecdsa.pub"
check "U: bundle naming this repository under matchRepository: pulled"
image bundle-idx --platforms linux/amd64,linux/arm64 &&
	bundle bundle-idx:v1 --key "$W/ecdsa.pem" --platform linux/arm64 --no-name &&
	pull bundle-idx "$W/p-exact.json" --platform linux/arm64
accepted_bundle "$W/ecdsa.pub"
check "U: bundle over the platform manifest digest: pulled"
pull bundle-idx "$W/p-exact.json" --platform linux/amd64
refused "no signature by a key"
check "U: bundle of the arm64 manifest does not cover amd64: refused, nothing written"
bhostile() { # bhostile NAME REGEX POLICY BUNDLE-FLAGS...: a fresh image with a faulty bundle
	local name=$1 re=$2 pol=$3
	shift 3
	image "$name" && bundle "$name:v1" --key "$W/ecdsa.pem" "$@"
	pull "$name" "$pol"
	refused "$re"
}
bhostile b-wrong-key "$NOKEY" "$W/p-exact.json" --no-name --wrong-key
check "U: bundle by another key: refused, nothing written"
bhostile b-other-digest "signatures for other images only" "$W/p-exact.json" --no-name --other-digest
check "U: bundle over another image's digest: refused, nothing written"
bhostile b-other-identity "signatures naming another repository only" "$W/p-exact.json" --other-identity
check "U: bundle naming another repository under matchRepoDigestOrExact: refused, nothing written"
bhostile b-nameless "a bundle that names no repository \\(the policy's signedIdentity needs one\\)" "$W/p-ecdsa.json" --no-name
check "U: bundle naming no repository under matchRepository: refused, nothing written"
bhostile b-altered "$NOKEY" "$W/p-exact.json" --no-name --alter-payload
check "U: bundle payload altered after signing: refused"

# A local OCI layout: the referrers tag schema copied in (index at tag
# sha256-HEX, the referrer manifest, the bundle blob), as a copy of that
# tag brings it.
layout_blob() { # layout_blob FILE: into $W/layout's blobs, prints its digest
	local d
	d=$(sha256sum "$1" | cut -c1-64)
	cp "$1" "$W/layout/blobs/sha256/$d"
	echo "sha256:$d"
}
v2=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "v2") | .digest' "$W/layout/index.json")
b=$(cr bundle "os@$v2" --key "$W/ecdsa.pem" --no-name)
acc='Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json'
curl -sf -H "$acc" "http://$REGISTRY/v2/os/manifests/$(jq -r .fallback_tag <<<"$b")" -o "$W/bidx" &&
	curl -sf -H "$acc" "http://$REGISTRY/v2/os/manifests/$(jq -r .referrer_digest <<<"$b")" -o "$W/bman" &&
	curl -sf "http://$REGISTRY/v2/os/blobs/$(jq -r .bundle_digest <<<"$b")" -o "$W/bblob" &&
	layout_blob "$W/bman" >/dev/null && layout_blob "$W/bblob" >/dev/null &&
	idx=$(layout_blob "$W/bidx") &&
	jq --arg d "$idx" --arg t "$(jq -r .fallback_tag <<<"$b")" --argjson n "$(stat -c %s "$W/bidx")" \
		'.manifests += [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": $d, "size": $n,
		  "annotations": {"org.opencontainers.image.ref.name": $t}}]' "$W/layout/index.json" >"$W/index.new" &&
	mv "$W/index.new" "$W/layout/index.json"
rm -f "$W/out.squashfs" "$W/out.json"
"$BIN" pull --progress=none --source "oci-layout:$W/layout:v2" --output "$W/out.squashfs" --policy "$DEFPOL" \
	2>"$W/err" >/dev/null
accepted_bundle "$W/ecdsa.pub"
check "U: local OCI layout with a bundle under the referrers tag schema: pulled, recorded as a bundle"

tap_done
