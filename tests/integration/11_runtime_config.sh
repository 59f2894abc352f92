#!/usr/bin/env bash
# What config.json asks for is what the container gets.
source "$(dirname "$0")/../lib.sh"
on_exit 'for c in $(vs list -q 2>/dev/null); do vs delete -f $c; done'

B=$TMP/bundle
make_bundle "$B" true
base=$(cat "$B/config.json")
# run_with FILTER CMD: run CMD in a container whose config is the base edited by FILTER; prints output.
run_with() {
  local filter=$1; shift
  local args; args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
  echo "$base" | jq "$filter | .process.args = $args" > "$B/config.json"
  (cd "$B" && vs run "t$RANDOM" 2>&1)
}

export -f run_with vs jq_edit; export B base VESSEL STATE TMP
check "hostname is set in a new uts namespace" [ "$(run_with '.hostname="box1"' hostname)" = box1 ]
check "env and cwd" [ "$(run_with '.process.env=["A=1","PATH=/bin"] | .process.cwd="/etc"' sh -c 'echo $A $(pwd)')" = "1 /etc" ]
check "user and additional groups" [ "$(run_with '.process.user={uid:1001,gid:1002,additionalGids:[5,6]}' sh -c 'echo $(id -u) $(id -g) $(id -G)')" = "1001 1002 1002 5 6" ]
check "umask" [ "$(run_with '.process.user.umask=63' sh -c 'umask')" = "0077" ]
check "read-only root refuses writes" bash -c "[[ \"\$(run_with '.root.readonly=true' sh -c 'touch /x 2>&1 || echo refused')\" == *refused* ]]"
check "masked paths are hidden" [ "$(run_with '.' sh -c 'cat /proc/kcore 2>/dev/null | wc -c')" = 0 ]
check "readonly paths cannot be written" bash -c "[[ \"\$(run_with '.' sh -c 'echo 1 > /proc/sys/kernel/ns_last_pid 2>&1 || echo refused')\" == *refused* ]]"
check "pid namespace: the process is pid 1" [ "$(run_with '.' sh -c 'echo $$')" = 1 ]
check "network namespace: only lo" [ "$(run_with '.' ls /sys/class/net)" = lo ]
check "no network namespace: host interfaces visible" \
  [ "$(run_with 'del(.linux.namespaces[] | select(.type=="network"))' ls /sys/class/net | wc -l)" -gt 1 ]
ip netns add vessel-test-$$ && on_exit "ip netns del vessel-test-$$"
check "joining a network namespace by path" \
  [ "$(run_with "(.linux.namespaces[] | select(.type==\"network\")).path=\"/run/netns/vessel-test-$$\"" readlink /proc/self/ns/net)" = "$(ip netns exec vessel-test-$$ readlink /proc/self/ns/net)" ]
check "rlimits are applied" [ "$(run_with '.process.rlimits=[{type:"RLIMIT_NOFILE",soft:100,hard:200}]' sh -c 'ulimit -n; ulimit -Hn' | tr '\n' ' ')" = "100 200 " ]
check "oomScoreAdj is applied" [ "$(run_with '.process.oomScoreAdj=123' cat /proc/self/oom_score_adj)" = 123 ]
check "capabilities: the bounding set is what was asked" \
  [ "$(run_with '.process.capabilities={bounding:["CAP_CHOWN"],effective:["CAP_CHOWN"],permitted:["CAP_CHOWN"]}' sh -c 'grep CapBnd /proc/self/status | cut -f2')" = 0000000000000001 ]
check "a dropped capability is really gone" bash -c "[[ \"\$(run_with '.process.capabilities={bounding:[],effective:[],permitted:[]}' sh -c 'chown 1 /tmp 2>&1 || echo denied')\" == *denied* ]]"
check "noNewPrivileges sets no_new_privs" [ "$(run_with '.process.noNewPrivileges=true' sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')" = 1 ]
check "seccomp: an errno rule applies" bash -c "[[ \"\$(run_with '.linux.seccomp={defaultAction:\"SCMP_ACT_ALLOW\",syscalls:[{names:[\"mkdir\",\"mkdirat\"],action:\"SCMP_ACT_ERRNO\",errnoRet:13}]}' sh -c 'mkdir /tmp/x 2>&1')\" == *ermission* ]]"
check "seccomp: unknown syscall names are skipped" [ "$(run_with '.linux.seccomp={defaultAction:"SCMP_ACT_ALLOW",syscalls:[{names:["no_such_syscall"],action:"SCMP_ACT_ERRNO"}]}' echo fine)" = fine ]
check "sysctl is written in the container's namespace" [ "$(run_with '.linux.sysctl={"net.ipv4.ip_forward":"1"}' cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
check "tmpfs mount with options" bash -c "run_with '.mounts += [{destination:\"/data\",type:\"tmpfs\",source:\"tmpfs\",options:[\"size=1m\",\"mode=700\"]}]' sh -c 'stat -c %a /data; grep \" /data \" /proc/mounts' | tr '\n' ' ' | grep -q '^700 .*size=1024k'"
mkdir -p "$TMP/share" && echo shared-data > "$TMP/share/f"
check "bind mount, read-only" bash -c "[[ \"\$(run_with '.mounts += [{destination:\"/mnt/s\",type:\"bind\",source:\"$TMP/share\",options:[\"rbind\",\"ro\"]}]' sh -c 'cat /mnt/s/f; touch /mnt/s/g 2>&1 || echo refused')\" == shared-data*refused* ]]"
check "bind mount of a single file" [ "$(run_with ".mounts += [{destination:\"/etc/myfile\",type:\"bind\",source:\"$TMP/share/f\",options:[\"bind\"]}]" cat /etc/myfile)" = shared-data ]
check "a symlink in the image cannot redirect a mount outside the rootfs" bash -c "
  ln -sfn / '$B/rootfs/escape' &&
  run_with '.mounts += [{destination:\"/escape/tmp/vessel-escape-$$\",type:\"tmpfs\",source:\"tmpfs\"}]' true >/dev/null;
  rm -f '$B/rootfs/escape'; [ ! -e /tmp/vessel-escape-$$ ] && rm -rf '$B/rootfs/tmp/vessel-escape-$$'"
check "default devices exist" [ "$(run_with '.' sh -c 'ls /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | wc -l')" = 6 ]
check "linux.devices creates the node" [ "$(run_with '.linux.devices=[{path:"/dev/mynull",type:"c",major:1,minor:3,fileMode:438}]' sh -c 'stat -c "%t:%T %a" /dev/mynull')" = "1:3 666" ]
check "cgroup namespace: the container sees its cgroup as /" [ "$(run_with '.' sh -c 'grep -c ":/$" /proc/self/cgroup')" -ge 1 ]
check "cgroup resources from config.json" [ "$(run_with '.linux.resources.pids={limit:42}' cat /sys/fs/cgroup/pids/pids.max)" = 42 ]
check "user namespace with mappings: root inside, 100000 outside" \
  [ "$(run_with '.linux.namespaces += [{type:"user"}] | .linux.uidMappings=[{containerID:0,hostID:100000,size:65536}] | .linux.gidMappings=[{containerID:0,hostID:100000,size:65536}]' sh -c 'id -u; cat /proc/self/uid_map' | tr -s ' \n' ' ')" = "0 0 100000 65536 " ]
check "time namespace offsets" bash -c "
  up=\$(run_with '.linux.namespaces += [{type:\"time\"}] | .linux.timeOffsets={boottime:{secs:86400,nanosecs:0}}' cat /proc/uptime | cut -d. -f1);
  [ \"\$up\" -ge 86400 ]"

hooklog=$TMP/hooks.log
mkhook() { printf '{"path":"/bin/sh","args":["sh","-c","read -r s; echo %s $(echo \\"$s\\" | jq -r .status) >> %s"]}' "$1" "$hooklog"; }
filter=".hooks={prestart:[$(mkhook prestart)],createRuntime:[$(mkhook createRuntime)],poststart:[$(mkhook poststart)],poststop:[$(mkhook poststop)]}"
run_with "$filter" true >/dev/null
check "hooks run in order with the state on stdin" \
  [ "$(tr '\n' ' ' < "$hooklog")" = "prestart creating createRuntime creating poststart running poststop stopped " ]
check "a failing prestart hook fails create and leaves nothing" bash -c "
  ! run_with '.hooks={prestart:[{path:\"/bin/false\"}]}' true >/dev/null && [ -z \"\$('$VESSEL' --root '$STATE' list -q)\" ]"
check "a hook that outlives its timeout is killed" bash -c "
  out=\$(run_with '.hooks={createRuntime:[{path:\"/bin/sleep\",args:[\"sleep\",\"30\"],timeout:1}]}' true); [[ \$out == *timed\ out* ]]"
check "annotations appear in state" bash -c "
  echo '$base' | jq '.annotations={\"org.example/a\":\"b\"} | .process.args=[\"sleep\",\"5\"]' > '$B/config.json' &&
  '$VESSEL' --root '$STATE' create --bundle '$B' ann &&
  [ \"\$('$VESSEL' --root '$STATE' state ann | jq -r '.annotations[\"org.example/a\"]')\" = b ] &&
  '$VESSEL' --root '$STATE' delete -f ann"
check "terminal: the pty master goes to --console-socket" bash -c "
  echo '$base' | jq '.process.terminal=true | .process.args=[\"sh\",\"-c\",\"tty; sleep 1\"]' > '$B/config.json' &&
  python3 '$ROOT/tests/console_recv.py' '$TMP/console.sock' > '$TMP/console.out' &
  for i in \$(seq 100); do [ -S '$TMP/console.sock' ] && break; sleep 0.1; done;
  '$VESSEL' --root '$STATE' run -d --console-socket '$TMP/console.sock' --bundle '$B' tty1; wait;
  '$VESSEL' --root '$STATE' delete -f tty1; grep -q /dev/pts/0 '$TMP/console.out'"
check "terminal in the foreground: run proxies the pty and returns the exit code" bash -c "
  echo '$base' | jq '.process.terminal=true | .process.args=[\"sh\"]' > '$B/config.json' &&
  out=\$(cd '$B' && printf 'tty; exit 4\n' | timeout 20 '$VESSEL' --root '$STATE' run tty2); rc=\$?;
  [ \$rc -eq 4 ] && [[ \$out == */dev/pts/0* ]]"
