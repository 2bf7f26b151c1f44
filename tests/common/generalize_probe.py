"""Independent checks of generalization (tests/generalize.rs), with PyPI's mapbox-vector-tile and shapely: the source
features are matched to the tiles by their `osm_id` property.

usage: generalize_probe.py MBTILES SOURCE.geojson LAYER ZMIN ZMAX
  -> JSON {"zooms": {z: {"shown", "spanning"}}, "checked", "consistency": [...], "monotonic": [...], "thinned"}
  consistency: a feature shown at zoom z is missing from a tile of z whose inside (2% in from each edge) its
               geometry crosses (the tiles that share an edge disagree on it);
  monotonic:   a point shown at z is missing from z + 1;
  thinned:     (feature, zoom) pairs not shown at a zoom below ZMAX (so that the checks have something to catch).
"""
import gzip
import json
import math
import sqlite3
import sys
from collections import defaultdict

import mapbox_vector_tile
from shapely.geometry import box, shape


def tile_box(z, x, y, inset):
    n = 1 << z

    def lon(v):
        return v / n * 360.0 - 180.0

    def lat(v):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * v / n))))

    return box(lon(x + inset), lat(y + 1 - inset), lon(x + 1 - inset), lat(y + inset))


def tile_of(lon, lat, z):
    n = 1 << z
    lat = max(min(lat, 85.05), -85.05)
    fx = (lon + 180.0) / 360.0 * n
    r = math.radians(lat)
    fy = (1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0 * n
    return int(fx), int(fy)


def main(path, source, layer, zmin, zmax):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    tiles = defaultdict(dict)  # z -> (x, y) -> set of ids
    for z, x, row, data in con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        decoded = mapbox_vector_tile.decode(data).get(layer, {"features": []})
        tiles[z][(x, (1 << z) - 1 - row)] = {str(f["properties"].get("osm_id")) for f in decoded["features"]}
    with open(source) as f:
        features = {str(feat["properties"]["osm_id"]): feat for feat in json.load(f)["features"]}
    geoms = {k: shape(v["geometry"]) for k, v in features.items()}
    out = {"zooms": {}, "checked": 0, "consistency": [], "monotonic": [], "thinned": 0}
    shown = {}
    for z in range(zmin, zmax + 1):
        ids = set().union(*tiles[z].values()) if tiles[z] else set()
        shown[z] = ids
        spanning = 0
        for fid in ids:
            geom = geoms.get(fid)
            if geom is None:
                continue
            w, s, e, n = geom.bounds
            x0, y0 = tile_of(w, n, z)
            x1, y1 = tile_of(e, s, z)
            crossed = 0
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    if not geom.intersects(tile_box(z, x, y, 0.02)):
                        continue
                    crossed += 1
                    out["checked"] += 1
                    if fid not in tiles[z].get((x, y), set()) and len(out["consistency"]) < 10:
                        out["consistency"].append(f"{fid} missing from {z}/{x}/{y}")
            spanning += crossed > 1
        out["zooms"][z] = {"shown": len(ids), "spanning": spanning}
    for z in range(zmin, zmax):
        out["thinned"] += len(shown[zmax] - shown[z])
        for fid in shown[z]:
            if features.get(fid, {}).get("geometry", {}).get("type") == "Point" and fid not in shown[z + 1]:
                if len(out["monotonic"]) < 10:
                    out["monotonic"].append(f"point {fid} shown at z{z}, not at z{z + 1}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
