#!/usr/bin/env bash
# Installs the face-api reference harness (shared/tools/face-api-reference, read-only) into a writable
# folder and runs `npm ci` there, so `node DIR/reference.mjs ...` runs face-api's own code.
#
#   tools/golden/install-reference.sh [DIR]     (default DIR: <repo>/build/reference)
#
# FACEMATCH_SHARED overrides where shared/ is (default: <repo>/../shared).
# npm ci is skipped when DIR/node_modules was installed from the same package-lock.json.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED="${FACEMATCH_SHARED:-$ROOT/../shared}"
SRC="$SHARED/tools/face-api-reference"
DIR="${1:-$ROOT/build/reference}"

die() {
  echo "install-reference: $*" >&2
  exit 1
}

if [[ ! -f "$SRC/reference.mjs" || ! -f "$SRC/package-lock.json" ]]; then
  die "the reference harness is not at $SRC. It ships in the project's shared/ folder, which must sit beside the repo (../shared); set FACEMATCH_SHARED=/path/to/shared if it is elsewhere"
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then die "node and npm are needed; run ./setup.sh"; fi

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
# Two test runs (release and asan presets) may install into the same folder at once.
exec 9>"$DIR/.install.lock"
flock 9

# Refresh the harness files every time (cheap) so a changed harness in shared/ is picked up; shared/ is
# read-only, so the copies get default permissions to stay overwritable.
cp -R --no-preserve=mode "$SRC/." "$DIR/"

stamp="$DIR/node_modules/.facematch-package-lock.sha256"
lock_sum="$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)"
if [[ -d "$DIR/node_modules" && -f "$stamp" && "$(cat "$stamp")" == "$lock_sum" ]]; then
  exit 0
fi
echo "install-reference: npm ci in $DIR" >&2
# The harness needs no install scripts (pure JS + wasm binaries inside the packages).
(cd "$DIR" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2) ||
  die "npm ci failed in $DIR (is the npm registry reachable?)"
echo "$lock_sum" >"$stamp"
