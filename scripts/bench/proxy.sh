#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# portgate-proxy next to its peers, side by side in one run, against one backend (nginx, one
# worker, a 100-byte file and a 256 MiB file): direct; portgate-proxy (--threads 1: as shipped,
# i.e. recv/send for small reads and splice for large ones; with --sockmap, every tunnel on the
# sockmap redirect once its head is forwarded (faster, no flow control: an opt-in); with
# --sockmap-after 1048576, bulk tunnels moved mid-stream; with --congestion cubic, its own
# sockets on cubic whatever the host runs);
# HAProxy http mode with an ACL on X-Source-Token; HAProxy tcp mode (plain, and forced splice
# for the bulk transfer); nginx with an `if` on the header; portgate-proxy --no-backend-reuse
# (new-connection workload without the idle backend pool); portgate-proxy --defer-accept 0 and
# the two gating peers with their deferred-accept options (nginx `deferred`, HAProxy
# `defer-accept`: what portgate-proxy does by default). One worker/thread each, loopback
# only. Workloads: wrk keep-alive, wrk with a new connection per request, one 256 MiB curl
# transfer (median of 5). Installs wrk/haproxy/nginx from Debian when missing. Markdown on stdout.
# Each wrk workload runs in ROUNDS rounds, every path once per round in a rotated order (so no
# path always follows the same one, and drift over the run spreads over all); the table shows
# each path's median round, the notes every round.
# Env: BUILD (build), PORTGATE_PROXY (the binary), BENCH_PROXY_SECONDS (5), BENCH_PROXY_ROUNDS (3),
# BENCH_PROXY_CONNS (32), BENCH_PROXY_PATHS (all; or some of: direct pg pc pn pk pr pd hh hd ht hs ng nd),
# BENCH_PROXY_KEEP=1 (keep the temp dir with the configs and logs), BENCH_PROXY_CC=ALG (the
# whole run inside a network namespace whose TCP congestion control is ALG; needs root).
# About 6 minutes.
set -uo pipefail
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PROXY=${PORTGATE_PROXY:-$BUILD/portgate-proxy}
DUR=${BENCH_PROXY_SECONDS:-5}
ROUNDS=${BENCH_PROXY_ROUNDS:-3}
CONNS=${BENCH_PROXY_CONNS:-32}
TOKEN=portgate-bench-token
BIG=$((256 << 20))
T=$(mktemp -d /tmp/portgate-proxy-bench.XXXXXX)
chmod 755 "$T" # nginx workers run as nobody and serve from here
PIDS=()

# Every process started here runs in its own process group (setsid): TERM the groups, give
# them 3 s, then KILL what is left.
cleanup() {
	local p i alive
	[ -n "${CUR:-}" ] && { kill -TERM -- "-$CUR" 2>/dev/null || kill -TERM "$CUR" 2>/dev/null; }
	for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done
	for i in $(seq 30); do
		alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "${BENCH_PROXY_KEEP:-}" ]; then echo "configs and logs kept in $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

note() { NOTES+=("$*"); }
NOTES=()

# --- peers from Debian -------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
		echo "proxy bench skipped: ${need[*]} missing and cannot apt-get install (need root on Debian)"
		exit 0
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt_install() { timeout 600 apt-get install -y -q -o Dpkg::Options::=--force-confold "$@" >>"$T/apt.log" 2>&1; }
	if ! apt_install "${need[@]}"; then
		# nginx-light is a transitional package that may be gone; a stale list is the other usual cause
		need=("${need[@]/nginx-light/nginx}")
		apt_install "${need[@]}" || { timeout 300 apt-get update -q >>"$T/apt.log" 2>&1; apt_install "${need[@]}"; } || {
			echo "proxy bench skipped: apt-get install ${need[*]} failed:"
			tail -5 "$T/apt.log" | sed 's/^/    /'
			exit 0
		}
	fi
	# Debian enables and starts haproxy.service / nginx.service (nginx on :80) on install: we
	# only want the binaries. Stop and disable them, and end anything they left running.
	for s in haproxy nginx; do
		if command -v systemctl >/dev/null; then
			systemctl stop "$s.service" >/dev/null 2>&1
			systemctl disable "$s.service" >/dev/null 2>&1
		fi
		for pf in "/run/$s.pid" "/var/run/$s.pid"; do
			[ -r "$pf" ] && p=$(head -1 "$pf") && [ -n "$p" ] && kill "$p" 2>/dev/null
		done
	done
	sleep 0.2
fi
for s in haproxy nginx; do
	# a system instance listening (not ours, we have not started anything yet)
	if ss -Hltnp 2>/dev/null | grep -q "\"$s\""; then
		note "a system $s is running and listening ($(ss -Hltnp | grep "\"$s\"" | awk '{print $4}' | tr '\n' ' ')); it shares the CPUs with this run"
	fi
done
command -v wrk >/dev/null && command -v haproxy >/dev/null && command -v nginx >/dev/null ||
	{ echo "proxy bench skipped: wrk, haproxy or nginx still missing"; exit 0; }

# --- TCP congestion control -------------------------------------------------------------
# The sender's congestion control rules loopback bulk: BBR (this host's choice) paces every
# sender, and a proxy puts a second paced sender into the chain; cubic (the kernel's and
# Debian's default) does not pace. BENCH_PROXY_CC=ALG runs the whole comparison (backend,
# every path, wrk and curl) inside a network namespace made for it, whose TCP uses ALG; the
# namespace starts from the host's TCP settings (copied below), so only the algorithm differs.
if [ -n "${BENCH_PROXY_CC:-}" ] && [ -z "${BENCH_PROXY_NETNS:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "proxy bench (BENCH_PROXY_CC=$BENCH_PROXY_CC) skipped: a network namespace needs root"
		exit 0
	fi
	NS=portgate-bench-$$
	ip netns add "$NS" || { echo "proxy bench skipped: ip netns add failed"; exit 0; }
	trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$T"' EXIT
	ip -n "$NS" link set lo up
	for s in net.ipv4.tcp_rmem net.ipv4.tcp_wmem; do
		ip netns exec "$NS" sysctl -qw "$s=$(sysctl -n "$s")"
	done
	if ! ip netns exec "$NS" sysctl -qw "net.ipv4.tcp_congestion_control=$BENCH_PROXY_CC"; then
		echo "proxy bench skipped: congestion control $BENCH_PROXY_CC is not available (have: $(sysctl -n net.ipv4.tcp_available_congestion_control))"
		exit 0
	fi
	ip netns exec "$NS" env BENCH_PROXY_NETNS="$NS" BENCH_PROXY_HOST_CC="$(sysctl -n net.ipv4.tcp_congestion_control)" \
		bash "$SELF" "$@"
	exit $?
fi
CC=$(sysctl -n net.ipv4.tcp_congestion_control)
CC_WHERE=${BENCH_PROXY_NETNS:+"in a network namespace of its own; the host's is ${BENCH_PROXY_HOST_CC:-unknown}"}
CC_WHERE=${CC_WHERE:-"the host's"}

# --- ports, processes --------------------------------------------------------------------
USED=" "
port() { # port VAR: a free loopback TCP port below the ephemeral range, distinct from the others
	local p
	for _ in $(seq 500); do
		p=$((20000 + RANDOM % 12000))
		[[ $USED == *" $p "* ]] && continue
		ss -Htan "( sport = :$p )" 2>/dev/null | grep -q . && continue
		USED+="$p "
		printf -v "$1" %s "$p"
		return 0
	done
	echo "proxy bench: no free port" >&2
	exit 0
}
start() { # start NAME CMD...: in the background, in its own process group, log in $T/NAME.log
	local name=$1
	shift
	setsid "$@" >"$T/$name.log" 2>&1 </dev/null &
	PIDS+=($!)
	LAST=$!
}
run() { # run CMD...: in the foreground, but a signal to this script ends it at once (see cleanup)
	"$@" 2>&1 &
	CUR=$!
	wait "$CUR"
	local rc=$?
	CUR=
	return $rc
}
listening() { # listening PORT PID: wait up to 5 s for PORT to listen while PID lives
	for _ in $(seq 100); do
		ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q . && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
port B
port PG
port PN
port PK
port PR
port HH
port HT
port HS
port NG
port PD
port PC
port HD
port ND

# --- backend: nginx, one worker, a 100-byte file and a 256 MiB file ----------------------
mkdir -p "$T/www"
head -c 99 /dev/zero | tr '\0' x >"$T/www/small" && echo >>"$T/www/small"
head -c "$BIG" /dev/zero >"$T/www/big"
chmod 755 "$T/www" && chmod 644 "$T/www/small" "$T/www/big"
nginx_conf() { # nginx_conf NAME SERVER-BLOCKS...: a one-worker nginx, everything under $T
	mkdir -p "$T/$1-tmp"
	cat <<EOT
worker_processes 1;
daemon off;
pid $T/$1.pid;
error_log $T/$1.err warn;
events { worker_connections 8192; }
http {
	access_log off;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_requests 10000000;
	keepalive_timeout 75s;
	client_body_temp_path $T/$1-tmp/body;
	proxy_temp_path $T/$1-tmp/proxy;
	fastcgi_temp_path $T/$1-tmp/fastcgi;
	uwsgi_temp_path $T/$1-tmp/uwsgi;
	scgi_temp_path $T/$1-tmp/scgi;
$2
}
EOT
}
nginx_conf backend "	server { listen 127.0.0.1:$B; root $T/www; location / { } }" >"$T/backend.conf"
start backend nginx -p "$T/" -e "$T/backend.err" -c "$T/backend.conf"
listening "$B" "$LAST" || { echo "proxy bench skipped: the nginx backend did not start:"; cat "$T/backend.log" "$T/backend.err" 2>/dev/null | sort -u | sed 's/^/    /'; exit 0; }
BACKEND_MASTER=$LAST

# --- peers -------------------------------------------------------------------------------
declare -A PORT LABEL SHORT BROKEN
KEYS=(direct pg pc pn pk pr pd hh hd ht hs ng nd)
# --congestion cubic is the default path again where cubic already is the default
[ "$CC" = cubic ] && KEYS=(direct pg pn pk pr pd hh hd ht hs ng nd)
# BENCH_PROXY_PATHS: only these paths, e.g. "direct pg pk" for a focused rerun (all start anyway).
[ -n "${BENCH_PROXY_PATHS:-}" ] && read -ra KEYS <<<"$BENCH_PROXY_PATHS"
PORT=([direct]=$B [pg]=$PG [pc]=$PC [pn]=$PN [pk]=$PK [pr]=$PR [pd]=$PD [hh]=$HH [hd]=$HD [ht]=$HT [hs]=$HS [ng]=$NG [nd]=$ND)
LABEL=([direct]="direct (wrk → nginx backend)"
	[pg]="portgate-proxy --threads 1, token check (default: recv/send, then splice)"
	[pc]="portgate-proxy --threads 1 --congestion cubic (its own sockets cubic, whatever the host's)"
	[pn]="portgate-proxy --threads 1 --sockmap-after 1048576 (redirect after 1 MiB, mid-stream)"
	[pk]="portgate-proxy --threads 1 --sockmap (the sockmap redirect from the first byte; no flow control)"
	[pr]="portgate-proxy --threads 1 --no-backend-reuse (a backend connection per client connection)"
	[hh]="HAProxy http mode, ACL on X-Source-Token, nbthread 1"
	[ht]="HAProxy tcp mode, nbthread 1 (no token check)"
	[hs]="HAProxy tcp mode, forced splice (no token check)"
	[pd]="portgate-proxy --threads 1 --defer-accept 0 (every connection accepted at once)"
	[hd]="HAProxy http mode, ACL, nbthread 1, \`bind ... defer-accept\`"
	[ng]="nginx \`if\` on \$http_x_source_token, 1 worker"
	[nd]="nginx \`if\`, 1 worker, \`listen ... deferred\`")
SHORT=([direct]=direct [pg]=portgate-proxy [pc]="portgate-proxy --congestion cubic" [pn]="portgate-proxy --sockmap-after 1 MiB" [pk]="portgate-proxy --sockmap" [pr]="portgate-proxy --no-backend-reuse" [hh]="HAProxy http" [ht]="HAProxy tcp" [hs]="HAProxy tcp splice" [ng]=nginx [pd]="portgate-proxy --defer-accept 0" [hd]="HAProxy http defer-accept" [nd]="nginx deferred")
GATED=(pg pc pn pk pr pd hh hd ng nd)

# portgate-proxy, three ways
hash=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
pg_start() { # pg_start KEY ARGS...
	local k=$1
	shift
	if [ ! -x "$PROXY" ]; then
		BROKEN[$k]="portgate-proxy: not built"
		return
	fi
	start "portgate-proxy-$k" "$PROXY" --route "127.0.0.1:${PORT[$k]}=$B" --token-hash "sha256:$hash" --threads 1 --events /dev/null "$@"
	listening "${PORT[$k]}" "$LAST" || BROKEN[$k]="portgate-proxy: did not start ($(tail -1 "$T/portgate-proxy-$k.log" 2>/dev/null))"
	PGPID[$k]=$LAST
}
declare -A PGPID
pg_start pg
pg_start pc --congestion cubic
pg_start pn --sockmap-after 1048576
pg_start pk --sockmap
pg_start pr --no-backend-reuse
pg_start pd --defer-accept 0

# HAProxy: three listeners in one process, one thread; only one is loaded at a time
cat >"$T/haproxy.cfg" <<EOT
global
	nbthread 1
	maxconn 4096
defaults
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	maxconn 4096
listen http_acl
	mode http
	bind 127.0.0.1:$HH
	http-request deny if !{ req.hdr(X-Source-Token) -m str $TOKEN }
	http-request del-header X-Source-Token
	server backend 127.0.0.1:$B
listen http_acl_defer
	mode http
	bind 127.0.0.1:$HD defer-accept
	http-request deny if !{ req.hdr(X-Source-Token) -m str $TOKEN }
	http-request del-header X-Source-Token
	server backend 127.0.0.1:$B
listen tcp
	mode tcp
	bind 127.0.0.1:$HT
	server backend 127.0.0.1:$B
listen tcp_splice
	mode tcp
	bind 127.0.0.1:$HS
	option splice-request
	option splice-response
	server backend 127.0.0.1:$B
EOT
if ! haproxy -c -q -f "$T/haproxy.cfg" >"$T/haproxy-check.log" 2>&1; then
	for k in hh hd ht hs; do BROKEN[$k]="haproxy: config rejected ($(grep -m1 ALERT "$T/haproxy-check.log"))"; done
else
	start haproxy haproxy -db -f "$T/haproxy.cfg"
	hp=$LAST
	for k in hh hd ht hs; do listening "${PORT[$k]}" "$hp" || BROKEN[$k]="haproxy: did not start ($(tail -1 "$T/haproxy.log"))"; done
fi

# nginx in front: the token check as an `if`, keepalive to the backend, token removed; a
# second server the same but for `deferred` on its listener
NG_LOCATION="		location / {
			if (\$http_x_source_token != \"$TOKEN\") { return 403; }
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
			proxy_set_header X-Source-Token \"\";
			proxy_buffers 8 64k;
			proxy_busy_buffers_size 128k;
			proxy_max_temp_file_size 0;
		}"
nginx_conf front "	upstream backend { server 127.0.0.1:$B; keepalive 64; keepalive_requests 10000000; }
	server {
		listen 127.0.0.1:$NG;
$NG_LOCATION
	}
	server {
		listen 127.0.0.1:$ND deferred;
$NG_LOCATION
	}" >"$T/front.conf"
start nginx-front nginx -p "$T/" -e "$T/front.err" -c "$T/front.conf"
ngp=$LAST
NGINX_FRONT_MASTER=$ngp
for k in ng nd; do
	listening "${PORT[$k]}" "$ngp" || BROKEN[$k]="nginx: did not start ($(cat "$T/nginx-front.log" "$T/front.err" 2>/dev/null | grep -m1 -E 'emerg|alert|crit'))"
done

# --- sanity: every path serves the file with the token, the gated ones refuse without it --
code() { curl -s -o "$T/body" -w '%{http_code}' --max-time 5 "$@"; }
for k in "${KEYS[@]}"; do
	[ -n "${BROKEN[$k]:-}" ] && continue
	c=$(code -H "X-Source-Token: $TOKEN" "http://127.0.0.1:${PORT[$k]}/small")
	if [ "$c" != 200 ] || ! cmp -s "$T/body" "$T/www/small"; then
		BROKEN[$k]="${SHORT[$k]}: GET with the token gave $c, not the file"
		continue
	fi
	if [[ " ${GATED[*]} " == *" $k "* ]]; then
		c=$(code "http://127.0.0.1:${PORT[$k]}/small")
		[[ $c == 40[13] ]] || BROKEN[$k]="${SHORT[$k]}: GET without the token gave $c, not 401/403"
		c=$(code -H "X-Source-Token: wrong" "http://127.0.0.1:${PORT[$k]}/small")
		[[ $c == 403 ]] || BROKEN[$k]="${SHORT[$k]}: GET with a wrong token gave $c, not 403"
	fi
done

# --- CPU accounting: where the two cores go, per request --------------------------------
# The front process of each path (the proxy; nginx's worker; HAProxy) and the backend's worker,
# found once everything runs; the machine's busy and idle time from /proc/stat.
declare -A FRONT
HZ=$(getconf CLK_TCK)
workers_of() { pgrep -P "$1" 2>/dev/null | tr '\n' ' '; }
BACKEND_PIDS=$(workers_of "$BACKEND_MASTER")
for k in pg pc pn pk pr pd; do FRONT[$k]=${PGPID[$k]:-}; done
for k in hh hd ht hs; do FRONT[$k]=${hp:-}; done
for k in ng nd; do FRONT[$k]=$(workers_of "${NGINX_FRONT_MASTER:-0}"); done
proc_ticks() { # proc_ticks PID...: user+system ticks of these processes, all threads
	local p t=0
	for p in "$@"; do
		# past the ") " that ends the command name (which may hold spaces): utime, stime
		[ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
	done
	echo "$t"
}
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; } # busy idle
per_req() { # per_req TICKS REQUESTS: microseconds of CPU per request
	awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n }'
}

# --- measurements ------------------------------------------------------------------------
declare -A RPS P50 P99 GBS ALL CPU FRONTCPU BACKCPU IDLE
us() { # "123.45us" / "1.20ms" / "2.00s" -> microseconds
	awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		m = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : -1
		if (m < 0 || v == "") print ""; else printf "%.0f", n * m }'
}
wrk_run() { # wrk_run KEY ka|nc [SECONDS [ROUND]]: one round into ROUND_RPS etc.
	local k=$1 mode=$2 d=${3:-$DUR} round=${4:-0} f=$T/wrk-$1-$2-${4:-0}.txt extra=() r
	[ "$mode" = nc ] && extra=(-H "Connection: close")
	local busy0 idle0 busy1 idle1 front0 back0 n
	# shellcheck disable=SC2086 # pid lists
	read -r busy0 idle0 < <(machine_ticks)
	# shellcheck disable=SC2086
	front0=$(proc_ticks ${FRONT[$k]:-}) back0=$(proc_ticks $BACKEND_PIDS)
	run timeout -k 2 $((d + 15)) wrk -t1 -c"$CONNS" -d"${d}s" --latency -H "X-Source-Token: $TOKEN" "${extra[@]}" \
		"http://127.0.0.1:${PORT[$k]}/small" >"$f"
	read -r busy1 idle1 < <(machine_ticks)
	n=$(awk '/ requests in / { print $1 }' "$f")
	CPU[$k,$mode,$round]=$(per_req $((busy1 - busy0)) "$n")
	# shellcheck disable=SC2086
	FRONTCPU[$k,$mode,$round]=$([ -n "${FRONT[$k]:-}" ] && per_req $(($(proc_ticks ${FRONT[$k]}) - front0)) "$n")
	# shellcheck disable=SC2086
	BACKCPU[$k,$mode,$round]=$(per_req $(($(proc_ticks $BACKEND_PIDS) - back0)) "$n")
	IDLE[$k,$mode,$round]=$(awk -v b=$((busy1 - busy0)) -v i=$((idle1 - idle0)) 'BEGIN { if (b + i > 0) printf "%.0f", 100 * i / (b + i) }')
	r=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f")
	RPS[$k,$mode,$round]=$r
	P50[$k,$mode,$round]=$(us "$(awk '$1 == "50%" { print $2 }' "$f")")
	P99[$k,$mode,$round]=$(us "$(awk '$1 == "99%" { print $2 }' "$f")")
	ROUNDS_OF[$k,$mode]+="${ROUNDS_OF[$k,$mode]:+ / }${r:-?}"
	local bad errs
	bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
	errs=$(grep -m1 'Socket errors:' "$f" | sed 's/^ *//')
	[ -n "$bad" ] && note "${SHORT[$k]}, $mode: $bad non-2xx responses"
	[ -n "$errs" ] && note "${SHORT[$k]}, $mode: wrk $errs"
	[ -z "$r" ] && note "${SHORT[$k]}, $mode: wrk failed: $(tail -1 "$f")"
}
# median KEY MODE: copies the round with the median req/s into RPS/P50/P99[KEY,MODE]
median() {
	local k=$1 mode=$2 i best
	best=$(for ((i = 1; i <= ROUNDS; i++)); do
		[ -n "${RPS[$k,$mode,$i]:-}" ] && echo "${RPS[$k,$mode,$i]} $i"
	done | sort -n | awk '{ a[NR] = $2 } END { if (NR) print a[int((NR + 1) / 2)] }')
	[ -z "$best" ] && return
	RPS[$k,$mode]=${RPS[$k,$mode,$best]}
	P50[$k,$mode]=${P50[$k,$mode,$best]}
	P99[$k,$mode]=${P99[$k,$mode,$best]}
	CPU[$k,$mode]=${CPU[$k,$mode,$best]:-}
	FRONTCPU[$k,$mode]=${FRONTCPU[$k,$mode,$best]:-}
	BACKCPU[$k,$mode]=${BACKCPU[$k,$mode,$best]:-}
	IDLE[$k,$mode]=${IDLE[$k,$mode,$best]:-}
}
declare -A ROUNDS_OF
bulk() { # bulk KEY: one 256 MiB transfer, GB/s appended to ALL[KEY]
	local k=$1 out c s t g
	{
		out=$(curl -s -o /dev/null --max-time 60 -w '%{http_code} %{size_download} %{time_total}' \
			-H "X-Source-Token: $TOKEN" "http://127.0.0.1:${PORT[$k]}/big")
		read -r c s t <<<"$out"
		if [ "$c" != 200 ] || [ "$s" != "$BIG" ]; then
			note "${SHORT[$k]}, 256 MiB: HTTP $c, $s bytes"
			return
		fi
		g=$(awk -v s="$s" -v t="$t" 'BEGIN { printf "%.2f", s / t / 1e9 }')
		ALL[$k]+="${ALL[$k]:+ / }$g"
	}
}
# bulk_median KEY: the median of ALL[KEY] into GBS[KEY]
bulk_median() {
	GBS[$1]=$(tr '/' '\n' <<<"${ALL[$1]:-}" | awk 'NF { print $1 }' | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }')
}
ok() { [ -z "${BROKEN[$1]:-}" ]; }
for k in "${KEYS[@]}"; do [ "$k" != hs ] && ok "$k" && wrk_run "$k" warm 1 >/dev/null; done
WKEYS=()
for k in "${KEYS[@]}"; do [ "$k" != hs ] && WKEYS+=("$k"); done
for mode in ka nc; do
	for ((round = 1; round <= ROUNDS; round++)); do
		# rotate: round r starts at path r-1
		for ((i = 0; i < ${#WKEYS[@]}; i++)); do
			k=${WKEYS[$(((i + round - 1) % ${#WKEYS[@]}))]}
			ok "$k" && wrk_run "$k" "$mode" "$DUR" "$round"
		done
	done
	for k in "${WKEYS[@]}"; do median "$k" "$mode"; done
done
curl -s -o /dev/null --max-time 60 "http://127.0.0.1:$B/big" # page cache
BULK_ROUNDS=${BENCH_PROXY_BULK_ROUNDS:-5}
for ((round = 1; round <= BULK_ROUNDS; round++)); do
	for ((i = 0; i < ${#KEYS[@]}; i++)); do
		k=${KEYS[$(((i + round - 1) % ${#KEYS[@]}))]}
		ok "$k" && bulk "$k"
	done
done
for k in "${KEYS[@]}"; do bulk_median "$k"; done

# How many tunnels each portgate-proxy moved to the sockmap redirect (SIGUSR1: its counters).
for k in pg pc pn pk pr pd; do
	[[ " ${KEYS[*]} " == *" $k "* ]] || continue # not measured in this run
	ok "$k" && [ -n "${PGPID[$k]:-}" ] || continue
	kill -USR1 "${PGPID[$k]}" 2>/dev/null
	sleep 0.3
	n=$(awk '/^portgate_proxy_sockmap_tunnels_total/ { s += $2 } END { print s + 0 }' "$T/portgate-proxy-$k.log")
	a=$(awk '/^portgate_proxy_requests_total.*result="allowed"/ { s += $2 } END { print s + 0 }' "$T/portgate-proxy-$k.log")
	w=$(grep -m1 'sockmap redirect unavailable' "$T/portgate-proxy-$k.log")
	nb=$(awk '/^portgate_proxy_backend_connections_total\{origin="new"\}/ { v = $2 } END { print v + 0 }' "$T/portgate-proxy-$k.log")
	rb=$(awk '/^portgate_proxy_backend_connections_total\{origin="reused"\}/ { v = $2 } END { print v + 0 }' "$T/portgate-proxy-$k.log")
	note "${SHORT[$k]}: $n of $a tunnels moved to the sockmap redirect${w:+ ($w)}; backend connections: $nb new, $rb reused"
done

# --- report ------------------------------------------------------------------------------
ratio() { # ratio VALUE DIRECT
	[ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf " (%.2fx)", a / b }'
}
cell_rps() { [ -n "${RPS[$1,$2]:-}" ] && echo "${RPS[$1,$2]}$(ratio "${RPS[$1,$2]}" "${RPS[direct,$2]:-}")"; }
cell_lat() { # cell_lat P50|P99 KEY MODE
	local -n a=$1
	[ -n "${a[$2,$3]:-}" ] && echo "${a[$2,$3]} µs$(ratio "${a[$2,$3]}" "${a[direct,$3]:-}")"
}
cell_gbs() { [ -n "${GBS[$1]:-}" ] && echo "${GBS[$1]}$(ratio "${GBS[$1]}" "${GBS[direct]:-}")"; }
hv=$(haproxy -v 2>/dev/null | awk 'NR == 1 { print $3 }')
nv=$(nginx -v 2>&1 | sed 's|.*nginx/||')
wv=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')
cat <<EOT
### portgate-proxy vs direct, HAProxy and nginx ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), TCP $CC, HAProxy $hv, nginx $nv, wrk $wv)

Command: \`make bench\` (scripts/bench/run.sh) or \`bash scripts/bench/proxy.sh\`. One backend for all: nginx, 1 worker, sendfile, on 127.0.0.1. TCP congestion control: $CC ($CC_WHERE). Keep-alive: \`wrk -t1 -c$CONNS -d${DUR}s --latency -H "X-Source-Token: …"\` on a 100-byte file, $ROUNDS rounds with the paths in a rotated order, the median round shown (every round below the table); new connection per request: the same plus \`-H "Connection: close"\`; 256 MiB: \`curl -o /dev/null\` with the header, $BULK_ROUNDS rounds in a rotated order, the median shown. Every proxy has one worker/thread; nothing is pinned. HAProxy: stock settings but nbthread 1 (the token header is removed in http mode); nginx: upstream keepalive 64, \`proxy_buffers 8 64k\`, the token header removed. Ratios are to direct (for latency, higher is worse).

| path | keep-alive req/s | p50 | p99 | new conn. req/s | p50 | p99 | 256 MiB GB/s |
|---|---|---|---|---|---|---|---|
EOT
for k in "${KEYS[@]}"; do
	if ! ok "$k"; then
		echo "| ${LABEL[$k]} | ${BROKEN[$k]} | | | | | | |"
	elif [ "$k" = hs ]; then
		echo "| ${LABEL[$k]} | | | | | | | $(cell_gbs "$k") |"
	else
		echo "| ${LABEL[$k]} | $(cell_rps "$k" ka) | $(cell_lat P50 "$k" ka) | $(cell_lat P99 "$k" ka) | $(cell_rps "$k" nc) | $(cell_lat P50 "$k" nc) | $(cell_lat P99 "$k" nc) | $(cell_gbs "$k") |"
	fi
done
cat <<EOT

CPU per request in the same median rounds (/proc/stat and each process's /proc/PID/stat over the wrk run, $HZ ticks/s): the whole machine (2 cores, wrk included), the path's front process (proxy, HAProxy, nginx's worker), the backend nginx's worker, and the share of the machine left idle.

| path | keep-alive: machine µs/req | front | backend | idle | new conn.: machine µs/req | front | backend | idle |
|---|---|---|---|---|---|---|---|---|
EOT
for k in "${WKEYS[@]}"; do
	ok "$k" || continue
	echo "| ${SHORT[$k]} | ${CPU[$k,ka]:-} | ${FRONTCPU[$k,ka]:--} | ${BACKCPU[$k,ka]:-} | ${IDLE[$k,ka]:+${IDLE[$k,ka]}%} | ${CPU[$k,nc]:-} | ${FRONTCPU[$k,nc]:--} | ${BACKCPU[$k,nc]:-} | ${IDLE[$k,nc]:+${IDLE[$k,nc]}%} |"
done
line=
for k in "${KEYS[@]}"; do [ -n "${ALL[$k]:-}" ] && line+="${line:+; }${SHORT[$k]}: ${ALL[$k]}"; done
[ -n "$line" ] && printf '\n256 MiB, each transfer in GB/s (loopback bulk is noisy here): %s.\n' "$line"
for mode in ka nc; do
	line=
	for k in "${WKEYS[@]}"; do [ -n "${ROUNDS_OF[$k,$mode]:-}" ] && line+="${line:+; }${SHORT[$k]}: ${ROUNDS_OF[$k,$mode]}"; done
	[ -n "$line" ] && printf '\n%s req/s, each round: %s.\n' "$([ "$mode" = ka ] && echo Keep-alive || echo New-connection)" "$line"
done
if [ ${#NOTES[@]} -gt 0 ]; then
	echo
	for n in "${NOTES[@]}"; do echo "- $n"; done
fi
exit 0
