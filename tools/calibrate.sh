#!/usr/bin/env bash
# Measures both alignments on the calibration photos and writes the built-in operating points.
#
#   tools/calibrate.sh [CALIBRATION_DIR]      (default ../shared/calibration)
#
# For each alignment it runs `facematch calibrate` over every pair of pairs.csv, with FAR measured
# against every cross-identity pair of identities.csv (about 3.7 million impostor pairs, so that
# FAR 1e-4 rests on hundreds of false accepts), and keeps in build/calibration/:
#   <align>.txt         the report (accuracy, best threshold, AUC, EER, TAR at FAR, failed images)
#   <align>.json        the operating-point file
#   <align>.png         ROC curve and distance histograms
#   <align>-pairs.csv   every pair's distance or error
# The file of the default alignment becomes data/operating-points.json (built into the binary: rebuild).
# Each run embeds 2,755 photos once; it takes about 5-15 minutes on 2 cores. Env: FACEMATCH (binary),
# ALIGNS (default "similarity faceapi"), DEFAULT_ALIGN (default similarity).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=${1:-../shared/calibration}
bin=${FACEMATCH:-build/release/facematch}
aligns=${ALIGNS:-similarity faceapi}
default_align=${DEFAULT_ALIGN:-similarity}
out=build/calibration
for f in "$dir/pairs.csv" "$dir/identities.csv"; do
  [[ -f $f ]] || { echo "calibrate.sh: $f is missing (the calibration photos live in ../shared/calibration)" >&2; exit 2; }
done
[[ -x $bin ]] || { echo "calibrate.sh: $bin is missing (run ./setup.sh)" >&2; exit 2; }
mkdir -p "$out"

for align in $aligns; do
  echo "calibrate.sh: --align $align" >&2
  "$bin" calibrate "$dir/pairs.csv" --root "$dir" --identities "$dir/identities.csv" --detector cascade --align "$align" \
    --far 1e-3 --far 1e-2 --far 1e-4 --far 1e-5 \
    --out "$out/$align.json" --plot "$out/$align.png" --distances "$out/$align-pairs.csv" | tee "$out/$align.txt"
done
if [[ -f $out/$default_align.json ]]; then
  cp "$out/$default_align.json" data/operating-points.json
  echo "calibrate.sh: wrote data/operating-points.json ($default_align); rebuild to embed it" >&2
fi
