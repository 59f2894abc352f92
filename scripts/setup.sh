#!/usr/bin/env bash
# Installs everything vessel builds, runs and tests with (Debian 12, as root),
# then builds the busybox test rootfs. Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential pkg-config clang valgrind jq
  libjson-c-dev libseccomp-dev libcmocka-dev
  libsqlite3-dev libmicrohttpd-dev libarchive-dev libssl-dev libcurl4-openssl-dev
  busybox-static e2fsprogs iproute2 cpio uidmap kmod
  runc podman containerd
  qemu-system-x86 linux-image-amd64
  python3 time curl sqlite3 docker-registry skopeo
  libmnl-dev libnftables-dev dnsmasq-base nftables
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "setup: must run as root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

bash scripts/mkrootfs.sh build/rootfs
