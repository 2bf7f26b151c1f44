#!/usr/bin/env python3
"""Render and check tilepress' Kubernetes manifests without kubectl or kustomize.

    python3 infra/k8s/render.py build infra/k8s/overlays/staging     # the overlay's objects, as YAML, on stdout
    python3 infra/k8s/render.py render-all OUTDIR                    # base + every overlay into OUTDIR/<name>.yaml
    python3 infra/k8s/render.py compare-kustomize                    # same output as `kubectl kustomize`? (if present)
    python3 infra/k8s/render.py tilesets [--check]                   # configmap-tilesets.yaml from tilesets/
    python3 infra/k8s/render.py names                                # overlays agree with Terraform's tfvars?
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
TFVARS = REPO / "infra" / "terraform" / "environments"
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


# -------------------------------------------------------------------------------------------------------- names


def read_tfvars(path: Path) -> dict:
    """The top-level `key = "string"` / `key = ["a", ...]` assignments of a tfvars file, and one level of
    `key = { k = "v" }` objects: what the example tfvars use (no expressions)."""
    out: dict = {}
    block = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if block is not None:
            if line.strip() == "}":
                block = None
                continue
            m = re.fullmatch(r'\s+(\w+)\s*=\s*"([^"]*)"', line)
            if m:
                block[m.group(1)] = m.group(2)
            continue
        m = re.fullmatch(r'(\w+)\s*=\s*(.+)', line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if value == "{":
            block = out[key] = {}
        elif value.startswith("["):
            out[key] = re.findall(r'"([^"]*)"', value)
        elif value.startswith('"'):
            out[key] = value.strip('"')
        else:
            out[key] = value
    return out


def cron_windows(o: dict) -> list[tuple[int, int]]:
    """Minute-of-week intervals in which a CronJob's runs may be active: from each scheduled start to start +
    startingDeadlineSeconds + activeDeadlineSeconds (a late start, then the whole Job with its retries)."""
    spec = o["spec"]
    minute, hour, dom, month, dow = spec["schedule"].split()
    if (dom, month) != ("*", "*") or not minute.isdigit() or not hour.isdigit():
        raise RenderError(f"{o['metadata']['name']}: schedule {spec['schedule']!r} not understood by `names`")
    days = range(7) if dow == "*" else [int(d) % 7 for d in dow.split(",")]
    length = (spec.get("startingDeadlineSeconds", 0) + spec["jobTemplate"]["spec"]["activeDeadlineSeconds"]) // 60
    return [(d * 1440 + int(hour) * 60 + int(minute), d * 1440 + int(hour) * 60 + int(minute) + length) for d in days]


def overlaps(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    week = 7 * 1440
    return any(s1 < e2 + k and s2 + k < e1 for s1, e1 in a for s2, e2 in b for k in (-week, 0, week))


def check_names() -> int:
    """Every overlay against its environment's Terraform tfvars: namespace, store, region, role ARNs; production
    reads staging's store; a gc CronJob (as tilepress-gc) for every set published or promoted, never overlapping
    a publish or promote of the environment; rollback drills in staging only, never overlapping another run of
    their set nor any of production's promotes (which copy staging's live version)."""
    problems = []
    envs = {}
    for env in ("dev", "staging", "production"):
        tf = read_tfvars(TFVARS / f"{env}.tfvars")
        objs = {(o["kind"], o["metadata"]["name"]): o for o in build(OVERLAYS / env)}
        envs[env] = (tf, objs)
        name = tf.get("name", "tilepress")
        account = (tf.get("allowed_account_ids") or ["?"])[0]
        cm = objs[("ConfigMap", "tilepress-env")]["data"]
        (ns,) = [o["metadata"]["name"] for (kind, _), o in objs.items() if kind == "Namespace"]

        def want(what, ours, theirs):
            if ours != theirs:
                problems.append(f"{env}: {what}: overlay {ours!r}, Terraform {theirs!r}")

        want("namespace", ns, tf.get("k8s_namespace", f"tilepress-{env}"))
        want("TILEPRESS_STORE", cm.get("TILEPRESS_STORE"),
             f"s3://{tf.get('bucket_name', '<default bucket name>')}/{tf.get('store_prefix', 'tiles')}")
        want("AWS_REGION", cm.get("AWS_REGION"), tf.get("region"))
        if "eks_oidc_provider_arn" not in tf:
            problems.append(f"{env}: the tfvars set no eks_oidc_provider_arn: the roles do not trust the cluster")
        for sa, role, var in (("tilepress", "publisher", "k8s_publisher_service_account"),
                              ("tilepress-gc", "gc", "k8s_gc_service_account")):
            want(f"ServiceAccount of the {role} role", sa, tf.get(var, sa))
            o = objs.get(("ServiceAccount", sa))
            want(f"ServiceAccount {sa} role", o and o["metadata"]["annotations"].get("eks.amazonaws.com/role-arn"),
                 f"arn:aws:iam::{account}:role/{name}-{env}-{role}")
        cronjobs = [o for (kind, _), o in objs.items() if kind == "CronJob"]
        runs = [o for o in cronjobs if o["metadata"]["labels"].get("app.kubernetes.io/component") != "gc"]
        gcs = {o["metadata"]["labels"]["tilepress/set"]: o for o in cronjobs
               if o["metadata"]["labels"].get("app.kubernetes.io/component") == "gc"}
        for o in runs:
            s = o["metadata"]["labels"]["tilepress/set"]
            if s not in gcs:
                problems.append(f"{env}: no gc CronJob for set {s} ({o['metadata']['name']})")
            elif overlaps(cron_windows(o), cron_windows(gcs[s])):
                problems.append(f"{env}: {gcs[s]['metadata']['name']} may overlap {o['metadata']['name']}")
        drills = [o for o in runs if o["metadata"]["labels"].get("app.kubernetes.io/component") == "drill"]
        if drills and env != "staging":
            problems.append(f"{env}: rollback drills run in staging only: {[o['metadata']['name'] for o in drills]}")
        for d in drills:
            for o in runs:
                same_set = o["metadata"]["labels"]["tilepress/set"] == d["metadata"]["labels"]["tilepress/set"]
                if o is not d and same_set and overlaps(cron_windows(o), cron_windows(d)):
                    problems.append(f"{env}: {d['metadata']['name']} may overlap {o['metadata']['name']}")
        for s, o in gcs.items():
            pod = o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            if pod["serviceAccountName"] != "tilepress-gc" or o["spec"].get("concurrencyPolicy") != "Forbid":
                problems.append(f"{env}: {o['metadata']['name']}: needs serviceAccountName tilepress-gc, Forbid")
    tf_stg, objs_stg = envs["staging"]
    tf_prd, objs_prd = envs["production"]
    # Production's promote copies staging's live version: never while a drill has rolled it back.
    for (kind, name), d in objs_stg.items():
        if kind != "CronJob" or d["metadata"]["labels"].get("app.kubernetes.io/component") != "drill":
            continue
        for (kind2, name2), o in objs_prd.items():
            if kind2 == "CronJob" and o["metadata"]["labels"].get("app.kubernetes.io/component") != "gc" \
                    and overlaps(cron_windows(o), cron_windows(d)):
                problems.append(f"staging: {name} may overlap production's {name2}")
    src = tf_prd.get("promotion_source") or {}
    staging_store = objs_stg[("ConfigMap", "tilepress-env")]["data"]["TILEPRESS_STORE"]
    for what, value in (("TILEPRESS_STAGING_STORE", objs_prd[("ConfigMap", "tilepress-env")]["data"].get(
            "TILEPRESS_STAGING_STORE")), ("promotion_source", f"s3://{src.get('bucket_name')}/{src.get('prefix')}")):
        if value != staging_store:
            problems.append(f"production: {what} {value!r} is not staging's store {staging_store!r}")
    publisher = objs_prd[("ServiceAccount", "tilepress")]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    if publisher not in tf_stg.get("promotion_reader_role_arns", []):
        problems.append(f"staging: promotion_reader_role_arns lacks production's publisher {publisher}")
    for p in problems:
        print(f"names: {p}", file=sys.stderr)
    if not problems:
        print("names: dev, staging and production overlays agree with infra/terraform/environments/*.tfvars")
    return 1 if problems else 0


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
        elif cmd == "names" and not args:
            return check_names()
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
