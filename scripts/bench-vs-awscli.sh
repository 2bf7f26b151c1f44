#!/usr/bin/env bash
# tilepress publish vs `aws s3 sync` of the same tiles as a z/x/y folder, both against moto on loopback;
# requests are counted from moto's access log. Content: countries z0–8 (41k tiles), then two small countries
# moved (a change of ~1% of the features). Needs .venv with moto[server] (make test-deps); installs awscli into
# .venv if missing. Usage: scripts/bench-vs-awscli.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/aws ] || .venv/bin/pip install --quiet awscli
cargo build --release --quiet
W=$PWD/out/bench/awscli
rm -rf "$W" && mkdir -p "$W"
# shellcheck source=scripts/lib/moto.sh
source scripts/lib/moto.sh
start_moto "$W/moto.log"
bin=target/release/tilepress
requests() { grep -c '" [0-9][0-9][0-9] ' "$W/moto.log" || true; }
now() { date +%s.%N; }
export_xyz() {
  rm -rf "$2"
  python3 - "$1" "$2" <<'PY'
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for z, x, row, data in con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
    folder = os.path.join(sys.argv[2], str(z), str(x))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{(1 << z) - 1 - row}.pbf"), "wb") as f:
        f.write(data)
PY
}
cp fixtures/countries.geojson "$W/a.geojson"
python3 - "$W/a.geojson" "$W/b.geojson" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
def shift(c):
    return [shift(x) for x in c] if isinstance(c[0], list) else [c[0] + 0.05, c[1]]
for f in doc["features"]:
    if f["properties"]["A3"] in ("MLT", "LUX"):
        f["geometry"]["coordinates"] = shift(f["geometry"]["coordinates"])
json.dump(doc, open(sys.argv[2], "w"))
PY
for v in a b; do
  printf 'name = "world"\nmaxzoom = 8\n[[layers]]\nid = "countries"\nsource = "%s.geojson"\n' "$v" >"$W/$v.toml"
  "$bin" -q build "$W/$v.toml" -o "$W/$v.mbtiles" >/dev/null
  export_xyz "$W/$v.mbtiles" "$W/xyz-$v"
done
echo "tiles: $(find "$W/xyz-a" -type f | wc -l)"
r0=$(requests); t0=$(now)
"$bin" -q publish "$W/a.toml" --to s3://bench/tp --mbtiles "$W/a.mbtiles" --json >"$W/p1.json"
t1=$(now); r1=$(requests)
.venv/bin/aws s3 sync "$W/xyz-a" s3://bench/xyz --only-show-errors
t2=$(now); r2=$(requests)
"$bin" -q publish "$W/a.toml" --to s3://bench/tp --mbtiles "$W/b.mbtiles" --json >"$W/p2.json"
t_pub=$(now); r_pub=$(requests)
# A nightly export writes every file anew (touch = newer than the uploaded copies): plain sync uploads them all.
find "$W/xyz-b" -type f -exec touch {} +
t3=$(now); r3=$(requests)
.venv/bin/aws s3 sync "$W/xyz-b" s3://bench/xyz --only-show-errors
t4=$(now); r4=$(requests)
# --size-only is cheaper but misses a changed tile whose size did not change.
.venv/bin/aws s3 sync "$W/xyz-b" s3://bench/xyz --only-show-errors --size-only
t5=$(now); r5=$(requests)
python3 - "$W" "$t0" "$t1" "$t2" "$t_pub" "$t3" "$t4" "$t5" "$r0" "$r1" "$r2" "$r_pub" "$r3" "$r4" "$r5" <<'PY'
import json, sys
w = sys.argv[1]
t = [float(x) for x in sys.argv[2:9]]
r = [int(x) for x in sys.argv[9:16]]
# t/r: 0 start, 1 after publish, 2 after first sync, 3 after second publish, 4 before plain sync, 5 after it,
# 6 after the size-only sync.
p1, p2 = (json.load(open(f"{w}/{n}.json")) for n in ("p1", "p2"))
print(f"first publish:  tilepress {t[1]-t[0]:6.1f} s {r[1]-r[0]:6d} requests ({p1['objects_uploaded']} objects)"
      f" | aws s3 sync {t[2]-t[1]:6.1f} s {r[2]-r[1]:6d} requests | tilepress {(t[2]-t[1])/(t[1]-t[0]):.1f}x faster")
print(f"~1% change:     tilepress {t[3]-t[2]:6.1f} s {r[3]-r[2]:6d} requests ({p2['objects_uploaded']} objects, {p2['diff']['changed']} tiles changed)"
      f" | aws s3 sync (fresh export) {t[5]-t[4]:6.1f} s {r[5]-r[4]:6d} requests ({(r[5]-r[4])/max(1, r[3]-r[2]):.0f}x more)"
      f" | aws s3 sync --size-only {t[6]-t[5]:6.1f} s {r[6]-r[5]:6d} requests (misses same-size changes)")
PY
