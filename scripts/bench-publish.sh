#!/usr/bin/env bash
# Publish figures against moto (S3-compatible, on loopback): Malta OSM z0–14 first publish, republish with no
# change, republish after moving ~1% of the features, rollback. Needs .venv with moto[server]
# (make test-deps) and ../shared/fixtures-peers (or PEERS=DIR). Usage: scripts/bench-publish.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-../shared/fixtures-peers}
[ -f "$PEERS/malta-osm.geojson" ] || { echo "bench-publish: $PEERS/malta-osm.geojson not found" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/tilepress
work=out/bench/publish
rm -rf "$work" && mkdir -p "$work"
# shellcheck source=scripts/lib/moto.sh
source scripts/lib/moto.sh
start_moto "$work/moto.log"
cp "$PEERS/malta-osm.geojson" "$work/malta.geojson"
cat >"$work/malta.toml" <<TOML
name = "malta"
attribution = "© OpenStreetMap contributors"
minzoom = 0
maxzoom = 14
[[layers]]
id = "osm"
source = "malta.geojson"
TOML
to=s3://bench/tiles
report() {
  python3 -c '
import json, sys
r = json.load(sys.stdin)
up, skip, s = r["objects_uploaded"], r["objects_skipped"], r["seconds"]
mb = r["bytes_uploaded"] / 1e6
print("%-28s %-10s %8d %8d %9.2f %8.2f %9.0f %7.2f" % (sys.argv[1], r["outcome"], up, skip, mb, s, up / s if s else 0, mb / s if s else 0))
' "$1"
}
printf '%-28s %-10s %8s %8s %9s %8s %9s %7s\n' step outcome uploaded skipped MB seconds "objects/s" "MB/s"
"$bin" -q publish "$work/malta.toml" --to "$to" --json | report "first publish"
"$bin" -q publish "$work/malta.toml" --to "$to" --json | report "republish, no change"
# Move every 100th feature by ~10 m east: about 1% of the features.
python3 - "$work/malta.geojson" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
def shift(c):
    return [shift(x) for x in c] if isinstance(c[0], list) else [c[0] + 0.0001, c[1]]
for i, f in enumerate(doc["features"]):
    if i % 100 == 0 and f.get("geometry"):
        f["geometry"]["coordinates"] = shift(f["geometry"]["coordinates"])
json.dump(doc, open(path, "w"))
PY
"$bin" -q publish "$work/malta.toml" --to "$to" --json | report "republish, ~1% moved"
start=$(date +%s.%N)
"$bin" -q rollback malta --to "$to" >/dev/null
end=$(date +%s.%N)
echo "rollback: $(python3 -c "print(f'{$end - $start:.2f}')") s (one pointer swap + history record)"
"$bin" -q verify malta --to "$to"
