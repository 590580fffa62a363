#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Test vectors for userspace/trust, made by code we did not write: keys,
cosign "simple signing" payloads in cosign's exact bytes, their signatures
(Python's cryptography), NaCl secretboxes and cosign's encrypted key files
(PyNaCl: scrypt + secretbox), each signature cross-checked with the openssl
CLI. Debian's skopeo has sigstore compiled out ("Debian-local change:
sigstore disabled") and cosign is not packaged, so neither can be the
reference here.

gen_vectors.py DIR: writes the files test_trust_*.c read (TRUST_VECTORS=DIR).
tests/unit/data/trust holds one committed run; `make check-trust` makes a
fresh one (new keys, new signatures) and runs the tests on it.

Debian's python3 (/usr/bin/python3) has python3-cryptography and
python3-nacl (scripts/deps.sh)."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import nacl.bindings
import nacl.pwhash
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

REFERENCE = "127.0.0.1:5000/kairos/os"
DIGEST = "sha256:" + hashlib.sha256(b"manifest v1").hexdigest()
OTHER_DIGEST = "sha256:" + hashlib.sha256(b"manifest v0").hexdigest()
PASSWORD = b"kairos test password"
TYPE = "cosign container image signature"


def go_json(obj):
    """encoding/json's bytes: no blanks, <>& and U+2028/9 escaped (Go's
    default), non-ASCII as UTF-8."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for c, e in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(c, e)
    return s.encode()


def payload(digest=DIGEST, reference=REFERENCE, optional=None):
    # Go writes struct fields in declaration order and map keys sorted.
    opt = None if optional is None else dict(sorted(optional.items()))
    return go_json({"critical": {"identity": {"docker-reference": reference},
                                 "image": {"docker-manifest-digest": digest},
                                 "type": TYPE},
                    "optional": opt})


def sign(kind, key, data):
    if kind in ("p256", "p256b"):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if kind == "p384":
        return key.sign(data, ec.ECDSA(hashes.SHA384()))
    if kind.startswith("rsa"):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


def openssl_verify(kind, pub_pem, data, sig):
    """The openssl CLI must agree, or the vectors are not written."""
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for name, content in (("pub", pub_pem), ("data", data), ("sig", sig)):
            paths[name] = os.path.join(d, name)
            with open(paths[name], "wb") as f:
                f.write(content)
        if kind == "ed25519":
            cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", paths["pub"], "-rawin",
                   "-in", paths["data"], "-sigfile", paths["sig"]]
        else:
            md = "-sha384" if kind == "p384" else "-sha256"
            cmd = ["openssl", "dgst", md, "-verify", paths["pub"], "-signature", paths["sig"], paths["data"]]
        out = subprocess.run(cmd, capture_output=True)
        if out.returncode != 0:
            sys.exit(f"openssl does not verify the {kind} signature: {out.stdout!r} {out.stderr!r}")


def encrypted_key(plaintext, label="ENCRYPTED SIGSTORE PRIVATE KEY", n=32768, r=8, p=1,
                  kdf="scrypt", cipher="nacl/secretbox", password=PASSWORD, derive=True, extra=None):
    """cosign's key file, as go-securesystemslib's encrypted.Encrypt writes it."""
    salt = os.urandom(32)
    nonce = os.urandom(24)
    if derive:
        key = nacl.bindings.crypto_pwhash_scryptsalsa208sha256_ll(password, salt, n, r, p, dklen=32,
                                                                  maxmem=256 * 1024 * 1024)
        box = nacl.bindings.crypto_secretbox(plaintext, nonce, key)
        box = box[-(len(plaintext) + 16):]  # tag || ciphertext (no zero padding)
    else:  # hostile parameters: nothing could derive them in a test
        box = os.urandom(len(plaintext) + 16)
    doc = {"kdf": {"name": kdf, "params": {"N": n, "r": r, "p": p},
                   "salt": base64.b64encode(salt).decode()},
           "cipher": {"name": cipher, "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(box).decode()}
    if extra:
        doc.update(extra)
    body = base64.b64encode(go_json(doc)).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)).encode()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    def write(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    keys = {
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p256b": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "rsa2048": rsa.generate_private_key(65537, 2048),
        "rsa3072": rsa.generate_private_key(65537, 3072),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
    }
    body = payload()
    write("digest", DIGEST)
    write("other-digest", OTHER_DIGEST)
    write("reference", REFERENCE)
    for kind, key in keys.items():
        pub = key.public_key()
        pub_pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        write(kind + ".pub", pub_pem)
        write(kind + ".fingerprint", hashlib.sha256(der).hexdigest())
        write(kind + ".key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        sig = sign(kind, key, body)
        openssl_verify(kind, pub_pem, body, sig)
        write(kind + ".sig", base64.b64encode(sig))
    write("payload", body)

    p256 = keys["p256"]
    write("p256-sec1.key", p256.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.TraditionalOpenSSL,
                                              serialization.NoEncryption()))
    # A small RSA key and a P-521 key: valid keys of kinds we refuse.
    small = rsa.generate_private_key(65537, 1024).public_key()
    write("rsa1024.pub", small.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    p521 = ec.generate_private_key(ec.SECP521R1()).public_key()
    write("p521.pub", p521.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo))
    p256_pub = keys["p256"].public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)

    # Payloads signed with the right key that must still be refused, and
    # the annotations case for the writer. Each: NAME.payload, NAME.sig.
    crit = {"identity": {"docker-reference": REFERENCE}, "image": {"docker-manifest-digest": DIGEST}, "type": TYPE}
    cases = {
        "other-digest": payload(digest=OTHER_DIGEST),
        "annotations": payload(optional={"tag": "v1<&>", "build": "42", "a\u2028b": "\u00e9"}),
        "unknown-critical": go_json({"critical": dict(crit, extra="x"), "optional": None}),
        "unknown-identity": go_json({"critical": dict(crit, identity={"docker-reference": REFERENCE, "x": 1}),
                                     "optional": None}),
        "unknown-top": go_json({"critical": crit, "optional": None, "surprise": True}),
        "wrong-type": go_json({"critical": dict(crit, type="atomic container signature"), "optional": None}),
        # The same key twice: a parser that keeps the first and one that
        # keeps the last would disagree on what was signed.
        "duplicate-digest": (b'{"critical":{"identity":{"docker-reference":"' + REFERENCE.encode() +
                             b'"},"image":{"docker-manifest-digest":"' + OTHER_DIGEST.encode() +
                             b'","docker-manifest-digest":"' + DIGEST.encode() + b'"},"type":"' +
                             TYPE.encode() + b'"},"optional":null}'),
        "duplicate-optional": body[:-1] + b',"optional":{"a":"b","a":"c"}}',
        "uppercase-digest": payload(digest=DIGEST.upper().replace("SHA256", "sha256")),
    }
    for name, data in cases.items():
        sig = sign("p256", p256, data)
        openssl_verify("p256", p256_pub, data, sig)
        write(name + ".payload", data)
        write(name + ".sig", base64.b64encode(sig))

    # The P-256 signature as r || s (what a raw signer or JWS writes): not DER.
    r, s = decode_dss_signature(base64.b64decode(open(os.path.join(out, "p256.sig"), "rb").read()))
    write("p256-raw.sig", base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")))

    # NaCl secretbox vectors: key nonce message box (hex), lengths around
    # Salsa20's 64-byte blocks and the 32 bytes the Poly1305 key takes.
    lines = []
    for n in (0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 200, 1000):
        key, nonce, msg = os.urandom(32), os.urandom(24), os.urandom(n)
        box = nacl.bindings.crypto_secretbox(msg, nonce, key)
        lines.append(" ".join(x.hex() for x in (key, nonce, msg, box)) or "-")
    write("secretbox.txt", "\n".join(lines) + "\n")

    # cosign's encrypted key files around the P-256 key.
    der = p256.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    write("password", PASSWORD)
    write("cosign.key", encrypted_key(der))
    write("cosign-legacy.key", encrypted_key(der, label="ENCRYPTED COSIGN PRIVATE KEY", n=16384))
    write("cosign-ed25519.key", encrypted_key(keys["ed25519"].private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())))
    write("cosign-hostile-n.key", encrypted_key(der, n=1 << 30, derive=False))
    write("cosign-hostile-r.key", encrypted_key(der, r=1 << 20, derive=False))
    write("cosign-hostile-p.key", encrypted_key(der, p=1 << 20, derive=False))
    write("cosign-hostile-mem.key", encrypted_key(der, n=1 << 17, r=16, derive=False))
    write("cosign-n-not-pow2.key", encrypted_key(der, n=30000, derive=False))
    write("cosign-argon.key", encrypted_key(der, kdf="argon2id", derive=False))
    write("cosign-aes.key", encrypted_key(der, cipher="aes-gcm", derive=False))
    write("cosign-extra.key", encrypted_key(der, n=1024, extra={"comment": "x"}))
    write("cosign-not-a-key.key", encrypted_key(b"not a private key", n=1024))


if __name__ == "__main__":
    main()
