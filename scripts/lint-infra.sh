#!/usr/bin/env bash
# Static checks of everything that deploys and operates tilepress (no cloud or cluster can be reached from CI):
#   shell scripts  shellcheck over every shell script of the repository
#   terraform    infra/terraform/check.sh: python-hcl2 parses every .tf file, checkov with no failed check,
#                terraform fmt where a terraform binary is installed
#   k8s, docker, workflows
#                infra/k8s/validate.sh: yamllint, kubernetes-validate --strict (objects, rendered overlays and
#                Job templates), checkov; hadolint + checkov on the Dockerfile; actionlint, shellcheck of every
#                `run:` block and checkov on .github/workflows
#   monitoring   infra/monitoring/check.sh: promtool check/test rules (a unit test per alert), check metrics,
#                yamllint, the dashboard's queries, runbook anchors
# Tools are installed on first use, pinned, from PyPI / npm / Debian only, into TOOLS_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export TOOLS_DIR=${TOOLS_DIR:-$PWD/.venv-infra}

if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "lint-infra: please install shellcheck (Debian: sudo apt-get install shellcheck)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
fi

echo "== shellcheck"
mapfile -t scripts < <(git ls-files '*.sh' .ci/run 2>/dev/null || find . -name '*.sh' -not -path './target/*')
shellcheck -x "${scripts[@]}"
echo "  ${#scripts[@]} scripts clean"

echo "== terraform"
VENV=$TOOLS_DIR/venv infra/terraform/check.sh

VENV=$TOOLS_DIR/venv infra/k8s/validate.sh

echo
echo "== monitoring"
VENV=$TOOLS_DIR/venv infra/monitoring/check.sh
echo
echo "lint-infra: all infrastructure checks passed"
