# SPDX-License-Identifier: Apache-2.0
"""Drive a QEMU guest over its serial console, expect-style.

One VM object is one QEMU process (TCG only: see shared/BOOT-TESTS.md). With
-no-reboot a guest reboot ends the process, so a test sees every boot as a
new VM on the same disk, and a power cut is kill -9 of QEMU.
"""
import os
import re
import select
import signal
import subprocess
import time

OVMF = "/usr/share/ovmf/OVMF.fd"


class Timeout(Exception):
    pass


class VM:
    def __init__(self, disk, log_path, firmware="bios", memory=1024, extra=(), cdrom=None):
        self.log = open(log_path, "ab")
        self.buffer = b""
        args = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(memory), "-smp", "2",
                "-no-reboot", "-display", "none", "-monitor", "none", "-serial", "stdio",
                "-drive", f"file={disk},if=virtio,format=raw",
                "-nic", "user,model=virtio-net-pci"]
        if firmware == "uefi":
            args += ["-bios", OVMF]
        if cdrom:
            # An IDE CD-ROM (ata_piix, sr_mod in the guest), booted first by
            # SeaBIOS and OVMF alike (bootindex; OVMF ignores -boot d).
            args += ["-drive", f"file={cdrom},media=cdrom,if=none,id=cd0,readonly=on",
                     "-device", "ide-cd,drive=cd0,bootindex=0"]
        args += list(extra)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        os.set_blocking(self.proc.stdout.fileno(), False)

    def _read(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return False
        data = self.proc.stdout.read()
        if not data:
            return None  # QEMU ended
        self.log.write(data)
        self.log.flush()
        self.buffer += data
        return True

    def expect(self, pattern, timeout):
        """Wait until pattern (a regex over the console text since the last
        match) appears; returns the match. Raises Timeout, or EOFError when
        the guest powered off or rebooted first."""
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self.buffer)
            if m:
                self.buffer = self.buffer[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"no /{regex.pattern.decode()}/ within {timeout}s")
            if self._read(min(left, 1.0)) is None:
                raise EOFError(f"QEMU ended before /{regex.pattern.decode()}/")

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def run(self, command, timeout=120):
        """Run a shell command in the guest's root shell; returns (status, output)."""
        marker = f"KAIROS-E2E-{time.monotonic_ns()}"
        self.send(f"{command}; echo {marker}-$?-END")
        m = self.expect(rf"{marker}-(\d+)-END\r?\n", timeout)
        text = self.buffer_before(m, f"{marker}-$?-END")
        return int(m.group(1)), text

    @staticmethod
    def buffer_before(match, echo):
        # The command's output is what the console printed between the
        # shell's echo of the command (which carries the marker with a
        # literal $?) and the marker. Cutting at the first newline instead
        # kept the echo whenever a kernel or systemd message reached the
        # console first.
        whole = match.string[:match.start()].decode(errors="replace")
        at = whole.rfind(echo)
        if at >= 0:
            nl = whole.find("\n", at)
            return whole[nl + 1:] if nl >= 0 else ""
        return whole.split("\n", 1)[1] if "\n" in whole else whole

    def wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise Timeout(f"QEMU still running after {timeout}s")
            self._read(0.5)
        return time.monotonic() - self.started

    def power_cut(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.power_cut()
        self.log.close()
