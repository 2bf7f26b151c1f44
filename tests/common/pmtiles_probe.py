"""Reads a PMTiles with the reference Python reader (PyPI `pmtiles`), for tests/pmtiles.rs.

  pmtiles_probe.py all PATH            -> {"header": {...}, "metadata": {...}, "tiles": {"z/x/y": sha256}}
  pmtiles_probe.py get PATH z/x/y...   -> {"z/x/y": sha256 or null}
"""
import hashlib
import json
import sys

from pmtiles.reader import MmapSource, Reader, all_tiles


def header_json(h):
    return {k: (v.name.lower() if hasattr(v, "name") else v) for k, v in h.items()}


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        source = MmapSource(f)
        reader = Reader(source)
        if mode == "all":
            tiles = {f"{z}/{x}/{y}": hashlib.sha256(data).hexdigest() for (z, x, y), data in all_tiles(source)}
            out = {"header": header_json(reader.header()), "metadata": reader.metadata(), "tiles": tiles}
        else:
            out = {}
            for zxy in sys.argv[3:]:
                z, x, y = (int(p) for p in zxy.split("/"))
                data = reader.get(z, x, y)
                out[zxy] = hashlib.sha256(data).hexdigest() if data else None
    json.dump(out, sys.stdout)


main()
