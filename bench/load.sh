#!/usr/bin/env bash
# Load benchmark of `facematch serve` (not a test): two one-face photos re-encoded at about 640x480
# pixels, POST /verify from 1, 4 and 16 keep-alive connections, then RSS before and after 10,000
# requests (none when SOAK_REQUESTS is 0). Loopback only. Last, the service's efficiency: verifications/s
# at concurrency 4 over the ideal rate, cores / the CPU time of one verification of the same pair on one
# thread (facematch_bench --verify-loop, measured first in the same run); the last line is JSON.
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
cmake --build "$build" --target facematch_cli facematch_load facematch_bench >/dev/null

# One verification's CPU time, on one thread as each worker runs it, before the server starts.
single=$(OMP_NUM_THREADS=1 "$build/bench/facematch_bench" models --verify-loop "$faces/obama_1.jpg" "$faces/obama_2.jpg" 40)
cpu_ms=$(sed 's/.*"verify_640x480_cpu_ms":\([0-9.]*\).*/\1/' <<<"$single")

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
levels="$(mktemp)"
for c in 1 4 16; do run --concurrency "$c" --requests "$per_level" | tee -a "$levels"; done
if ((soak > 0)); then
  echo "load: $soak requests at concurrency 4 (RSS after warm-up -> after)"
  run --concurrency 4 --requests "$soak"
fi
read -r rate p99 < <(awk '$1 == "concurrency" && $2 == 4 {print $5, $11}' "$levels")
rm -f "$levels"
awk -v cores="$(nproc)" -v cpu="$cpu_ms" -v rate="$rate" -v p99="$p99" 'BEGIN {
  ideal = cores * 1000 / cpu
  printf "load: ideal %.1f verifications/s (%d cores / %.2f ms CPU per verification on one thread); concurrency 4: %.1f/s = %.1f%%, p99 %.1f ms\n", ideal, cores, cpu, rate, 100 * rate / ideal, p99
  printf "{\"service_efficiency\":%.3f,\"service_rate\":%.1f,\"service_ideal_rate\":%.1f,\"service_p99_ms\":%.1f,\"verify_cpu_ms\":%.2f}\n", rate / ideal, rate, ideal, p99, cpu
}'
kill -TERM $pid
wait $pid && echo "load: server exited 0 after SIGTERM"
