#!/usr/bin/env node
// Golden data for face-api's tiny face detector, produced by face-api's own code (wasm backend).
//
//   node tools/golden/tiny-net.mjs <reference_dir> <inputs_out_dir> <golden_json_out|-> <ppm>...
//
// <reference_dir> holds an installed copy of the reference harness (tools/face-api-reference with
// node_modules); its lib.mjs loads face-api exactly as reference.mjs does. For each PPM this writes
// <inputs_out_dir>/<stem>_input416.f32: the float32 416x416x3 tensor NetInput.toBatchTensor(416, false)
// builds (RGB 0..255, before TinyYolov2Base.forwardInput normalizes it). Unless the output is "-", it
// also writes the golden JSON: per image the input's sha256, the raw 13x13x25 grid that
// TinyYolov2Base.forwardInput returns (before extractBoxes applies sigmoid/exp), and the detections of
// locateFaces with the default TinyFaceDetectorOptions. A portrait crop of sample1 adds a case with
// padding on the right.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { PORTRAIT, cropRgb, f32bytes, stemOf } from './common.mjs';

const INPUT_SIZE = 416;
const CELLS = INPUT_SIZE / 32;
const CHANNELS = 25; 
function usage() {
  process.stderr.write('usage: node tiny-net.mjs <reference_dir> <inputs_out_dir> <golden_json_out|-> <ppm>...\n');
  process.exit(2);
}


async function runImage(faceapi, lib, img) {
  const { tf } = faceapi;
  const net = faceapi.nets.tinyFaceDetector;
  const tensor = lib.imageTensor(faceapi, img);
  const netInput = await faceapi.toNetInput(tensor);
  const batch = netInput.toBatchTensor(INPUT_SIZE, false);
  const input = tf.cast(batch, 'float32');
  const inputData = input.dataSync().slice();
  batch.dispose();
  input.dispose();

  // forwardInput is what TinyYolov2Base.detect feeds to extractBoxes: the conv8 output, undecoded.
  const out = net.forwardInput(netInput, INPUT_SIZE);
  if (out.shape.join() !== [1, CELLS, CELLS, CHANNELS].join()) throw new Error(`unexpected output shape ${out.shape}`);
  const grid = out.dataSync().slice();
  out.dispose();

  const detections = await net.locateFaces(tensor, new faceapi.TinyFaceDetectorOptions());
  tensor.dispose();
  const faces = detections.map((d) => ({ box: [d.box.x, d.box.y, d.box.width, d.box.height], score: d.score }));
  return { inputData, grid, faces };
}

async function main() {
  const [refDir, inputsDir, goldenOut, ...ppms] = process.argv.slice(2);
  if (!refDir || !inputsDir || !goldenOut || !ppms.length) usage();
  const lib = await import(pathToFileURL(path.resolve(refDir, 'lib.mjs')).href);
  const faceapi = await lib.loadFaceApi({ backend: 'wasm', models: ['tinyFaceDetector'] });
  fs.mkdirSync(inputsDir, { recursive: true });

  const images = [];
  let portrait = null;
  for (const file of ppms) {
    const stem = stemOf(file);
    const img = lib.decodeImage(file);
    const { inputData, grid, faces } = await runImage(faceapi, lib, img);
    const inputFile = path.join(inputsDir, `${stem}_input${INPUT_SIZE}.f32`);
    const bytes = f32bytes(inputData);
    fs.writeFileSync(inputFile, bytes);
    images.push({
      image: stem,
      width: img.width,
      height: img.height,
      rgb_sha256: lib.sha256(img.data),
      input_file: path.basename(inputFile),
      input_sha256: lib.sha256(bytes),
      faces,
      // 9 significant digits identify a float32 exactly and keep the file small.
      grid: Array.from(grid, (v) => Number(v.toPrecision(9))),
    });
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
    generator: 'tools/golden/tiny-net.mjs',
    faceapi: faceapi.version,
    tfjs: faceapi.tf.version_core,
    backend: faceapi.tf.getBackend(),
    input_size: INPUT_SIZE,
    cells: CELLS,
    channels: CHANNELS,
    options: { inputSize: INPUT_SIZE, scoreThreshold: 0.5 },
    note: 'input: toBatchTensor(416, false) as float32 HWC 0..255; grid: forwardInput output [13][13][25] '
      + '(anchor-major: 5 x (tx, ty, tw, th, conf)); faces[].box = [x, y, w, h] in image pixels as locateFaces '
      + 'reports them, in its order',
    images,
    portrait,
  };
  fs.writeFileSync(goldenOut, `${JSON.stringify(golden)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
