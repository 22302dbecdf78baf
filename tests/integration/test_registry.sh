#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The registry end to end: a real portgated with its embedded redis-server, driven through
# the portgate CLI and curl, as seed 001 describes (three ports, tokens, checks, cleanup).
. "$(dirname "$0")/lib.sh"

start_daemon || { not_ok "portgated starts with its embedded Redis"; exit 1; }
ok "portgated starts with its embedded Redis"

# 001's example: one service, three ports.
out=$(pg service create my-app --description "seed 001 example") ; rc=$?
TOKEN=$(grep -oE '[A-Za-z0-9_-]{43}' <<<"$out" | head -1)
if [ $rc -eq 0 ] && [ ${#TOKEN} -eq 43 ]; then ok "service create prints a 43-char owner token"; else not_ok "service create ($out)"; fi
expect_exit 4 "creating my-app twice is a conflict" pg service create my-app
check "port-add my-app 8080 127.0.0.1" pg service port-add my-app 8080 127.0.0.1
check "port-add my-app 8081 0.0.0.0 \"api_token\"" pg service port-add my-app 8081 0.0.0.0 "api_token"
check "port-add my-app 8082 127.0.0.1" pg service port-add my-app 8082 127.0.0.1
json=$(pg --json service port-list my-app)
n=$(grep -o '"host_port"' <<<"$json" | wc -l)
[ "$n" -eq 4 ] && ok "port-list shows 3 ports and the token port's backend" || not_ok "port-list shows 3 ports + backend ($json)"
grep -q '"backend_port": *9000' <<<"$json" && grep -q '"port_name": *"port-8081.backend"' <<<"$json" && grep -q '"backend_of": *8081' <<<"$json" \
	&& ok "the token port 8081 got backend 9000 (first of internal_http), its own record" || not_ok "backend of 8081 ($json)"
for f in service_name port_name host_port container_port bind_address protocol require_token description purpose allowed_sources; do
	grep -q "\"$f\"" <<<"$json" || { not_ok "port-list --json has $f"; continue; }
done
ok "port-list --json uses 001's field names"
grep -q '"host_port": *8081[^}]*"require_token": *true\|"require_token": *true[^}]*"host_port": *8081' <<<"$(tr -d '\n' <<<"$json" | sed 's/},/}\n/g')" \
	&& ok "8081 requires a token" || not_ok "8081 requires a token"
if grep -qi "api_token\|sha256" <<<"$json$(pg service port-list my-app)$(pg --json service ports-global)"; then
	not_ok "no token or token hash in any output"
else
	ok "no token or token hash in any output"
fi
expect_exit 4 "port-check 8080: taken" pg service port-check 8080
grep -q "my-app" "$T/last.out" && ok "port-check names the owner" || not_ok "port-check names the owner: $(cat "$T/last.out")"
expect_exit 0 "port-check 8083: free" pg service port-check 8083
expect_exit 4 "another service cannot take 8080" bash -c "'$BIN/portgate' --socket '$SOCK' service create other >/dev/null; '$BIN/portgate' --socket '$SOCK' service port-add other 8080"

# Purposes: lowest free port of the range, one step.
out=$(pg --json service port-add my-app internal_http)
grep -q '"host_port": *9001' <<<"$out" && ok "internal_http gives 9001 (9000 is 8081's backend)" || not_ok "internal_http gives 9001 first ($out)"
out=$(pg --json service port-add my-app internal_http)
grep -q '"host_port": *9002' <<<"$out" && ok "then 9002" || not_ok "then 9002 ($out)"
expect_exit 2 "unknown purpose is a usage error naming the field" pg service port-add my-app no_such_purpose
grep -qi "purpose" "$T/last.out" && ok "error names purpose" || not_ok "error names purpose: $(cat "$T/last.out")"

# Restricted ports.
expect_exit 4 "port 22 is refused (restricted)" pg service port-add my-app 22
grep -q "restricted" "$T/last.out" && ok "the refusal says restricted" || not_ok "the refusal says restricted: $(cat "$T/last.out")"
expect_exit 4 "port 6379 is refused (restricted)" pg service port-add my-app 6379 --proto udp
check "root grants 5432 with --allow-restricted" pg service port-add my-app 5432 --allow-restricted
grep -q '"restricted_grant": *true' <<<"$(pg --json service port-list my-app)" && ok "the grant is recorded" || not_ok "the grant is recorded"
[ -n "$(rcli XRANGE "pg:{$HOSTNAME_PG}:grants" - + | grep 5432)" ] && ok "the grant is in the grants stream" || not_ok "grants stream"

# A port held by a real listener on the host.
"$TOOLS/pg_listen" tcp 127.0.0.1 18765 >"$T/listen.out" & CLEANUP_PIDS+=($!)
for _ in $(seq 50); do grep -q listening "$T/listen.out" && break; sleep 0.05; done
expect_exit 4 "a port a process listens on is refused" pg service port-add my-app 18765
grep -q "pg_listen" "$T/last.out" && ok "the refusal names the process" || not_ok "names the process: $(cat "$T/last.out")"
"$TOOLS/pg_listen" udp ::1 18766 >"$T/listen6.out" & CLEANUP_PIDS+=($!)
for _ in $(seq 50); do grep -q listening "$T/listen6.out" && break; sleep 0.05; done
expect_exit 4 "a UDP port bound on ::1 is refused" pg service port-add my-app 18766 --proto udp
expect_exit 0 "the same port over TCP is free" pg service port-add my-app 18766 --proto tcp

# Bad input: the CLI names the argument; the API answers 4xx JSON.
expect_exit 2 "port 70000 is a usage error" pg service port-add my-app 70000
grep -q "70000" "$T/last.out" && ok "the error names the value" || not_ok "the error names the value"
expect_exit 2 "bind address 1.2.3 is a usage error" pg service port-add my-app 8090 1.2.3
expect_exit 2 "bad CIDR is a usage error" pg service port-add my-app 8090 --allow 10.0.0.0/33
code=$(api -o "$T/body" -w '%{http_code}' http://localhost/v1/services -d '{"service_name":"bad name"}')
[ "$code" = 400 ] && grep -q '"field": *"service_name"' "$T/body" && ok "API: bad service name -> 400 naming the field" || not_ok "API bad name ($code $(cat "$T/body"))"
code=$(api -o "$T/body" -w '%{http_code}' http://localhost/v1/services/my-app/ports -d '{"port":8090,"bind_address":"203.0.113.9"}')
[ "$code" = 400 ] && grep -q 'bind_address' "$T/body" && ok "API: an address the host lacks -> 400" || not_ok "API bind ($code $(cat "$T/body"))"
code=$(api -o "$T/body" -w '%{http_code}' http://localhost/v1/services -d '{not json')
[ "$code" = 400 ] && ok "API: malformed JSON -> 400" || not_ok "API: malformed JSON ($code)"
code=$(api -o "$T/body" -w '%{http_code}' http://localhost/v1/nothing)
[ "$code" = 404 ] && grep -q '"error"' "$T/body" && ok "API: unknown route -> 404 JSON" || not_ok "API: unknown route ($code)"

# Owner token for a caller who is not root.
chmod 666 "$SOCK"
asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/portgate" --socket "$SOCK" "$@"; }
expect_exit 5 "non-root without the owner token is refused" asnobody service port-add my-app 8095
expect_exit 5 "non-root with a wrong owner token is refused" asnobody service port-add my-app 8095 127.0.0.1 "" "wrong-token-wrong-token-wrong-token-wrong00"
expect_exit 0 "non-root with the owner token may add" asnobody service port-add my-app 8095 127.0.0.1 "" "$TOKEN"
expect_exit 5 "non-root cannot grant a restricted port" asnobody service port-add my-app 443 127.0.0.1 "" "$TOKEN" --allow-restricted
expect_exit 0 "non-root may create a service" asnobody service create nobodys-app

# ports-global and available-only.
out=$(pg service ports-global)
grep -q "8081" <<<"$out" && grep -q "internal_http" <<<"$out" && ok "ports-global lists allocations and ranges" || not_ok "ports-global ($out)"
out=$(pg service ports-global available-only)
grep -q "9003" <<<"$out" && ok "available-only shows internal_http free from 9003" || not_ok "available-only ($out)"

# Backends of token-protected ports: their own records, taken and released with the front.
expect_exit 4 "a backend is not removed on its own (409)" pg service port-remove my-app port-8081.backend
grep -q "remove port-8081 instead" "$T/last.out" && ok "the refusal names the front port" || not_ok "refusal: $(cat "$T/last.out")"
out=$(pg --json service port-add my-app 8085 0.0.0.0 "t2" --backend 9500 --name api2)
grep -q '"backend_port": *9500' <<<"$out" && ok "--backend 9500 is recorded" || not_ok "--backend ($out)"
expect_exit 4 "a backend port already taken is refused" pg service port-add my-app 8086 0.0.0.0 "t3" --backend 9500
expect_exit 4 "so is a restricted backend" pg service port-add my-app 8086 0.0.0.0 "t3" --backend 5432
expect_exit 0 "port-check 8086: nothing half-taken by the refusals" pg service port-check 8086
expect_exit 2 "--backend without a token is a usage error" pg service port-add my-app 8086 --backend 9501
code=$(api -o "$T/body" -w '%{http_code}' http://localhost/v1/services/my-app/ports -d '{"port":8086,"backend_port":9501}')
[ "$code" = 400 ] && grep -q '"field": *"backend_port"' "$T/body" && ok "API: backend_port without a token -> 400" || not_ok "API backend_port ($code $(cat "$T/body"))"
code=$(api -o "$T/body" -w '%{http_code}' http://localhost/v1/services/my-app/ports -d '{"port":8086,"source_token":"x","protocol":"udp"}')
[ "$code" = 400 ] && ok "API: a token on udp -> 400" || not_ok "API token on udp ($code $(cat "$T/body"))"
code=$(api -o "$T/body" -w '%{http_code}' http://localhost/v1/services/my-app/ports -d '{"port":8086,"port_name":"x.backend"}')
[ "$code" = 400 ] && ok "API: a name ending in .backend -> 400" || not_ok "API .backend name ($code $(cat "$T/body"))"
out=$(pg --json service port-add my-app internal_http 127.0.0.1 "t4" --name auto)
grep -q '"host_port": *9003' <<<"$out" && grep -q '"backend_port": *9004' <<<"$out" && ok "one call takes a purpose port and its backend (9003 + 9004)" || not_ok "purpose + backend ($out)"
expect_exit 0 "port-remove api2" pg service port-remove my-app api2
expect_exit 0 "its backend 9500 is released with it" pg service port-check 9500
[ "$(registry_mismatches)" = 0 ] && ok "registry consistent with backends" || not_ok "registry with backends ($(registry_mismatches))"
K="pg:{$HOSTNAME_PG}"
rcli DEL "$K:port:tcp:9003" >/dev/null; rcli SREM "$K:index" tcp/9003 >/dev/null
rcli HDEL "$K:service:my-app:ports" auto >/dev/null; rcli SETBIT "$K:used:tcp" 9003 0 >/dev/null
out=$(pg cleanup)
grep -q "9004" <<<"$out" && grep -q "which is gone" <<<"$out" && ok "cleanup releases a backend whose front port vanished" || not_ok "orphan backend cleanup ($out)"
expect_exit 0 "port-check 9004: free after cleanup" pg service port-check 9004

# Remove one port, delete the service: every port released.
expect_exit 0 "port-remove my-app port-8082" pg service port-remove my-app port-8082
expect_exit 0 "port-check 8082: free again" pg service port-check 8082
expect_exit 3 "port-remove of an unknown port name: not found" pg service port-remove my-app nope
expect_exit 0 "service delete my-app" pg service delete my-app
expect_exit 0 "port-check 8080: free after delete" pg service port-check 8080
expect_exit 0 "port-check 9000: free after delete" pg service port-check 9000
expect_exit 4 "port-check 5432: restricted again after delete" pg service port-check 5432

# cleanup: a record whose service vanished behind portgate's back.
rcli HSET "pg:{$HOSTNAME_PG}:port:tcp:9999" service_name ghost port_name x host_port 9999 >/dev/null
rcli SETBIT "pg:{$HOSTNAME_PG}:used:tcp" 9999 1 >/dev/null
rcli SADD "pg:{$HOSTNAME_PG}:index" tcp/9999 >/dev/null
rcli SETBIT "pg:{$HOSTNAME_PG}:used:udp" 9998 1 >/dev/null
out=$(pg cleanup)
grep -q 9999 <<<"$out" && grep -q 9998 <<<"$out" && ok "cleanup releases what no service owns and says so" || not_ok "cleanup ($out)"
[ "$(registry_mismatches)" = 0 ] && ok "registry consistent after all of it" || not_ok "registry consistent ($(registry_mismatches))"

# Health and metrics on their own port.
stop_daemon
METRICS=127.0.0.1:19464 start_daemon || not_ok "restart with metrics"
h=$(curl -s http://127.0.0.1:19464/health)
grep -q '"status": *"ok"' <<<"$h" && grep -q '"service": *"portgated"' <<<"$h" && grep -q uptime_seconds <<<"$h" && ok "/health as in seed 000" || not_ok "/health ($h)"
m=$(curl -s http://127.0.0.1:19464/metrics)
grep -q '^portgate_free_ports{purpose="internal_http",protocol="tcp"} 1000' <<<"$m" && grep -q portgate_api_requests_total <<<"$m" && grep -q portgate_redis_reconnects_total <<<"$m" \
	&& ok "/metrics: free ports per purpose, API and Redis counters" || not_ok "/metrics ($m)"
[ "$n_fail" -eq 0 ]
