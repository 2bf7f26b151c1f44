#!/usr/bin/env bash
# Static checks of the Terraform (no AWS account or provider download is needed):
#   python-hcl2   every .tf / .tfvars / .tftest.hcl file parses
#   checkov       no failed check (every skip is a `#checkov:skip=ID: reason` on its resource)
#   terraform fmt where a terraform binary is installed (CI machines may have none)
# Tools go into a private venv ($VENV), pinned, from PyPI.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-/tmp/venv-tf}
PY_TOOLS=(checkov==3.3.30 python-hcl2==8.1.4)

if ! "$VENV/bin/python" -c 'import hcl2, checkov' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_TOOLS[@]}"
fi

echo "== python-hcl2"
"$VENV/bin/python" - <<'PY'
import pathlib, sys, hcl2
files = sorted(p for p in pathlib.Path(".").rglob("*")
               if p.suffix in {".tf", ".tfvars"} or p.name.endswith(".tftest.hcl"))
files = [p for p in files if ".terraform" not in p.parts]
bad = 0
for p in files:
    try:
        with p.open() as f:
            hcl2.load(f)
    except Exception as e:  # noqa: BLE001 - report every file that does not parse
        bad += 1
        print(f"  {p}: {e}", file=sys.stderr)
print(f"  {len(files)} files parsed, {bad} failed")
sys.exit(1 if bad else 0)
PY

echo "== checkov (terraform)"
BC_SKIP_MAPPING=TRUE "$VENV/bin/checkov" -d . --framework terraform --quiet --compact --skip-download \
  --download-external-modules false

if command -v terraform >/dev/null 2>&1; then
  echo "== terraform fmt -check"
  terraform fmt -check -recursive .
else
  echo "== terraform fmt: skipped (no terraform binary here)"
fi
