#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check-verity-long (make check-long): the full corruption matrix of a dm-verity
tree our builder writes, where check-flatten keeps one case of each kind.

One image of three tree levels (over 128 * 128 data blocks) is built, then
one byte is flipped at a time, in place, and flipped back:
  - in every tree block (a used byte, and the zero tail of each level's last
    block);
  - in the superblock's every field;
  - in 200 data blocks spread at random (seeded), the first, the last and
    the last one's padding after the squashfs.
Each time `kairos-upgrade verify --image` must exit 2 naming that exact block
(for a salt byte: the top tree block, since every hash changes) and
`veritysetup verify` (cryptsetup-bin: the reference) must refuse it too; a
flip in a byte nothing reads (the superblock's UUID and padding) must be
accepted by both. Prints TAP."""
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile

BUILDER = os.path.abspath(sys.argv[1])
KAIROS_UPGRADE = os.path.abspath(sys.argv[2])
DATA_SAMPLES = int(os.environ.get("VERITY_MATRIX_SAMPLES", "200"))
VERITYSETUP = shutil.which("veritysetup")
WORK = tempfile.mkdtemp(prefix="check-verity-long-")
results = []
BLOCK = 4096


def tap(ok, name, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}")
    if not ok and detail:
        for line in str(detail).splitlines()[:20]:
            print(f"#   {line}")
    sys.stdout.flush()


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def build():
    """A layer of 66 MiB of seeded random data (stored as it is: 16,900
    data blocks, three tree levels) and a few small files."""
    rng = random.Random(17)
    layer = os.path.join(WORK, "layer.tar")
    with tarfile.open(layer, "w") as t:
        for name, size in (("noise", 66 * 1024 * 1024), ("small-a", 5000), ("small-b", 70000)):
            path = os.path.join(WORK, name)
            with open(path, "wb") as f:
                left = size
                while left:
                    n = min(left, 1 << 20)
                    f.write(rng.randbytes(n))
                    left -= n
            t.add(path, arcname=name)
            os.unlink(path)
    image = os.path.join(WORK, "image.squashfs")
    r = run([BUILDER, "--output", image, "--stats", "--layer", layer])
    os.unlink(layer)
    if r.returncode:
        tap(False, "build the image", r.stderr)
        sys.exit(1)
    st = dict(kv.split("=", 1) for kv in r.stdout.split())
    return image, int(st["hash_offset"]), int(st["data_blocks"]), st["verity_root"]


def levels(data_blocks):
    """The tree's levels as veritysetup lays them out after the superblock:
    the top level first. Returns [(first file block, blocks, used bytes of
    its last block)], top first."""
    sizes, n = [], data_blocks
    while n > 1:
        hashes = n
        n = (n * 32 + BLOCK - 1) // BLOCK
        sizes.append((n, (hashes * 32) % BLOCK or BLOCK))
    return list(reversed(sizes))


class Flipped:
    """One byte XOR 0x5A, in place, put back on leaving."""

    def __init__(self, path, offset):
        self.path, self.offset = path, offset

    def _xor(self):
        with open(self.path, "r+b") as f:
            f.seek(self.offset)
            b = f.read(1)[0]
            f.seek(self.offset)
            f.write(bytes([b ^ 0x5A]))

    def __enter__(self):
        self._xor()

    def __exit__(self, *exc):
        self._xor()


def check(image, off, root, at, what, want_block, want_area):
    with Flipped(image, at):
        r = run([KAIROS_UPGRADE, "verify", "--json", "--image", image, "--root-hash", root, "--hash-offset", str(off)])
        try:
            entry = json.loads(r.stdout)["images"][0]
        except (ValueError, KeyError, IndexError):
            entry = {}
        theirs = run([VERITYSETUP, "verify", f"--hash-offset={off}", image, image, root]) if VERITYSETUP else None
    if want_block is None:
        ok = r.returncode == 0 and (theirs is None or theirs.returncode == 0)
        tap(ok, f"{what} (byte {at}): nothing reads it, accepted by both", f"rc={r.returncode} {entry} {r.stderr}")
        return
    ok = r.returncode == 2 and entry.get("first_bad_block") == want_block and entry.get("bad_area") == want_area
    ok = ok and (theirs is None or theirs.returncode != 0)
    tap(ok, f"{what} (byte {at}): block {want_block} ({want_area}) named, exit 2"
        + (", veritysetup refuses it" if theirs else ""), f"rc={r.returncode} {entry} {r.stderr}")


def main():
    image, off, data_blocks, root = build()
    sb = off // BLOCK
    lv = levels(data_blocks)
    tap(len(lv) == 3, f"the image has three tree levels ({data_blocks} data blocks: {lv})")
    r = run([KAIROS_UPGRADE, "verify", "--image", image, "--root-hash", root, "--hash-offset", str(off)])
    tap(r.returncode == 0, "the image verifies before any flip", r.stderr)
    if VERITYSETUP is None:
        tap(True, "veritysetup interop # SKIP no veritysetup (cryptsetup-bin)")
    rng = random.Random(1717)
    # every tree block: a used byte; the zero tail of each level's last block
    block = sb + 1
    for depth, (n, last_used) in enumerate(lv):
        for k in range(n):
            used = last_used if k == n - 1 else BLOCK
            check(image, off, root, (block + k) * BLOCK + rng.randrange(used), f"tree level {depth} block {k}",
                  block + k, "tree")
        if last_used < BLOCK:
            check(image, off, root, (block + n - 1) * BLOCK + last_used + rng.randrange(BLOCK - last_used),
                  f"tree level {depth}: the zero tail of its last block", block + n - 1, "tree")
        block += n
    # the superblock: its fields (offsets of format 1)
    fields = [("signature", 0), ("version", 8), ("hash type", 12), ("algorithm", 32), ("data block size", 64),
              ("hash block size", 68), ("data blocks", 72)]
    for name, at in fields:
        check(image, off, root, off + at, f"superblock: {name}", sb, "superblock")
    # another salt size is another salt: every hash changes, as for a salt byte
    check(image, off, root, off + 80, "superblock: salt size", sb + 1, "tree")
    check(image, off, root, off + 88, "superblock: the salt's first byte", sb + 1, "tree")
    check(image, off, root, off + 88 + 31, "superblock: the salt's last byte", sb + 1, "tree")
    check(image, off, root, off + 20, "superblock: the UUID", None, None)
    # data blocks: first, last, the last one's padding, a seeded sample
    with open(image, "rb") as f:
        f.seek(40)
        bytes_used = int.from_bytes(f.read(8), "little")
    check(image, off, root, 0 + 5, "data block 0 (the squashfs superblock)", 0, "data")
    check(image, off, root, (data_blocks - 1) * BLOCK + 1, "the last data block", data_blocks - 1, "data")
    if bytes_used % BLOCK:
        check(image, off, root, bytes_used + (BLOCK - bytes_used % BLOCK) // 2,
              "the last data block's padding after the squashfs", data_blocks - 1, "data")
    for b in sorted(rng.sample(range(1, data_blocks - 1), min(DATA_SAMPLES, data_blocks - 2))):
        check(image, off, root, b * BLOCK + rng.randrange(BLOCK), f"data block {b}", b, "data")
    r = run([KAIROS_UPGRADE, "verify", "--image", image, "--root-hash", root, "--hash-offset", str(off)])
    tap(r.returncode == 0, "the image verifies again after every flip was put back", r.stderr)
    print(f"1..{len(results)}")
    shutil.rmtree(WORK, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
