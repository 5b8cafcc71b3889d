#!/usr/bin/env bash
# Builds the libFuzzer targets (preset "fuzz": clang 14, ASan + UBSan) and fuzzes each for a bounded time.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target (default 60); targets: decode_image
#                                           request_json multipart (default: all)
#   tools/fuzz.sh 3600 decode_image         a long run of one target (the documented long command)
#   --build-dir DIR --no-build              use an existing fuzz build (the ctest fuzz_smoke_* tests)
#
# Each target starts from the generated seeds (<build>/fuzz-seeds/<target>), fuzz/regressions/<target> plus, for
# decode_image, the small (<= 64 KB) photos of models/demo and ../shared/faces when present; new
# inputs go to a scratch corpus in the build folder, never into git. A crash, leak, timeout (10 s per
# input) or out-of-memory (2 GB) stops the run with exit 1 and leaves the input in
# <build>/fuzz-artifacts/<target>/: minimise it (fuzz_<target> -minimize_crash=1 FILE), fix the bug and
# copy it to fuzz/regressions/<target>/ so that ctest fuzz_replay_<target> replays it from then on.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build/fuzz"
do_build=1
seconds=60
targets=()
while (($#)); do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    [0-9]*) seconds="$1"; shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(decode_image request_json multipart)

if ((do_build)); then
  cmake --preset fuzz -S "$root" >/dev/null
  cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}" facematch_make_hostile
  # Seeds are generated, never committed: trimmed real requests and tiny images of every format. With
  # --no-build (the ctest fuzz_smoke_* tests) the ctest fixture fuzz_seeds has written them already.
  "$build/tests/facematch_make_hostile" --seeds "$build/fuzz-seeds"
fi

status=0
for t in "${targets[@]}"; do
  work="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  seeds=("$build/fuzz-seeds/$t" "$root/fuzz/regressions/$t")
  if [[ $t == decode_image ]]; then
    # Real photos as seeds, generated or shared at run time (photos are never committed).
    extra="$build/fuzz-seeds/$t"
    mkdir -p "$extra"
    for f in "$root"/models/demo/sample*.jpg "$root"/../shared/faces/*.jpg; do
      [[ -f $f && $(stat -c %s "$f") -le 65536 ]] && cp -n "$f" "$extra/" || true
    done
    seeds+=("$extra")
  fi
  echo "fuzz.sh: fuzz_$t for ${seconds}s" >&2
  # -rss_limit_mb bounds one input's memory; -timeout flags a hang; the library's own stderr chatter
  # (libpng warnings) goes to the log, not the terminal.
  binary="$build/fuzz_$t"
  [[ -x $binary ]] || { echo "fuzz.sh: $binary is missing (build preset fuzz; needs clang-14 libclang-rt-14-dev)" >&2; exit 2; }
  rc=0
  OMP_NUM_THREADS=1 ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
    "$binary" "$work" "${seeds[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=262144 -artifact_prefix="$artifacts" -print_final_stats=1 >"$build/fuzz-$t.log" 2>&1 || rc=$?
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$build/fuzz-$t.log" >&2 || true
  if ((rc != 0)); then
    echo "fuzz.sh: fuzz_$t FAILED (exit $rc); log $build/fuzz-$t.log, inputs in $artifacts" >&2
    grep -E -A30 '^==[0-9]+==ERROR|runtime error|deadly signal|ALARM|out-of-memory' "$build/fuzz-$t.log" | head -60 >&2 || true
    status=1
  fi
done
exit "$status"
