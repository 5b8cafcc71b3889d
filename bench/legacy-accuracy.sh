#!/usr/bin/env bash
# Accuracy of the original route `POST /` as its real clients call it (whole photos squashed to 224x224
# BGR arrays) next to `POST /verify` (the original JPEGs) on the first N calibration pairs (not a test).
# Starts `facematch serve --port 0` from BUILD_DIR, waits for /readyz, runs bench/legacy_accuracy.cpp,
# stops the server. Loopback only.
#
#   bench/legacy-accuracy.sh [BUILD_DIR] [N] [CLIENT FLAGS...]    (defaults: build/release 1000; N=0: all 11,662)
#   bench/legacy-accuracy.sh build/release 1000 --detect-only     (squashed photos with no face, by aspect)
#   bench/legacy-accuracy.sh build/release 1000 --concurrency 4
#
# Server flags can be added through FACEMATCH_* environment variables (e.g. FACEMATCH_THRESHOLD=0.55).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${1:-build/release}"
pairs_limit="${2:-1000}"
shift $(($# < 2 ? $# : 2))
pairs_csv="${FACEMATCH_SHARED:-../shared}/calibration/pairs.csv"
[ -f "$pairs_csv" ] || { echo "legacy-accuracy: $pairs_csv is missing (set FACEMATCH_SHARED)" >&2; exit 2; }
cmake --build "$build" --target facematch_cli facematch_legacy_accuracy >/dev/null

log="$(mktemp)"
out="$(mktemp)"
"$build/facematch" serve --port 0 --bind 127.0.0.1 --log-level warn >"$out" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log" "$out"' EXIT
for _ in $(seq 600); do grep -q listening "$out" && break; sleep 0.1; done
port="$(grep -o '[0-9]*$' "$out")"
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "legacy-accuracy: server not ready" >&2; cat "$log" >&2; exit 1; }

echo "legacy-accuracy: $(nproc) cores, server $build/facematch (pid $pid, port $port), $(git rev-parse --short HEAD), load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/facematch_legacy_accuracy" --port "$port" --pairs "$pairs_csv" --limit "$pairs_limit" "$@"
kill -TERM $pid
wait $pid || { echo "legacy-accuracy: server exited with $?; its log:" >&2; cat "$log" >&2; exit 1; }
