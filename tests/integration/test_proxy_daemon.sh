#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# portgated runs portgate-proxy and feeds it the token-protected ports: portgated inside a
# namespace this test made (nftables there too), BPF on a cgroup this test made, a peer
# namespace joined by veth as the outside client (10.78.0.0/24, apart from test_enforce's).
. "$(dirname "$0")/lib.sh"

PROXY_BIN=${PROXY_BIN:-$BIN/portgate-proxy}
[ -x "$PROXY_BIN" ] || { skip "build/portgate-proxy is not built"; exit 0; }
[ -x "$TOOLS/pg_echo" ] || { skip "build/tools/pg_echo is not built"; exit 0; }
CGM=$(cgroup2_mount)
[ -n "$CGM" ] || { skip "no cgroup v2 mount"; exit 0; }
for c in nft curl nsenter; do command -v $c >/dev/null || { skip "$c not installed"; exit 0; }; done
ID=$$-$RANDOM
CG=$CGM/portgate-ptest-$ID
PIN=/sys/fs/bpf/portgate-ptest-$ID
NS=pgx-$ID-a
PEER=pgx-$ID-b
TOKEN=api_token

extra_cleanup() { remove_test_objects "$PIN" "$CG" "$NS" "$PEER"; }

mkdir -p "$CG/app" || { skip "cannot create a cgroup under $CGM"; exit 0; }
ip netns add "$NS" && ip netns add "$PEER" || { skip "cannot create network namespaces"; exit 0; }
ip link add "pxv$$" type veth peer name "pxp$$" || { skip "cannot create veth"; exit 0; }
ip link set "pxv$$" netns "$NS"; ip link set "pxp$$" netns "$PEER"
ip -n "$NS" addr add 10.78.0.1/24 dev "pxv$$"; ip -n "$NS" link set "pxv$$" up; ip -n "$NS" link set lo up
ip -n "$PEER" addr add 10.78.0.2/24 dev "pxp$$"; ip -n "$PEER" link set "pxp$$" up; ip -n "$PEER" link set lo up

# Into the namespace's network only: `ip netns exec` would also remount /sys, hiding the
# cgroup2 and bpf mounts that portgated and `portgate exec` need.
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }
DAEMON_WRAPPER="nsenter --net=/run/netns/$NS"
METRICS=127.0.0.1:19478
if ! start_daemon --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS" --proxy "$PROXY_BIN" --log-level debug; then
	if grep -qiE "not permitted|not supported|EPERM|EOPNOTSUPP" "$T/daemon.log"; then
		skip "kernel lacks a feature: $(grep -iE 'error' "$T/daemon.log" | head -1)"; exit 0
	fi
	not_ok "portgated starts with the proxy in netns $NS"; exit 1
fi
DPID=$DAEMON_PID
ok "portgated runs in netns $NS, enforcing on $CG, with portgate-proxy"

proxy_field() { pg --json status | tr -d ' \n' | grep -o '"proxy":{[^}]*}' | grep -o "\"$1\":[^,}]*" | cut -d: -f2; }
wait_for() { for _ in $(seq 100); do "$@" && return 0; sleep 0.05; done; return 1; }
proxy_ready() { [ "$(proxy_field ready)" = true ]; }
if wait_for proxy_ready; then
	ok "the proxy is up (pid $(proxy_field pid), user $(proxy_field user | tr -d '"'))"
else
	not_ok "proxy not ready: $(pg --json status | tr -d '\n' | grep -o '"proxy":{[^}]*}')"
	grep -E "proxy" "$T/daemon.log" | tail -5 | sed 's/^/#   /'
	exit 1
fi
grep -q "^0::/${CG#"$CGM"/}/portgate-proxy\$" "/proc/$(proxy_field pid)/cgroup" && ok "the proxy runs in $CG/portgate-proxy" || not_ok "proxy cgroup: $(cat "/proc/$(proxy_field pid)/cgroup" 2>&1 | grep '^0::')"

PP=$(proxy_field pid)
st=/proc/$PP/status
grep -qE '^Uid:\s+[1-9][0-9]*\s' "$st" && grep -qE '^CapEff:\s+0+$' "$st" && grep -qE '^NoNewPrivs:\s+1' "$st" \
	&& ok "the proxy runs unprivileged: uid $(awk '/^Uid:/ {print $2}' "$st"), no capabilities, no_new_privs" \
	|| not_ok "proxy privileges: $(grep -E '^(Uid|CapEff|NoNewPrivs):' "$st" | tr '\n' ' ')"
# The sockmap redirect is an opt-in of the standalone proxy (its kernel queue has no limit for
# a slow reader, docs/proxy-protocol.md): under portgated tunnels splice, no BPF object loaded.
if ! ls -l "/proc/$PP/fd" 2>/dev/null | grep -q 'bpf'; then
	ok "the proxy splices (no sockmap program loaded under portgated)"
else
	not_ok "a BPF object in the proxy: $(ls -l "/proc/$PP/fd" | grep bpf | head -2)"
fi
pg service create app --cgroup "$CG/app" >/dev/null
out=$(pg --json service port-add app 18181 0.0.0.0 "$TOKEN")
grep -q '"backend_port": *9000' <<<"$out" && ok "port-add 18181 with a token: backend 9000 (first of internal_http)" || not_ok "backend ($out)"
[ "$(proxy_field listeners)" = 1 ] && ok "status: the proxy has 1 listener" || not_ok "listeners: $(proxy_field listeners)"
in_ns ss -Hltn 'sport = :18181' | grep -q 18181 && ok "18181 is listening as soon as port-add answers" || not_ok "18181 not listening"
ip netns exec "$PEER" bash -c 'exec 3<>/dev/tcp/10.78.0.1/18181; sleep 1' &
sleep 0.4
n=$(in_ns ss -Htn state syn-recv '( sport = :18181 )' | wc -l)
wait $!
[ "$n" = 1 ] && ok "the listener defers accept (proxy_defer_accept = 1): a silent connection waits in the kernel" || not_ok "deferred accept: $n connection(s) in SYN-RECV"

in_ns "$BIN/portgate" --socket "$SOCK" exec app -- "$TOOLS/pg_echo" --port 9000 >"$T/echo.log" 2>&1 &
CLEANUP_PIDS+=($!)
echo_up() { in_ns ss -Hltn 'sport = :9000' | grep -q 9000; }
wait_for echo_up && ok "the echo backend listens on 127.0.0.1:9000 from the service's cgroup" || not_ok "backend down: $(cat "$T/echo.log")"

get() { # get OUTFILE [curl args...]: prints the status code from the peer namespace
	local o=$1; shift
	ip netns exec "$PEER" curl -s --max-time 3 -o "$o" -w '%{http_code}' "$@" http://10.78.0.1:18181/hello
}
code=$(get "$T/body" -H "X-Source-Token: $TOKEN")
[ "$code" = 200 ] && grep -q "GET /hello" "$T/body" && ok "valid token from the peer: 200 and the backend's echo" || not_ok "valid token: $code $(head -c 300 "$T/body" 2>/dev/null)"
grep -qi "x-source-token\|$TOKEN" "$T/body" 2>/dev/null && not_ok "the token reached the backend" || ok "the token is stripped before the backend"
code=$(get "$T/body")
[ "$code" = 401 ] && ok "no token: 401" || not_ok "no token: $code"
code=$(get "$T/body" -H "X-Source-Token: wrong")
[ "$code" = 403 ] && ok "wrong token: 403" || not_ok "wrong token: $code"

out=$(in_ns "$BIN/portgate" --socket "$SOCK" exec app -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/9000' 2>&1)
[[ "$out" == *"not permitted"* ]] && ok "the service's cgroup cannot connect to the backend itself: EPERM" || not_ok "local connect to the backend: $out"
m=$(in_ns curl -s "http://$METRICS/metrics")
grep -q '^portgate_proxy_decisions_total{port="18181",result="allowed"} 1$' <<<"$m" && grep -q '^portgate_proxy_decisions_total{port="18181",result="wrong_token"} 1$' <<<"$m" \
	&& ok "/metrics counts decisions per port and result" || not_ok "metrics: $(grep proxy <<<"$m")"

want=$("$TOOLS/pg_echo" --gen 16777216 | sha256sum | cut -c1-64)
got=$(ip netns exec "$PEER" curl -s --max-time 20 -H "X-Source-Token: $TOKEN" http://10.78.0.1:18181/bytes/16777216 | sha256sum | cut -c1-64)
[ "$got" = "$want" ] && ok "16 MiB through the proxy (splice) arrive byte for byte" || not_ok "16 MiB transfer: sha256 $got"

# The proxy dies: restarted, the listener handed over again.
old=$(proxy_field pid)
kill -9 "$old"
restarted() { p=$(proxy_field pid); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$old" ] && proxy_ready && [ "$(proxy_field listeners)" = 1 ]; }
wait_for restarted && ok "kill -9 of the proxy: restarted (pid $old -> $(proxy_field pid))" || not_ok "not restarted: $(pg --json status | tr -d '\n' | grep -o '"proxy":{[^}]*}')"
code=$(get "$T/body" -H "X-Source-Token: $TOKEN")
[ "$code" = 200 ] && ok "and it serves again: 200" || not_ok "after restart: $code"

# port-remove closes the listener, the daemon stays.
pg service port-remove app port-18181 >/dev/null
code=$(get "$T/body" -H "X-Source-Token: $TOKEN"); rc=$?
[ "$code" = 000 ] && ! in_ns ss -Hltn 'sport = :18181' | grep -q 18181 && ok "port-remove: the listener is closed (connection refused)" || not_ok "after port-remove: $code"
[ "$DAEMON_PID" = "$DPID" ] && kill -0 "$DPID" && ok "without restarting portgated" || not_ok "portgated restarted"
pg --json service port-check 9000 | tr -d ' \n' | grep -q '"allocation":null' && ok "the backend 9000 is released with it" || not_ok "backend still taken"

# Repeated failures: the source lands in the blocked set, the next connection is dropped.
out=$(pg --json service port-add app 18181 0.0.0.0 "$TOKEN")
grep -q '"backend_port"' <<<"$out" && ok "port-add again: served again" || not_ok "re-add ($out)"
blocked() { ip netns exec "$NS" nft list set inet portgate blocked4 2>/dev/null | grep -q 10.78.0.2; }
for i in $(seq 25); do
	get /dev/null -H "X-Source-Token: wrong-$i" >/dev/null
	blocked && break
done
blocked && ok "after $i wrong tokens 10.78.0.2 is in the blocked set" || not_ok "not blocked: $(ip netns exec "$NS" nft list set inet portgate blocked4 2>&1 | tr '\n' ' ')"
code=$(get /dev/null -H "X-Source-Token: $TOKEN")
[ "$code" = 000 ] && ok "the next connection from the peer fails, even with the token" || not_ok "blocked source got $code"
grep -q "blocked 10.78.0.2" "$T/daemon.log" && ok "the block is in the log" || not_ok "no block line in the log"

expect_exit 0 "portgate status: in sync, with the proxy" pg status
grep -q "^Proxy: *pid" "$T/last.out" && ok "status shows the proxy: $(grep '^Proxy:' "$T/last.out")" || not_ok "status: $(cat "$T/last.out")"
[ "$(registry_mismatches)" = 0 ] && ok "registry consistent" || not_ok "registry mismatches: $(registry_mismatches)"
old=$(proxy_field pid)
stop_daemon
! kill -0 "$old" 2>/dev/null && [ ! -d "$CG/portgate-proxy" ] && ok "portgated stopped: the proxy and its cgroup are gone" || not_ok "proxy left: $(cat "$CG/portgate-proxy/cgroup.procs" 2>&1)"

# --proxy-congestion: an algorithm the kernel lacks stops portgated at start, named.
if start_daemon --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS" --proxy "$PROXY_BIN" --proxy-congestion no_such_cc >/dev/null; then
	not_ok "portgated started with --proxy-congestion no_such_cc"; stop_daemon
else
	grep -q "proxy-congestion no_such_cc: not available" "$T/daemon.log" && ok "--proxy-congestion no_such_cc: portgated refuses to start and says why" \
		|| not_ok "no reason for the refused algorithm: $(tail -2 "$T/daemon.log")"
fi

# A new portgated: the proxy gets the protected ports from the registry; killed with it. With
# --proxy-congestion reno (every kernel has it; cubic where the default is reno, so the check
# tells), which the proxy's listener shows.
CCT=reno
[ "$(in_ns sysctl -n net.ipv4.tcp_congestion_control)" = reno ] && CCT=cubic
start_daemon --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS" --proxy "$PROXY_BIN" --log-level debug --proxy-congestion "$CCT" || not_ok "restart"
serving() { proxy_ready && [ "$(proxy_field listeners)" = 1 ]; }
code=000
wait_for serving && code=$(in_ns curl -s --max-time 3 -o /dev/null -w '%{http_code}' http://10.78.0.1:18181/)
[ "$code" = 401 ] && ok "after a restart of portgated the proxy serves 18181 again (401 without a token)" || not_ok "after restart: $code"
cc=$(in_ns ss -Hltni 'sport = :18181' | grep -oE '^\s+[a-z0-9_]+' | tr -d ' \t')
tr '\0' ' ' <"/proc/$(proxy_field pid)/cmdline" | grep -q -- "--congestion $CCT" && [ "$cc" = "$CCT" ] \
	&& ok "--proxy-congestion $CCT: the proxy runs with --congestion $CCT; its listener uses $cc" \
	|| not_ok "--proxy-congestion $CCT: listener uses '$cc', proxy: $(tr '\0' ' ' <"/proc/$(proxy_field pid)/cmdline")"
pg service delete app >/dev/null
listening() { in_ns ss -Hltn 'sport = :18181' | grep -q 18181; }
! listening && [ "$(proxy_field listeners)" = 0 ] && ok "service delete closes the listener" || not_ok "18181 still served after service delete"
[ "$(registry_mismatches)" = 0 ] && ok "registry consistent after the delete" || not_ok "registry mismatches: $(registry_mismatches)"
old=$(proxy_field pid)
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
gone() { ! kill -0 "$old" 2>/dev/null; }
wait_for gone && ok "kill -9 of portgated: the proxy goes with it" || not_ok "proxy $old outlived portgated"
grep -q "$TOKEN" "$T/daemon.log" && not_ok "the token is in the daemon log" || ok "the token never appears in the daemon log (debug level)"
grep -q "sha256:" "$T/daemon.log" && not_ok "a token hash is in the daemon log" || ok "nor its hash"
[ "$n_fail" -eq 0 ]
