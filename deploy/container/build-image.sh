#!/usr/bin/env bash
# Builds the facematch OCI image from Debian 12 packages only, without a container registry: the base
# file system comes from Debian's mirror through mmdebstrap, and podman imports it.
#
#   deploy/container/build-image.sh [--tag facematch:latest] [--build-dir build/release] [--keep-rootfs DIR]
#
# Build stage: ./setup.sh's own steps on this Debian 12 machine (packages, checked models, release
# build); the script runs setup.sh when the binary is missing. Runtime stage: a minbase Debian 12 root
# file system holding only the Debian packages that own the binary's shared libraries (found with ldd and
# dpkg -S, so the list follows the build), the binary, the models (checked again against
# tools/face-api-models.sha256) and a non-root user `facematch` (uid 10001); no compiler. The entry point
# is `facematch serve --bind 0.0.0.0` (port 8080); everything else is configured through FACEMATCH_*
# environment variables (README: Service, Deployment).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

tag=facematch:latest
build_dir=build/release
keep_rootfs=
while (($#)); do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --keep-rootfs) keep_rootfs="$2"; shift 2 ;;
    *) echo "usage: $0 [--tag NAME:TAG] [--build-dir DIR] [--keep-rootfs DIR]" >&2; exit 2 ;;
  esac
done
for tool in mmdebstrap podman; do
  command -v "$tool" >/dev/null || { echo "build-image: $tool is missing; ./setup.sh installs it" >&2; exit 1; }
done

binary="$build_dir/facematch"
[[ -x "$binary" ]] || ./setup.sh
models=models
sums=tools/face-api-models.sha256
(cd "$models" && sha256sum --quiet -c "../$sums") || { echo "build-image: models fail $sums" >&2; exit 1; }

# The packages owning the binary's libraries (the C library is in every Debian root already).
mapfile -t packages < <(ldd "$binary" | awk '$3 ~ /^\// {print $3}' | xargs -n1 readlink -f |
  xargs dpkg -S 2>/dev/null | cut -d: -f1 | sort -u | grep -v '^libc6$')
((${#packages[@]})) || { echo "build-image: no library package found for $binary" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/models"
grep -v '^#' "$sums" | awk 'NF == 2 {print $2}' | while read -r f; do cp -L "$models/$f" "$work/models/"; done
cp "$binary" "$work/facematch"

# Documentation, locales and apt's lists are left out: nothing in the image reads them. mmdebstrap's own
# output goes to a log shown only on failure: --quiet would also hide apt's reason (which host it could
# not reach), and a failure must say whether the image could not be built for want of the mirror.
echo "build-image: mmdebstrap bookworm minbase + ${#packages[@]} library packages" >&2
mmdebstrap_log="$work/mmdebstrap.log"
if ! mmdebstrap --variant=minbase \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook="install -m 0755 '$work/facematch' \"\$1/usr/local/bin/facematch\"" \
  --customize-hook="mkdir -p \"\$1/opt/facematch\" && cp -r '$work/models' \"\$1/opt/facematch/models\"" \
  --customize-hook="cd \"\$1/opt/facematch/models\" && sha256sum --quiet -c '$PWD/$sums'" \
  --customize-hook='chroot "$1" useradd --system --uid 10001 --user-group --home-dir /var/lib/facematch --create-home --shell /usr/sbin/nologin facematch' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$work/rootfs.tar" >"$mmdebstrap_log" 2>&1; then
  grep -E '^(E|W|Err):|^  ' "$mmdebstrap_log" | tail -n 20 >&2 || tail -n 20 "$mmdebstrap_log" >&2
  # apt's words when a host cannot be resolved or connected to (apt-pkg's http and connect methods).
  if grep -qE 'Could not (connect|resolve)|Unable to connect|Temporary failure resolving|Connection (timed out|failed)' \
    "$mmdebstrap_log"; then
    echo "build-image: the Debian mirror is unreachable, so the image cannot be built: its root file system" \
      "comes from Debian 12's packages at deb.debian.org and security.debian.org (apt's errors above)." \
      "Give this machine access to them (directly or through http_proxy) and build again." >&2
  else
    echo "build-image: mmdebstrap failed (its last lines above)" >&2
  fi
  exit 1
fi

if [[ -n "$keep_rootfs" ]]; then
  mkdir -p "$keep_rootfs" && tar -C "$keep_rootfs" -xf "$work/rootfs.tar"
fi

podman import \
  --change 'ENTRYPOINT ["/usr/local/bin/facematch", "serve", "--bind", "0.0.0.0"]' \
  --change 'ENV FACEMATCH_MODELS=/opt/facematch/models' \
  --change 'ENV FACEMATCH_PORT=8080' \
  --change 'EXPOSE 8080' \
  --change 'USER 10001:10001' \
  --change 'WORKDIR /var/lib/facematch' \
  --message "facematch $(git rev-parse --short HEAD 2>/dev/null || echo unknown) from Debian 12 packages" \
  "$work/rootfs.tar" "$tag" >/dev/null
size="$(podman image inspect --format '{{.Size}}' "$tag")"
echo "build-image: $tag built, $((size / 1000000)) MB ($size bytes)"
