#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""cosign_registry: cosign-format signatures written into a plain-HTTP
registry (Debian's docker-registry on 127.0.0.1) by crypto code we did not
write: Python `cryptography` (keys, ECDSA/RSA/Ed25519), PyNaCl (secretbox)
and hashlib.scrypt. Test tooling for issue 15; nothing here is shipped.
Run with /usr/bin/python3 (Debian's python3-cryptography and python3-nacl).

Commands (each prints one JSON object on stdout saying what it wrote):

genkey --type ecdsa|rsa|ed25519 --out PREFIX
    PREFIX.pub  PEM "PUBLIC KEY" (SubjectPublicKeyInfo DER, RFC 5280).
    PREFIX.pem  PEM "PRIVATE KEY" (PKCS#8 DER, RFC 5208), unencrypted.
    PREFIX.key  cosign's encrypted key: PEM "ENCRYPTED SIGSTORE PRIVATE KEY"
                (--legacy-label: "ENCRYPTED COSIGN PRIVATE KEY"), the PEM
                body being the JSON of go-securesystemslib encrypted.Encrypt
                (Go encoding/json field order, []byte as padded std base64):
                {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},
                "salt":B64(32 bytes)},"cipher":{"name":"nacl/secretbox",
                "nonce":B64(24 bytes)},"ciphertext":B64(MAC16 || XSalsa20)}
                key = scrypt(password, salt, N, r, p, 32 bytes); plaintext =
                the PKCS#8 DER (sigstore/sigstore pkg/cryptoutils/privatekey.go
                pemEncodeKeyPair). Password: --password, else $COSIGN_PASSWORD,
                else "" (cosign accepts an empty one).
badkeys DIR
    Malformed key files (one per way to be wrong), listed in the output.

push-image REPO:TAG [--platforms linux/amd64,linux/arm64]
    A tiny OCI image (one gzip layer holding etc/os-release, config, OCI
    manifest) at the tag, or with --platforms an OCI index over one such
    image per platform. So the suites need neither umoci nor skopeo.

sign REPO(:TAG|@DIGEST) --key FILE [--platform OS/ARCH] [-a K=V]... [faults]
    cosign's classic format (cosign specs/SIGNATURE_SPEC.md):
    * signed digest: sha256 of the exact manifest bytes the registry serves
      for the reference (an index digest when it is an index), or with
      --platform that platform's manifest from the index.
    * payload (layer blob): Go encoding/json of sigstore/sigstore
      pkg/signature/payload SimpleContainerImage: exactly
      {"critical":{"identity":{"docker-reference":"HOST:PORT/REPO"},
      "image":{"docker-manifest-digest":"sha256:HEX"},"type":"cosign
      container image signature"},"optional":null} (optional: an object
      with sorted keys when -a is given), no whitespace, no newline;
      Go's HTML escaping of < > & and U+2028/9 reproduced.
    * signature: ECDSA P-256 SHA-256 ASN.1 DER (cosign's default), RSA
      PKCS#1 v1.5 SHA-256, or pure Ed25519, over the payload bytes;
      base64 (std, padded) in layer annotation
      dev.cosignproject.cosign/signature.
    * signature image: OCI manifest at tag sha256-HEX.sig in the same
      repository, config application/vnd.oci.image.config.v1+json as
      go-containerregistry's mutate.Append over cosign's empty.Signatures()
      writes it ({"architecture":"","created":"0001-01-01T00:00:00Z",
      "history":[{"created":"0001-01-01T00:00:00Z"},...],"os":"","rootfs":
      {"type":"layers","diff_ids":[...]},"config":{}}), one layer per
      signature, media type application/vnd.dev.cosign.simplesigning.v1+json.
      A second `sign` APPENDS a layer, as cosign does (--replace: start anew).

bundle REPO(:TAG|@DIGEST) --key FILE [--platform OS/ARCH] [faults]
    cosign 3's default (sigstore/protobuf-specs Bundle v0.3, protojson):
    {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
     "verificationMaterial":{"publicKey":{"hint":B64(sha256(SPKI DER))}},
     (the hint as sigstore-go's keypair derives it, from memory: the
     corpus here did not show cosign's; @sigstore/sign takes any hint and
     a verifier should not trust it, only the configured key)
     "dsseEnvelope":{"payload":B64(statement),"payloadType":
     "application/vnd.in-toto+json","signatures":[{"sig":B64}]}}
    no certificate, no tlog entries (key-based). The signature is over
    DSSE's PAE: "DSSEv1 <len(type)> <type> <len(payload)> <payload>"
    (secure-systems-lab/dsse protocol.md). The statement (in-toto
    Statement v1): {"_type":"https://in-toto.io/Statement/v1","subject":
    [{"name":"HOST:PORT/REPO","digest":{"sha256":HEX}}],"predicateType":
    "https://sigstore.dev/cosign/sign/v1","predicate":{}}.
    Attached as an OCI 1.1 referrer: an OCI manifest with artifactType
    application/vnd.dev.sigstore.bundle.v0.3+json, config = the empty
    descriptor (application/vnd.oci.empty.v1+json, "{}", 2 bytes), one layer
    = the bundle, subject = the image descriptor, annotations
    dev.sigstore.bundle.content=dsse-envelope and
    dev.sigstore.bundle.predicateType; pushed by digest. Debian 12's
    docker-registry (distribution 2.8.2) has no referrers API:
    GET /v2/NAME/referrers/DIGEST answers 404 (the route does not exist;
    checked by tests/cosign/selftest), and it stores a manifest's
    `subject` without indexing it. So the tag-schema fallback is written
    too (OCI distribution-spec 1.1 "Referrers Tag Schema"): an OCI index
    at tag sha256-HEX listing each referrer manifest (mediaType, size,
    digest, artifactType, annotations), re-read and extended by each
    further `bundle`.

Debian's docker-registry also takes a descriptor whose size is not the
blob's (it checks that the blob exists, not its size): --big-layer-lie is
served as written.

Faults (flags of sign/bundle; each writes what its help says and nothing
else changes): see FAULTS below or `--help`. A verifier must refuse each.
Everything talks plain HTTP to 127.0.0.1 only (--registry HOST:PORT or
$REGISTRY); proxies from the environment are never used.
"""
import argparse
import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import sys
import tarfile
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
import nacl.secret
import nacl.utils

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
COSIGN_TYPE = "cosign container image signature"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
INTOTO_TYPE = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
EMPTY_JSON = b"{}"
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, as v1.Time marshals it
SCRYPT_N, SCRYPT_R, SCRYPT_P = 32768, 8, 1  # go-securesystemslib's default ("Legacy")
BIG = 100 * 1024 * 1024

# name -> (applies to, help). Every fault is a flag of its own.
FAULTS = {
    "wrong-key": ("sign bundle", "sign with a fresh key of the same type, not --key"),
    "alter-payload": ("sign bundle", "change the payload's bytes after signing (a space after its first '{': same meaning, other bytes)"),
    "other-digest": ("sign bundle", "sign a payload/subject naming the digest of another image, stored where this image's signature goes"),
    "other-identity": ("sign bundle", "docker-reference (statement subject name) of another repository, HOST:PORT/other/repo"),
    "unknown-critical": ("sign", "an extra member in `critical` (\"x-kairos-unknown\")"),
    "duplicate-keys": ("sign", "`image` holds docker-manifest-digest twice: another digest first, the right one last (a last-wins parser accepts it)"),
    "no-signature": ("sign bundle", "write no signature at all (nothing is pushed; prints the tag that stays absent)"),
    "no-annotation": ("sign", "the layer carries no dev.cosignproject.cosign/signature annotation"),
    "bad-base64": ("sign bundle", "the signature is not base64 (\"!!not*base64!!\")"),
    "raw-signature": ("sign bundle", "ECDSA signature as raw r||s (64 bytes), not ASN.1 DER"),
    "big-layer-real": ("sign", "a validly signed payload of 100 MiB (--big-size), padded in `optional`"),
    "big-layer-lie": ("sign", "the layer descriptor claims 100 MiB (--big-size); the blob is the normal payload"),
    "wrong-payload-type": ("bundle", "payloadType application/json (the PAE signed with it, so only the type is wrong)"),
    "two-signatures": ("bundle", "the envelope holds the valid signature and a second by another key"),
    "malformed-json": ("bundle", "the bundle blob is cut in the middle (not JSON)"),
}


def die(msg):
    print(f"cosign_registry: {msg}", file=sys.stderr)
    sys.exit(1)


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def go_json(obj):
    """Go encoding/json's compact output for maps/strings/ints: no spaces,
    raw UTF-8, and Go's HTML-safe escapes (json.Marshal escapes <, >, & and
    U+2028/U+2029). Map keys must already be in the Go struct's order (Go
    sorts real maps: callers pass sorted dicts for those)."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(a, b)
    return s.encode()


def b64(data):
    return base64.b64encode(data).decode()


# --- registry (plain HTTP, no proxies: http.client never reads the environment) ---

class Registry:
    def __init__(self, hostport):
        host, _, port = hostport.rpartition(":")
        if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
            die(f"registry {hostport}: only 127.0.0.1 is allowed here")
        self.hostport = hostport
        self.host, self.port = host, int(port)

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def get_manifest(self, repo, ref):
        """(bytes, media type, digest) of what the registry serves, or None."""
        st, hdr, data = self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})
        if st == 404:
            return None
        if st != 200:
            die(f"GET manifest {repo}:{ref}: HTTP {st}: {data[:200]!r}")
        digest = sha256_digest(data)
        served = hdr.get("docker-content-digest")
        if served and served != digest:
            die(f"{repo}:{ref}: Docker-Content-Digest {served} but the bytes hash to {digest}")
        return data, hdr.get("content-type", "").split(";")[0].strip(), digest

    def get_blob(self, repo, digest):
        st, _, data = self.request("GET", f"/v2/{repo}/blobs/{digest}")
        if st != 200:
            die(f"GET blob {repo}@{digest}: HTTP {st}")
        if sha256_digest(data) != digest:
            die(f"blob {digest}: content hashes to {sha256_digest(data)}")
        return data

    def put_blob(self, repo, data):
        """Monolithic upload (POST then PUT ?digest=); skipped when present.
        Returns the OCI descriptor fields (size, digest)."""
        digest = sha256_digest(data)
        st, _, _ = self.request("HEAD", f"/v2/{repo}/blobs/{digest}")
        if st == 200:
            return len(data), digest
        st, hdr, body = self.request("POST", f"/v2/{repo}/blobs/uploads/", body=b"",
                                     headers={"Content-Length": "0"})
        if st != 202 or "location" not in hdr:
            die(f"POST blob upload {repo}: HTTP {st}: {body[:200]!r}")
        loc = urllib.parse.urlsplit(hdr["location"])
        query = (loc.query + "&" if loc.query else "") + "digest=" + urllib.parse.quote(digest)
        st, _, body = self.request("PUT", f"{loc.path}?{query}", body=data,
                                   headers={"Content-Type": "application/octet-stream",
                                            "Content-Length": str(len(data))})
        if st != 201:
            die(f"PUT blob {repo}@{digest}: HTTP {st}: {body[:200]!r}")
        return len(data), digest

    def put_manifest(self, repo, ref, data, media_type):
        st, hdr, body = self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=data,
                                     headers={"Content-Type": media_type})
        if st != 201:
            die(f"PUT manifest {repo}:{ref}: HTTP {st}: {body[:300]!r}")
        digest = sha256_digest(data)
        if hdr.get("docker-content-digest", digest) != digest:
            die(f"PUT manifest {repo}:{ref}: registry says {hdr['docker-content-digest']}, we sent {digest}")
        return digest


def parse_ref(ref):
    """"repo:tag" or "repo@sha256:hex" -> (repo, tag-or-digest)."""
    if "@" in ref:
        repo, _, digest = ref.partition("@")
        return repo, digest
    repo, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, "latest"
    return repo, tag


def descriptor(media_type, size, digest, annotations=None, artifact_type=None, platform=None):
    # go-containerregistry v1.Descriptor field order
    d = {"mediaType": media_type, "size": size, "digest": digest}
    if annotations:
        d["annotations"] = annotations
    if platform:
        d["platform"] = platform
    if artifact_type:
        d["artifactType"] = artifact_type
    return d


def resolve(reg, repo, ref, platform=None):
    """The manifest a signature is for: (bytes, media type, digest)."""
    got = reg.get_manifest(repo, ref)
    if got is None:
        die(f"{repo}:{ref}: no such manifest")
    data, mt, digest = got
    if platform is None:
        return got
    if mt not in (OCI_INDEX, DOCKER_LIST):
        die(f"{repo}:{ref} is not an index ({mt}); --platform needs one")
    want = platform.split("/")
    for m in json.loads(data)["manifests"]:
        p = m.get("platform", {})
        have = [p.get("os"), p.get("architecture")] + ([p["variant"]] if "variant" in p else [])
        if have[:len(want)] == want and len(want) >= 2:
            sub = reg.get_manifest(repo, m["digest"])
            if sub is None or sub[2] != m["digest"]:
                die(f"{repo}@{m['digest']}: missing or wrong digest")
            return sub
    die(f"{repo}:{ref}: no manifest for platform {platform}")


# --- keys -------------------------------------------------------------------

def generate(kind):
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    die(f"unknown key type {kind}")


def key_kind(key):
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ecdsa"
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    die(f"unsupported key {type(key).__name__}")


def pem(label, der):
    """Go encoding/pem.Encode: 64-column base64 lines."""
    body = b64(der)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


def unpem(text):
    """(label, DER) of the first PEM block."""
    text = text.decode() if isinstance(text, bytes) else text
    begin = text.index("-----BEGIN ")
    label = text[begin + 11:text.index("-----", begin + 11)]
    end = text.index(f"-----END {label}-----", begin)
    body = text[text.index("\n", begin) + 1:end]
    return label, base64.b64decode("".join(body.split()), validate=True)


def scrypt_key(password, salt, n, r, p):
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)


def encrypt_key_json(pkcs8_der, password, salt=None, nonce=None, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P):
    salt = salt or os.urandom(32)
    nonce = nonce or nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(scrypt_key(password, salt, n, r, p))
    ct = box.encrypt(pkcs8_der, nonce).ciphertext  # MAC || ciphertext, as Go's secretbox.Seal
    return go_json({"kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p}, "salt": b64(salt)},
                    "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
                    "ciphertext": b64(ct)})


def decrypt_key_json(blob, password):
    d = json.loads(blob)
    if d["kdf"]["name"] != "scrypt" or d["cipher"]["name"] != "nacl/secretbox":
        raise ValueError("unsupported kdf or cipher")
    prm = d["kdf"]["params"]
    key = scrypt_key(password, base64.b64decode(d["kdf"]["salt"]), prm["N"], prm["r"], prm["p"])
    return nacl.secret.SecretBox(key).decrypt(base64.b64decode(d["ciphertext"]),
                                              base64.b64decode(d["cipher"]["nonce"]))


def password_of(args):
    pw = args.password if args.password is not None else os.environ.get("COSIGN_PASSWORD", "")
    return pw.encode()


def load_private(path, password):
    text = open(path, "rb").read()
    label, der = unpem(text)
    if label in ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"):
        der = decrypt_key_json(der, password)
        return serialization.load_der_private_key(der, None)
    return serialization.load_pem_private_key(text, None)


def spki_der(pub):
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign_bytes(key, data, raw=False):
    kind = key_kind(key)
    if kind == "ecdsa":
        der = key.sign(data, ec.ECDSA(hashes.SHA256()))
        if raw:
            r, s = decode_dss_signature(der)
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return der
    if raw:
        die("--raw-signature applies to ECDSA keys only")
    if kind == "rsa":
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


# --- payloads -----------------------------------------------------------------

def simple_signing_payload(identity, digest, optional=None, unknown_critical=False, duplicate_other=None):
    """sigstore/sigstore payload.Cosign.MarshalJSON's exact bytes (Go struct
    order critical{identity,image,type}, optional; a nil map is null)."""
    image = {"docker-manifest-digest": digest}
    crit = {"identity": {"docker-reference": identity}, "image": image, "type": COSIGN_TYPE}
    if unknown_critical:
        crit["x-kairos-unknown"] = "1"
    opt = dict(sorted(optional.items())) if optional else None
    out = go_json({"critical": crit, "optional": opt})
    if duplicate_other:
        # json cannot hold two equal keys: splice the first one in by hand
        good = go_json({"docker-manifest-digest": digest})
        dup = b'{"docker-manifest-digest":"' + duplicate_other.encode() + b'",' + good[1:]
        out = out.replace(good, dup, 1)
    return out


def statement(identity, hexdigest, predicate_type=SIGN_PREDICATE):
    subject = {"digest": {"sha256": hexdigest}} if identity is None else {"name": identity, "digest": {"sha256": hexdigest}}
    return go_json({"_type": STATEMENT_V1,
                    "subject": [subject],
                    "predicateType": predicate_type, "predicate": {}})


def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def other_digest():
    return sha256_digest(b"another image, not this one")


def sig_tag(digest):
    return digest.replace(":", "-") + ".sig"


def signature_image(reg, repo, tag, layers, replace):
    """Append layers (list of (blob descriptor dict)) to the signature image
    at tag, as cosign's mutate.AppendSignatures does; returns the manifest."""
    old_layers, history, diff_ids = [], [], []
    got = None if replace else reg.get_manifest(repo, tag)
    if got is not None:
        man = json.loads(got[0])
        cfg = json.loads(reg.get_blob(repo, man["config"]["digest"]))
        old_layers = man["layers"]
        history = cfg.get("history", [])
        diff_ids = cfg["rootfs"]["diff_ids"]
    for lay in layers:
        history.append({"created": ZERO_TIME})
        diff_ids.append(lay["digest"])  # simplesigning layers are not compressed
    cfg = go_json({"architecture": "", "created": ZERO_TIME, "history": history, "os": "",
                   "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}})
    size, cdigest = reg.put_blob(repo, cfg)
    man = go_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                   "config": descriptor(OCI_CONFIG, size, cdigest),
                   "layers": old_layers + layers})
    return reg.put_manifest(repo, tag, man, OCI_MANIFEST), man


def fresh_key_like(key):
    return generate(key_kind(key))


def cmd_sign(args):
    reg = Registry(args.registry)
    repo, ref = parse_ref(args.ref)
    key = load_private(args.key, password_of(args))
    _, _, digest = resolve(reg, repo, ref, args.platform)
    tag = sig_tag(digest)
    result = {"format": "classic", "repository": repo, "signed_digest": digest, "tag": tag}
    if args.no_signature:
        result["written"] = False
        print(json.dumps(result))
        return
    identity = args.identity or f"{reg.hostport}/{repo}"
    if args.other_identity:
        identity = f"{reg.hostport}/other/repo"
    named = other_digest() if args.other_digest else digest
    optional = dict(a.split("=", 1) for a in args.annotation) or None
    if args.big_layer_real:
        pad = max(0, args.big_size - 400)
        optional = dict(optional or {}, padding="x" * pad)
    payload = simple_signing_payload(identity, named, optional, args.unknown_critical,
                                     other_digest() if args.duplicate_keys else None)
    signer = fresh_key_like(key) if args.wrong_key else key
    sig = sign_bytes(signer, payload, raw=args.raw_signature)
    if args.alter_payload:
        payload = b"{ " + payload[1:]
    layers = []
    for _ in range(args.decoys):  # several signatures, only the last one valid
        decoy = sign_bytes(fresh_key_like(key), payload)
        size, d = reg.put_blob(repo, payload)
        layers.append(descriptor(SIMPLESIGNING, size, d, {SIG_ANNOTATION: b64(decoy)}))
    size, pdigest = reg.put_blob(repo, payload)
    if args.big_layer_lie:
        size = args.big_size
    ann = None if args.no_annotation else {SIG_ANNOTATION: "!!not*base64!!" if args.bad_base64 else b64(sig)}
    layers += [descriptor(SIMPLESIGNING, size, pdigest, ann)] * args.many_layers
    mdigest, man = signature_image(reg, repo, tag, layers, args.replace)
    result.update(written=True, manifest_digest=mdigest, layers=len(json.loads(man)["layers"]),
                  payload_digest=pdigest, payload_size=len(payload), named_digest=named,
                  identity=identity, signature=b64(sig), key_type=key_kind(key))
    print(json.dumps(result))


def cmd_bundle(args):
    reg = Registry(args.registry)
    repo, ref = parse_ref(args.ref)
    key = load_private(args.key, password_of(args))
    mbytes, mtype, digest = resolve(reg, repo, ref, args.platform)
    fallback_tag = digest.replace(":", "-")
    result = {"format": "bundle", "repository": repo, "signed_digest": digest, "fallback_tag": fallback_tag}
    if args.no_signature:
        result["written"] = False
        print(json.dumps(result))
        return
    identity = f"{reg.hostport}/other/repo" if args.other_identity else (args.identity or f"{reg.hostport}/{repo}")
    if args.no_name:
        identity = None
    named = other_digest() if args.other_digest else digest
    stmt = statement(identity, named.split(":", 1)[1], args.predicate_type)
    ptype = "application/json" if args.wrong_payload_type else INTOTO_TYPE
    signer = fresh_key_like(key) if args.wrong_key else key
    sig = sign_bytes(signer, pae(ptype, stmt), raw=args.raw_signature)
    if args.alter_payload:
        stmt = b"{ " + stmt[1:]
    sigs = [{"sig": "!!not*base64!!" if args.bad_base64 else b64(sig)}]
    if args.two_signatures:
        sigs.append({"sig": b64(sign_bytes(fresh_key_like(key), pae(ptype, stmt)))})
    hint = b64(hashlib.sha256(spki_der(key.public_key())).digest())
    bundle = go_json({"mediaType": BUNDLE_TYPE,
                      "verificationMaterial": {"publicKey": {"hint": hint}},
                      "dsseEnvelope": {"payload": b64(stmt), "payloadType": ptype, "signatures": sigs}})
    if args.malformed_json:
        bundle = bundle[:len(bundle) // 2]
    bsize, bdigest = reg.put_blob(repo, bundle)
    esize, edigest = reg.put_blob(repo, EMPTY_JSON)
    ann = {"dev.sigstore.bundle.content": "dsse-envelope",
           "dev.sigstore.bundle.predicateType": args.predicate_type}
    man = go_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE_TYPE,
                   "config": descriptor(OCI_EMPTY, esize, edigest),
                   "layers": [descriptor(BUNDLE_TYPE, bsize, bdigest)],
                   "subject": descriptor(mtype, len(mbytes), digest),
                   "annotations": ann})
    mdigest = sha256_digest(man)
    reg.put_manifest(repo, mdigest, man, OCI_MANIFEST)
    entry = descriptor(OCI_MANIFEST, len(man), mdigest, ann, artifact_type=BUNDLE_TYPE)
    if not args.no_fallback:
        got = reg.get_manifest(repo, fallback_tag)
        entries = json.loads(got[0])["manifests"] if got else []
        if all(e["digest"] != mdigest for e in entries):
            entries.append(entry)
        index = go_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        reg.put_manifest(repo, fallback_tag, index, OCI_INDEX)
        result["fallback_entries"] = len(entries)
    result.update(written=True, referrer_digest=mdigest, bundle_digest=bdigest, named_digest=named,
                  identity=identity, payload_type=ptype, key_type=key_kind(key),
                  statement=b64(stmt), signature=sigs[0]["sig"])
    print(json.dumps(result))


# --- images -------------------------------------------------------------------

def tiny_layer(text):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("etc/", None), ("etc/os-release", text.encode())):
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = 0
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return tar_bytes, gzip.compress(tar_bytes, mtime=0)


def push_one(reg, repo, os_, arch, seed):
    tar_bytes, gz = tiny_layer(f'NAME="kairos-test"\nVERSION_ID="{seed}"\nARCH="{arch}"\n')
    lsize, ldigest = reg.put_blob(repo, gz)
    cfg = go_json({"architecture": arch, "os": os_, "created": "2026-01-01T00:00:00Z",
                   "rootfs": {"type": "layers", "diff_ids": [sha256_digest(tar_bytes)]}, "config": {}})
    csize, cdigest = reg.put_blob(repo, cfg)
    man = go_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                   "config": descriptor(OCI_CONFIG, csize, cdigest),
                   "layers": [descriptor(OCI_LAYER_GZIP, lsize, ldigest)]})
    return man


def cmd_push_image(args):
    reg = Registry(args.registry)
    repo, tag = parse_ref(args.ref)
    out = {"repository": repo, "tag": tag}
    if not args.platforms:
        man = push_one(reg, repo, "linux", "amd64", args.seed)
        out["digest"] = reg.put_manifest(repo, tag, man, OCI_MANIFEST)
        out["media_type"] = OCI_MANIFEST
    else:
        entries, out["platforms"] = [], {}
        for plat in args.platforms.split(","):
            os_, arch = plat.split("/")[:2]
            man = push_one(reg, repo, os_, arch, args.seed)
            d = reg.put_manifest(repo, sha256_digest(man), man, OCI_MANIFEST)
            out["platforms"][plat] = d
            entries.append(descriptor(OCI_MANIFEST, len(man), d, platform={"architecture": arch, "os": os_}))
        index = go_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        out["digest"] = reg.put_manifest(repo, tag, index, OCI_INDEX)
        out["media_type"] = OCI_INDEX
    print(json.dumps(out))


# --- key files ----------------------------------------------------------------

def cmd_genkey(args):
    key = generate(args.type)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    label = "ENCRYPTED COSIGN PRIVATE KEY" if args.legacy_label else "ENCRYPTED SIGSTORE PRIVATE KEY"
    files = {".pub": pem("PUBLIC KEY", spki_der(key.public_key())),
             ".pem": pem("PRIVATE KEY", der),
             ".key": pem(label, encrypt_key_json(der, password_of(args)))}
    for ext, data in files.items():
        with open(args.out + ext, "wb") as f:
            f.write(data)
    os.chmod(args.out + ".pem", 0o600)
    os.chmod(args.out + ".key", 0o600)
    print(json.dumps({"type": args.type, "public": args.out + ".pub", "private": args.out + ".pem",
                      "encrypted": args.out + ".key", "label": label}))


def cmd_badkeys(args):
    """One malformed key file per way to be wrong (password of the encrypted
    ones: $COSIGN_PASSWORD or --password, as genkey)."""
    os.makedirs(args.dir, exist_ok=True)
    pw = password_of(args)
    key = generate("ecdsa")
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = pem("PUBLIC KEY", spki_der(key.public_key()))
    enc = encrypt_key_json(der, pw)
    tampered = json.loads(enc)
    ct = bytearray(base64.b64decode(tampered["ciphertext"]))
    ct[-1] ^= 1
    tampered["ciphertext"] = b64(bytes(ct))
    weak = json.loads(enc)  # parameters go-securesystemslib refuses ("unsupported scrypt parameters")
    weak["kdf"]["params"] = {"N": 99, "r": 99, "p": 99}
    k1 = ec.generate_private_key(ec.SECP256K1())
    r1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    files = {
        "empty.pub": b"",
        "truncated.pub": pub[:len(pub) // 2],
        "badbase64.pub": pub.replace(pub.splitlines()[1], b"!!!!" + pub.splitlines()[1][4:]),
        "garbage-der.pub": pem("PUBLIC KEY", b"\x30\x03\x02\x01\x00"),
        "private-as-public.pub": pem("PRIVATE KEY", der),
        "secp256k1.pub": pem("PUBLIC KEY", spki_der(k1.public_key())),
        "rsa1024.pub": pem("PUBLIC KEY", spki_der(r1024.public_key())),
        "two-blocks.pub": pub + pem("PUBLIC KEY", spki_der(generate("ecdsa").public_key())),
        "notjson.key": pem("ENCRYPTED SIGSTORE PRIVATE KEY", b"not json"),
        "tampered.key": pem("ENCRYPTED SIGSTORE PRIVATE KEY", go_json(tampered)),
        "bad-kdf-params.key": pem("ENCRYPTED SIGSTORE PRIVATE KEY", go_json(weak)),
        "unknown-label.key": pem("ENCRYPTED FOO PRIVATE KEY", enc),
    }
    for name, data in files.items():
        with open(os.path.join(args.dir, name), "wb") as f:
            f.write(data)
    print(json.dumps({"dir": args.dir, "files": sorted(files)}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, registry=True):
        if registry:
            p.add_argument("--registry", default=os.environ.get("REGISTRY"),
                           required="REGISTRY" not in os.environ, help="HOST:PORT (127.0.0.1 only); $REGISTRY")
        p.add_argument("--password", help="key password (default $COSIGN_PASSWORD, else empty)")

    p = sub.add_parser("genkey", help="key pair + cosign encrypted key file")
    common(p, registry=False)
    p.add_argument("--type", choices=["ecdsa", "rsa", "ed25519"], default="ecdsa")
    p.add_argument("--out", required=True, help="PREFIX: writes PREFIX.pub, PREFIX.pem, PREFIX.key")
    p.add_argument("--legacy-label", action="store_true", help="PEM label ENCRYPTED COSIGN PRIVATE KEY")
    p.set_defaults(func=cmd_genkey)

    p = sub.add_parser("badkeys", help="malformed key files into DIR")
    common(p, registry=False)
    p.add_argument("dir")
    p.set_defaults(func=cmd_badkeys)

    p = sub.add_parser("push-image", help="push a tiny OCI image (or index)")
    common(p)
    p.add_argument("ref", help="REPO:TAG")
    p.add_argument("--platforms", help="comma list of OS/ARCH: push an index")
    p.add_argument("--seed", default="1", help="VERSION_ID in etc/os-release (distinct images)")
    p.set_defaults(func=cmd_push_image)

    for name, func, what in (("sign", cmd_sign, "cosign classic signature (sha256-HEX.sig)"),
                             ("bundle", cmd_bundle, "cosign 3 Sigstore bundle as OCI referrer")):
        p = sub.add_parser(name, help=what)
        common(p)
        p.add_argument("ref", help="REPO:TAG or REPO@sha256:HEX")
        p.add_argument("--key", required=True, help="private key: PKCS#8/SEC1/PKCS#1 PEM or cosign encrypted")
        p.add_argument("--platform", help="OS/ARCH[/VARIANT]: sign that manifest of the index, not the index")
        p.add_argument("--identity", help="docker-reference / subject name (default HOST:PORT/REPO)")
        if name == "sign":
            p.add_argument("-a", "--annotation", action="append", default=[], help="K=V into `optional`")
            p.add_argument("--replace", action="store_true", help="a new signature image instead of appending")
            p.add_argument("--many-layers", type=int, default=1, metavar="N",
                           help="the signature layer N times in one manifest (1000: the count bound)")
            p.add_argument("--decoys", type=int, default=0, metavar="N",
                           help="N signatures by other keys before the valid one")
            p.add_argument("--big-size", type=int, default=BIG, help="size for --big-layer-* (100 MiB)")
        else:
            p.add_argument("--predicate-type", default=SIGN_PREDICATE)
            p.add_argument("--no-fallback", action="store_true", help="no referrers tag-schema index")
            p.add_argument("--no-name", action="store_true",
                           help="a subject without a name, as cosign 3 writes it (only the digest)")
        for fault, (where, helptext) in FAULTS.items():
            if name in where.split():
                p.add_argument("--" + fault, action="store_true", help="FAULT: " + helptext)
        p.set_defaults(func=func)

    args = ap.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
