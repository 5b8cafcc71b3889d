#!/usr/bin/env bash
# Detection recall (docs/detection-recall.md, issue 12): the recall set built from calibration photos
# (variants of photos whose face is known), ../shared/faces, and faces reported on inputs without one,
# for the default pipeline and, for comparison, face-api's two detectors in it (1 thread).
#
#   tools/detection-recall.sh [BUILD_DIR] [LIMIT] [FLAGS...]
#
# BUILD_DIR defaults to build/release; LIMIT (default 300) is how many calibration photos the recall set
# starts from; FLAGS are added to every run (e.g. --verbose to list every miss, --variants rot90,dark).
# Prints each run's JSON lines and tables, then the recall of every variant side by side; each run's
# output is also kept in build/detection-recall/ (DETECTION_RECALL_OUT overrides).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${1:-build/release}
limit=${2:-300}
shift $(($# < 2 ? $# : 2))
bin=$build/bench/detection_recall
shared=${FACEMATCH_SHARED:-../shared}
out=${DETECTION_RECALL_OUT:-$build/detection-recall}
[[ -x $bin ]] || { echo "missing $bin: cmake --build $build --target detection_recall" >&2; exit 2; }
[[ -f $shared/faces/manifest.csv && -f $shared/calibration/identities.csv ]] ||
  { echo "missing $shared/faces or $shared/calibration (set FACEMATCH_SHARED)" >&2; exit 2; }
mkdir -p "$out"

export OMP_NUM_THREADS=1
configs=(
  ""               # recommended_pipeline(): cascade + low-light retry
  "--detector ssd" # face-api's SSD (with the pipeline's low-light retry, as `facematch --detector ssd`)
  "--detector tiny"
)
files=()
for config in "${configs[@]}"; do
  name=${config:-default}
  name=${name//--detector /}
  file=$out/$name.txt
  start=$SECONDS
  # shellcheck disable=SC2086 # a config is a list of flags
  "$bin" models --calibration "$shared/calibration" --limit "$limit" --faces "$shared/faces" $config "$@" |
    tee "$file"
  echo "($name: $((SECONDS - start)) s)"
  files+=("$file")
done

if command -v jq >/dev/null; then
  echo
  echo "## Recall per variant (photos whose known face was found)"
  echo
  header="| variant |" rule="| --- |"
  for config in "${configs[@]}"; do header+=" ${config:-default} |" rule+=" --- |"; done
  echo "$header"
  echo "$rule"
  grep -h '^{"set":"recall"' "${files[@]}" |
    jq -rs '(map(.variant) | reduce .[] as $v ([]; if any(.[]; . == $v) then . else . + [$v] end)) as $order
      | $order[] as $v | [.[] | select(.variant == $v)]
      | "| \($v) | " + (map("\(.matched)/\(.photos) (\(.recall * 1000 | round / 10)%)") | join(" | ")) + " |"'
fi
