#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Layer tars for check-repro, each a case of the builder's that could make
two builds of one image differ: many small files (set aside, written in
tree order), duplicates (whole files, blocks, tails), hard links (one of
them kept alive after its first name is whited out: the pre-scan skips its
data, then it is kept or its layer read again), xattrs (shared and not),
sparse files, devices, owners in no order (the id table), names in UTF-8
and in no encoding, a name the locale could convert, whiteouts and an
opaque directory, odd mtimes.
  fixtures.py OUTDIR  ->  OUTDIR/layer1.tar OUTDIR/layer2.tar OUTDIR/layer3.tar"""
import io
import os
import random
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sparse_tar  # noqa: E402

OUT = sys.argv[1]
rng = random.Random(17)


class Layer:
    """A tar built entry by entry, so hand-made entries can sit among them."""

    def __init__(self, path):
        self.path, self.parts = path, []

    def info(self, name, type_, mode=0o644, uid=0, gid=0, mtime=1700000000, **kw):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = type_, mode, uid, gid, mtime
        ti.uname = ti.gname = ""
        for k, v in kw.items():
            setattr(ti, k, v)
        return ti

    def add(self, ti, data=b"", fmt=tarfile.PAX_FORMAT):
        ti.size = len(data)
        self.parts.append(ti.tobuf(fmt, "utf-8", "surrogateescape"))
        self.parts.append(data + b"\0" * (-len(data) % 512))

    def dir(self, name, **kw):
        self.add(self.info(name, tarfile.DIRTYPE, 0o755, **kw))

    def file(self, name, data, xattrs=None, **kw):
        ti = self.info(name, tarfile.REGTYPE, **kw)
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
        self.add(ti, data)

    def link(self, name, target, hard=False):
        self.add(self.info(name, tarfile.LNKTYPE if hard else tarfile.SYMTYPE, 0o777, linkname=target))

    def raw(self, data):  # a hand-made tar's entries, without its end blocks
        end = len(data)
        while end >= 512 and data[end - 512:end] == b"\0" * 512:
            end -= 512
        self.parts.append(data[:end])

    def close(self):
        with open(self.path, "wb") as f:
            f.write(b"".join(self.parts) + b"\0" * 1024)


def text(n, seed):
    words = [b"kairos", b"image", b"layer", b"squashfs", b"node", b"block", b"\n"]
    r = random.Random(seed)
    return b" ".join(r.choice(words) for _ in range(n // 6))[:n]


os.makedirs(OUT, exist_ok=True)
l1 = Layer(os.path.join(OUT, "layer1.tar"))
for d in ("etc", "usr", "usr/bin", "usr/share", "usr/share/doc", "var", "var/lib", "opt", "boot"):
    l1.dir(d, mtime=1600000000 + len(d))
# many small files, names in an order tar and the tree do not share
names = [f"usr/share/doc/f{rng.randrange(10**6):06d}" for _ in range(400)]
for i, n in enumerate(dict.fromkeys(names)):
    l1.file(n, text(rng.randrange(1, 9000), i), uid=rng.choice([0, 1000, 33, 65534]),
            gid=rng.choice([0, 100, 33, 4]), mtime=rng.randrange(0, 2**32 - 1))
blob = bytes(rng.randrange(256) for _ in range(300000))
l1.file("usr/bin/tool", blob, mode=0o755)
l1.file("usr/bin/tool-copy", blob, mode=0o755)                   # whole duplicate
l1.file("usr/bin/tool-head", blob[:131072 * 2 + 500])             # shares blocks, own tail
l1.file("usr/bin/tail-dup", blob[-700:])                         # a tail again
l1.file("boot/vmlinuz", blob[:50000] * 3)
l1.file("boot/initrd", text(70000, 99))
l1.file("var/lib/hidden", bytes(rng.randrange(256) for _ in range(200000)))
l1.link("var/lib/keeper", "var/lib/hidden", hard=True)            # kept by this name
l1.link("var/lib/keeper2", "var/lib/hidden", hard=True)
l1.link("usr/bin/sh", "tool")
cap = {"security.capability": "\x01\x00\x00\x02\x00\x30\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
       "user.a": "1", "user.b": "2"}
for i in range(30):
    l1.file(f"opt/x{i:02d}", b"x" * i, xattrs=cap if i % 3 else {"user.only": str(i)})
l1.file("etc/caf\u00e9", b"utf-8 name\n")
l1.file("etc/\u65e5\u672c", b"utf-8 name\n", xattrs={"user.n\u00e9": "v\u00e9"})
l1.file("etc/to-go", b"bye\n")
l1.dir("etc/opaque")
for i in range(5):
    l1.file(f"etc/opaque/old{i}", b"old %d\n" % i)
l1.add(l1.info("dev", tarfile.DIRTYPE, 0o755))
l1.add(l1.info("dev/null", tarfile.CHRTYPE, 0o666, devmajor=1, devminor=3))
l1.add(l1.info("dev/sda", tarfile.BLKTYPE, 0o660, devmajor=8, devminor=0))
l1.add(l1.info("dev/big", tarfile.CHRTYPE, 0o600, devmajor=300, devminor=70000))
l1.add(l1.info("var/fifo", tarfile.FIFOTYPE, 0o644))
l1.close()

l2 = Layer(os.path.join(OUT, "layer2.tar"))
l2.dir("var/lib")
l2.file("var/lib/.wh.hidden", b"")        # the pre-scan hides it; keeper keeps it
l2.file("etc/.wh.to-go", b"")
l2.dir("etc/opaque")
l2.file("etc/opaque/.wh..wh..opq", b"")
l2.file("etc/opaque/new", b"new\n")
l2.file("usr/share/doc/" + names[0].rsplit("/", 1)[1], b"replaced\n", mtime=1)
for i in range(100):
    l2.file(f"usr/share/more/m{(i * 37) % 100:03d}", text(500 + i, 1000 + i))
# a GNU name in no encoding (raw bytes): how a locale would read it must not matter
l2.add(l2.info("etc/raw-\udcff\udcfe", tarfile.REGTYPE), b"raw\n", fmt=tarfile.GNU_FORMAT)
l2.close()

l3 = Layer(os.path.join(OUT, "layer3.tar"))
l3.raw(sparse_tar.pax_sparse("var/sparse", 5 * 1024 * 1024))
l3.file("etc/os-release", b"ID=repro\nVERSION=1\n")
l3.close()
