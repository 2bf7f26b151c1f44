"""Helper of scripts/bench-vs-tilemaker.sh: counts one MBTiles (tiles, features per layer, decoded with PyPI's
mapbox-vector-tile) and prints the report table and JSON.

usage: bench_tilemaker.py stats --dataset D --tool T --wall S --rss MIB MBTILES   -> one JSON line
       bench_tilemaker.py report RUNS.jsonl OUT.json HEADER                        -> table, targets, JSON file
"""
import argparse
import gzip
import json
import sqlite3
import sys

import mapbox_vector_tile


def stats(args):
    row = {"dataset": args.dataset, "tool": args.tool, "wall_s": float(args.wall), "peak_rss_mib": float(args.rss)}
    con = sqlite3.connect(f"file:{args.mbtiles}?mode=ro", uri=True)
    tiles, layers = 0, {}
    for (data,) in con.execute("SELECT tile_data FROM tiles"):
        tiles += 1
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for name, layer in mapbox_vector_tile.decode(data).items():
            layers[name] = layers.get(name, 0) + len(layer["features"])
    row.update(tiles=tiles, features=sum(layers.values()), layers=dict(sorted(layers.items())))
    print(json.dumps(row))


def report(runs_path, out_path, header):
    runs = [json.loads(line) for line in open(runs_path) if line.strip()]
    by = {(r["dataset"], r["tool"]): r for r in runs}
    print(header)
    print(f"{'dataset':<8} {'tool':<10} {'wall s':>7} {'RSS MiB':>8} {'tiles':>6} {'features':>9}")
    for r in runs:
        print(f"{r['dataset']:<8} {r['tool']:<10} {r['wall_s']:>7.2f} {r['peak_rss_mib']:>8.0f} {r['tiles']:>6} {r['features']:>9}")
    names = sorted({n for r in runs for n in r["layers"]})
    print("\nfeatures per layer (summed over every tile)")
    datasets = sorted({r["dataset"] for r in runs})
    cols = [(d, t) for d in datasets for t in ("tilepress", "tilemaker") if (d, t) in by]
    print(f"{'layer':<20}" + "".join(f"{d + ' ' + t:>20}" for d, t in cols))
    for n in names:
        print(f"{n:<20}" + "".join(f"{by[c]['layers'].get(n, 0):>20}" for c in cols))
    targets = []
    for d in datasets:
        ours, theirs = by.get((d, "tilepress")), by.get((d, "tilemaker"))
        if not ours or not theirs:
            continue
        speed = theirs["wall_s"] / max(ours["wall_s"], 1e-9)
        memory = ours["peak_rss_mib"] / max(theirs["peak_rss_mib"], 1e-9)
        targets.append({"dataset": d, "speedup": round(speed, 2), "memory_ratio": round(memory, 3),
                        "speed_pass": speed >= 2.0, "memory_pass": memory <= 0.25})
    print()
    for t in targets:
        print(f"{'PASS' if t['speed_pass'] else 'FAIL'} {t['dataset']}: >= 2x tilemaker's speed ({t['speedup']:.2f}x)")
        print(f"{'PASS' if t['memory_pass'] else 'FAIL'} {t['dataset']}: <= 1/4 of its peak RSS ({t['memory_ratio']:.3f})")
    with open(out_path, "w") as f:
        json.dump({"header": header, "runs": runs, "targets": targets}, f, indent=1)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "report":
        report(*sys.argv[2:5])
        return
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["stats"])
    for k in ("--dataset", "--tool", "--wall", "--rss"):
        p.add_argument(k, required=True)
    p.add_argument("mbtiles")
    stats(p.parse_args())


if __name__ == "__main__":
    main()
