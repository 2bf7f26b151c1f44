"""Writes a copy of a GeoJSON FeatureCollection with some features moved, for the delivery bench.

  move_features.py IN OUT --every N --metres M      every Nth feature (1%: N=100) moved M metres east
  move_features.py IN OUT --where A3=MLT,LUX --degrees D   the features whose property matches, moved D degrees east

Deterministic: the same arguments always move the same features by the same amount.
"""
import argparse
import json
import math


def shift(coords, dlon):
    if isinstance(coords[0], (int, float)):
        return [coords[0] + dlon, *coords[1:]]
    return [shift(c, dlon) for c in coords]


def first_lat(coords):
    while not isinstance(coords[0], (int, float)):
        coords = coords[0]
    return coords[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--every", type=int)
    p.add_argument("--metres", type=float, default=10.0)
    p.add_argument("--where")
    p.add_argument("--degrees", type=float, default=0.05)
    a = p.parse_args()
    with open(a.input) as f:
        data = json.load(f)
    moved = 0
    key, values = (a.where.split("=", 1)[0], set(a.where.split("=", 1)[1].split(","))) if a.where else (None, set())
    for i, feature in enumerate(data["features"]):
        geom = feature.get("geometry")
        if not geom or "coordinates" not in geom:
            continue
        if a.every and i % a.every == 0:
            lat = first_lat(geom["coordinates"])
            dlon = a.metres / (111_320.0 * math.cos(math.radians(lat)))
        elif key and str(feature.get("properties", {}).get(key)) in values:
            dlon = a.degrees
        else:
            continue
        geom["coordinates"] = shift(geom["coordinates"], dlon)
        moved += 1
    with open(a.output, "w") as f:
        json.dump(data, f)
    print(f"{moved} of {len(data['features'])} features moved")


if __name__ == "__main__":
    main()
