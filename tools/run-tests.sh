#!/usr/bin/env bash
# The one test command: makes sure everything is installed and built (./setup.sh, quick when it is),
# then runs the whole ctest suite of the release preset. The first test to run regenerates the test
# inputs from face-api's demo photos (tests/golden.cmake), so nothing else needs preparing.
#
#   tools/run-tests.sh            release build
#   tools/run-tests.sh --asan     also an AddressSanitizer + UBSan build (preset asan) and its tests
#
# Exit code: ctest's (the first failing one when both presets run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

asan=0
for arg in "$@"; do
  case "$arg" in
    --asan) asan=1 ;;
    *) echo "usage: $0 [--asan]" >&2; exit 2 ;;
  esac
done

./setup.sh
cmake --build --preset release

rc=0
echo "run-tests: ctest --preset release" >&2
ctest --preset release -j2 || rc=$?

if ((asan)); then
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  echo "run-tests: ctest --preset asan" >&2
  asan_rc=0
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" ctest --preset asan -j2 || asan_rc=$?
  ((rc != 0)) || rc=$asan_rc
fi
exit "$rc"
