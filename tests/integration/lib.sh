# SPDX-License-Identifier: MIT
# Shared by the integration tests: a private portgated (own state dir, socket, Redis), TAP-ish
# "ok"/"not ok"/"skip" lines, and cleanup on every path.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
BIN=$ROOT/$BUILD
TOOLS=$BIN/tools
T=$(mktemp -d /tmp/portgate-test.XXXXXX)
chmod 755 "$T"
SOCK=$T/pg.sock
: >"$T/portgate.conf"
HOSTNAME_PG=test-$$-$RANDOM
DAEMON_PID=
CLEANUP_PIDS=()
n_fail=0

cleanup() {
	for p in "${CLEANUP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	stop_daemon
	# A test's own kernel objects (cgroups, namespaces, pins) go in its extra_cleanup.
	declare -F extra_cleanup >/dev/null && extra_cleanup
	# A sanitizer build reports into the daemon's log: any report is a failure.
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/daemon.log" 2>/dev/null; then
		not_ok "portgated ran clean under the sanitizers"
		grep -E -A12 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/daemon.log" | head -40 | sed 's/^/#   /'
	fi
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; n_fail=$((n_fail + 1)); }
skip() { echo "skip - $*"; }
note() { echo "# $*"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	local d=$1; shift
	if "$@" >"$T/last.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$T/last.out" | head -20; fi
}

# expect_exit CODE DESCRIPTION COMMAND...: ok when the command exits with CODE.
expect_exit() {
	local want=$1 d=$2 rc; shift 2
	"$@" >"$T/last.out" 2>&1; rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$d"; else not_ok "$d (exit $rc, want $want)"; sed 's/^/#   /' "$T/last.out" | head -20; fi
}

pg() { "$BIN/portgate" --socket "$SOCK" "$@"; }
api() { curl -s --unix-socket "$SOCK" "$@"; }

start_daemon() {
	# Safety: enforcement only ever on a cgroup and netns the test made. A test that does not
	# name them (--cgroup, --netns) runs registry only.
	local safe=("--enforce" "off")
	if [[ " $* " == *" --cgroup "* && " $* " == *" --netns "* ]]; then safe=(); fi
	# Likewise the token proxy (its listeners would open on the host's own addresses): only
	# when the test asks for it with --proxy.
	if [[ " $* " != *" --proxy "* ]]; then safe+=("--proxy" "off"); fi
	PORTGATE_CONFIG=$T/portgate.conf ${DAEMON_WRAPPER:-} "$BIN/portgated" --state-dir "$T/state" --socket "$SOCK" \
		--host "$HOSTNAME_PG" --metrics "${METRICS:-off}" "${safe[@]}" "$@" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 1 ${START_TRIES:-200}); do
		if api http://localhost/v1/health 2>/dev/null | grep -q '"registry": *true'; then
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# portgated did not become ready:"; sed 's/^/#   /' "$T/daemon.log" | tail -20
	return 1
}

stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

redis_sock() { echo "$T/state/redis/redis.sock"; }
rcli() { redis-cli -s "$(redis_sock)" "$@"; }

# Registry invariant: every record has its bit and index entry and is listed by its
# service; every set bit has a record or is restricted. Prints the number of mismatches.
registry_mismatches() {
	rcli EVAL "
local P = 'pg:{' .. ARGV[1] .. '}:'
local bad = 0
for _, pp in ipairs(redis.call('SMEMBERS', P .. 'index')) do
	local proto, port = string.match(pp, '^(%a+)/(%d+)$')
	local rec = redis.call('HMGET', P .. 'port:' .. proto .. ':' .. port, 'service_name', 'port_name')
	if not rec[1] or redis.call('GETBIT', P .. 'used:' .. proto, port) ~= 1 or
	   redis.call('HGET', P .. 'service:' .. rec[1] .. ':ports', rec[2]) ~= pp then bad = bad + 1 end
end
for _, proto in ipairs({'tcp', 'udp'}) do
	local pos = redis.call('BITPOS', P .. 'used:' .. proto, 1)
	while pos >= 0 do
		if redis.call('EXISTS', P .. 'port:' .. proto .. ':' .. pos) == 0 and
		   redis.call('SISMEMBER', P .. 'restricted', pos) == 0 then bad = bad + 1 end
		if pos == 65535 then break end
		pos = redis.call('BITPOS', P .. 'used:' .. proto, 1, pos + 1, 65535, 'BIT')
	end
end
return bad" 0 "$HOSTNAME_PG"
}

# The cgroup v2 mount point (never assumed).
cgroup2_mount() { awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts; }

# free_port: a free TCP port on loopback, different on each call, below the ephemeral range
# (where a test's own client sockets, in TIME_WAIT by the thousand, would collide with it).
USED_PORTS=" "
free_port() {
	local p lo
	lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range)
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		[[ "$USED_PORTS" == *" $p "* ]] && continue
		ss -Htan "sport = :$p" 2>/dev/null | grep -q . && continue
		USED_PORTS+="$p "
		echo "$p"
		return
	done
}

# wait_port PORT [TRIES]: until something accepts on it, 50 ms apart (100 tries by default).
wait_port() {
	for _ in $(seq 1 "${2:-100}"); do
		(: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# remove_test_objects PIN CGROUP NETNS...: what a kernel test made, on every exit path: its pin
# dir, its cgroup tree (deepest first; processes still inside moved to the mount's root first)
# and its namespaces.
remove_test_objects() {
	local pin=$1 cg=$2 root c p ns
	shift 2
	[ -n "$pin" ] && [ -d "$pin" ] && rm -rf "$pin"
	root=$(cgroup2_mount)
	if [ -n "$cg" ] && [ -d "$cg" ]; then
		# Whatever still runs in the test's cgroups was started by the test (a backend under
		# `portgate exec` outlives the shell job that launched it): killed, not left behind
		# holding a deleted namespace.
		while read -r c; do
			while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$c/cgroup.procs"
		done < <(find "$cg" -depth -type d)
		sleep 0.1
		while read -r c; do
			while read -r p; do echo "$p" >"$root/cgroup.procs" 2>/dev/null; done <"$c/cgroup.procs"
			rmdir "$c" 2>/dev/null
		done < <(find "$cg" -depth -type d)
	fi
	for ns in "$@"; do ip netns del "$ns" 2>/dev/null; done
	return 0
}
