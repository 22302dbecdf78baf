#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --redis URL: portgated on a Redis it does not own. When that Redis goes away the API
# answers 503 and portgated keeps running; when it is back, portgated reconnects by itself.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/ext"
start_redis() {
	redis-server --port 0 --unixsocket "$T/ext/redis.sock" --unixsocketperm 700 --dir "$T/ext" \
		--appendonly yes --save "" --daemonize no --logfile "$T/ext/log" &
	REDIS_PID=$!
	for _ in $(seq 100); do redis-cli -s "$T/ext/redis.sock" PING 2>/dev/null | grep -q PONG && return; sleep 0.05; done
}
start_redis
CLEANUP_PIDS+=($REDIS_PID)
start_daemon --redis "unix://$T/ext/redis.sock?db=3" || { not_ok "portgated starts on an external Redis"; exit 1; }
ok "portgated starts on an external Redis (unix://...?db=3)"
check "service create works" pg service create ext-app
[ "$(redis-cli -s "$T/ext/redis.sock" -n 3 EXISTS "pg:{$HOSTNAME_PG}:service:ext-app")" = 1 ] && ok "keys land in db 3" || not_ok "keys land in db 3"
[ ! -e "$T/state/redis" ] && ok "no embedded redis-server with --redis" || not_ok "embedded redis started anyway"

kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
sleep 0.2
code=$(api -o "$T/body" -w '%{http_code}' http://localhost/v1/services/ext-app/ports -d '{"port":8080}')
[ "$code" = 503 ] && grep -q '"error"' "$T/body" && ok "Redis gone: 503 with a JSON error" || not_ok "Redis gone: got $code $(cat "$T/body")"
expect_exit 6 "the CLI exits 6 while the registry is unavailable" pg service port-add ext-app 8080
kill -0 "$DAEMON_PID" && ok "portgated keeps running without Redis" || not_ok "portgated died"

start_redis
CLEANUP_PIDS+=($REDIS_PID)
for _ in $(seq 100); do api http://localhost/v1/health | grep -q '"registry":true' && break; sleep 0.05; done
check "after Redis is back, port-add works again" pg service port-add ext-app 8080
expect_exit 0 "and the service from before is still there" pg service port-list ext-app
m=$(api http://localhost/v1/health)
grep -q '"registry":true' <<<"$m" && ok "health says the registry is back" || not_ok "health ($m)"

# Bad HTTP on the control socket: 431 for a huge head, 400 for garbage; the daemon lives on.
big=$(head -c 20000 /dev/zero | tr '\0' a)
code=$(api -o /dev/null -w '%{http_code}' -H "X-Big: $big" http://localhost/v1/services)
[ "$code" = 431 ] && ok "a 20 KB request head -> 431" || not_ok "huge head -> $code"
code=$(printf 'GET /v1/services HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n' | timeout 5 "$TOOLS/pg_raw" "$SOCK" | head -1)
grep -q " 400 " <<<"$code" && ok "an obs-folded header -> 400" || not_ok "obs-fold -> $code"
code=$(printf '\x01\x02garbage\r\n\r\n' | timeout 5 "$TOOLS/pg_raw" "$SOCK" | head -1)
grep -q " 400 " <<<"$code" && ok "binary garbage -> 400" || not_ok "garbage -> $code"
n=$(printf 'GET /v1/health HTTP/1.1\r\nHost: a\r\n\r\nGET /v1/services HTTP/1.1\r\nHost: a\r\n\r\n' | timeout 5 "$TOOLS/pg_raw" "$SOCK" | grep -o 'HTTP/1.1 200' | wc -l)
[ "$n" = 2 ] && ok "two pipelined requests, then half-close: both answered" || not_ok "pipelined + half-close: $n answers"
api http://localhost/v1/health | grep -q '"status":"ok"' && ok "the daemon still answers" || not_ok "daemon gone after bad input"
[ "$n_fail" -eq 0 ]
