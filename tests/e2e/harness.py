# SPDX-License-Identifier: Apache-2.0
"""What the VM suites share: TAP output, the local docker-registry, the
reference OS pushed to it, and a Node (one disk, booted once per VM)."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from vm import VM, Timeout  # noqa: E402,F401 - Timeout is re-exported for the suites

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
n = 0
failed = 0


def tap(ok, name, detail=""):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {name}", flush=True)
    if detail and not ok:
        for line in str(detail).splitlines()[-30:]:
            print(f"#   {line}")


def sh(*args, **kw):
    return subprocess.run(args, check=True, cwd=TOP, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_registry(work):
    port = free_port()
    cfg = os.path.join(work, "registry.yml")
    with open(cfg, "w") as f:
        f.write(f"version: 0.1\nlog: {{level: error, accesslog: {{disabled: true}}}}\n"
                f"storage:\n  filesystem: {{rootdirectory: {work}/storage}}\n  redirect: {{disable: true}}\n"
                f"http:\n  addr: 127.0.0.1:{port}\n  secret: test-only\n")
    proc = subprocess.Popen(["docker-registry", "serve", cfg], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/v2/"],
                          stdout=subprocess.DEVNULL).returncode == 0:
            return proc, port
        time.sleep(0.1)
    raise RuntimeError("registry did not start")


class Node:
    """The disk, booted once per VM: a reboot ends QEMU (-no-reboot)."""

    def __init__(self, disk, work):
        self.disk, self.work, self.boots = disk, work, 0
        self.vm = None

    def start(self):
        """Power the VM on without waiting for anything (a boot that is
        expected to reboot by itself, or to be cut)."""
        self.boots += 1
        self.vm = VM(self.disk, os.path.join(self.work, f"boot{self.boots}.log"), memory=1536)
        return time.monotonic()

    def boot(self, until=r"root@kairos:~# ", timeout=400):
        start = self.start()
        self.vm.expect(until, timeout)
        self.vm.send("stty cols 500; export TERM=dumb PAGER=cat SYSTEMD_COLORS=0")
        self.vm.expect(r"root@kairos:~# ", 30)
        return time.monotonic() - start

    def run(self, command, timeout=120):
        return self.vm.run(command, timeout)

    def status(self):
        st, out = self.run("kairos-upgrade status --json")
        return json.loads(out[out.index("{"):out.rindex("}") + 1]) if st == 0 else None

    def wait_confirmed(self, timeout=180):
        st, out = self.run(f"timeout {timeout} sh -c 'until systemctl is-active -q kairos-mark-good; do sleep 2; done'",
                           timeout + 30)
        return st == 0

    def version(self):
        st, out = self.run(". /etc/os-release; echo VERSION=$VERSION_ID")
        for line in out.splitlines():
            if line.startswith("VERSION="):
                return line.split("=", 1)[1].strip()
        return None

    def until_off(self, timeout=600):
        return self.vm.wait_exit(timeout)

    def close(self):
        if self.vm:
            self.vm.close()
            self.vm = None


# The dm-verity root hash each pushed tag's signature carries (issue 17).
signed_root_hashes = {}


def push_reference_os(work, port, tags=("v1", "v2", "v3"), signer="cosign_registry"):
    """Build (or take from the cache) the reference OS layout, push tags, and
    sign each with the layout's release key, as its publisher would: v2 and
    later refuse unsigned upgrades (their /etc/containers/policy.json). The
    payload names the repository as the VM sees it (10.0.2.2), as cosign's
    --sign-container-identity does for a mirror. The tests sign with
    tests/cosign/cosign_registry.py (Python cryptography: code we did not
    write); the demo with `kairos-upgrade sign` (signer="kairos-upgrade")."""
    layout = os.path.join(work, "layout")
    sh("scripts/mk-os-image", layout)
    key = os.path.join(layout, "keys", "release.pem")
    for tag in tags:
        push(layout, port, tag)
        if signer == "kairos-upgrade":
            sh("build/kairos-upgrade", "sign", "--insecure", "--key", key, "--identity", f"10.0.2.2:{port}/os",
               "--verity", "--progress=none", f"127.0.0.1:{port}/os:{tag}", env=dict(os.environ, COSIGN_PASSWORD=""),
               stderr=subprocess.DEVNULL)
        else:
            root_hash, build = verity_of(work, port, layout, tag)
            signed_root_hashes[tag] = root_hash
            sh("/usr/bin/python3", "tests/cosign/cosign_registry.py", "sign", f"os:{tag}", "--key", key,
               "--registry", f"127.0.0.1:{port}", "--identity", f"10.0.2.2:{port}/os",
               "-a", f"dev.kairos.verity.root_hash={root_hash}", "-a", f"dev.kairos.verity.build={build}",
               stdout=subprocess.DEVNULL)
    return layout


def verity_of(work, port, layout, tag):
    """The dm-verity root hash and build settings of os:TAG as a node builds
    it (a pull on the host: the VM runs the same Debian libraries), for the
    signature to carry (issue 17): the node in the VM refuses, before its
    commit, an upgrade whose build does not have it. Cached by what decides
    them, the tag's manifest and the builder (e2e, powercut and recovery push
    the same tags): a missing cache costs a build (~8 s a tag)."""
    with open(os.path.join(layout, "index.json")) as f:
        manifest = [m["digest"] for m in json.load(f)["manifests"]
                    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    with open("build/kairos-upgrade", "rb") as f:
        builder = hashlib.sha256(f.read()).hexdigest()
    key = hashlib.sha256(f"{builder} {manifest}".encode()).hexdigest()[:32]
    cache = os.path.join(os.environ.get("KAIROS_CACHE", "/var/cache/kairos"), "verity-of", key + ".json")
    try:
        with open(cache) as f:
            got = json.load(f)
        return got["root_hash"], got["build"]
    except (OSError, ValueError, KeyError):
        pass
    out = os.path.join(work, f"verity-{tag}.squashfs")
    sh("build/kairos-upgrade", "pull", "--insecure", "--progress=none", "--source", f"oci:127.0.0.1:{port}/os:{tag}",
       "--output", out, stderr=subprocess.DEVNULL)
    with open(out[:-len(".squashfs")] + ".json") as f:
        meta = json.load(f)
    for p in (out, out[:-len(".squashfs")] + ".json"):
        os.unlink(p)
    got = {"root_hash": meta["verity"]["root_hash"], "build": meta["build"]["settings"]}
    if manifest:
        try:
            os.makedirs(os.path.dirname(cache), exist_ok=True)
            with open(cache + ".tmp", "w") as f:
                json.dump(got, f)
            os.replace(cache + ".tmp", cache)
        except OSError:
            pass  # only time is lost
    return got["root_hash"], got["build"]


def push(layout, port, tag, to=None):
    """Push the layout's TAG to os:TO (default the same tag), unsigned."""
    sh("skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{layout}:{tag}",
       f"docker://127.0.0.1:{port}/os:{to or tag}")


def finish(work, node, registry):
    """A suite's teardown: power off, stop the registry, and remove the work
    folder unless KEEP_WORK asks to keep it (then say where it is)."""
    if node:
        node.close()
    if registry:
        registry.terminate()
        registry.wait()
    if not os.environ.get("KEEP_WORK"):
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"# work kept in {work}")


def summary():
    print(f"1..{n}")
    return 1 if failed else 0


def in_vm_upgrade(node, ref, extra="", timeout=900):
    """Run kairos-upgrade inside the VM with --reboot and wait for QEMU to end
    (-no-reboot turns the reboot into an exit); returns the seconds taken."""
    start = time.monotonic()
    node.vm.send(f"kairos-upgrade --source {ref} --insecure --progress=none {extra} --reboot")
    node.until_off(timeout)
    node.close()
    return time.monotonic() - start


def boot_until_prompt(node, attempts, timeout=400):
    """Boot up to `attempts` times, each until a shell prompt or a failure
    (the init dies and the kernel panics, or the guest reboots); returns the
    outcomes, 'prompt' or 'failed', stopping at the first prompt."""
    outcomes = []
    for _ in range(attempts):
        try:
            node.boot(timeout=timeout)
            outcomes.append("prompt")
            return outcomes
        except (EOFError, Timeout):
            outcomes.append("failed")
        node.close()
    return outcomes
