#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check-reuse: an image built from an installed image's layers (its layer
index and squashfs) plus the layers it lacks must be byte-identical to the
image built from all the layers, whatever the stack: every split of the
flatten suite's stacks (whiteouts and opaque directories hitting files of
the reused part, hard links across the boundary, xattrs, sparse files,
duplicates, revived files), reused images built with other settings, and a
damaged installed image or index (a full build then, said so). Prints TAP."""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDER = os.path.abspath(sys.argv[1])
WORK = tempfile.mkdtemp(prefix="check-reuse-")

# The flatten suite's layer makers and stacks (it reads sys.argv[1] too).
_spec = importlib.util.spec_from_file_location("flatten_suite", os.path.join(HERE, "..", "flatten", "run.py"))
flatten = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(flatten)
shutil.rmtree(flatten.WORK, ignore_errors=True)
flatten.WORK = WORK
Layer, rnd, write_layer = flatten.Layer, flatten.rnd, flatten.write_layer
tap, results = flatten.tap, flatten.results


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, -1, "", "timed out")


def stats(stdout):
    return dict(kv.split("=") for kv in stdout.split())


def layer_files(name, layers, compressions=("gzip",)):
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    paths = []
    for i, data in enumerate(layers):
        comp = compressions[i % len(compressions)]
        p = os.path.join(d, f"layer{i}.tar" + {None: "", "gzip": ".gz", "zstd": ".zst"}[comp])
        write_layer(p, data, comp)
        paths.append(p)
    return paths


def build(out, paths, extra=()):
    args = [BUILDER, "--stats", "--output", out, "--index", out + ".index"] + list(extra)
    for p in paths:
        args += ["--layer", p]
    return run(args)


def same(a, b):
    return subprocess.run(["cmp", "-s", a, b]).returncode == 0


def check_split(name, paths, k, extra=(), base_extra=(), expect_reused=None, expect_msg=None, damage=None):
    """Install the first k layers (with an index), then build all of them
    from it; compare with a build of all the layers."""
    d = os.path.join(WORK, f"{name}-k{k}")
    os.makedirs(d, exist_ok=True)
    full, base, reused = (os.path.join(d, f) for f in ("full.sqfs", "base.sqfs", "reused.sqfs"))
    r = build(full, paths, extra)
    rb = build(base, paths[:k], base_extra or extra)
    if r.returncode or rb.returncode:
        tap(False, f"{name}, {k} of {len(paths)} layers reused: builds", r.stderr + rb.stderr)
        return
    if damage:
        damage(base)
    rr = build(reused, paths, list(extra) + ["--reuse", base, "--reuse-index", base + ".index"])
    if rr.returncode:
        tap(False, f"{name}, {k} of {len(paths)} layers reused: build", rr.stderr)
        return
    s = stats(rr.stdout)
    want = k if expect_reused is None else expect_reused
    ok = (same(full, reused) and same(full + ".index", reused + ".index") and int(s["reused_layers"]) == want
          and (expect_msg is None or expect_msg in rr.stderr))
    what = f"{want} layers replayed" if want else "a full build"
    tap(ok, f"{name}, {k} of {len(paths)} layers installed: byte-identical to a full build ({what}, "
        f"{s['reused_blocks']} blocks as they were)",
        f"cmp image: {same(full, reused)}, cmp index: {same(full + '.index', reused + '.index')}, "
        f"stats: {rr.stdout}\n{rr.stderr}")


def boundary_layers():
    """What a Dockerfile's RUN lines do to the layers FROM below them."""
    big, small = rnd(700000, "b-big"), rnd(3000, "b-small")
    l0 = Layer()
    for dname in ("etc", "usr", "usr/bin", "usr/lib", "var", "opt", "opt/app", "dup", "x"):
        l0.dir(dname)
    l0.file("usr/bin/tool", big, mode=0o755)
    l0.hardlink("usr/bin/tool-alias", "usr/bin/tool")
    l0.file("usr/lib/libx.so", rnd(300000, "b-lib"), xattrs={"security.capability": flatten.CAP})
    l0.file("etc/conf", b"v1\n", xattrs={"user.note": b"old"})
    for i in range(200):
        l0.file(f"usr/lib/small{i:03d}", rnd(1000 + 37 * i, f"b-s{i}"))
    l0.file("opt/app/data", rnd(400000, "b-app"))
    l0.file("opt/app/keep", small)
    l0.file("dup/a", big)  # a duplicate of usr/bin/tool: shares its blocks
    l0.file("var/status", b"status 1\n" * 2000)
    l0.file("x/file", rnd(200000, "b-x"))
    l0.symlink("usr/bin/link", "tool")
    l0.dev("x/null", True, 1, 3)
    l0.fifo("x/fifo")
    l1 = Layer()  # a second layer of the release
    l1.file("var/status", b"status 2\n" * 2000)  # replaced (dpkg's status, every layer)
    l1.file("usr/bin/other", rnd(500000, "b-other"))
    l1.whiteout("usr/lib/small000")
    l2 = Layer()  # the derived image's RUN: hits the reused part
    l2.whiteout("usr/bin/tool")  # the data lives on through tool-alias (a hard link)
    l2.opaque("opt/app")  # an opaque directory over reused files
    l2.file("opt/app/new", rnd(250000, "b-new"))
    l2.hardlink("etc/conf-link", "etc/conf")  # a hard link to a reused file
    l2.file("etc/conf", b"v2\n", xattrs={"user.note": b"new"})  # then the file replaced
    l2.whiteout("dup/a")  # the first copy gone, the duplicate below it stays
    l2.file("dup/b", big)  # and a new copy of the same bytes
    l2.file("var/status", b"status 3\n" * 2000)
    l2.file("x/file", b"now small")  # big file replaced by a small one
    l2.dir("x/null")  # a device replaced by a directory
    for i in range(0, 200, 7):
        l2.file(f"usr/lib/small{i:03d}b", rnd(900 + i, f"b-n{i}"))  # small files between reused ones
    l2.whiteout("usr/lib/small150")
    l3 = Layer()
    l3.file("usr/lib/libx.so", rnd(300000, "b-lib"), xattrs={"user.changed": b"1"})  # same data, other xattrs
    l3.whiteout("x")
    return [l0.bytes(), l1.bytes(), l2.bytes(), l3.bytes()]


def flip_in_data(path):
    """Flip a byte in the first data block (after the superblock)."""
    with open(path, "r+b") as f:
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0xFF]))


def flip_in_index(path):
    with open(path + ".index", "r+b") as f:
        f.seek(20)
        b = f.read(1)
        f.seek(20)
        f.write(bytes([b[0] ^ 1]))


def main():
    print("TAP version 13")
    stacks = {
        "boundary": boundary_layers(),
        "rich": flatten.rich_layers(),
        "revive": flatten.revive_layers(),
        "dedupe": flatten.dedupe_layers()[0],
    }
    for name, layers in stacks.items():
        paths = layer_files(name, layers)
        for k in range(1, len(paths) + 1):
            if name == "rich" and k >= 2:
                # its second layer holds the same path twice: the first
                # one's data is written (a full build cannot tell) and the
                # installed image never held it
                check_split(name, paths, k, expect_reused=0, expect_msg="does not hold a file this image writes")
            else:
                check_split(name, paths, k)
    b = layer_files("boundary-mixed", stacks["boundary"], ("zstd", None, "gzip"))
    # upper layers too big to pre-scan: every file's data is written, also a
    # replaced one the installed image does not hold: then a full build
    check_split("boundary, no pre-scan", b, 2, extra=["--no-prescan"], expect_reused=0,
                expect_msg="does not hold a file this image writes")
    check_split("boundary, no pre-scan, nothing replaced below", b, 1, extra=["--no-prescan"])
    # the installed image built with other settings: its files compressed again
    check_split("boundary, installed with gzip:1", b, 2, base_extra=["--compression", "gzip:1"],
                expect_msg="built with other settings")
    check_split("boundary, installed with 1 thread, built with 2", b, 3, extra=["--threads", "2"],
                base_extra=["--threads", "1"])
    # damaged installed images and indexes: a full build, said so
    check_split("boundary, a damaged data block in the installed image", b, 2, damage=flip_in_data,
                expect_reused=0, expect_msg="does not read back as it was written")
    check_split("boundary, a damaged layer index", b, 2, damage=flip_in_index, expect_reused=0,
                expect_msg="is damaged (its sha256 does not match)")
    check_split("boundary, no layer index", b, 2, damage=lambda p: os.unlink(p + ".index"), expect_reused=0,
                expect_msg="has no layer index")
    # an image that does not begin with the installed one's layers
    other = layer_files("other", flatten.revive_layers())
    d = os.path.join(WORK, "not-prefix")
    os.makedirs(d)
    base = os.path.join(d, "base.sqfs")
    build(base, b[:2])
    r = build(os.path.join(d, "x.sqfs"), other, ["--reuse", base, "--reuse-index", base + ".index"])
    tap(r.returncode == 0 and stats(r.stdout)["reused_layers"] == "0" and "does not begin with" in r.stderr,
        "an image that does not begin with the installed image's layers: a full build, said so", r.stderr)

    shutil.rmtree(WORK, ignore_errors=True)
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
