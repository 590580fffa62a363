#!/usr/bin/env python3
# Edits of OCI layouts that umoci and skopeo 1.9 cannot make, for tests:
#   recompress LAYOUT TAG zstd|none   rewrite the image's gzip layers
#   index LAYOUT TAG TAG1 [TAG2...]   an image index over tagged images, with
#                                     their platforms and an "unknown/unknown"
#                                     attestation-like entry, tagged TAG
#   claim-sizes LAYOUT TAG NEWTAG SIZE... TAG's first layer, once per SIZE,
#                                     claiming that size, tagged NEWTAG
import gzip, hashlib, json, os, subprocess, sys

REF = "org.opencontainers.image.ref.name"


def blob_path(layout, digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])


def write_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob_path(layout, digest), "wb") as f:
        f.write(data)
    return digest


def read_json(layout, digest):
    with open(blob_path(layout, digest), "rb") as f:
        return json.load(f)


def load_index(layout):
    with open(os.path.join(layout, "index.json")) as f:
        return json.load(f)


def tagged(layout, tag):
    for d in load_index(layout)["manifests"]:
        if d.get("annotations", {}).get(REF) == tag:
            return d
    sys.exit(f"no tag {tag} in {layout}")


def set_tag(layout, tag, desc):
    index = load_index(layout)
    desc = dict(desc, annotations={REF: tag})
    index["manifests"] = [d for d in index["manifests"] if d.get("annotations", {}).get(REF) != tag] + [desc]
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)


def recompress(layout, tag, how):
    desc = tagged(layout, tag)
    manifest = read_json(layout, desc["digest"])
    for layer in manifest["layers"]:
        with open(blob_path(layout, layer["digest"]), "rb") as f:
            raw = gzip.decompress(f.read())
        if how == "zstd":
            data = subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, stdout=subprocess.PIPE, check=True).stdout
            layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+zstd"
        else:
            data = raw
            layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
        layer["digest"] = write_blob(layout, data)
        layer["size"] = len(data)
    body = json.dumps(manifest).encode()
    set_tag(layout, tag, {"mediaType": desc["mediaType"], "digest": write_blob(layout, body), "size": len(body)})


def claim_sizes(layout, tag, new_tag, sizes):
    """new_tag: tag's image with one layer per size, each the first layer
    but claiming that size in the manifest (hostile sizes for the space
    estimate; the blobs never match)."""
    desc = tagged(layout, tag)
    manifest = read_json(layout, desc["digest"])
    first = manifest["layers"][0]
    manifest["layers"] = [dict(first, size=int(s)) for s in sizes]
    body = json.dumps(manifest).encode()
    set_tag(layout, new_tag, {"mediaType": desc["mediaType"], "digest": write_blob(layout, body), "size": len(body)})


def make_index(layout, tag, tags):
    entries = []
    for t in tags:
        desc = tagged(layout, t)
        config = read_json(layout, read_json(layout, desc["digest"])["config"]["digest"])
        platform = {"os": config["os"], "architecture": config["architecture"]}
        if config.get("variant"):
            platform["variant"] = config["variant"]
        entries.append({"mediaType": desc["mediaType"], "digest": desc["digest"], "size": desc["size"],
                        "platform": platform})
    unknown = dict(entries[0], platform={"os": "unknown", "architecture": "unknown"})
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [unknown] + entries}
    body = json.dumps(index).encode()
    set_tag(layout, tag, {"mediaType": index["mediaType"], "digest": write_blob(layout, body), "size": len(body)})


if __name__ == "__main__":
    cmd, layout, tag = sys.argv[1:4]
    if cmd == "recompress":
        recompress(layout, tag, sys.argv[4])
    elif cmd == "claim-sizes":
        claim_sizes(layout, tag, sys.argv[4], sys.argv[5:])
    elif cmd == "index":
        make_index(layout, tag, sys.argv[4:])
    else:
        sys.exit(f"unknown command {cmd}")
