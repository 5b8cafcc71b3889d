#!/usr/bin/env bash
# Memory of one replica run as deploy/kubernetes runs it (not a test; docs/deployment.md sizes the
# Deployment's memory request and limit from it): `facematch serve` with the Deployment's literal
# FACEMATCH_* variables (read from deploy/kubernetes/base/deployment.yaml), API keys on and the gallery
# in a throw-away PostgreSQL 15, then its resident size idle after the warm-up and its peak (VmHWM,
# reset between phases through /proc/PID/clear_refs) under each load in turn:
#
#   1. /verify of two photos re-encoded at about 640x480 from 4 keep-alive connections (bench/load.sh's),
#      in five rounds, to see whether the resident size levels off
#   2. /identify against an enrolled gallery from 4 connections
#   3. /verify of the same photos at 12 megapixels (a phone camera's) from 16 connections, so that
#      requests also wait in the queue holding their bodies
#   4. the same from workers + queue + 16 connections, one per server thread: every thread holding a
#      body, the admitted ones parsed (the queue full), the others refused with 429 once read
#
#   bench/memory.sh [BUILD_DIR] [REQUESTS]     (defaults: build/release 5000; phases 2-4 send a tenth)
#
# Loopback only: the server binds 127.0.0.1, not the image's 0.0.0.0 (the address changes nothing else).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${1:-build/release}"
requests="${2:-5000}"
faces="${FACEMATCH_SHARED:-../shared}/faces"
manifest=deploy/kubernetes/base/deployment.yaml
pg_bin=/usr/lib/postgresql/15/bin
for f in obama_1.jpg obama_2.jpg biden_1.jpg biden_2.jpg kit_harington_1.jpg kit_harington_2.jpg; do
  [[ -f "$faces/$f" ]] || { echo "memory: $faces/$f is missing (set FACEMATCH_SHARED)" >&2; exit 2; }
done
[[ -x "$pg_bin/initdb" ]] || { echo "memory: $pg_bin/initdb is missing (./setup.sh installs postgresql-15)" >&2; exit 2; }
cmake --build "$build" --target facematch_cli facematch_load >/dev/null

tmp="$(mktemp -d)"
pg="$(mktemp -d)"  # its own folder: the server's user must own it
pid=
pg_ctl=("$pg_bin/pg_ctl" -D "$pg/data" -w)
as_postgres=()
cleanup() {
  [[ -z "$pid" ]] || kill -KILL "$pid" 2>/dev/null || true
  "${as_postgres[@]}" "${pg_ctl[@]}" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp" "$pg"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root; Debian's package creates the postgres user for it.
if ((EUID == 0)); then
  chown postgres: "$pg"
  as_postgres=(runuser -u postgres --)
fi
pg_port="$(free_port)"
"${as_postgres[@]}" "$pg_bin/initdb" -D "$pg/data" -U postgres -A trust -E UTF8 >/dev/null
"${as_postgres[@]}" "${pg_ctl[@]}" -l "$pg/server.log" \
  -o "-p $pg_port -k $pg -c listen_addresses=127.0.0.1" start >/dev/null
"${as_postgres[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres facematch

# The Deployment's literal variables (`- name: FACEMATCH_X` then `value: ...`); the two from its Secret
# are this run's database and key. An empty cache folder: the pod's root file system is read-only, so
# each pod measures its precisions during the warm-up, as this one does.
mapfile -t deployment_env < <(awk '$1 == "-" && $2 == "name:" && $3 ~ /^FACEMATCH_/ {
  name = $3; getline; if ($1 == "value:") { v = $2; gsub(/"/, "", v); print name "=" v } }' "$manifest")
key="memory-bench-key"
mkdir -p "$tmp/cache"
env "${deployment_env[@]}" FACEMATCH_GALLERY="postgresql://postgres@127.0.0.1:$pg_port/facematch" \
  FACEMATCH_API_KEYS="$key" FACEMATCH_MODELS="$PWD/models" FACEMATCH_CACHE_DIR="$tmp/cache" \
  "$build/facematch" serve --bind 127.0.0.1 --port 0 >"$tmp/serve.out" 2>"$tmp/serve.log" &
pid=$!
started=$SECONDS
for _ in $(seq 600); do grep -q listening "$tmp/serve.out" && break; sleep 0.1; done
port="$(grep -o '[0-9]*$' "$tmp/serve.out")"
for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$tmp/serve.log" >&2; echo "memory: not ready" >&2; exit 1; }

kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
mib() { echo "$(( ($1 + 512) / 1024 )) MiB ($1 kB)"; }
reset_peak() { echo 5 >"/proc/$pid/clear_refs"; }  # VmHWM := VmRSS (Linux: clear_refs)
phase() { echo "memory: $1: RSS $(mib "$(kib VmRSS)"), peak $(mib "$(kib VmHWM)")"; }

date -u +%Y-%m-%dT%H:%M:%SZ
echo "memory: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${deployment_env[*]}"
echo "memory: ready $((SECONDS - started)) s after the start"
phase "warm-up (peak since the start)"
sleep 5
reset_peak
sleep 5
phase "idle 10 s after the warm-up"

# A failed request (its status is counted in the line above) does not end the measurement.
load() {
  "$build/facematch_load" --port "$port" --pid "$pid" --api-key "$key" \
    --img1 "$faces/obama_1.jpg" --img2 "$faces/obama_2.jpg" "$@" || echo "memory: not every answer was 200"
}
reset_peak
for round in 1 2 3 4 5; do
  load --concurrency 4 --requests $((requests / 5))
  phase "1. /verify 640x480 pairs, 4 connections, round $round of 5 ($((requests / 5)) requests)"
done

# JSON bodies written once; curl sends them from files.
body() {  # FIELD PHOTO
  python3 -c 'import base64, json, sys; print(json.dumps({sys.argv[1]: base64.b64encode(open(sys.argv[2], "rb").read()).decode()}))' "$1" "$2"
}
auth=(-H "Authorization: Bearer $key" -H 'Content-Type: application/json')
for s in obama biden kit_harington; do
  body img "$faces/${s}_1.jpg" >"$tmp/enrol-$s.json"
  body img "$faces/${s}_2.jpg" >"$tmp/identify-$s.json"
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" --data-binary "@$tmp/enrol-$s.json" \
    "http://127.0.0.1:$port/subjects/$s/faces")" == 201 ]] || { echo "memory: enrolling $s failed" >&2; exit 1; }
done
reset_peak
per_client=$((requests / 10 / 4))
for c in 1 2 3 4; do
  (
    for i in $(seq "$per_client"); do
      s=(obama biden kit_harington)
      curl -sf -o /dev/null "${auth[@]}" --data-binary "@$tmp/identify-${s[$(((i + c) % 3))]}.json" \
        "http://127.0.0.1:$port/identify" || { echo "memory: /identify failed" >&2; exit 1; }
    done
  ) &
done
wait_all=0
for job in $(jobs -p); do [[ "$job" == "$pid" ]] || wait "$job" || wait_all=1; done
((wait_all == 0)) || exit 1
phase "2. /identify, 3 subjects enrolled, 4 connections, $((per_client * 4)) requests"

reset_peak
load --concurrency 16 --requests $((requests / 10)) --pixels 12000000
phase "3. /verify 12-megapixel pairs, 16 connections, $((requests / 10)) requests"
# The server's thread pool: workers + queue + 16 (src/server/server.cpp), from the same settings.
workers="$(curl -sf "http://127.0.0.1:$port/readyz" | python3 -c 'import json, sys; print(json.load(sys.stdin)["workers"])')"
queue="$(curl -sf "http://127.0.0.1:$port/readyz" | python3 -c 'import json, sys; print(json.load(sys.stdin)["queue"])')"
threads=$((workers + queue + 16))
reset_peak
load --concurrency "$threads" --requests $((requests / 10)) --pixels 12000000
phase "4. /verify 12-megapixel pairs, $threads connections ($workers workers, queue $queue), $((requests / 10)) requests"

# SIGTERM starts the drain delay; the second signal ends its wait.
kill -TERM "$pid"
sleep 1
kill -TERM "$pid" 2>/dev/null || true
status=0
wait "$pid" || status=$?
pid=
echo "memory: server exited $status after SIGTERM"
echo "memory: the server logged $(grep -c '\[warning\]' "$tmp/serve.log" || true) warnings and $(grep -c '\[error\]' "$tmp/serve.log" || true) errors"
grep -E '\[(warning|error)\]' "$tmp/serve.log" | sed -E 's/^\[[^]]*\] //' | cut -c1-160 | sort | uniq -c |
  sort -rn | head -5 || true
