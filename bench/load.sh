#!/usr/bin/env bash
# Load benchmark of `facematch serve` (not a test): two one-face photos re-encoded at about 640x480
# pixels, POST /verify from 1, 4 and 16 keep-alive connections, then RSS before and after 10,000
# requests. Loopback only.
#
#   bench/load.sh [BUILD_DIR] [REQUESTS_PER_LEVEL] [SOAK_REQUESTS]     (defaults: build/release 200 10000)
#
# Server flags can be added through FACEMATCH_* environment variables (e.g. FACEMATCH_WORKERS=2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${1:-build/release}"
per_level="${2:-200}"
soak="${3:-10000}"
faces="${FACEMATCH_SHARED:-../shared}/faces"
cmake --build "$build" --target facematch_cli facematch_load >/dev/null

log="$(mktemp)"
out="$(mktemp)"
"$build/facematch" serve --port 0 --log-level warn >"$out" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log" "$out"' EXIT
for _ in $(seq 600); do grep -q listening "$out" && break; sleep 0.1; done
port="$(grep -o '[0-9]*$' "$out")"
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

echo "load: $(nproc) cores, server pid $pid, port $port, $(grep -c . /proc/loadavg >/dev/null; cut -d' ' -f1-3 /proc/loadavg) load average before"
run() { "$build/facematch_load" --port "$port" --pid "$pid" --img1 "$faces/obama_1.jpg" --img2 "$faces/obama_2.jpg" "$@"; }
run --concurrency 4 --requests 40 >/dev/null  # warm every worker
for c in 1 4 16; do run --concurrency "$c" --requests "$per_level"; done
echo "load: $soak requests at concurrency 4 (RSS after warm-up -> after)"
run --concurrency 4 --requests "$soak"
kill -TERM $pid
wait $pid && echo "load: server exited 0 after SIGTERM"
