#!/usr/bin/env bash
# Manifest write and diff at 100k and 1M tiles: wall time and peak memory (GNU time), to show that diff memory
# does not grow with the manifest size. Usage: scripts/bench-manifest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example gen_manifest
cargo build --release --quiet
mkdir -p out/bench
gen=target/release/examples/gen_manifest
bin=target/release/tilepress
stats=out/bench/time.txt
measure() { /usr/bin/time -o "$stats" -f '%e %M' "$@" >/dev/null 2>&1 || [ "$1" = "$bin" ]; read -r wall kb < <(tail -n 1 "$stats"); echo "$wall $((kb / 1024))"; }
printf '%-10s %-26s %8s %10s %10s\n' tiles step "wall s" "peak MiB" "file MiB"
for n in 100000 1000000; do
  for variant in a b; do
    every=0
    [ "$variant" = b ] && every=100   # 1% of tiles differ
    file="out/bench/m$n$variant.manifest.zst"
    read -r wall mib < <(measure "$gen" "$file" "$n" "$every")
    size=$(( $(stat -c %s "$file") / 1048576 ))
    printf '%-10s %-26s %8s %10s %10s\n' "$n" "write manifest ($variant)" "$wall" "$mib" "$size"
  done
  read -r wall mib < <(measure "$bin" diff "out/bench/m${n}a.manifest.zst" "out/bench/m${n}b.manifest.zst" --json)
  printf '%-10s %-26s %8s %10s\n' "$n" "diff (1% changed)" "$wall" "$mib"
done
