#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# portgate audit and GET /v1/audit against a real portgated (registry only) and its Redis
# stream pg:{HOST}:audit: the daemon's own events, filters, --since, after/limit paging,
# refused flags and parameters, --follow (also across a portgated restart).
source "$(dirname "$0")/lib.sh"

FOLLOW_PID=
follow_stop() {
	[ -n "$FOLLOW_PID" ] || return 0
	kill -TERM "$FOLLOW_PID" 2>/dev/null
	wait "$FOLLOW_PID" 2>/dev/null
	FOLLOW_RC=$?
	FOLLOW_PID=
}
extra_cleanup() { follow_stop; }

if ! command -v jq >/dev/null; then
	skip "jq is not installed"
	exit 0
fi
start_daemon || { not_ok "portgated starts"; exit 1; }
KEY="pg:{$HOSTNAME_PG}:audit"

# xadd JSON: appends one event to the stream as portgated would, prints its id.
xadd() { rcli XADD "$KEY" '*' e "$1"; }
# ev SERVICE ACTION RESULT DST_PORT N: an event the daemon could have written.
ev() {
	printf '{"time":"2025-11-23T13:27:%02d.000000Z","host":"%s","action":"%s","result":"%s","reason":"test %s","src_ip":"127.0.0.1","src_port":40000,"dst_ip":"127.0.0.1","dst_port":%s,"protocol":"tcp","service":"%s","count":1}' \
		"$(($5 % 60))" "$HOSTNAME_PG" "$2" "$3" "$5" "$4" "$1"
}
# lines FILE: its line count.
lines() { wc -l <"$1" | tr -d ' '; }
# wait_for PATTERN FILE SECONDS: true once FILE holds PATTERN.
wait_for() {
	for _ in $(seq 1 $(($3 * 20))); do
		grep -q "$1" "$2" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# --- The daemon's own events: its start, a service create and a port-add. ---
pg service create audit-app >/dev/null
pg service port-add audit-app 18181 >/dev/null
# The daemon writes its events to the stream in batches: give them a moment.
for _ in $(seq 1 40); do
	pg audit --json >"$T/all.json"
	grep -q '"what":"port-add audit-app' "$T/all.json" && break
	sleep 0.05
done
if ! grep -q '"action":"control"' "$T/all.json"; then
	not_ok "portgated's control events reach portgate audit"
else
	check "the start of portgated is an event" grep -q '"what":"portgated [^"]* started' "$T/all.json"
	pg audit --json --service audit-app --action control >"$T/ctl.json"
	check "service create appears with who uid:0" \
		jq -s -e 'map(select(.what == "service-create audit-app")) | length == 1 and .[0].who == "uid:0" and .[0].result == "allowed"' "$T/ctl.json"
	check "port-add appears with its port" \
		jq -s -e 'map(select(.what | startswith("port-add audit-app"))) | length == 1 and .[0].dst_port == 18181' "$T/ctl.json"
	check "--port filters daemon events by destination port" \
		bash -c "[ \"\$(\"$BIN/portgate\" --socket $SOCK audit --json --port 18181 | jq -r .service | sort -u)\" = audit-app ]"
	check "the table shows the control events" \
		bash -c "\"$BIN/portgate\" --socket $SOCK audit --service audit-app | grep -E '^\| .* \| control +\| allowed +\| uid:0 .*service-create audit-app'"
fi

# --- Filters, on events written straight into the stream. ---
first=$(xadd "$(ev inj-a bind denied 9101 1)")
xadd "$(ev inj-a connect allowed 9101 2)" >/dev/null
third=$(xadd "$(ev inj-b packet denied 9102 3)")
xadd "$(ev inj-b token allowed 9103 4)" >/dev/null
xadd "$(ev inj-c scan blocked 9104 5)" >/dev/null
xadd 'not json at all' >/dev/null # an entry that is not an event is passed over

pg audit --json --service inj-a >"$T/a.json"
check "--service keeps that service's events only" \
	bash -c "[ \$(wc -l <$T/a.json) -eq 2 ] && [ \"\$(jq -r .service $T/a.json | sort -u)\" = inj-a ]"
pg audit --json --port 9102 >"$T/p.json"
check "--port keeps events to that destination port" \
	bash -c "[ \$(wc -l <$T/p.json) -eq 1 ] && jq -e '.action == \"packet\"' $T/p.json"
pg audit --json --action token >"$T/t.json"
check "--action keeps one action" bash -c "[ \$(wc -l <$T/t.json) -eq 1 ] && jq -e '.dst_port == 9103' $T/t.json"
pg audit --json --result blocked >"$T/r.json"
check "--result keeps one result" bash -c "[ \$(wc -l <$T/r.json) -eq 1 ] && jq -e '.action == \"scan\"' $T/r.json"
pg audit --json --service inj-a --action bind --result denied --port 9101 >"$T/c.json"
check "filters combine" bash -c "[ \$(wc -l <$T/c.json) -eq 1 ] && jq -e '.reason == \"test 1\"' $T/c.json"
# pg_empty ARGS...: the command succeeds and prints nothing (a crash prints nothing too).
pg_empty() { local o; o=$(pg "$@") && [ -z "$o" ]; }
check "filters that match nothing print nothing" pg_empty audit --json --service inj-b --action bind
pg audit --json --action token >"$T/raw.json"
check "--json prints each event exactly as stored" grep -qxF "$(ev inj-b token allowed 9103 4)" "$T/raw.json"
pg audit --service inj-b >"$T/table.txt"
check "the table has its header and one row per event" \
	bash -c "grep -q '^| TIME (UTC) ' $T/table.txt && [ \$(grep -c '| inj-b ' $T/table.txt) -eq 2 ]"
check "the table shows source and destination" grep -q '| 127.0.0.1:40000 | 127.0.0.1:9102/tcp |' "$T/table.txt"

# --- --since: a stream id, a time, a duration. ---
pg audit --json --since "$third" >"$T/s.json"
check "--since ID starts at that entry" \
	bash -c "[ \$(grep -c '\"service\":\"inj-' $T/s.json) -eq 3 ] && head -1 $T/s.json | jq -e '.reason == \"test 3\"'"
pg audit --json --since 1h --service inj-a >"$T/s1h.json"
check "--since 1h includes what was just written" test "$(lines "$T/s1h.json")" -eq 2
check "--since a future time prints nothing" pg_empty audit --json --since 2999-01-01T00:00:00Z
check "an empty answer says so in the table" \
	bash -c "\"$BIN/portgate\" --socket $SOCK audit --since 2999-01-01T00:00:00Z | grep -qx 'No audit events.'"

# --- after= (exclusive), limit= and paging. ---
api "http://localhost/v1/audit?after=$first&service=inj-a" >"$T/after.json"
check "after= is exclusive" jq -e '(.events | length) == 1 and .events[0].reason == "test 2"' "$T/after.json"
for i in $(seq 1 25); do xadd "$(ev page-svc bind denied 9200 "$i")" >/dev/null; done
xadd "$(ev other bind denied 9300 26)" >/dev/null
api "http://localhost/v1/audit?service=page-svc&limit=10" >"$T/pg1.json"
check "limit= caps the events, more says there is more" \
	jq -e '(.events | length) == 10 and .more == true and .events[9].reason == "test 10"' "$T/pg1.json"
seen=0 after= pages=0 order_ok=1
while :; do
	q="service=page-svc&limit=7${after:+&after=$after}"
	api "http://localhost/v1/audit?$q" >"$T/page.json" || break
	n=$(jq '.events | length' "$T/page.json")
	first_reason=$(jq -r '.events[0].reason // empty' "$T/page.json")
	[ -n "$first_reason" ] && [ "$first_reason" != "test $((seen + 1))" ] && order_ok=0
	seen=$((seen + n)) pages=$((pages + 1))
	after=$(jq -r .last_id "$T/page.json")
	[ "$(jq -r .more "$T/page.json")" = true ] || break
	[ "$pages" -lt 20 ] || break
done
check "paging with after=last_id reads every event once, in order" \
	test "$seen" -eq 25 -a "$order_ok" -eq 1 -a "$pages" -eq 4
check "last_id moves past entries the filter left out" \
	test "$after" = "$(rcli XREVRANGE "$KEY" + - COUNT 1 | head -1)"
pg audit --json --service page-svc --limit 10 >"$T/newest.json" 2>"$T/newest.err"
check "--limit N shows the newest N, oldest first" \
	bash -c "[ \$(wc -l <$T/newest.json) -eq 10 ] && head -1 $T/newest.json | jq -e '.reason == \"test 16\"' && tail -1 $T/newest.json | jq -e '.reason == \"test 25\"'"
check "--limit says how many it left out" grep -q 'newest 10 of 25 matching events' "$T/newest.err"

# --- Refused flags: exit 2, the flag named, nothing sent. ---
# usage: the message of the last expect_exit, kept (check overwrites last.out).
usage() { cp "$T/last.out" "$T/usage.out"; }
expect_exit 2 "--port 0 is a usage error" pg audit --port 0
usage
check "... naming --port" grep -q -- "--port: '0' is not a port number" "$T/usage.out"
expect_exit 2 "--action nope is a usage error" pg audit --action nope
usage
check "... naming --action and the choices" grep -q -- "--action: 'nope' is not one of bind, connect" "$T/usage.out"
expect_exit 2 "--result nope is a usage error" pg audit --result nope
expect_exit 2 "--since yesterday is a usage error" pg audit --since yesterday
usage
check "... naming --since" grep -q -- "--since: 'yesterday': expected a duration" "$T/usage.out"
expect_exit 2 "--limit 0 is a usage error" pg audit --limit 0
expect_exit 2 "--service a/b is a usage error" pg audit --service a/b
expect_exit 2 "--follow=yes is a usage error" pg audit --follow=yes
expect_exit 2 "an argument is a usage error" pg audit bind

# --- Refused parameters: 400 with the field named. ---
for bad in "service=a%2Fb service" "port=0 port" "port=x port" "action=nope action" \
	"result=ok result" "since=yesterday since" "since=10 since" "after=12 after" \
	"limit=0 limit" "limit=10001 limit" "wait=31 wait" "wait=-1 wait" \
	"since=1h&after=1-0 after" "service=%ZZ service"; do
	set -- $bad
	code=$(curl -s -o "$T/bad.json" -w '%{http_code}' --unix-socket "$SOCK" "http://localhost/v1/audit?$1")
	if [ "$code" = 400 ] && jq -e --arg f "$2" '.field == $f and (.error | length) > 0' "$T/bad.json" >/dev/null; then
		ok "GET /v1/audit?$1 is 400 naming $2"
	else
		not_ok "GET /v1/audit?$1 is 400 naming $2 (got $code: $(cat "$T/bad.json"))"
	fi
done

# --- --follow: prints what happens after it started; SIGTERM ends it with 0. ---
"$BIN/portgate" --socket "$SOCK" audit --follow --json --service follow-app >"$T/follow.out" 2>"$T/follow.err" &
FOLLOW_PID=$!
CLEANUP_PIDS+=("$FOLLOW_PID")
sleep 0.3
pg service create follow-app >/dev/null
check "--follow prints a daemon event within 2 s" wait_for '"what":"service-create follow-app"' "$T/follow.out" 2
xadd "$(ev follow-app token denied 9400 7)" >/dev/null
check "--follow prints a stream event within 2 s" wait_for '"reason":"test 7"' "$T/follow.out" 2
xadd "$(ev someone-else token denied 9400 8)" >/dev/null
sleep 0.5
check "--follow applies its filter" bash -c "! grep -q 'someone-else' $T/follow.out"

# Across a restart of portgated: one note, then it goes on.
stop_daemon
start_daemon || not_ok "portgated restarts"
pg service create follow-app2 >/dev/null
xadd "$(ev follow-app token denied 9401 9)" >/dev/null
check "--follow goes on after portgated restarts" wait_for '"reason":"test 9"' "$T/follow.out" 10
check "--follow said once that portgated was away" \
	bash -c "[ \$(grep -c 'retrying' $T/follow.err) -eq 1 ]"
follow_stop
check "--follow ends with 0 on SIGTERM" test "$FOLLOW_RC" -eq 0

# The table form of --follow: a header, then one line per event.
"$BIN/portgate" --socket "$SOCK" audit --follow --since 1h --service inj-b >"$T/ftable.out" 2>&1 &
FOLLOW_PID=$!
CLEANUP_PIDS+=("$FOLLOW_PID")
check "--follow --since prints the history first" wait_for 'test 4' "$T/ftable.out" 2
check "--follow prints a header line" bash -c "head -1 $T/ftable.out | grep -q '^TIME (UTC) *ACTION *RESULT'"
follow_stop
check "--follow (table) ends with 0 on SIGTERM" test "$FOLLOW_RC" -eq 0

exit $((n_fail > 0))
