#!/usr/bin/env python3
"""Render and check tilepress' Kubernetes manifests without kubectl or kustomize.

    python3 infra/k8s/render.py build infra/k8s/overlays/staging     # the overlay's objects, as YAML, on stdout
    python3 infra/k8s/render.py render-all OUTDIR                    # base + every overlay into OUTDIR/<name>.yaml
    python3 infra/k8s/render.py compare-kustomize                    # same output as `kubectl kustomize`? (if present)
    python3 infra/k8s/render.py tilesets [--check]                   # configmap-tilesets.yaml from tilesets/
    python3 infra/k8s/render.py job infra/k8s/jobs/publish.yaml TILESET=default REGION=valletta \\
        NAMESPACE=tilepress-staging IMAGE_TAG=0.1.0 [RUN=NAME]        # a Job from a template, for `kubectl create -f -`

`build` implements the subset of kustomize that the kustomization.yaml files here use, and no more:
`resources` (files and directories), `patches` with inline JSON 6902 operations and a `target` (kind, name,
labelSelector), `namespace`, and `images` (newName, newTag, digest); applied in kustomize's order (patches,
then namespace, then images). Anything else in a kustomization.yaml is an error, so the two cannot drift
apart silently; `compare-kustomize` checks the output object for object against `kubectl kustomize` where that
is installed. Needs only PyYAML.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

K8S_DIR = Path(__file__).resolve().parent
REPO = K8S_DIR.parent.parent
OVERLAYS = K8S_DIR / "overlays"
TILESETS_CM = K8S_DIR / "base" / "common" / "configmap-tilesets.yaml"

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "patches", "namespace", "images"}
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
    "StorageClass", "PriorityClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}
# kustomize's "legacy" output order (first these kinds in this order, then the rest by kind, then these last).
ORDER_FIRST = [
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret",
    "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume", "PersistentVolumeClaim",
    "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


class RenderError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------- kustomize


def load_docs(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "metadata" not in d:
            raise RenderError(f"{path}: a document is not a Kubernetes object")
    return docs


def build(kdir: Path) -> list[dict]:
    """The objects of the kustomization in `kdir`, transformed as kustomize would."""
    kfile = kdir / "kustomization.yaml"
    if not kfile.is_file():
        raise RenderError(f"{kdir}: no kustomization.yaml")
    k = yaml.safe_load(kfile.read_text(encoding="utf-8")) or {}
    unknown = set(k) - SUPPORTED_KEYS
    if unknown:
        raise RenderError(f"{kfile}: render.py does not implement {sorted(unknown)}")
    objs: list[dict] = []
    for res in k.get("resources", []):
        p = (kdir / res).resolve()
        if p.is_dir():
            objs.extend(build(p))
        elif p.is_file():
            if not p.is_relative_to(kdir.resolve()):
                raise RenderError(f"{kfile}: file {res} is outside the kustomization root (kustomize refuses it)")
            objs.extend(load_docs(p))
        else:
            raise RenderError(f"{kfile}: resource {res} not found")
    seen = set()
    for o in objs:
        key = obj_key(o)
        if key in seen:
            raise RenderError(f"{kfile}: {key} defined twice")
        seen.add(key)
    for patch in k.get("patches", []):
        apply_patch(objs, patch, kfile)
    if "namespace" in k:
        for o in objs:
            if o["kind"] == "Namespace":
                o["metadata"]["name"] = k["namespace"]
            elif o["kind"] not in CLUSTER_SCOPED:
                o["metadata"]["namespace"] = k["namespace"]
    for image in k.get("images", []):
        for o in objs:
            for c in containers(o):
                set_image(c, image)
    return objs


def obj_key(o: dict) -> tuple[str, str, str]:
    return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])


def matches(o: dict, target: dict, kfile: Path) -> bool:
    unknown = set(target) - {"kind", "name", "labelSelector", "group", "version"}
    if unknown:
        raise RenderError(f"{kfile}: patch target keys {sorted(unknown)} not implemented")
    if "kind" in target and o["kind"] != target["kind"]:
        return False
    if "name" in target and not re.fullmatch(target["name"], o["metadata"]["name"]):
        return False
    if "labelSelector" in target:
        labels = o["metadata"].get("labels", {}) or {}
        for term in target["labelSelector"].split(","):
            name, _, value = term.strip().partition("=")
            if labels.get(name) != value:
                return False
    api = o["apiVersion"]
    group, _, version = api.rpartition("/")
    if "group" in target and target["group"] != group:
        return False
    if "version" in target and target["version"] != version:
        return False
    return True


def apply_patch(objs: list[dict], patch: dict, kfile: Path) -> None:
    if set(patch) - {"target", "patch"} or "target" not in patch or "patch" not in patch:
        raise RenderError(f"{kfile}: only inline JSON 6902 patches with a target are implemented")
    ops = yaml.safe_load(patch["patch"])
    if not isinstance(ops, list):
        raise RenderError(f"{kfile}: a patch is not a list of JSON 6902 operations")
    hit = [o for o in objs if matches(o, patch["target"], kfile)]
    if not hit:
        raise RenderError(f"{kfile}: patch target {patch['target']} matches nothing")
    for o in hit:
        for op in ops:
            json6902(o, op, kfile)


def pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise RenderError(f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json6902(doc: dict, op: dict, kfile: Path) -> None:
    parts = pointer(op["path"])
    parent = doc
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent[p]
    last = parts[-1]
    kind = op["op"]
    where = f"{kfile}: {kind} {op['path']}"
    try:
        if kind in ("add", "replace"):
            value = copy.deepcopy(op["value"])
            if isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                elif kind == "add":
                    parent.insert(int(last), value)
                else:
                    parent[int(last)] = value
            else:
                if kind == "replace" and last not in parent:
                    raise RenderError(f"{where}: nothing to replace")
                parent[last] = value
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        elif kind == "test":
            actual = parent[int(last)] if isinstance(parent, list) else parent[last]
            if actual != op["value"]:
                raise RenderError(f"{where}: test failed ({actual!r} != {op['value']!r})")
        else:
            raise RenderError(f"{where}: operation not implemented")
    except (KeyError, IndexError, ValueError) as e:
        raise RenderError(f"{where}: path not found ({e})") from None


def pod_spec(o: dict) -> dict | None:
    spec = o.get("spec", {})
    if o["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if o["kind"] == "Pod":
        return spec
    if "template" in spec and isinstance(spec["template"], dict):
        return spec["template"].get("spec")
    return None


def containers(o: dict) -> list[dict]:
    ps = pod_spec(o)
    if not ps:
        return []
    return list(ps.get("initContainers", [])) + list(ps.get("containers", []))


def split_image(ref: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference."""
    name, _, digest = ref.partition("@")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest


def set_image(c: dict, image: dict) -> None:
    name, tag, digest = split_image(c["image"])
    if name != image["name"]:
        return
    name = image.get("newName", name)
    if "digest" in image:
        c["image"] = f"{name}@{image['digest']}"
    elif "newTag" in image:
        c["image"] = f"{name}:{image['newTag']}"
    else:
        c["image"] = f"{name}:{tag}" if tag else (f"{name}@{digest}" if digest else name)


def order_key(o: dict) -> tuple:
    kind = o["kind"]
    if kind in ORDER_FIRST:
        rank = (0, ORDER_FIRST.index(kind), "")
    elif kind in ORDER_LAST:
        rank = (2, ORDER_LAST.index(kind), "")
    else:
        rank = (1, 0, f"{o['apiVersion']}/{kind}")
    return rank + (o["metadata"].get("namespace", ""), o["metadata"]["name"])


def dump(objs: list[dict]) -> str:
    return "".join(
        "---\n" + yaml.safe_dump(o, sort_keys=True, default_flow_style=False, width=1000)
        for o in sorted(objs, key=order_key)
    )


def targets() -> dict[str, Path]:
    out = {"base": K8S_DIR / "base"}
    for d in sorted(OVERLAYS.iterdir()):
        if (d / "kustomization.yaml").is_file():
            out[d.name] = d
    return out


def render_all(outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    for name, d in targets().items():
        (outdir / f"{name}.yaml").write_text(dump(build(d)), encoding="utf-8")
        print(f"rendered {d.relative_to(REPO)} -> {outdir / (name + '.yaml')}")


def canonical(o: dict) -> str:
    return json.dumps(o, sort_keys=True)


def compare_kustomize() -> int:
    kubectl = shutil.which("kubectl")
    kustomize = shutil.which("kustomize")
    if not kubectl and not kustomize:
        print("compare-kustomize: neither kubectl nor kustomize on PATH; skipped")
        return 0
    bad = 0
    for name, d in targets().items():
        cmd = [kustomize, "build", str(d)] if kustomize else [kubectl, "kustomize", str(d)]
        tool = " ".join(Path(c).name for c in cmd[:2])
        theirs = {obj_key(o): o for o in yaml.safe_load_all(subprocess.check_output(cmd, text=True)) if o}
        ours = {obj_key(o): o for o in build(d)}
        if theirs.keys() != ours.keys():
            print(f"{name}: objects differ: only {tool} {sorted(theirs.keys() - ours.keys())}, "
                  f"only render.py {sorted(ours.keys() - theirs.keys())}")
            bad += 1
            continue
        differ = [k for k in sorted(ours) if canonical(ours[k]) != canonical(theirs[k])]
        for key in differ:
            print(f"{name}: {key} differs from `{tool}`")
        bad += len(differ)
        if not differ:
            print(f"{name}: {len(ours)} objects, identical to `{tool}`")
    return 1 if bad else 0


# ----------------------------------------------------------------------------------------------------- tilesets


def tilesets_configmap() -> str:
    files = sorted((REPO / "tilesets").glob("*.toml"))
    if not files:
        raise RenderError("no tilesets/*.toml")
    lines = [
        "---",
        "# GENERATED from tilesets/*.toml by `python3 infra/k8s/render.py tilesets`: do not edit by hand.",
        "# Mounted at /etc/tilepress/tilesets; each file's sources (../fixtures/...) resolve to",
        "# /etc/tilepress/fixtures, which the image carries (see Dockerfile). `render.py tilesets --check`",
        "# (run by infra/k8s/validate.sh) fails when this file is out of date.",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: tilepress-tilesets",
        "  namespace: tilepress",
        "  labels:",
        "    app.kubernetes.io/name: tilepress",
        "    app.kubernetes.io/part-of: tilepress",
        "data:",
        "  # yamllint disable rule:line-length",
    ]
    expected = {}
    for f in files:
        text = f.read_text(encoding="utf-8")
        expected[f.name] = text
        if not text.endswith("\n") or text.endswith("\n\n") or "\t" in text or text[:1] in " \n":
            raise RenderError(f"{f}: needs exactly one final newline, no tabs and no leading blank or space")
        lines.append(f"  {f.name}: |")
        lines.extend(("    " + line) if line else "" for line in text.rstrip("\n").split("\n"))
    lines.append("  # yamllint enable rule:line-length")
    out = "\n".join(lines) + "\n"
    parsed = yaml.safe_load(out)
    if parsed["data"] != expected:
        raise RenderError("the generated ConfigMap does not reproduce the tileset files byte for byte")
    if len(out.encode()) > 900_000:
        raise RenderError("the tilesets ConfigMap is close to the 1 MiB limit of a ConfigMap")
    return out


# ---------------------------------------------------------------------------------------------------------- job


def job(template: Path, assignments: list[str]) -> str:
    values = {}
    for a in assignments:
        key, sep, value = a.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_]+", key):
            raise RenderError(f"expected KEY=VALUE, got {a!r}")
        values[key] = value
    text = template.read_text(encoding="utf-8")
    wanted = set(re.findall(r"\$\{([A-Z_]+)\}", text))
    if "RUN" in wanted and "RUN" not in values:
        # Names this run of the Job: the UTC time, e.g. tilepress-publish-20261125-031500.
        values["RUN"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    missing = wanted - values.keys()
    if missing:
        raise RenderError(f"{template}: give a value for {sorted(missing)}")
    unused = values.keys() - wanted
    if unused:
        raise RenderError(f"{template}: no placeholder for {sorted(unused)}")
    for key, value in values.items():
        if key == "REGION" and value == "":
            continue
        if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
            raise RenderError(f"{key}={value!r}: only letters, digits, '.', '_' and '-'")
    rendered = re.sub(r"\$\{([A-Z_]+)\}", lambda m: values[m.group(1)], text)
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    if values.get("REGION", None) == "":
        # The whole tileset: drop `--region ""` (tilepress refuses an empty region name).
        for d in docs:
            for c in containers(d):
                args = c.get("args", [])
                while "--region" in args:
                    i = args.index("--region")
                    del args[i : i + 2]
                c.get("env", [])[:] = [e for e in c.get("env", []) if e["name"] != "REGION"]
    return "".join("---\n" + yaml.safe_dump(d, sort_keys=False, width=1000) for d in docs)


# --------------------------------------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "build" and len(args) == 1:
            sys.stdout.write(dump(build(Path(args[0]))))
        elif cmd == "render-all" and len(args) == 1:
            render_all(Path(args[0]))
        elif cmd == "compare-kustomize" and not args:
            return compare_kustomize()
        elif cmd == "tilesets" and args in ([], ["--check"]):
            want = tilesets_configmap()
            if args:
                if TILESETS_CM.read_text(encoding="utf-8") != want:
                    print(f"{TILESETS_CM.relative_to(REPO)} is out of date with tilesets/*.toml: "
                          "run `python3 infra/k8s/render.py tilesets`", file=sys.stderr)
                    return 1
                print(f"{TILESETS_CM.relative_to(REPO)} matches tilesets/*.toml")
            else:
                TILESETS_CM.write_text(want, encoding="utf-8")
                print(f"wrote {TILESETS_CM.relative_to(REPO)}")
        elif cmd == "job" and args:
            sys.stdout.write(job(Path(args[0]), args[1:]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except RenderError as e:
        print(f"render.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
