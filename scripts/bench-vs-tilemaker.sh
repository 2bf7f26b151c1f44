#!/usr/bin/env bash
# Side-by-side builds of an OpenMapTiles-style basemap straight from OpenStreetMap extracts, one run each: tilemaker
# 2.2 (Debian `tilemaker`, installed with apt-get when missing) with its OpenMapTiles profile
# (config-openmaptiles-noshp.json + process-openmaptiles.lua, from ../shared/peers/tilemaker) against `tilepress
# build` of tilesets/malta-basemap.toml and tilesets/monaco-basemap.toml, z0-14, on Malta and Monaco. Prints wall
# time, peak RSS, tiles and features per layer, PASS/FAIL for the targets (>= 2x tilemaker's speed at <= 1/4 of
# its peak RSS), and the node store's bytes per node with what a 4 GB country extract and the planet would need;
# writes the same to out/bench/bench-vs-tilemaker.json.
#
# Usage: scripts/bench-vs-tilemaker.sh
# Inputs: $PEERS (default ../shared/fixtures-peers) for malta-latest.osm.pbf, $TILEMAKER_PROFILE (default
# ../shared/peers/tilemaker) for the profile. Exit status: 0 when every run worked (targets met or not: it is a
# report), 1 when a run failed or an input is missing.
set -euo pipefail

if [[ $# -gt 0 ]]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    [[ "$1" == -h || "$1" == --help ]] && exit 0
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
peers="${PEERS:-$root/../shared/fixtures-peers}"
profile="${TILEMAKER_PROFILE:-$root/../shared/peers/tilemaker}"
out="out/bench/tilemaker"
mkdir -p "$out"
python="${TILEPRESS_PYTHON:-$root/.venv/bin/python}"

for file in "$peers/malta-latest.osm.pbf" "$profile/config-openmaptiles-noshp.json" \
    "$profile/process-openmaptiles.lua"; do
    if [[ ! -f "$file" ]]; then
        echo "bench-vs-tilemaker: $file not found (set PEERS / TILEMAKER_PROFILE)" >&2
        exit 1
    fi
done
if ! "$python" -c 'import mapbox_vector_tile' 2>/dev/null; then
    echo "bench-vs-tilemaker: $python has no mapbox_vector_tile (make test-deps)" >&2
    exit 1
fi
if ! command -v tilemaker >/dev/null 2>&1; then
    echo "installing tilemaker (apt-get install tilemaker)..." >&2
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" apt-get install -y -qq tilemaker >&2 || {
        "${sudo[@]}" apt-get update -qq >&2
        "${sudo[@]}" apt-get install -y -qq tilemaker >&2
    }
fi

bench_name=bench-vs-tilemaker
# shellcheck source=scripts/lib/bench.sh
source "$root/scripts/lib/bench.sh"

# tilemaker reads its profile from the working folder and may write beside it: a private copy.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$profile/config-openmaptiles-noshp.json" "$profile/process-openmaptiles.lua" "$work/"

runs="$out/runs.jsonl"
: >"$runs"
failed=0

# record NAME TOOL BASE : after a timed run, appends its counts to $runs, or marks the bench failed.
record() {
    if ((status != 0)); then
        failed=1
        echo "  FAILED (exit $status, see $3.$2.err)" >&2
    else
        "$python" scripts/lib/bench_tilemaker.py stats --dataset "$1" --tool "$2" --wall "$wall" --rss "$rss" \
            "$3.$2.mbtiles" >>"$runs"
    fi
}

# bench NAME EXTRACT TILESET
bench() {
    local name="$1" extract="$2" tileset="$3" base="$out/$1"
    echo "$name: tilepress..." >&2
    rm -f "$base.tilepress.mbtiles"
    try_run "$base.tilepress" "$tilepress" -q build "$tileset" -o "$root/$base.tilepress.mbtiles" --json
    record "$name" tilepress "$base"
    ((status != 0)) || cp "$base.tilepress.out" "$base.summary.json"
    echo "$name: tilemaker..." >&2
    rm -f "$base.tilemaker.mbtiles"
    (cd "$work" && try_run "$root/$base.tilemaker" tilemaker --input "$extract" \
        --output "$root/$base.tilemaker.mbtiles" --config config-openmaptiles-noshp.json \
        --process process-openmaptiles.lua && echo "$status $wall $rss" >"$work/result")
    read -r status wall rss <"$work/result"
    record "$name" tilemaker "$base"
}

bench malta "$(cd "$peers" && pwd)/malta-latest.osm.pbf" tilesets/malta-basemap.toml
bench monaco "$root/fixtures/monaco.osm.pbf" tilesets/monaco-basemap.toml

echo
header="tilepress $revision vs $(tilemaker --help 2>&1 | head -n 1); $(nproc) cores; one run each; z0-14"
"$python" scripts/lib/bench_tilemaker.py report "$runs" out/bench/bench-vs-tilemaker.json "$header"

# The node store, from Malta's summary: bytes per node, and what that makes for larger extracts.
if [[ -f "$out/malta.summary.json" ]]; then
    "$python" - "$out/malta.summary.json" <<'PY'
import json, sys
osm = json.load(open(sys.argv[1]))["osm"][0]
per = osm["bytes_per_node"]
print(f"\nnode store: Malta {osm['nodes']:,} nodes, {osm['node_store']}, {per:.2f} bytes a node")
print(f"  4 GB country extract (~500 million nodes, 8 bytes of PBF a node): packed {500e6 * per / 1e9:.1f} GB of memory")
print(f"  planet (~10.5 billion nodes): packed {10.5e9 * per / 2**30:.0f} GiB; tilepress uses the dense mmap'd"
      " store there instead (8 bytes an id, ~100 GB of sparse disk file, paged in by the OS)")
PY
fi
echo
echo "written: out/bench/bench-vs-tilemaker.json (logs and files in $out/)"
exit "$failed"
