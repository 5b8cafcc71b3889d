#!/usr/bin/env bash
# Where a default verification spends its time (issue 15): samples `facematch_bench --verify-loop`, the
# default verify of a ~640x480 pair repeated N times in one process, with perf (Debian linux-perf; the
# cpu-clock software event, since virtual machines often expose no hardware counters), and prints the
# share of samples per library and the top functions outside the nets' generated kernels. Not a test.
#
#   bench/profile.sh [PAIR_A PAIR_B] [N]     (default: hugh_laurie_1.jpg and obama_1.jpg of ../shared/faces, 400)
#
# OMP_NUM_THREADS (default 1, what one service worker runs) sets the threads per call.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pair_a=$(realpath "${1:-$root/../shared/faces/hugh_laurie_1.jpg}")
pair_b=$(realpath "${2:-$root/../shared/faces/obama_1.jpg}")
n=${3:-400}
build=${FACEMATCH_BUILD:-$root/build/release}
command -v perf >/dev/null || { echo "profile.sh: perf is missing (./setup.sh installs linux-perf)" >&2; exit 2; }
[ -x "$build/bench/facematch_bench" ] || cmake --build "$build" --target facematch_bench
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -D: model loading and the nets' compilation (the first second or two) are left out of the samples.
perf record -q -D "${PROFILE_DELAY_MS:-2500}" -e cpu-clock -F 4000 -o "$work/perf.data" -- \
  "$build/bench/facematch_bench" "$root/models" --verify-loop "$pair_a" "$pair_b" "$n"
echo "## share of samples by library ($OMP_NUM_THREADS thread(s) per call, $n verifications)"
perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed 's/ *$//' | head -15
echo "## top functions"
perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | grep -v '\[JIT\]' |
  sed 's/ \{2,\}/  /g; s/ *- *- *$//' | cut -c1-140 | head -25
echo "(oneDNN's generated kernels, the nets' layers, appear as [JIT] above and are left out of this list)"
