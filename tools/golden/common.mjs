// Shared by the net golden scripts (ssd-net.mjs, tiny-net.mjs).
import path from 'node:path';

// Columns [301, 1100) of sample1: a 799x1280 portrait. Its odd width makes the rounding in face-api's
// computeReshapedDimensions matter, so both detectors get a case with padding on the right.
export const PORTRAIT = { source: 'sample1', x: 301, y: 0, width: 799, height: 1280 };

export const stemOf = (file) => path.basename(file).replace(/\.[^.]+$/, '');
export const f32bytes = (arr) => Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);

export function cropRgb(img, r) {
  const data = new Uint8Array(r.width * r.height * 3);
  for (let y = 0; y < r.height; y++) {
    const from = ((r.y + y) * img.width + r.x) * 3;
    data.set(img.data.subarray(from, from + r.width * 3), y * r.width * 3);
  }
  return { width: r.width, height: r.height, data };
}
