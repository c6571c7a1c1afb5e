#!/bin/sh
# bench.sh - figures for the core, against the unthrottled Split simulator.
#
#   tests/bench/bench.sh [FLAGSYNC-BINARY] [SIZES...]
#
# For each account size (default 10000 100000): cold sync wall time and
# peak RSS, a no-change poll's wall and CPU time, the bytes it wrote to
# LMDB (write syscalls on data.mdb, counted with strace) and its events,
# and `flagsync issue` latency (median of 50 runs).  Prints figures; it
# asserts nothing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/build/plain/flagsync}
[ $# -gt 0 ] && shift
sizes=${*:-10000 100000}
[ -x "$bin" ] || { echo "no flagsync binary at $bin (build first)" >&2; exit 1; }
command -v strace >/dev/null || { echo "bench.sh needs strace" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/flagsync-bench.XXXXXX")
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; rm -rf "$T"' EXIT

now_ms() { date +%s%3N; }

# rusage FILE: "wall_s user_s sys_s maxrss_kb" from GNU time's output.
timed() {	# OUT-FILE COMMAND...
	out=$1; shift
	/usr/bin/time -f '%e %U %S %M' -o "$out" "$@" >/dev/null 2>"$T/err" ||
	    { echo "failed: $*" >&2; cat "$T/err" >&2; }
}

printf '%-8s %-26s %s\n' "flags" "figure" "value"
for n in $sizes; do
	rm -rf "$T/state" "$T/port"
	python3 "$top/tests/sim/split_sim.py" --port 0 --port-file "$T/port" \
	    --quiet --generate "$n" --seed 1 2>/dev/null &
	SIM_PID=$!
	while [ ! -s "$T/port" ]; do sleep 0.1; done
	printf 'sim-admin-key\n' >"$T/key"; chmod 600 "$T/key"
	cat >"$T/flagsync.ini" <<INI
[agent]
state_dir = $T/state
log_level = warning
[split]
api_url = http://127.0.0.1:$(cat "$T/port")/internal/api/v2
admin_key_file = $T/key
max_rps = 0
[project Default]
environment = Production
INI
	fs() { "$bin" -c "$T/flagsync.ini" "$@"; }

	timed "$T/cold" "$bin" -c "$T/flagsync.ini" sync
	read -r wall user sys rss <"$T/cold"
	printf '%-8s %-26s %s s\n' "$n" "cold sync wall" "$wall"
	printf '%-8s %-26s %s MB\n' "$n" "cold sync peak RSS" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')"
	printf '%-8s %-26s %s\n' "$n" "events after cold sync" "$(fs status --json | jq .events.last)"

	seq0=$(fs status --json | jq .events.last)
	timed "$T/warm" "$bin" -c "$T/flagsync.ini" sync
	read -r wall user sys rss <"$T/warm"
	printf '%-8s %-26s %s s\n' "$n" "no-change poll wall" "$wall"
	printf '%-8s %-26s %s s\n' "$n" "no-change poll CPU" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
	printf '%-8s %-26s %s MB\n' "$n" "no-change poll peak RSS" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')"

	strace -f -qq -y -e trace=write,pwrite64,pwritev,pwritev2 -o "$T/trace" \
	    "$bin" -c "$T/flagsync.ini" sync >/dev/null 2>&1
	bytes=$(grep 'data.mdb>' "$T/trace" | sed -n 's/.*= \([0-9][0-9]*\)$/\1/p' |
	    awk '{ s += $1 } END { print s + 0 }')
	printf '%-8s %-26s %s\n' "$n" "no-change LMDB bytes" "$bytes"
	printf '%-8s %-26s %s\n' "$n" "no-change events" "$(( $(fs status --json | jq .events.last) - seq0 ))"

	key=$(fs flags --linked --json | jq -r '.[0].issues[0]')
	i=0; : >"$T/lat"
	while [ $i -lt 50 ]; do
		a=$(date +%s%N); fs issue "$key" >/dev/null; b=$(date +%s%N)
		echo $(( (b - a) / 1000 )) >>"$T/lat"; i=$((i + 1))
	done
	printf '%-8s %-26s %s ms (median of 50, %s)\n' "$n" "flagsync issue latency" \
	    "$(sort -n "$T/lat" | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1000 }')" "$key"
	printf '%-8s %-26s %s MB\n' "$n" "data.mdb size" "$(du -m "$T/state/data.mdb" | cut -f1)"
	kill $SIM_PID; wait $SIM_PID 2>/dev/null; SIM_PID=
done
