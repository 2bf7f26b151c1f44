"""Independent checks for the integration tests: decodes tiles with PyPI's mapbox-vector-tile (not our encoder's
code) and computes where a lon/lat lands in a tile with its own Web Mercator formula.

usage: mvt_probe.py decode MBTILES Z X Y     -> JSON {layer: {"extent", "version", "features": [...]}} (XYZ y; tile coords, y down)
       mvt_probe.py locate LON LAT Z         -> JSON {"x", "y", "px", "py"}: the XYZ tile and the position inside it (extent 4096)
       mvt_probe.py validity MBTILES         -> JSON {"polygons": N, "invalid": [first few, with GEOS's reason]} (shapely)
       mvt_probe.py properties MBTILES       -> JSON {"z/x/y": {layer: [properties of each feature, in tile order]}} (XYZ y)
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


def validity(path):
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    polygons, invalid = 0, []
    for z, x, row, data in con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for name, layer in mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}).items():
            for feature in layer["features"]:
                if "Polygon" not in feature["geometry"]["type"]:
                    continue
                polygons += 1
                geom = shape(feature["geometry"])
                if not geom.is_valid and len(invalid) < 10:
                    tile = f"{z}/{x}/{(1 << z) - 1 - row}"
                    invalid.append({"tile": tile, "layer": name, "reason": explain_validity(geom)})
    return {"polygons": polygons, "invalid": invalid}


def properties(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    tiles = {}
    for z, x, row, data in con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        layers = mapbox_vector_tile.decode(data)
        tiles[f"{z}/{x}/{(1 << z) - 1 - row}"] = {
            name: [feature["properties"] for feature in layer["features"]] for name, layer in layers.items()
        }
    return tiles


def main(argv):
    if argv[1] == "decode":
        out = decode(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif argv[1] == "validity":
        out = validity(argv[2])
    elif argv[1] == "properties":
        out = properties(argv[2])
    elif argv[1] == "locate":
        out = locate(float(argv[2]), float(argv[3]), int(argv[4]))
    else:
        raise SystemExit(__doc__)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
