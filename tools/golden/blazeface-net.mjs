#!/usr/bin/env node
// Golden data for MediaPipe's BlazeFace short-range face detector (the tfjs graph model
// facemesh-detection-short.json), produced by TensorFlow.js's own code (wasm backend).
//
//   node tools/golden/blazeface-net.mjs <reference_dir> <models_dir> <inputs_out_dir> <golden_json_out|-> <ppm>...
//
// <reference_dir> holds an installed copy of the reference harness (tools/face-api-reference with
// node_modules); its lib.mjs loads tfjs (through face-api's bundle) and selects the backend exactly as
// reference.mjs does. <models_dir> holds facemesh-detection-short.json and its .bin (one weights group,
// float16-quantized; tfjs-converter dequantizes it). For each PPM this takes the first face box of that
// image in tests/golden/pipeline_ssd.jsonl and cuts a square around it (see faceSquare), resizes it to
// 128x128 and writes <inputs_out_dir>/<stem>_face128.f32 (float32 HWC RGB 0..255, before the net's
// normalization) and <stem>_face128_rot180.f32 (the same tensor rotated 180 degrees: rows and columns
// reversed). Unless the output is "-", it also runs the net on both (x / 127.5 - 1, then
// GraphModel.execute) and writes the golden JSON: per input its sha256, the 896 score logits (column 0
// of the [1, 896, 17] output) and the full rows of the 8 anchors with the highest logit. With "-" the
// model is neither loaded nor run: the inputs do not depend on it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { f32bytes, stemOf } from './common.mjs';

const MODEL = 'facemesh-detection-short';
const INPUT_SIZE = 128;
const ANCHORS = 896;
const COLUMNS = 17;
const TOP = 8;
// Square side relative to the larger side of the SSD box.
const SCALE = 1.5;
const PIPELINE_SSD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tests/golden/pipeline_ssd.jsonl');

function usage() {
  process.stderr.write(
    'usage: node blazeface-net.mjs <reference_dir> <models_dir> <inputs_out_dir> <golden_json_out|-> <ppm>...\n');
  process.exit(2);
}

// The first SSD face of each image in pipeline_ssd.jsonl, by stem: [x, y, w, h] in image pixels.
function firstBoxes() {
  const boxes = new Map();
  for (const line of fs.readFileSync(PIPELINE_SSD, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const l = JSON.parse(line);
    if (l.faces.length) boxes.set(l.image, l.faces[0].box);
  }
  return boxes;
}

// The integer square [x0, y0, side, side] around box: side = round(1.5 * max(w, h)), centred on the box
// centre, x0 = round(cx - side / 2), y0 likewise; round(v) = floor(v + 0.5) (halves go up, also below 0).
function faceSquare([x, y, w, h]) {
  const round = (v) => Math.floor(v + 0.5);
  const side = round(SCALE * Math.max(w, h));
  return [round(x + w / 2 - side / 2), round(y + h / 2 - side / 2), side, side];
}

// float32 [side, side, 3] RGB 0..255 copy of the square; cells outside the image are 0 (black).
function cutSquare(img, [x0, y0, side]) {
  const data = new Float32Array(side * side * 3);
  const xa = Math.max(0, x0), xb = Math.min(img.width, x0 + side);
  for (let y = Math.max(0, y0); y < Math.min(img.height, y0 + side); y++) {
    for (let x = xa; x < xb; x++) {
      const from = (y * img.width + x) * 3, to = ((y - y0) * side + (x - x0)) * 3;
      data[to] = img.data[from];
      data[to + 1] = img.data[from + 1];
      data[to + 2] = img.data[from + 2];
    }
  }
  return data;
}

async function loadModel(tf, modelsDir) {
  const file = path.join(modelsDir, `${MODEL}.json`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (json.weightsManifest.length !== 1) throw new Error(`${file}: expected one weights group`);
  const bin = fs.readFileSync(path.join(modelsDir, json.weightsManifest[0].paths[0]));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const { modelTopology, format, generatedBy, convertedBy, signature, userDefinedMetadata } = json;
  return tf.loadGraphModel({
    load: async () => ({
      modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData,
      format, generatedBy, convertedBy, signature, userDefinedMetadata,
    }),
  });
}

// The net's [896, 17] output for one float32 [128, 128, 3] 0..255 input, normalized here as x / 127.5 - 1.
function runNet(tf, model, pixels) {
  return tf.tidy(() => {
    const x = tf.sub(tf.div(tf.tensor4d(pixels, [1, INPUT_SIZE, INPUT_SIZE, 3], 'float32'), 127.5), 1);
    const out = model.execute(x);
    if (out.shape.join() !== [1, ANCHORS, COLUMNS].join()) throw new Error(`unexpected output shape ${out.shape}`);
    return out.dataSync().slice();
  });
}

async function main() {
  const [refDir, modelsDir, inputsDir, goldenOut, ...ppms] = process.argv.slice(2);
  if (!refDir || !modelsDir || !inputsDir || !goldenOut || !ppms.length) usage();
  const lib = await import(pathToFileURL(path.resolve(refDir, 'lib.mjs')).href);
  const faceapi = await lib.loadFaceApi({ backend: 'wasm', models: [] });
  const { tf } = faceapi;
  fs.mkdirSync(inputsDir, { recursive: true });
  const boxes = firstBoxes();

  const inputs = [];
  for (const file of ppms) {
    const stem = stemOf(file);
    const box = boxes.get(stem);
    if (!box) throw new Error(`${stem}: no face in ${PIPELINE_SSD}`);
    const img = lib.decodeImage(file);
    const crop = faceSquare(box);
    const [upright, rot180] = tf.tidy(() => {
      const square = tf.tensor3d(cutSquare(img, crop), [crop[3], crop[2], 3], 'float32');
      // alignCorners = false, halfPixelCenters = false: tfjs's defaults (the scale is side / 128 and
      // source pixel = destination pixel * scale, as in face-api's toBatchTensor).
      const resized = tf.image.resizeBilinear(square, [INPUT_SIZE, INPUT_SIZE], false, false);
      return [resized.dataSync().slice(), tf.reverse(resized, [0, 1]).dataSync().slice()];
    });
    for (const [name, pixels, rotated] of [[`${stem}_face${INPUT_SIZE}`, upright, false],
      [`${stem}_face${INPUT_SIZE}_rot180`, rot180, true]]) {
      const bytes = f32bytes(pixels);
      const inputFile = path.join(inputsDir, `${name}.f32`);
      fs.writeFileSync(inputFile, bytes);
      inputs.push({ name, pixels, entry: { name, image: stem, rotated_180: rotated, box, crop,
        input_file: path.basename(inputFile), input_sha256: lib.sha256(bytes) } });
    }
    process.stderr.write(`${stem}: square ${crop.join(',')} -> ${inputsDir}/${stem}_face${INPUT_SIZE}{,_rot180}.f32\n`);
  }
  if (goldenOut === '-') return;

  const model = await loadModel(tf, modelsDir);
  // Probe the backend once: should the wasm backend lack a kernel the graph needs, every image runs on cpu.
  try {
    runNet(tf, model, new Float32Array(INPUT_SIZE * INPUT_SIZE * 3));
  } catch (e) {
    process.stderr.write(`blazeface-net: the wasm backend cannot run ${MODEL} (${e.message}); falling back to cpu\n`);
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs backend cpu could not be initialised');
    await tf.ready();
  }

  const images = [];
  for (const { name, pixels, entry } of inputs) {
    const out = runNet(tf, model, pixels);
    const logits = Array.from({ length: ANCHORS }, (_, i) => out[i * COLUMNS]);
    const order = logits.map((v, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
    const top = order.slice(0, TOP).map((i) => ({ anchor: i, row: Array.from(out.subarray(i * COLUMNS, (i + 1) * COLUMNS)) }));
    images.push({ ...entry, logits, top });
    process.stderr.write(`${name}: top logit ${logits[order[0]]} at anchor ${order[0]}\n`);
  }
  const golden = {
    generator: 'tools/golden/blazeface-net.mjs',
    model: MODEL,
    tfjs: tf.version_core,
    backend: tf.getBackend(),
    input_size: INPUT_SIZE,
    anchors: ANCHORS,
    columns: COLUMNS,
    note: 'input: float32 HWC RGB 0..255, the square crop = [x0, y0, side, side] around the first SSD face box of '
      + 'pipeline_ssd.jsonl (side = round(1.5 * max(w, h)), centred, round(v) = floor(v + 0.5), black outside the '
      + 'image) resized to 128x128 by tf.image.resizeBilinear(alignCorners = false, halfPixelCenters = false); '
      + '_rot180: the same tensor with rows and columns reversed. The net sees x / 127.5 - 1. logits: column 0 of '
      + 'the [1, 896, 17] output "Identity:0" per anchor; top: the 8 anchors with the highest logit (ties by '
      + 'index), row = all 17 columns (logit, box cx, cy, w, h offsets, 6 keypoints x, y; input pixels relative '
      + 'to the anchor)',
    images,
  };
  // JSON.stringify prints the shortest decimal that round-trips each double, so every float32 is exact.
  fs.writeFileSync(goldenOut, `${JSON.stringify(golden)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
