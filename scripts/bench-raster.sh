#!/usr/bin/env bash
# Raster build timing: `tilepress build` of the full Malta OSM extract (malta-osm.geojson, 50,180 roads, buildings
# and POIs) at z0-14 as PNG tiles (the style of tilesets/malta-raster.toml) and as vector tiles (the same
# tileset with format = "mvt"), one run each, release build. Prints wall time, tiles, tiles/s, blank tiles left
# out, peak RSS, file size, and the ratio raster wall / vector wall.
#
# Usage: scripts/bench-raster.sh [--tile-size 256|512] [--threads N]
# The input comes from $PEERS (default: ../shared/fixtures-peers beside the repository); outputs go to out/bench/.
set -euo pipefail

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

tile_size=256
threads=""
while (($#)); do
    case "$1" in
        --tile-size)
            tile_size="${2:?--tile-size needs 256 or 512}"
            shift 2
            ;;
        --threads)
            threads="${2:?--threads needs a number}"
            shift 2
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "bench-raster: unknown argument: $1" >&2
            usage >&2
            exit 2
            ;;
    esac
done
if [[ "$tile_size" != 256 && "$tile_size" != 512 ]]; then
    echo "bench-raster: --tile-size must be 256 or 512" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
peers="${PEERS:-$root/../shared/fixtures-peers}"
out="out/bench"
mkdir -p "$out"

for tool in sqlite3 cargo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench-raster: $tool not found (sqlite3: apt-get install sqlite3)" >&2
        exit 1
    fi
done
if [[ ! -f "$peers/malta-osm.geojson" ]]; then
    echo "bench-raster: $peers/malta-osm.geojson not found (set PEERS to the folder of the peer fixtures)" >&2
    exit 1
fi
malta="$(cd "$peers" && pwd)/malta-osm.geojson"

bench_name=bench-raster
# shellcheck source=scripts/lib/bench.sh
source "$root/scripts/lib/bench.sh"

# tileset FORMAT : writes the bench tileset for FORMAT (png or mvt) and prints its path.
tileset() {
    local format="$1" toml="$out/malta-$1.toml"
    {
        echo "# Written by scripts/bench-raster.sh: $malta at z0-14 as $format."
        echo "name = \"malta-$format\""
        echo 'attribution = "© OpenStreetMap contributors"'
        echo "format = \"$format\""
        echo 'minzoom = 0'
        echo 'maxzoom = 14'
        if [[ "$format" == png ]]; then
            echo "tile_size = $tile_size"
            echo 'background = "#f2efe9"'
        fi
        echo
        echo '[[layers]]'
        echo 'id = "malta_osm"'
        echo "source = \"$malta\""
        if [[ "$format" == png ]]; then
            # The style of tilesets/malta-raster.toml.
            sed -n '/^\[layers.style\]/,$p' tilesets/malta-raster.toml
        fi
    } >"$toml"
    echo "$toml"
}

declare -a rows=()
declare -A walls=()

bench() {
    local format="$1" toml file
    toml="$(tileset "$format")"
    file="$out/malta-$format.mbtiles"
    echo "malta z0-14 $format: tilepress..." >&2
    rm -f "$file"
    local args=(-q build "$toml" -o "$file" --json)
    [[ -n "$threads" ]] && args+=(--threads "$threads")
    run "$out/malta-$format" "$tilepress" "${args[@]}"
    walls[$format]="$wall"
    local tiles blank size rate
    tiles="$(sqlite3 "$file" 'select count(*) from tiles')"
    blank="$(grep -o '"tiles_blank":[0-9]*' "$out/malta-$format.out" | cut -d: -f2)"
    size="$(awk -v b="$(stat -c %s "$file")" 'BEGIN { printf "%.2f", b / 1048576 }')"
    rate="$(awk -v t="$tiles" -v s="$wall" 'BEGIN { printf "%.0f", (s > 0 ? t / s : 0) }')"
    rows+=("$(printf '%-6s %8s %9s %10s %9s %9s %9s' "$format" "$wall" "$tiles" "$rate" "$blank" "$rss" "$size")")
}

bench mvt
bench png

echo
echo "tilepress $revision; malta-osm.geojson z0-14; png tiles of $tile_size px; $(nproc) cores;" \
    "threads ${threads:-all}; one run each"
printf '%-6s %8s %9s %10s %9s %9s %9s\n' format "wall s" tiles "tiles/s" blank "RSS MiB" "size MiB"
for row in "${rows[@]}"; do
    echo "$row"
done
awk -v r="${walls[png]}" -v v="${walls[mvt]}" \
    'BEGIN { printf "raster / vector wall time: %.2fx\n", (v > 0 ? r / v : 0) }'
