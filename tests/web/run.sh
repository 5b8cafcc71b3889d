#!/usr/bin/env bash
# The browser test of the web page (tests/web.cmake): installs playwright-core from this folder's
# package-lock.json, then runs page.test.mjs, which starts `facematch serve --port 0` and drives Debian's
# Chromium through the page.
#
#   tests/web/run.sh FACEMATCH_BINARY BUILD_DIR
#
# Screenshots go to BUILD_DIR/web-screenshots/, the npm install to BUILD_DIR/web-test/ (npm ci runs only
# when package-lock.json changed). Exit 77 (ctest SKIP_RETURN_CODE) only when node or Chromium is not
# installed; ./setup.sh installs both. FACEMATCH_SHARED overrides where shared/ is (default ../shared).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CHROMIUM="${FACEMATCH_CHROMIUM:-/usr/bin/chromium}"

if [[ $# != 2 ]]; then
  echo "usage: $0 FACEMATCH_BINARY BUILD_DIR" >&2
  exit 2
fi
BIN="$1"
BUILD="$2"

skip() {
  echo "SKIPPED: $* (./setup.sh installs it); the web page was not tested in a browser"
  exit 77
}
command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
[[ -x "$CHROMIUM" ]] || skip "$CHROMIUM is not installed (Debian package chromium)"

DEPS="$BUILD/web-test"
mkdir -p "$DEPS"
# The release and asan presets may run this test at the same time.
exec 9>"$DEPS/.install.lock"
flock 9
stamp="$DEPS/node_modules/.facematch-package-lock.sha256"
lock_sum="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
  cp "$HERE/package.json" "$HERE/package-lock.json" "$DEPS/"
  echo "web test: npm ci in $DEPS" >&2
  # playwright-core needs no install script, and it must not try to download a browser of its own.
  (cd "$DEPS" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2) || {
    echo "web test: npm ci failed in $DEPS (is the npm registry reachable?)" >&2
    exit 1
  }
  echo "$lock_sum" >"$stamp"
fi
flock -u 9

export FACEMATCH_WEB_DEPS="$DEPS"
export FACEMATCH_CHROMIUM="$CHROMIUM"
export FACEMATCH_SHARED="${FACEMATCH_SHARED:-$ROOT/../shared}"
export FACEMATCH_WEB_SCREENSHOTS="$BUILD/web-screenshots"
export FACEMATCH_BIN="$BIN"
# FACEMATCH_WEB_ONLY=<regex> runs only the tests whose names match (while working on the page).
exec node --test-reporter=spec ${FACEMATCH_WEB_ONLY:+--test-name-pattern="$FACEMATCH_WEB_ONLY"} "$HERE/page.test.mjs"
