#!/usr/bin/env bash
# The container image test (tests/container.cmake, opt-in): builds the image with
# deploy/container/build-image.sh from the release binary, runs it with podman on a free loopback port,
# and checks /readyz, a /verify of two photos of one person, the non-root user and that no compiler is
# in the image. Prints the image size, then removes the image: each build is a new 570 MB image, and on
# a CI machine the untagged ones of earlier runs would pile up.
#
#   tests/container/run.sh BUILD_DIR
#
# FACEMATCH_CONTAINER_KEEP=1 keeps the image (localhost/facematch:test); FACEMATCH_CONTAINER_REUSE=1 runs
# the one kept before instead of building (while working on this script) and keeps it too.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="${1:?usage: $0 BUILD_DIR}"
FACES="${FACEMATCH_SHARED:-$ROOT/../shared}/faces"
tag=localhost/facematch:test
name="facematch-test-$$"

# Checked before the minute of building: the photos are not in the repository.
for f in obama_1.jpg obama_2.jpg; do
  [[ -f "$FACES/$f" ]] || {
    echo "container test: $FACES/$f is missing (the labelled photos live in ../shared/faces, or set FACEMATCH_SHARED)" >&2
    exit 1
  }
done
reuse="${FACEMATCH_CONTAINER_REUSE:-0}"
keep="${FACEMATCH_CONTAINER_KEEP:-$reuse}"
# Settings that also work inside a sandbox or a container: crun refuses a cgroup v1/v2 hybrid host
# ("cgroups in hybrid mode not supported"), runc with cgroupfs runs; raising a limit is refused
# ("setrlimit RLIMIT_NOFILE: Operation not permitted"), so the container keeps this shell's limits.
pod=(podman --runtime runc --cgroup-manager=cgroupfs)
# (even setting RLIMIT_NPROC to its current value is refused here; a lower one is not, so 4096 or the
# caller's own limit when that is lower).
nproc="$(ulimit -Hu)"
[[ "$nproc" != unlimited ]] && ((nproc < 4096)) || nproc=4096
limits=(--ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
  "${pod[@]}" rm -f "$name" >/dev/null 2>&1 || true
  [[ "$keep" == 1 ]] || podman rmi -f "$tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT
[[ "$reuse" == 1 ]] || "$ROOT/deploy/container/build-image.sh" --tag "$tag" --build-dir "$BUILD"
built=$SECONDS

echo "container test: no compiler in the image" >&2
"${pod[@]}" run --rm --network host "${limits[@]}" --entrypoint /bin/sh "$tag" -c \
  'for c in gcc cc c++ g++ clang ld as; do if command -v "$c"; then exit 1; fi; done' || {
  echo "container test: a compiler is in the image (or podman could not run it)" >&2; exit 1; }
[[ "$("${pod[@]}" run --rm --network host "${limits[@]}" --entrypoint /usr/bin/id "$tag" -u)" == 10001 ]] || {
  echo "container test: the image does not run as uid 10001" >&2; exit 1; }

"${pod[@]}" run -d --name "$name" --network host "${limits[@]}" -e FACEMATCH_PORT="$port" -e FACEMATCH_WORKERS=1 "$tag" >/dev/null
started=$SECONDS
for _ in $(seq 1200); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  "${pod[@]}" container exists "$name" || break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/readyz" || { "${pod[@]}" logs "$name" >&2; echo "container test: not ready" >&2; exit 1; }
echo
echo "container test: ready $((SECONDS - started)) s after podman run" >&2
body="$(mktemp)"
python3 - "$FACES/obama_1.jpg" "$FACES/obama_2.jpg" >"$body" <<'PY'
import base64, json, sys
print(json.dumps({"img1": base64.b64encode(open(sys.argv[1], "rb").read()).decode(),
                  "img2": base64.b64encode(open(sys.argv[2], "rb").read()).decode()}))
PY
answer="$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' --data-binary "@$body" "http://127.0.0.1:$port/verify")"
rm -f "$body"
status="${answer##*$'\n'}"
echo "container test: /verify answered $status: $(head -c 200 <<<"$answer")" >&2
if [[ "$status" != 200 ]] || ! grep -q '"verified":true' <<<"$answer"; then
  "${pod[@]}" logs "$name" >&2
  exit 1
fi
"${pod[@]}" stop -t 30 "$name" >/dev/null
echo "container test: image $(podman image inspect --format '{{.Size}}' "$tag") bytes, built in ${built} s; passed after $SECONDS s"
