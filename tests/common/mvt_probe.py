"""Independent checks for the integration tests: decodes tiles with PyPI's mapbox-vector-tile (not our encoder's
code) and computes where a lon/lat lands in a tile with its own Web Mercator formula.

usage: mvt_probe.py decode MBTILES Z X Y     -> JSON {layer: {"extent", "version", "features": [...]}} (XYZ y; tile coords, y down)
       mvt_probe.py locate LON LAT Z         -> JSON {"x", "y", "px", "py"}: the XYZ tile and the position inside it (extent 4096)
"""
import gzip
import json
import math
import sqlite3
import sys

import mapbox_vector_tile


def decode(path, z, x, y):
    tms_row = (1 << z) - 1 - y
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    row = con.execute(
        "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?", (z, x, tms_row)
    ).fetchone()
    if row is None:
        return None
    data = row[0]
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    layers = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    return layers


def locate(lon, lat, z):
    n = 1 << z
    fx = (lon + 180.0) / 360.0 * n
    lat_r = math.radians(lat)
    fy = (1.0 - math.log(math.tan(lat_r) + 1.0 / math.cos(lat_r)) / math.pi) / 2.0 * n
    x, y = int(math.floor(fx)), int(math.floor(fy))
    return {"x": x, "y": y, "px": (fx - x) * 4096.0, "py": (fy - y) * 4096.0}


def main(argv):
    if argv[1] == "decode":
        out = decode(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif argv[1] == "locate":
        out = locate(float(argv[2]), float(argv[3]), int(argv[4]))
    else:
        raise SystemExit(__doc__)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
