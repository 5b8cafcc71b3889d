#!/usr/bin/env bash
# Detection recall of each detector variant in README "Detection recall": photos with a face found,
# faces found of those expected, faces on photos without one, and detector time per photo (1 thread).
#
#   tools/detection-recall.sh [BUILD_DIR] [N]
#
# BUILD_DIR defaults to build/release; N (default 1000) is how many calibration pairs' photos to use
# (the photos of the first N rows of ../shared/calibration/pairs.csv; 0 = all 2,756 photos).
# Prints one JSON line per variant and data set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${1:-build/release}
pairs=${2:-1000}
bin=$build/bench/detection_recall
shared=${FACEMATCH_SHARED:-../shared}
[[ -x $bin ]] || { echo "missing $bin: build the project first (cmake --build $build)" >&2; exit 2; }
[[ -f $shared/faces/manifest.csv ]] || { echo "missing $shared/faces (set FACEMATCH_SHARED)" >&2; exit 2; }

list=$(mktemp)
trap 'rm -f "$list"' EXIT
if ((pairs > 0)); then
  tail -n +2 "$shared/calibration/pairs.csv" | head -n "$pairs" | awk -F, '{print $1; print $2}' | sort -u |
    sed "s|^|$shared/calibration/|" >"$list"
else
  ls "$shared"/calibration/celeba/*/*.jpg >"$list"
fi

export OMP_NUM_THREADS=1
variants=(
  "--detector ssd"
  "--detector tiny"
  "--detector cascade"
  "--detector ssd --fallback"
  "--detector ssd --retry-low-light"
  "--detector ssd --tile-min-side 1024"
  "--detector cascade --retry-low-light"
  "--detector cascade --retry-low-light --tile-min-side 1024"
)
for v in "${variants[@]}"; do
  # shellcheck disable=SC2086 # each variant is a list of flags
  echo "{\"set\":\"faces\",\"variant\":\"$v\",\"result\":$("$bin" models --faces "$shared/faces" $v)}"
  # shellcheck disable=SC2086
  echo "{\"set\":\"calibration\",\"variant\":\"$v\",\"result\":$("$bin" models --list "$list" $v)}"
done
