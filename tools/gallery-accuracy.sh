#!/usr/bin/env bash
# The gallery's identification accuracy study (docs/gallery-accuracy.md): rank-1/rank-5 and FNIR/FPIR at
# the built-in operating points on the calibration photos, enrolling 1 and up to 3 photos per identity
# through the Gallery API into temporary SQLite galleries (bench/gallery_accuracy.cpp).
#
#   tools/gallery-accuracy.sh [CALIBRATION_DIR]      (default ../shared/calibration)
#
# Writes build/gallery-accuracy/report.md, report.json and descriptors.csv (every photo's descriptor, which
# bench/gallery_search_bench.cpp mixes among synthetic ones). Each photo is analysed once (about 5 minutes
# on 2 idle cores); the searches take seconds. Env: BUILD (default build/release), THREADS (default 2),
# FOLDS (default 4: each quarter of the identities is held out once as the non-mated searches).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=${1:-../shared/calibration}
build=${BUILD:-build/release}
threads=${THREADS:-2}
folds=${FOLDS:-4}
out=build/gallery-accuracy
[[ -f $dir/identities.csv ]] || { echo "gallery-accuracy.sh: $dir/identities.csv is missing (the calibration photos live in ../shared/calibration)" >&2; exit 2; }
cmake --build "$build" -j"$threads" --target facematch_gallery_accuracy >/dev/null
mkdir -p "$out"
# One oneDNN thread per analysing thread: THREADS photos at a time.
OMP_NUM_THREADS=1 "$build/bench/facematch_gallery_accuracy" --calibration "$dir" --threads "$threads" \
  --folds "$folds" --enrol 1 --enrol 3 --json "$out/report.json" --save-descriptors "$out/descriptors.csv" | tee "$out/report.md"
