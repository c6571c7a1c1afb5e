#!/bin/sh
# bench_feed.sh - the change feed against Split's Admin rate limit.
#
#   tests/bench/bench_feed.sh [FLAGSYNC-BINARY] [SIZES...]
#
# For each account size (default 1000 10000 100000) the Split simulator
# enforces Split's Admin limit (3 requests per second, 429 with the reset
# headers) and the agent runs with max_rps = 3 and an SDK key:
#   - a no-change cycle: Admin and SDK requests, bytes written to data.mdb
#     (write syscalls counted with strace), wall time;
#   - one flag killed: the time from the kill in Split to its event in the
#     file output, with the daemon polling every `interval` s (no jitter);
#   - 500 flags changed at once: what the cycle chose (single-flag fetches
#     or paging), its requests and wall time;
#   - for comparison at 1000 flags, a no-change cycle without the feed.
# The cold sync that fills the cache runs before the limit is turned on.
# Prints figures; asserts nothing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/build/plain/flagsync}
[ $# -gt 0 ] && shift
sizes=${*:-1000 10000 100000}
interval=${INTERVAL:-10}
[ -x "$bin" ] || { echo "no flagsync binary at $bin (build first)" >&2; exit 1; }
command -v strace >/dev/null || { echo "bench_feed.sh needs strace" >&2; exit 1; }
plugin=$(dirname "$bin")/plugins/file/.libs/file.so
[ -f "$plugin" ] || { echo "no file plugin at $plugin" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/flagsync-bench-feed.XXXXXX")
SIM_PID=; RUN_PID=
trap '[ -n "$RUN_PID" ] && kill $RUN_PID 2>/dev/null; [ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; rm -rf "$T"' EXIT

now_ms() { date +%s%3N; }
# wait_until SECONDS COMMAND...: COMMAND every 0.05 s until it succeeds,
# as tests/integration/lib.sh's wait_for (the kill latency is read with
# that resolution)
wait_until() {
	_end=$(($(date +%s) + $1)); shift
	until "$@" 2>/dev/null; do
		[ "$(date +%s)" -ge "$_end" ] && return 1
		sleep 0.05
	done
}
cycles_ge() { [ "$(grep -c 'cycle done' "$T/run.log")" -ge "$1" ]; }
killed_out() { grep -q "\"flag.killed\".*\"flag\":\"$1\"" "$T/events.jsonl"; }
sim() {	# METHOD PATH [JSON]
	if [ $# -ge 3 ]; then
		curl -sS -X "$1" -H 'Content-Type: application/json' --data "$3" "$URL/_sim/$2"
	else
		curl -sS -X "$1" "$URL/_sim/$2"
	fi
}
fs() { "$bin" -c "$T/flagsync.ini" "$@"; }
row() { printf '%-8s %-44s %s\n' "$@"; }

config() {	# MAX_RPS SDK(yes|no) [OUTPUT(yes|no)]
	cat >"$T/flagsync.ini" <<INI
[agent]
state_dir = $T/state
interval = $interval
jitter = 0
log_level = info
[split]
api_url = $URL/internal/api/v2
sdk_url = $URL/api
admin_key_file = $T/key
max_rps = $1
full_sync = 1h
timeout = 60
[project Default]
environment = Production
INI
	[ "$2" = yes ] && echo "sdk_key_file = $T/sdk" >>"$T/flagsync.ini"
	# a one-shot sync records its outputs' state (its pid) once: measured
	# without them, as a daemon's cycles after its start
	[ "${3:-yes}" = no ] && return
	cat >>"$T/flagsync.ini" <<INI
[plugin audit]
module = $plugin
path = $T/events.jsonl
start = latest
INI
}

printf 'sim-admin-key\n' >"$T/key"; printf 'sim-sdk-key\n' >"$T/sdk"
chmod 600 "$T/key" "$T/sdk"
row "flags" "figure" "value"
for n in $sizes; do
	rm -rf "$T/state" "$T/port" "$T/events.jsonl"
	python3 "$top/tests/sim/split_sim.py" --port 0 --port-file "$T/port" \
	    --quiet --generate "$n" --seed 1 2>/dev/null &
	SIM_PID=$!
	wait_until 120 test -s "$T/port" || { echo "the simulator did not start" >&2; exit 1; }
	URL="http://127.0.0.1:$(cat "$T/port")"

	config 0 yes
	fs sync >/dev/null 2>&1 || echo "cold sync failed" >&2
	sim POST ratelimit '{"rate_limit": 3}' >/dev/null
	config 3 yes no

	# a cycle with nothing new
	sim DELETE stats >/dev/null
	a=$(now_ms)
	strace -f -qq -y -e trace=write,pwrite64,pwritev,pwritev2 -o "$T/trace" \
	    "$bin" -c "$T/flagsync.ini" sync >/dev/null 2>&1
	b=$(now_ms)
	bytes=$(grep 'data.mdb>' "$T/trace" | sed -n 's/.*= \([0-9][0-9]*\)$/\1/p' |
	    awk '{ s += $1 } END { print s + 0 }')
	st=$(sim GET stats)
	row "$n" "no-change cycle: Admin requests" "$(echo "$st" | jq .api_requests)"
	row "$n" "no-change cycle: SDK requests" "$(echo "$st" | jq .sdk_requests)"
	row "$n" "no-change cycle: bytes written to data.mdb" "$bytes"
	row "$n" "no-change cycle: wall" "$(( b - a )) ms (under strace)"

	# one kill, through the daemon, to the file output
	config 3 yes
	"$bin" -c "$T/flagsync.ini" run 2>"$T/run.log" &
	RUN_PID=$!
	wait_until 600 cycles_ge 1
	tx=$(mdb_stat -e "$T/state" | awk '/Last transaction ID/ {print $4}')
	wait_until 600 cycles_ge 3
	row "$n" "daemon: LMDB transactions in 2 quiet cycles" \
	    "$(( $(mdb_stat -e "$T/state" | awk '/Last transaction ID/ {print $4}') - tx ))"
	worst=0
	for f in $(fs flags --active --json | jq -r '.[0:3][].flag'); do
		a=$(now_ms)
		sim POST kill "{\"ws\":\"Default\",\"flag\":\"$f\",\"killed\":true}" >/dev/null
		wait_until 600 killed_out "$f"
		b=$(now_ms)
		[ $((b - a)) -gt "$worst" ] && worst=$((b - a))
	done
	row "$n" "kill -> file output, worst of 3 (interval $interval s)" \
	    "$(awk -v ms="$worst" 'BEGIN { printf "%.1f s", ms / 1000 }')"
	kill $RUN_PID; wait $RUN_PID 2>/dev/null; RUN_PID=

	# 500 flags saved at once (defined ones: a save needs a definition)
	for f in $(fs flags --active --json | jq -r '.[100:600][].flag'); do
		sim POST touch "{\"ws\":\"Default\",\"flag\":\"$f\"}" >/dev/null
	done
	sim DELETE stats >/dev/null
	a=$(now_ms)
	fs sync -v >/dev/null 2>"$T/err"
	b=$(now_ms)
	row "$n" "500 changed: the cycle chose" \
	    "$(sed -n 's/.*reports [0-9,]* flags: \([a-z ]*\) (.*/\1/p' "$T/err" | head -1)"
	row "$n" "500 changed: Admin requests, 429s" \
	    "$(sim GET stats | jq -r '"\(.api_requests), \(.rate_limited)"')"
	row "$n" "500 changed: wall" "$(awk -v ms=$((b - a)) 'BEGIN { printf "%.1f s", ms / 1000 }')"

	if [ "$n" -le 1000 ]; then
		config 3 no
		rm -f "$T/state/polls.json"
		sim DELETE stats >/dev/null
		a=$(now_ms); fs sync >/dev/null 2>&1; b=$(now_ms)
		row "$n" "no-change cycle WITHOUT the feed: Admin requests" "$(sim GET stats | jq .api_requests)"
		row "$n" "no-change cycle WITHOUT the feed: wall" "$(awk -v ms=$((b - a)) 'BEGIN { printf "%.1f s", ms / 1000 }')"
	fi
	kill $SIM_PID; wait $SIM_PID 2>/dev/null; SIM_PID=
done
