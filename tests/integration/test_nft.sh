#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# nftables enforcement end to end through the library (build/tools/pg_nft, no portgated), only
# in namespaces this test makes: A holds table inet portgate and the listeners, B is a peer on
# A's first link (10.9.0.2, fd09::2), C another on a second link (10.9.1.5, routed via A).
. "$(dirname "$0")/lib.sh"

PGNFT=$TOOLS/pg_nft
A=portgate-test-$$-1
B=portgate-test-$$-2
C=portgate-test-$$-3
MADE=()

extra_cleanup() {
	for p in "${CLEANUP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for ns in "${MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
	MADE=()
}
# lib.sh's cleanup runs extra_cleanup too when it knows the hook; twice is harmless.
trap 'extra_cleanup; cleanup' EXIT

[ "$(id -u)" -eq 0 ] || { skip "nftables: needs root for network namespaces"; exit 0; }
command -v ip >/dev/null || { skip "nftables: iproute2 not installed"; exit 0; }
command -v nft >/dev/null || { skip "nftables: nft not installed (the test inspects with it)"; exit 0; }
[ -x "$PGNFT" ] || { not_ok "build/tools/pg_nft is built"; exit 1; }

for ns in "$A" "$B" "$C"; do
	ip netns add "$ns" 2>/dev/null || { skip "nftables: cannot create network namespaces"; exit 0; }
	MADE+=("$ns")
	ip -n "$ns" link set lo up
done
# The veth pairs are created inside A (peers moved straight into B and C): never in the host.
if ! ip -n "$A" link add va type veth peer name vb netns "$B" ||
	! ip -n "$A" link add vc type veth peer name vd netns "$C"; then
	skip "nftables: cannot create veth pairs"; exit 0
fi
ip -n "$A" addr add 10.9.0.1/24 dev va
ip -n "$A" addr add 10.9.1.1/24 dev vc
ip -n "$B" addr add 10.9.0.2/24 dev vb
ip -n "$C" addr add 10.9.1.5/24 dev vd
V6=1
ip -n "$A" addr add fd09::1/64 dev va nodad 2>/dev/null && ip -n "$B" addr add fd09::2/64 dev vb nodad 2>/dev/null || V6=0
for l in "$A va" "$A vc" "$B vb" "$C vd"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$C" route add default via 10.9.1.1

# Probe: nftables in A (an uninstall of nothing is a no-op that needs nf_tables).
if ! "$PGNFT" --netns "$A" uninstall >"$T/probe.out" 2>&1; then
	skip "nftables: not available in this kernel: $(head -1 "$T/probe.out")"; exit 0
fi
ok "nftables answers in namespace $A"

# connect NS ADDR PORT: 0 connected, 124 timed out (dropped), other: refused or error.
connect() { ip netns exec "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
reach() {
	local d=$1; shift
	if connect "$@"; then ok "$d"; else not_ok "$d (exit $?)"; fi
}
dropped() {
	local d=$1 rc; shift
	connect "$@"; rc=$?
	if [ "$rc" -eq 124 ]; then ok "$d"; else not_ok "$d (exit $rc, want a timeout)"; fi
}
# jqtest DESCRIPTION FILTER: a jq -e filter over $T/table.json (skipped without jq).
jqtest() {
	if ! command -v jq >/dev/null; then skip "$1 (jq not installed)"; return; fi
	if jq -e "$2" "$T/table.json" >/dev/null 2>&1; then ok "$1"; else not_ok "$1"; fi
}

PORTS="8080 8081 8082 8083 8084 8085 14000 14001 15000"
for p in $PORTS; do
	ip netns exec "$A" "$TOOLS/pg_listen" tcp 0.0.0.0 "$p" >"$T/listen.$p" 2>&1 &
	CLEANUP_PIDS+=($!)
done
[ "$V6" = 1 ] && { ip netns exec "$A" "$TOOLS/pg_listen" tcp :: 8086 >"$T/listen.8086" 2>&1 & CLEANUP_PIDS+=($!); }
for p in $PORTS $([ "$V6" = 1 ] && echo 8086); do
	for _ in $(seq 50); do grep -q listening "$T/listen.$p" && break; sleep 0.05; done
done
sleep 0.5 # IPv6 addresses and neighbours settle
reach "without the table, B reaches a listener on 0.0.0.0:8080" "$B" 10.9.0.1 8080

STATE=(--localonly tcp/8080 --open tcp/8081 --allow tcp/8082=10.9.0.0/24 --allow tcp/8083=10.9.1.5/32
	--restrict tcp/8084 --restrict tcp/8085 --managed tcp/14000-14100 --open tcp/14001)
[ "$V6" = 1 ] && STATE+=(--allow tcp/8086=fd09::2/128)
check "resync: one batch builds table, sets, chains, rules, elements" \
	"$PGNFT" --netns "$A" --closed resync "${STATE[@]}"

# What the kernel holds, as nft sees it.
ip netns exec "$A" nft -j list table inet portgate >"$T/table.json" 2>&1
jqtest "nft -j: table inet portgate in $A" \
	'.nftables[] | select(.table) | .table | select(.family == "inet" and .name == "portgate")'
jqtest "nft -j: chain prerouting, filter hook prerouting priority -150, policy accept" \
	'.nftables[] | select(.chain.name == "prerouting") | .chain | select(.type == "filter" and .hook == "prerouting" and .prio == -150 and .policy == "accept")'
jqtest "nft -j: chain input, filter hook input priority 0, policy accept" \
	'.nftables[] | select(.chain.name == "input") | .chain | select(.hook == "input" and .prio == 0 and .policy == "accept")'
jqtest "nft -j: the 8 named sets" \
	'[.nftables[] | select(.set) | .set.name] | sort == ["allowed4","allowed6","blocked4","blocked6","localonly","managed","open","restricted_src"]'
jqtest "nft -j: allowed4 is ipv4_addr . inet_proto . inet_service, flags interval,timeout" \
	'.nftables[] | select(.set.name == "allowed4") | .set | select(.type == ["ipv4_addr","inet_proto","inet_service"] and .flags == ["interval","timeout"])'
jqtest "nft -j: blocked4 and blocked6 have timeouts" \
	'[.nftables[] | select(.set.name == "blocked4" or .set.name == "blocked6") | .set.flags == ["timeout"]] == [true,true]'
jqtest "nft -j: localonly holds tcp . 8080" \
	'.nftables[] | select(.set.name == "localonly") | .set.elem[] | select(.concat == ["tcp", 8080])'
jqtest "nft -j: allowed4 holds 10.9.0.0/24 . tcp . 8082" \
	'.nftables[] | select(.set.name == "allowed4") | .set.elem[] | select(.concat == [{"prefix":{"addr":"10.9.0.0","len":24}}, "tcp", 8082])'
jqtest "nft -j: managed holds tcp . 14000-14100" \
	'.nftables[] | select(.set.name == "managed") | .set.elem[] | select(.concat == ["tcp", {"range":[14000,14100]}])'
jqtest "nft -j: 18 rules, established/related accepted first in each chain" \
	'([.nftables[] | select(.rule)] | length == 18) and ([.nftables[] | select(.rule) | .rule | select(.expr[0].match.left.ct.key == "state")] | length == 2)'
jqtest "nft -j: 10 drop rules, each counted and logged to NFLOG group 4242" \
	'[.nftables[] | select(.rule) | .rule.expr | select(any(.[]; has("drop"))) | (any(.[]; has("counter")) and any(.[]; .log.group == 4242))] | (length == 10 and all)'
jqtest "nft -j: log prefixes name the reasons" \
	'[.nftables[] | select(.rule) | .rule.expr[] | select(.log) | .log.prefix] | unique == ["pg:blocked ","pg:closed ","pg:localonly ","pg:notallowed "]'
if nft list table inet portgate >/dev/null 2>&1; then
	not_ok "table inet portgate is not in the host's namespace"
else
	ok "table inet portgate is not in the host's namespace"
fi

# Every drop is also logged to NFLOG group 4242: a subscriber in A collects the prefixes.
ip netns exec "$A" "$PGNFT" nflog 4242 --seconds 120 >"$T/nflog.out" 2>&1 &
NFLOG_PID=$!
CLEANUP_PIDS+=($NFLOG_PID)
for _ in $(seq 50); do grep -q listening "$T/nflog.out" && break; sleep 0.05; done

# Local-only: dropped from outside even with the listener on 0.0.0.0; lo still works.
dropped "localonly: B cannot reach 0.0.0.0:8080" "$B" 10.9.0.1 8080
reach "localonly: A reaches 127.0.0.1:8080" "$A" 127.0.0.1 8080
reach "localonly: A reaches its own 10.9.0.1:8080 (over lo)" "$A" 10.9.0.1 8080
reach "public: B reaches 8081" "$B" 10.9.0.1 8081
reach "allowlist: B (10.9.0.2, in 10.9.0.0/24) reaches 8082" "$B" 10.9.0.1 8082
dropped "allowlist: C (10.9.1.5) cannot reach 8082" "$C" 10.9.0.1 8082
reach "allowlist: C (10.9.1.5/32) reaches 8083" "$C" 10.9.0.1 8083
dropped "allowlist: B cannot reach 8083" "$B" 10.9.0.1 8083
dropped "allowlist: a port with an empty allowlist (8085) is closed to B" "$B" 10.9.0.1 8085
if [ "$V6" = 1 ]; then
	reach "allowlist6: B over IPv6 (fd09::2/128) reaches 8086" "$B" fd09::1 8086
	dropped "allowlist6: B over IPv4 cannot reach 8086" "$B" 10.9.0.1 8086
else
	skip "allowlist6: no IPv6 in the test namespaces"
fi
dropped "closed-by-default: B cannot reach unallocated 14000 in the managed range" "$B" 10.9.0.1 14000
reach "closed-by-default: B reaches 14001, open inside the range" "$B" 10.9.0.1 14001
reach "closed-by-default: B reaches 15000, outside the managed ranges" "$B" 10.9.0.1 15000

# A temporary grant: one batch, reachable, then not after its 2 s.
check "grant 10.9.1.5 on 8084 for 2 s (one batch)" "$PGNFT" --netns "$A" batch +allow:tcp/8084=10.9.1.5/32@2000
reach "grant: C reaches 8084" "$C" 10.9.0.1 8084
dropped "grant: B still cannot reach 8084" "$B" 10.9.0.1 8084
sleep 2.5
dropped "grant: after 2.5 s C cannot reach 8084" "$C" 10.9.0.1 8084

# A blocked source, for 2 s.
check "block 10.9.0.2 for 2 s" "$PGNFT" --netns "$A" block 10.9.0.2 2000
dropped "blocked: B cannot reach the public 8081" "$B" 10.9.0.1 8081
reach "blocked: C still reaches 8081" "$C" 10.9.0.1 8081
sleep 2.5
reach "blocked: after 2.5 s B reaches 8081 again" "$B" 10.9.0.1 8081

# Counters: every reason dropped something above.
"$PGNFT" --netns "$A" --closed check "${STATE[@]}" >"$T/check.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -q "status: healthy" "$T/check.out" && ok "check: healthy, set contents as expected" ||
	{ not_ok "check: healthy (exit $rc)"; sed 's/^/#   /' "$T/check.out"; }
for why in blocked localonly notallowed closed; do
	n=$(sed -n "s/^drops $why: \([0-9]*\) packets.*/\1/p" "$T/check.out")
	[ "${n:-0}" -gt 0 ] && ok "drop counter $why: $n packets" || not_ok "drop counter $why increased (${n:-none})"
	grep -q "nflog prefix=\"pg:$why \"" "$T/nflog.out" && ok "NFLOG group 4242 got a pg:$why message" ||
		not_ok "NFLOG group 4242 got a pg:$why message"
done
kill "$NFLOG_PID" 2>/dev/null

# A failing batch changes nothing: 10.9.0.7/32 lies inside 10.9.0.0/24 on the same port.
expect_exit 1 "a batch with an overlapping grant fails" \
	"$PGNFT" --netns "$A" batch +open:tcp/9999 +allow:tcp/8082=10.9.0.7/32
if ip netns exec "$A" nft list set inet portgate open | grep -q 9999; then
	not_ok "the failed batch left nothing behind (tcp/9999 is in open)"
else
	ok "the failed batch left nothing behind"
fi

# Drift, seen by the monitor and by check; resync repairs.
"$PGNFT" --netns "$A" monitor >"$T/mon.out" 2>&1 &
CLEANUP_PIDS+=($!)
for _ in $(seq 50); do grep -q monitoring "$T/mon.out" && break; sleep 0.05; done
ip netns exec "$A" nft delete element inet portgate open '{ tcp . 8081 }'
"$PGNFT" --netns "$A" --closed check "${STATE[@]}" >"$T/check.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "set open" "$T/check.out" && ok "a deleted element: check reports set open damaged" ||
	{ not_ok "a deleted element is reported (exit $rc)"; sed 's/^/#   /' "$T/check.out"; }
ip netns exec "$A" nft flush table inet portgate
expect_exit 1 "a flushed table: check reports damage" "$PGNFT" --netns "$A" --closed check
grep -q "status: damaged: chain" "$T/last.out" && ok "check names the emptied chain" || not_ok "check names the emptied chain: $(tail -1 "$T/last.out")"
reach "a flushed table no longer enforces (B reaches 8080)" "$B" 10.9.0.1 8080
check "resync repairs" "$PGNFT" --netns "$A" --closed resync "${STATE[@]}"
expect_exit 0 "after resync: check healthy" "$PGNFT" --netns "$A" --closed check "${STATE[@]}"
dropped "after resync: localonly enforced again" "$B" 10.9.0.1 8080
ip netns exec "$A" nft delete table inet portgate
expect_exit 1 "a deleted table: check reports it missing" "$PGNFT" --netns "$A" --closed check
grep -q "table inet portgate missing" "$T/last.out" && ok "check says the table is missing" || not_ok "check says the table is missing"
sleep 0.2
for ev in "delsetelem portgate open" "delrule portgate prerouting" "deltable portgate"; do
	grep -q "^event $ev" "$T/mon.out" && ok "monitor saw: $ev" || not_ok "monitor saw: $ev"
done
check "resync repairs a deleted table" "$PGNFT" --netns "$A" --closed resync "${STATE[@]}"
expect_exit 0 "after resync: check healthy" "$PGNFT" --netns "$A" --closed check "${STATE[@]}"
out=$("$PGNFT" --netns "$A" monitor --own-resync --seconds 0 2>&1)
grep -q "own resync touched: 0" <<<"$out" && ok "the monitor ignores the context's own changes" || not_ok "own changes ignored: $out"

# Uninstall removes our table and nothing else.
ip netns exec "$A" nft add table inet other
ip netns exec "$A" nft add chain inet other c '{ type filter hook input priority 10; policy accept; }'
check "uninstall" "$PGNFT" --netns "$A" uninstall
ip netns exec "$A" nft list table inet portgate >/dev/null 2>&1 && not_ok "uninstall removed inet portgate" || ok "uninstall removed inet portgate"
check "uninstall left table inet other alone" ip netns exec "$A" nft list chain inet other c
check "uninstall of an absent table is a no-op" "$PGNFT" --netns "$A" uninstall
reach "after uninstall nothing is enforced (B reaches 8080)" "$B" 10.9.0.1 8080

expect_exit 2 "a missing namespace is a clear error" "$PGNFT" --netns "portgate-test-$$-none" check
grep -q "netns portgate-test-$$-none" "$T/last.out" && ok "the error names the namespace" || not_ok "the error names the namespace: $(cat "$T/last.out")"

[ "$n_fail" -eq 0 ]
