#!/usr/bin/env bash
# Puts the face-api model files (and the six demo photos) into DIR, from the npm package
# @vladmandic/face-api@1.7.15. Every file is checked against committed sha256 sums; nothing goes into git.
#
#   tools/fetch-models.sh [DIR]           fetch if needed (default DIR: <repo>/models)
#   tools/fetch-models.sh --check [DIR]   only verify DIR; exit 1 naming each missing or altered file
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGE="@vladmandic/face-api@1.7.15"
TARBALL_NAME="vladmandic-face-api-1.7.15.tgz"
TARBALL_SHA256="0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
MODEL_SUMS="$ROOT/tools/face-api-models.sha256"
CACHE_DIR="$ROOT/.cache"

# The demo photos are not model files (the binary embeds face-api-models.sha256 to check the models it
# loads), so their sums live here. They come from the same tarball, whose own sum is checked too.
DEMO_SUMS="8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51  demo/sample1.jpg
7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691  demo/sample2.jpg
8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936  demo/sample3.jpg
729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc  demo/sample4.jpg
6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938  demo/sample5.jpg
9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87  demo/sample6.jpg"

usage() {
  echo "usage: $0 [--check] [DIR]   (DIR defaults to $ROOT/models)" >&2
  exit 2
}

check_only=0
dir=""
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    -h | --help) usage ;;
    -*) echo "unknown option $arg" >&2; usage ;;
    *) [[ -z "$dir" ]] || usage; dir="$arg" ;;
  esac
done
dir="${dir:-$ROOT/models}"

die() {
  echo "fetch-models: $*" >&2
  exit 1
}

[[ -r "$MODEL_SUMS" ]] || die "missing $MODEL_SUMS (it is committed in the repo)"

# "<sha256>  <relative path>" lines for every file DIR must hold.
expected_sums() {
  grep -Ev '^[[:space:]]*(#|$)' "$MODEL_SUMS"
  printf '%s\n' "$DEMO_SUMS"
}

# Prints one line per missing or altered file; returns non-zero if there is any.
verify_dir() {
  local d="$1" bad=0 sum file actual
  while read -r sum file; do
    if [[ ! -f "$d/$file" ]]; then
      echo "missing: $d/$file"
      bad=1
      continue
    fi
    actual="$(sha256sum "$d/$file" | cut -d' ' -f1)"
    if [[ "$actual" != "$sum" ]]; then
      echo "altered: $d/$file (sha256 $actual, expected $sum)"
      bad=1
    fi
  done < <(expected_sums)
  return "$bad"
}

if problems="$(verify_dir "$dir")"; then
  [[ $check_only == 1 ]] && echo "fetch-models: all files in $dir match $MODEL_SUMS"
  exit 0
fi
if [[ $check_only == 1 ]]; then
  printf '%s\n' "$problems" >&2
  die "$dir does not match $MODEL_SUMS; run tools/fetch-models.sh $dir (or ./setup.sh) to fetch the files again"
fi

command -v npm >/dev/null || die "npm is not installed; run ./setup.sh (it installs nodejs and npm)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

tarball="$CACHE_DIR/$TARBALL_NAME"
if [[ ! -f "$tarball" ]] || [[ "$(sha256sum "$tarball" | cut -d' ' -f1)" != "$TARBALL_SHA256" ]]; then
  echo "fetch-models: downloading $PACKAGE with npm pack" >&2
  # Run from the temp dir so no package.json or .npmrc of the caller's folder is involved.
  (cd "$tmp" && npm pack "$PACKAGE" --prefer-offline --silent --pack-destination "$tmp" >/dev/null) ||
    die "npm pack $PACKAGE failed (is the npm registry reachable?)"
  [[ -f "$tmp/$TARBALL_NAME" ]] || die "npm pack did not produce $TARBALL_NAME"
  mkdir -p "$CACHE_DIR"
  mv "$tmp/$TARBALL_NAME" "$tarball.part"
  mv "$tarball.part" "$tarball"
fi
actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [[ "$actual" != "$TARBALL_SHA256" ]]; then
  rm -f "$tarball"
  die "$TARBALL_NAME has sha256 $actual, expected $TARBALL_SHA256 (removed the cached copy; the registry served a different file)"
fi

mkdir -p "$tmp/x"
tar -xzf "$tarball" -C "$tmp/x" package/model package/demo
mkdir -p "$dir/demo"
cp "$tmp"/x/package/model/* "$dir/"
for n in 1 2 3 4 5 6; do
  cp "$tmp/x/package/demo/sample$n.jpg" "$dir/demo/"
done

if ! problems="$(verify_dir "$dir")"; then
  printf '%s\n' "$problems" >&2
  die "files extracted from $TARBALL_NAME do not match $MODEL_SUMS"
fi
echo "fetch-models: $PACKAGE models and demo photos are in $dir (sha256 checked)" >&2
