#!/bin/sh
# bench_cpu.sh - cold sync client CPU beside the curl floor.
#
#   tests/bench/bench_cpu.sh [FLAGSYNC-BINARY] [SIZES...]
#
# For each account size (default 10000 100000) it starts the unthrottled
# Split simulator with --generate N, runs a cold `flagsync sync` (user +
# sys CPU, peak RSS), and then fetches the very same
# requests the sync made (the two resolve requests, every flags page and
# every definitions page, the same limits, taken from the simulator's
# request log) with ONE curl process over one keep-alive connection,
# bodies to /dev/null.  curl's user + sys CPU is the floor: what it costs
# to receive those pages at all.  Prints both and the ratio; it asserts
# nothing.  Set RUNS=3 to take the median of three runs of each.
# BASE=OTHER-BINARY runs that binary's cold sync right after each of
# the first one's, under the same load, and prints its median beside:
# on a shared machine runs vary by 15 %, more than a change may gain.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/build/plain/flagsync}
[ $# -gt 0 ] && shift
sizes=${*:-10000 100000}
runs=${RUNS:-1}
[ -x "$bin" ] || { echo "no flagsync binary at $bin (build first)" >&2; exit 1; }
base=${BASE:-}
[ -z "$base" ] || [ -x "$base" ] || { echo "no BASE binary at $base" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench_cpu.sh needs curl" >&2; exit 1; }
command -v bash >/dev/null || { echo "bench_cpu.sh needs bash" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_cpu.sh needs GNU time" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/flagsync-benchcpu.XXXXXX")
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; rm -rf "$T"' EXIT

# timed OUT-FILE COMMAND...: "user_s sys_s maxrss_kb" into OUT-FILE: CPU
# from bash's time (milliseconds; GNU time rounds to 10 ms), peak RSS
# from GNU time.
timed() {
	out=$1; shift
	bash -c 'TIMEFORMAT="%3U %3S"; { time /usr/bin/time -f %M -o "$0.rss" \
	    "$@" >/dev/null 2>"$0.err"; } 2>"$0.cpu"' "$out" "$@" ||
	    { echo "failed: $*" >&2; cat "$out.err" >&2; }
	echo "$(cat "$out.cpu") $(tail -n 1 "$out.rss")" >"$out"
}

cpu() { awk '{ printf "%.3f", $1 + $2 }' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-8s %-10s %-10s %-8s %-10s %s' flags "client s" "curl s" ratio \
    "RSS MB" requests
[ -z "$base" ] && echo || printf '   %-10s %s\n' "BASE s" "BASE ratio"
for n in $sizes; do
	rm -f "$T/port" "$T/sim.log"
	# Not --quiet: the request log is where the curl list comes from.
	python3 "$top/tests/sim/split_sim.py" --port 0 --port-file "$T/port" \
	    --generate "$n" --seed 1 2>"$T/sim.log" &
	SIM_PID=$!
	while [ ! -s "$T/port" ]; do
		kill -0 "$SIM_PID" 2>/dev/null || { echo "the simulator did not start" >&2; cat "$T/sim.log" >&2; exit 1; }
		sleep 0.1
	done
	port=$(cat "$T/port")
	printf 'sim-admin-key\n' >"$T/key"; chmod 600 "$T/key"
	cat >"$T/flagsync.ini" <<INI
[agent]
state_dir = $T/state
log_level = warning
[split]
api_url = http://127.0.0.1:$port/internal/api/v2
admin_key_file = $T/key
max_rps = 0
[project Default]
environment = Production
INI
	: >"$T/client"; : >"$T/curl"; : >"$T/base"
	i=0
	while [ $i -lt "$runs" ]; do
		rm -rf "$T/state"
		: >"$T/sim.log"
		timed "$T/t" "$bin" -c "$T/flagsync.ini" sync
		cpu "$T/t" >>"$T/client"; echo >>"$T/client"
		rss=$(awk '{ printf "%.1f", $3 / 1024 }' "$T/t")
		# The requests the sync made, in its order, for curl.
		sed -n 's/^split_sim: [^ ]* GET \([^ ]*\) -> 200 .*/\1/p' \
		    "$T/sim.log" >"$T/paths"
		if [ -n "$base" ]; then
			rm -rf "$T/state"
			timed "$T/t" "$base" -c "$T/flagsync.ini" sync
			cpu "$T/t" >>"$T/base"; echo >>"$T/base"
		fi
		nreq=$(wc -l <"$T/paths")
		{
			# Options before the URLs apply to all of them; stdout
			# (every body) goes to /dev/null.
			printf 'header = "Authorization: Bearer sim-admin-key"\n'
			printf 'compressed\nsilent\nshow-error\ngloboff\n'
			awk -v b="http://127.0.0.1:$port" \
			    '{ printf "url = \"%s%s\"\n", b, $0 }' "$T/paths"
		} >"$T/curl.cfg"
		timed "$T/t" curl -K "$T/curl.cfg"
		cpu "$T/t" >>"$T/curl"; echo >>"$T/curl"
		i=$((i + 1))
	done
	c=$(median <"$T/client"); f=$(median <"$T/curl")
	printf '%-8s %-10s %-10s %-8s %-10s %s' "$n" "$c" "$f" \
	    "$(awk -v c="$c" -v f="$f" 'BEGIN { if (f > 0) printf "%.2fx", c / f; else print "-" }')" \
	    "$rss" "$nreq"
	if [ -n "$base" ]; then
		b=$(median <"$T/base")
		printf '   %-10s %s\n' "$b" "$(awk -v c="$b" -v f="$f" \
		    'BEGIN { if (f > 0) printf "%.2fx", c / f; else print "-" }')"
	else
		echo
	fi
	kill $SIM_PID; wait $SIM_PID 2>/dev/null; SIM_PID=
done
