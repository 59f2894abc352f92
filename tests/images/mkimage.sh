#!/usr/bin/env bash
# Turn the busybox test rootfs into a local container image, without any
# registry or network:
#
#   tests/images/mkimage.sh OUT.tar [ROOTFS]
#
# writes OUT.tar, an OCI image-layout archive (oci-layout, index.json,
# blobs/sha256/...) with one uncompressed layer holding ROOTFS (default
# build/rootfs). It is named localhost/busybox:vessel, so
#   ctr -n NS images import OUT.tar            -> localhost/busybox:vessel
#   podman load -i OUT.tar  (+ podman tag)     -> localhost/busybox:vessel
# The layer is reproducible (sorted names, uid/gid 0, mtime 0), so the same
# rootfs always gives the same image digest.
set -euo pipefail

REF_NAME=${IMAGE_REF:-localhost/busybox:vessel}
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: mkimage.sh OUT.tar [ROOTFS]}
rootfs=${2:-$here/../../build/rootfs}
[ -x "$rootfs/bin/busybox" ] || { echo "mkimage: no busybox rootfs at $rootfs (run scripts/mkrootfs.sh)" >&2; exit 1; }
command -v jq >/dev/null || { echo "mkimage: jq is required" >&2; exit 1; }

work=$(mktemp -d /tmp/vessel-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
blobs="$work/layout/blobs/sha256"
mkdir -p "$blobs"

# put FILE: move FILE into the blob store; prints "sha256:HEX SIZE".
put() {
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$blobs/$hex"
  echo "sha256:$hex $size"
}

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -C "$rootfs" -cf "$work/layer.tar" .
read -r layer_digest layer_size < <(put "$work/layer.tar")

jq -cn --arg diff "$layer_digest" '{
  architecture: "amd64", os: "linux",
  created: "1970-01-01T00:00:00Z",
  config: {
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    Cmd: ["/bin/sh"], WorkingDir: "/"
  },
  rootfs: {type: "layers", diff_ids: [$diff]},
  history: [{created: "1970-01-01T00:00:00Z", created_by: "tests/images/mkimage.sh"}]
}' > "$work/config.json"
read -r config_digest config_size < <(put "$work/config.json")

jq -cn --arg cd "$config_digest" --argjson cs "$config_size" \
       --arg ld "$layer_digest" --argjson ls "$layer_size" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $ld, size: $ls}]
}' > "$work/manifest.json"
read -r manifest_digest manifest_size < <(put "$work/manifest.json")

echo '{"imageLayoutVersion":"1.0.0"}' > "$work/layout/oci-layout"
jq -cn --arg md "$manifest_digest" --argjson ms "$manifest_size" --arg name "$REF_NAME" '{
  schemaVersion: 2,
  manifests: [{
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: $md, size: $ms,
    platform: {architecture: "amd64", os: "linux"},
    annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": $name}
  }]
}' > "$work/layout/index.json"

mkdir -p "$(dirname "$out")"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -C "$work/layout" -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
