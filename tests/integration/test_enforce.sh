#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Kernel enforcement end to end: portgated with BPF on a cgroup this test made and nftables
# in a namespace this test made (never the host's own), two namespaces joined by veth.
. "$(dirname "$0")/lib.sh"

CGM=$(cgroup2_mount)
[ -n "$CGM" ] || { skip "no cgroup v2 mount"; exit 0; }
command -v nft >/dev/null || { skip "nft not installed"; exit 0; }
command -v bpftool >/dev/null || [ -x /usr/sbin/bpftool ] || { skip "bpftool not installed"; exit 0; }
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
ID=$$-$RANDOM
CG=$CGM/portgate-test-$ID
PIN=/sys/fs/bpf/portgate-test-$ID
NS=pgt-$ID-a
PEER=pgt-$ID-b

extra_cleanup() { remove_test_objects "$PIN" "$CG" "$NS" "$PEER"; }

mkdir -p "$CG/svc-a" "$CG/svc-b" || { skip "cannot create a cgroup under $CGM"; exit 0; }
ip netns add "$NS" && ip netns add "$PEER" || { skip "cannot create network namespaces"; exit 0; }
ip link add "pgv$$" type veth peer name "pgp$$" || { skip "cannot create veth"; exit 0; }
ip link set "pgv$$" netns "$NS"; ip link set "pgp$$" netns "$PEER"
ip -n "$NS" addr add 10.77.0.1/24 dev "pgv$$"; ip -n "$NS" link set "pgv$$" up; ip -n "$NS" link set lo up
ip -n "$PEER" addr add 10.77.0.2/24 dev "pgp$$"; ip -n "$PEER" link set "pgp$$" up; ip -n "$PEER" link set lo up

# A kernel (or a process) without BPF: one clear error at start, not a silent registry-only run.
if command -v setpriv >/dev/null; then
	setpriv --bounding-set -bpf,-sys_admin,-perfmon,-net_admin --inh-caps -all \
		"$BIN/portgated" --state-dir "$T/nobpf" --socket "$T/nobpf.sock" --host nobpf --metrics off \
		--cgroup "$CG" --bpf-pin-dir "$PIN-nobpf" --netns "$NS" >"$T/nobpf.log" 2>&1 &
	nb=$!
	for _ in $(seq 100); do kill -0 $nb 2>/dev/null || break; sleep 0.05; done
	if kill -0 $nb 2>/dev/null; then kill $nb; not_ok "without CAP_BPF portgated should refuse to start"
	else
		wait $nb; rc=$?
		line=$(grep -m1 "enforcement:" "$T/nobpf.log")
		[ $rc -ne 0 ] && [ -n "$line" ] && ok "without BPF: exit $rc, one clear line: ${line#*error: }" || not_ok "no clear error without BPF (rc $rc): $(cat "$T/nobpf.log" | head -3)"
	fi
	rm -rf "$PIN-nobpf"
fi

if ! start_daemon --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS"; then
	if grep -qiE "not permitted|not supported|EPERM|EOPNOTSUPP" "$T/daemon.log"; then
		skip "kernel lacks a feature: $(grep -iE 'error' "$T/daemon.log" | head -1)"; exit 0
	fi
	not_ok "portgated starts enforcing on a test cgroup and netns"; exit 1
fi
ok "portgated enforces on cgroup $CG, nftables in netns $NS"

pg service create a --cgroup "$CG/svc-a" >/dev/null
pg service create b --cgroup "$CG/svc-b" >/dev/null
pg service port-add a 18080 127.0.0.1 --name web >/dev/null
pg service port-add a 18081 0.0.0.0 --name api >/dev/null
pg service port-add b 18082 127.0.0.1 --name admin >/dev/null
pg service port-add a 18084 0.0.0.0 --name partner --allow 10.77.0.2/32 >/dev/null

inside() { local svc=$1; shift; pg exec "$svc" -- "$TOOLS/pg_bind" "$@"; }
want() { # want RESULT DESC svc proto addr port
	local res=$1 d=$2; shift 2
	out=$(inside "$@" 2>&1)
	if [[ "$out" == "$res"* ]]; then ok "$d"; else not_ok "$d (got: $out)"; fi
}
want "error EPERM" "bind 0.0.0.0 on a localhost-only port: EPERM" a tcp 0.0.0.0 18080
want "error EPERM" "bind :: on a localhost-only port: EPERM" a tcp :: 18080
want "error EPERM" "bind ::ffff:10.77.0.1 (v4-mapped) on a localhost-only port: EPERM" a tcp ::ffff:10.77.0.1 18080
want "bound 127.0.0.1" "bind 127.0.0.1 on a localhost-only port: ok" a tcp 127.0.0.1 18080
want "bound ::1" "bind ::1 on a localhost-only port: ok" a tcp ::1 18080
want "error EPERM" "a port owned by another service's cgroup: EPERM" a tcp 127.0.0.1 18082
want "bound 127.0.0.1" "the owner's cgroup may bind it" b tcp 127.0.0.1 18082
want "error EPERM" "restricted port 5432: EPERM" a tcp 127.0.0.1 5432
want "bound 0.0.0.0" "a public port binds on 0.0.0.0" a tcp 0.0.0.0 18081
out=$("$TOOLS/pg_bind" tcp 0.0.0.0 18080)
[[ "$out" == bound* ]] && ok "outside the test cgroup nothing changes (attached only to $CG)" || not_ok "host process affected: $out"
pg service port-add a 18083 127.0.0.1 --name late >/dev/null
want "error EPERM" "read-your-writes: enforced as soon as port-add returns" a tcp 0.0.0.0 18083

# The network side, from the peer namespace over veth.
ip netns exec "$NS" "$TOOLS/pg_listen" tcp 0.0.0.0 18080 >/dev/null & CLEANUP_PIDS+=($!)
ip netns exec "$NS" "$TOOLS/pg_listen" tcp 0.0.0.0 18081 >/dev/null & CLEANUP_PIDS+=($!)
ip netns exec "$NS" "$TOOLS/pg_listen" tcp 0.0.0.0 18084 >/dev/null & CLEANUP_PIDS+=($!)
sleep 0.3
reach() { ip netns exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
reach "$PEER" 10.77.0.1 18080 && not_ok "localhost-only port reachable from the peer" || ok "localhost-only port unreachable from the peer, listener on 0.0.0.0"
reach "$NS" 127.0.0.1 18080 && ok "the same port on 127.0.0.1 inside the host works" || not_ok "loopback access broken"
reach "$PEER" 10.77.0.1 18081 && ok "a public port is reachable from the peer" || not_ok "public port unreachable"
reach "$PEER" 10.77.0.1 18084 && ok "an allowlisted source reaches its port" || not_ok "allowlisted source refused"

pg service port-add a 18085 0.0.0.0 --name temp --allow 10.77.0.2/32 --for 2s >/dev/null
ip netns exec "$NS" "$TOOLS/pg_listen" tcp 0.0.0.0 18085 >/dev/null & CLEANUP_PIDS+=($!)
sleep 0.3
reach "$PEER" 10.77.0.1 18085 && ok "a temporary grant (--for 2s) admits its source" || not_ok "temporary grant refused"
sleep 2.5
reach "$PEER" 10.77.0.1 18085 && not_ok "the grant did not expire" || ok "after 2 s the grant has expired in the kernel"
expect_exit 0 "portgate status: registry and kernel agree" pg status

# Restart: the kernel state is identical.
snap() {
	ip netns exec "$NS" nft -j list table inet portgate | sed 's/"handle": [0-9]*//g; s/"packets": [0-9]*//g; s/"bytes": [0-9]*//g' >"$1"
	# The policy maps; counters, socket owners and the ring buffer change with traffic.
	for m in ports settings; do
		echo "$m $("$BPFTOOL" map dump pinned "$PIN/$m" 2>&1 | md5sum)" >>"$1"
	done
	ls "$PIN" >>"$1"
}
snap "$T/before"
stop_daemon
out=$(bash -c 'echo $$ >"$1/cgroup.procs" && exec "$2" tcp 0.0.0.0 18080' _ "$CG/svc-a" "$TOOLS/pg_bind")
[[ "$out" == "error EPERM"* ]] && ok "portgated stopped: the pinned programs still enforce" || not_ok "not enforced while stopped: $out"
start_daemon --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS" || not_ok "restart"
snap "$T/after"
cmp -s "$T/before" "$T/after" && ok "restart: nft table and BPF maps identical" || { not_ok "restart changed kernel state"; diff "$T/before" "$T/after" | head -20 | sed 's/^/#   /'; }

# Drift: flush the table by hand, detach a program: repaired within a second.
ip netns exec "$NS" nft flush table inet portgate
sleep 1.5
reach "$PEER" 10.77.0.1 18080 && not_ok "flushed table not repaired" || ok "flushed table repaired: localhost-only port dropped again"
grep -q "drift" "$T/daemon.log" && ok "the repair is in the log" || not_ok "no drift line in the log"
ip netns exec "$NS" nft delete table inet portgate
sleep 1.5
ip netns exec "$NS" nft list table inet portgate >/dev/null 2>&1 && ok "deleted table recreated" || not_ok "deleted table not recreated"
progs=$("$BPFTOOL" cgroup show "$CG" | awk 'NR > 1 { print $1 }')
first=$(head -1 <<<"$progs"); attach=$("$BPFTOOL" cgroup show "$CG" | awk 'NR == 2 { print $2 }')
"$BPFTOOL" cgroup detach "$CG" "$attach" id "$first" 2>/dev/null
sleep 1.5
n=$("$BPFTOOL" cgroup show "$CG" | awk 'NR > 1' | wc -l)
[ "$n" -eq "$(wc -l <<<"$progs")" ] && ok "detached program reattached ($n attached)" || not_ok "detached program not reattached ($n of $(wc -l <<<"$progs"))"
ip netns exec "$NS" nft delete element inet portgate localonly "{ tcp . 18080 }"
sleep 1.5
reach "$PEER" 10.77.0.1 18080 && not_ok "deleted element not repaired" || ok "a deleted set element is put back"
expect_exit 0 "status agrees again after repairs" pg status

# Modes: rewrite turns a wildcard bind of a localhost-only port into loopback.
stop_daemon
start_daemon --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS" --mode rewrite || not_ok "restart in rewrite mode"
want "bound 127.0.0.1 18080" "rewrite mode: 0.0.0.0 on a localhost-only port ends up on 127.0.0.1" a tcp 0.0.0.0 18080
want "error EPERM" "rewrite mode: another service's port is still refused" a tcp 127.0.0.1 18082
grep -q '"action":"control".*"what":"mode changed from enforce to rewrite"' "$T/state/audit.jsonl" &&
	ok "the mode change across the restart is in the audit trail" || not_ok "no mode-change event: $(grep -c control "$T/state/audit.jsonl" 2>&1)"
stop_daemon
start_daemon --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS" --mode strict || not_ok "restart in strict mode"
want "error EPERM" "strict mode: an unallocated port inside a managed range is refused" a tcp 127.0.0.1 9500
want "bound 127.0.0.1" "strict mode: an unmanaged port outside every range is not" a tcp 127.0.0.1 8999

# Closed by default (seed 004): unallocated ports inside the managed ranges are dropped.
stop_daemon
start_daemon --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS" --closed-by-default on || not_ok "restart closed-by-default"
ip netns exec "$NS" "$TOOLS/pg_listen" tcp 0.0.0.0 15000 >/dev/null & CLEANUP_PIDS+=($!)
ip netns exec "$NS" "$TOOLS/pg_listen" tcp 0.0.0.0 8999 >/dev/null & CLEANUP_PIDS+=($!)
sleep 0.3
reach "$PEER" 10.77.0.1 15000 && not_ok "closed by default: unallocated 15000 reachable" || ok "closed by default: an unallocated port in exposed is dropped"
reach "$PEER" 10.77.0.1 18081 && ok "closed by default: the allocated public port still answers" || not_ok "closed by default broke a public port"
reach "$PEER" 10.77.0.1 8999 && ok "closed by default: ports outside the managed ranges are left alone" || not_ok "closed by default dropped 8999"

# Uninstall: every object portgate made, nothing else.
ip netns exec "$NS" nft add table inet other
check "portgate uninstall" pg uninstall
ip netns exec "$NS" nft list table inet portgate >/dev/null 2>&1 && not_ok "table still there" || ok "uninstall removed table inet portgate"
ip netns exec "$NS" nft list table inet other >/dev/null 2>&1 && ok "table inet other untouched" || not_ok "table inet other removed"
[ -z "$(find "$PIN" -mindepth 1 2>/dev/null)" ] && ok "BPF pins removed" || not_ok "pins left: $(find "$PIN" | head -3)"
want "bound 0.0.0.0" "after uninstall nothing is enforced" a tcp 0.0.0.0 18080
[ "$n_fail" -eq 0 ]
