#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reset from recovery with the reference Debian OS (scripts/mk-os-image) in
QEMU (TCG), driven over the serial console with tests/e2e/harness.py. One
disk, ten boots:

  host: v1 installed; v3 (its init fails) upgraded in from the host, with one
        try; passive v1's image deleted and the slot marked bad; a marker file
        on COS_PERSISTENT
  1  v3 fails (kernel panic)
  2  recovery by fallback; automation off: it declines and says why;
     a reset killed at a fault point (power cut)
  3  recovery boots again; a manual reset --reboot completes
  4  healed active v1, confirmed; persistent data kept; reset refused here;
     recovery=auto written to kairos.conf on COS_OEM; mark-bad
  5  recovery by fallback: automated reset, reboot by itself
  6  healed active, confirmed; the loop guard's count cleared
  host: the count set to one below the bound, one try, active marked bad
  7  recovery: automated reset (the last the guard allows), reboot
  8  healed active, cut while it boots (it "fails again")
  9  recovery by fallback: the loop guard stops; status says so;
     reset --wipe-persistent --reboot by hand
  10 healed active, confirmed; persistent data gone
Prints TAP with each boot's time."""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import TOP, Node, Timeout, finish, push_reference_os, start_registry, summary, tap  # noqa: E402

K = os.path.join(TOP, "build", "kairos-upgrade")
PROMPT = r"root@kairos:~# "


class Partition:
    """A partition of the (powered-off) disk image, loop-mounted on the host."""

    def __init__(self, disk, label, work):
        with open(disk + ".parts") as f:
            parts = {line.split()[0]: line.split()[1:] for line in f if line.strip()}
        self.offset, self.size = parts[label]
        self.disk = disk
        self.dir = os.path.join(work, "mnt-" + label)

    def __enter__(self):
        os.makedirs(self.dir, exist_ok=True)
        subprocess.run(["mount", "-o", f"loop,offset={self.offset},sizelimit={self.size}", self.disk, self.dir],
                       check=True)
        return self.dir

    def __exit__(self, *exc):
        subprocess.run(["umount", self.dir], check=True)


def editenv(path, *assignments):
    subprocess.run(["grub-editenv", path, "set", *assignments], check=True)


def wait_unit(node, unit, timeout=240):
    st, _ = node.run(f"timeout {timeout} sh -c 'until systemctl is-active -q {unit}; do sleep 2; done'",
                     timeout + 30)
    return st == 0


def timed(secs):
    return f"{secs:.0f} s"


def main():
    work = tempfile.mkdtemp(prefix="kairos-recovery.", dir=os.environ.get("E2E_DIR", "/tmp"))
    registry = None
    node = None
    t0 = time.monotonic()
    try:
        t = time.monotonic()
        registry, port = start_registry(work)
        layout = push_reference_os(work, port, tags=("v1",))
        tap(True, f"reference OS built and v1 pushed ({time.monotonic() - t:.0f} s, cached by recipe)")
        disk = os.path.join(work, "disk.img")
        r = subprocess.run(["scripts/kairos-install", "--source", f"oci:127.0.0.1:{port}/os:v1", "--insecure",
                            "--disk", disk, "--size", "3G"], cwd=TOP, capture_output=True, text=True)
        tap(r.returncode == 0, "kairos-install v1", r.stderr)

        # Both slots broken: v3 (whose init fails) as the new active with a
        # single try, and the v1 passive marked bad.
        with Partition(disk, "COS_STATE", work) as state:
            r = subprocess.run([K, "upgrade", "--source", f"oci-layout:{layout}:v3", "--state-dir", state,
                                "--boot-record", "/nonexistent", "--progress=none"], capture_output=True, text=True)
            env = subprocess.run(["grub-editenv", f"{state}/state.env", "list"], capture_output=True,
                                 text=True).stdout
            v1 = dict(line.split("=", 1) for line in env.splitlines() if "=" in line).get("kairos_passive", "")
            # A broken passive: its image is gone (so the reset must copy
            # the recovery image over, not find it on COS_STATE).
            for ext in (".squashfs", ".json"):
                if v1:
                    os.unlink(f"{state}/images/{v1}{ext}")
            editenv(f"{state}/state.env", "kairos_tries_max=1", "kairos_passive_status=bad",
                    "kairos_passive_reason=image deleted by the test")
        with Partition(disk, "COS_PERSISTENT", work) as persistent:
            with open(f"{persistent}/recovery-test-marker", "w") as f:
                f.write("kept\n")
        tap(r.returncode == 0 and bool(v1), "host: v3 upgraded in as active with one try; passive v1's image deleted, "
            "marked bad", r.stderr)

        node = Node(disk, work)
        t = node.start()
        try:
            node.vm.expect(r"Kernel panic|broken on purpose", 300)
            node.vm.wait_exit(120)
            v3_failed = True
        except EOFError:
            v3_failed = True  # it rebooted (QEMU ended) before printing the panic in full
        except Timeout:
            v3_failed = False
        node.close()
        tap(v3_failed, f"boot 1: v3 fails and the node reboots ({timed(time.monotonic() - t)})")

        # ---- automation off: stays in recovery -------------------------------
        secs = node.boot()
        done = wait_unit(node, "kairos-recovery")
        s = node.status() or {}
        rec = s.get("recovery") or {}
        auto = rec.get("automation") or {}
        ok = done and s.get("booted", {}).get("slot") == "recovery" and rec.get("reached_by") == "fallback" \
            and auto.get("action") == "declined" and "automated recovery is off" in auto.get("why", "")
        tap(ok, f"boot 2: recovery by fallback ({timed(secs)}); kairos.recovery unset: the automation declines "
                "and status says why", json.dumps(s))
        st, out = node.run("kairos-upgrade status")
        tap("reached by fallback" in out and "Automation: declined" in out, "status (text) shows both", out)

        st, out = node.run("KAIROS_FAULT_KILL_AT=7 kairos-upgrade reset; echo rc=$?", 300)
        tap("rc=137" in out, "a reset killed at its 7th fault point (the image is copied, its metadata not yet)",
            out)
        node.vm.power_cut()
        node.close()

        secs = node.boot()
        s = node.status() or {}
        tap(s.get("booted", {}).get("slot") == "recovery" and s.get("next_boot", {}).get("slot") == "recovery",
            f"boot 3: after the cut, recovery boots again ({timed(secs)})", json.dumps(s))
        t = time.monotonic()
        node.vm.send("kairos-upgrade reset --reboot")
        node.until_off(600)
        node.close()
        tap(True, f"a second reset completes and reboots ({timed(time.monotonic() - t)})")

        secs = node.boot()
        confirmed = node.wait_confirmed()
        s = node.status() or {}
        a = (s.get("slots") or {}).get("active") or {}
        ok = confirmed and s.get("booted", {}).get("slot") == "active" and a.get("status") == "good" \
            and (s.get("slots") or {}).get("passive") is None and node.version() == "1"
        tap(ok, f"boot 4: the healed active v1 boots ({timed(secs)}) and is confirmed; passive empty", json.dumps(s))
        st, out = node.run("cat /run/kairos/rw/persistent/recovery-test-marker")
        tap("kept" in out, "persistent data survives a reset without --wipe-persistent", out)
        st, out = node.run("kairos-upgrade reset")
        tap(st != 0 and "only when booted from recovery" in out, "reset is refused outside recovery, with why", out)

        # ---- automation on: heals by itself --------------------------------------
        node.run("echo e2e > /home/e2e-data")
        st, out = node.run("mount /dev/disk/by-label/COS_OEM /mnt && echo recovery=auto > /mnt/kairos.conf "
                           "&& umount /mnt && kairos-upgrade mark-bad")
        tap(st == 0, "recovery=auto in kairos.conf on COS_OEM; active marked bad (passive is empty)", out)
        node.vm.send("systemctl reboot")
        node.until_off(300)
        node.close()

        t = node.start()
        try:
            node.vm.expect(r"Automated recovery: recovery reached by fallback[^\n]*automated reset 1 of at most 2", 400)
            node.vm.wait_exit(300)
            healed = True
        except (EOFError, Timeout) as e:
            healed, err = False, e
        node.close()
        tap(healed, f"boot 5: recovery by fallback resets by itself and reboots ({timed(time.monotonic() - t)})",
            "" if healed else str(err))

        secs = node.boot()
        confirmed = node.wait_confirmed()
        s = node.status() or {}
        ok = confirmed and s.get("booted", {}).get("slot") == "active" and node.version() == "1" \
            and s["slots"]["active"]["status"] == "good" and s.get("recovery", {}).get("auto_resets") == 0
        tap(ok, f"boot 6: the healed active boots ({timed(secs)}), is confirmed, and the loop guard's count is "
                "cleared", json.dumps(s))
        st, out = node.run("cat /home/e2e-data")
        tap("e2e" in out, "persistent data survives the automated reset", out)
        node.vm.send("systemctl poweroff")
        node.until_off(300)
        node.close()

        # ---- the loop guard ----------------------------------------------------
        with Partition(disk, "COS_STATE", work) as state:
            editenv(f"{state}/state.env", "kairos_auto_resets=1", "kairos_active_status=bad")
        t = node.start()
        try:
            node.vm.expect(r"automated reset 2 of at most 2", 400)
            node.vm.wait_exit(300)
            second = True
        except (EOFError, Timeout):
            second = False
        node.close()
        tap(second, f"boot 7: one automated reset before the bound (host set the count to 1), reboot "
                    f"({timed(time.monotonic() - t)})")

        t = node.start()
        try:
            node.vm.expect(r"kairos: booting active", 300)
            cut = True
        except (EOFError, Timeout):
            cut = False
        node.vm.power_cut()
        node.close()
        tap(cut, f"boot 8: the healed active spends its only try and is cut while booting (fails again) "
                 f"({timed(time.monotonic() - t)})")

        t = node.start()
        try:
            node.vm.expect(r"loop guard: 2 automated resets", 400)
            node.vm.expect(PROMPT, 300)
            node.vm.send("stty cols 500; export TERM=dumb PAGER=cat SYSTEMD_COLORS=0")
            node.vm.expect(PROMPT, 30)
            guarded = True
        except (EOFError, Timeout):
            guarded = False
        s = node.status() if guarded else {}
        s = s or {}
        rec = s.get("recovery") or {}
        ok = guarded and s.get("booted", {}).get("slot") == "recovery" and rec.get("auto_resets") == 2 \
            and (rec.get("automation") or {}).get("action") == "declined"
        tap(ok, f"boot 9: back in recovery, the loop guard stops after 2 automated resets, on the console and in "
                f"status ({timed(time.monotonic() - t)})", json.dumps(s))

        t = time.monotonic()
        node.vm.send("kairos-upgrade reset --wipe-persistent --reboot")
        node.until_off(600)
        node.close()
        tap(True, f"reset --wipe-persistent --reboot by hand ({timed(time.monotonic() - t)})")
        secs = node.boot()
        confirmed = node.wait_confirmed()
        s = node.status() or {}
        ok = confirmed and s.get("booted", {}).get("slot") == "active" and s["slots"]["active"]["status"] == "good" \
            and s.get("recovery", {}).get("auto_resets") == 0
        tap(ok, f"boot 10: the healed active boots ({timed(secs)}) and is confirmed", json.dumps(s))
        st, out = node.run("ls /home/e2e-data /run/kairos/rw/persistent/recovery-test-marker 2>&1 | "
                           "grep -c 'No such file'")
        tap(out.strip().splitlines()[-1:] == ["2"] if out.strip() else False,
            "persistent data is gone after --wipe-persistent", out)
        node.close()
    except Exception as e:  # noqa: BLE001 - report, do not crash the suite
        tap(False, f"recovery suite stopped: {type(e).__name__}: {e}")
    finally:
        finish(work, node, registry)
    print(f"# recovery suite: {time.monotonic() - t0:.0f} s in all")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
