#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Dockerfile promise, for real: examples/derived/Dockerfile (FROM the
reference OS, a package with apt-get, a changed file, an enabled unit) built
with buildah (daemonless, chroot isolation, vfs storage) from the image in
the local docker-registry and pushed there; the reference OS run as a
container (buildah run); the Kubernetes upgrade container
(examples/kubernetes/Dockerfile) built FROM it, and tests/k8s's entrypoint
cases run inside it against the same mocks; then one VM: v1 installed and booted, upgraded from
inside to the derived image over 10.0.2.2, rebooted: it confirms itself, the
package and the unit are there, persistent data is kept. What a user gets
wrong, on the host (no boot needed): a derived image whose Dockerfile removes
the kernel is refused before the commit, with why. With BROKEN_INIT=1 (make
check-derived-long: three failed boots more), one whose Dockerfile breaks
init falls back to the image before it by itself, status saying why. Prints
TAP.

buildah's storage and the built images are cached in
${KAIROS_CACHE:-/var/cache/kairos}/buildah/<base image digest>, tagged by
the hash of the Dockerfile's folder: a second run skips apt-get.
A missing cache only costs time."""
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import (TOP, Node, boot_until_prompt, finish, in_vm_upgrade, push_reference_os, start_registry,  # noqa: E402
                     summary, tap)

EXAMPLE = os.path.join(TOP, "examples", "derived")
CACHE = os.path.join(os.environ.get("KAIROS_CACHE", "/var/cache/kairos"), "buildah")
STORAGE = []  # set by use_storage()


def use_storage(base_digest):
    """buildah's storage for this base image: CACHE/<digest>. vfs copies
    every layer whole (about 2 GB here), so the storage of an older base
    (a rebuilt reference OS) is removed rather than kept beside it."""
    key = base_digest.split(":")[-1][:16]
    os.makedirs(CACHE, exist_ok=True)
    for old in os.listdir(CACHE):
        if old != key and not old.startswith("."):
            shutil.rmtree(os.path.join(CACHE, old), ignore_errors=True)
    STORAGE[:] = ["--root", os.path.join(CACHE, key, "storage"), "--runroot", os.path.join(CACHE, key, "run"),
                  "--storage-driver", "vfs"]


def buildah(*args, **kw):
    return subprocess.run(["buildah", *STORAGE, *args], capture_output=True, text=True, **kw)


def layout_digest(layout, tag):
    with open(os.path.join(layout, "index.json")) as f:
        for m in json.load(f)["manifests"]:
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
                return m["digest"]
    raise RuntimeError(f"no {tag} in {layout}")


def cached_build(name, context, key_material, build_args, dockerfile=None):
    """buildah bud of context, tagged localhost/NAME:KEY; skipped when the
    storage already holds that tag. Older tags of NAME are removed, so the
    cache holds one build per image. Returns (image, seconds, built)."""
    key = hashlib.sha256(key_material).hexdigest()[:16]
    image = f"localhost/{name}:{key}"
    if buildah("inspect", "--type", "image", image).returncode == 0:
        return image, 0.0, False
    t = time.monotonic()
    args = ["bud", "--isolation", "chroot", "--tls-verify=false", "--layers=false", "-t", image]
    for a in build_args:
        args += ["--build-arg", a]
    if dockerfile:
        args += ["-f", dockerfile]
    r = buildah(*args, context)
    if r.returncode != 0:
        raise RuntimeError(f"buildah bud {name} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    secs = time.monotonic() - t
    out = buildah("images", "--format", "{{.Name}}:{{.Tag}}", f"localhost/{name}").stdout.split()
    old = [i for i in out if i != image and i.startswith(f"localhost/{name}:")]
    if old:
        buildah("rmi", *old)
        buildah("rmi", "--prune")
    return image, secs, True


def example_material(base_digest):
    h = hashlib.sha256(base_digest.encode())
    for name in sorted(os.listdir(EXAMPLE)):
        with open(os.path.join(EXAMPLE, name), "rb") as f:
            h.update(name.encode() + b"\0" + f.read() + b"\0")
    return h.digest()


def refused_on_host(work, port):
    """The no-kernel image against an empty state directory: refused before
    the commit, the state as it was. Returns (ok, seconds, message)."""
    state = os.path.join(work, "state")
    os.makedirs(state)
    os.makedirs(os.path.join(work, "no-hooks"))
    subprocess.run(["grub-editenv", os.path.join(state, "state.env"), "create"], check=True)
    before = open(os.path.join(state, "state.env"), "rb").read()
    t = time.monotonic()
    r = subprocess.run([os.path.join(TOP, "build", "kairos-upgrade"), "upgrade", "--source",
                        f"oci:127.0.0.1:{port}/derived:nokernel", "--insecure", "--progress=none",
                        "--state-dir", state, "--boot-record", os.path.join(work, "no-boot.json"),
                        "--hooks-dir", os.path.join(work, "no-hooks")], capture_output=True, text=True)
    secs = time.monotonic() - t
    after = open(os.path.join(state, "state.env"), "rb").read()
    images = os.path.join(state, "images")
    left = os.listdir(images) if os.path.isdir(images) else []
    ok = r.returncode != 0 and "has no /boot/vmlinuz" in r.stderr and before == after and not left
    return ok, secs, (r.stdout + r.stderr).strip() + (f"\nleft behind: {left}" if left else "")


def k8s_container(base, base_digest):
    """examples/kubernetes/Dockerfile built FROM base (the reference OS: no
    Docker Hub here), then tests/k8s's entrypoint cases run inside it.
    Returns (ok, label, details) for each of its TAP lines."""
    context = os.path.join(TOP, "examples", "kubernetes")
    h = hashlib.sha256(base_digest.encode())
    for name in sorted(os.listdir(context)):
        with open(os.path.join(context, name), "rb") as f:
            h.update(name.encode() + b"\0" + f.read() + b"\0")
    t = time.monotonic()
    image, secs, built = cached_build("kairos-k8s-upgrade", context, h.digest(), [f"BASE={base}"])
    results = [(True, f"buildah bud examples/kubernetes FROM the reference OS "
                      f"({'built in %.0f s' % secs if built else 'cached'})", "")]
    r = subprocess.run(["tests/k8s/run"], cwd=TOP, capture_output=True, text=True,
                       env=dict(os.environ, K8S_IMAGE=image, K8S_BUILDAH=" ".join(["buildah", *STORAGE]),
                                KAIROS_UPGRADE=os.path.join(TOP, "build", "kairos-upgrade")))
    lines, passed = r.stdout.splitlines(), 0
    for i, line in enumerate(lines):
        if line.startswith("ok "):
            passed += 1
        elif line.startswith("not ok "):  # each failure on its own line, with its output
            details = list(itertools.takewhile(lambda more: more.startswith("#"), lines[i + 1:]))
            results.append((False, "in the upgrade container: " + line.split(" - ", 1)[-1], "\n".join(details)))
    results.append((r.returncode == 0 and passed >= 20,
                    f"the upgrade entrypoint inside the built container: {passed} of tests/k8s's cases pass "
                    f"(buildah run, {time.monotonic() - t:.0f} s)", r.stdout[-1500:] + r.stderr[-1500:]))
    return results


def readme_shows_example():
    """The README's Dockerfile section is the file this suite builds (from
    its ARG on: the header comment stays in the file)."""
    with open(os.path.join(TOP, "README.md")) as f:
        readme = f.read()
    with open(os.path.join(EXAMPLE, "Dockerfile")) as f:
        body = f.read()
    body = body[body.index("ARG BASE"):]
    return f"```Dockerfile\n{body}```" in readme


def main():
    work = tempfile.mkdtemp(prefix="kairos-derived.", dir=os.environ.get("E2E_DIR", "/tmp"))
    registry = None
    node = None
    times = {}
    try:
        tap(readme_shows_example(), "README's Dockerfile section is examples/derived/Dockerfile")
        t = time.monotonic()
        registry, port = start_registry(work)
        layout = push_reference_os(work, port, tags=("v1",))
        times["reference OS"] = time.monotonic() - t
        tap(True, f"reference OS v1 built and pushed ({times['reference OS']:.0f} s, cached by recipe)")

        os.makedirs(CACHE, exist_ok=True)
        lock = open(os.path.join(CACHE, ".lock"), "w")
        fcntl.flock(lock, fcntl.LOCK_EX)  # one buildah storage user at a time
        use_storage(layout_digest(layout, "v1"))

        # The OS image runs as a container, as the seeds show with docker run.
        t = time.monotonic()
        r = buildah("from", "-q", "--tls-verify=false", f"docker://127.0.0.1:{port}/os:v1")
        ctr = r.stdout.strip()
        out = ""
        if r.returncode == 0:
            out = buildah("run", "--isolation", "chroot", ctr, "--", "sh", "-c",
                          "cat /etc/os-release; echo BOOT:; ls /boot").stdout
            buildah("rm", ctr)
        boot = out.split("BOOT:", 1)[-1].split()
        tap('ID=kairos-demo' in out and "vmlinuz" in boot and "initrd" in boot,
            f"the reference OS runs as a container: buildah run cat /etc/os-release, ls /boot "
            f"({time.monotonic() - t:.0f} s): {' '.join(boot)}", out + r.stderr)

        base = f"127.0.0.1:{port}/os:v1"
        image, secs, built = cached_build("kairos-derived", EXAMPLE,
                                          example_material(layout_digest(layout, "v1")), [f"BASE={base}"])
        times["buildah bud"] = secs
        tap(True, f"buildah bud examples/derived ({'built in %.0f s' % secs if built else 'cached'})")
        # What a user gets wrong: a Dockerfile that removes the kernel.
        nokernel = os.path.join(work, "Dockerfile.nokernel")
        with open(nokernel, "w") as f:
            f.write(f"FROM {image}\nRUN rm -f /boot/vmlinuz*\n")
        bad, bad_secs, bad_built = cached_build("kairos-derived-nokernel", work,
                                                image.encode() + open(nokernel, "rb").read(), [], nokernel)
        times["buildah bud nokernel"] = bad_secs
        pushes = [(image, "v1"), (bad, "nokernel")]
        broken_init = os.environ.get("BROKEN_INIT") == "1"
        if broken_init:  # and one whose init exits at once
            noinit = os.path.join(work, "Dockerfile.noinit")
            with open(noinit, "w") as f:
                f.write(f"FROM {image}\nRUN ln -sf /bin/false /sbin/init\n")
            pushes.append((cached_build("kairos-derived-noinit", work,
                                        image.encode() + open(noinit, "rb").read(), [], noinit)[0], "noinit"))
        t = time.monotonic()
        for img, tag in pushes:
            r = buildah("push", "-q", "--tls-verify=false", img, f"docker://127.0.0.1:{port}/derived:{tag}")
            if r.returncode != 0:
                raise RuntimeError(f"buildah push {tag} failed: {r.stderr[-2000:]}")
        times["push"] = time.monotonic() - t
        t = time.monotonic()
        for ok, label, details in k8s_container(base, layout_digest(layout, "v1")):
            tap(ok, label, details)
        times["k8s container"] = time.monotonic() - t
        fcntl.flock(lock, fcntl.LOCK_UN)
        tap(True, f"pushed {', '.join('derived:' + tag for _, tag in pushes)} to the local registry "
                  f"({times['push']:.0f} s)")

        ok, secs, msg = refused_on_host(work, port)
        tap(ok, f"a Dockerfile that removes the kernel: kairos-upgrade refuses the image before the commit "
                f"({secs:.0f} s), state unchanged", msg)
        print("# " + "\n# ".join(msg.splitlines()))

        disk = os.path.join(work, "disk.img")
        t = time.monotonic()
        r = subprocess.run(["scripts/kairos-install", "--source", f"oci:127.0.0.1:{port}/os:v1", "--insecure",
                            "--disk", disk, "--size", "3G"], cwd=TOP, capture_output=True, text=True)
        times["install"] = time.monotonic() - t
        tap(r.returncode == 0, f"kairos-install v1 from the registry ({times['install']:.0f} s)", r.stderr)

        node = Node(disk, work)
        secs = node.boot()
        times["boot v1"] = secs
        confirmed = node.wait_confirmed()
        tap(confirmed and node.version() == "1", f"v1 boots ({secs:.0f} s) and confirms itself")
        node.run("echo kept > /home/derived-data")
        secs = in_vm_upgrade(node, f"oci:10.0.2.2:{port}/derived:v1")
        times["in-VM upgrade"] = secs
        tap(True, f"in the VM: kairos-upgrade --source oci:10.0.2.2:{port}/derived:v1 --reboot ({secs:.0f} s)")
        secs = node.boot()
        times["boot derived"] = secs
        confirmed = node.wait_confirmed()
        s = node.status()
        ok = confirmed and s and node.version() == "1-derived" and s["slots"]["active"]["status"] == "good" \
            and s["slots"]["active"]["source"].endswith("derived:v1")
        tap(ok, f"the derived image boots ({secs:.0f} s) and confirms itself", json.dumps(s))
        st, out = node.run("tree -L 1 /boot")
        tap(st == 0 and "vmlinuz" in out, "its package is there (tree, installed with RUN apt-get)", out)
        st, out = node.run("systemctl is-enabled derived-hello && cat /run/derived-hello")
        tap(st == 0 and "derived-hello ran on" in out, "its unit is enabled and ran at boot", out)
        st, out = node.run("cat /home/derived-data")
        tap(st == 0 and "kept" in out, "persistent data is kept")
        if broken_init:
            secs = in_vm_upgrade(node, f"oci:10.0.2.2:{port}/derived:noinit")
            t = time.monotonic()
            outcomes = boot_until_prompt(node, 4)
            times["broken-init fallback"] = time.monotonic() - t
            s = node.status()
            why = ((s or {}).get("booted") or {}).get("why", "")
            ok = outcomes == ["failed"] * 3 + ["prompt"] and s and s["booted"]["slot"] == "passive" \
                and node.version() == "1-derived" and "no tries left" in why
            tap(ok, f"a Dockerfile that breaks init: {outcomes[:-1]}, then the derived image again by itself "
                    f"({times['broken-init fallback']:.0f} s); status says why: {why}", json.dumps(s))
        node.close()
        print("# times: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
    except Exception as e:  # noqa: BLE001 - report, do not crash the suite
        tap(False, f"derived stopped: {type(e).__name__}: {e}")
    finally:
        finish(work, node, registry)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
