#!/usr/bin/env bash
# A broken config.json makes `vessel create` fail before anything exists,
# with one message naming the field (as runc users expect).
source "$(dirname "$0")/../lib.sh"

mkdir -p "$TMP/b/rootfs"
(cd "$TMP/b" && "$VESSEL" spec) || { not_ok "vessel spec"; exit 0; }
cp "$TMP/b/config.json" "$TMP/good.json"

n=0
# expect_error NAME JQ-FILTER EXPECTED-SUBSTRING
expect_error() {
  local name=$1 filter=$2 want=$3 out rc
  n=$((n + 1))
  jq "$filter" "$TMP/good.json" > "$TMP/b/config.json"
  out=$(vs create --bundle "$TMP/b" "bad$n" 2>&1); rc=$?
  if [ $rc -ne 0 ] && grep -qF -- "$want" <<<"$out" && ! vs state "bad$n" >/dev/null 2>&1; then
    ok "$name"
  else
    not_ok "$name (rc=$rc, got: $out)"
    vs delete -f "bad$n" >/dev/null 2>&1
  fi
}

expect_error "empty process.args" '.process.args = []' \
  "process.args: required and must not be empty"
expect_error "unknown namespace" '.linux.namespaces[2].type = "foo"' \
  "linux.namespaces[2].type: unknown namespace 'foo'"
expect_error "duplicate namespace" '.linux.namespaces += [{"type":"pid"}]' \
  "linux.namespaces: duplicate 'pid'"
expect_error "relative mount destination" '.mounts[3].destination = "dev/shm"' \
  "mounts[3].destination"
expect_error "unknown rlimit" '.process.rlimits[0].type = "RLIMIT_FOO"' \
  "process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'"
expect_error "missing rootfs" '.root.path = "nope"' \
  "root.path $TMP/b/nope: no such directory"
expect_error "ociVersion 2" '.ociVersion = "2.0.0"' "ociVersion"
expect_error "hostname without uts namespace" '.linux.namespaces |= map(select(.type != "uts"))' \
  "hostname: needs a private uts namespace"
expect_error "user namespace without mappings" '.linux.namespaces += [{"type":"user"}]' \
  "uidMappings"
expect_error "net sysctl without network namespace" \
  '.linux.namespaces |= map(select(.type != "network")) | .linux.sysctl = {"net.ipv4.ip_forward":"1"}' \
  "net.ipv4.ip_forward needs a private network namespace"
expect_error "unknown seccomp action" \
  '.linux.seccomp = {"defaultAction":"SCMP_ACT_MAYBE"}' "unknown seccomp action 'SCMP_ACT_MAYBE'"
expect_error "uid out of range" '.process.user.uid = 4294967296' "process.user.uid"
# Malformed JSON
printf '{"ociVersion": "1.2.0", ' > "$TMP/b/config.json"
out=$(vs create --bundle "$TMP/b" badjson 2>&1)
if [ $? -ne 0 ] && grep -q "config.json" <<<"$out"; then ok "truncated JSON is reported"
else not_ok "truncated JSON is reported: $out"; fi

# Unknown capabilities are skipped with a warning, as runc does.
jq '.process.capabilities.bounding += ["CAP_FROM_THE_FUTURE"] | .process.args = ["true"] | .process.terminal = false' \
  "$TMP/good.json" > "$TMP/b/config.json"
out=$(vs create --bundle "$TMP/b" futurecap 2>&1); rc=$?
if grep -q "warn.*CAP_FROM_THE_FUTURE" <<<"$out" && ! grep -qi "error.*capabilit" <<<"$out"; then ok "unknown capability only warns"
else not_ok "unknown capability only warns (rc=$rc: $out)"; fi
vs delete -f futurecap >/dev/null 2>&1
