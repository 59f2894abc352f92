#!/usr/bin/env bash
# Attacks and hostile configs a container brings, tried as an attacker would:
#  - CVE-2024-21626: a host directory fd or cwd leaking into the container
#    (during `exec`; through process.cwd / exec --cwd = /proc/self/fd/N);
#  - a default-deny seccomp profile that allows only execve and the program's
#    own syscalls must not break the runtime's setup (with and without
#    noNewPrivileges, for run and exec).
# Podman's side of the same attacks is in 40_podman.sh.
source "$(dirname "$0")/../lib.sh"
on_exit 'for c in $(vs list -q 2>/dev/null); do vs delete -f $c; done'

# A file on the host, outside every rootfs: reading it from inside = escape.
MARK=$TMP/host-only/secret
mkdir -p "$TMP/host-only"; echo "host secret $$" > "$MARK"
MARK_REL=${MARK#/}

# --- CVE-2024-21626: fds of a process joining the container --------------------
B=$TMP/b1
make_bundle "$B" sleep 1000
jq_edit "$B" '.root.readonly = false'
vs run -d --bundle "$B" esc1 >/dev/null 2>&1 </dev/null
# The attacker (tests/attack/fdwalk.c, static): scan every process it can see
# for a directory (fd, cwd, root) outside its root and walk from there to the
# host root, again and again while execs come in.
if ! cc -static -O2 -o "$B/rootfs/fdwalk" "$ROOT/tests/attack/fdwalk.c" 2>"$TMP/cc.log"; then
  sed 's/^/# /' "$TMP/cc.log"; not_ok "build the fd-walking attacker"
fi
vs exec -d esc1 sh -c "/fdwalk 60 '$MARK_REL' /stop > /attack.out 2>&1; echo done \$? >> /attack.out"
for i in $(seq 60); do vs exec esc1 true; done
touch "$B/rootfs/stop"
for _ in $(seq 100); do grep -q '^done' "$B/rootfs/attack.out" 2>/dev/null && break; sleep 0.1; done
check "an attacker inside reaches no host directory through a joining exec (60 execs)" \
  bash -c "grep -q '^done 1' '$B/rootfs/attack.out' && ! grep -qE 'ESCAPED|host secret' '$B/rootfs/attack.out'"
grep -E 'ESCAPED|done' "$B/rootfs/attack.out" 2>/dev/null | head -3 | sed 's/^/# /'

# process.cwd = /proc/self/fd/N: refused or harmless, never the host.
B2=$TMP/b2
make_bundle "$B2" sh -c "cd ../../../../../../..; cat ./$MARK_REL 2>/dev/null; echo cwd=\$PWD"
leaked=""
for n in 3 4 5 6 7 8 9 10; do
  jq_edit "$B2" ".process.cwd = \"/proc/self/fd/$n\""
  out=$(vs run --bundle "$B2" "cwd$n" 2>&1 </dev/null); vs delete -f "cwd$n" >/dev/null 2>&1
  grep -q "host secret" <<<"$out" && leaked+=" $n"
done
check "process.cwd=/proc/self/fd/N never reaches the host (fds 3-10${leaked:+; leaked via$leaked})" test -z "$leaked"
jq_edit "$B2" '.process.cwd = "/proc/self/fd/5"'
out=$(vs run --bundle "$B2" cwdmsg 2>&1 </dev/null); vs delete -f cwdmsg >/dev/null 2>&1
check "a cwd outside the root is refused by name (got: $out)" grep -qE 'process.cwd:? (chdir )?/proc/self/fd/5' <<<"$out"

leaked=""
for n in 3 4 5 6 7 8 9 10; do
  out=$(vs exec --cwd "/proc/self/fd/$n" esc1 sh -c "cd ../../../../../../..; cat ./$MARK_REL 2>/dev/null" 2>&1)
  grep -q "host secret" <<<"$out" && leaked+=" $n"
done
check "exec --cwd /proc/self/fd/N never reaches the host (fds 3-10${leaked:+; leaked via$leaked})" test -z "$leaked"
# A container created into esc1's pid namespace is visible to the attacker
# while it sets up, with the bundle (a host directory) as its cwd until it
# enters its root. Until it drops its capabilities the kernel's ptrace rule
# (a caller must hold every capability its target holds) keeps the attacker
# out; from then until execve only PR_SET_DUMPABLE 0 and closed fds do.
rm -f "$B/rootfs/stop"
vs exec -d esc1 sh -c "/fdwalk 60 '$MARK_REL' /stop > /attack2.out 2>&1; echo done \$? >> /attack2.out"
J=$TMP/joiner
make_bundle "$J" true
epid=$(vs state esc1 | jq -r .pid)
# A createContainer hook holds the setup open for a moment: a real window.
jq_edit "$J" "(.linux.namespaces[] | select(.type == \"pid\")).path = \"/proc/$epid/ns/pid\"
  | .hooks.createContainer = [{path: \"/bin/sleep\", args: [\"sleep\", \"0.2\"]}]"
for i in $(seq 30); do vs run --bundle "$J" "join$i" </dev/null >/dev/null 2>&1; vs delete -f "join$i" >/dev/null 2>&1; done
touch "$B/rootfs/stop"
for _ in $(seq 100); do grep -q '^done' "$B/rootfs/attack2.out" 2>/dev/null && break; sleep 0.1; done
check "an attacker inside reaches no host directory through containers set up in its pid namespace (30 runs)" \
  bash -c "grep -q '^done 1' '$B/rootfs/attack2.out' && ! grep -qE 'ESCAPED|host secret' '$B/rootfs/attack2.out'"
grep -E 'ESCAPED|done' "$B/rootfs/attack2.out" 2>/dev/null | head -3 | sed 's/^/# /'

# A host directory passed on purpose (--preserve-fds) is still no way out as
# the cwd: the cwd is checked to be inside the container's root.
out=$(vs exec --preserve-fds 1 --cwd /proc/self/fd/3 esc1 sh -c "cd ../../../../../../..; cat ./$MARK_REL" 3<"$TMP/host-only" 2>&1); rc=$?
if [ "$rc" != 0 ] && grep -q "outside the container" <<<"$out" && ! grep -q "host secret" <<<"$out"; then
  ok "exec --cwd onto a preserved host directory fd is refused ($out)"
else
  not_ok "exec --cwd onto a preserved host directory fd is refused (rc $rc: $out)"
fi
vs delete -f esc1 >/dev/null 2>&1

# --- a default-deny seccomp profile -------------------------------------------
# Only execve and what busybox itself calls for `echo` (measured with strace):
# no close_range, getcwd, fcntl or openat left for the runtime.
profile() {  # profile NNP(true|false) EXTRA_SYSCALLS... -> a jq filter
  local nnp=$1; shift
  local names
  names=$(printf '%s\n' execve arch_prctl brk exit_group getrandom getuid mprotect prctl prlimit64 \
    readlink rseq set_robust_list set_tid_address write "$@" | jq -R . | jq -sc .)
  echo ".process.noNewPrivileges = $nnp | .linux.seccomp = {defaultAction: \"SCMP_ACT_ERRNO\",
    architectures: [\"SCMP_ARCH_X86_64\"], syscalls: [{names: $names, action: \"SCMP_ACT_ALLOW\"}]}"
}
for nnp in true false; do
  B3=$TMP/sc-$nnp
  make_bundle "$B3" echo seccomp-ok
  jq_edit "$B3" "$(profile $nnp)"
  out=$(vs run --bundle "$B3" "sc-$nnp" 2>&1 </dev/null); rc=$?
  vs delete -f "sc-$nnp" >/dev/null 2>&1
  check "run under a default-deny profile, noNewPrivileges=$nnp: the program runs (rc $rc: $out)" \
    test "$rc" = 0 -a "$out" = seccomp-ok
  # The filter is really there: a syscall outside the profile fails.
  jq_edit "$B3" '.process.args = ["mkdir", "/newdir"]'
  out=$(vs run --bundle "$B3" "sc2-$nnp" 2>&1 </dev/null); rc=$?
  vs delete -f "sc2-$nnp" >/dev/null 2>&1
  check "... and it filters: mkdir, outside the profile, fails (rc $rc)" \
    test "$rc" != 0 -a ! -e "$B3/rootfs/newdir"
  # exec into a container under a profile that allows cat's own syscalls.
  jq_edit "$B3" "$(profile $nnp openat read close sendfile nanosleep clock_nanosleep) | .process.args = [\"sleep\", \"1000\"]"
  echo "read by cat" > "$B3/rootfs/hello.txt"
  vs run -d --bundle "$B3" "sce-$nnp" >/dev/null 2>&1 </dev/null
  out=$(vs exec "sce-$nnp" cat /hello.txt 2>&1); rc=$?
  want="read by cat"
  check "exec under a default-deny profile, noNewPrivileges=$nnp: cat runs (rc $rc: $out)" \
    test "$rc" = 0 -a "$out" = "$want"
  vs delete -f "sce-$nnp" >/dev/null 2>&1
done
# Without noNewPrivileges, the capability held to load the filter does not
# survive into the program.
B4=$TMP/caps
make_bundle "$B4" sh -c 'grep -E "^Cap(Eff|Prm)" /proc/self/status'
jq_edit "$B4" '.process.noNewPrivileges = false | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdirat"], action: "SCMP_ACT_ERRNO"}]}'
out=$(vs run --bundle "$B4" caps1 2>&1 </dev/null); vs delete -f caps1 >/dev/null 2>&1
eff=$(awk '/^CapEff/ {print $2}' <<<"$out")
check "no CAP_SYS_ADMIN in the program after a filter loaded without noNewPrivileges (CapEff ${eff:-none})" \
  test -n "$eff" -a "$(( 0x${eff:-0} >> 21 & 1 ))" = 0
