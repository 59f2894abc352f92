#!/usr/bin/env bash
# Build a minimal busybox root filesystem at $1 (default build/rootfs).
set -euo pipefail
out=${1:-build/rootfs}
[ -x "$out/bin/busybox" ] && exit 0
bb=$(command -v busybox || echo /bin/busybox)
rm -rf "$out.tmp"
mkdir -p "$out.tmp"/{bin,sbin,etc,proc,sys,dev,tmp,root,usr/bin,usr/sbin,var,run}
cp "$bb" "$out.tmp/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$out.tmp/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$out.tmp/etc/passwd"
echo "root:x:0:" > "$out.tmp/etc/group"
chmod 1777 "$out.tmp/tmp"
mv "$out.tmp" "$out"
