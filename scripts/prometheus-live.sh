#!/usr/bin/env bash
# The example alert rules against a real Prometheus server: plays a built-in scenario at 1x
# (`blackbox simulate`), records it (`record --interval 5s --metrics`), has Prometheus scrape
# the recorder and evaluate examples/alerts.yml every 5 s, and after the recording ends (and 90 s
# more, for BlackboxDown) prints each alert's firing windows in seconds from the recording's
# start: what `examples/alerts.test.yml` says promtool sees, seen by the real thing.
#
#   scripts/prometheus-live.sh [SCENARIO] [SECONDS]   (defaults: outage, the scenario's end + 60)
#
# Needs `prometheus` (Debian's package) and a release build (`cargo build --release`). Ports are
# picked free; everything lives in a temporary directory, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-outage}
bin=target/release/blackbox
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
command -v prometheus >/dev/null || { echo "needs prometheus (apt-get install prometheus)" >&2; exit 2; }
case "$scenario" in
    classic) end=862 ;; outage) end=700 ;; cutoff) end=900 ;; legacy) end=200 ;; slow) end=1230 ;;
    *) end=${2:?give the seconds to record for this scenario} ;;
esac
secs=${2:-$((end + 60))}
dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mport=$(free_port)
pport=$(free_port)

"$bin" simulate --scenario "$scenario" >"$dir/sim.out" 2>"$dir/sim.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^router:' "$dir/sim.out" 2>/dev/null && break; sleep 0.1; done
runner=$(sed -n 's/^runner: //p' "$dir/sim.out")
router=$(sed -n 's/^router: //p' "$dir/sim.out")

cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files: [$PWD/examples/alerts.yml]
scrape_configs:
  - job_name: recorder-under-test
    static_configs: [{targets: ["127.0.0.1:$mport"]}]
EOF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$pport" >"$dir/prometheus.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$pport/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done

start=$(date +%s)
echo "recording $scenario for ${secs}s at 1x (runner $runner, router $router; Prometheus on :$pport)" >&2
"$bin" --db "$dir/rec.redb" record --runner "$runner" --router "$router" --all-jobs \
    --interval 5s --metrics "127.0.0.1:$mport" --duration "${secs}s" >/dev/null 2>"$dir/record.err"
echo "recording ended at +$(( $(date +%s) - start ))s; 90 s more for BlackboxDown" >&2
sleep 90
stop=$(date +%s)
curl -fsG "http://127.0.0.1:$pport/api/v1/query_range" \
    --data-urlencode 'query=ALERTS{alertstate="firing"}' \
    --data-urlencode "start=$start" --data-urlencode "end=$stop" --data-urlencode step=5 \
    >"$dir/alerts.json"
python3 - "$dir/alerts.json" "$start" "$scenario" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))["data"]["result"]
start = int(sys.argv[2])
print(f"# {sys.argv[3]}: alerts firing (seconds from the recording's start; real Prometheus, 5 s scrape and evaluation)")
if not data:
    print("none")
for s in sorted(data, key=lambda s: s["metric"]["alertname"]):
    m = s["metric"]
    labels = {k: v for k, v in m.items() if k in ("server", "provider", "beacon_job", "region")}
    ts = [int(float(t)) - start for t, _ in s["values"]]
    windows, a = [], ts[0]
    for p, q in zip(ts, ts[1:]):
        if q - p > 10:
            windows.append((a, p)); a = q
    windows.append((a, ts[-1]))
    w = ", ".join(f"{x}-{y}" for x, y in windows)
    print(f"{m['alertname']}{labels if labels else ''}: {w}")
EOF
