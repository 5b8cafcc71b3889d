#!/usr/bin/env bash
# Regenerates the committed golden files in tests/golden/ with face-api's own code (reference harness,
# wasm backend) on the jpeg-js-decoded demo photos:
#
#   pipeline_ssd.jsonl    full pipeline, SSD detector, plus the --dump-chip fields of every face
#   pipeline_tiny.jsonl   full pipeline, tiny face detector
#   ssd_net.json          raw SSD net outputs     (tools/golden/ssd-net.mjs, when it exists)
#   tiny_net.json         raw tiny net outputs    (tools/golden/tiny-net.mjs, when it exists)
#   blazeface_net.json    raw BlazeFace outputs   (tools/golden/blazeface-net.mjs, when it exists)
#   weights_sha256.json   dequantized tensor sums (tools/golden/make-weights-golden.sh, when it exists)
#
#   tools/golden/make-golden.sh [--pipeline-only] [WORKDIR]
#
# WORKDIR (default <repo>/build/golden-work) receives the PPMs via make-inputs.sh. --pipeline-only
# regenerates just the two pipeline_*.jsonl files.
#
# Lines are normalized so they do not depend on where things ran: "image" is the stem ("sample1"), file
# paths are relative to the test-data folder ("chips/sample1_face0_chip150.f32"), timings are dropped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GOLDEN_TOOLS="$ROOT/tools/golden"
GOLDEN="$ROOT/tests/golden"
SHARED="${FACEMATCH_SHARED:-$ROOT/../shared}"
SHARED="$(cd "$SHARED" 2>/dev/null && pwd || echo "$SHARED")"
REF_DIR="$ROOT/build/reference"
MODELS="${FACEMATCH_MODELS:-$ROOT/models}"
pipeline_only=0
WORK=""
for arg in "$@"; do
  case "$arg" in
    --pipeline-only) pipeline_only=1 ;;
    -*) echo "usage: $0 [--pipeline-only] [WORKDIR]" >&2; exit 2 ;;
    *) WORK="$arg" ;;
  esac
done
WORK="${WORK:-$ROOT/build/golden-work}"

die() {
  echo "make-golden: $*" >&2
  exit 1
}

# Also installs the reference harness into build/reference.
"$GOLDEN_TOOLS/make-inputs.sh" "$WORK"
WORK="$(cd "$WORK" && pwd)"
ppms=()
for n in 1 2 3 4 5 6; do ppms+=("$WORK/rgb/sample$n.ppm"); done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ref() { node "$REF_DIR/reference.mjs" "$@"; }

echo "make-golden: running the reference pipeline (ssd, ssd --dump-chip, tiny)" >&2
ref --detector ssd --warmup 0 "${ppms[@]}" >"$tmp/ssd.jsonl" 2>"$tmp/ssd.err" || { cat "$tmp/ssd.err" >&2; die "reference.mjs (ssd) failed"; }
ref --detector ssd --dump-chip "$tmp/chips" "${ppms[@]}" >"$tmp/chip.jsonl" || die "reference.mjs --dump-chip failed"
ref --detector tiny --warmup 0 "${ppms[@]}" >"$tmp/tiny.jsonl" 2>"$tmp/tiny.err" || { cat "$tmp/tiny.err" >&2; die "reference.mjs (tiny) failed"; }

mkdir -p "$GOLDEN"
# Node re-serializes with JSON.stringify, as reference.mjs does, so every number keeps its exact digits.
node - "$tmp" "$GOLDEN" "$SHARED/tools/face-api-reference/samples-out.jsonl" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [tmp, golden, samplesOut] = process.argv.slice(2);
const readJsonl = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const stem = (f) => path.basename(f).replace(/\.[^.]+$/, '');
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const fail = (msg) => { process.stderr.write(`make-golden: ${msg}\n`); process.exit(1); };
const PIPELINE_FACE = ['box', 'score', 'landmarks68', 'descriptor', 'landmark_crop', 'chip_rect', 'chip_crop'];

function header(line) {
  if (line.chain_match !== true) fail(`${line.image}: the staged pipeline differs from face-api's chained API`);
  const { image, ms, faces, ...rest } = line;  // ms: timings, not reproducible
  return { image: stem(image), ...rest };
}

const ssd = readJsonl(path.join(tmp, 'ssd.jsonl'));
const chip = readJsonl(path.join(tmp, 'chip.jsonl'));
if (ssd.length !== 6 || chip.length !== 6) fail(`expected 6 lines per run, got ${ssd.length} and ${chip.length}`);
const ssdLines = ssd.map((line, k) => {
  const c = chip[k];
  if (stem(c.image) !== stem(line.image) || c.faces.length !== line.faces.length) fail(`${line.image}: --dump-chip found other faces`);
  const faces = line.faces.map((f, i) => {
    const d = c.faces[i];
    for (const key of ['box', 'landmarks68', 'descriptor', 'landmark_crop', 'chip_rect', 'chip_crop']) {
      if (!same(f[key], d[key])) fail(`${line.image} face ${i}: ${key} differs between the pipeline and --dump-chip`);
    }
    if (!d.chip_reproduces_descriptor || !d.lm112_reproduces_raw136) fail(`${line.image} face ${i}: a --dump-chip self-check failed`);
    const rel = (p) => `chips/${path.basename(p)}`;
    return {
      face: i, ...f, landmark_raw136: d.landmark_raw136, crop_shape: d.crop_shape,
      chip150_f32: rel(d.chip150_f32), lm112_f32: rel(d.lm112_f32), chip150_ppm: rel(d.chip150_ppm), crop_ppm: rel(d.crop_ppm),
      chip_reproduces_descriptor: d.chip_reproduces_descriptor, lm112_reproduces_raw136: d.lm112_reproduces_raw136,
    };
  });
  return { ...header(line), faces };
});
const tinyLines = readJsonl(path.join(tmp, 'tiny.jsonl')).map((line) => ({ ...header(line), faces: line.faces }));
if (tinyLines.length !== 6) fail(`expected 6 tiny lines, got ${tinyLines.length}`);

// The PPMs hold jpeg-js's pixels, so the SSD run must equal the harness's own run on the JPEGs.
if (fs.existsSync(samplesOut)) {
  const expected = new Map(readJsonl(samplesOut).map((l) => [stem(l.image), l]));
  for (const line of ssdLines) {
    const e = expected.get(line.image);
    if (!e) fail(`${line.image} is not in ${samplesOut}`);
    if (e.rgb_sha256 !== line.rgb_sha256) fail(`${line.image}: rgb_sha256 differs from ${samplesOut}`);
    const pick = (f) => PIPELINE_FACE.map((k) => f[k]);
    if (!same(e.faces.map(pick), line.faces.map(pick))) fail(`${line.image}: faces differ from ${samplesOut}`);
  }
  process.stderr.write(`make-golden: SSD faces equal ${samplesOut} bit for bit\n`);
} else {
  process.stderr.write(`make-golden: WARNING: ${samplesOut} not found, SSD run not cross-checked\n`);
}

const write = (name, lines) => fs.writeFileSync(path.join(golden, name), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
write('pipeline_ssd.jsonl', ssdLines);
write('pipeline_tiny.jsonl', tinyLines);
const count = (lines) => lines.reduce((n, l) => n + l.faces.length, 0);
process.stderr.write(`make-golden: pipeline_ssd.jsonl (${count(ssdLines)} faces), pipeline_tiny.jsonl (${count(tinyLines)} faces)\n`);
EOF

if [[ $pipeline_only == 1 ]]; then
  echo "make-golden: done (--pipeline-only); review with git diff tests/golden" >&2
  exit 0
fi
for s in ssd tiny; do
  script="$GOLDEN_TOOLS/$s-net.mjs"
  if [[ -f "$script" ]]; then
    node "$script" "$REF_DIR" "$tmp/$s" "$GOLDEN/${s}_net.json" "${ppms[@]}" >&2 || die "tools/golden/$s-net.mjs failed"
    echo "make-golden: wrote tests/golden/${s}_net.json" >&2
  else
    echo "make-golden: tools/golden/$s-net.mjs not there yet; ${s}_net.json not regenerated" >&2
  fi
done
# After pipeline_ssd.jsonl: the BlazeFace squares are cut around its first face boxes.
if [[ -f "$GOLDEN_TOOLS/blazeface-net.mjs" ]]; then
  node "$GOLDEN_TOOLS/blazeface-net.mjs" "$REF_DIR" "$MODELS" "$tmp/blazeface" "$GOLDEN/blazeface_net.json" "${ppms[@]}" >&2 ||
    die "tools/golden/blazeface-net.mjs failed"
  echo "make-golden: wrote tests/golden/blazeface_net.json" >&2
fi
if [[ -f "$GOLDEN_TOOLS/make-weights-golden.sh" ]]; then
  bash "$GOLDEN_TOOLS/make-weights-golden.sh" "$REF_DIR" >&2 || die "tools/golden/make-weights-golden.sh failed"
  echo "make-golden: wrote tests/golden/weights_sha256.json" >&2
fi
echo "make-golden: done; review with git diff tests/golden" >&2
