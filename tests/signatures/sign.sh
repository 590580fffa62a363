#!/bin/bash
# `kairos-upgrade sign` (issue 15) against a real docker-registry on
# 127.0.0.1 it starts itself. Prints TAP; runs alone:
#   bash tests/signatures/sign.sh [BINARY]      (default build/kairos-upgrade)
# Images and keys come from tests/cosign/cosign_registry.py (Python
# cryptography/nacl: code we did not write). What our verb writes is then
# checked without our code (tests/signatures/sign_check.py): fetched with
# curl, compared with the exact bytes cosign writes, and every signature
# verified with the openssl CLI. Debian's skopeo has sigstore compiled out
# ("Debian-local change: sigstore disabled") and cosign is not packaged, so
# neither can be the reference here.
set -u
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=$(realpath "${1:-$ROOT/build/kairos-upgrade}")
PY=/usr/bin/python3
. "$ROOT/tests/lib/registry.sh"
. "$ROOT/tests/lib/tap.sh"

WORK=$(mktemp -d /tmp/kairos-sign-test.XXXXXX)
cleanup() {
	registry_stop
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cr() { "$PY" "$ROOT/tests/cosign/cosign_registry.py" "$@"; }
json() { "$PY" -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }
# sign ARGS...: our verb, stderr to $WORK/err.
sign() { "$BIN" sign --insecure "$@" 2>"$WORK/err"; }
expect_error() { grep -Eq -- "$1" "$WORK/err" || { echo "expected /$1/ in:"; cat "$WORK/err"; return 1; }; }
check() { "$PY" "$HERE/sign_check.py" "$REGISTRY" "$@"; }
# What the registry holds: every tag of os and every blob file, for
# "nothing was pushed".
snapshot() {
	curl -s --noproxy '*' "http://$REGISTRY/v2/os/tags/list"
	find "$WORK/reg/storage" -type f | sort
}
layers() { curl -sf --noproxy '*' -H "Accept: application/vnd.oci.image.manifest.v1+json" \
	"http://$REGISTRY/v2/os/manifests/sha256-${1#sha256:}.sig" | json layers | "$PY" -c 'import ast,sys; print(len(ast.literal_eval(sys.stdin.read())))'; }

registry_start "$WORK/reg" || { echo "not ok 1 - registry starts"; exit 1; }
export REGISTRY
export COSIGN_PASSWORD=kairos-sign-test
IMG=$(cr push-image os:v1 | json digest)
IMG2=$(cr push-image os:v2 --seed 2 | json digest)
IDX_OUT=$(cr push-image os:multi --seed 3 --platforms linux/amd64,linux/arm64)
IDX=$(json digest <<<"$IDX_OUT")
ARM=$(json platforms.linux/arm64 <<<"$IDX_OUT")
for k in ecdsa rsa ed25519; do cr genkey --type "$k" --out "$WORK/$k" >/dev/null; done
cr genkey --type ecdsa --legacy-label --out "$WORK/legacy" >/dev/null
cr badkeys "$WORK/bad" >/dev/null

tap_check "sign --help: key-based only, what it writes, COSIGN_PASSWORD, --platform" \
	bash -c "'$BIN' sign --help | grep -q 'Key-based only' && '$BIN' sign --help | grep -q 'sha256-HEX.sig' &&
		'$BIN' sign --help | grep -q COSIGN_PASSWORD && '$BIN' sign --help | grep -q -- '--platform' &&
		'$BIN' --help | grep -q '^  sign'"

# Each key type, as an encrypted cosign key file and as a plain PEM key;
# every signature appended to the one image, each layer checked.
n=0
for k in ecdsa rsa ed25519; do
	for form in key pem; do
		n=$((n + 1))
		if sign --key "$WORK/$k.$form" "$REGISTRY/os:v1" && check os "$IMG" --pub "$WORK/$k.pub" --kind "$k" --layers "$n"; then
			tap_ok "sign with a $k key ($([ $form = key ] && echo "cosign encrypted" || echo "plain PEM")): cosign's bytes, openssl verifies, signature $n appended"
		else
			tap_not_ok "sign with a $k $form key" "$(cat "$WORK/err")"
		fi
	done
done

tap_check "appending kept every earlier signature (layer 1 still the first ecdsa one)" \
	check os "$IMG" --pub "$WORK/ecdsa.pub" --kind ecdsa --layers 6 --layer 0

tap_check "an encrypted key with the legacy label ENCRYPTED COSIGN PRIVATE KEY" \
	bash -c "'$BIN' sign --insecure --key '$WORK/legacy.key' '$REGISTRY/os:v2' 2>'$WORK/err' &&
		'$PY' '$HERE/sign_check.py' '$REGISTRY' os '$IMG2' --pub '$WORK/legacy.pub' --kind ecdsa --layers 1"

# cosign sign -a: into optional, sorted, with Go's HTML escaping.
tap_check "-a annotations land in the payload's optional exactly as cosign writes them" \
	bash -c "'$BIN' sign --insecure --key '$WORK/ecdsa.pem' -a 'z=last' -a 'a=<b>&c' -a 'env=prod=1' '$REGISTRY/os:v2' 2>'$WORK/err' &&
		'$PY' '$HERE/sign_check.py' '$REGISTRY' os '$IMG2' --pub '$WORK/ecdsa.pub' --kind ecdsa --layers 2 -a 'z=last' -a 'a=<b>&c' -a 'env=prod=1'"

# Interoperability: our signature appended to one cosign_registry.py wrote,
# and its appended to ours; each keeps the other's.
IMG3=$(cr push-image os:v3 --seed 4 | json digest)
cr sign os:v3 --key "$WORK/rsa.pem" >/dev/null
if sign --key "$WORK/ecdsa.key" "$REGISTRY/os:v3" && check os "$IMG3" --pub "$WORK/ecdsa.pub" --kind ecdsa --layers 2 &&
	check os "$IMG3" --pub "$WORK/rsa.pub" --kind rsa --layers 2 --layer 0 &&
	cr sign os:v3 --key "$WORK/ed25519.pem" >/dev/null &&
	check os "$IMG3" --pub "$WORK/ed25519.pub" --kind ed25519 --layers 3 --layer 2 &&
	check os "$IMG3" --pub "$WORK/ecdsa.pub" --kind ecdsa --layers 3 --layer 1; then
	tap_ok "appends to a signature image cosign's format wrote, and it appends to ours"
else
	tap_not_ok "interoperability with cosign_registry.py's signature images" "$(cat "$WORK/err")"
fi

# A tag of an index: the index's digest; --platform: that manifest's.
if sign --key "$WORK/ecdsa.pem" "$REGISTRY/os:multi" && check os "$IDX" --pub "$WORK/ecdsa.pub" --kind ecdsa --layers 1 &&
	expect_error "multi-platform index: signing the index"; then
	tap_ok "a tag of an index signs the index digest (and says so)"
else
	tap_not_ok "index digest" "$(cat "$WORK/err")"
fi
if sign --key "$WORK/ecdsa.pem" --platform linux/arm64 "$REGISTRY/os:multi" &&
	check os "$ARM" --pub "$WORK/ecdsa.pub" --kind ecdsa --layers 1 && [ "$(layers "$IDX")" = 1 ]; then
	tap_ok "--platform linux/arm64 signs that platform's manifest, not the index"
else
	tap_not_ok "--platform" "$(cat "$WORK/err")"
fi
tap_check "by digest: REF@sha256:... signs that digest" \
	bash -c "'$BIN' sign --insecure --key '$WORK/ed25519.pem' 'oci:$REGISTRY/os@$IMG2' 2>'$WORK/err' &&
		'$PY' '$HERE/sign_check.py' '$REGISTRY' os '$IMG2' --pub '$WORK/ed25519.pub' --kind ed25519 --layers 3"

# --identity (cosign's --sign-container-identity): nodes that pull through
# another name (a mirror; a VM that sees the registry as 10.0.2.2).
IMG5=$(cr push-image os:v5 --seed 6 | json digest)
tap_check "--identity names another repository in the payload: cosign's bytes, openssl verifies" \
	bash -c "'$BIN' sign --insecure --key '$WORK/ecdsa.pem' --identity 10.0.2.2:5000/os '$REGISTRY/os:v5' 2>'$WORK/err' &&
		'$PY' '$HERE/sign_check.py' '$REGISTRY' os '$IMG5' --pub '$WORK/ecdsa.pub' --kind ecdsa --layers 1 --identity 10.0.2.2:5000/os"
tap_check "--identity with a tag, a digest or no host is a usage error, nothing pushed" \
	bash -c "before=\$(curl -s --noproxy '*' http://$REGISTRY/v2/os/tags/list)
		for i in 10.0.2.2:5000/os:v1 10.0.2.2:5000/os@$IMG5 os; do
			! '$BIN' sign --insecure --key '$WORK/ecdsa.pem' --identity \$i '$REGISTRY/os:v5' 2>'$WORK/err' &&
				grep -q 'identity wants a repository' '$WORK/err' || exit 1
		done
		[ \"\$before\" = \"\$(curl -s --noproxy '*' http://$REGISTRY/v2/os/tags/list)\" ]"

# Refusals: each leaves the registry as it was.
before=$(snapshot)
start=$(date +%s%N)
if COSIGN_PASSWORD=wrong sign --key "$WORK/ecdsa.key" "$REGISTRY/os:v1"; then
	tap_not_ok "wrong password refused" "signed"
else
	ms=$((($(date +%s%N) - start) / 1000000))
	if expect_error "Wrong password" && expect_error "COSIGN_PASSWORD" && [ "$(snapshot)" = "$before" ]; then
		tap_ok "wrong password: refused in $ms ms, naming COSIGN_PASSWORD; nothing pushed"
	else
		tap_not_ok "wrong password" "$(cat "$WORK/err")"
	fi
fi
if (unset COSIGN_PASSWORD && sign --key "$WORK/ecdsa.key" "$REGISTRY/os:v1" </dev/null) ||
	! expect_error "COSIGN_PASSWORD" || [ "$(snapshot)" != "$before" ]; then
	tap_not_ok "no password and no terminal" "$(cat "$WORK/err")"
else
	tap_ok "no COSIGN_PASSWORD and no terminal: refused, saying to set it; nothing pushed"
fi

# Malformed key files (cosign_registry.py badkeys; the parsers' own cases
# are tests/trust's): each refused with a message, nothing pushed.
for f in notjson.key tampered.key bad-kdf-params.key unknown-label.key empty.pub truncated.pub secp256k1.pub; do
	if sign --key "$WORK/bad/$f" "$REGISTRY/os:v1"; then
		tap_not_ok "malformed key $f refused" "signed"
	elif [ -s "$WORK/err" ] && ! grep -q 'Signed ' "$WORK/err" && [ "$(snapshot)" = "$before" ]; then
		tap_ok "malformed key file $f refused ($(head -1 "$WORK/err" | cut -c1-90)); nothing pushed"
	else
		tap_not_ok "malformed key $f" "$(cat "$WORK/err")"
	fi
done
head -c 20000 /dev/zero | tr '\0' 'A' >"$WORK/huge.key"
if sign --key "$WORK/huge.key" "$REGISTRY/os:v1" || ! expect_error "bigger than any private key" ||
	[ "$(snapshot)" != "$before" ]; then
	tap_not_ok "key file over 16 KiB" "$(cat "$WORK/err")"
else
	tap_ok "a key file over 16 KiB is refused unread; nothing pushed"
fi

if sign --key "$WORK/ecdsa.pem" "$REGISTRY/os:nope" || ! expect_error "manifest nope not found" ||
	! expect_error "no signature was added" || [ "$(snapshot)" != "$before" ]; then
	tap_not_ok "no such tag" "$(cat "$WORK/err")"
else
	tap_ok "no such tag: 'manifest nope not found', nothing pushed"
fi
tap_check "--platform of a platform the index lacks is refused" \
	bash -c "! '$BIN' sign --insecure --key '$WORK/ecdsa.pem' --platform linux/s390x '$REGISTRY/os:multi' 2>'$WORK/err' &&
		grep -q 'no variant for platform linux/s390x' '$WORK/err'"
tap_check "bad -a and missing --key are usage errors" \
	bash -c "! '$BIN' sign --key '$WORK/ecdsa.pem' -a novalue '$REGISTRY/os:v1' 2>/dev/null &&
		! '$BIN' sign --key '$WORK/ecdsa.pem' -a k=1 -a k=2 '$REGISTRY/os:v1' 2>/dev/null &&
		! '$BIN' sign '$REGISTRY/os:v1' 2>/dev/null"

# A tag sha256-HEX.sig holding something else (an index) is not overwritten.
cr push-image "os:sha256-${IMG2#sha256:}.sig" --seed 9 --platforms linux/amd64 >/dev/null 2>&1 || true
if curl -sf --noproxy '*' -H "Accept: application/vnd.oci.image.index.v1+json" \
	"http://$REGISTRY/v2/os/manifests/sha256-${IMG2#sha256:}.sig" | grep -q image.index; then
	before=$(snapshot)
	if sign --key "$WORK/ecdsa.pem" "$REGISTRY/os:v2" || ! expect_error "not a cosign signature image" ||
		[ "$(snapshot)" != "$before" ]; then
		tap_not_ok "foreign .sig tag" "$(cat "$WORK/err")"
	else
		tap_ok "a .sig tag holding an index is not replaced; nothing pushed"
	fi
else
	tap_not_ok "foreign .sig tag (setup)" ""
fi

# A signature image already holding 1000 signatures: not grown further.
IMG4=$(cr push-image os:v4 --seed 5 | json digest)
cr sign os:v4 --key "$WORK/ecdsa.pem" --many-layers 1000 >/dev/null
before=$(snapshot)
if sign --key "$WORK/ecdsa.pem" "$REGISTRY/os:v4" || ! expect_error "already holds 1000 signatures" ||
	[ "$(snapshot)" != "$before" ] || [ "$(layers "$IMG4")" != 1000 ]; then
	tap_not_ok "1000-layer signature image" "$(cat "$WORK/err")"
else
	tap_ok "a signature image of 1000 layers is not appended to; nothing pushed"
fi

# Token authentication (push_proxy.py in front of the registry): a push
# needs a token with push in its scope, and credentials and tokens go only
# to the registry and its token service.
PROXY_PIDS=()
start_proxy() { # start_proxy NAME ARGS...: sets PROXY (HOST:PORT) and PLOG
	PLOG=$WORK/$1.log
	: >"$PLOG"
	rm -f "$WORK/$1.port"
	"$PY" "$HERE/push_proxy.py" "$REGISTRY_PORT" "$WORK/$1.port" "$PLOG" "${@:2}" &
	PROXY_PIDS+=($!)
	for _ in $(seq 100); do [ -s "$WORK/$1.port" ] && break; sleep 0.05; done
	PROXY=127.0.0.1:$(cat "$WORK/$1.port")
}
stop_proxies() { for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; PROXY_PIDS=(); }
trap 'stop_proxies; cleanup' EXIT

start_proxy scoped --creds 'signer:tok:pw'
if sign --creds 'signer:tok:pw' --key "$WORK/ecdsa.pem" "$PROXY/os:v1" && grep -q 'TOKEN scope=repository:os:pull,push' "$PLOG" &&
	grep -q '^PUT .* /v2/os/manifests/sha256-.*sig auth=yes -> 201' "$PLOG"; then
	tap_ok "token auth: the push's challenge gets a token with pull,push; the signature is stored"
else
	tap_not_ok "token auth" "$(cat "$WORK/err" "$PLOG")"
fi
start_proxy noscope --creds 'signer:tok:pw' --no-scope
if sign --creds 'signer:tok:pw' --key "$WORK/ecdsa.pem" "$PROXY/os:v3" &&
	[ "$(grep TOKEN "$PLOG" | sort -u)" = "TOKEN scope=repository:os:pull,push" ]; then
	tap_ok "token auth: a challenge without scope gets our default scope, repository:os:pull,push"
else
	tap_not_ok "token auth without scope in the challenge" "$(cat "$WORK/err" "$PLOG")"
fi
start_proxy foreign --creds 'signer:tok:pw' --foreign-location
if sign --creds 'signer:tok:pw' --key "$WORK/rsa.pem" "$PROXY/os:v1" && ! grep -q LEAK "$PLOG" &&
	grep -q '^PUT localhost:[0-9]* /v2/os/blobs/uploads/.* auth=no -> 201' "$PLOG"; then
	tap_ok "an upload location on another host gets the blob but no token or credentials"
else
	tap_not_ok "foreign upload location" "$(cat "$WORK/err" "$PLOG")"
fi
start_proxy pullonly --creds 'signer:tok:pw' --pull-only
before=$(snapshot)
if sign --creds 'signer:tok:pw' --key "$WORK/ecdsa.pem" "$PROXY/os:v1" || ! expect_error "refused to let us push" ||
	! expect_error "may push" || [ "$(snapshot)" != "$before" ]; then
	tap_not_ok "pull-only account" "$(cat "$WORK/err")"
else
	tap_ok "an account that may only pull: push refused (401) saying to pass --creds of one that may push; nothing written"
fi
if sign --creds 'signer:bad-pw' --key "$WORK/ecdsa.pem" "$PROXY/os:v1" || ! expect_error "refused the credentials" ||
	grep -q 'bad-pw\|tok[0-9]' "$WORK/err"; then
	tap_not_ok "token auth: wrong credentials" "$(cat "$WORK/err")"
else
	tap_ok "token auth: wrong credentials refused, secret and tokens not printed"
fi
stop_proxies
registry_stop

# A registry with Basic auth: the right credentials push, wrong ones are
# refused with what to do, and the secret is never printed.
htpasswd -Bbc "$WORK/htpasswd" signer 's3cret:pw' 2>/dev/null
registry_start "$WORK/reg" "$WORK/htpasswd" || exit 1
tap_check "auth: --creds of an account that may push" \
	bash -c "'$BIN' sign --insecure --creds 'signer:s3cret:pw' --key '$WORK/ecdsa.pem' '$REGISTRY/os:v1' 2>'$WORK/err' &&
		curl -sf --noproxy '*' -u 'signer:s3cret:pw' '$REGISTRY/v2/os/tags/list' | grep -q 'sha256-${IMG#sha256:}.sig'"
if sign --creds 'signer:wrong-pw' --key "$WORK/ecdsa.pem" "$REGISTRY/os:v1" || ! expect_error "refused the credentials" ||
	! expect_error "--creds" || grep -q wrong-pw "$WORK/err"; then
	tap_not_ok "auth: wrong credentials" "$(cat "$WORK/err")"
else
	tap_ok "auth: wrong credentials refused with a hint (--creds), secret not printed"
fi
if sign --key "$WORK/ecdsa.pem" "$REGISTRY/os:v1" || ! expect_error "requires credentials"; then
	tap_not_ok "auth: anonymous" "$(cat "$WORK/err")"
else
	tap_ok "auth: anonymous push refused with a hint"
fi
registry_stop

# A read-only registry (pulls work, pushes do not): the push is refused
# with a clear message, after nothing was written.
sed -i 's|^storage:$|storage:\n  maintenance: {readonly: {enabled: true}}|; /^auth:/,$d' "$WORK/reg/config.yml"
docker-registry serve "$WORK/reg/config.yml" >"$WORK/reg/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do curl -sf --noproxy '*' -o /dev/null "http://$REGISTRY/v2/" && break; sleep 0.1; done
before=$(snapshot)
if sign --key "$WORK/ecdsa.pem" "$REGISTRY/os:v1" || ! expect_error "does not take pushes|refused to let us push" ||
	[ "$(snapshot)" != "$before" ]; then
	tap_not_ok "read-only registry" "$(cat "$WORK/err")"
else
	tap_ok "a registry that refuses the push: $(grep -Eo 'HTTP [0-9]+|[A-Z_]+: [a-z ]+' "$WORK/err" | head -1), clear error, nothing written"
fi
registry_stop

tap_done
