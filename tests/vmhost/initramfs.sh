# Helpers shared by tests/vmhost/run and tests/vmhost/mkinitramfs-guest (sourced, bash).
# They pick the Debian kernel and pack busybox + kernel modules into a gzip'd newc cpio.

# vmhost_kernel: sets KERNEL (vmlinuz path) and KREL (its release) to the newest
# /boot/vmlinuz-* whose modules are installed, or to $VMHOST_KERNEL. The running
# kernel does not matter: the nested host and the guests boot this one.
vmhost_kernel() {
  local k rel
  KERNEL="" KREL=""
  if [ -n "${VMHOST_KERNEL:-}" ]; then
    [ -r "$VMHOST_KERNEL" ] || { echo "vmhost: VMHOST_KERNEL=$VMHOST_KERNEL is not readable" >&2; return 1; }
    KERNEL=$VMHOST_KERNEL
    KREL=${VMHOST_KERNEL##*/vmlinuz-}
  else
    for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V); do
      rel=${k##*/vmlinuz-}
      [ -r "/lib/modules/$rel/modules.dep" ] && { KERNEL=$k; KREL=$rel; }
    done
  fi
  if [ -z "$KERNEL" ] || [ ! -r "/lib/modules/$KREL/modules.dep" ]; then
    echo "vmhost: no Linux kernel with modules found (/boot/vmlinuz-* + /lib/modules/<release>);" \
         "install linux-image-amd64 (scripts/setup.sh does)" >&2
    return 1
  fi
}

# vmhost_module_deps REL MOD...: prints the module files (paths relative to
# /lib/modules/REL) needed for MODs, dependencies first, each once. Built-in
# modules print nothing; an unknown module is an error.
vmhost_module_deps() {
  local rel=$1; shift
  local dir=/lib/modules/$rel
  awk -v want="$*" '
    function norm(s) { gsub(/-/, "_", s); return s }
    function base(p,   b) { b = p; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); return norm(b) }
    FNR == 1 { file++ }
    file == 1 { sub(/:$/, "", $1); path[base($1)] = $1; deps[base($1)] = ""
                for (i = 2; i <= NF; i++) deps[base($1)] = deps[base($1)] " " base($i); next }
    file == 2 { builtin[base($0)] = 1; next }
    function visit(m,   n, d, i) {
      if (m in seen) return
      seen[m] = 1
      if (!(m in path)) { if (m in builtin) return; print "unknown module " m > "/dev/stderr"; bad = 1; return }
      n = split(deps[m], d, " ")
      for (i = n; i >= 1; i--) visit(d[i])   # modules.dep lists the deepest dependency last
      print path[m]
    }
    END { n = split(want, w, " "); for (i = 1; i <= n; i++) visit(norm(w[i])); exit bad }
  ' "$dir/modules.dep" "$dir/modules.builtin"
}

# vmhost_pack STAGING OUT: packs directory STAGING into OUT (cpio newc, gzip),
# atomically, so a concurrent reader never sees half a file.
vmhost_pack() {
  local staging=$1 out=$2
  mkdir -p "$(dirname "$out")"
  (cd "$staging" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
    | gzip -1 > "$out.tmp.$$"
  mv -f "$out.tmp.$$" "$out"
}

# vmhost_prune KEEP: removes the older cached images next to KEEP (same name
# up to the hash), so build/vmhost/ does not grow with every edit.
vmhost_prune() {
  local keep=$1 f
  for f in "${keep%-*}"-*.cpio.gz; do
    [ "$f" = "$keep" ] || rm -f "$f"
  done
}

# vmhost_stage_busybox STAGING: busybox with every applet linked in /bin.
vmhost_stage_busybox() {
  local s=$1 bb applet
  bb=$(command -v busybox || true)
  [ -n "$bb" ] || { echo "vmhost: busybox not found (apt-get install busybox-static)" >&2; return 1; }
  if ldd "$bb" >/dev/null 2>&1; then
    echo "vmhost: $bb is dynamically linked; install busybox-static" >&2; return 1
  fi
  mkdir -p "$s"/{bin,sbin,dev,proc,sys,tmp,run,mnt,etc,lib/modules}
  cp "$bb" "$s/bin/busybox"
  for applet in $("$bb" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$s/bin/$applet"
  done
  # The kernel needs a console before /init opens one.
  mknod -m 600 "$s/dev/console" c 5 1
  mknod -m 666 "$s/dev/null" c 1 3
}

# vmhost_stage_modules STAGING REL MOD...: copies MODs and their dependencies to
# STAGING/lib/modules and writes STAGING/lib/modules/load (insmod order).
vmhost_stage_modules() {
  local s=$1 rel=$2; shift 2
  local list f
  list=$(vmhost_module_deps "$rel" "$@") || return 1
  : > "$s/lib/modules/load"
  for f in $list; do
    cp "/lib/modules/$rel/$f" "$s/lib/modules/"
    echo "${f##*/}" >> "$s/lib/modules/load"
  done
}

# vmhost_inputs_hash FILE... : a short hash of these files' contents plus the
# kernel release and busybox binary, to name cached images.
vmhost_inputs_hash() {
  { cat "$@"; echo "$KREL"; sha256sum "$(command -v busybox)"; } | sha256sum | cut -c1-16
}
