#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cosign 3's Sigstore bundles against a real docker-registry (TAP): images
# pushed and signed by tests/cosign/cosign_registry.py (Python cryptography,
# cosign's bytes; every fault it has), fetched by oci/referrers.c through
# the OCI 1.1 referrers API (tests/signatures/referrers_proxy.py adds one:
# Debian's docker-registry 2.8 has none) or the referrers tag schema, and
# verified by trust/bundle.c, through bundle-tool (BUNDLE_TOOL, default
# build/tests/bundle-tool, built when missing). Runs alone:
#   bash tests/signatures/bundle.sh
# Starts its own registry on 127.0.0.1; no network beyond it.
set -u
cd "$(dirname "$0")/../.."
tool=${BUNDLE_TOOL:-build/tests/bundle-tool}
[ -x "$tool" ] || make --no-print-directory -j2 "$tool" >/dev/null || exit 1
py=/usr/bin/python3
cr="$py tests/cosign/cosign_registry.py"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
work=$(mktemp -d /tmp/kairos-bundle.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $work/storage}
  redirect: {disable: true}
http:
  addr: 127.0.0.1:$port
  secret: test-only
EOF
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
export REGISTRY=127.0.0.1:$port COSIGN_PASSWORD=kairos-test

n=0 failed=0
tap() { # tap OK NAME [DETAIL]
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && sed 's/^/# /' <<<"$3"
		failed=1
	fi
}
json() { "$py" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

for kind in ecdsa rsa ed25519; do $cr genkey --type "$kind" --out "$work/$kind" >/dev/null; done
pub=$work/ecdsa.pub key=$work/ecdsa.pem

# push REPO [--platforms ...] -> digest
push() { $cr push-image "$1:v1" "${@:2}" | json digest; }
# check NAME WANT_EXIT WANT_REGEX REF PUB DIGEST...: run bundle-tool, match its output
check() {
	local name=$1 want=$2 regex=$3 ref=$4 key=$5
	shift 5
	local out rc
	out=$("$tool" --insecure "$ref" "$key" "$@" 2>"$work/stderr")
	rc=$?
	# the output as one line: a regex can ask for several lines in order
	if [ "$rc" = "$want" ] && grep -Eq -- "$regex" <<<"$(tr '\n' ' ' <<<"$out")"; then tap 0 "$name"; else
		tap 1 "$name" "exit $rc (want $want), output:
$out
$(cat "$work/stderr")"
	fi
}

# --- valid, each key type, through the tag schema (Debian's registry) ---
d=$(push valid)
$cr bundle "valid:v1" --key "$key" >/dev/null
check "valid bundle (ECDSA P-256) found by the tag schema, verified, subject name returned" 0 \
	"^bundles 1 .*verified $d $REGISTRY/valid " "$REGISTRY/valid:v1" "$pub" "$d"
for kind in rsa ed25519; do
	d=$(push "valid-$kind")
	$cr bundle "valid-$kind:v1" --key "$work/$kind.pem" >/dev/null
	check "valid bundle ($kind) verified" 0 "verified $d" "$REGISTRY/valid-$kind:v1" "$work/$kind.pub" "$d"
done

# --- the referrers API (the proxy has it; it hides the tag-schema tag) ---
pport=$(free_port)
"$py" tests/signatures/referrers_proxy.py "$pport" "$REGISTRY" >"$work/proxy.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$pport/v2/" >/dev/null && break; sleep 0.1; done
d=$(push valid) # same bytes, same digest
hidden=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pport/v2/valid/manifests/sha256-${d#sha256:}")
check "valid bundle found by the referrers API (tag-schema tag hidden: HTTP $hidden)" 0 "verified $d" \
	"127.0.0.1:$pport/valid:v1" "$pub" "$d"
d=$(push unsigned-api --seed api)
check "referrers API with no referrers: no bundle" 1 "^bundles 0 \$" "127.0.0.1:$pport/unsigned-api:v1" "$pub" "$d"

# --- no signature, and a bundle without the tag-schema index ---
d=$(push unsigned --seed 2)
check "unsigned image: no bundle, nothing verified" 1 "^bundles 0 \$" "$REGISTRY/unsigned:v1" "$pub" "$d"
d=$(push nofallback --seed 3)
$cr bundle "nofallback:v1" --key "$key" --no-fallback >/dev/null
check "referrer pushed without the tag-schema index, registry without the API: not found" 1 "^bundles 0 \$" \
	"$REGISTRY/nofallback:v1" "$pub" "$d"

# --- every fault of cosign_registry.py bundle ---
fault() { # fault FLAG RESULT NAME
	local repo=fault-${1#--}
	local d
	d=$(push "$repo" --seed "${1#--}")
	$cr bundle "$repo:v1" --key "$key" "$1" >/dev/null
	check "$3" 1 "^bundles 1 .* $2 \$" "$REGISTRY/$repo:v1" "$pub" "$d"
}
fault --wrong-key key-rejected "bundle signed by another key: key-rejected"
fault --alter-payload key-rejected "statement altered after signing: key-rejected"
fault --other-digest other-digest "bundle over another image's digest: other-digest"
fault --wrong-payload-type malformed "payloadType application/json: malformed"
fault --two-signatures malformed "envelope with two signatures (one valid): malformed"
fault --malformed-json malformed "bundle cut in half: malformed"
fault --bad-base64 malformed "signature not base64: malformed"
fault --raw-signature key-rejected "ECDSA signature as raw r and s, not DER: key-rejected"

# other-identity verifies: the identity is the policy's to match (returned)
d=$(push identity --seed 4)
$cr bundle "identity:v1" --key "$key" --other-identity >/dev/null
check "subject name of another repository: verified, identity returned for the policy" 0 \
	"verified $d $REGISTRY/other/repo \$" "$REGISTRY/identity:v1" "$pub" "$d"

# --- several bundles, one valid ---
d=$(push several --seed 5)
$cr bundle "several:v1" --key "$key" --wrong-key >/dev/null
$cr bundle "several:v1" --key "$key" --two-signatures >/dev/null
$cr bundle "several:v1" --key "$key" >/dev/null
check "three bundles, the last one valid: verified" 0 "^bundles 3 .*verified $d" "$REGISTRY/several:v1" "$pub" "$d"

# --- index vs platform (SIGNATURES.md decision 3) ---
out=$($cr push-image "multi:v1" --platforms linux/amd64,linux/arm64 --seed 6)
index=$(json digest <<<"$out")
amd64=$("$py" -c 'import json,sys; print(json.load(sys.stdin)["platforms"]["linux/amd64"])' <<<"$out")
$cr bundle "multi:v1" --key "$key" >/dev/null
check "bundle over the index: verified for the platform manifest picked from it" 0 "verified $index" \
	"$REGISTRY/multi:v1" "$pub" "$amd64" "$index"
check "bundle over the index, only the platform digest asked: not found" 1 "^bundles 0 \$" \
	"$REGISTRY/multi:v1" "$pub" "$amd64"
out=$($cr push-image "multi2:v1" --platforms linux/amd64,linux/arm64 --seed 7)
index=$(json digest <<<"$out")
amd64=$("$py" -c 'import json,sys; print(json.load(sys.stdin)["platforms"]["linux/amd64"])' <<<"$out")
$cr bundle "multi2:v1" --key "$key" --platform linux/amd64 >/dev/null
check "bundle over the platform manifest: verified" 0 "verified $amd64" "$REGISTRY/multi2:v1" "$pub" "$amd64" "$index"

# --- hostile referrers: counts and sizes (written here, by hand) ---
hostile() { # hostile REPO MODE -> digest; MODE many|biglayer|attestation
	"$py" - "$REGISTRY" "$1" "$2" "$key" <<'EOF'
import json, sys
sys.path.insert(0, "tests/cosign")
import cosign_registry as cr
reg = cr.Registry(sys.argv[1]); repo, mode = sys.argv[2], sys.argv[3]
man = cr.push_one(reg, repo, "linux", "amd64", mode)
d = reg.put_manifest(repo, "v1", man, cr.OCI_MANIFEST)
esize, edigest = reg.put_blob(repo, cr.EMPTY_JSON)
entries = []
def referrer(blob, size=None, predicate=cr.SIGN_PREDICATE):
    bsize, bdigest = reg.put_blob(repo, blob)
    ann = {"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": predicate}
    m = cr.go_json({"schemaVersion": 2, "mediaType": cr.OCI_MANIFEST, "artifactType": cr.BUNDLE_TYPE,
                    "config": cr.descriptor(cr.OCI_EMPTY, esize, edigest),
                    "layers": [cr.descriptor(cr.BUNDLE_TYPE, size or bsize, bdigest)],
                    "subject": cr.descriptor(cr.OCI_MANIFEST, len(man), d), "annotations": ann})
    md = reg.put_manifest(repo, cr.sha256_digest(m), m, cr.OCI_MANIFEST)
    entries.append(cr.descriptor(cr.OCI_MANIFEST, len(m), md, ann, artifact_type=cr.BUNDLE_TYPE))
if mode == "many":
    for i in range(17):
        referrer(b'{"n":%d}' % i)
elif mode == "biglayer":
    referrer(b"{}", size=100 * 1024 * 1024)       # the descriptor lies: 100 MiB
    referrer(b" " * (256 * 1024 + 1))              # a real 256 KiB + 1
elif mode == "attestation":
    referrer(b"{}", predicate="https://slsa.dev/provenance/v1")
index = cr.go_json({"schemaVersion": 2, "mediaType": cr.OCI_INDEX, "manifests": entries})
reg.put_manifest(repo, d.replace(":", "-"), index, cr.OCI_INDEX)
print(d)
EOF
}
d=$(hostile many many)
start=$(date +%s%N)
check "17 bundle referrers: refused as a whole (-E2BIG), nothing fetched" 2 "fetch-failed Argument list too long" "$REGISTRY/many:v1" "$pub" "$d"
d=$(hostile biglayer biglayer)
check "bundle layers claiming 100 MiB and of 256 KiB + 1: skipped unfetched, no bundle" 1 "^bundles 0 \$" \
	"$REGISTRY/biglayer:v1" "$pub" "$d"
d=$(hostile attestation attestation)
check "an attestation referrer (predicateType SLSA): skipped unfetched" 1 "^bundles 0 \$" \
	"$REGISTRY/attestation:v1" "$pub" "$d"

echo "1..$n"
exit $failed
