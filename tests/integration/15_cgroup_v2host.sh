#!/usr/bin/env bash
# cgroups on a pure cgroup2 host with every controller (memory, cpu, io,
# pids, cpuset, hugetlb): the nested test host (tests/vmhost/run) runs the
# cgroup unit tests and 15_cgroup_limits.sh there. Skips when qemu or the
# nested host is not available.
source "$(dirname "$0")/../lib.sh"

run=$ROOT/tests/vmhost/run
if [ ! -x "$run" ] || ! command -v qemu-system-x86_64 >/dev/null; then
  skip "cgroup2 host" "tests/vmhost/run or qemu missing"; exit 0
fi
# Plain build: the ASan runtime is slow under TCG emulation.
for t in test_cgroup test_cgroup_procs; do
  [ -x "$ROOT/build/tests/$t" ] || { skip "cgroup2 host" "build/tests/$t not built"; exit 0; }
done
"$run" --timeout 1200 sh -c '
  grep -q " - cgroup2 " /proc/self/mountinfo && [ ! -e /sys/fs/cgroup/memory/tasks ] || {
    echo "not ok - nested host has a pure cgroup2 /sys/fs/cgroup"; exit 1; }
  echo "ok - nested host has a pure cgroup2 /sys/fs/cgroup"
  rc=0
  for t in test_cgroup test_cgroup_procs; do
    CMOCKA_MESSAGE_OUTPUT=TAP build/tests/$t || rc=1
  done
  bash tests/integration/15_cgroup_limits.sh || rc=1
  exit $rc' 2>&1 | sed -E 's/^not ok [0-9]+ # SKIP (.*)/ok - cgroup2 host: \1 # SKIP/; t; s/^(not ok|ok)( [0-9]+)? - /\1 - cgroup2 host: /'
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 125 ]; then
  skip "cgroup2 host" "the nested host did not come up (status 125)"
elif [ "$rc" -ne 0 ]; then
  not_ok "cgroup2 host: exited with status $rc"
fi
