#!/usr/bin/env node
// Golden data for face-api's SSD MobileNetV1, produced by face-api's own code (wasm backend).
//
//   node tools/golden/ssd-net.mjs <reference_dir> <inputs_out_dir> <golden_json_out|-> <ppm>...
//
// <reference_dir> holds an installed copy of the reference harness (tools/face-api-reference with
// node_modules); its lib.mjs loads face-api exactly as reference.mjs does. For each PPM this writes
// <inputs_out_dir>/<stem>_input512.f32: the float32 512x512x3 tensor NetInput.toBatchTensor(512, false)
// builds (RGB 0..255, before SsdMobilenetv1.forwardInput normalizes it). Unless the output is "-", it
// also writes the golden JSON: per image the input's sha256, the detections of locateFaces with the
// default options, and for sample1 and sample5 the net's raw outputs (box encodings [5118][4] and
// class logits [5118][3]). A portrait crop of sample1 adds a case with padding on the right.
//
// The raw outputs are the two tensors predictionLayer concatenates inside forwardInput, captured at
// the engine's Concat kernel: face-api does not export mobileNetV1/predictionLayer, and re-running
// the layers here would test a copy instead of face-api itself.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { PORTRAIT, cropRgb, f32bytes, stemOf } from './common.mjs';

const ANCHORS = 5118;
const INPUT_SIZE = 512;
const RAW_FOR = new Set(['sample1', 'sample5']);

function usage() {
  process.stderr.write('usage: node ssd-net.mjs <reference_dir> <inputs_out_dir> <golden_json_out|-> <ppm>...\n');
  process.exit(2);
}


// Runs fn and returns the float32 contents of the two [1, 5118, ...] tensors concatenated along axis 1
// (predictionLayer's boxPredictions [1,5118,1,4] and classPredictions [1,5118,3]).
function captureRawOutputs(tf, fn) {
  const engine = tf.engine();
  const original = engine.runKernel;
  const raw = {};
  engine.runKernel = function hooked(kernelName, inputs, attrs) {
    const out = original.call(this, kernelName, inputs, attrs);
    if (kernelName === 'Concat' && attrs && attrs.axis === 1 && out.shape[1] === ANCHORS) {
      const key = out.shape.length === 4 && out.shape[3] === 4 ? 'box_encodings' : 'class_logits';
      if (raw[key]) throw new Error(`captured ${key} twice`);
      raw[key] = out.dataSync().slice();
    }
    return out;
  };
  let result;
  try {
    result = fn();
  } finally {
    engine.runKernel = original;
  }
  if (!raw.box_encodings || !raw.class_logits) throw new Error('did not capture the raw SSD outputs');
  if (raw.box_encodings.length !== ANCHORS * 4 || raw.class_logits.length !== ANCHORS * 3)
    throw new Error('raw SSD outputs have unexpected sizes');
  return { raw, result };
}

async function runImage(faceapi, lib, img) {
  const { tf } = faceapi;
  const net = faceapi.nets.ssdMobilenetv1;
  const tensor = lib.imageTensor(faceapi, img);
  const netInput = await faceapi.toNetInput(tensor);
  const batch = netInput.toBatchTensor(INPUT_SIZE, false);
  const input = tf.cast(batch, 'float32');
  const inputData = input.dataSync().slice();
  batch.dispose();
  input.dispose();

  const { raw, result } = captureRawOutputs(tf, () => net.forwardInput(netInput));
  // Self-check that the capture is the net's output: sigmoid(logit 1) must give forwardInput's scores.
  const scores = result.scores[0].dataSync();
  const logits = tf.tensor3d(raw.class_logits, [1, ANCHORS, 3]);
  const again = tf.tidy(() => tf.sigmoid(tf.slice(logits, [0, 0, 1], [-1, -1, 1])).dataSync());
  logits.dispose();
  const captureVerified = again.every((v, i) => v === scores[i]);
  result.boxes.forEach((t) => t.dispose());
  result.scores.forEach((t) => t.dispose());
  if (!captureVerified) throw new Error('captured class logits do not reproduce forwardInput scores');

  const detections = await net.locateFaces(tensor, new faceapi.SsdMobilenetv1Options());
  tensor.dispose();
  const faces = detections.map((d) => ({ box: [d.box.x, d.box.y, d.box.width, d.box.height], score: d.score }));
  return { inputData, raw, faces, captureVerified };
}

async function main() {
  const [refDir, inputsDir, goldenOut, ...ppms] = process.argv.slice(2);
  if (!refDir || !inputsDir || !goldenOut || !ppms.length) usage();
  const lib = await import(pathToFileURL(path.resolve(refDir, 'lib.mjs')).href);
  const faceapi = await lib.loadFaceApi({ backend: 'wasm', models: ['ssdMobilenetv1'] });
  fs.mkdirSync(inputsDir, { recursive: true });

  const images = [];
  let portrait = null;
  for (const file of ppms) {
    const stem = stemOf(file);
    const img = lib.decodeImage(file);
    const { inputData, raw, faces, captureVerified } = await runImage(faceapi, lib, img);
    const inputFile = path.join(inputsDir, `${stem}_input${INPUT_SIZE}.f32`);
    const bytes = f32bytes(inputData);
    fs.writeFileSync(inputFile, bytes);
    const entry = {
      image: stem,
      width: img.width,
      height: img.height,
      rgb_sha256: lib.sha256(img.data),
      input_file: path.basename(inputFile),
      input_sha256: lib.sha256(bytes),
      capture_verified: captureVerified,
      faces,
    };
    if (RAW_FOR.has(stem)) {
      entry.box_encodings = Array.from(raw.box_encodings);
      entry.class_logits = Array.from(raw.class_logits);
    }
    images.push(entry);
    process.stderr.write(`${stem}: ${faces.length} faces, input ${inputFile}\n`);

    if (stem === PORTRAIT.source) {
      const crop = cropRgb(img, PORTRAIT);
      const res = await runImage(faceapi, lib, crop);
      portrait = { ...PORTRAIT, rgb_sha256: lib.sha256(crop.data), faces: res.faces };
      process.stderr.write(`${stem} portrait crop: ${res.faces.length} faces\n`);
    }
  }
  if (goldenOut === '-') return;
  const golden = {
    generator: 'tools/golden/ssd-net.mjs',
    faceapi: faceapi.version,
    tfjs: faceapi.tf.version_core,
    backend: faceapi.tf.getBackend(),
    input_size: INPUT_SIZE,
    anchors: ANCHORS,
    options: { minConfidence: 0.5, maxResults: 100 },
    note: 'input: toBatchTensor(512, false) as float32 HWC 0..255; box_encodings [5118][4] (ty, tx, th, tw), '
      + 'class_logits [5118][3]; faces[].box = [x, y, w, h] in image pixels as locateFaces reports them',
    images,
    portrait,
  };
  // JSON.stringify prints the shortest decimal that round-trips each double, so every float32 is exact.
  fs.writeFileSync(goldenOut, `${JSON.stringify(golden)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
