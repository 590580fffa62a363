#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Sigstore bundle vectors for tests/unit/test_bundle.c, made by code we
did not write: cosign_registry.py's bundle encoder (Python cryptography,
the same one `cosign_registry.py bundle` pushes) and, when
tests/cosign/npm-install could install them ($KAIROS_SIGSTORE_NPM), the
Sigstore JavaScript libraries (tests/cosign/bundle.mjs), which also verify
every bundle meant to be valid. Every signature is checked with the openssl
CLI over DSSE's PAE rebuilt here.

gen_bundle_vectors.py DIR: writes the files test_bundle.c reads.
tests/unit/data/bundle holds one committed run (BUNDLE_VECTORS=DIR for
another).
"""
import base64
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cosign_registry as cr  # noqa: E402

IDENTITY = "127.0.0.1:5000/kairos/os"
DIGEST = "sha256:" + hashlib.sha256(b"platform manifest").hexdigest()
INDEX_DIGEST = "sha256:" + hashlib.sha256(b"index").hexdigest()
OTHER = "sha256:" + hashlib.sha256(b"another image").hexdigest()
SLSA = "https://slsa.dev/provenance/v1"


def hexof(d):
    return d.split(":", 1)[1]


def cosign3_statement(hexdigest, predicate_type=cr.SIGN_PREDICATE):
    """What cosign 3's signDigestBundle marshals (protojson of in-toto v1):
    a subject with no name, an empty annotations struct."""
    return cr.go_json({"_type": cr.STATEMENT_V1,
                       "subject": [{"digest": {"sha256": hexdigest}, "annotations": {}}],
                       "predicateType": predicate_type, "predicate": {}})


def bundle(key, stmt, ptype=cr.INTOTO_TYPE, sigs=None, material=None, signer=None, raw_json=None):
    sig = cr.sign_bytes(signer or key, cr.pae(ptype, stmt))
    if material is None:
        material = {"publicKey": {"hint": cr.b64(hashlib.sha256(cr.spki_der(key.public_key())).digest())}}
    env = {"payload": cr.b64(stmt), "payloadType": ptype,
           "signatures": sigs if sigs is not None else [{"sig": cr.b64(sig)}]}
    return cr.go_json({"mediaType": cr.BUNDLE_TYPE, "verificationMaterial": material, "dsseEnvelope": env})


def openssl_ok(pub, data, sig, kind):
    d, s = os.path.join(OUT, ".data"), os.path.join(OUT, ".sig")
    open(d, "wb").write(data)
    open(s, "wb").write(sig)
    if kind == "ed25519":
        args = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", d, "-sigfile", s]
    else:
        args = ["openssl", "dgst", "-sha256", "-verify", pub, "-signature", s, d]
    ok = subprocess.run(args, capture_output=True).returncode == 0
    os.unlink(d)
    os.unlink(s)
    return ok


def check_openssl(name, blob, pub, kind, want=True):
    b = json.loads(blob)
    env = b["dsseEnvelope"]
    stmt = base64.b64decode(env["payload"])
    sig = base64.b64decode(env["signatures"][0]["sig"])
    pae = b"DSSEv1 %d %s %d %s" % (len(env["payloadType"]), env["payloadType"].encode(), len(stmt), stmt)
    if openssl_ok(pub, pae, sig, kind) != want:
        sys.exit(f"gen_bundle_vectors: openssl disagrees on {name}")


def write(name, data):
    open(os.path.join(OUT, name), "wb").write(data if isinstance(data, bytes) else data.encode())


def npm_bundle(pem_path, stmt):
    npm = os.environ.get("KAIROS_SIGSTORE_NPM", "")
    if not npm or not os.path.isdir(os.path.join(npm, "node_modules", "@sigstore", "sign")):
        return None
    st = os.path.join(OUT, ".statement")
    open(st, "wb").write(stmt)
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run(["node", os.path.join(here, "bundle.mjs"), "sign", pem_path, st], capture_output=True)
    os.unlink(st)
    if p.returncode:
        sys.exit(f"gen_bundle_vectors: bundle.mjs sign failed: {p.stderr.decode()}")
    return p.stdout


def npm_verifies(pub, blob):
    npm = os.environ.get("KAIROS_SIGSTORE_NPM", "")
    if not npm:
        return True
    f = os.path.join(OUT, ".bundle")
    open(f, "wb").write(blob)
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run(["node", os.path.join(here, "bundle.mjs"), "verify", pub, f], capture_output=True)
    os.unlink(f)
    return p.returncode == 0


def main():
    global OUT
    OUT = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    keys = {}
    for kind in ("ecdsa", "rsa", "ed25519"):
        keys[kind] = cr.generate(kind)
        write(f"{kind}.pub", cr.pem("PUBLIC KEY", cr.spki_der(keys[kind].public_key())))
    k = keys["ecdsa"]
    pub = os.path.join(OUT, "ecdsa.pub")
    write("ecdsa.pem", k.private_bytes(cr.serialization.Encoding.PEM, cr.serialization.PrivateFormat.PKCS8,
                                       cr.serialization.NoEncryption()))
    write("digest", DIGEST)
    write("index-digest", INDEX_DIGEST)
    write("other-digest", OTHER)
    write("identity", IDENTITY)
    named = cr.statement(IDENTITY, hexof(DIGEST))  # cosign_registry.py's (a subject name)
    plain = cosign3_statement(hexof(DIGEST))        # cosign 3's (no name)
    v = {}
    # valid: each key type; cosign 3's statement; the index's digest; tlog entries
    for kind, key in keys.items():
        v[f"valid-{kind}.json"] = (bundle(key, named), kind, True)
    v["valid-cosign3.json"] = (bundle(k, plain), "ecdsa", True)
    v["valid-index.json"] = (bundle(k, cosign3_statement(hexof(INDEX_DIGEST))), "ecdsa", True)
    v["valid-tlog.json"] = (bundle(k, plain, material={
        "publicKey": {"hint": "aGludA=="},
        "tlogEntries": [{"logIndex": "1", "logId": {"keyId": "AA=="}, "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                         "integratedTime": "1", "canonicalizedBody": "e30="}],
        "timestampVerificationData": {}}), "ecdsa", True)
    # the faults of cosign_registry.py bundle, offline
    v["wrong-key.json"] = (bundle(k, named, signer=cr.generate("ecdsa")), "ecdsa", False)
    b = json.loads(bundle(k, named))
    b["dsseEnvelope"]["payload"] = cr.b64(b"{ " + named[1:])
    v["alter-payload.json"] = (cr.go_json(b), "ecdsa", False)
    v["other-digest.json"] = (bundle(k, cr.statement(IDENTITY, hexof(OTHER))), "ecdsa", True)
    v["wrong-payload-type.json"] = (bundle(k, named, ptype="application/json"), "ecdsa", True)
    good = cr.b64(cr.sign_bytes(k, cr.pae(cr.INTOTO_TYPE, named)))
    other = cr.b64(cr.sign_bytes(cr.generate("ecdsa"), cr.pae(cr.INTOTO_TYPE, named)))
    v["two-signatures.json"] = (bundle(k, named, sigs=[{"sig": good}, {"sig": other}]), "ecdsa", True)
    v["malformed-json.json"] = (bundle(k, named)[:300], None, None)
    v["bad-base64.json"] = (bundle(k, named, sigs=[{"sig": "!!not*base64!!"}]), None, None)
    r, s = cr.decode_dss_signature(base64.b64decode(good))
    v["raw-signature.json"] = (bundle(k, named, sigs=[{"sig": cr.b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}]),
                               None, None)
    # signed statements the checks must refuse
    v["attestation.json"] = (bundle(k, cosign3_statement(hexof(DIGEST), SLSA)), "ecdsa", True)
    v["statement-v01.json"] = (bundle(k, named.replace(b"Statement/v1", b"Statement/v0.1")), "ecdsa", True)
    v["statement-extra.json"] = (bundle(k, named[:-1] + b',"x-kairos":1}'), "ecdsa", True)
    dup = named.replace(b'{"sha256":"', b'{"sha256":"' + hexof(OTHER).encode() + b'","sha256":"', 1)
    v["statement-dup.json"] = (bundle(k, dup), "ecdsa", True)
    v["statement-upper.json"] = (bundle(k, cosign3_statement(hexof(DIGEST).upper())), "ecdsa", True)
    # bundles of the wrong shape
    bb = bundle(k, named)
    v["bundle-dup.json"] = (bb.replace(b'{"mediaType":', b'{"mediaType":"x","mediaType":', 1), None, None)
    v["bundle-v02.json"] = (bb.replace(b"bundle.v0.3+json", b"bundle.v0.2+json", 1), None, None)
    v["bundle-extra.json"] = (bb[:-1] + b',"x":1}', None, None)
    b = json.loads(bb)
    b["messageSignature"] = {"messageDigest": {"algorithm": "SHA2_256", "digest": "AA=="}, "signature": "AA=="}
    del b["dsseEnvelope"]
    v["message-signature.json"] = (cr.go_json(b), None, None)
    v["keyless.json"] = (bundle(k, named, signer=cr.generate("ecdsa"), material={"certificate": {"rawBytes": "MAA="}}),
                         "ecdsa", False)
    npm = npm_bundle(os.path.join(OUT, "ecdsa.pem"), plain)
    if npm:
        v["npm.json"] = (npm, "ecdsa", True)
    for name, (blob, kind, valid_sig) in v.items():
        write(name, blob)
        if kind:
            check_openssl(name, blob, os.path.join(OUT, f"{kind}.pub"), kind, valid_sig)
    for name in ("valid-ecdsa.json", "valid-cosign3.json", "npm.json"):
        if name in v and not npm_verifies(pub, v[name][0]):
            sys.exit(f"gen_bundle_vectors: @sigstore/verify refuses {name}")
    os.unlink(os.path.join(OUT, "ecdsa.pem"))
    print(json.dumps({"dir": OUT, "files": sorted(v), "npm": bool(npm)}))


if __name__ == "__main__":
    main()
