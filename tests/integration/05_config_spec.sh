#!/usr/bin/env bash
# `vessel spec` and `vessel features`: what runc spec / runc features give,
# so tools and test scripts written for runc work unchanged.
source "$(dirname "$0")/../lib.sh"

# jqt FILTER FILE...: passes when FILTER is true.
jqt() { jq -e "$@" >/dev/null; }

# spec in the current directory
mkdir -p "$TMP/a" && cd "$TMP/a"
if "$VESSEL" spec && jq -e . config.json >/dev/null; then ok "spec writes a valid config.json in the cwd"
else not_ok "spec writes a valid config.json in the cwd"; fi

check "spec default process is sh with a terminal" \
  jqt '.process.args == ["sh"] and .process.terminal == true and .process.cwd == "/"' config.json
check "spec default capabilities are runc's" \
  jqt '.process.capabilities.bounding == ["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]' config.json
check "spec default namespaces" \
  jqt '[.linux.namespaces[].type] == ["pid","network","ipc","uts","mount","cgroup"]' config.json
check "spec default mounts" \
  jqt '[.mounts[].destination] == ["/proc","/dev","/dev/pts","/dev/shm","/dev/mqueue","/sys","/sys/fs/cgroup"]' config.json

before=$(md5sum config.json)
out=$("$VESSEL" spec 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "File config.json exists. Remove it first" <<<"$out" && [ "$(md5sum config.json)" = "$before" ]; then
  ok "spec refuses to overwrite config.json"
else not_ok "spec refuses to overwrite config.json (rc=$rc: $out)"; fi

# Same document as the installed runc, apart from the version and the
# cgroup namespace (which runc 1.2 adds too).
if command -v runc >/dev/null; then
  mkdir -p "$TMP/runc" && runc spec -b "$TMP/runc"
  norm='del(.ociVersion) | .linux.namespaces |= map(select(.type != "cgroup"))'
  if diff <(jq -S "$norm" config.json) <(jq -S "$norm" "$TMP/runc/config.json") >/dev/null; then
    ok "spec matches runc spec"
  else not_ok "spec matches runc spec"; diff <(jq -S "$norm" config.json) <(jq -S "$norm" "$TMP/runc/config.json") | sed 's/^/# /'; fi
else skip "spec matches runc spec" "runc not installed"; fi

# --bundle and --rootless
mkdir -p "$TMP/rl"
if "$VESSEL" spec --rootless --bundle "$TMP/rl"; then ok "spec --rootless --bundle DIR"; else not_ok "spec --rootless --bundle DIR"; fi
check "rootless: user namespace, no network namespace" \
  jqt '[.linux.namespaces[].type] | (index("user") != null) and (index("network") == null)' "$TMP/rl/config.json"
check "rootless: maps the caller's uid and gid" \
  jqt --argjson u "$(id -u)" --argjson g "$(id -g)" \
  '.linux.uidMappings == [{"containerID":0,"hostID":$u,"size":1}] and .linux.gidMappings == [{"containerID":0,"hostID":$g,"size":1}]' \
  "$TMP/rl/config.json"
check "rootless: /sys is a read-only rbind, no gid= options, no resources" \
  jqt '(.mounts[] | select(.destination == "/sys") | .options[0] == "rbind" and .type == "none")
         and ([.mounts[].options // [] | .[] | select(startswith("gid="))] == [])
         and (.linux.resources == null)' "$TMP/rl/config.json"
if command -v runc >/dev/null; then
  mkdir -p "$TMP/runc-rl" && runc spec --rootless -b "$TMP/runc-rl"
  if diff <(jq -S "$norm" "$TMP/rl/config.json") <(jq -S "$norm" "$TMP/runc-rl/config.json") >/dev/null; then
    ok "spec --rootless matches runc spec --rootless"
  else not_ok "spec --rootless matches runc spec --rootless"; fi
fi

out=$("$VESSEL" spec --bundle "$TMP/missing" 2>&1)
if [ $? -ne 0 ] && grep -q "$TMP/missing" <<<"$out"; then ok "spec --bundle with a missing dir fails naming it"
else not_ok "spec --bundle with a missing dir fails naming it: $out"; fi

# features
if "$VESSEL" features > "$TMP/features.json" && jq -e . "$TMP/features.json" >/dev/null; then
  ok "features prints JSON"
else not_ok "features prints JSON"; fi
check "features: version range 1.0.0..1.2.0" \
  jqt '.ociVersionMin == "1.0.0" and .ociVersionMax == "1.2.0"' "$TMP/features.json"
check "features: all six hooks" \
  jqt '.hooks == ["prestart","createRuntime","createContainer","startContainer","poststart","poststop"]' "$TMP/features.json"
check "features: namespaces, capabilities, cgroup, seccomp" \
  jqt '(.linux.namespaces | index("user") != null) and (.linux.capabilities | index("CAP_SYS_ADMIN") != null)
         and .linux.cgroup.v2 == true and .linux.seccomp.enabled == true
         and (.linux.seccomp.actions | index("SCMP_ACT_NOTIFY") != null)
         and (.linux.seccomp.operators | length == 7)
         and (.linux.seccomp.supportedFlags - .linux.seccomp.knownFlags == [])' "$TMP/features.json"
if command -v runc >/dev/null; then
  missing=$(jq -n --slurpfile r <(runc features) --slurpfile v "$TMP/features.json" \
    '($r[0].mountOptions - $v[0].mountOptions) + ($r[0].linux.capabilities - $v[0].linux.capabilities)
     + ($r[0].linux.seccomp.actions - $v[0].linux.seccomp.actions) + ($r[0].linux.namespaces - $v[0].linux.namespaces)')
  if [ "$missing" = "[]" ]; then ok "features covers everything runc features lists"
  else not_ok "features lacks what runc has: $missing"; fi
fi
