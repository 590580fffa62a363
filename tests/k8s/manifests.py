#!/usr/bin/env python3
"""The YAML of examples/kubernetes: every document parses and has the
structure system-upgrade-controller and Kubernetes need. No cluster is
involved: this reads the files only. Prints one line a check,
"PASS<TAB>name" or "FAIL<TAB>name<TAB>why"; tests/k8s/run turns them into TAP.

Usage: manifests.py EXAMPLES_DIR"""
import base64
import json
import pathlib
import re
import sys

import yaml

API = {
    "Plan": "upgrade.cattle.io/v1",
    "ServiceAccount": "v1",
    "Secret": "v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def report(name, problems):
    problems = [p for p in problems if p]
    if problems:
        print(f"FAIL\t{name}\t{'; '.join(problems)}")
    else:
        print(f"PASS\t{name}")


def dig(obj, *keys):
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def check_plan(plan, objects, examples):
    spec = plan.get("spec") or {}
    up = spec.get("upgrade") or {}
    ns = dig(plan, "metadata", "namespace")
    named = {(o["kind"], dig(o, "metadata", "namespace"), dig(o, "metadata", "name")) for o in objects}
    entry = examples / "upgrade-entrypoint.sh"
    script = entry.read_text() if entry.exists() else ""
    docker = (examples / "Dockerfile").read_text() if (examples / "Dockerfile").exists() else ""
    copied = re.search(r"^COPY\s+upgrade-entrypoint\.sh\s+(\S+)", docker, re.M)
    envs = {e.get("name"): e.get("value") for e in up.get("envs") or []}
    sel = spec.get("nodeSelector") or {}
    version = spec.get("version")
    image = up.get("image", "")
    secret_default = re.search(r"REGISTRY_SECRET_DIR:-([^}]+)\}", script)
    sa = spec.get("serviceAccountName")
    name = dig(plan, "metadata", "name")

    report(f"Plan {name}: concurrency 1", [spec.get("concurrency") != 1 and f"concurrency is {spec.get('concurrency')!r}"])
    report(f"Plan {name}: nodeSelector selects by label",
           [not (sel.get("matchLabels") or sel.get("matchExpressions")) and "no matchLabels or matchExpressions"])
    report(f"Plan {name}: serviceAccountName is a ServiceAccount defined here",
           [not sa and "missing", sa and ("ServiceAccount", ns, sa) not in named and f"no ServiceAccount {ns}/{sa}"])
    report(f"Plan {name}: drains (so cordons) the node",
           [not isinstance(spec.get("drain"), dict) and spec.get("cordon") is not True and "neither drain nor cordon",
            isinstance(spec.get("drain"), dict) and spec["drain"].get("ignoreDaemonSets") is False
            and "drain would wait for DaemonSet pods forever"])
    report(f"Plan {name}: version (the OS image tag) is set and a valid label value",
           [not (version or spec.get("channel")) and "neither version nor channel",
            version is not None and not isinstance(version, str) and f"version {version!r} is not a string",
            isinstance(version, str) and (len(version) > 63 or not LABEL_VALUE.match(version))
            and f"{version!r} cannot be a label value (the controller labels Jobs with it)"])
    report(f"Plan {name}: upgrade.image has its own tag (spec.version is the OS image's)",
           [not image and "no upgrade.image",
            image and ":" not in image.split("@")[0].rsplit("/", 1)[-1]
            and "no tag: the controller would tag it with spec.version"])
    report(f"Plan {name}: the privileged upgrade.image is pinned by digest",
           [image and not re.search(r"@sha256:[0-9a-f]{64}$", image) and "no @sha256:<64 hex>: a tag can be moved"])
    report(f"Plan {name}: the upgrade container is privileged",
           [dig(up, "securityContext", "privileged") is not True and "upgrade.securityContext.privileged is not true"])
    report(f"Plan {name}: upgrade.command is the entrypoint the Dockerfile installs",
           [not entry.exists() and "no upgrade-entrypoint.sh",
            not copied and "the Dockerfile does not COPY upgrade-entrypoint.sh",
            copied and (up.get("command") or [None])[0] != copied.group(1)
            and f"command {up.get('command')!r} is not {copied.group(1)}",
            copied and not re.search(r'^ENTRYPOINT\s+\["' + re.escape(copied.group(1)) + '"', docker, re.M)
            and "the Dockerfile's ENTRYPOINT is not the script"])
    report(f"Plan {name}: OS_IMAGE names a repository without tag or digest",
           [not envs.get("OS_IMAGE") and "no OS_IMAGE in upgrade.envs",
            envs.get("OS_IMAGE") and re.search(r"[:@]", envs["OS_IMAGE"].rsplit("/", 1)[-1]) and "it has a tag or digest"])
    report(f"Plan {name}: the registry Secret is defined here and mounted where the entrypoint reads it",
           [*(f"no Secret {ns}/{s.get('name')}" for s in spec.get("secrets") or []
              if ("Secret", ns, s.get("name")) not in named),
            *(f"no Secret {ns}/{s.get('name')} for imagePullSecrets" for s in spec.get("imagePullSecrets") or []
              if ("Secret", ns, s.get("name")) not in named),
            not secret_default and "the entrypoint has no REGISTRY_SECRET_DIR default",
            secret_default and secret_default.group(1) not in [s.get("path") for s in spec.get("secrets") or []]
            and f"no secret mounted at {secret_default.group(1)}"])
    deadline = spec.get("jobActiveDeadlineSecs")
    confirm = int(envs.get("CONFIRM_TIMEOUT") or 600)
    report(f"Plan {name}: the Job deadline leaves room for the upgrade and the confirmation",
           [not isinstance(deadline, int) and "no jobActiveDeadlineSecs (controller default: 600 s or 900 s)",
            isinstance(deadline, int) and deadline != 0 and deadline < confirm + 600
            and f"{deadline} s < CONFIRM_TIMEOUT {confirm} s + 600 s for pull, build and reboot"])


def check_rbac(objects):
    roles = {dig(o, "metadata", "name"): o for o in objects if o["kind"] == "ClusterRole"}
    sas = {(dig(o, "metadata", "namespace"), dig(o, "metadata", "name")) for o in objects if o["kind"] == "ServiceAccount"}
    for b in (o for o in objects if o["kind"] == "ClusterRoleBinding"):
        ref = b.get("roleRef") or {}
        subjects = b.get("subjects") or []
        role = roles.get(ref.get("name"))
        grants = set()
        for rule in (role or {}).get("rules") or []:
            for group in rule.get("apiGroups") or []:
                for res in rule.get("resources") or []:
                    grants |= {(group, res, verb) for verb in rule.get("verbs") or []}
        needed = [("", "nodes", "get"), ("", "nodes", "patch"), ("", "pods", "list"),
                  ("", "pods/eviction", "create"), ("apps", "daemonsets", "get")]
        # More than drain needs: update replaces a whole node; a pod delete
        # bypasses PodDisruptionBudgets; a wildcard grants everything.
        excess = [(g, r, v) for g, r, v in grants
                  if (r, v) in {("nodes", "update"), ("pods", "delete"), ("pods", "deletecollection")}
                  or "*" in (g, r, v)]
        report(f"ClusterRoleBinding {dig(b, 'metadata', 'name')}: binds a ServiceAccount here to a role that can drain",
               [(ref.get("kind") != "ClusterRole" or ref.get("apiGroup") != "rbac.authorization.k8s.io")
                and "roleRef is not an rbac ClusterRole",
                not role and f"no ClusterRole {ref.get('name')}",
                not any(s.get("kind") == "ServiceAccount" and (s.get("namespace"), s.get("name")) in sas for s in subjects)
                and "no subject is a ServiceAccount defined here",
                *(f"cannot {v} {g + '/' if g else ''}{r}" for g, r, v in needed if role and (g, r, v) not in grants)])
        report(f"ClusterRoleBinding {dig(b, 'metadata', 'name')}: its role grants nothing drain does not need",
               [f"grants {v} on {g + '/' if g else ''}{r}" for g, r, v in sorted(excess)])


def check_secret(s):
    name = dig(s, "metadata", "name")
    problems = []
    if s.get("type") != "kubernetes.io/dockerconfigjson":
        problems.append(f"type {s.get('type')!r}, not kubernetes.io/dockerconfigjson")
    text = dig(s, "stringData", ".dockerconfigjson")
    if text is None and dig(s, "data", ".dockerconfigjson"):
        text = base64.b64decode(s["data"][".dockerconfigjson"]).decode()
    try:
        auths = json.loads(text or "").get("auths")
        if not isinstance(auths, dict) or not auths:
            problems.append(".dockerconfigjson has no \"auths\"")
    except (ValueError, AttributeError) as e:
        problems.append(f".dockerconfigjson is not JSON: {e}")
    report(f"Secret {name}: a docker config with auths, as kairos-upgrade reads it", problems)


def main():
    examples = pathlib.Path(sys.argv[1])
    objects = []
    files = sorted(examples.glob("*.yaml")) + sorted(examples.glob("*.yml"))
    report("there are YAML files in examples/kubernetes", [not files and "none"])
    for f in files:
        try:
            docs = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
        except yaml.YAMLError as e:
            report(f"{f.name}: YAML parses", [str(e)])
            continue
        report(f"{f.name}: YAML parses ({len(docs)} documents)", [not docs and "no documents"])
        for d in docs:
            kind = d.get("kind") if isinstance(d, dict) else None
            meta = d.get("metadata") if isinstance(d, dict) else None
            label = f"{f.name}: {kind}/{dig(d, 'metadata', 'name')}"
            report(f"{label}: known kind, its apiVersion, metadata.name, namespace",
                   [kind not in API and f"kind {kind!r} is not one this test knows",
                    kind in API and d.get("apiVersion") != API[kind] and f"apiVersion {d.get('apiVersion')!r}, not {API[kind]}",
                    not dig(meta, "name") and "no metadata.name",
                    kind in API and kind not in CLUSTER_SCOPED and dig(meta, "namespace") != "system-upgrade"
                    and "not in namespace system-upgrade (the controller's, and the Plan's)",
                    kind in CLUSTER_SCOPED and dig(meta, "namespace") and "a cluster-scoped object with a namespace"])
            if kind in API and dig(meta, "name"):
                objects.append(d)
    plans = [o for o in objects if o["kind"] == "Plan"]
    report("there is a Plan", [not plans and "none"])
    for p in plans:
        check_plan(p, objects, examples)
    check_rbac(objects)
    for s in (o for o in objects if o["kind"] == "Secret"):
        check_secret(s)


if __name__ == "__main__":
    main()
