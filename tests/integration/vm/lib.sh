# Shared helpers of the VM tests that drive Firecracker's API on a VMM's
# Unix socket (`vessel vm run --api-sock`). Source it instead of
# tests/lib.sh, which it brings in.
source "$(dirname "${BASH_SOURCE[0]}")/../../lib.sh"

API_SOCK=${API_SOCK:-}          # the socket api and expect_status talk to
API_MAX_TIME=${API_MAX_TIME:-20} # seconds curl waits for an answer (a deadline, not a check)

# api_at SOCK METHOD PATH [BODY]: the answer's body, then its status on a
# line of its own. A body goes as JSON, with the headers of Firecracker's
# getting-started guide.
api_at() {
  local args=(-s -m "$API_MAX_TIME" --unix-socket "$1" -X "$2" -w '\n%{http_code}' "http://localhost$3")
  [ $# -ge 4 ] && args+=(-H 'Accept: application/json' -H 'Content-Type: application/json' --data "$4")
  curl "${args[@]}"
}
# api METHOD PATH [BODY]: the same on $API_SOCK.
api() { api_at "$API_SOCK" "$@"; }

# _expect_answer FAULT NAME WANT SOCK METHOD PATH [BODY]: ok when the status
# is WANT and, with FAULT=1, a 400 carries a fault_message; else not_ok
# (with the body) and status 1.
_expect_answer() {
  local fault=$1 name=$2 want=$3 out code body; shift 3
  out=$(api_at "$@"); code=${out##*$'\n'} body=${out%$'\n'*}
  if [ "$code" != "$want" ]; then not_ok "$name (want $want, got $code: $body)"; return 1; fi
  if [ "$fault" = 1 ] && [ "$want" = 400 ] && ! jq -e '.fault_message | strings | length > 0' >/dev/null <<<"$body"; then
    not_ok "$name (400 without a fault_message: $body)"; return 1
  fi
  ok "$name"
}
# expect_status NAME WANT METHOD PATH [BODY]: on $API_SOCK, the answer has
# status WANT, and a 400 carries a fault_message.
expect_status() { local name=$1 want=$2; shift 2; _expect_answer 1 "$name" "$want" "$API_SOCK" "$@"; }
# expect_status_at NAME WANT SOCK METHOD PATH [BODY]: on SOCK, the status only.
expect_status_at() { _expect_answer 0 "$@"; }

# wait_sock PATH [SECONDS]: until PATH is a socket (10 s); fails if it never is.
wait_sock() {
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do [ -S "$1" ] && return 0; sleep 0.1; done
  return 1
}

# jqt FILTER: jq -e on stdin, quietly (for check).
jqt() { jq -e "$@" >/dev/null; }
