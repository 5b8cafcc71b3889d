#!/usr/bin/env bash
# Regenerates the test inputs (never committed) from face-api's six demo photos with face-api's own code:
#
#   OUTDIR/rgb/sampleN.ppm                      jpeg-js-decoded RGB           (reference.mjs --dump-rgb)
#   OUTDIR/chips/sampleN_face{i}_chip150.f32    recognition net input         (reference.mjs --dump-chip)
#   OUTDIR/chips/sampleN_face{i}_lm112.f32      landmark net input            (reference.mjs --dump-chip)
#   OUTDIR/ssd/sampleN_input512.f32             SSD input before normalization  (tools/golden/ssd-net.mjs)
#   OUTDIR/tiny/sampleN_input416.f32            tiny detector input likewise    (tools/golden/tiny-net.mjs)
#   OUTDIR/blazeface/sampleN_face128{,_rot180}.f32  BlazeFace input, face square  (tools/golden/blazeface-net.mjs)
#
#   tools/golden/make-inputs.sh OUTDIR
#
# Idempotent: OUTDIR/.stamp records the sha256 of everything the inputs depend on (photos, these scripts,
# the reference harness, tests/golden/pipeline_ssd.jsonl whose boxes the BlazeFace squares are cut around)
# and of every file produced; when all still match, nothing is redone.
# Used by ctest as the `testdata` fixture (tests/golden.cmake).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GOLDEN_TOOLS="$ROOT/tools/golden"
SHARED="${FACEMATCH_SHARED:-$ROOT/../shared}"
REF_SRC="$SHARED/tools/face-api-reference"
REF_DIR="$ROOT/build/reference"
MODELS="${FACEMATCH_MODELS:-$ROOT/models}"

die() {
  echo "make-inputs: $*" >&2
  exit 1
}

[[ $# == 1 ]] || die "usage: $0 OUTDIR"
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
STAMP="$OUT/.stamp"

# One writer at a time per OUTDIR (parallel ctest runs, developers sharing build/testdata-dev).
exec 9>"$OUT/.lock"
flock 9

photos=()
for n in 1 2 3 4 5 6; do
  f="$MODELS/demo/sample$n.jpg"
  [[ -f "$f" ]] || die "missing $f: run tools/fetch-models.sh $MODELS (or ./setup.sh), which puts face-api's demo photos there"
  photos+=("$f")
done
[[ -f "$REF_SRC/reference.mjs" ]] ||
  die "missing $REF_SRC/reference.mjs: shared/ must sit beside the repo (../shared); set FACEMATCH_SHARED=/path/to/shared if it is elsewhere"
command -v node >/dev/null || die "node is not installed; run ./setup.sh"

net_scripts=()
for s in ssd-net.mjs tiny-net.mjs blazeface-net.mjs; do
  [[ -f "$GOLDEN_TOOLS/$s" ]] && net_scripts+=("$s")
done

# Everything the outputs depend on, named independently of where the repo, shared/ and models/ are.
# A net script appearing later changes the key as well.
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
key() {
  local f
  for f in "$GOLDEN_TOOLS/make-inputs.sh" "$GOLDEN_TOOLS/install-reference.sh" "$GOLDEN_TOOLS"/*.mjs; do
    if [[ -f "$f" ]]; then echo "$(sha_of "$f") tools/golden/${f##*/}"; fi
  done
  for f in reference.mjs lib.mjs package-lock.json; do
    echo "$(sha_of "$REF_SRC/$f") face-api-reference/$f"
  done
  for f in "${photos[@]}"; do
    echo "$(sha_of "$f") demo/${f##*/}"
  done
  if [[ -f "$ROOT/tests/golden/pipeline_ssd.jsonl" ]]; then
    echo "$(sha_of "$ROOT/tests/golden/pipeline_ssd.jsonl") tests/golden/pipeline_ssd.jsonl"
  fi
}
current_key="$(key)"

if [[ -f "$STAMP" ]] && [[ "$(sed -n '/^# key$/,/^# outputs$/p' "$STAMP" | sed '1d;$d')" == "$current_key" ]] &&
  (cd "$OUT" && sed '1,/^# outputs$/d' "$STAMP" | sha256sum --check --quiet --strict >/dev/null 2>&1); then
  echo "make-inputs: $OUT is up to date"
  exit 0
fi

echo "make-inputs: regenerating $OUT" >&2
start=$SECONDS
rm -f "$STAMP"
"$GOLDEN_TOOLS/install-reference.sh" "$REF_DIR"

staging="$OUT/.staging"
rm -rf "$staging"
mkdir -p "$staging"

node "$REF_DIR/reference.mjs" --dump-rgb "$staging/rgb" "${photos[@]}" >/dev/null ||
  die "reference.mjs --dump-rgb failed"
ppms=()
for n in 1 2 3 4 5 6; do
  # --dump-rgb names each PPM after the photo's stem; the tests rely on rgb/sampleN.ppm.
  [[ -f "$staging/rgb/sample$n.ppm" ]] || die "reference.mjs --dump-rgb did not write rgb/sample$n.ppm"
  ppms+=("$staging/rgb/sample$n.ppm")
done

node "$REF_DIR/reference.mjs" --dump-chip "$staging/chips" "${ppms[@]}" >/dev/null ||
  die "reference.mjs --dump-chip failed"

for s in "${net_scripts[@]}"; do
  sub="${s%-net.mjs}"
  # blazeface-net.mjs also takes the models folder; with "-" it does not load the net (not an input).
  models=()
  if [[ $s == blazeface-net.mjs ]]; then models=("$MODELS"); fi
  node "$GOLDEN_TOOLS/$s" "$REF_DIR" "${models[@]}" "$staging/$sub" - "${ppms[@]}" >/dev/null ||
    die "tools/golden/$s failed"
done

# Swap each folder in whole so readers never see a half-written one for long.
outputs=(rgb chips)
for s in "${net_scripts[@]}"; do outputs+=("${s%-net.mjs}"); done
for sub in rgb chips ssd tiny blazeface; do
  rm -rf "${OUT:?}/$sub"
done
for sub in "${outputs[@]}"; do
  mv "$staging/$sub" "$OUT/$sub"
done
rmdir "$staging" 2>/dev/null || rm -rf "$staging"

{
  echo "# key"
  echo "$current_key"
  echo "# outputs"
  (cd "$OUT" && find "${outputs[@]}" -type f | LC_ALL=C sort | xargs -d '\n' sha256sum)
} >"$STAMP.part"
mv "$STAMP.part" "$STAMP"
echo "make-inputs: wrote $OUT (${outputs[*]}) in $((SECONDS - start)) s" >&2
