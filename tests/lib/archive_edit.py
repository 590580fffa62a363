#!/usr/bin/env python3
"""Hostile variants of an image archive (docker-archive or oci-archive) for
tests/pull: archive_edit.py OP IN OUT [ARG].
  tamper-layer     flip a byte in the first layer manifest.json lists
  add-entry NAME   add a small file under NAME (e.g. ../../etc/evil)
  drop-entry NAME  leave NAME out
  link-layer       make manifest.json's first layer a symlink to the second"""
import io
import json
import sys
import tarfile


def main():
    op, src, dst = sys.argv[1:4]
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    with tarfile.open(src) as tin:
        members = [(m, tin.extractfile(m).read() if m.isfile() else None) for m in tin.getmembers()]
    layers = []
    for m, data in members:
        if m.name == "manifest.json":
            layers = json.loads(data)[0]["Layers"]
    with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tout:
        for m, data in members:
            if op == "drop-entry" and m.name == arg:
                continue
            if op == "tamper-layer" and m.name == layers[0]:
                data = bytearray(data)
                data[600] ^= 1
                data = bytes(data)
            if op == "link-layer" and m.name == layers[0]:
                m = tarfile.TarInfo(m.name)
                m.type, m.linkname, data = tarfile.SYMTYPE, layers[1], None
            tout.addfile(m, io.BytesIO(data) if data is not None else None)
        if op == "add-entry":
            info = tarfile.TarInfo(arg)
            info.size = 4
            tout.addfile(info, io.BytesIO(b"evil"))


main()
