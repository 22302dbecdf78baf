#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# portgate-proxy's backend connection reuse: clients that ask for one exchange (Connection:
# close) share idle backend connections. Every response framing the proxy must delimit
# (Content-Length, chunked with extensions and trailers, HEAD, 204/304, 1xx, 100-continue),
# bodies both ways, a broken response, backends that close idle connections, concurrency.
. "$(dirname "$0")/lib.sh"

[ -x "$BIN/portgate-proxy" ] || { skip "portgate-proxy is not built"; exit 0; }
command -v curl >/dev/null || { skip "curl is not installed"; exit 0; }

PROXY_PIDS=()
extra_cleanup() {
	local p
	for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PROXY_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T"/proxy*.log "$T"/echo.log 2>/dev/null; then
		not_ok "proxy and echo ran clean under the sanitizers"
		grep -h -E -A12 'AddressSanitizer|LeakSanitizer|runtime error:' "$T"/proxy*.log "$T"/echo.log | head -40 | sed 's/^/#   /'
	fi
}

TOKEN="tok-$$-$RANDOM-secret"
HASH="sha256:$(printf %s "$TOKEN" | sha256sum | cut -c1-64)"
BP=$(free_port)  # pg_echo
PR=$(free_port)  # proxy with reuse (the default)
PN=$(free_port)  # proxy with --no-backend-reuse
PT=$(free_port)  # proxy with a short answer deadline (--answer-timeout-ms 500)
"$TOOLS/pg_echo" --port "$BP" >>"$T/echo.log" 2>&1 &
CLEANUP_PIDS+=($!)
"$BIN/portgate-proxy" --route "127.0.0.1:$PR=$BP" --token-hash "$HASH" --events "$T/events-r.log" \
	--threads 2 --fail-limit 1000 2>>"$T/proxy-r.log" &
PROXY_R=$!
PROXY_PIDS+=($PROXY_R)
"$BIN/portgate-proxy" --route "127.0.0.1:$PN=$BP" --token-hash "$HASH" --events /dev/null \
	--threads 1 --no-backend-reuse 2>>"$T/proxy-n.log" &
PROXY_PIDS+=($!)
"$BIN/portgate-proxy" --route "127.0.0.1:$PT=$BP" --token-hash "$HASH" --events "$T/events-t.log" \
	--threads 1 --answer-timeout-ms 500 2>>"$T/proxy-t.log" &
PROXY_PIDS+=($!)
if ! wait_port "$BP" || ! wait_port "$PR" || ! wait_port "$PN" || ! wait_port "$PT"; then
	not_ok "proxies and backend start"
	tail -20 "$T"/proxy-*.log | sed 's/^/#   /'
	exit 1
fi
R=http://127.0.0.1:$PR
# once URL [curl args]: one exchange through the proxy (Connection: close), body on stdout
once() { curl -s -m 10 -H "X-Source-Token: $TOKEN" -H 'Connection: close' "$@"; }
conns() { curl -s -m 5 "http://127.0.0.1:$BP/conns"; } # asks the backend directly (+1 itself)
gen_sha() { "$TOOLS/pg_echo" --gen "$1" | sha256sum | cut -c1-64; }

# ---- reuse itself ----
before=$(conns)
okc=0
for i in $(seq 20); do
	[ "$(once -o /dev/null -w '%{http_code} %{size_download}' "$R/bytes/1000")" = "200 1000" ] && okc=$((okc + 1))
done
after=$(conns)
check "20 one-exchange requests: all 200 with their 1000 bytes" test "$okc" = 20
# the proxy has 2 workers, each may dial its own; /conns itself is one more
check "... over at most 3 backend connections (backend accepted $((after - before - 1)))" \
	test $((after - before - 1)) -le 3
once -D "$T/h1" -o /dev/null "$R/bytes/10"
check "the client's response says Connection: close (the backend's keep-alive is not passed on)" \
	sh -c "grep -qi '^Connection: close' '$T/h1' && ! grep -qi 'keep-alive' '$T/h1'"
kill -USR1 "$PROXY_R"
sleep 0.3
reused=$(awk '/^portgate_proxy_backend_connections_total\{origin="reused"\}/ { print $2 }' "$T/proxy-r.log" | tail -1)
check "Prometheus: reused backend connections counted ($reused)" test "${reused:-0}" -ge 15

before=$(conns)
for i in $(seq 5); do once -o /dev/null "http://127.0.0.1:$PN/bytes/100"; done
after=$(conns)
check "--no-backend-reuse: one backend connection per client connection" \
	test $((after - before - 1)) -eq 5

# a backend that closes right after a large answer: its FIN arrives long before the proxy has
# moved the bytes queued ahead of it (the tunnel path, splice, no reuse)
want10=$("$TOOLS/pg_echo" --gen 10485760 | sha256sum | cut -c1-64)
bad=0
for i in 1 2 3; do
	got=$(curl -s -m 30 -H "X-Source-Token: $TOKEN" -H 'Connection: close' "http://127.0.0.1:$PN/bytes/10485760" | sha256sum | cut -c1-64)
	[ "$got" = "$want10" ] || bad=$((bad + 1))
done
check "--no-backend-reuse: 10 MiB then the backend's FIN, three times, byte for byte ($bad bad)" test "$bad" = 0

# ---- framings ----
check "chunked response (extension, trailer), 250,000 bytes byte for byte" \
	test "$(once "$R/chunked/250000" | sha256sum | cut -c1-64)" = "$(gen_sha 250000)"
check "... and the next exchange on that connection is whole" \
	test "$(once -o /dev/null -w '%{http_code} %{size_download}' "$R/bytes/777")" = "200 777"
check "HEAD: the head alone, nothing waited for" \
	test "$(once -I -o /dev/null -w '%{http_code} %{size_download}' "$R/x")" = "200 0"
check "204: no body, at once" test "$(once -o /dev/null -w '%{http_code}' "$R/status/204")" = 204
check "304 with a Content-Length: no body, at once" \
	test "$(once -o /dev/null -w '%{http_code}' "$R/status/304")" = 304
check "103 Early Hints, then the final 200" test "$(once "$R/hints")" = ok
check "after all of them, exchanges still line up" \
	test "$(once -o /dev/null -w '%{http_code} %{size_download}' "$R/bytes/4321")" = "200 4321"

# ---- bodies ----
head -c 300000 /dev/urandom >"$T/up.bin"
want=$(sha256sum <"$T/up.bin" | cut -c1-64)
check "POST 300,000 bytes with Expect: 100-continue: sha256 matches" \
	test "$(once --data-binary @"$T/up.bin" "$R/sha256")" = "$want"
check "POST 300,000 bytes without Expect: sha256 matches" \
	test "$(once -H 'Expect:' --data-binary @"$T/up.bin" "$R/sha256")" = "$want"
# (pg_echo refuses chunked uploads with 501: what matters is that it gets there and back)
check "chunked upload (its own connection, not reused): the backend's answer comes back" \
	test "$(once -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @"$T/up.bin" "$R/echo")" = 501
check "10 MiB response byte for byte" \
	test "$(once "$R/bytes/10485760" | sha256sum | cut -c1-64)" = "$(gen_sha 10485760)"

# ---- broken and closing backends ----
check "a response that is not HTTP: 502" test "$(once -o /dev/null -w '%{http_code}' "$R/garbage")" = 502
bad=0
for i in $(seq 60); do
	a=$(once -o /dev/null -w '%{http_code}' "$R/bye")
	b=$(once -o /dev/null -w '%{http_code} %{size_download}' "$R/bytes/50")
	[ "$a" = 200 ] && [ "$b" = "200 50" ] || bad=$((bad + 1))
done
check "a backend that closes right after answering: 120 exchanges, none lost ($bad bad)" test "$bad" = 0

# ---- a backend that takes the request and says nothing (answer deadline 500 ms) ----
TT=http://127.0.0.1:$PT
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
start=$(date +%s%N)
once -i "$TT/silent" >"$T/r504"
took=$(ms "$start")
if head -1 "$T/r504" | grep -q '^HTTP/1.1 504 Gateway Timeout' && grep -q '^{"error":"backend timeout"}' "$T/r504" &&
	grep -qi '^Connection: close' "$T/r504" && [ "$took" -ge 450 ] && [ "$took" -lt 5000 ]; then
	ok "a silent backend: 504 with a JSON body after the answer deadline (${took} ms)"
else
	not_ok "silent backend -> 504 (${took} ms)"; sed 's/^/#   /' "$T/r504"
fi
check "... an event: status 504, reason backend timeout" \
	grep -q '"result":"denied","status":504,"reason":"backend timeout"' "$T/events-t.log"
check "... and the next exchange is served (200)" test "$(once -o /dev/null -w '%{http_code}' "$TT/bytes/10")" = 200
start=$(date +%s%N)
c=$(once -o /dev/null -w '%{http_code}' "$TT/silent-after-100")
took=$(ms "$start")
check "100 Continue, then silence: cut short after the deadline, no 200 (${took} ms, $c)" \
	sh -c "[ '$c' != 200 ] && [ '$took' -ge 450 ] && [ '$took' -lt 5000 ]"
got=$(once --limit-rate 1M "$TT/bytes/2000000" | sha256sum | cut -c1-64)
check "the deadline is for the response head: a 2 s download after it arrives whole" \
	test "$got" = "$(gen_sha 2000000)"
head -c 1500000 /dev/urandom >"$T/up15"
want15=$(sha256sum <"$T/up15" | cut -c1-64)
for expect in 'Expect:' 'Expect: 100-continue'; do
	got=$(once -H "$expect" --limit-rate 1M --data-binary @"$T/up15" "$TT/sha256")
	check "... and it starts once the request is all sent: a 1.5 s upload ($expect) is not cut" \
		test "$got" = "$want15"
done
c=$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H "X-Source-Token: $TOKEN" "$TT/silent")
check "keep-alive tunnels have no answer deadline: still waiting at 2 s (not a 504)" test "$c" = 000
kill -USR1 "${PROXY_PIDS[-1]}"
sleep 0.3
check "SIGUSR1: the 504s are counted (result backend_timeout)" \
	grep -qE "^portgate_proxy_requests_total\{port=\"$PT\".*result=\"backend_timeout\",status=\"504\"\} 1\$" "$T/proxy-t.log"

# ---- keep-alive clients keep their own tunnel ----
out=$(curl -s -m 10 -H "X-Source-Token: $TOKEN" -o /dev/null -o /dev/null \
	-w '%{http_code} %{num_connects}\n' "$R/bytes/10" "$R/bytes/10")
check "keep-alive client: two requests on one connection" test "$(echo "$out" | tr '\n' ' ')" = "200 1 200 0 "

# ---- concurrency ----
seq 400 | xargs -P 16 -I{} curl -s -m 10 -H "X-Source-Token: $TOKEN" -H 'Connection: close' \
	-o /dev/null -w '%{http_code} %{size_download}\n' "$R/bytes/{}" >"$T/par" 2>/dev/null
good=$(awk '$1 == 200' "$T/par" | wc -l)
sizes=$(awk '{ s += $2 } END { print s }' "$T/par")
check "400 one-exchange clients, 16 at a time: all 200 ($good), every byte ($sizes of 80200)" \
	sh -c "[ '$good' = 400 ] && [ '$sizes' = 80200 ]"
allowed=$(grep -c '"result":"allowed"' "$T/events-r.log")
check "every exchange is an allowed event ($allowed)" test "$allowed" -ge 500
check "proxy still alive" kill -0 "$PROXY_R"
