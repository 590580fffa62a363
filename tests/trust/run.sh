#!/bin/bash
# check-trust: userspace/trust against code we did not write (TAP).
#   run.sh BUILD TRUST_TOOL UNIT_BIN...
# Fresh vectors from tests/trust/gen_vectors.py (Python's cryptography and
# PyNaCl; it checks each of its signatures with the openssl CLI), the trust
# unit tests on them, then the other direction: what our code writes
# (payloads, signatures, from a plain and from an encrypted cosign key) is
# checked by the openssl CLI and compared with Python's bytes. Debian's
# skopeo has sigstore compiled out ("Debian-local change: sigstore
# disabled") and cosign is not packaged: neither can be the reference.
set -u
build=$1 tool=$2
shift 2
# Debian's python3 carries python3-cryptography and python3-nacl
# (scripts/deps.sh); a python3 earlier in PATH (pyenv, a venv) may not.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
dir=$build/trust-vectors
rm -rf "$dir"
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; rc=1; }

# Everything below prints "ok - NAME" / "not ok - NAME" (the unit tests
# their own numbered lines); the awk at the end numbers them all in order.
main() {
rc=0
if "$py" tests/trust/gen_vectors.py "$dir"; then
	ok "fresh vectors: keys, payloads, signatures (each checked by openssl), secretboxes, cosign key files"
else
	not_ok "fresh vectors"
	return 1
fi

# The unit tests on the fresh vectors.
TRUST_VECTORS=$dir tests/run-unit "$@" || rc=1

tmp=$(mktemp -d)
reference=$(cat "$dir/reference") digest=$(cat "$dir/digest")

# Our payload is byte for byte the one Python wrote as cosign does.
if "$tool" payload "$reference" "$digest" >"$tmp/payload" && cmp -s "$tmp/payload" "$dir/payload"; then
	ok "our payload equals cosign's bytes"
else
	not_ok "our payload equals cosign's bytes"
fi

# Our signatures, checked by the openssl CLI.
for kind in p256 p384 rsa2048 ed25519; do
	if ! "$tool" sign "$dir/$kind.key" "$tmp/payload" >"$tmp/$kind.sig"; then
		not_ok "our $kind signature verified by openssl"
		continue
	fi
	case $kind in
	ed25519) cmd=(openssl pkeyutl -verify -pubin -inkey "$dir/$kind.pub" -rawin -in "$tmp/payload" -sigfile "$tmp/$kind.sig") ;;
	p384) cmd=(openssl dgst -sha384 -verify "$dir/$kind.pub" -signature "$tmp/$kind.sig" "$tmp/payload") ;;
	*) cmd=(openssl dgst -sha256 -verify "$dir/$kind.pub" -signature "$tmp/$kind.sig" "$tmp/payload") ;;
	esac
	if "${cmd[@]}" >/dev/null 2>&1; then ok "our $kind signature verified by openssl"; else not_ok "our $kind signature verified by openssl"; fi
done

# Signed with the key from cosign's encrypted file (scrypt + secretbox),
# verified by openssl with the public key.
if COSIGN_PASSWORD=$(cat "$dir/password") "$tool" sign "$dir/cosign.key" "$tmp/payload" >"$tmp/enc.sig" &&
	openssl dgst -sha256 -verify "$dir/p256.pub" -signature "$tmp/enc.sig" "$tmp/payload" >/dev/null 2>&1; then
	ok "signature with the decrypted cosign key verified by openssl"
else
	not_ok "signature with the decrypted cosign key verified by openssl"
fi
if COSIGN_PASSWORD=wrong "$tool" decrypt "$dir/cosign.key" 2>/dev/null; then
	not_ok "cosign key with a wrong password refused"
else
	ok "cosign key with a wrong password refused"
fi

# The openssl CLI's own signature (not Python's), verified by us.
openssl dgst -sha256 -sign "$dir/p256.key" -out "$tmp/openssl.sig" "$dir/payload" 2>/dev/null
base64 -w0 "$tmp/openssl.sig" >"$tmp/openssl.b64"
if "$tool" verify "$dir/p256.pub" "$dir/payload" "$tmp/openssl.b64" "$digest" >/dev/null; then
	ok "an openssl CLI signature verified by us"
else
	not_ok "an openssl CLI signature verified by us"
fi
# Our fingerprint is openssl's DER SubjectPublicKeyInfo through sha256sum.
want=$(openssl pkey -pubin -in "$dir/p256.pub" -outform DER | sha256sum | cut -d' ' -f1)
if [ "$("$tool" fingerprint "$dir/p256.pub" | cut -d' ' -f1)" = "$want" ]; then
	ok "fingerprint equals openssl pkey -outform DER | sha256sum"
else
	not_ok "fingerprint equals openssl pkey -outform DER | sha256sum"
fi
rm -rf "$tmp"
return $rc
}

main "$@" | awk '/^ok / { sub(/^ok( [0-9]+)? -/, "ok " ++n " -") }
	/^not ok / { sub(/^not ok( [0-9]+)? -/, "not ok " ++n " -") } { print; fflush() }'
exit "${PIPESTATUS[0]}"
