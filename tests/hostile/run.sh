#!/bin/bash
# `kairos-upgrade pull` against a hostile registry (tests/hostile/server.py,
# one server per case on 127.0.0.1). Each case checks that the pull fails
# with status 1 (not a crash, not the timeout), that its error names the
# problem, and that nothing is left in the output directory. `timeout` only
# guards the suite against a hang; the bounds that matter are the client's.
# Prints TAP.
#   tests/hostile/run.sh BINARY
set -u
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
GUARD=120 # seconds: far above any case's own bound
CREDS=tester:s3cret

WORK=$(mktemp -d /tmp/kairos-hostile-test.XXXXXX)
SERVER_PID=
stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}
cleanup() {
	stop_server
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
	[ -f "$D/err" ] && sed 's/^/# /' "$D/err" | tail -15
}
check() { # check NAME: the previous commands' status says it (and how long the case took)
	if [ "$?" -eq 0 ]; then ok "$1 (${SECONDS_TAKEN:-0}s)"; else not_ok "$1"; fi
	SECONDS_TAKEN=
}

# start CASE: a fresh server and work directory ($D) for one case.
start() {
	stop_server
	D=$WORK/$1
	rm -rf "$D"
	mkdir -p "$D/state" "$D/out"
	python3 "$HERE/server.py" "$1" "$D/state" 2>"$D/server.log" &
	SERVER_PID=$!
	for _ in $(seq 100); do [ -s "$D/state/port" ] && break; sleep 0.1; done
	[ -s "$D/state/port" ] || { echo "# server for $1 did not start"; cat "$D/server.log"; return 1; }
	REF=oci:127.0.0.1:$(cat "$D/state/port")/hostile:latest
}

# pull ARGS...: the binary on the case's image, output in $D/out; sets
# STATUS and SECONDS_TAKEN.
pull() {
	local t0=$SECONDS
	timeout "$GUARD" "$BIN" pull --progress=none --source "$REF" --output "$D/out/image.squashfs" --insecure \
		"$@" 2>"$D/err"
	STATUS=$?
	SECONDS_TAKEN=$((SECONDS - t0))
}

# refused REGEX ARGS...: the pull fails cleanly, says REGEX, leaves nothing.
refused() {
	local regex=$1
	shift
	pull "$@"
	if [ "$STATUS" -eq 124 ]; then echo "# hung: stopped by the ${GUARD}s guard"; return 1; fi
	[ "$STATUS" -eq 1 ] || { echo "# expected exit status 1, got $STATUS"; return 1; }
	grep -Eq -e "$regex" "$D/err" || { echo "# expected /$regex/ in:"; sed 's/^/#   /' "$D/err"; return 1; }
	local left
	left=$(ls -A "$D/out")
	[ -z "$left" ] || { echo "# left behind in the output directory: $left"; return 1; }
}

# requests REGEX: how many lines of the server's request log match it (grep -E).
requests() { grep -Ec "$1" "$D/state/requests.jsonl" 2>/dev/null; }

# sent_for REGEX: bytes the server sent for the (first) request matching
# REGEX, once its handler has seen the client go away (up to 5 s).
sent_for() {
	local line
	for _ in $(seq 50); do
		line=$(grep -E "$1" "$D/state/requests.jsonl" 2>/dev/null | head -n 1)
		[ -n "$line" ] && break
		sleep 0.1
	done
	[ -n "$line" ] || { echo "# no request matching /$1/ finished" >&2; echo 999999999999; return; }
	sed 's/.*"sent": \([0-9]*\).*/\1/' <<<"$line"
}

MiB=$((1024 * 1024))

# ---------------------------------------------------------------------------
start ok && pull && [ "$STATUS" -eq 0 ] && [ -s "$D/out/image.squashfs" ]
check "the server's well-formed image pulls (the harness works)"

start malformed-manifest && refused "Manifest latest in registry .* is malformed"
check "malformed JSON manifest: refused as malformed"

start huge-manifest && refused "sent more than 4194304 bytes for manifest latest" &&
	sent=$(sent_for '/manifests/') && [ "$sent" -lt $((16 * MiB)) ] ||
	{ echo "# the server sent ${sent:-?} bytes"; false; }
check "100 MiB manifest (chunked): stopped at the 4 MiB limit, not read to its end"

start huge-manifest-announced && refused "announced manifest latest bigger than the 4194304 bytes"
check "100 MiB manifest (Content-Length): refused before reading it"

start huge-error-body && refused "manifest latest not found" &&
	sent=$(sent_for '/manifests/') && [ "$sent" -lt $((16 * MiB)) ] ||
	{ echo "# the server sent ${sent:-?} bytes"; false; }
check "endless 404 body: the status is reported, the body not read to its end"

start manifest-length-short && refused "is malformed"
check "manifest Content-Length shorter than the body: truncated JSON refused"

start manifest-length-long && refused "kept breaking off manifest latest, 5 attempts"
check "manifest Content-Length longer than the body: retried, then refused"

start blob-length-short &&
	refused "Size mismatch for blob sha256:[0-9a-f]{64} \(the layer\): the registry announces [0-9]+ bytes, the manifest says"
check "blob Content-Length shorter than the body: size mismatch"

start blob-length-long &&
	refused "Size mismatch for blob sha256:[0-9a-f]{64} \(the layer\): the registry announces [0-9]+ bytes, the manifest says"
check "blob Content-Length longer than the body: size mismatch"

start truncated-blob && refused "kept breaking off blob sha256:[0-9a-f]{64} \(the layer\), 5 attempts" &&
	[ "$(requests '/blobs/')" -le 7 ]
check "blob cut off half-way every time: 5 attempts, then refused"

start slow-drip && refused "stalled sending blob sha256:[0-9a-f]{64} \(the layer\).*Less than 1024 bytes/sec.*--stall-timeout" \
	--stall-timeout 2 && [ "$SECONDS_TAKEN" -lt 60 ] || { echo "# took ${SECONDS_TAKEN}s"; false; }
check "blob dripping 4 bytes/s: the stall timeout (--stall-timeout 2) fires on every attempt"

start manifest-fast-drip && refused "too slow sending manifest latest, 5 attempts in a row \(Operation timed out after .*within 4 s \(4 stall timeouts\).*--stall-timeout" \
	--stall-timeout 1 && [ "$SECONDS_TAKEN" -lt 60 ] || { echo "# took ${SECONDS_TAKEN}s"; false; }
check "manifest dripping 1500 bytes/s, just over the stall limit: refused after 4 stall timeouts in all, per attempt"

start redirect-loop && refused "Maximum \(5\) redirects followed"
check "redirect loop: stopped after 5 redirects"

for where in other-port other-host; do
	start "redirect-$where" && pull --creds "$CREDS" && [ "$STATUS" -eq 0 ] &&
		[ "$(requests '"server": "main".*"authorization": "Basic ')" -ge 2 ] &&
		[ "$(requests "\"server\": \"$where\"")" -ge 1 ] &&
		[ "$(requests "\"server\": \"$where\".*\"authorization\": \"")" -eq 0 ] ||
		{ echo "# requests:"; sed 's/^/#   /' "$D/state/requests.jsonl"; false; }
	check "blob redirected to another ${where#other-}: --creds sent to the registry, never to it"
done

# Credentials go to the registry and to the token service its own challenge
# names: never to a host a redirect leads to, nor to a realm that host names.
# The registry is 127.0.0.1, the CDN 127.0.0.2, the third host 127.0.0.3.
# received_auth SERVER: requests at SERVER that carried an Authorization header.
received_auth() { requests "\"server\": \"$1\".*\"authorization\": \""; }
show_requests() { echo "# requests:"; sed 's/^/#   /' "$D/state/requests.jsonl"; false; }

start cdn-challenge &&
	refused "127.0.0.2:[0-9]+, where registry .* redirected blob sha256:[0-9a-f]{64} \(the layer\), asks for authentication: refusing to answer it" \
		--creds "$CREDS" &&
	[ "$(requests '"server": "main".*"authorization": "Basic ')" -ge 1 ] &&
	[ "$(received_auth other-host)" -eq 0 ] && [ "$(requests '"server": "third-host"')" -eq 0 ] || show_requests
check "CDN answering 401 with a realm on a third host (Basic registry): refused, .2 and .3 get no credentials"

start cdn-challenge-token &&
	refused "127.0.0.2:[0-9]+, where registry .* redirected blob sha256:[0-9a-f]{64} \(the layer\), asks for authentication" \
		--creds "$CREDS" &&
	[ "$(requests '"server": "main", "path": "/token.*"authorization": "Basic ')" -ge 1 ] &&
	[ "$(requests '"server": "main", "path": "/v2/hostile.*"authorization": "Bearer registry-token"')" -ge 1 ] &&
	[ "$(received_auth other-host)" -eq 0 ] && [ "$(requests '"server": "third-host"')" -eq 0 ] || show_requests
check "CDN answering 401 with a realm on a third host (token registry): refused, the token never sent to .2, nothing to .3"

start probe-challenge &&
	refused "127.0.0.2:[0-9]+, where registry .* redirected the API root, asks for authentication: refusing" \
		--creds "$CREDS" &&
	[ "$(received_auth other-host)" -eq 0 ] && [ "$(requests '"server": "third-host"')" -eq 0 ] || show_requests
check "API probe redirected to a host that answers 401 with a realm on a third host: refused, nothing to .2 or .3"

start tls-http-realm && refused "reached over HTTPS, wants tokens from a plain-HTTP realm; refusing to send the credentials" \
	--creds "$CREDS" && [ "$(requests '"server": "other-port"')" -eq 0 ] || show_requests
check "registry over TLS naming a plain-http token realm (--insecure): refused, the realm gets nothing"

start realm-other-host && pull --creds "$CREDS" && [ "$STATUS" -eq 0 ] &&
	[ "$(requests '"server": "third-host", "path": "/token.*"authorization": "Basic ')" -ge 1 ] &&
	[ "$(requests '"server": "other-host", "path": "/token')" -ge 1 ] && [ "$(received_auth other-host)" -eq 0 ] &&
	[ "$(requests '"server": "main", "path": "/v2/hostile.*"authorization": "Bearer registry-token"')" -ge 1 ] ||
	show_requests
check "token service on a third host named by the registry: gets the credentials; its redirect to .2 does not"

start token-401-loop && refused "refused anonymous access: pass --creds" && [ "$(requests '/token')" -le 3 ]
check "token endpoint always 401 (anonymous): refused after one try"

start token-401-loop && refused "refused the credentials: check --creds" --creds "$CREDS" &&
	[ "$(requests '/token')" -le 3 ] && ! grep -q s3cret "$D/err"
check "token endpoint always 401 (--creds): refused, secret not logged"

start registry-401-loop && refused "refused access to manifest latest" && [ "$(requests '/token')" -le 3 ]
check "registry asks again after every token: gives up after 2 rounds"

start gzip-bomb && refused "Layer sha256:[0-9a-f]{64}: the image's layers expand past 1073741824 bytes.*decompression bomb"
check "gzip bomb (2 MiB -> 2 GiB of zeros): stopped at 1 GiB"

start zstd-bomb && refused "Layer sha256:[0-9a-f]{64}: the image's layers expand past 1073741824 bytes.*decompression bomb"
check "zstd bomb (64 KiB -> 2 GiB of zeros): stopped at 1 GiB"

start layered-bomb && refused "the image's layers expand past 1073741824 bytes.*decompression bomb"
check "8 zstd layers of 768 MiB of zeros each: the limit is for the image, stopped at 1 GiB"

start sparse-bomb && refused "Layer sha256:[0-9a-f]{64}: 'bomb' is a sparse file of 1152921504606846976 bytes: .*decompression bomb" &&
	[ "$SECONDS_TAKEN" -le 5 ] || { echo "# took ${SECONDS_TAKEN}s"; false; }
check "pax 1.0 sparse file declaring 1 EiB in a 0.2 KiB layer: its holes are charged first, refused at once"

start sparse-bomb-digest && refused "Digest mismatch for blob sha256:[0-9a-f]{64} \(the layer\)|'bomb' is a sparse file of .*decompression bomb" &&
	[ "$SECONDS_TAKEN" -le 5 ] || { echo "# took ${SECONDS_TAKEN}s"; false; }
check "1 EiB sparse bomb served in place of a pinned layer: refused at once, not padded forever"

start size-lie-bomb && refused "Layer sha256:[0-9a-f]{64}: the image's layers expand past 1073741824 bytes from [0-9]+ received.*decompression bomb" &&
	sent=$(sent_for '/blobs/') && [ "$sent" -lt $((4 * MiB)) ] || { echo "# the server sent ${sent:-?} bytes"; false; }
check "zstd bomb (2 MiB -> 64 GiB) the manifest claims is 10^12 bytes: the ratio counts bytes received, stopped at 1 GiB"

start config-digest && refused "Digest mismatch for blob sha256:[0-9a-f]{64} \(the image config\)"
check "config blob whose bytes do not match its digest: refused, naming the config"

start smuggled-response && refused "Digest mismatch for blob sha256:[0-9a-f]{64} \(the image config\)"
check "a second response smuggled after the manifest: taken for the config's, caught by its digest"

# Strings from the network reach the terminal in their printable form only:
# ESC, CR, BEL, C1 controls (a lone 0x9b byte, or U+009B) and invalid UTF-8
# in a tar entry name, a layer media type, a config's or an index's
# platform, an error body and a Content-Type header.
printable() { python3 "$HERE/../lib/printable.py" "$@"; }
ESCAPED='\\x1b\[2J\\x1b\]0;owned\\x07\\x0d'

start escapes-entry && refused "entry '$ESCAPED\\\\x9b31m\\\\xff\\\\xc0\\\\x9b/\.\./\.\./evil' is absolute or contains '\.\.'" &&
	printable "$D/err"
check "tar entry name with ESC, CR, BEL, a lone 0x9b and invalid UTF-8: named escaped"

start escapes-media-type && refused "unsupported media type application/vnd.oci.image.layer.v1.tar\+$ESCAPED\\\\u009b31m" &&
	printable "$D/err"
check "layer media type with escape sequences and U+009B: named escaped"

start escapes-index && refused "it has: linux$ESCAPED\\\\u009b31m/" && printable "$D/err"
check "index platforms with escape sequences: listed escaped"

start escapes-error-body && refused "refused access to manifest latest \(DENIED$ESCAPED\\\\u009b31m: " && printable "$D/err"
check "registry error body with escape sequences and U+009B: shown escaped"

start escapes-content-type && refused "unsupported media type \\\\x1b\[2J\\\\x1b\]0" && printable "$D/err"
check "manifest Content-Type with ESC and bytes that are not UTF-8: shown escaped"

start escapes-config && timeout "$GUARD" "$BIN" pull --progress=json --source "$REF" --output "$D/out/image.squashfs" \
	--insecure >"$D/out.json" 2>"$D/err" && grep -Eq "is for platform linux$ESCAPED\\\\u009b31m/amd64" "$D/err" &&
	printable "$D/err" "$D/out.json" && python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$D/out.json" ||
	{ sed 's/^/#   /' "$D/err"; false; }
check "image config platform with escape sequences: pulled, the warning escaped, JSON progress valid"

start ok && refused "--stall-timeout wants seconds from 1 to 3600, not '0'" --stall-timeout 0
check "--stall-timeout 0 is refused"

echo "1..$n"
[ "$failed" -eq 0 ]
