#!/usr/bin/env bash
# Requests per second of `blackbox replay --serve` against nginx serving the same recorded
# body as a static file, in one run. Needs wrk and nginx (apt-get install wrk nginx) and a
# release build (cargo build --release). Loopback only; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
# Ports picked free (three: nginx, replay's runner, replay's router).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NGINX_PORT=$(free_port); REPLAY_PORT=$(free_port); ROUTER_PORT=$(free_port)
BB=./target/release/blackbox
WORK=$(mktemp -d)
trap 'kill $SERVE 2>/dev/null || true; nginx -c "$WORK/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$WORK"' EXIT
JOB=bias-detection-1759330371966
P=/api/v1/jobs/$JOB/executions/all
"$BB" --db "$WORK/demo.redb" demo > /dev/null 2>&1
"$BB" --db "$WORK/demo.redb" replay --serve --at last --listen 127.0.0.1:$REPLAY_PORT --router-listen 127.0.0.1:$ROUTER_PORT > "$WORK/serve.out" 2>/dev/null &
SERVE=$!
sleep 1
mkdir -p "$WORK/www$(dirname $P)"
curl -sf "http://127.0.0.1:$REPLAY_PORT$P" -o "$WORK/www$P"
cat > "$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; location / { try_files \$uri =404; } }
}
CONF
nginx -c "$WORK/nginx.conf"
sleep 0.5
echo "body: $(wc -c < "$WORK/www$P") bytes"
echo -n "nginx:  "; wrk -t2 -c32 -d8s "http://127.0.0.1:$NGINX_PORT$P" | grep Requests/sec
echo -n "replay: "; wrk -t2 -c32 -d8s "http://127.0.0.1:$REPLAY_PORT$P" | grep Requests/sec
