"""Helper of scripts/bench-vs-tippecanoe.sh: per-zoom figures of an MBTiles, and the side-by-side report.

  bench_tippecanoe.py stats --dataset D --pair P --tool T --zooms 0-14 --status N --wall S --rss M --log L FILE
      prints one JSON line: the run and, when FILE exists, its tiles, bytes and per zoom tiles, bytes, largest
      tile and features (every tile decoded with mapbox_vector_tile's protobuf schema: gzip, zlib or plain).
  bench_tippecanoe.py report RUNS.jsonl OUT.json HEADER
      prints a table per dataset and pair, the speed ratio tippecanoe / tilepress and the Malta targets, and
      writes everything to OUT.json.

Both tools store TMS rows; tilepress's `tiles` is a view over `map` and `images`, tippecanoe's may be a table:
`SELECT ... FROM tiles` reads either.
"""

import argparse
import gzip
import json
import os
import sqlite3
import sys
import zlib

from mapbox_vector_tile.Mapbox import vector_tile_pb2

KIB = 1024


def inflate(data):
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:1] == b"\x78":
        try:
            return zlib.decompress(data)
        except zlib.error:
            return data
    return data


def features(data):
    tile = vector_tile_pb2.tile()
    tile.ParseFromString(inflate(data))
    return sum(len(layer.features) for layer in tile.layers)


def stats(path):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    zooms = {}
    compression = set()
    for z, x, row, data in conn.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
        data = bytes(data)
        compression.add("gzip" if data[:2] == b"\x1f\x8b" else "other")
        s = zooms.setdefault(z, {"tiles": 0, "bytes": 0, "max_bytes": 0, "max_tile": None, "features": 0})
        s["tiles"] += 1
        s["bytes"] += len(data)
        s["features"] += features(data)
        if len(data) > s["max_bytes"]:
            # XYZ address (MBTiles rows are TMS: y counted from the south).
            s["max_bytes"], s["max_tile"] = len(data), f"{z}/{x}/{(1 << z) - 1 - row}"
    conn.close()
    return {
        "tiles": sum(s["tiles"] for s in zooms.values()),
        "bytes": sum(s["bytes"] for s in zooms.values()),
        "file_bytes": os.path.getsize(path),
        "compression": sorted(compression),
        "zooms": {str(z): zooms[z] for z in sorted(zooms)},
    }


def cmd_stats(a):
    run = {
        "dataset": a.dataset,
        "pair": a.pair,
        "tool": a.tool,
        "zoom_range": a.zooms,
        "status": a.status,
        "wall_seconds": float(a.wall) if a.wall not in ("", "?") else None,
        "peak_rss_mib": float(a.rss) if a.rss not in ("", "?") else None,
        "log": a.log,
        "mbtiles": a.file,
        "known_failure": a.known_failure == "1",
    }
    if a.status == 0 and os.path.exists(a.file):
        run.update(stats(a.file))
    print(json.dumps(run))


def mib(n):
    return f"{n / KIB / KIB:.2f}"


def cell(run, key, fmt=str):
    if run is None or run.get(key) is None:
        return "-"
    return fmt(run[key])


def zoom(run, z, key):
    if run is None or "zooms" not in run:
        return None
    return run["zooms"].get(str(z), {}).get(key, 0)


def table(dataset, pair, ours, theirs):
    lines = [f"{dataset} z{(ours or theirs)['zoom_range']}, pair \"{pair}\""]
    for run in (ours, theirs):
        if run is None:
            continue
        name = run["tool"]
        if run["status"] != 0:
            why = "; [generalize] is not known to this tilepress yet" if run.get("known_failure") else ""
            lines.append(f"  {name:<10} FAILED (see log: {run['log']}.err; exit {run['status']}{why})")
            continue
        lines.append(
            f"  {name:<10} {run['wall_seconds']:8.2f} s  {cell(run, 'peak_rss_mib', lambda v: f'{v:.0f}'):>6} MiB RSS"
            f"  {run['tiles']:8d} tiles  {mib(run['bytes']):>8} MiB of tiles"
        )
    ratio = speed_ratio(ours, theirs)
    lines.append(f"  speed ratio tippecanoe/tilepress: {f'{ratio:.1f}x' if ratio else '-'}")
    head = f"  {'z':>3} | {'tiles':>7} {'KiB':>9} {'max KiB':>8} {'features':>9} | "
    head += f"{'tiles':>7} {'KiB':>9} {'max KiB':>8} {'features':>9} | {'feat %':>6}"
    lines.append(f"  {'':>3}   {'tilepress':<36}   {'tippecanoe':<36}")
    lines.append(head)
    zs = sorted({int(z) for run in (ours, theirs) if run and "zooms" in run for z in run["zooms"]})
    for z in zs:
        row = f"  {z:>3} |"
        for run in (ours, theirs):
            if run is None or "zooms" not in run:
                row += f" {'-':>7} {'-':>9} {'-':>8} {'-':>9} |"
                continue
            row += f" {zoom(run, z, 'tiles'):>7} {zoom(run, z, 'bytes') / KIB:>9.1f}"
            row += f" {zoom(run, z, 'max_bytes') / KIB:>8.1f} {zoom(run, z, 'features'):>9} |"
        ours_f, theirs_f = zoom(ours, z, "features"), zoom(theirs, z, "features")
        share = f"{100 * ours_f / theirs_f:.0f}" if ours_f is not None and theirs_f else "-"
        lines.append(row + f" {share:>6}")
    return lines


def speed_ratio(ours, theirs):
    ok = ours and theirs and ours["status"] == 0 and theirs["status"] == 0
    if not ok or not ours["wall_seconds"]:
        return None
    return theirs["wall_seconds"] / ours["wall_seconds"]


def targets(runs):
    """The Malta targets with the defaults, and speed on every dataset and pair: (name, passed, detail)."""
    found = {(r["dataset"], r["pair"], r["tool"]): r for r in runs}
    out = []
    ours, theirs = found.get(("malta", "defaults", "tilepress")), found.get(("malta", "defaults", "tippecanoe"))
    have = ours is not None and ours["status"] == 0 and "zooms" in ours
    have_theirs = theirs is not None and theirs["status"] == 0 and "zooms" in theirs
    if have:
        largest = max((s["max_bytes"], s["max_tile"]) for s in ours["zooms"].values())
        out.append(("malta: no tile over 500 KiB", largest[0] <= 500 * KIB, f"largest {largest[0] / KIB:.1f} KiB ({largest[1]})"))
        z0 = zoom(ours, 0, "max_bytes")
        out.append(("malta: z0 tile <= 50 KiB", z0 <= 50 * KIB, f"{z0 / KIB:.1f} KiB"))
    elif ours is not None:
        out.append(("malta: tilepress defaults build", False, "no output"))
    # (Malta's defaults pair not run, as with --only or --densest: no Malta targets to check.)
    if have and have_theirs:
        a = sum(zoom(ours, z, "bytes") for z in range(9))
        b = sum(zoom(theirs, z, "bytes") for z in range(9))
        out.append(("malta: z0-8 bytes <= tippecanoe's", a <= b, f"{a / KIB:.1f} KiB vs {b / KIB:.1f} KiB"))
        for z in range(6, 13):
            a, b = zoom(ours, z, "features"), zoom(theirs, z, "features")
            passed = b == 0 or a >= 0.8 * b
            share = f"{100 * a / b:.0f}%" if b else "-"
            out.append((f"malta: z{z} features >= 80% of tippecanoe's", passed, f"{a} vs {b} ({share})"))
    for dataset, pair in sorted({(r["dataset"], r["pair"]) for r in runs}):
        ratio = speed_ratio(found.get((dataset, pair, "tilepress")), found.get((dataset, pair, "tippecanoe")))
        detail = f"{ratio:.1f}x" if ratio else "a run failed"
        out.append((f"speed >= 3x tippecanoe: {dataset} {pair}", ratio is not None and ratio >= 3, detail))
    return out


def cmd_report(a):
    with open(a.runs) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    print(a.header)
    seen = []
    for r in runs:
        if (r["dataset"], r["pair"]) not in seen:
            seen.append((r["dataset"], r["pair"]))
    found = {(r["dataset"], r["pair"], r["tool"]): r for r in runs}
    for dataset, pair in seen:
        print()
        for line in table(dataset, pair, found.get((dataset, pair, "tilepress")), found.get((dataset, pair, "tippecanoe"))):
            print(line)
    print()
    print("targets (Malta with the defaults; speed on every dataset and pair):")
    checks = targets(runs)
    for name, passed, detail in checks:
        print(f"  {'PASS' if passed else 'MISS'}  {name}: {detail}")
    report = {
        "header": a.header,
        "runs": runs,
        "targets": [{"target": n, "pass": p, "detail": d} for n, p, d in checks],
    }
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stats")
    for key in ("dataset", "pair", "tool", "zooms", "wall", "rss", "log"):
        s.add_argument(f"--{key}", required=True)
    s.add_argument("--status", type=int, required=True)
    s.add_argument("--known-failure", default="0")
    s.add_argument("file")
    r = sub.add_parser("report")
    r.add_argument("runs")
    r.add_argument("out")
    r.add_argument("header")
    a = p.parse_args()
    {"stats": cmd_stats, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
