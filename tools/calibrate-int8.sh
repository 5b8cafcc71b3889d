#!/usr/bin/env bash
# The calibration step of `--precision int8`: measures the activation ranges of the recognition net (on
# the chip and mirror image of the largest face of each calibration photo), the landmark net (on that
# face's crop) and the tiny detector at 416 (on each photo), all in fp32, and writes data/int8-ranges.json,
# which the build embeds (rebuild afterwards). A net runs in int8 only where its registry entry allows it
# (src/models/model_registry.cpp; the landmark and tiny nets failed the gate, docs/speed.md "int8").
# Then check the gate: `ctest --preset release -R Int8Gate` and, for the full numbers, `facematch eval`
# with --precision int8.
#
#   tools/calibrate-int8.sh [CALIBRATION_DIR] [IMAGES] [SKIP_PAIRS] [QUANTILE]
#
# Defaults: ../shared/calibration, 400 photos, after the first 60 pairs (the gate test's subset, kept
# out so that the test judges photos the ranges were not measured on), each value's range the 0.99
# quantile of its per-input maxima. About 30 s on one core.
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
