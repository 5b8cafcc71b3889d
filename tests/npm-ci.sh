#!/usr/bin/env bash
# Installs a test folder's pinned npm packages (its package-lock.json) into a build folder, for the node
# tests (tests/web, tests/openapi):
#
#   tests/npm-ci.sh SOURCE_DIR DEPS_DIR
#
# npm ci runs only when package-lock.json changed since the last install into DEPS_DIR, under a lock, since
# the release and asan presets may run the same test at once. Install scripts are not run (none of the
# packages needs one, and playwright-core's would try to download a browser).
set -euo pipefail

if [[ $# != 2 ]]; then
  echo "usage: $0 SOURCE_DIR DEPS_DIR" >&2
  exit 2
fi
SRC="$1"
DEPS="$2"

mkdir -p "$DEPS"
exec 9>"$DEPS/.install.lock"
flock 9
stamp="$DEPS/node_modules/.facematch-package-lock.sha256"
lock_sum="$(sha256sum "$SRC/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
  cp "$SRC/package.json" "$SRC/package-lock.json" "$DEPS/"
  echo "npm ci in $DEPS" >&2
  (cd "$DEPS" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2) || {
    echo "npm ci failed in $DEPS (is the npm registry reachable?)" >&2
    exit 1
  }
  echo "$lock_sum" >"$stamp"
fi
