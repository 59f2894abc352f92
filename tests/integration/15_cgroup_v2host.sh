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
# A check that is about cgroup v1 (it skips on pure cgroup2) runs on this
# host's own v1 hierarchies in unit/test_cgroup*, where there are any: then it
# is noted here, not counted as a skip.
skipped='ok - cgroup2 host: \1 # SKIP needs cgroup v1 (neither this host nor the nested host has it)'
if grep -qE ' - cgroup cgroup \S*memory' /proc/self/mountinfo; then
  skipped='# cgroup2 host: \1: a cgroup v1 check; it runs on this host (unit/test_cgroup*)'
fi
# Each test program gets a time limit of its own, so a hang names it.
"$run" --timeout 1200 sh -c '
  grep -q " - cgroup2 " /proc/self/mountinfo && [ ! -e /sys/fs/cgroup/memory/tasks ] || {
    echo "not ok - nested host has a pure cgroup2 /sys/fs/cgroup"; exit 1; }
  echo "ok - nested host has a pure cgroup2 /sys/fs/cgroup"
  rc=0
  for t in test_cgroup test_cgroup_procs; do
    CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 build/tests/$t || { echo "not ok - $t exited with status $?"; rc=1; }
  done
  timeout 600 bash tests/integration/15_cgroup_limits.sh || { echo "not ok - 15_cgroup_limits.sh exited with status $?"; rc=1; }
  exit $rc' 2>&1 | sed -E "s%^not ok [0-9]+ # SKIP (.*)%$skipped%; t; s/^(not ok|ok)( [0-9]+)? - /\\1 - cgroup2 host: /"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 125 ]; then
  skip "cgroup2 host" "the nested host did not come up (status 125)"
elif [ "$rc" -ne 0 ]; then
  not_ok "cgroup2 host: exited with status $rc"
fi
