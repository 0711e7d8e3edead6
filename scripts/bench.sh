#!/usr/bin/env bash
# Whole-process figures of the read commands on 1,000 snapshots x 10,000 executions (the
# recording `examples/synth` makes, 1 % change rate), and the ingest bench. For each command:
# median, min and max wall time of N runs and the peak RSS of one run.
# The output format is stable (one line per figure, fixed columns) so two runs can be diffed.
#
#   scripts/bench.sh [N] [WORK_DIR]      (default 15 runs; WORK_DIR keeps big.redb)
#   BENCH_SKIP_INGEST=1 scripts/bench.sh  (read paths only)
#   BB=/other/blackbox BENCH_SKIP_INGEST=1 scripts/bench.sh   (another build's read paths)
#
# Needs /usr/bin/time (Debian package `time`). Run on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-15}
work=${2:-${TMPDIR:-/tmp}/blackbox-bench}
mkdir -p "$work"
cargo build --release --quiet --bin blackbox --example synth
# BB=path/to/blackbox measures another build (an older commit's) on the same recording.
bb=${BB:-$PWD/target/release/blackbox}
db=$work/big.redb
if [ ! -f "$db" ]; then
    target/release/examples/synth --executions 10000 --snapshots 1000 --db "$db" >/dev/null
fi
[ -x /usr/bin/time ] || { echo "bench.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

echo "# scripts/bench.sh $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
echo "# $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes')  $(wc -c <"$db" | awk '{printf "%.0f MiB", $1/1048576}') recording, $n runs each, timed by $(command -v hyperfine >/dev/null && hyperfine --version || echo 'date (+~2 ms)')"
printf '%-28s %8s %8s %8s %9s %8s\n' command median_ms min_ms max_ms rss_mib target

# run NAME TARGET_MS ARGS...: N runs of blackbox ARGS (output to /dev/null) after warm-ups:
# with hyperfine (no shell between, `cargo install hyperfine@1.20.0 --locked`) when present,
# else a loop timed with `date`, which adds about 2 ms of its own to every figure.
run() {
    local name=$1 target=$2
    shift 2
    "$bb" --db "$db" "$@" >/dev/null 2>&1 || { echo "bench.sh: $name failed" >&2; exit 1; }
    /usr/bin/time -o "$work/rss" -f '%M' "$bb" --db "$db" "$@" >/dev/null 2>&1
    local rss med min max
    rss=$(tail -1 "$work/rss")
    if command -v hyperfine >/dev/null; then
        local cmd="$bb --db $db $*"
        hyperfine -N -w 3 -r "$n" --export-json "$work/hf.json" "$cmd" >/dev/null 2>&1
        read -r med min max < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["median"]*1e6, r["min"]*1e6, r["max"]*1e6)' "$work/hf.json")
    else
        local times=()
        for _ in $(seq "$n"); do
            local t0 t1
            t0=$(date +%s%N)
            "$bb" --db "$db" "$@" >/dev/null 2>&1
            t1=$(date +%s%N)
            times+=($(( (t1 - t0) / 1000 )))
        done
        local sorted
        sorted=$(printf '%s\n' "${times[@]}" | sort -n)
        med=$(echo "$sorted" | sed -n "$(( (n + 1) / 2 ))p")
        min=$(echo "$sorted" | head -1)
        max=$(echo "$sorted" | tail -1)
    fi
    awk -v nm="$name" -v a="$med" -v b="$min" -v c="$max" -v r="$rss" -v t="$target" \
        'BEGIN{printf "%-28s %8.1f %8.1f %8.1f %9.1f %8s\n", nm, a/1000, b/1000, c/1000, r/1024, t}'
}

run "report --format json" "<=100" report --format json
run "report --format html" "<=120" report --format html
run "replay --json" "<=250" replay --json
run "verify" "<=300" verify
run "snapshots --json" "<=100" snapshots --json
run "show --at 500" "<=15" show --at 500
run "diff first last --json" "<=50" diff first last --json

if [ -z "${BENCH_SKIP_INGEST:-}" ]; then
    # criterion's estimate (low, mid, high) for one 13.7 MB, 10,000-row poll with 1 % changed:
    # without the commit's fsync (the target), and durable.
    cargo bench --quiet --bench store -- 'ingest/' 2>/dev/null | python3 -c '
import re, sys
name = None
for line in sys.stdin:
    m = re.match(r"^(ingest/\S+)", line)
    if m:
        name = m.group(1)
    t = re.search(r"time:\s+\[([\d.]+) (\S+) ([\d.]+) (\S+) ([\d.]+) (\S+)\]", line)
    if t and name:
        scale = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
        lo, mid, hi = (float(t.group(i)) * scale[t.group(i + 1)] for i in (1, 3, 5))
        label = "ingest 10k, no fsync" if name == "ingest/10k" else "ingest 10k, durable"
        target = "<=20" if name == "ingest/10k" else "-"
        print("%-28s %8.1f %8.1f %8.1f %9s %8s" % (label, mid, lo, hi, "-", target))
        name = None
'
fi
