#!/bin/sh
# bench_findings.sh - what [findings] adds to a cycle's CPU time.
#
#   tests/bench/bench_findings.sh [FLAGSYNC-BINARY] [FLAGS] [FILE-LINKS]
#
# An account of FLAGS (default 100000) generated flags, whose tags and
# descriptions link about 30% of them, plus FILE-LINKS (default 20000)
# links from links.yaml: about 50,000 links.  Measures, median of 5 runs
# each, the CPU time (user + sys) of
#   - a no-change cycle without [findings] and with it (nothing changed,
#     nothing due: the evaluation is skipped after one lookup);
#   - a cycle with one change (a kill, undone by the next), without and
#     with [findings]: the full evaluation walks every flag and link;
#   - the first cycle with [findings] (each flag's state from the event
#     log, every finding opened), once;
#   - the evaluation alone, as the agent's debug line reports it (the
#     thread's CPU time inside the commit), in both kinds of cycle.
# Prints figures; asserts nothing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/build/plain/flagsync}
n=${2:-100000}
nlinks=${3:-20000}
[ -x "$bin" ] || { echo "no flagsync binary at $bin (build first)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/flagsync-bench.XXXXXX")
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; rm -rf "$T"' EXIT

python3 "$top/tests/sim/split_sim.py" --port 0 --port-file "$T/port" \
    --quiet --generate "$n" --seed 1 2>/dev/null &
SIM_PID=$!
while [ ! -s "$T/port" ]; do
	kill -0 "$SIM_PID" 2>/dev/null || { echo "the simulator did not start" >&2; exit 1; }
	sleep 0.1
done
SIM="http://127.0.0.1:$(cat "$T/port")"
printf 'sim-admin-key\n' >"$T/key"; chmod 600 "$T/key"
w=$(printf '%s' "$((n - 1))" | wc -c); [ "$w" -lt 5 ] && w=5
awk -v k="$nlinks" -v n="$n" -v w="$w" 'BEGIN {
	print "links:"
	for (i = 0; i < k; i++)
		printf "  - flag: flag_%0*d\n    issues: [OPS-%d]\n", w, (i * 5) % n, i + 1
}' >"$T/links.yaml"

config() {	# EXTRA
	cat >"$T/flagsync.ini" <<INI
[agent]
state_dir = $T/state
log_level = ${LL:-warning}
[split]
api_url = $SIM/internal/api/v2
admin_key_file = $T/key
max_rps = 0
[project Default]
environment = Production
[links]
file = $T/links.yaml
$1
INI
}
fs() { "$bin" -c "$T/flagsync.ini" "$@"; }

# cpu: user + sys seconds of one sync.
cpu() {
	/usr/bin/time -f '%U %S' -o "$T/time" "$bin" -c "$T/flagsync.ini" \
	    sync >/dev/null 2>"$T/err" || { echo "sync failed" >&2; cat "$T/err" >&2; }
	awk '{ printf "%.2f\n", $1 + $2 }' "$T/time"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
kill_flag() {	# true|false
	curl -sS -X POST -H 'Content-Type: application/json' --data \
	    "{\"ws\":\"Default\",\"flag\":\"flag_$(printf '%0*d' "$w" 7)\",\"killed\":$1}" \
	    "$SIM/_sim/kill" >/dev/null
}
# change_cpu: CPU of a cycle with one change (kill or restore in turn).
k=true
change_cpu() {
	kill_flag $k
	[ $k = true ] && k=false || k=true
	cpu
}

config ""
fs sync >/dev/null 2>&1 || { echo "cold sync failed" >&2; exit 1; }

echo "flags: $(fs status --json | jq .flags.total), links: $(fs status --json | jq .links)"
fs sync >/dev/null 2>&1

nc_off=$(for i in 1 2 3 4 5; do cpu; done | median)
ch_off=$(for i in 1 2 3 4 5; do change_cpu; done | median)
config "[findings]"
first=$(cpu)
opened=$(fs findings --open --json | jq length)
nc_on=$(for i in 1 2 3 4 5; do cpu; done | median)
ch_on=$(for i in 1 2 3 4 5; do change_cpu; done | median)

# The evaluation alone: the debug line's ms, median of 5 cycles.
LL=debug
config "[findings]"
eval_ms() {	# PATTERN
	for i in 1 2 3 4 5; do
		[ "$1" = evaluated ] && kill_flag $k && { [ $k = true ] && k=false || k=true; }
		fs sync 2>&1 >/dev/null | sed -n "s/.*findings: $1.*: \([0-9.]*\) ms CPU/\1/p"
	done | median
}
ev_skip=$(eval_ms nothing)
ev_full=$(eval_ms evaluated)

pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }'; }
printf '%-48s %s\n' "figure" "CPU s (median of 5)"
printf '%-48s %s\n' "no-change cycle, no [findings]" "$nc_off"
printf '%-48s %s (%s)\n' "no-change cycle, [findings]" "$nc_on" "$(pct "$nc_off" "$nc_on")"
printf '%-48s %s\n' "one-change cycle, no [findings]" "$ch_off"
printf '%-48s %s (%s)\n' "one-change cycle, [findings] (full evaluation)" "$ch_on" "$(pct "$ch_off" "$ch_on")"
printf '%-48s %s (once; %s findings opened)\n' "first cycle with [findings]" "$first" "$opened"
printf '%-48s %s ms (%s of the no-change cycle)\n' "evaluation, quiet cycle (skipped)" "$ev_skip" \
    "$(awk -v a="$nc_off" -v b="$ev_skip" 'BEGIN { printf "%.3f%%", b / 10 / a }')"
printf '%-48s %s ms (%s of the no-change cycle)\n' "evaluation, cycle with a change (full walk)" "$ev_full" \
    "$(awk -v a="$nc_off" -v b="$ev_full" 'BEGIN { printf "%.1f%%", b / 10 / a }')"
