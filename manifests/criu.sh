#!/usr/bin/env bash
# Installs CRIU, which runc runs to checkpoint and restore containers (CheckpointContainer,
# and CreateContainer from a checkpoint archive). Debian 12's criu (3.17) cannot dump on
# kernels newer than about 6.5 (its vDSO handling fails), so this builds CRIU 4.1.1 from
# the source tarball of Debian's own package (the same mirror apt uses, checked by its
# SHA-256) and installs it as /usr/local/sbin/criu. Built once into CACHE_DIR (default
# /var/cache/cricket-criu); a machine with a working criu 4.x on its PATH keeps it.
# Needs root. Usage: manifests/criu.sh [CACHE_DIR]
set -euo pipefail

version=4.1.1
sha256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe
cache="${1:-/var/cache/cricket-criu}"
export PATH="/usr/local/sbin:$PATH"
build_deps=(gcc make pkgconf libbsd-dev libcap-dev libnet1-dev libnftables-dev libnl-3-dev
            libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev uuid-dev
            libgnutls28-dev python3 xz-utils curl iproute2)

have_criu() {
  local v
  v="$(criu --version 2>/dev/null | sed -n 's/^Version: *//p')"
  [ "${v%%.*}" -ge 4 ] 2>/dev/null
}
if have_criu; then exit 0; fi

missing=()
for p in "${build_deps[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing CRIU's build dependencies: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

binary="$cache/criu-$version/criu/criu"
if [ ! -x "$binary" ]; then
  mkdir -p "$cache"
  tarball="$cache/criu_$version.orig.tar.xz"
  if ! echo "$sha256  $tarball" | sha256sum -c --status 2>/dev/null; then
    # The Debian archive apt is configured with (deb822 sources or a one-line list).
    mirror="$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
    [ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' \
                                    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)"
    [ -n "$mirror" ] || { echo "criu.sh: no Debian archive in apt's sources" >&2; exit 1; }
    echo "==> fetching CRIU $version's source from ${mirror%/}"
    curl -fsSL -o "$tarball.part" "${mirror%/}/pool/main/c/criu/criu_$version.orig.tar.xz"
    mv "$tarball.part" "$tarball"
    echo "$sha256  $tarball" | sha256sum -c --status || { echo "criu.sh: checksum mismatch" >&2; exit 1; }
  fi
  echo "==> building CRIU $version (about a minute)"
  rm -rf "$cache/criu-$version"
  tar -xJf "$tarball" -C "$cache"
  make -s -C "$cache/criu-$version" -j"$(nproc)" criu >"$cache/build.log" 2>&1 \
    || { tail -30 "$cache/build.log"; exit 1; }
fi
install -m 0755 "$binary" /usr/local/sbin/criu
echo "==> installed /usr/local/sbin/criu ($(/usr/local/sbin/criu --version | head -1))"
