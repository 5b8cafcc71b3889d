#!/usr/bin/env bash
# Installs everything facematch needs on Debian 12, fetches the models and builds the release binary.
# Safe to run again: each step is skipped when already done, so a second run takes seconds.
#
#   ./setup.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libdnnl-dev ocl-icd-opencl-dev  # dnnl-config.cmake needs OpenCL (Debian builds oneDNN with its OCL GPU runtime; apt only recommends it)
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libcpp-httplib-dev libsimdjson-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev libfaiss-dev  # the face gallery (issue 13): its embedded store and its search index
  clang-14 libclang-rt-14-dev libomp-14-dev  # the libFuzzer targets (tools/run-tests.sh --fuzz, tools/fuzz.sh)
  postgresql-15 libpq-dev  # the shared gallery back end (--gallery postgresql://...): libpq client; the tests start a real server from /usr/lib/postgresql/15/bin
  haproxy  # the multi-replica fault test and bench (tests/test_replicas.cpp, bench/replica_faults.cpp) balance three replicas with it
  linux-perf  # bench/profile.sh samples a verification with perf
  curl python3  # the container test and bench/load.sh, bench/memory.sh talk to the server with curl; python3 builds requests and picks free ports
  mmdebstrap podman runc  # the container image (deploy/container/build-image.sh: Debian root from the mirror, podman import) and its test; runc because crun refuses cgroup v1/v2 hybrid hosts
  chromium  # the web page test drives it (tests/web; playwright-core comes from tests/web/package-lock.json)
)

# One dpkg-query for all packages keeps a second run fast; unknown packages simply don't appear.
installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null | grep ' install ok installed$' || true)"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  grep -q "^$pkg install ok installed$" <<<"$installed" || missing+=("$pkg")
done
# Node.js may come from elsewhere than Debian (e.g. a nodejs build that bundles npm and conflicts with
# Debian's npm package), so judge it by the commands, not by package names. The reference harness
# needs Node 18 or later, which Debian 12's nodejs is.
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if ! command -v npm >/dev/null || ((node_major < 18)); then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "setup: run as root or install sudo (need: ${missing[*]})" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "setup: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

tools/fetch-models.sh models

cmake --preset release >/dev/null
cmake --build --preset release

echo "setup: done. The binary is $(pwd)/build/release/facematch (models: $(pwd)/models)"
