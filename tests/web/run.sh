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
"$ROOT/tests/npm-ci.sh" "$HERE" "$DEPS"

export FACEMATCH_WEB_DEPS="$DEPS"
export FACEMATCH_CHROMIUM="$CHROMIUM"
export FACEMATCH_SHARED="${FACEMATCH_SHARED:-$ROOT/../shared}"
export FACEMATCH_WEB_SCREENSHOTS="$BUILD/web-screenshots"
export FACEMATCH_BIN="$BIN"
# FACEMATCH_WEB_ONLY=<regex> runs only the tests whose names match (while working on the page).
exec node --test-reporter=spec ${FACEMATCH_WEB_ONLY:+--test-name-pattern="$FACEMATCH_WEB_ONLY"} "$HERE/page.test.mjs"
