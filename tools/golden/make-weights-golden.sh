#!/usr/bin/env bash
# Regenerates tests/golden/weights_sha256.json: the SHA-256 of every dequantized tensor as tfjs computes
# it (the reference tool's weights.mjs), so the C++ manifest reader is checked bit for bit.
# Usage: tools/golden/make-weights-golden.sh [REFERENCE_DIR]   (default: build/reference, see install-reference.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ref=${1:-$root/build/reference}
[ -d "$ref/node_modules" ] || "$root/tools/golden/install-reference.sh" "$ref"
out=$root/tests/golden/weights_sha256.json
{
  echo "{"
  first=1
  for model in ssd_mobilenetv1_model tiny_face_detector_model face_landmark_68_model face_recognition_model; do
    [ $first = 1 ] || echo ","
    first=0
    printf '  "%s": {\n' "$model"
    (cd "$ref" && node weights.mjs "$model") | node -e '
      const lines = require("fs").readFileSync(0, "utf8").trim().split("\n").map(JSON.parse);
      process.stdout.write(lines.map(t => `    ${JSON.stringify(t.name)}: ${JSON.stringify(t.sha256)}`).join(",\n") + "\n");'
    printf '  }'
  done
  echo
  echo "}"
} > "$out"
echo "wrote $out"
