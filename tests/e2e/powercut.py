#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Power cuts in the VM, on the reference Debian OS.

An in-VM upgrade (v1 <-> v2 from the host's registry over 10.0.2.2) is cut
by kill -9 of QEMU at points spread over its length: during the download,
while the squashfs is written, around the commit and right after it (the
first, uncut upgrade measures that length). After each cut the disk must
boot the old image or the new one, `status --json` must agree with what
booted, and a following upgrade must succeed. Then cuts while GRUB writes
its counter (just after it prints its decision) and while the new image
confirms itself (mark-good at the end of boot).

POWERCUT_RUNS sets the number of upgrade cuts: 2 in make check (the middle
of the run and around the commit), 20 in make check-long. Cuts placed by
time cannot hit the short moment between the commit and the reboot, so
POWERCUT_AFTER_COMMIT more (2 in make check-long) cut the moment the
upgrade prints that the new image is active. Prints TAP.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (TOP, Node, Timeout, finish, in_vm_upgrade, push_reference_os,  # noqa: E402
                     start_registry, summary, tap)

RUNS = int(os.environ.get("POWERCUT_RUNS", "2"))
GRUB_CUTS = int(os.environ.get("POWERCUT_GRUB", "1"))
MARK_CUTS = int(os.environ.get("POWERCUT_MARK", "1"))
AFTER_COMMIT_CUTS = int(os.environ.get("POWERCUT_AFTER_COMMIT", "0"))


def fractions(runs):
    """Where to cut, as fractions of an upgrade's length: spread evenly from
    early in the download to well past the commit (under load an upgrade runs
    longer than the measured one)."""
    if runs <= 0:
        return []
    if runs == 2:
        return [0.5, 0.95]
    return [0.05 + i * 1.25 / (runs - 1) for i in range(runs)] if runs > 1 else [0.5]


class Checker:
    def __init__(self, node, port):
        self.node, self.port = node, port

    def ref(self, version):
        return f"oci:10.0.2.2:{self.port}/os:v{version}"

    def upgrade(self, version):
        """The upgrade command to release version. The matrix alternates
        v1 and v2, so going back to v1 is a deliberate downgrade."""
        back = " --allow-downgrade" if version == 1 else ""
        return f"kairos-upgrade --source {self.ref(version)} --insecure --progress=none{back}"

    def consistent(self, version):
        """status --json agrees with what booted: the booted slot's source is
        the release that /etc/os-release names, and nothing is damaged."""
        s = self.node.status()
        if not s:
            return False, "status --json failed"
        slot = s["booted"]["slot"]
        src = (s["slots"].get(slot) or {}).get("source") or ""
        ok = src.endswith(f"os:v{version}") and not s.get("counter_damaged")
        return ok, json.dumps(s)

    def boot_version(self):
        secs = self.node.boot()
        return self.node.version(), secs

    def boot_after_cut(self, target, outcomes):
        """Boot what the cut left, count it old or new (a new image must
        confirm itself), and check status: (version, status ok, detail)."""
        version, _ = self.boot_version()
        outcomes["new" if version == str(target) else "old"] += 1
        # The old image too: its healthy boot clears the count of boots
        # that did not come up (issue 17). Cut again before mark-good has
        # run (it waits for the next upgrade's lock), a second boot would
        # count as one that did not come up, and the third would pass it
        # over: the cost docs/DESIGN.md names, not what this suite measures.
        self.node.wait_confirmed()
        ok_state, detail = self.consistent(version)
        return version, ok_state, detail


def main():
    work = tempfile.mkdtemp(prefix="kairos-powercut.", dir=os.environ.get("E2E_DIR", "/tmp"))
    registry = node = None
    rng = random.Random(int(os.environ.get("POWERCUT_SEED", "1")))
    try:
        registry, port = start_registry(work)
        push_reference_os(work, port, tags=("v1", "v2"))
        disk = os.path.join(work, "disk.img")
        subprocess.run(["scripts/kairos-install", "--source", f"oci:127.0.0.1:{port}/os:v1", "--insecure",
                        "--disk", disk, "--size", "3G"], cwd=TOP, check=True, capture_output=True)
        node = Node(disk, work)
        c = Checker(node, port)
        node.boot()
        node.wait_confirmed()

        # The uncut upgrade: its length places the cuts.
        length = in_vm_upgrade(node, c.ref(2))
        version, _ = c.boot_version()
        node.wait_confirmed()
        tap(version == "2", f"uncut in-VM upgrade v1 -> v2 takes {length:.0f} s (the cuts are placed on it)")
        current = 2

        outcomes = {"old": 0, "new": 0}
        for i, frac in enumerate(fractions(RUNS), 1):
            target = 1 if current == 2 else 2
            at = max(1.0, frac * length)
            node.vm.send(f"{c.upgrade(target)} --reboot")
            try:
                node.vm.wait_exit(at)
                ended = "rebooted before the cut"
            except Timeout:
                ended = "cut"
            node.close()
            version, ok_state, detail = c.boot_after_cut(target, outcomes)
            ok_version = version in (str(current), str(target))
            landed = "new" if version == str(target) else "old"
            following = "not needed"
            if version == str(current):
                # The following upgrade must succeed (and clean what the cut left).
                st, out = node.run(c.upgrade(target), 900)
                following = "ok" if st == 0 else "FAILED"
                detail += "\n" + out
                node.vm.send("systemctl reboot")
                node.until_off(300)
                node.close()
                version, _ = c.boot_version()
                node.wait_confirmed()
                following += f", then booted v{version}"
            st, out = node.run("ls -a /run/kairos/state/images | grep -c tmp || true")
            no_temp = out.strip().splitlines()[-1:] == ["0"]
            current = int(version)
            tap(ok_version and ok_state and not following.startswith("FAILED") and no_temp,
                f"cut {i}/{RUNS} at {at:.0f} s ({frac:.0%} of an upgrade, {ended}): booted "
                f"{landed} image, status consistent, following upgrade "
                f"{following}", detail)
        print(f"# upgrade cuts: {outcomes['old']} kept the old image, {outcomes['new']} booted the new one")

        # Right after the commit: the upgrade says so, then cleans up and reboots.
        for i in range(AFTER_COMMIT_CUTS):
            target = 1 if current == 2 else 2
            node.vm.send(f"{c.upgrade(target)} --reboot")
            node.vm.expect(r"Active image is now", 900)
            node.close()
            version, ok_state, detail = c.boot_after_cut(target, outcomes)
            current = int(version)
            tap(version == str(target) and ok_state,
                f"cut {i + 1}/{AFTER_COMMIT_CUTS} the moment the upgrade says the new image is active: "
                f"booted v{version} (the committed one), status consistent", detail)
        if AFTER_COMMIT_CUTS:
            print(f"# with the cuts after the commit: {outcomes['old']} kept the old image, "
                  f"{outcomes['new']} booted the new one")

        # GRUB writes counter.env when it spends a try on a new active.
        for i in range(GRUB_CUTS):
            target = 1 if current == 2 else 2
            st, out = node.run(c.upgrade(target), 900)
            node.vm.send("systemctl reboot")
            node.until_off(300)
            node.close()
            node.start()
            node.vm.expect(r"kairos: decision: active", 300)
            time.sleep(rng.uniform(0.0, 1.5))
            node.close()
            version, _ = c.boot_version()
            ok_state, detail = c.consistent(version)
            s = node.status() or {}
            node.wait_confirmed()
            current = int(version)
            tap(version == str(target) and ok_state and not s.get("counter_damaged"),
                f"cut while GRUB writes its counter: the new v{target} still boots (a try spent at most), "
                f"counter intact", detail)

        # mark-good runs when the boot completes: cut as the prompt appears.
        for i in range(MARK_CUTS):
            target = 1 if current == 2 else 2
            node.run(c.upgrade(target), 900)
            node.vm.send("systemctl reboot")
            node.until_off(300)
            node.close()
            node.boot()
            node.close()  # the prompt and kairos-mark-good come together
            version, _ = c.boot_version()
            node.wait_confirmed()
            ok_state, detail = c.consistent(version)
            s = node.status() or {}
            good = s and s["slots"]["active"]["status"] == "good"
            tap(version == str(target) and ok_state and good,
                f"cut around mark-good: v{target} boots again and confirms itself", detail)
    except Exception as e:  # noqa: BLE001 - report, do not crash the suite
        tap(False, f"power-cut suite stopped: {type(e).__name__}: {e}")
    finally:
        finish(work, node, registry)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
