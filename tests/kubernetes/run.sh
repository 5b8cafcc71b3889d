#!/usr/bin/env bash
# The offline test of deploy/kubernetes (tests/kubernetes.cmake): renders each overlay with
# `kubectl kustomize` (needs no cluster, unlike `kubectl apply --dry-run=client`), installs
# kubernetes-models from this folder's package-lock.json and runs validate.mjs on the result.
#
#   tests/kubernetes/run.sh FACEMATCH_BINARY BUILD_DIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
[[ $# == 2 ]] || { echo "usage: $0 FACEMATCH_BINARY BUILD_DIR" >&2; exit 2; }
BIN="$1"
DEPS="$2/kubernetes-test"
for tool in kubectl node npm; do
  command -v "$tool" >/dev/null || { echo "kubernetes test: $tool is missing" >&2; exit 1; }
done

mkdir -p "$DEPS"
exec 9>"$DEPS/.install.lock"  # the release and asan presets may run this test at the same time
flock 9
stamp="$DEPS/node_modules/.facematch-package-lock.sha256"
lock_sum="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
  cp "$HERE/package.json" "$HERE/package-lock.json" "$DEPS/"
  (cd "$DEPS" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2) || {
    echo "kubernetes test: npm ci failed in $DEPS (is the npm registry reachable?)" >&2
    exit 1
  }
  echo "$lock_sum" >"$stamp"
fi
flock -u 9
cp "$HERE/validate.mjs" "$DEPS/"  # next to its node_modules

for overlay in "$ROOT"/deploy/kubernetes/overlays/*/; do
  name="$(basename "$overlay")"
  kubectl kustomize "$overlay" >"$DEPS/$name.yaml"
  echo "kubernetes test: overlay $name" >&2
  node "$DEPS/validate.mjs" "$DEPS/$name.yaml" "$BIN"
done
