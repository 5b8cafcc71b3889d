#!/usr/bin/env bash
# Median ms per stage for facematch (fp32 and auto precision) and, in the same run on the same image,
# the face-api reference (tfjs wasm, 1 thread), with ratios and issue 7's targets; then each net alone
# with GFLOP/s against this machine's measured peak (bench/net_bench.cpp).
# Usage: bench/run.sh [--summary] [IMAGE] [PAIR_A PAIR_B] [N]
# --summary prints only one JSON line of ratios measured in this run, comparable across machines:
#   pipeline_speedup  face-api's full pipeline on IMAGE (SSD, all faces, decode excluded) over facematch's
#                     defaults on it (cascade, flip averaging, auto; decode excluded)
#   pair_speedup      face-api's full pipeline on the two ~640x480 JPEGs of the pair, added up, over
#                     facematch's default verify of the same bytes (decode included on our side only)
#   auto_vs_fastest   per net: the 1-thread time of the precision auto chose (facematch info, measured
#                     afresh) over the fastest of its candidates (facematch_net_bench); 1.0 = auto is right
#   service_efficiency  bench/load.sh's verifications/s at concurrency 4 over cores / the CPU time of one
#                     verification of the same pair (its p99 beside it)
#   recall_extras_cost  the defaults' pipeline time on IMAGE over the same without issue 12's retries,
#                     orientation checks and doubt band, timed in alternation (median of the per-round
#                     ratios; 1.0 = finding more faces costs photos like IMAGE nothing);
#                     recall_extras_cost_pair the same for the verify of the pair
# Defaults: the model package's sample1.jpg (1920x1280, 3 faces), the pair hugh_laurie_1.jpg and
# obama_1.jpg from ../shared/faces (scaled to fit 640x480 in memory), N=20. OMP_NUM_THREADS (default:
# all cores) sets facematch's thread budget; the nets-alone table runs on 1 thread.
set -euo pipefail
summary=0
if [ "${1:-}" = --summary ]; then summary=1; shift; fi
root=$(cd "$(dirname "$0")/.." && pwd)
image=${1:-$root/models/demo/sample1.jpg}
pair_a=${2:-$root/../shared/faces/hugh_laurie_1.jpg}
pair_b=${3:-$root/../shared/faces/obama_1.jpg}
n=${4:-20}
image=$(realpath "$image")
build=${FACEMATCH_BUILD:-$root/build/release}
ref=$root/build/reference
[ -x "$build/bench/facematch_decode_bench" ] ||
  cmake --build "$build" --target facematch_bench facematch_net_bench facematch_parse_bench facematch_decode_bench
[ -d "$ref/node_modules" ] || "$root/tools/golden/install-reference.sh" "$ref"

export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
if [ $summary = 1 ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # auto measures afresh into a scratch cache, so the ratio judges this run's choice.
  ours=$(FACEMATCH_CACHE_DIR=$work FACEMATCH_BENCH_PAIR_DIR=$work "$build/bench/facematch_bench" "$root/models" \
    "$image" "$(realpath "$pair_a")" "$(realpath "$pair_b")" "$n")
  nets=$(OMP_NUM_THREADS=1 "$build/bench/facematch_net_bench" "$root/models" "$n" 1)
  info=$(FACEMATCH_CACHE_DIR=$work/info "$build/facematch" info --json --threads 1 --models "$root/models")
  fa_image=$(cd "$ref" && node bench.mjs --image "$image" --n 5 --backends wasm --json 2>/dev/null | tail -n 1)
  fa_a=$(cd "$ref" && node bench.mjs --image "$work/pair_a.jpg" --n 5 --backends wasm --json 2>/dev/null | tail -n 1)
  fa_b=$(cd "$ref" && node bench.mjs --image "$work/pair_b.jpg" --n 5 --backends wasm --json 2>/dev/null | tail -n 1)
  service=$("$root/bench/load.sh" "$build" 400 0 | grep "^{" | tail -n 1)
  node - "$ours" "$nets" "$info" "$fa_image" "$fa_a" "$fa_b" "$service" <<'JS'
const [ours, nets, info, faImage, faA, faB, service] = process.argv.slice(2).map(JSON.parse);
const round = (x) => +x.toFixed(3);
// facematch_net_bench's names for the nets facematch info lists by key.
const benchName = {face_recognition_model: 'recognition', face_landmark_68_model: 'landmark',
                   'ssd_mobilenetv1_model@512': 'ssd', 'tiny_face_detector_model@416': 'tiny',
                   'facemesh-detection-short@64': 'blazeface'};
const autoVsFastest = {}, autoChoice = {};
for (const [key, net] of Object.entries(info.nets)) {
  const timed = nets.nets[benchName[key]];
  const candidates = Object.keys(net.measured_ms || {[net.precision]: 0}).filter((p) => timed[p]);
  const ms = (p) => timed[p]['1'].ms;
  autoChoice[key] = net.precision;
  autoVsFastest[key] = round(ms(net.precision) / Math.min(...candidates.map(ms)));
}
console.log(JSON.stringify({
  date: new Date().toISOString().slice(0, 10), isa: ours.isa, cores: info.cores, cpu: info.cpu,
  threads_per_call: ours.threads_per_call, n: ours.n,
  pipeline_speedup: round(faImage.stage_ms.total.median / ours.recommended.pipeline_ms),
  pair_speedup: round((faA.stage_ms.total.median + faB.stage_ms.total.median) / ours.recommended.verify_640x480_ms),
  auto_vs_fastest: autoVsFastest, auto_choice_1_thread: autoChoice,
  service_efficiency: service.service_efficiency, service_p99_ms: service.service_p99_ms,
  recall_extras_cost: round(ours.recommended_without_recall_extras.recall_extras_cost.pipeline),
  recall_extras_cost_pair: round(ours.recommended_without_recall_extras.recall_extras_cost.verify_640x480),
  auto_choice: Object.fromEntries(Object.entries(ours.auto_nets).map(([k, v]) => [k, v.precision])),
  ms: {facematch_pipeline: round(ours.recommended.pipeline_ms), face_api_pipeline: round(faImage.stage_ms.total.median),
       facematch_pair: round(ours.recommended.verify_640x480_ms),
       face_api_pair: round(faA.stage_ms.total.median + faB.stage_ms.total.median),
       service_rate: service.service_rate, service_ideal_rate: service.service_ideal_rate},
}));
JS
  exit 0
fi
ours=$("$build/bench/facematch_bench" "$root/models" "$image" "$(realpath "$pair_a")" "$(realpath "$pair_b")" "$n")
nets=$(OMP_NUM_THREADS=1 "$build/bench/facematch_net_bench" "$root/models" "$n" 1)
parse=$("$build/bench/facematch_parse_bench" "$(realpath "$pair_a")" "$(realpath "$pair_b")" 50)
# Large JPEGs of ../shared/faces (phone photo 4160x3120, group photo, portraits) and the image above.
faces=$root/../shared/faces
decode=$("$build/bench/facematch_decode_bench" "$n" 1024 "$faces/lowlight_1.jpg" "$faces/multi_group_smile.jpg" \
  "$faces/shea_whigham.jpg" "$faces/paul_rudd.jpg" "$image")
theirs=$(cd "$ref" && node bench.mjs --image "$image" --n 10 --backends wasm --json 2>/dev/null | tail -n 1)
node - "$ours" "$theirs" "$nets" "$parse" "$decode" <<'JS'
const [ours, theirs, nets, parse, decode] = process.argv.slice(2).map(JSON.parse);
const f = (x, w) => (x != null ? x.toFixed(2) : '-').padStart(w);
const row = (name, a, b, ref, target) => {
  const ratio = (b && ref) ? (ref / b).toFixed(1) + 'x' : '';
  console.log(`${name.padEnd(40)} ${f(a, 8)} ${f(b, 8)} ${f(ref, 9)} ${ratio.padStart(7)}  ${target || ''}`);
};
const fp = ours.fp32, au = ours.auto, tf = theirs.faces;
console.log(`image ${ours.image} ${ours.width}x${ours.height}; faces ssd=${ours.faces.ssd} tiny=${ours.faces.tiny}; face-api found ${tf}`);
console.log(`ISA ${ours.isa}; auto = ${Object.entries(ours.auto_nets).map(([k, v]) => k.split('@')[0].replace(/_model$/, '') + ' ' + v.precision).join(', ')}; OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS} -> ${ours.threads_per_call} threads per call; medians of ${ours.n}`);
console.log(`${'median ms'.padEnd(40)} ${'fp32'.padStart(8)} ${'auto'.padStart(8)} ${'face-api'.padStart(9)} speedup  target`);
row('decode', ours.decode_ms, ours.decode_ms, null);
row('detect (SSD 512, fp32)', ours.detect_ms.ssd, ours.detect_ms.ssd, theirs.stage_ms.detect.median);
row('detect (tiny 416)', fp.tiny_detect_ms, au.tiny_detect_ms, null);
row('landmarks, per face', fp.landmarks_ms_per_face, au.landmarks_ms_per_face, theirs.stage_ms.landmarks.median / tf);
row('landmarks, per face in one batch', fp.landmarks_batch_ms_per_face, au.landmarks_batch_ms_per_face, null);
row('align similarity, per face', fp.align_ms_per_face.similarity, au.align_ms_per_face.similarity, null);
row('embed, per face', fp.embed_ms_per_face, au.embed_ms_per_face, theirs.stage_ms.descriptor.median / tf);
row('embed, per face in one batch', fp.embed_batch_ms_per_face, au.embed_batch_ms_per_face, null);
row('embed with flip averaging, per face', fp.embed_flip_ms_per_face, au.embed_flip_ms_per_face, null);
row('recognition net alone', fp.recognition_net_ms, au.recognition_net_ms, theirs.recognition_net_ms.median, '<= 1.2');
row('landmark net alone', fp.landmark_net_ms, au.landmark_net_ms, theirs.landmark_net_ms.median);
row('SSD net alone (reference incl. NMS)', ours.ssd_net_ms, ours.ssd_net_ms, theirs.detector_net_ms.median);
row('full pipeline, all faces (no decode)', fp.pipeline_ms, au.pipeline_ms, theirs.stage_ms.total.median, '>= 30x');
row('verify sample1 twice (incl. decode)', fp.verify_files_ms, au.verify_files_ms, null);
row('verify two ~640x480 JPEGs (incl. decode)', fp.verify_640x480_ms, au.verify_640x480_ms, null, '<= 15');
console.log(`  640x480 pair stages (auto, ms, both images): ${JSON.stringify(au.verify_640x480_stages, (k, v) => typeof v === 'number' ? +v.toFixed(2) : v)}`);
for (const [key, label] of [['recommended', 'auto'], ['recommended_int8', '--precision int8']]) {
  const rec = ours[key];
  console.log(`defaults (cascade + low-light retry + flip averaging, ${label}; ${rec.faces} faces on the image):`);
  row('recognition net alone', null, rec.recognition_net_ms, theirs.recognition_net_ms.median, '<= 1.2');
  row('full pipeline, all faces (no decode)', null, rec.pipeline_ms, theirs.stage_ms.total.median, '>= 30x');
  row('verify two ~640x480 JPEGs (incl. decode)', null, rec.verify_640x480_ms, null, '<= 15');
}
console.log(`\noriginal API request (2 x 1x224x224x3 floats, ${(parse.bytes / 1e6).toFixed(2)} MB of JSON): parsed in ${parse.cpu_ms_median.toFixed(2)} ms CPU median (${parse.wall_ms_median.toFixed(2)} ms wall; best ${parse.cpu_ms_best.toFixed(2)}) of ${parse.n}; target < 5`);
console.log(`\nreduced decoding (--reduced-decode-min-side ${decode.min_side}, the default), median ms of ${decode.n}, 1 thread:`);
for (const d of decode.images)
  console.log(`  ${d.image.split('/').pop().padEnd(28)} ${(d.width + 'x' + d.height).padStart(10)}  full ${d.full_ms.toFixed(1).padStart(6)}  at 1/${d.scale} ${d.reduced_ms.toFixed(1).padStart(6)}  ${(d.full_ms / d.reduced_ms).toFixed(1)}x`);
console.log(`\nEach net alone, 1 thread (ms = median CPU time of the thread, immune to other processes' load)`);
const peak = nets.peak_gflops;
console.log(`peak: 1024^3 matmul fp32 ${peak.matmul_f32.toFixed(0)} GFLOP/s, bf16 ${peak.matmul_bf16.toFixed(0)} GFLOP/s, int8 ${peak.matmul_int8.toFixed(0)} GOP/s (ISA ${nets.isa})`);
console.log(`${'net'.padEnd(12)} ${'prec'.padEnd(5)} ${'batch'.padStart(5)} ${'ms/item'.padStart(8)} ${'GFLOP/s'.padStart(8)} ${'% peak'.padStart(7)}`);
for (const [net, byType] of Object.entries(nets.nets))
  for (const [type, byBatch] of Object.entries(byType))
    for (const [batch, r] of Object.entries(byBatch)) {
      // int8 nets keep some layers in bf16: their % is of the int8 peak, an upper bound they cannot reach.
      const p = type === 'fp32' ? peak.matmul_f32 : type === 'bf16' ? peak.matmul_bf16 : peak.matmul_int8;
      console.log(`${net.padEnd(12)} ${type.padEnd(5)} ${batch.padStart(5)} ${r.ms_per_item.toFixed(2).padStart(8)} ${r.gflops.toFixed(0).padStart(8)} ${(100 * r.gflops / p).toFixed(0).padStart(6)}%`);
    }
JS
