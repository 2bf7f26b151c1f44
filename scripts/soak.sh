#!/usr/bin/env bash
# The store model test (tests/store_model.rs) at soak size: CASES cases (default 100,000) for each of its two
# properties, split over JOBS processes per property, each with its own proptest seed, so that the run ends in
# about half an hour on 2 cores. Why split: the in-memory store's cases mostly sleep (its random delays), so many
# run side by side on one core; the file store's cases are CPU-bound and get one process per core. The file store
# runs on tmpfs (/dev/shm) when the machine has it: the soak is about interleavings of the protocol, not the disk,
# and fsync on a real disk would make it five times slower.
# Usage: scripts/soak.sh [CASES]    (env: MEMORY_JOBS=8 FILE_JOBS=2, SEED=base seed, default the date)
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-100000}
memory_jobs=${MEMORY_JOBS:-8}
file_jobs=${FILE_JOBS:-$(nproc)}
seed=${SEED:-$(date +%Y%m%d)}
bin=$(cargo test --release --test store_model --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "store_model":
        print(m["executable"])')
[ -x "$bin" ] || { echo "soak: could not build the store_model test" >&2; exit 1; }
tmp=/dev/shm
[ -d "$tmp" ] && [ -w "$tmp" ] || tmp=${TMPDIR:-/tmp}
logs=out/soak
rm -rf "$logs" && mkdir -p "$logs"
echo "soak: $cases cases per property; memory store in $memory_jobs processes, file store in $file_jobs (TMPDIR=$tmp); seed $seed; logs in $logs/"
start=$(date +%s)
pids=()
run() { # property jobs index
  local property=$1 jobs=$2 i=$3
  local share=$(((cases + jobs - 1) / jobs))
  [ "$i" -eq $((jobs - 1)) ] && share=$((cases - share * (jobs - 1)))
  PROPTEST_CASES=$share PROPTEST_RNG_SEED=$((seed * 100 + i)) TMPDIR=$tmp \
    "$bin" --exact "$property" --test-threads 1 >"$logs/$property-$i.log" 2>&1
}
for i in $(seq 0 $((memory_jobs - 1))); do
  run a_slow_memory_store_keeps_every_live_version_complete "$memory_jobs" "$i" &
  pids+=($!)
done
for i in $(seq 0 $((file_jobs - 1))); do
  run the_file_store_keeps_every_live_version_complete "$file_jobs" "$i" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
seconds=$(($(date +%s) - start))
passed=$(grep -l "test result: ok. 1 passed" "$logs"/*.log | wc -l)
echo "soak: $passed of ${#pids[@]} processes passed, $((2 * cases)) cases in ${seconds} s"
if [ "$failed" -gt 0 ]; then
  grep -l "FAILED\|panicked" "$logs"/*.log | while read -r log; do
    echo "--- $log" && grep -A30 "panicked\|minimal failing input" "$log" | head -60
  done
  exit 1
fi
