#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The live ISO end to end: kairos-build-iso refuses bad input cleanly, then
makes a hybrid ISO of the reference OS v1 (scripts/mk-os-image, from its OCI
layout); QEMU (TCG) boots it from an IDE CD-ROM through SeaBIOS and GRUB
into the live system (kairos.live=), which installs the image it carries
onto an empty virtio disk with kairos-install --image; the disk, booted
alone, comes up as v1 active and confirms itself. Last, the same ISO boots
live through OVMF (UEFI). Prints TAP."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import TOP, Node, summary, tap  # noqa: E402
from vm import VM  # noqa: E402

BUILD_ISO = os.path.join(TOP, "scripts", "kairos-build-iso")
PROMPT = r"root@kairos:~# "
# Under TCG on two shared cores: a dracut + systemd boot takes 1-3 minutes.
BOOT_TIMEOUT = 600
INSTALL_TIMEOUT = 1500


def build_iso(*args):
    return subprocess.run([BUILD_ISO, *args], cwd=TOP, capture_output=True, text=True, timeout=900)


def leftovers(d):
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def bad_input(work, layout):
    # Through the kairos-upgrade verb, which runs the script.
    r = subprocess.run([os.path.join(TOP, "build", "kairos-upgrade"), "build-iso", "--source", f"oci-layout:{layout}:v1"],
                       cwd=work, capture_output=True, text=True, timeout=60)
    tap(r.returncode == 2 and "--output FILE.iso is missing" in r.stderr and leftovers(work) == ["layout"],
        "kairos-upgrade build-iso without --output: usage error naming it", r.stderr)

    out = os.path.join(work, "bad")
    os.makedirs(out)
    r = build_iso("--source", f"oci-layout:{work}/no-such-layout:v1", "--output", f"{out}/x.iso")
    tap(r.returncode == 1 and "could not pull" in r.stderr and not leftovers(out),
        "build-iso from a source that does not exist: clear error, nothing left behind",
        f"{r.stderr}\nleft: {leftovers(out)}")

    ro = os.path.join(work, "ro")
    os.makedirs(ro)
    if os.getuid() != 0:
        tap(True, "build-iso into a read-only folder # SKIP needs root (a read-only tmpfs)")
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro], check=True)
    try:
        r = build_iso("--source", f"oci-layout:{layout}:v1", "--output", f"{ro}/x.iso")
        tap(r.returncode == 1 and "cannot write to" in r.stderr and not leftovers(ro),
            "build-iso into a read-only folder: clear error before pulling, nothing left", r.stderr)
    finally:
        subprocess.run(["umount", ro], check=False)


def live_shell(vm):
    """Wait for the live system's root shell; returns the seconds it took."""
    vm.expect(PROMPT, BOOT_TIMEOUT)
    secs = time.monotonic() - vm.started
    vm.send("stty cols 500; export TERM=dumb PAGER=cat SYSTEMD_COLORS=0")
    vm.expect(PROMPT, 30)
    return secs


def boot_record(vm):
    st, out = vm.run("cat /run/kairos/boot.json", 30)
    try:
        return json.loads(out[out.index("{"):out.rindex("}") + 1]) if st == 0 else None
    except ValueError:
        return None


def main():
    work = tempfile.mkdtemp(prefix="iso-work-", dir=os.environ.get("ISO_DIR", "/tmp"))
    vm = node = None
    try:
        layout = os.path.join(work, "layout")
        t = time.monotonic()
        subprocess.run(["scripts/mk-os-image", layout], cwd=TOP, check=True)
        tap(True, f"reference OS layout v1 ({time.monotonic() - t:.0f} s, cached by recipe)")

        bad_input(work, layout)

        iso = os.path.join(work, "live.iso")
        t = time.monotonic()
        r = build_iso("--source", f"oci-layout:{layout}:v1", "--output", iso)
        m = re.search(r"image (sha256:[0-9a-f]{64})", r.stderr)
        tap(r.returncode == 0 and m and os.path.isfile(iso) and leftovers(work).count("live.iso") == 1
            and not [f for f in leftovers(work) if f.startswith(".kairos-build-iso")],
            f"kairos-build-iso v1 ({time.monotonic() - t:.0f} s, {os.path.getsize(iso) >> 20 if os.path.exists(iso) else 0} MiB)",
            r.stderr)
        if r.returncode != 0 or not m:
            return summary()
        image_id = m.group(1).split(":", 1)[1]
        toc = subprocess.run(["xorriso", "-indev", iso, "-toc"], capture_output=True, text=True).stdout
        label = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", iso], capture_output=True, text=True).stdout
        tap("eltorito.img" in toc and "platform_id=0xEF" in toc and label.strip() == "KAIROS_LIVE",
            "the ISO is hybrid: El Torito BIOS and UEFI boot images, label KAIROS_LIVE", toc + label)

        # BIOS: the ISO on an IDE CD-ROM, an empty virtio disk beside it.
        disk = os.path.join(work, "disk.img")
        with open(disk, "wb") as f:
            f.truncate(2 << 30)
        vm = VM(disk, os.path.join(work, "live-bios.log"), memory=2560, cdrom=iso)
        secs = live_shell(vm)
        rec = boot_record(vm)
        tap(rec and rec["slot"] == "live" and rec["image"] == image_id and rec["persistent"]["status"] == "not-used",
            f"BIOS: the ISO boots live through GRUB, dracut and kairos-boot into systemd ({secs:.0f} s)",
            json.dumps(rec))
        st, out = vm.run("kairos-upgrade status --json", 60)
        try:
            status = json.loads(out[out.index("{"):out.rindex("}") + 1]) if st == 0 else None
        except ValueError:
            status = None
        tap(status and status["booted"]["slot"] == "live" and status["slots"] is None,
            "live: kairos-upgrade status --json says live, nothing installed", out)
        st, out = vm.run("findmnt -n -o FSTYPE,OPTIONS /run/kairos/live; touch /etc/live-probe && echo WRITABLE; "
                         "systemctl show -p ConditionResult --value kairos-mark-good", 60)
        tap(st == 0 and out.lstrip().startswith("iso9660 ro") and "WRITABLE" in out and out.rstrip().endswith("no"),
            "live: the ISO mounted read-only, a writable overlay, nothing to confirm", out)

        t = time.monotonic()
        st, out = vm.run("kairos-install --image /run/kairos/live/kairos/os.squashfs --disk /dev/vda --yes 2>&1",
                         INSTALL_TIMEOUT)
        tap(st == 0 and "installed" in out,
            f"live: kairos-install --image onto the empty /dev/vda, no network ({time.monotonic() - t:.0f} s)", out)
        vm.send("poweroff")
        vm.wait_exit(300)
        vm.close()
        vm = None

        node = Node(disk, work)
        secs = node.boot(timeout=BOOT_TIMEOUT)
        t = time.monotonic()
        confirmed = node.wait_confirmed()
        s = node.status()
        booted = (s or {}).get("booted") or {}
        ok = confirmed and s and booted.get("slot") == "active" and booted.get("image") == image_id \
            and s["slots"]["active"]["status"] == "good" and s["slots"]["recovery"]["image"] == image_id \
            and s["slots"]["active"]["source"] == f"oci-layout:{layout}:v1" and node.version() == "1"
        tap(ok, f"the installed disk boots alone through GRUB: v1 active ({secs:.0f} s), "
                f"confirmed by kairos-mark-good ({time.monotonic() - t:.0f} s later)", json.dumps(s))
        node.close()
        node = None

        # UEFI: the same ISO through OVMF, to the live shell.
        empty = os.path.join(work, "empty.img")
        with open(empty, "wb") as f:
            f.truncate(64 << 20)
        vm = VM(empty, os.path.join(work, "live-uefi.log"), firmware="uefi", memory=1536, cdrom=iso)
        secs = live_shell(vm)
        rec = boot_record(vm)
        st, out = vm.run("test -d /sys/firmware/efi && echo UEFI", 30)
        tap(rec and rec["slot"] == "live" and "UEFI" in out,
            f"UEFI: the ISO boots live through OVMF and GRUB ({secs:.0f} s)", json.dumps(rec) + out)
        vm.close()
        vm = None
    except Exception as e:  # noqa: BLE001 - report, do not crash the suite
        tap(False, f"iso stopped: {type(e).__name__}: {e}")
    finally:
        for v in (vm, node):
            if v:
                v.close()
        if not os.environ.get("KEEP_WORK"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# work kept in {work}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
