#!/usr/bin/env bash
# The API description against the real answers (tests/web.cmake): installs ajv and pngjs from this
# folder's package-lock.json, then runs answers.test.mjs, which starts `facematch serve --port 0` and
# validates every route's answers against web/openapi.json.
#
#   tests/openapi/run.sh FACEMATCH_BINARY BUILD_DIR
#
# The npm install goes to BUILD_DIR/openapi-test/. Exit 77 (ctest SKIP_RETURN_CODE) only when node is not
# installed; ./setup.sh installs it. FACEMATCH_SHARED overrides where shared/ is (default ../shared).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

if [[ $# != 2 ]]; then
  echo "usage: $0 FACEMATCH_BINARY BUILD_DIR" >&2
  exit 2
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node or npm is not installed (./setup.sh installs them); web/openapi.json was not checked"
  exit 77
fi

DEPS="$2/openapi-test"
"$ROOT/tests/npm-ci.sh" "$HERE" "$DEPS"

export FACEMATCH_BIN="$1"
export FACEMATCH_OPENAPI_DEPS="$DEPS"
export FACEMATCH_OPENAPI_DOC="$ROOT/web/openapi.json"
export FACEMATCH_SHARED="${FACEMATCH_SHARED:-$ROOT/../shared}"
exec node --test-reporter=spec "$HERE/answers.test.mjs"
