#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# portgated and portgate-proxy under valgrind memcheck: a tour of the API, and of the token
# gate's answers, then SIGTERM; no error, no leak.
. "$(dirname "$0")/lib.sh"

if [ "${SAN:-0}" = 1 ]; then skip "valgrind does not run sanitizer builds"; exit 0; fi
command -v valgrind >/dev/null || { skip "valgrind not installed"; exit 0; }
VG="valgrind --quiet --suppressions=$(dirname "$0")/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99"
DAEMON_WRAPPER="$VG --log-file=$T/vg.log"
START_TRIES=600 start_daemon || { not_ok "portgated starts under valgrind"; exit 1; }
out=$(pg service create vg-app); TOKEN=$(grep -oE '[A-Za-z0-9_-]{43}' <<<"$out" | head -1)
pg service port-add vg-app 8080 127.0.0.1 >/dev/null
pg service port-add vg-app 8081 0.0.0.0 "api_token" >/dev/null
pg service port-add vg-app internal_http --allow 10.0.0.0/8 >/dev/null
pg service port-add vg-app 22 >/dev/null 2>&1
pg service port-list vg-app >/dev/null
pg service port-check 8080 >/dev/null
pg service ports-global available-only >/dev/null
api http://localhost/v1/services -d '{bad' >/dev/null
printf 'GARBAGE\r\n\r\n' | curl -s --unix-socket "$SOCK" --data-binary @- http://localhost/x >/dev/null
chmod 666 "$SOCK"
setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/portgate" --socket "$SOCK" service port-remove vg-app port-8080 "$TOKEN" >/dev/null
pg service delete vg-app >/dev/null
pg cleanup >/dev/null
kill "$DAEMON_PID"; wait "$DAEMON_PID"; rc=$?; DAEMON_PID=
[ "$rc" -eq 0 ] && ok "portgated under valgrind: no memory error, no leak, clean exit" \
	|| { not_ok "valgrind (exit $rc)"; sed 's/^/#   /' "$T/vg.log" | head -40; }

# ---- portgate-proxy: every answer of the gate, a tunnel both ways, reused backend connections,
# then SIGTERM (idle pooled connections still open) ----
TOKEN="vg-$$-$RANDOM-token"
HASH="sha256:$(printf %s "$TOKEN" | sha256sum | cut -c1-64)"
BP=$(free_port) PP=$(free_port) PD=$(free_port) DEAD=$(free_port)
"$TOOLS/pg_echo" --port "$BP" >>"$T/echo.log" 2>&1 &
CLEANUP_PIDS+=($!)
$VG --log-file="$T/vg-proxy.log" "$BIN/portgate-proxy" --route "127.0.0.1:$PP=$BP" \
	--route "127.0.0.1:$PD=$DEAD" --token-hash "$HASH" --threads 2 --no-seccomp --answer-timeout-ms 2000 \
	--events "$T/vg-events.log" 2>>"$T/vg-proxy.err" &
VG_PROXY=$!
CLEANUP_PIDS+=($VG_PROXY)
if ! wait_port "$BP" || ! wait_port "$PP" 600; then
	not_ok "portgate-proxy starts under valgrind"; sed 's/^/#   /' "$T/vg-proxy.err" | tail; exit 1
fi
code() { curl -s -o /dev/null -w '%{http_code}' -m 30 "$@"; }
head -c 1048576 /dev/urandom >"$T/blob"
codes="$(code -H "X-Source-Token: $TOKEN" "http://127.0.0.1:$PP/")"
codes+=" $(code "http://127.0.0.1:$PP/")"
codes+=" $(code -H "X-Source-Token: wrong" "http://127.0.0.1:$PP/")"
codes+=" $(code -H "X-Source-Token: $TOKEN" "http://127.0.0.1:$PD/")"
codes+=" $(code -H "X-Source-Token: $TOKEN" --data-binary @"$T/blob" "http://127.0.0.1:$PP/echo")"
codes+=" $(printf 'GARBAGE\r\n\r\n' | "$TOOLS/pg_tcp" send 127.0.0.1 "$PP" | head -c 12)"
# one-exchange clients over reused backend connections: every framing, a dying backend, a bad one
for path in bytes/70000 chunked/5000 status/204 hints bye bytes/10 garbage; do
	codes+=" $(code -H "X-Source-Token: $TOKEN" -H 'Connection: close' "http://127.0.0.1:$PP/$path")"
done
codes+=" $(code -I -H "X-Source-Token: $TOKEN" -H 'Connection: close' "http://127.0.0.1:$PP/x")"
# a silent backend: 504 at the answer deadline; silent after 100 Continue: cut short
for path in silent silent-after-100; do
	codes+=" $(code -H "X-Source-Token: $TOKEN" -H 'Connection: close' "http://127.0.0.1:$PP/$path")"
done
check "proxy under valgrind answers 200 401 403 502 200 400, and the one-exchange answers" \
	test "$codes" = "200 401 403 502 200 HTTP/1.1 400 200 200 204 200 200 200 502 200 504 100"
kill "$VG_PROXY"; wait "$VG_PROXY"; rc=$?
[ "$rc" -eq 0 ] && ok "portgate-proxy under valgrind: no memory error, no leak, clean exit" \
	|| { not_ok "valgrind proxy (exit $rc)"; sed 's/^/#   /' "$T/vg-proxy.log" | head -40; }
