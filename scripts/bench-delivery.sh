#!/usr/bin/env bash
# Delivery bench (issue #13): the bytes a device moves for a nightly ~1% change, delta against the full archive.
#   countries  countries-land-10km z0–8, Malta and Luxembourg moved 0.05° east
#   malta      Malta OSM (malta-osm.geojson) z0–14, every 100th feature (1%) moved 10 m east
# Each dataset is built and published twice to a local store (file://); the second version's record lists the
# delta from the first. Target: the delta is ≥ 20× smaller than the archive.
# Then the Malta archive is fetched through a link of 1 MB/s that drops 10 times (scripts/lib/flaky_http.py):
# `tilepress sync` (installs it, verified) against `curl -C -` retried until the file is whole, side by side.
# Usage: scripts/bench-delivery.sh [--only countries|malta]   (PEERS=DIR overrides ../shared/fixtures-peers)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peers="${PEERS:-$root/../shared/fixtures-peers}"
only=""
if [[ "${1:-}" == "--only" ]]; then only="${2:?--only takes countries or malta}"; fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
tilepress="${CARGO_TARGET_DIR:-$root/target}/release/tilepress"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-delivery.XXXXXX")"
server_pid=""
trap 'rm -rf "$work"; [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null' EXIT

tileset() { # name input layer maxzoom properties
    cat >"$work/$1.toml" <<TOML
name = "$1"
format = "mvt"
minzoom = 0
maxzoom = $4
[publish]
deltas = 1
[[layers]]
id = "$3"
source = "$2"
properties = $5
TOML
}

bench() { # name input layer maxzoom properties move-args...
    local name="$1" input="$2" layer="$3" maxzoom="$4" props="$5"
    shift 5
    local store="file://$work/store-$name"
    cp "$input" "$work/$name.geojson"
    tileset "$name" "$work/$name.geojson" "$layer" "$maxzoom" "$props"
    "$tilepress" -q publish "$work/$name.toml" --to "$store" --json >"$work/$name.v1.json"
    python3 "$root/scripts/lib/move_features.py" "$input" "$work/$name.geojson" "$@" >&2
    "$tilepress" -q publish "$work/$name.toml" --to "$store" --json >"$work/$name.v2.json"
    python3 - "$work" "$name" <<'PY'
import json, os, sys
work, name = sys.argv[1:]
v2 = json.load(open(f"{work}/{name}.v2.json"))
record = json.load(open(f"{work}/store-{name}/{name}/versions/{v2['version']}/version.json"))
archive = os.path.getsize(f"{work}/store-{name}/{name}/archives/{record['archive_sha256']}.mbtiles")
d = record["diff"]
changed = d["added"] + d["changed"] + d["removed"]
total = changed + d["unchanged"]
if not record.get("deltas"):
    print(f"{name:10} tiles changed {changed}/{total}: no delta written (not smaller than the archive {archive} B): MISS")
else:
    delta = record["deltas"][0]
    ratio = archive / delta["bytes"]
    verdict = "PASS" if ratio >= 20 else "MISS"
    print(f"{name:10} tiles changed {changed}/{total}  delta {delta['bytes']:>10} B  archive {archive:>10} B  "
          f"archive/delta {ratio:6.1f}x  (target >= 20x: {verdict})")
PY
}

echo "dataset    change                          delta vs full archive"
if [[ -z "$only" || "$only" == countries ]]; then
    bench countries "$peers/countries-land-10km.geo.json" countries 8 '["A3"]' --where A3=MLT,LUX --degrees 0.05
fi
if [[ -z "$only" || "$only" == malta ]]; then
    bench malta "$peers/malta-osm.geojson" malta_osm 14 '["kind", "class", "name"]' --every 100 --metres 10
fi

if [[ -z "$only" || "$only" == malta ]]; then
    store="$work/store-malta"
    # The newest record: the live version's (what sync installs).
    archive_key="$(python3 -c "
import json, sys
p = json.load(open(sys.argv[1] + '/malta/current.json'))
r = json.load(open(sys.argv[1] + '/malta/versions/' + p['version'] + '/version.json'))
print('malta/archives/' + r['archive_sha256'] + '.mbtiles')" "$store")"
    size="$(stat -c %s "$store/$archive_key")"
    drop=$((size / 11 + 1))
    python3 "$root/scripts/lib/flaky_http.py" "$store" --rate 1000000 --drop "$drop" >"$work/port" &
    server_pid=$!
    for _ in $(seq 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
    url="http://127.0.0.1:$(cat "$work/port")"
    start=$(date +%s.%N)
    "$tilepress" -q sync "$url" malta -o "$work/device.mbtiles" --no-delta --json >"$work/sync.json"
    t_sync=$(echo "$(date +%s.%N) - $start" | bc)
    start=$(date +%s.%N)
    attempts=0
    until curl -sf -C - -o "$work/curl.mbtiles" "$url/$archive_key" && [[ "$(stat -c %s "$work/curl.mbtiles")" == "$size" ]]; do
        attempts=$((attempts + 1))
        [[ $attempts -gt 100 ]] && { echo "curl: gave up after 100 attempts" >&2; break; }
    done
    t_curl=$(echo "$(date +%s.%N) - $start" | bc)
    python3 - "$work/sync.json" "$t_sync" "$t_curl" "$size" "$attempts" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t_sync, t_curl, size, attempts = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"malta sync of the {size} B archive at 1 MB/s with 10 drops: tilepress sync {t_sync:.1f} s "
      f"({r['resumes']} resumes, {r['bytes_fetched']} B fetched, verified and installed) vs curl -C - retried "
      f"{t_curl:.1f} s ({attempts} reruns, not verified): {t_sync / t_curl:.2f}x curl's time")
PY
fi
