#!/usr/bin/env bash
# Side-by-side build timing: `tilepress build` against GDAL's `ogr2ogr -f MBTILES` on the same GeoJSON and zoom
# range, one run each. Prints wall time, tiles, tiles/s, peak RSS, file size, the number of tiles addressed outside
# the grid of their zoom, and the ratio ogr2ogr time / tilepress time.
#
# Usage: scripts/bench-vs-ogr2ogr.sh [--quick]
#   --quick   skip the slow ogr2ogr run of countries z0-10 (tilepress still builds it)
# Inputs come from $PEERS (default: ../shared/fixtures-peers beside the repository); outputs go to out/bench/.
set -euo pipefail

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
}

quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "bench-vs-ogr2ogr: unknown argument: $arg" >&2
            usage >&2
            exit 2
            ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
peers="${PEERS:-$root/../shared/fixtures-peers}"
out="out/bench"
mkdir -p "$out"

for tool in ogr2ogr sqlite3 cargo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench-vs-ogr2ogr: $tool not found (ogr2ogr: apt-get install gdal-bin; sqlite3: apt-get install sqlite3)" >&2
        exit 1
    fi
done
for file in countries-land-10km.geo.json malta-osm.geojson; do
    if [[ ! -f "$peers/$file" ]]; then
        echo "bench-vs-ogr2ogr: $peers/$file not found (set PEERS to the folder of the peer fixtures)" >&2
        exit 1
    fi
done
peers="$(cd "$peers" && pwd)"

bench_name=bench-vs-ogr2ogr
# shellcheck source=scripts/lib/bench.sh
source "$root/scripts/lib/bench.sh"

declare -a rows=()

# measure NAME TOOL MINZOOM MAXZOOM FILE : records one table row for an output written by TOOL.
measure() {
    local name="$1" tool="$2" minzoom="$3" maxzoom="$4" file="$5" ratio="${6:--}"
    local tiles bad size rate
    tiles="$(sqlite3 "$file" 'select count(*) from tiles')"
    bad="$(sqlite3 "$file" 'select count(*) from tiles where tile_column < 0 or tile_row < 0
        or tile_column >= (1 << zoom_level) or tile_row >= (1 << zoom_level)')"
    size="$(awk -v b="$(stat -c %s "$file")" 'BEGIN { printf "%.2f", b / 1048576 }')"
    rate="$(awk -v t="$tiles" -v s="$wall" 'BEGIN { printf "%.0f", (s > 0 ? t / s : 0) }')"
    rows+=("$(printf '%-18s %-6s %-9s %8s %9s %10s %9s %9s %11s %8s' \
        "$name" "$minzoom-$maxzoom" "$tool" "$wall" "$tiles" "$rate" "$rss" "$size" "$bad" "$ratio")")
}

# bench NAME INPUT LAYER MINZOOM MAXZOOM SKIP_OGR
bench() {
    local name="$1" input="$2" layer="$3" minzoom="$4" maxzoom="$5" skip_ogr="$6"
    local toml="$out/$name.toml" ours="$out/$name.tilepress.mbtiles" theirs="$out/$name.ogr2ogr.mbtiles"
    cat >"$toml" <<EOF
# Written by scripts/bench-vs-ogr2ogr.sh: $input at z$minzoom-$maxzoom, one layer, every property.
name = "$name"
attribution = "© OpenStreetMap contributors"
minzoom = $minzoom
maxzoom = $maxzoom

[[layers]]
id = "$layer"
source = "$input"
EOF
    echo "$name z$minzoom-$maxzoom: tilepress..." >&2
    rm -f "$ours"
    run "$out/$name.tilepress" "$tilepress" -q build "$toml" -o "$ours" --json
    local ours_wall="$wall"
    measure "$name" tilepress "$minzoom" "$maxzoom" "$ours"

    if ((skip_ogr)); then
        rows+=("$(printf '%-18s %-6s %-9s %8s' "$name" "$minzoom-$maxzoom" ogr2ogr "skipped (--quick)")")
        return
    fi
    echo "$name z$minzoom-$maxzoom: ogr2ogr..." >&2
    rm -f "$theirs"
    run "$out/$name.ogr2ogr" ogr2ogr -f MBTILES "$theirs" "$input" \
        -dsco "MINZOOM=$minzoom" -dsco "MAXZOOM=$maxzoom"
    local ratio
    ratio="$(awk -v a="$wall" -v b="$ours_wall" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }')"
    measure "$name" ogr2ogr "$minzoom" "$maxzoom" "$theirs" "$ratio"
}

countries="$peers/countries-land-10km.geo.json"
malta="$peers/malta-osm.geojson"
bench countries-z0-8 "$countries" countries 0 8 0
bench countries-z0-10 "$countries" countries 0 10 "$quick"
bench malta-z0-14 "$malta" malta_osm 0 14 0

echo
echo "tilepress $revision vs $(ogr2ogr --version | cut -d, -f1);" \
    "$(nproc) cores; one run each; ratio = ogr2ogr wall / tilepress wall"
printf '%-18s %-6s %-9s %8s %9s %10s %9s %9s %11s %8s\n' \
    dataset zooms tool "wall s" tiles "tiles/s" "RSS MiB" "size MiB" "out-of-grid" ratio
for row in "${rows[@]}"; do
    echo "$row"
done
