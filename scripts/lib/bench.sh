#!/usr/bin/env bash
# Shared by the bench scripts (source it; set `bench_name` first): GNU time detection, the release build (into
# $CARGO_TARGET_DIR when set, else target/), and `run LOG CMD...` / `try_run LOG CMD...`, which time one command.
# shellcheck disable=SC2034,SC2154  # sets variables the sourcing script reads; reads its bench_name and root

# GNU time gives wall time and peak RSS; without it, bash's `time` gives wall time only.
gnu_time=0
if /usr/bin/time --version 2>&1 | grep -q 'GNU'; then
    gnu_time=1
else
    echo "$bench_name: GNU time (/usr/bin/time) not found: timing with bash, peak memory unknown" >&2
fi

echo "building tilepress (cargo build --release)..." >&2
cargo build --release --quiet
target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" == /* ]] || target_dir="$root/$target_dir"
tilepress="$target_dir/release/tilepress"
revision="$(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')"

# run LOG CMD... : runs CMD with stdout and stderr into LOG.out / LOG.err; sets `wall` (s) and `rss` (MiB or ?).
# Exits the script with the tool's status if it fails.
run() {
    local log="$1"
    try_run "$@"
    if ((status != 0)); then
        shift
        echo "$bench_name: failed (exit $status): $*" >&2
        tail -n 20 "$log.err" >&2
        exit "$status"
    fi
}

# try_run LOG CMD... : as `run`, but does not exit: sets `status` (0 on success; on failure `wall` and `rss` are ?).
try_run() {
    local log="$1"
    shift
    status=0
    if ((gnu_time)); then
        /usr/bin/time -f '%e %M' -o "$log.time" "$@" >"$log.out" 2>"$log.err" || status=$?
    else
        local TIMEFORMAT='%R'
        { time "$@" >"$log.out" 2>"$log.err"; } 2>"$log.time" || status=$?
    fi
    if ((status != 0)); then
        wall="?"
        rss="?"
        return 0
    fi
    local line
    line="$(tail -n 1 "$log.time")"
    wall="${line%% *}"
    if ((gnu_time)); then
        rss="$(awk -v kib="${line##* }" 'BEGIN { printf "%.0f", kib / 1024 }')"
    else
        rss="?"
    fi
}
