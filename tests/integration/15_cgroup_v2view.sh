#!/usr/bin/env bash
# The cgroup unit tests again, in a private mount namespace whose
# /sys/fs/cgroup is a fresh cgroup2 mount and nothing else: the code must
# take the layout from mountinfo and run as on a pure v2 host (on a hybrid
# host only the controllers not bound to v1 are there, so some checks cannot
# run; 15_cgroup_v2host.sh covers a full v2 host).
source "$(dirname "$0")/../lib.sh"

# On a v1 or hybrid host a check that finds its controller bound to v1 here
# runs for real elsewhere in the suite: on this host's own hierarchies
# (unit/test_cgroup*) and on the nested host's pure cgroup2
# (15_cgroup_v2host.sh). It is noted, not counted as a skip, when both of
# those can run; otherwise it stays a skip.
covered=0
if grep -qE ' - cgroup cgroup \S*(cpu|memory|pids)' /proc/self/mountinfo &&
   [ -x "$ROOT/tests/vmhost/run" ] && command -v qemu-system-x86_64 >/dev/null && ls /boot/vmlinuz-* >/dev/null 2>&1; then
  covered=1
fi

[ "$(id -u)" = 0 ] || { skip "cgroup2 view" "needs root"; exit 0; }
dir=$ROOT/build/tests
[ -d "$ROOT/build-asan/tests" ] && dir=$ROOT/build-asan/tests
for t in test_cgroup test_cgroup_procs; do
  [ -x "$dir/$t" ] || { skip "cgroup2 view: $t" "not built (make unit-bins)"; continue; }
  # cmocka's TAP lines, renamed so they read apart from the plain unit run.
  if [ $covered = 1 ]; then
    skipped='# cgroup2 view: \1: its controller is bound to v1 here; runs on this host (unit) or in 15_cgroup_v2host'
  else
    skipped='ok - cgroup2 view: \1 # SKIP needs a cgroup2 host with the controller'
  fi
  CMOCKA_MESSAGE_OUTPUT=TAP unshare -m --propagation private sh -c '
    umount -R /sys/fs/cgroup 2>/dev/null
    mount -t cgroup2 none /sys/fs/cgroup || { echo "not ok - mount cgroup2"; exit 1; }
    exec "$1"' sh "$dir/$t" 2>&1 |
    sed -E "s%^not ok [0-9]+ # SKIP (.*)%$skipped%; t; s/^(not ok|ok)( [0-9]+)? - /\\1 - cgroup2 view: /"
  [ "${PIPESTATUS[0]}" -eq 0 ] || not_ok "cgroup2 view: $t exited non-zero"
done
