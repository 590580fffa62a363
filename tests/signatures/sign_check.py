#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sign_check REGISTRY REPO DIGEST --pub PUB --kind ecdsa|rsa|ed25519
   --layers N [--layer I] [-a K=V]... [--identity HOST/REPO]

Checks a signature `kairos-upgrade sign` wrote, with nothing of ours: the
signature image at tag sha256-HEX.sig is fetched with curl; its manifest,
config and payload must be the exact bytes cosign writes (as
tests/cosign/cosign_registry.py, Python's json + Go's escaping, writes
them: the manifest shape, the config go-containerregistry's mutate.Append
writes, the simple-signing payload naming REGISTRY/REPO and DIGEST with
the -a annotations); layer I's signature (its annotation, base64) must
verify over the payload bytes with the openssl CLI (`openssl dgst -sha256
-verify`, `openssl pkeyutl -verify -rawin` for Ed25519). Prints the reason
and exits 1 when anything differs."""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cosign"))
import cosign_registry as cr  # noqa: E402


def fail(msg):
    print(f"sign_check: {msg}")
    sys.exit(1)


def curl(url, accept="*/*"):
    p = subprocess.run(["curl", "-sf", "--noproxy", "*", "-H", f"Accept: {accept}", url], capture_output=True)
    if p.returncode != 0:
        fail(f"curl {url}: exit {p.returncode}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("registry")
    ap.add_argument("repo")
    ap.add_argument("digest")
    ap.add_argument("--pub", required=True)
    ap.add_argument("--kind", required=True, choices=["ecdsa", "rsa", "ed25519"])
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--layer", type=int, default=-1)
    ap.add_argument("-a", action="append", default=[])
    ap.add_argument("--identity", help="the payload's docker-reference (default REGISTRY/REPO)")
    args = ap.parse_args()

    base = f"http://{args.registry}/v2/{args.repo}"
    tag = cr.sig_tag(args.digest)
    raw = curl(f"{base}/manifests/{tag}", cr.OCI_MANIFEST)
    man = json.loads(raw)
    if man.get("schemaVersion") != 2 or man.get("mediaType") != cr.OCI_MANIFEST:
        fail(f"{tag}: not an OCI manifest: {raw[:200]!r}")
    layers = man["layers"]
    if len(layers) != args.layers:
        fail(f"{tag}: {len(layers)} layers, expected {args.layers}")
    for lay in layers:
        if lay.get("mediaType") != cr.SIMPLESIGNING or cr.SIG_ANNOTATION not in lay.get("annotations", {}):
            fail(f"{tag}: layer {lay} is not a cosign signature layer")
    # The manifest and config bytes cosign would write for these layers.
    want_cfg = cr.go_json({"architecture": "", "created": cr.ZERO_TIME,
                           "history": [{"created": cr.ZERO_TIME} for _ in layers], "os": "",
                           "rootfs": {"type": "layers", "diff_ids": [lay["digest"] for lay in layers]},
                           "config": {}})
    if man["config"] != cr.descriptor(cr.OCI_CONFIG, len(want_cfg), cr.sha256_digest(want_cfg)):
        fail(f"{tag}: config descriptor {man['config']} is not cosign's")
    if curl(f"{base}/blobs/{man['config']['digest']}") != want_cfg:
        fail(f"{tag}: config bytes differ from cosign's")
    want_man = cr.go_json({"schemaVersion": 2, "mediaType": cr.OCI_MANIFEST, "config": man["config"],
                           "layers": layers})
    if raw != want_man:
        fail(f"{tag}: manifest bytes differ from cosign's:\n{raw!r}\n{want_man!r}")

    lay = layers[args.layer]
    payload = curl(f"{base}/blobs/{lay['digest']}")
    optional = dict(a.split("=", 1) for a in args.a) or None
    want = cr.simple_signing_payload(args.identity or f"{args.registry}/{args.repo}", args.digest, optional)
    if payload != want:
        fail(f"payload differs from cosign's:\n{payload!r}\n{want!r}")
    if lay["size"] != len(payload) or lay["digest"] != "sha256:" + hashlib.sha256(payload).hexdigest():
        fail("layer descriptor does not describe the payload")

    sig = base64.b64decode(lay["annotations"][cr.SIG_ANNOTATION], validate=True)
    with tempfile.TemporaryDirectory() as d:
        fp, fs = os.path.join(d, "payload"), os.path.join(d, "sig")
        open(fp, "wb").write(payload)
        open(fs, "wb").write(sig)
        if args.kind == "ed25519":
            cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", args.pub, "-rawin", "-in", fp,
                   "-sigfile", fs]
        else:
            cmd = ["openssl", "dgst", "-sha256", "-verify", args.pub, "-signature", fs, fp]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            fail(f"openssl does not verify the signature: {p.stdout}{p.stderr}")


if __name__ == "__main__":
    main()
