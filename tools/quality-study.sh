#!/usr/bin/env bash
# The face-quality calibration study (docs/quality.md): the error rate at threshold 0.6 of the
# calibration pairs in which a face has each quality reason, and per bucket of each measure, against the
# pairs whose two faces are acceptable. It chose QualityThresholds' defaults (include/facematch/quality.hpp).
#
#   tools/quality-study.sh [CALIBRATION_DIR]      (default ../shared/calibration)
#
# Writes build/quality/: distances.csv (facematch eval --distances: every pair's distance or error),
# images.csv (quality_study analyse: every image's chosen face and its measures) and report.txt.
# About 3 minutes on 2 idle cores. Env: BUILD (default build/release), THREADS (default 2).
# Other thresholds on the same measures, without analysing again:
#   build/release/bench/quality_study report build/quality/images.csv build/quality/distances.csv --min-sharpness 0.3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=${1:-../shared/calibration}
build=${BUILD:-build/release}
threads=${THREADS:-2}
out=build/quality
[[ -f $dir/pairs.csv ]] || { echo "quality-study.sh: $dir/pairs.csv is missing (the calibration photos live in ../shared/calibration)" >&2; exit 2; }
cmake --build "$build" -j"$threads" --target facematch_cli quality_study >/dev/null
mkdir -p "$out"

"$build/facematch" eval "$dir/pairs.csv" --root "$dir" --threads "$threads" --distances "$out/distances.csv" >"$out/eval.txt"
OMP_NUM_THREADS=1 "$build/bench/quality_study" analyse models --pairs "$dir/pairs.csv" --root "$dir" \
  --threads "$threads" --out "$out/images.csv"
"$build/bench/quality_study" report "$out/images.csv" "$out/distances.csv" | tee "$out/report.txt"
