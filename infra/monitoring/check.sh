#!/usr/bin/env bash
# Checks everything in infra/monitoring/ (no cluster, no network beyond the package registries):
#   promtool check rules / test rules   alerts.yml and its unit tests (every rule, firing and quiet; the rules
#                                       with windows of days in alerts.weekly.test.yml, at a 10-minute step)
#   promtool check metrics              the sample metrics files (a batch run's, a device's sync)
#   yamllint                            the YAML files (infra/monitoring/.yamllint: line length 120)
#   python json + promtool              grafana-dashboard.json parses, and every PromQL in it parses
#   runbook anchors                     every runbook_url in alerts.yml names a heading of docs/infra/runbooks.md
# Installs what is missing: promtool (Debian `prometheus`, as root) and yamllint (a private venv, $VENV).
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-/tmp/venv-mon}

if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "check: please install promtool (Debian: sudo apt-get install --no-install-recommends prometheus)" >&2
    exit 1
  fi
  apt-get update -qq
  # The package's postinst may try to start a daemon; that failing does not matter here.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null || true
  command -v promtool >/dev/null 2>&1 || { echo "check: promtool did not install" >&2; exit 1; }
fi
if [ ! -x "$VENV/bin/yamllint" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'yamllint==1.38.0'
fi

echo "== promtool check rules"
promtool check rules alerts.yml
echo "== promtool test rules"
promtool test rules alerts.test.yml alerts.weekly.test.yml
echo "== promtool check metrics"
for f in example.prom example-sync.prom; do
  promtool check metrics < "$f"
  echo "  SUCCESS: $f"
done
echo "== yamllint"
# (not `yamllint ... && echo`: under set -e a failure on the left of && does not stop the script)
"$VENV/bin/yamllint" -c .yamllint --strict .
echo "  SUCCESS"

echo "== grafana-dashboard.json"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/dashboard-queries.yml" <<'EOF'
import json, sys
with open("grafana-dashboard.json") as f:
    dash = json.load(f)
assert dash["schemaVersion"] >= 39, "schemaVersion"
names = {v["name"] for v in dash["templating"]["list"]}
assert {"DS_PROMETHEUS", "tileset", "region", "set"} <= names, names
assert [i["name"] for i in dash["__inputs"]] == ["DS_PROMETHEUS"]
exprs = []
def walk(panels):
    for p in panels:
        if p.get("type") != "row":
            assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
        for t in p.get("targets", []):
            exprs.append((p["title"], t["expr"]))
        walk(p.get("panels", []))
walk(dash["panels"])
exprs += [(a["name"], a["expr"]) for a in dash["annotations"]["list"] if "expr" in a]
subst = {"$environment": ".*", "$tileset": ".*", "$region": ".*", "$set": ".*", "$__rate_interval": "5m", "$__range": "1d",
         "${__from:date:seconds}": "0"}
with open(sys.argv[1], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, expr) in enumerate(exprs):
        for k, v in subst.items():
            expr = expr.replace(k, v)
        assert "$" not in expr, f"{title}: unknown variable in {expr}"
        out.write(f"      - record: dashboard_query_{i}\n        expr: {json.dumps(expr)}\n")
print(f"  {len(exprs)} queries in {sum(1 for p in dash['panels'] if p['type'] != 'row')} panels")
EOF
promtool check rules "$tmp/dashboard-queries.yml" | sed 's/^/  /'

echo "== runbook anchors"
python3 - <<'EOF'
import re, sys
with open("../../docs/infra/runbooks.md") as f:
    text = f.read()
def slug(heading):  # GitHub's heading anchors
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")
text = re.sub(r"```.*?```", "", text, flags=re.S)
anchors = {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, flags=re.M)}
anchors |= set(re.findall(r'<a id="([^"]+)"', text))
with open("alerts.yml") as f:
    wanted = set(re.findall(r"runbooks\.md#([\w-]+)", f.read()))
missing = sorted(wanted - anchors)
if missing:
    sys.exit(f"  missing anchors in docs/infra/runbooks.md: {missing}")
print(f"  SUCCESS: {len(wanted)} anchors found")
EOF
echo "all monitoring checks passed"
