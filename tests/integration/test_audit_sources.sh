#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The audit trail's sources end to end, each read back from the daemon's JSON-lines file: the BPF
# ring buffer (a denied bind, a burst of 100,000), NFLOG (a drop at a localhost-only port, a scan
# of 200 closed ports that ends in the blocked set), portgate-proxy's token decisions and the
# control plane (a port-add by a non-root owner). portgated runs inside a namespace this test
# made (nftables there too), BPF on a cgroup this test made; a peer namespace joined by veth is
# the outside (10.79.0.0/24, apart from the other tests').
. "$(dirname "$0")/lib.sh"

PROXY_BIN=${PROXY_BIN:-$BIN/portgate-proxy}
CGM=$(cgroup2_mount)
[ -n "$CGM" ] || { skip "no cgroup v2 mount"; exit 0; }
[ "$(id -u)" -eq 0 ] || { skip "needs root for cgroups and namespaces"; exit 0; }
for c in nft curl nsenter jq setpriv; do command -v $c >/dev/null || { skip "$c not installed"; exit 0; }; done
for t in pg_bind pg_bindstorm pg_listen pg_echo; do
	[ -x "$TOOLS/$t" ] || { not_ok "build/tools/$t is built"; exit 1; }
done
ID=$$-$RANDOM
CG=$CGM/portgate-atest-$ID
PIN=/sys/fs/bpf/portgate-atest-$ID
NS=pga-$ID-a
PEER=pga-$ID-b
AUDIT=$T/state/audit.jsonl
STORM=100000

extra_cleanup() { remove_test_objects "$PIN" "$CG" "$NS" "$PEER"; }

mkdir -p "$CG/app" || { skip "cannot create a cgroup under $CGM"; exit 0; }
ip netns add "$NS" && ip netns add "$PEER" || { skip "cannot create network namespaces"; exit 0; }
# The veth pair is made inside NS, its peer end moved straight into PEER: never in the host.
ip -n "$NS" link add va type veth peer name vb netns "$PEER" || { skip "cannot create veth"; exit 0; }
ip -n "$NS" addr add 10.79.0.1/24 dev va; ip -n "$NS" link set va up; ip -n "$NS" link set lo up
ip -n "$PEER" addr add 10.79.0.2/24 dev vb; ip -n "$PEER" link set vb up; ip -n "$PEER" link set lo up

# Into the namespace's network only: `ip netns exec` would also remount /sys, hiding the
# cgroup2 and bpf mounts that portgated and `portgate exec` need.
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }
DAEMON_WRAPPER="nsenter --net=/run/netns/$NS"
PROXY_ARGS=(--proxy off)
[ -x "$PROXY_BIN" ] && PROXY_ARGS=(--proxy "$PROXY_BIN")
# closed-by-default: the exposed range (14000-65535) is dropped unless allocated public, so a
# scan of it is logged; a 3 s window keeps the test short.
if ! start_daemon --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS" "${PROXY_ARGS[@]}" \
	--closed-by-default on --audit-window 3 --scan-block-seconds 60; then
	if grep -qiE "not permitted|not supported|EPERM|EOPNOTSUPP" "$T/daemon.log"; then
		skip "kernel lacks a feature: $(grep -iE 'error' "$T/daemon.log" | head -1)"; exit 0
	fi
	not_ok "portgated starts enforcing on a test cgroup and netns"; exit 1
fi
ok "portgated enforces on $CG, nftables in $NS, auditing to $AUDIT"
grep -q "audit:.*cannot\|audit: NFLOG" "$T/daemon.log" && not_ok "audit sources open: $(grep -m1 'audit:' "$T/daemon.log")"

wait_for() { for _ in $(seq "${TRIES:-100}"); do "$@" && return 0; sleep 0.05; done; return 1; }
# ev FILTER: the audit events (one JSON object per line) that match a jq select() filter.
ev() { [ -s "$AUDIT" ] && jq -c "select($1)" "$AUDIT" 2>/dev/null; }
has() { [ -n "$(ev "$1" | head -1)" ]; }
# sum FILTER: the events it matches, each counting for its "count".
sum() { [ -s "$AUDIT" ] && jq -s "map(select($1) | .count // 1) | add // 0" "$AUDIT"; }
show() { tail -n "${2:-5}" "$AUDIT" 2>/dev/null | sed 's/^/#   /'; }

TOKEN=$(pg --json service create app --cgroup "$CG/app" | jq -r .owner_token)
pg service port-add app 18080 127.0.0.1 --name web >/dev/null

# 1. BPF: a denied bind in the test cgroup, with pid, comm and reason, within a second.
out=$(pg exec app -- "$TOOLS/pg_bind" tcp 0.0.0.0 18080 2>&1)
[[ "$out" == "error EPERM"* ]] && ok "bind 0.0.0.0:18080 in the test cgroup: EPERM" || not_ok "bind: $out"
BIND='.action == "bind" and .result == "denied" and .dst_port == 18080'
if TRIES=20 wait_for has "$BIND"; then
	ok "the denied bind is in the audit file within a second"
	e=$(ev "$BIND" | head -1)
	jq -e '.pid > 0 and .comm == "pg_bind" and .reason == "localhost only" and .service == "app" and .port_name == "web" and .cgroup > 0 and .protocol == "tcp"' <<<"$e" >/dev/null &&
		ok "with pid, comm, cgroup, reason, service and port name" || not_ok "fields: $e"
else
	not_ok "no denied bind in the audit file"; show
fi
# The same event through the reading side (GET /v1/audit via the stream): what an operator runs.
cli=$(pg audit --json --action bind --result denied --port 18080 --since 1m)
jq -e -s 'length >= 1 and (.[0] | .pid > 0 and .comm == "pg_bind" and .reason == "localhost only")' <<<"$cli" >/dev/null &&
	ok "portgate audit --json --action bind --result denied shows it with pid, comm and reason" ||
	not_ok "portgate audit: $(head -c 300 <<<"$cli")"

# 2. Control plane: a port-add by a non-root owner names that owner; a refusal too.
chmod 666 "$SOCK"
asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/portgate" --socket "$SOCK" "$@"; }
expect_exit 0 "non-root port-add with the owner token" asnobody service port-add app 18090 127.0.0.1 "" "$TOKEN"
expect_exit 5 "non-root port-add without it is refused" asnobody service port-add app 18091
ADD='.action == "control" and .who == "owner:app" and .result == "allowed" and (.what | startswith("port-add app"))'
TRIES=40 wait_for has "$ADD" && ok "the owner's port-add is audited: who owner:app, $(ev "$ADD" | jq -r .what | head -1)" || { not_ok "owner port-add not audited"; show; }
has '.action == "control" and .who == "owner:app" and .dst_port == 18090 and .service == "app"' && ok "with service and port" || not_ok "port-add event lacks service/port"
REF='.action == "control" and .who == "uid:65534" and .result == "denied" and (.reason | startswith("401"))'
has "$REF" && ok "the refused one too: uid:65534, denied, $(ev "$REF" | jq -r .reason | head -1)" || { not_ok "refusal not audited"; show 3; }
has '.action == "control" and .who == "uid:0" and .result == "allowed" and .what == "service-create app cgroup '"$CG/app"'"' && ok "root's service create is audited as uid:0" || not_ok "service create not audited: $(ev '.action == "control"' | head -2)"
pg service port-add app 5432 127.0.0.1 --name db --allow-restricted >/dev/null
GRANT='.action == "control" and .dst_port == 5432 and .result == "allowed" and (.what | test("restricted-granted")) and (.reason | test("restricted port granted"))'
wait_for has "$GRANT" && ok "a restricted port granted says so: $(ev "$GRANT" | jq -r .what)" || not_ok "grant: $(ev '.action == "control" and .dst_port == 5432')"
grep -q "$TOKEN" "$AUDIT" && not_ok "the owner token is in the audit file" || ok "no token in the audit file"

# 3. NFLOG: a packet from the peer to a localhost-only port (listener on 0.0.0.0 in NS).
# nsenter itself, not the in_ns function: $! is then the listener (a function runs in a
# subshell, whose kill would leave the listener behind)
nsenter --net="/run/netns/$NS" "$TOOLS/pg_listen" tcp 0.0.0.0 18080 >"$T/listen.out" 2>&1 & CLEANUP_PIDS+=($!)
wait_for grep -q listening "$T/listen.out"
ip netns exec "$PEER" ping -c1 -W1 10.79.0.1 >/dev/null 2>&1 # neighbours resolved first
ip netns exec "$PEER" timeout 1 bash -c 'exec 3<>/dev/tcp/10.79.0.1/18080' 2>/dev/null &&
	not_ok "the localhost-only port answered the peer" || ok "the peer cannot reach the localhost-only port"
DROP='.action == "packet" and .result == "denied" and .reason == "localhost only" and .dst_port == 18080'
if wait_for has "$DROP"; then
	e=$(ev "$DROP" | head -1)
	jq -e '.src_ip == "10.79.0.2" and .dst_ip == "10.79.0.1" and .protocol == "tcp" and .src_port > 0 and .service == "app"' <<<"$e" >/dev/null &&
		ok "the drop is audited with its source: $(jq -r '"\(.src_ip):\(.src_port) -> \(.dst_ip):\(.dst_port) \(.reason)"' <<<"$e")" || not_ok "drop fields: $e"
else
	not_ok "no packet drop in the audit file"; show
fi

# 4. portgate-proxy: a 401 and a 200 from the peer.
if [ "${PROXY_ARGS[1]}" = off ]; then
	skip "token decisions (build/portgate-proxy is not built)"
elif ! pg service port-add app 18181 0.0.0.0 api_token --name api >/dev/null; then
	not_ok "token-protected port-add"
else
	TOK='.action == "control" and .dst_port == 18181 and (.what | test("token-protected"))'
	wait_for has "$TOK" && ok "a token-protected port-add says so in what" || not_ok "port-add 18181: $(ev '.dst_port == 18181 and .action == "control"' | head -1)"
	in_ns "$BIN/portgate" --socket "$SOCK" exec app -- "$TOOLS/pg_echo" --port 9000 >"$T/echo.log" 2>&1 &
	CLEANUP_PIDS+=($!)
	wait_for bash -c "nsenter --net=/run/netns/$NS ss -Hltn 'sport = :9000' | grep -q 9000"
	get() { ip netns exec "$PEER" curl -s --max-time 3 -o /dev/null -w '%{http_code}' "$@" http://10.79.0.1:18181/hello; }
	wait_for bash -c "nsenter --net=/run/netns/$NS ss -Hltn 'sport = :18181' | grep -q 18181"
	c1=$(get); c2=$(get -H "X-Source-Token: api_token")
	[ "$c1" = 401 ] && [ "$c2" = 200 ] && ok "through the proxy: 401 without the token, 200 with it" || not_ok "proxy answers: $c1 $c2"
	T401='.action == "token" and .result == "denied" and (.reason | startswith("401")) and .dst_port == 18181'
	T200='.action == "token" and .result == "allowed" and (.reason | startswith("200")) and .dst_port == 18181'
	wait_for has "$T200" && has "$T401" && ok "both decisions are audited (token denied 401, token allowed 200)" || { not_ok "token decisions not audited"; show; }
	has "$T200 and .src_ip == \"10.79.0.2\" and .service == \"app\" and .port_name == \"api\"" && ok "with source, service and port name" || not_ok "token event fields: $(ev "$T200" | head -1)"
	# sockops: the connections established to the backend's managed port, on both ends.
	EST='.action == "connect" and .result == "allowed" and .dst_port == 9000 and .dst_ip == "127.0.0.1"'
	if wait_for has "$EST and .comm == \"pg_echo\""; then
		ok "the backend's connection is audited (connect allowed, $(ev "$EST" | jq -r '.comm' | sort -u | tr '\n' ' ')ends)"
	else
		not_ok "no established connection to 9000"; show
	fi
	grep -q "api_token" "$AUDIT" && not_ok "the source token is in the audit file" || ok "no source token in the audit file"
fi

# 5. A scan of 200 closed ports from the peer: one scan event with 200 ports, source blocked.
# In a window of its own: the drop of step 3 would otherwise be one more port of it.
sleep 3.5
ip netns exec "$PEER" bash -c 'for p in $(seq 20000 20199); do echo x >/dev/udp/10.79.0.1/$p; done' 2>/dev/null
SCAN='.action == "scan" and .src_ip == "10.79.0.2"'
TRIES=200 wait_for has "$SCAN" # the window (3 s) closes first
n=$(ev "$SCAN" | wc -l)
ports=$(ev "$SCAN" | jq -s 'map(.ports) | add // 0')
[ "$n" = 1 ] && [ "$ports" = 200 ] && ok "one scan event, 200 ports: $(ev "$SCAN" | jq -r '"\(.result), \(.reason)"')" || { not_ok "scan events: $n, ports $ports"; show 3; }
blocked() { ip netns exec "$NS" nft list set inet portgate blocked4 2>/dev/null | grep -q 10.79.0.2; }
wait_for blocked && ok "10.79.0.2 is in the blocked set (--scan-block-seconds 60)" || not_ok "not blocked: $(ip netns exec "$NS" nft list set inet portgate blocked4 2>&1 | tr '\n' ' ')"
PROBES='.action == "packet" and .src_ip == "10.79.0.2" and .dst_port >= 20000 and .dst_port <= 20199'
probes_in() { [ "$(( $(sum "$PROBES") + $(sum '.action == "loss"') ))" -ge 200 ]; }
TRIES=200 wait_for probes_in # the blocked ones are aggregated in a window of their own
closed=$(sum "$PROBES")
lost=$(sum '.action == "loss"')
[ "$((closed + lost))" = 200 ] && ok "the 200 probes are counted as drops ($closed) or losses ($lost)" || not_ok "probes counted: $closed + $lost lost"

# 5b. Drift: the table flushed by hand is repaired, and the repair is an event.
ip netns exec "$NS" nft flush table inet portgate
REPAIR='.action == "repair" and .result == "repaired"'
TRIES=60 wait_for has "$REPAIR" && ok "a flushed table is repaired and audited: $(ev "$REPAIR" | jq -r .what | head -1)" || { not_ok "no repair event"; show 3; }

# 6. A burst of 100,000 denied binds: aggregated, the counts add up (losses included).
pg service port-add app 18099 127.0.0.1 --name storm >/dev/null
out=$(pg exec app -- "$TOOLS/pg_bindstorm" "$STORM" 18099 2>&1)
[ "$out" = "denied $STORM bound 0 other 0" ] && ok "$STORM binds refused in the test cgroup" || not_ok "bindstorm: $out"
STORMEV='.action == "bind" and .result == "denied" and .dst_port == 18099'
LOSS='.action == "loss" and (.reason | test("BPF"))'
lost0=0
# settled: the windows closed (3 s) and the loss counter read (1 s): the burst's events and the
# losses since lost0 stop moving and stand for at least the whole burst.
burst() { echo $(( $(sum "$STORMEV") + $(sum "$LOSS") - lost0 )); }
settled() {
	local a b
	a=$(burst); sleep 1; b=$(burst)
	[ "$a" = "$b" ] && [ "$b" -ge "$STORM" ]
}
TRIES=15 wait_for settled
binds=$(sum "$STORMEV")
aggregated=$(ev "$STORMEV and .first_time != null" | wc -l)
lost=$(sum "$LOSS")
[ "$((binds + lost))" = "$STORM" ] && ok "bind events count $binds + ring-buffer losses $lost = $STORM exactly" || { not_ok "counts: $binds binds + $lost lost != $STORM"; show 5; }
[ "$aggregated" -ge 1 ] && ok "aggregated: $aggregated events stand for most of them ($(ev "$STORMEV" | wc -l) lines in all)" || not_ok "no aggregated event"

# 7. The same burst while portgated is stopped (SIGSTOP): the ring buffer fills, the kernel
# counts what it could not write, and a loss event accounts for exactly the rest.
lost0=$(sum "$LOSS")
pg service port-add app 18098 127.0.0.1 --name storm2 >/dev/null
kill -STOP "$DAEMON_PID" # (so into the cgroup by hand: `portgate exec` asks portgated)
out=$(bash -c 'echo $$ >"$1/cgroup.procs" && exec "$2" "$3" 18098' _ "$CG/app" "$TOOLS/pg_bindstorm" "$STORM" 2>&1)
kill -CONT "$DAEMON_PID"
[ "$out" = "denied $STORM bound 0 other 0" ] && ok "$STORM binds refused while portgated is stopped" || not_ok "bindstorm: $out"
STORMEV='.action == "bind" and .result == "denied" and .dst_port == 18098'
TRIES=15 wait_for settled
binds=$(sum "$STORMEV")
lost=$(( $(sum "$LOSS") - lost0 ))
[ "$lost" -gt 0 ] && [ "$((binds + lost))" = "$STORM" ] && ok "bind events count $binds + a loss event for $lost = $STORM exactly" || { not_ok "counts: $binds binds + $lost lost != $STORM"; show 5; }

exit $((n_fail > 0))
