#!/usr/bin/env bash
# Whole-process figures of the read commands on 1,000 snapshots x 10,000 executions (the
# recording `examples/synth` makes, 1 % change rate), and the ingest bench. For each command:
# median, min and max wall time of N runs and the peak RSS of one run.
# The output format is stable (one line per figure, fixed columns) so two runs can be diffed.
#
#   scripts/bench.sh [N] [WORK_DIR]      (default 15 runs; WORK_DIR keeps big.redb)
#   BENCH_SKIP_INGEST=1 scripts/bench.sh  (read paths only)
#   BB=/other/blackbox BENCH_SKIP_INGEST=1 scripts/bench.sh   (another build's read paths)
#   BENCH_SCALING=1 scripts/bench.sh     (also the scaling table: 100, 1,000, 10,000 snapshots
#                                         x 10,000 executions and 1,000 x 100,000; the
#                                         recordings, ~1.5 GB, are kept in WORK_DIR; ~15 min)
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
# The yardstick: this machine's speed at this moment, in process (python3's json.loads of a
# 10 MB document, median of 7), so that figures of two days can be told apart from the machine.
python3 - <<'PY'
import json, statistics, time
def row(i):
    return {"id": 100000 + i, "job_id": "bias-detection-bench", "status": "failed", "region": "eu-west",
            "provider_id": "", "started_at": "2025-10-01T14:53:09Z", "completed_at": "2025-10-01T14:55:09Z",
            "created_at": "2025-10-01T14:53:09Z", "has_receipt": False,
            "output": {"error": "hybrid error: hybrid timeout", "error_code": "ROUTER_TIMEOUT",
                       "failure": {"stage": "router_http_timeout", "code": "ROUTER_TIMEOUT", "transient": True}},
            "model_id": "mistral-7b", "question_id": "q%05d" % (i // 9), "retry_count": 0, "max_retries": 3,
            "retry_history": [], "is_substantive": False, "response_classification": "unknown"}
rows, size = [], 0
while size < 10_000_000:
    r = json.dumps(row(len(rows))); rows.append(r); size += len(r) + 1
doc = '{"executions":[' + ",".join(rows) + "]}"
times = []
for _ in range(7):
    t = time.perf_counter(); json.loads(doc); times.append((time.perf_counter() - t) * 1e3)
print("# yardstick: python3 json.loads of %.1f MB of execution rows: median %.1f ms" % (len(doc) / 1e6, statistics.median(times)))
PY
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

# The scaling table: each read command at 100, 1,000 and 10,000 snapshots of 10,000 executions
# and at 1,000 snapshots of 100,000, with the exponent fitted to the three snapshot counts
# (least squares on log-log: 1.0 = linear in the recording's length) and the one between
# 10,000 and 100,000 executions. Medians of fewer runs (5; 3 at the largest).
if [ -n "${BENCH_SCALING:-}" ]; then
    echo
    echo "# scaling: median ms (runs) at snapshots x executions; exponent in snapshots, in executions"
    for sz in 100x10000 1000x10000 10000x10000 1000x100000; do
        s=${sz%x*} e=${sz#*x}
        f=$work/scale-$sz.redb
        [ -f "$f" ] || target/release/examples/synth --executions "$e" --snapshots "$s" --db "$f" >/dev/null
    done
    printf '%-26s %10s %10s %10s %11s %7s %7s\n' command 100x10k 1kx10k 10kx10k 1kx100k exp_snap exp_exec
    scale() {
        local name=$1
        shift
        local figures=()
        for sz in 100x10000 1000x10000 10000x10000 1000x100000; do
            local s=${sz%x*} runs=5
            [ "$sz" = 1000x10000 ] || [ "$sz" = 100x10000 ] || runs=3
            # `show --at MID`: the middle snapshot of each recording.
            local args=("${@//MID/$((s / 2))}")
            "$bb" --db "$work/scale-$sz.redb" "${args[@]}" >/dev/null 2>&1 || { echo "bench.sh: $name failed on $sz" >&2; exit 1; }
            hyperfine -N -w 1 -r "$runs" --export-json "$work/hf.json" "$bb --db $work/scale-$sz.redb ${args[*]}" >/dev/null 2>&1
            figures+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"]*1e3)' "$work/hf.json")")
        done
        python3 -c '
import math, sys
name = sys.argv[1]
a, b, c, d = (float(x) for x in sys.argv[2:6])
xs = [math.log(100), math.log(1000), math.log(10000)]
ys = [math.log(a), math.log(b), math.log(c)]
mx, my = sum(xs) / 3, sum(ys) / 3
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
exec_exp = math.log(d / b) / math.log(10)
print("%-26s %10.1f %10.1f %10.1f %11.1f %7.2f %7.2f" % (name, a, b, c, d, slope, exec_exp))
' "$name" "${figures[@]}"
    }
    scale "report --format json" report --format json
    scale "report --format html" report --format html
    scale "replay --json" replay --json
    scale "verify" verify
    scale "snapshots --json" snapshots --json
    scale "show --at MID" show --at MID
    scale "diff first last --json" diff first last --json
fi
