#!/usr/bin/env bash
# Installs what the test suite needs besides cargo: GDAL's ogrinfo, sqlite3 and promtool (Debian packages) and a Python
# virtualenv in .venv with mapbox-vector-tile (an independent MVT decoder), shapely (GEOS validity checks) and
# moto[server] (an S3-compatible server the publish tests start on loopback). Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ogrinfo >/dev/null 2>&1 || need_apt+=(gdal-bin)
command -v sqlite3 >/dev/null 2>&1 || need_apt+=(sqlite3)
# promtool (Debian's prometheus package): checks metrics files and alert rules.
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
# strace: tests/store_integrity.rs checks that the file store fsyncs a folder after each rename.
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: please install ${need_apt[*]} (Debian: sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
  echo "install-test-deps: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! .venv/bin/python -c 'import mapbox_vector_tile, shapely, moto, pmtiles' >/dev/null 2>&1 || [ ! -x .venv/bin/moto_server ]; then
  echo "install-test-deps: python venv with mapbox-vector-tile, shapely and moto[server] in .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'mapbox-vector-tile>=2.1,<3' 'shapely>=2,<3' 'moto[server]>=5,<6' 'pmtiles>=3,<4'
fi

# martin's `mbtiles` tool, for `mbtiles validate` in tests/compat.rs (a ~10 minute build the first time).
if [ "$(mbtiles --version 2>/dev/null)" != "mbtiles 0.19.1" ]; then
  echo "install-test-deps: cargo install mbtiles 0.19.1 (slow the first time)"
  cargo install mbtiles --version 0.19.1 --locked --quiet
fi

# s3s-fs: an S3-compatible server that checks each PUT's x-amz-checksum-sha256 (tests/publish_s3.rs; ~3 minutes once).
if ! command -v s3s-fs >/dev/null 2>&1; then
  echo "install-test-deps: cargo install s3s-fs 0.14.1"
  cargo install s3s-fs --version 0.14.1 --features binary --locked --quiet
fi
