#!/usr/bin/env bash
# The calibration step of `--precision int8`: measures the recognition net's activation ranges on face
# chips from the calibration photos (fp32 net, chip and mirror image of the largest face of each photo)
# and writes data/int8-ranges.json, which the build embeds (rebuild afterwards). Then check the gate:
# `ctest --preset release -R Int8Gate` and, for the full numbers, `facematch eval` with --precision int8.
#
#   tools/calibrate-int8.sh [CALIBRATION_DIR] [IMAGES] [SKIP_PAIRS] [QUANTILE]
#
# Defaults: ../shared/calibration, 400 photos, after the first 60 pairs (the gate test's subset, kept
# out so that the test judges photos the ranges were not measured on), each value's range the 0.99
# quantile of its per-chip maxima. About 11 s on one core.
# Env: CALIBRATE_INT8 (the tool binary), FACEMATCH_MODELS (default models/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:-../shared/calibration}
images=${2:-400}
skip=${3:-60}
quantile=${4:-0.99}
bin=${CALIBRATE_INT8:-build/release/facematch_calibrate_int8}
models=${FACEMATCH_MODELS:-models}
[[ -f $dir/pairs.csv ]] || { echo "calibrate-int8.sh: $dir/pairs.csv is missing (the calibration photos live in ../shared/calibration)" >&2; exit 2; }
[[ -x $bin ]] || { echo "calibrate-int8.sh: $bin is missing (run ./setup.sh)" >&2; exit 2; }
mkdir -p build/calibration
"$bin" "$models" "$dir" build/calibration/int8-ranges.json "$images" "$skip" "$quantile"
cp build/calibration/int8-ranges.json data/int8-ranges.json
echo "calibrate-int8.sh: wrote data/int8-ranges.json; rebuild to embed it" >&2
