#!/usr/bin/env bash
# Median ms per stage for facematch and, in the same run on the same images, the face-api reference
# (tfjs wasm, 1 thread), with ratios. Usage: bench/run.sh [IMAGE] [SECOND_IMAGE] [N]
# Defaults: the model package's sample1.jpg (1920x1280, 3 faces) and N=20. OMP_NUM_THREADS (default 1)
# sets facematch's threads.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
image=${1:-$root/models/demo/sample1.jpg}
second=${2:-$image}
n=${3:-20}
image=$(realpath "$image")
second=$(realpath "$second")
build=$root/build/release
ref=$root/build/reference
[ -x "$build/bench/facematch_bench" ] || cmake --build --preset release --target facematch_bench
[ -d "$ref/node_modules" ] || "$root/tools/golden/install-reference.sh" "$ref"

export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
ours=$("$build/bench/facematch_bench" "$root/models" "$image" "$second" "$n")
theirs=$(cd "$ref" && node bench.mjs --image "$image" --n 10 --backends wasm --json 2>/dev/null | tail -n 1)
node - "$ours" "$theirs" <<'JS'
const [ours, theirs] = process.argv.slice(2).map(JSON.parse);
const row = (name, a, b) => {
  const ratio = (a && b) ? (b / a).toFixed(1) + 'x' : '';
  console.log(`${name.padEnd(42)} ${a != null ? a.toFixed(2).padStart(9) : '        -'} ${b != null ? b.toFixed(2).padStart(11) : '          -'}  ${ratio}`);
};
console.log(`image ${ours.image} ${ours.width}x${ours.height}; faces ssd=${ours.faces.ssd} tiny=${ours.faces.tiny}; face-api found ${theirs.faces}; OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS}`);
console.log(`${'median ms'.padEnd(42)} ${'facematch'.padStart(9)} ${'face-api'.padStart(11)}  speed-up`);
row('decode', ours.decode_ms, null);
row('detect (SSD 512, incl. resize + NMS)', ours.detect_ms.ssd, theirs.stage_ms.detect.median);
row('detect (tiny 416)', ours.detect_ms.tiny, null);
row('landmarks, per face', ours.landmarks_ms_per_face, theirs.stage_ms.landmarks.median / theirs.faces);
row('align faceapi, per face', ours.align_ms_per_face.faceapi, null);
row('align similarity, per face', ours.align_ms_per_face.similarity, null);
row('embed, per face', ours.embed_ms_per_face, theirs.stage_ms.descriptor.median / theirs.faces);
row('recognition net alone', ours.recognition_net_ms, theirs.recognition_net_ms.median);
row('landmark net alone', ours.landmark_net_ms, theirs.landmark_net_ms.median);
row('SSD net alone (reference incl. decode+NMS)', ours.ssd_net_ms, theirs.detector_net_ms.median);
row('full pipeline, all faces (no decode)', ours.pipeline_ms, theirs.stage_ms.total.median);
row('verify two files (incl. decode)', ours.verify_files_ms, null);
JS
