#!/usr/bin/env bash
# Compatibility check: martin's `mbtiles validate` (crates.io mbtiles 0.19.1) on tilepress output.
#
# Builds tilesets/default.toml, tilesets/monaco.toml and, when the peer fixtures are there ($PEERS, default
# ../shared/fixtures-peers beside the repository), malta-osm.geojson at z0-14 into out/compat/, validates each
# (integrity check, agg_tiles_hash verified) and prints PASS/FAIL per file; `mbtiles summary` of the first.
# For comparison it also validates an MBTiles written by GDAL's `ogr2ogr -f MBTILES` from fixtures/monaco.geojson
# (reported only: its result does not change the exit status).
# Installs mbtiles 0.19.1 with `cargo install --locked` when missing (a slow first build, ~10 min).
# Exit status: 0 when every tilepress file passes, 1 otherwise.
set -euo pipefail

MBTILES_VERSION="0.19.1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
peers="${PEERS:-$root/../shared/fixtures-peers}"
out="out/compat"
mkdir -p "$out"

cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$cargo_bin:$PATH"

installed_version() {
    mbtiles --version 2>/dev/null | awk '{ print $2 }' || true
}

# mbtiles at the pinned version: wait for an install already running, else install it.
if [[ "$(installed_version)" != "$MBTILES_VERSION" ]]; then
    while pgrep -f "cargo install mbtiles" >/dev/null 2>&1; do
        echo "compat: waiting for a running 'cargo install mbtiles' to finish..." >&2
        sleep 20
    done
fi
if [[ "$(installed_version)" != "$MBTILES_VERSION" ]]; then
    echo "compat: installing mbtiles $MBTILES_VERSION (cargo install --locked; takes a while)..." >&2
    cargo install mbtiles --version "$MBTILES_VERSION" --locked
fi
if [[ "$(installed_version)" != "$MBTILES_VERSION" ]]; then
    echo "compat: mbtiles $MBTILES_VERSION not available (found: $(installed_version))" >&2
    exit 1
fi

echo "compat: building tilepress (cargo build --release)..." >&2
cargo build --release --quiet
tilepress="$root/target/release/tilepress"

# The tilesets to build: "TOML OUTPUT" pairs.
builds=("tilesets/default.toml $out/default.mbtiles" "tilesets/monaco.toml $out/monaco.mbtiles")
if [[ -f "$peers/malta-osm.geojson" ]]; then
    malta="$(cd "$peers" && pwd)/malta-osm.geojson"
    cat >"$out/malta-z0-14.toml" <<EOF
# Written by scripts/compat.sh: the peer fixture malta-osm.geojson at z0-14, one layer, every property.
name = "malta-z0-14"
attribution = "© OpenStreetMap contributors"
minzoom = 0
maxzoom = 14

[[layers]]
id = "malta_osm"
source = "$malta"
EOF
    builds+=("$out/malta-z0-14.toml $out/malta-z0-14.mbtiles")
else
    echo "compat: $peers/malta-osm.geojson not found: skipping the Malta build" >&2
fi

failures=0
declare -a results=()

# validate LABEL FILE : runs `mbtiles validate`, prints its output, records PASS/FAIL; returns 1 on FAIL.
validate() {
    local label="$1" file="$2"
    echo "--- mbtiles validate $file" >&2
    if mbtiles validate "$file" >&2; then
        results+=("PASS  $label  $file")
    else
        results+=("FAIL  $label  $file")
        return 1
    fi
}

first=1
for build in "${builds[@]}"; do
    read -r toml file <<<"$build"
    echo "--- tilepress build $toml -o $file" >&2
    rm -f "$file"
    if ! "$tilepress" -q build "$toml" -o "$file"; then
        results+=("FAIL  tilepress  $file (build failed)")
        failures=$((failures + 1))
        continue
    fi
    if ((first)); then
        echo "--- mbtiles summary $file" >&2
        mbtiles summary "$file" >&2 || true
        first=0
    fi
    validate tilepress "$file" || failures=$((failures + 1))
done

# For comparison only: GDAL's output of the same Monaco data (MINZOOM/MAXZOOM as tilesets/monaco.toml).
if command -v ogr2ogr >/dev/null 2>&1; then
    theirs="$out/monaco.ogr2ogr.mbtiles"
    rm -f "$theirs"
    echo "--- ogr2ogr -f MBTILES $theirs fixtures/monaco.geojson" >&2
    if ogr2ogr -f MBTILES "$theirs" fixtures/monaco.geojson -dsco MINZOOM=0 -dsco MAXZOOM=16 2>"$out/ogr2ogr.err"; then
        validate "ogr2ogr (reference, not counted)" "$theirs" || true
    else
        results+=("----  ogr2ogr (reference, not counted)  build failed: $(tail -n 1 "$out/ogr2ogr.err")")
    fi
else
    results+=("----  ogr2ogr (reference, not counted)  ogr2ogr not installed")
fi

echo
echo "mbtiles validate ($(mbtiles --version)):"
printf '%s\n' "${results[@]}"
if ((failures > 0)); then
    echo "compat: $failures tilepress file(s) failed" >&2
    exit 1
fi
