#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# portgated under valgrind memcheck: a tour of the API, then SIGTERM; no error, no leak.
. "$(dirname "$0")/lib.sh"

if [ "${SAN:-0}" = 1 ]; then skip "valgrind does not run sanitizer builds"; exit 0; fi
command -v valgrind >/dev/null || { skip "valgrind not installed"; exit 0; }
DAEMON_WRAPPER="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --log-file=$T/vg.log"
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
