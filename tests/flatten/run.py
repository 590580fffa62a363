#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check-flatten: build multi-layer OCI images with umoci from layer tars made
here, flatten them with our builder (build-from-tars) and with `umoci unpack`,
and compare the two trees entry by entry: names, types, modes, owners, link
targets, device numbers, xattrs, contents, hard link groups. Also: layers
that must be refused leave no output file. Prints TAP."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sparse_tar  # noqa: E402
import xxh32  # noqa: E402

BUILDER = os.path.abspath(sys.argv[1])
KAIROS_UPGRADE = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
WORK = tempfile.mkdtemp(prefix="check-flatten-")
results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}")
    if not ok and detail:
        for line in str(detail).splitlines()[:40]:
            print(f"#   {line}")
    sys.stdout.flush()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------- layer tars
class Layer:
    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name, type_, mode, uid=0, gid=0, mtime=1700000000, **kw):
        ti = tarfile.TarInfo(name)
        ti.type = type_
        ti.mode = mode
        ti.uid, ti.gid, ti.mtime = uid, gid, mtime
        ti.uname = ti.gname = ""
        for k, v in kw.items():
            setattr(ti, k, v)
        return ti

    def dir(self, name, mode=0o755, **kw):
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode, **kw))

    def file(self, name, data=b"", mode=0o644, xattrs=None, **kw):
        ti = self._info(name, tarfile.REGTYPE, mode, **kw)
        ti.size = len(data)
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape")
                              if isinstance(v, bytes) else v for k, v in xattrs.items()}
        self.tar.addfile(ti, io.BytesIO(data))

    def symlink(self, name, target, **kw):
        self.tar.addfile(self._info(name, tarfile.SYMTYPE, 0o777, linkname=target, **kw))

    def hardlink(self, name, target, **kw):
        self.tar.addfile(self._info(name, tarfile.LNKTYPE, 0o644, linkname=target, **kw))

    def dev(self, name, char, major, minor, mode=0o660):
        self.tar.addfile(self._info(name, tarfile.CHRTYPE if char else tarfile.BLKTYPE, mode,
                                    devmajor=major, devminor=minor))

    def fifo(self, name, mode=0o644):
        self.tar.addfile(self._info(name, tarfile.FIFOTYPE, mode))

    def whiteout(self, name):
        d, b = os.path.split(name)
        self.file(os.path.join(d, ".wh." + b))

    def opaque(self, dirname):
        self.file(os.path.join(dirname, ".wh..wh..opq"))

    def bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def write_layer(path, data, compression):
    if compression == "gzip":
        data = gzip.compress(data, 6)
    elif compression == "zstd":
        data = subprocess.run(["zstd", "-q", "-c", "-3"], input=data, capture_output=True,
                              check=True).stdout
    with open(path, "wb") as f:
        f.write(data)


def rnd(n, seed):
    out = bytearray()
    h = hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])


CAP = b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
LONG = "d" * 120 + "/" + "f" * 200


def rich_layers():
    """Three layers exercising every rule we implement."""
    l1 = Layer()
    for d in ["etc", "usr", "usr/bin", "a", "a/b", "gone", "gone/sub", "opq", "recreate",
              "replaced_by_file", "samelayer", "d" * 120]:
        l1.dir(d)
    l1.file("etc/hostname", b"base\n")
    l1.file("etc/shadow", b"secret\n", mode=0o640, uid=0, gid=42)
    l1.file("a/b/c", b"c\n")
    l1.file("a/b/keep", b"keep\n")
    l1.file("gone/sub/x", rnd(50000, "x"))
    l1.file("gone/y", b"y")
    l1.file("opq/old1", b"1")
    l1.dir("opq/olddir")
    l1.file("opq/olddir/f", b"f")
    l1.file("recreate/old", b"old")
    l1.file("replaced_by_dir", b"i become a dir")
    l1.file("replaced_by_file/child", b"child")
    l1.file("usr/bin/su", rnd(20000, "su"), mode=0o4755)
    l1.file("usr/bin/sgid", b"#!/bin/sh\n", mode=0o2755, uid=12345, gid=54321)
    l1.file("usr/bin/ping", rnd(9000, "ping"), mode=0o755, xattrs={"security.capability": CAP})
    l1.file("usr/bin/user-xattr", b"u", xattrs={"user.comment": "hello"})
    l1.file("nobody", b"n", uid=65534, gid=65534, mode=0o600)
    l1.dir("sticky", mode=0o1777)
    l1.file("hl_target", rnd(7000, "hl"))
    l1.hardlink("hl_link", "hl_target")
    l1.file("bind_src", rnd(3000, "bind"))
    l1.symlink("usr/link", "../etc/hostname")
    l1.symlink("dangling", "/nowhere/at/all")
    l1.dev("null", True, 1, 3, 0o666)
    l1.dev("sda", False, 8, 0)
    l1.dev("bigdev", True, 300, 70000)
    l1.fifo("fifo")
    l1.file(LONG, b"long name")
    l1.file("empty", b"")
    l1.file("big", rnd(1000000, "big"))
    l1.file("samelayer/f", b"same")
    l1.symlink("longlink", "/" + "t" * 150 + "/" + "u" * 150)
    l1.hardlink("h" * 180, "hl_target")
    l1.file("big-ids", b"ids", uid=3000000, gid=4000000)
    l1.file("\u00fcn\u00efc\u00f8d\u00e9 name", b"utf-8")
    # over 256 entries and over one metadata block: several directory
    # headers and an extended directory inode with an index
    l1.dir("many")
    for i in range(700):
        l1.file(f"many/entry-with-a-longish-name-{i:05d}", str(i).encode())
    l1.dir("many/sub")

    l2 = Layer()
    l2.whiteout("gone")
    l2.whiteout("a/b/c")
    l2.dir("opq")
    l2.file("opq/new_before_marker", b"nb")
    l2.opaque("opq")
    l2.file("opq/new_after_marker", b"na")
    l2.whiteout("recreate")
    l2.dir("replaced_by_dir")
    l2.file("replaced_by_dir/inside", b"inside")
    l2.file("replaced_by_file", b"now a file")
    l2.hardlink("bind_link", "bind_src")
    l2.file("etc/hostname", b"upper\n")
    l2.dir("usr", mode=0o700, uid=7, gid=8)
    l2.whiteout("big")
    # entries of the same layer survive their whiteout
    l2.file("samelayer/g", b"g")
    l2.whiteout("samelayer/g")
    l2.symlink("a/b/keep", "c")  # file -> symlink
    l2.file("dup", b"first")
    l2.file("dup", b"second")  # last wins
    l2.file(".wh..wh.plnk/123.456", b"aufs")  # AUFS metadata: ignored

    l3 = Layer()
    l3.dir("recreate", mode=0o750)
    l3.file("recreate/new", b"new")
    l3.whiteout("bind_src")  # bind_link must keep the old inode
    l3.file("hl_target", b"replaced")  # hl_link keeps the old content
    l3.dir("opq/olddir2")
    return [l1.bytes(), l2.bytes(), l3.bytes()]


def gnu_tar_layers():
    """GNU tar's own output: PAX 1.0 sparse files (umoci cannot read the old GNU
    sparse type) (holes must read back as zeros)
    and a deep tree, as `tar --sparse` writes them."""
    src = os.path.join(WORK, "gnu-src")
    os.makedirs(os.path.join(src, "deep/a/b/c"))
    with open(os.path.join(src, "sparse"), "wb") as f:
        f.truncate(5 << 20)
        f.seek(2 << 20)
        f.write(rnd(70000, "sparse"))
    with open(os.path.join(src, "deep/a/b/c/file"), "wb") as f:
        f.write(rnd(1234, "deep"))
    data = subprocess.run(["tar", "--sparse", "--format=posix", "--sparse-version=1.0", "-C", src, "-cf", "-", "."],
                          capture_output=True, check=True).stdout
    return [data]


def sparse_bomb_layers():
    """An 8 GiB sparse file (1 byte of data: past the budget's 1 GiB floor,
    within any filesystem's file size limit) as GNU tar --sparse writes it in
    each of its formats, and a hand-made pax 1.0 one declaring 1 EiB."""
    src = os.path.join(WORK, "bomb-src")
    os.makedirs(src)
    with open(os.path.join(src, "big"), "wb") as f:
        f.truncate(8 << 30)
        f.seek(4 << 30)
        f.write(b"x")
    out = {}
    for fmt in (["--format=gnu"], ["--format=posix", "--sparse-version=0.0"],
                ["--format=posix", "--sparse-version=0.1"], ["--format=posix", "--sparse-version=1.0"]):
        out[" ".join(fmt)] = subprocess.run(["tar", "--sparse"] + fmt + ["-C", src, "-cf", "-", "big"],
                                            capture_output=True, check=True).stdout
    out["hand-made pax 1.0, 1 EiB"] = sparse_tar.pax_sparse("big", 1 << 60)
    return out


def revive_layers():
    """A big file shadowed above but kept alive by a hard link (pre-scan
    skips its data, the builder has to fetch it again)."""
    l1 = Layer()
    l1.file("rv", rnd(400000, "rv"))
    l1.hardlink("rv_link", "rv")
    l1.file("dead", rnd(400000, "dead"))
    l2 = Layer()
    l2.whiteout("rv")
    l2.whiteout("dead")
    return [l1.bytes(), l2.bytes()]


def dedupe_layers():
    """Identical contents (within a layer, across layers, through a GNU sparse
    layer) next to near misses. Returns the layers, the groups of paths that
    must share their data and the pairs that must not."""
    big, two_blocks, small = rnd(1000000, "dd-big"), rnd(262144, "dd-two"), rnd(5000, "dd-small")
    holes = bytes(300000) + rnd(70000, "dd-holes") + bytes(200000)
    collide_a = rnd(6000, "dd-collide")
    l1 = Layer()
    for d in ["dup", "near", "pre", "hl", "del", "col", "sp"]:
        l1.dir(d)
    l1.file("dup/big1", big)
    l1.file("dup/big2", big, mode=0o755, uid=5)  # other metadata, same data
    l1.file("dup/two1", two_blocks)  # a whole number of blocks: no fragment
    l1.file("dup/two2", two_blocks)
    l1.file("dup/small1", small)  # only a fragment
    l1.file("dup/small2", small)
    l1.file("dup/empty1", b"")
    l1.file("dup/empty2", b"")
    l1.file("near/a", big[:300000])  # same blocks, tails differ in the last byte
    l1.file("near/b", big[:299999] + bytes([big[299999] ^ 1]))
    l1.file("near/c", small[:4999] + bytes([small[4999] ^ 1]))
    l1.file("pre/full", big[:400000])
    l1.file("pre/blocks", big[:262144])  # a prefix of whole blocks
    l1.file("pre/tail", big[:300000 - 1])  # a prefix with its own tail
    l1.file("sp/zeros1", holes)  # zero blocks are stored as holes
    l1.file("sp/zeros2", holes)
    l1.file("hl/h1", rnd(200000, "dd-hl"))
    l1.hardlink("hl/h2", "hl/h1")
    l1.file("hl/copy", rnd(200000, "dd-hl"))
    l1.file("del/gone", rnd(700000, "dd-del"))
    # two tails of the same size and xxh32: the fragment of the first is
    # written out (over a block of other tails in between) before the second
    l1.file("col/a", collide_a)
    for i in range(30):
        l1.file(f"col/fill{i:02d}", rnd(6000, f"dd-fill{i}"))
    l1.file("col/b", xxh32.collide(collide_a))
    l2 = Layer()
    l2.file("dup/big3", big)
    l2.whiteout("del/gone")
    l2.file("del/kept", rnd(700000, "dd-del"))
    src = os.path.join(WORK, "dedupe-sparse-src")
    os.makedirs(src)
    for n in ("s1", "s2"):
        with open(os.path.join(src, n), "wb") as f:
            f.truncate(3 << 20)
            f.seek(1 << 20)
            f.write(rnd(150000, "dd-sparse"))
    l3 = subprocess.run(["tar", "--sparse", "--format=posix", "--sparse-version=1.0", "-C", src, "-cf", "-", "."],
                        capture_output=True, check=True).stdout
    shared = [["dup/big1", "dup/big2", "dup/big3"], ["dup/two1", "dup/two2"], ["dup/small1", "dup/small2"],
              ["sp/zeros1", "sp/zeros2"], ["hl/h1", "hl/copy"], ["s1", "s2"]]
    apart = [("near/a", "near/b"), ("dup/small1", "near/c"), ("col/a", "col/b"), ("pre/full", "pre/tail")]
    # what must be stored: each content once, tails that differ on their own
    stored = [big, two_blocks, small, big[262144:300000], big[262144:299999] + bytes([big[299999] ^ 1]),
              small[:4999], big[393216:400000], big[262144:299999], rnd(70000, "dd-holes"), rnd(200000, "dd-hl"),
              rnd(700000, "dd-del"), collide_a, collide_a, rnd(150000, "dd-sparse")]
    stored += [rnd(6000, f"dd-fill{i}") for i in range(30)]
    return [l1.bytes(), l2.bytes(), l3], shared, apart, sum(len(d) for d in stored)


def squashfs_bytes_used(image):
    """The squashfs superblock's bytes_used: where the filesystem ends (the
    padding and the dm-verity tree follow it)."""
    with open(image, "rb") as f:
        sb = f.read(96)
    return int.from_bytes(sb[40:48], "little")


def data_location(image, path, keys=("Blocks start", "Fragment index", "Fragment offset")):
    """Where a file's data is: its blocks' start and its fragment."""
    out = run(["rdsquashfs", "-s", "/" + path, image]).stdout
    found = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return tuple(found.get(k) for k in keys)


def test_dedupe():
    layers, shared, apart, distinct_bytes = dedupe_layers()
    for extra in ([], ["--no-prescan"]):
        name = "dedupe" + "".join(extra)
        test_against_umoci(name, layers, ["gzip", None, None], extra)
        image = os.path.join(WORK, name + "-ours", "out.sqfs")
        if not os.path.exists(image):
            continue
        bad = [g for g in shared if len({data_location(image, p) for p in g}) != 1]
        bad += [p for p in apart if data_location(image, p[0]) == data_location(image, p[1])]
        # libsquashfs shares any earlier run of identical blocks: a prefix too
        if data_location(image, "pre/full", ["Blocks start"]) != data_location(image, "pre/blocks", ["Blocks start"]):
            bad.append("pre/blocks does not share the blocks of pre/full")
        tap(not bad, f"{name}: identical contents share their data, near misses do not", bad)
        # random data does not compress: every extra copy would show (the
        # squashfs part: the verity tree after it grows with it)
        size = squashfs_bytes_used(image)
        tap(size < distinct_bytes + 96 * 1024, f"{name}: each content stored once",
            f"{size} bytes for {distinct_bytes} distinct bytes")
    # the same image whatever the thread count
    images = []
    for threads in ("1", "2", "3"):
        r, image = build_ours(f"dedupe-threads{threads}", layers, ["gzip", None, None], ["--threads", threads])
        # the squashfs part: the verity tree after it is salted with the layer
        # names, here each build's own paths (verity pull: the same root hash)
        images.append(open(image, "rb").read()[:squashfs_bytes_used(image)] if r.returncode == 0 else r.stderr)
    tap(images[0] == images[1] == images[2], "dedupe: byte-identical images with 1, 2 and 3 threads")


def test_small_files_in_tree_order():
    """Files under a block are packed into fragments in tree order, whatever
    the tar order (as mksquashfs packs them); a deleted one is never written."""
    l1 = Layer()
    names = [f"d{i % 7}/f{i:03d}" for i in range(300)]
    for d in sorted({n.split("/")[0] for n in names}):
        l1.dir(d)
    for n in reversed(names):
        l1.file(n, rnd(3000, n))
    l1.file("gone", rnd(5000, "gone"))
    l2 = Layer()
    l2.whiteout("gone")
    test_against_umoci("small-files", [l1.bytes(), l2.bytes()], [None], ["--no-prescan"],
                       check_stats=lambda s: (int(s["skipped_bytes"]) == 5000 and int(s["wasted_bytes"]) == 0,
                                              "a deleted small file is not written"))
    image = os.path.join(WORK, "small-files-ours", "out.sqfs")
    if os.path.exists(image):
        locs = [data_location(image, n, ["Fragment index", "Fragment offset"]) for n in sorted(names)]
        locs = [(int(i, 16), int(o)) for i, o in locs]
        tap(locs == sorted(locs), "small-files: fragments in tree order", locs[:5])


# ---------------------------------------------------------------- references
def umoci_unpack(name, layer_bytes):
    d = os.path.join(WORK, name)
    os.makedirs(d)
    lay = os.path.join(d, "img")
    run(["umoci", "init", "--layout", lay], check=True)
    run(["umoci", "new", "--image", lay + ":t"], check=True)
    for i, data in enumerate(layer_bytes):
        p = os.path.join(d, f"raw{i}.tar")
        write_layer(p, data, None)
        r = run(["umoci", "raw", "add-layer", "--image", lay + ":t", p])
        if r.returncode:
            raise RuntimeError("umoci raw add-layer: " + r.stderr)
    bundle = os.path.join(d, "bundle")
    r = run(["umoci", "unpack", "--image", lay + ":t", bundle])
    if r.returncode:
        raise RuntimeError("umoci unpack: " + r.stderr)
    return os.path.join(bundle, "rootfs")


def build_ours(name, layer_bytes, compressions, extra=()):
    d = os.path.join(WORK, name + "-ours")
    os.makedirs(d, exist_ok=True)
    args = [BUILDER, "--stats", "--output", os.path.join(d, "out.sqfs")] + list(extra)
    for i, data in enumerate(layer_bytes):
        comp = compressions[i % len(compressions)]
        p = os.path.join(d, f"layer{i}.tar" + {None: "", "gzip": ".gz", "zstd": ".zst"}[comp])
        write_layer(p, data, comp)
        args += ["--layer", p]
    try:
        r = run(args, timeout=120)  # a guard against a hang, not a bound that matters
    except subprocess.TimeoutExpired:
        r = subprocess.CompletedProcess(args, -1, "", "timed out after 120 s")
    return r, os.path.join(d, "out.sqfs")


class Mounted:
    def __init__(self, image):
        self.image = image
        self.dir = tempfile.mkdtemp(prefix="mnt-", dir=WORK)
        self.mounted = False

    def __enter__(self):
        r = run(["mount", "-o", "loop,ro", "-t", "squashfs", self.image, self.dir])
        if r.returncode == 0:
            self.mounted = True
        else:  # no loop devices here: extract instead (as root it keeps owners and xattrs)
            os.rmdir(self.dir)
            run(["unsquashfs", "-q", "-d", self.dir, self.image], check=True)
        return self.dir

    def __exit__(self, *a):
        if self.mounted:
            run(["umount", self.dir])


SQUASHFS_XATTR_PREFIXES = ("user.", "trusted.", "security.")


def describe(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            e = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
            if not os.path.isdir(p) or os.path.islink(p):
                e["mtime"] = int(st.st_mtime)
            else:
                e["nlink"] = st.st_nlink
            try:
                xs = {k: os.getxattr(p, k, follow_symlinks=False)
                      for k in os.listxattr(p, follow_symlinks=False)
                      if k.startswith(SQUASHFS_XATTR_PREFIXES)}
            except OSError:
                xs = {}
            if xs:
                e["xattrs"] = xs
            import stat as S
            if S.S_ISLNK(st.st_mode):
                e["target"] = os.readlink(p)
            elif S.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    e["sha256"] = hashlib.sha256(f.read()).hexdigest()
                e["nlink"] = st.st_nlink
                e["ino"] = st.st_ino
            elif S.S_ISCHR(st.st_mode) or S.S_ISBLK(st.st_mode):
                e["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            out[rel] = e
    # hard link groups, independent of inode numbers
    groups = {}
    for rel, e in out.items():
        if "ino" in e:
            groups.setdefault(e.pop("ino"), []).append(rel)
    for members in groups.values():
        for rel in members:
            out[rel]["links"] = sorted(members)
    return out


def compare(ref, ours):
    diffs = []
    for k in sorted(set(ref) | set(ours)):
        if k not in ours:
            diffs.append(f"missing in ours: {k}")
        elif k not in ref:
            diffs.append(f"extra in ours: {k}")
        elif ref[k] != ours[k]:
            diffs.append(f"{k}: umoci {ref[k]} ours {ours[k]}")
    return diffs


def parse_stats(stdout):
    return dict(kv.split("=") for kv in stdout.split())


# ---------------------------------------------------------------- tests
def test_against_umoci(name, layer_bytes, compressions, extra=(), check_stats=None):
    try:
        ref = describe(umoci_unpack(name, layer_bytes))
    except Exception as e:  # noqa: BLE001
        tap(False, f"{name}: umoci reference", e)
        return
    r, image = build_ours(name, layer_bytes, compressions, extra)
    if r.returncode:
        tap(False, f"{name}: build", r.stderr)
        return
    with Mounted(image) as mnt:
        ours = describe(mnt)
    # umoci keeps AUFS metadata (.wh..wh.plnk/...) as content; the spec says to ignore it
    ref = {k: v for k, v in ref.items() if not k.startswith(".wh..wh.")}
    diffs = compare(ref, ours)
    tap(not diffs, f"{name}: same tree as umoci unpack ({len(ref)} entries)", "\n".join(diffs))
    fsck = run(["rdsquashfs", "-l", "/", image])
    tap(fsck.returncode == 0, f"{name}: rdsquashfs reads it", fsck.stderr)
    if check_stats:
        stats = parse_stats(r.stdout)
        ok, why = check_stats(stats)
        tap(ok, f"{name}: stats {why}", r.stdout)


def test_rejected(name, layer_bytes, compression=None, expect=""):
    r, image = build_ours(name, layer_bytes, [compression])
    leftovers = [f for f in os.listdir(os.path.dirname(image)) if f.startswith(".tmp-")]
    ok = (r.returncode != 0 and not os.path.exists(image) and not leftovers
          and expect in r.stderr)
    tap(ok, f"rejects {name}: no output, message names it",
        f"rc={r.returncode} exists={os.path.exists(image)} leftovers={leftovers}\n{r.stderr}")


# ---------------------------------------------------------------- dm-verity
VERITYSETUP = shutil.which("veritysetup")


def verify_ours(image, *args):
    """kairos-upgrade verify --json on one image: (exit status, its entry)."""
    r = run([KAIROS_UPGRADE, "verify", "--json", "--image", image] + list(args))
    try:
        return r.returncode, json.loads(r.stdout)["images"][0], r.stderr
    except (ValueError, KeyError, IndexError):
        return r.returncode, {}, r.stdout + r.stderr


def sb_uuid(image, hash_offset):
    with open(image, "rb") as f:
        f.seek(hash_offset + 16)
        u = f.read(16).hex()
    return f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"


def flip(src, dst, offset):
    data = bytearray(open(src, "rb").read())
    data[offset] ^= 0x5A
    open(dst, "wb").write(bytes(data))


def test_verity_ours(name, layer_bytes):
    """Our tree: what veritysetup verify accepts, byte for byte what
    veritysetup format writes for the same data, salt and UUID."""
    r, image = build_ours(name, layer_bytes, [None])
    if r.returncode:
        tap(False, f"verity {name}: build", r.stderr)
        return None
    st = parse_stats(r.stdout)
    off, blocks, root, salt = int(st["hash_offset"]), int(st["data_blocks"]), st["verity_root"], st["verity_salt"]
    tap(off == squashfs_bytes_used(image) + (-squashfs_bytes_used(image) % 4096) and off == blocks * 4096,
        f"verity {name}: the tree starts after the squashfs, padded to 4096 ({blocks} data blocks)", st)
    rc, entry, err = verify_ours(image, "--root-hash", root, "--hash-offset", str(off))
    tap(rc == 0 and entry.get("result") == "ok", f"verity {name}: our verify accepts our tree", err)
    if not VERITYSETUP:
        tap(True, f"verity {name}: veritysetup interop # SKIP no veritysetup (cryptsetup-bin)")
        return image, st
    v = run([VERITYSETUP, "verify", f"--hash-offset={off}", image, image, root])
    tap(v.returncode == 0, f"verity {name}: veritysetup verify accepts our tree", v.stderr)
    theirs = os.path.join(os.path.dirname(image), "theirs.img")
    with open(image, "rb") as f, open(theirs, "wb") as g:
        g.write(f.read(off))
    v = run([VERITYSETUP, "format", f"--hash-offset={off}", f"--salt={salt}", f"--uuid={sb_uuid(image, off)}",
             f"--data-blocks={blocks}", theirs, theirs])
    same = v.returncode == 0 and open(theirs, "rb").read() == open(image, "rb").read()
    tap(same and f"Root hash:      \t{root}" in v.stdout,
        f"verity {name}: byte-identical to veritysetup format (same salt and UUID), same root hash",
        v.stdout + v.stderr)
    return image, st


def test_verity():
    big = Layer()
    big.file("noise", rnd(3 * 1024 * 1024, "verity"))  # incompressible: ~770 data blocks, 2 levels
    for i in range(40):
        big.file(f"small{i}", rnd(5000, f"v{i}"))
    tiny = Layer()
    tiny.file("f", b"x")  # one data block: no tree levels, the root hashes the block itself
    test_verity_ours("tiny", [tiny.bytes()])
    got = test_verity_ours("big", [big.bytes()])
    if not got:
        return
    image, st = got
    off, blocks, root = int(st["hash_offset"]), int(st["data_blocks"]), st["verity_root"]
    d = os.path.dirname(image)
    # one flipped byte: in a data block, a tree block (level 0), the superblock
    sb_block = off // 4096
    cases = [("a data block", 100 * 4096 + 17, 100, "data"),
             ("a tree block", (sb_block + 1 + 1 + 2) * 4096 + 5, sb_block + 1 + 1 + 2, "tree"),
             ("the superblock", off + 8, sb_block, "superblock"),
             # without a record the salt is the superblock's (as veritysetup
             # reads it): every hash changes, the top block no longer matches
             ("the superblock's salt", off + 88, sb_block + 1, "tree")]
    for what, at, want_block, area in cases:
        bad = os.path.join(d, "flipped.img")
        flip(image, bad, at)
        rc, entry, err = verify_ours(bad, "--root-hash", root, "--hash-offset", str(off))
        ok = rc == 2 and entry.get("first_bad_block") == want_block and entry.get("bad_area") == area
        if VERITYSETUP:
            v = run([VERITYSETUP, "verify", f"--hash-offset={off}", bad, bad, root])
            ok = ok and v.returncode != 0
        tap(ok, f"verity: one byte flipped in {what}: verify names block {want_block} ({area}), exit 2"
            + (", veritysetup refuses it too" if VERITYSETUP else ""), f"rc={rc} {entry} {err}")
    # truncated: inside the tree, and before the superblock
    for what, keep in (("inside the tree", off + 3 * 4096), ("before the superblock", off - 4096)):
        bad = os.path.join(d, "short.img")
        with open(image, "rb") as f, open(bad, "wb") as g:
            g.write(f.read(keep))
        rc, entry, err = verify_ours(bad, "--root-hash", root, "--hash-offset", str(off))
        tap(rc == 2 and entry.get("first_bad_block") == keep // 4096 and "truncated" in err,
            f"verity: a file truncated {what}: verify says truncated, first bad block {keep // 4096}",
            f"rc={rc} {entry} {err}")
    # a wrong root hash: the top block does not match
    rc, entry, err = verify_ours(image, "--root-hash", "0" * 64, "--hash-offset", str(off))
    tap(rc == 2 and entry.get("bad_area") == "tree" and "root hash" in err,
        "verity: a root hash that is not the image's: refused at the top tree block", f"rc={rc} {entry} {err}")
    if VERITYSETUP:
        # veritysetup's trees (its own random salt) read by our verify, for the
        # level shapes: 1, 2, 128, 129 and 16385 data blocks
        for n in (1, 2, 128, 129, 16385):
            f = os.path.join(d, f"vs-{n}.img")
            with open(f, "wb") as g:
                g.write(rnd(n * 4096, f"vs{n}"))
            v = run([VERITYSETUP, "format", f"--hash-offset={n * 4096}", f, f])
            vroot = [ln.split()[-1] for ln in v.stdout.splitlines() if ln.startswith("Root hash")]
            rc, entry, err = verify_ours(f, "--root-hash", vroot[0] if vroot else "", "--hash-offset", str(n * 4096))
            ok = v.returncode == 0 and rc == 0 and entry.get("result") == "ok"
            if ok and n == 129:
                flip(f, f + ".bad", 77 * 4096)
                rc, entry, err = verify_ours(f + ".bad", "--root-hash", vroot[0], "--hash-offset", str(n * 4096))
                ok = rc == 2 and entry.get("first_bad_block") == 77
            tap(ok, f"verity: veritysetup format's tree over {n} blocks read by our verify (and a flipped "
                "data block found)" if n == 129 else f"verity: veritysetup format's tree over {n} blocks read "
                "by our verify", f"rc={rc} {entry} {err} {v.stderr}")
    test_verity_pull(big)


def test_verity_pull(layer):
    """pull writes the record into FILE.json; verify --image reads it; the
    same image pulled twice has the same root hash (the salt is the layers')."""
    try:
        umoci_unpack("verity-pull", [layer.bytes()])
    except Exception as e:  # noqa: BLE001
        tap(False, "verity pull: umoci layout", e)
        return
    src = "oci-layout:" + os.path.join(WORK, "verity-pull", "img") + ":t"
    records = []
    for i in range(2):
        out = os.path.join(WORK, "verity-pull", f"o{i}", "os.squashfs")
        os.makedirs(os.path.dirname(out))
        r = run([KAIROS_UPGRADE, "pull", "--source", src, "--output", out, "--progress=none"])
        try:
            records.append(json.load(open(out[:-len(".squashfs")] + ".json"))["verity"])
        except (OSError, ValueError, KeyError) as e:
            tap(False, "verity pull: os.json has a verity record", f"{e} {r.stderr}")
            return
    rec = records[0]
    keys = {"root_hash", "salt", "hash_offset", "data_blocks", "algorithm", "data_block_size", "hash_block_size"}
    tap(set(rec) == keys and rec["algorithm"] == "sha256" and rec["data_block_size"] == 4096
        and rec["hash_block_size"] == 4096 and len(rec["root_hash"]) == 64 and len(rec["salt"]) == 64
        and rec["hash_offset"] == rec["data_blocks"] * 4096,
        "verity pull: os.json's verity record (root_hash, salt, hash_offset, data_blocks, sha256, 4096, 4096)", rec)
    tap(records[0] == records[1], "verity pull: the same image pulled twice has the same root hash and salt",
        records)
    out = os.path.join(WORK, "verity-pull", "o0", "os.squashfs")
    rc, entry, err = verify_ours(out)
    tap(rc == 0 and entry.get("result") == "ok" and entry.get("root_hash") == rec["root_hash"],
        "verity pull: verify --image reads the record beside the image: OK", f"rc={rc} {entry} {err}")
    if VERITYSETUP:
        v = run([VERITYSETUP, "verify", f"--hash-offset={rec['hash_offset']}", out, out, rec["root_hash"]])
        tap(v.returncode == 0, "verity pull: veritysetup verify accepts the pulled image with its .json's root hash",
            v.stderr)
    # the record is trusted only as written: a bad one is an error (exit 1), not skipped
    meta = out[:-len(".squashfs")] + ".json"
    good = open(meta).read()
    for what, change in (("a root hash that is not hex", lambda m: m["verity"].update(root_hash="zz" * 32)),
                         ("an unknown member", lambda m: m["verity"].update(extra=1)),
                         ("a hash_offset not a multiple of 4096", lambda m: m["verity"].update(hash_offset=4095)),
                         ("data_blocks beyond the hash offset",
                          lambda m: m["verity"].update(data_blocks=m["verity"]["hash_offset"] // 4096 + 1)),
                         ("an odd-length salt", lambda m: m["verity"].update(salt="abc"))):
        m = json.loads(good)
        change(m)
        open(meta, "w").write(json.dumps(m))
        rc, entry, err = verify_ours(out)
        tap(rc == 1 and entry.get("result") == "error" and "invalid" in err,
            f"verity pull: a .json record with {what} is refused (exit 1)", f"rc={rc} {entry} {err}")
    # with the record, a superblock that differs from it is named as such
    open(meta, "w").write(good)
    orig = open(out, "rb").read()
    flip(out, out, rec["hash_offset"] + 88)
    rc, entry, err = verify_ours(out)
    tap(rc == 2 and entry.get("bad_area") == "superblock" and "record" in err,
        "verity pull: a superblock whose salt differs from the .json record: named, exit 2", f"rc={rc} {entry} {err}")
    open(out, "wb").write(orig)
    m = json.loads(good)
    del m["verity"]
    open(meta, "w").write(json.dumps(m))
    rc, entry, err = verify_ours(out)
    rc2, _, _ = verify_ours(out, "--require-verity")
    tap(rc == 0 and entry.get("result") == "no-record" and rc2 == 3,
        "verity pull: no record (installed before): reported, exit 0; with --require-verity exit 3",
        f"rc={rc} rc2={rc2} {entry} {err}")
    open(meta, "w").write(good)


def main():
    print("TAP version 13")
    layers = rich_layers()
    test_against_umoci("rich-tar", layers, [None])
    test_against_umoci("rich-gzip", layers, ["gzip"])
    test_against_umoci("rich-zstd", layers, ["zstd"])
    test_against_umoci("rich-mixed-noprescan", layers, ["gzip", None, "zstd"],
                       extra=["--no-prescan", "--compression", "xz"],
                       check_stats=lambda s: (int(s["wasted_bytes"]) >= 1000000,
                                              "count the shadowed bytes written"))
    test_against_umoci("rich-prescan", layers, ["gzip"],
                       check_stats=lambda s: (int(s["skipped_bytes"]) >= 1000000
                                              and int(s["wasted_bytes"]) < 100,
                                              "skip the data of whited-out files"))
    test_against_umoci("gnu-tar-sparse", gnu_tar_layers(), ["zstd"])
    # old GNU sparse entries (type 'S'), which umoci cannot read: compare with the source
    src = os.path.join(WORK, "gnu-src")
    data = subprocess.run(["tar", "--sparse", "--format=gnu", "-C", src, "-cf", "-", "."],
                          capture_output=True, check=True).stdout
    r, image = build_ours("gnu-old-sparse", [data], [None])
    if r.returncode == 0:
        with Mounted(image) as mnt:
            diffs = compare(describe(src), describe(mnt))
    else:
        diffs = [r.stderr]
    tap(not diffs, "gnu old sparse format: same as the source tree", "\n".join(diffs))
    # sparse files are charged their real size before the holes are written
    for fmt, data in sparse_bomb_layers().items():
        test_rejected(f"sparse bomb ({fmt})", [data], "gzip", expect="is a sparse file of")
    # a sparse map of 8 M empty extents (32 MiB, 32 KiB gzipped): libarchive
    # would hold ~400 MiB for it; refused once the headers pass 16 MiB
    test_rejected("sparse map of 8 M entries", [sparse_tar.pax_sparse_map("m", 8 << 20)], "gzip",
                  expect="take over 16777216 bytes")
    test_against_umoci("revive-hardlink", revive_layers(), ["gzip"],
                       check_stats=lambda s: (int(s["skipped_bytes"]) == 400000,
                                              "skip only what no name keeps alive"))

    test_dedupe()
    test_small_files_in_tree_order()
    if KAIROS_UPGRADE:
        test_verity()

    bad = Layer()
    bad.file("../evil", b"x")
    test_rejected("dotdot", [bad.bytes()], expect="../evil")
    bad = Layer()
    bad.file("/abs", b"x")
    test_rejected("absolute path", [bad.bytes()], expect="/abs")
    bad = Layer()
    bad.hardlink("escape", "../../etc/passwd")
    test_rejected("hardlink escaping the root", [bad.bytes()], "gzip", expect="escape")
    bad = Layer()
    bad.symlink("link", "/etc")
    bad.file("link/passwd", b"owned")
    test_rejected("entry through a symlink", [bad.bytes()], expect="link/passwd")
    bad = Layer()
    bad.file("x" * 256, b"x")
    test_rejected("name over 255 bytes", [bad.bytes()], expect="255")

    good = Layer()
    good.file("f", rnd(200000, "corrupt"))
    data = bytearray(gzip.compress(good.bytes()))
    data[len(data) // 2] ^= 0xFF
    d = os.path.join(WORK, "corrupt-ours")
    os.makedirs(d)
    p = os.path.join(d, "layer.tar.gz")
    with open(p, "wb") as f:
        f.write(data)
    r = run([BUILDER, "--output", os.path.join(d, "out.sqfs"), "--layer", p])
    left = [f for f in os.listdir(d) if f.startswith(".tmp-")]
    tap(r.returncode != 0 and not os.path.exists(os.path.join(d, "out.sqfs")) and not left,
        "rejects a corrupt gzip layer: no output", r.stderr)

    # a full disk: the error names the path and the bytes written, no temp file stays
    mnt = os.path.join(WORK, "small")
    os.makedirs(mnt)
    if run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt]).returncode == 0:
        try:
            big = Layer()
            big.file("noise", rnd(3000000, "noise"))
            p = os.path.join(WORK, "noise.tar")
            write_layer(p, big.bytes(), None)
            r = run([BUILDER, "--output", os.path.join(mnt, "out.sqfs"), "--layer", p])
            ok = (r.returncode != 0 and "Disk full" in r.stderr and "bytes written" in r.stderr
                  and os.listdir(mnt) == [])
            tap(ok, "disk full: clear error, nothing left behind", r.stderr + str(os.listdir(mnt)))
            small = Layer()
            for i in range(300):
                small.file(f"s{i:03d}", rnd(10000, f"small{i}"))
            p = os.path.join(WORK, "small-noise.tar")
            write_layer(p, small.bytes(), None)
            r = run([BUILDER, "--output", os.path.join(mnt, "out.sqfs"), "--layer", p])
            ok = (r.returncode != 0 and "Disk full" in r.stderr and "set aside" in r.stderr
                  and os.listdir(mnt) == [])
            tap(ok, "disk full with small files set aside: clear error, nothing left behind",
                r.stderr + str(os.listdir(mnt)))
        finally:
            run(["umount", mnt])
    else:
        print("ok - disk full # SKIP cannot mount tmpfs")

    shutil.rmtree(WORK, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
