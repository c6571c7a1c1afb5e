#!/bin/sh
# A SIGHUP storm: 50 SIGHUPs while a slow output delivers, some
# of them with its section changed.  There is never a second deliverer
# of one instance, its durable cursor never moves back, no event is lost,
# and the processes of unchanged instances keep their pid throughout.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_RETRY_MS=30 FLAGSYNC_TEST_BACKOFF_MS=20
plugin_dir_setup
sim_start --state "$SRCDIR/tests/integration/base-state.json"
DPID=
daemon_stop() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	DPID=
}
wait_for() {
	local n=$(( $1 * 10 )); shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
	return 1
}
trap 'daemon_stop; cleanup' EXIT
# outpid NAME: the pid of instance NAME's process
outpid() { pgrep -f "__outproc $T/flagsync.ini $1 " | head -1; }
cursor() { fs plugins --json | jq -r ".[] | select(.name==\"$1\") | .cursor"; }

write_config "[plugin slow]
module = hang
hang_type = none
delay_ms = 150
exclusive = $T/slow.lock
log = $T/slow.log
round = 0

[plugin audit]
module = file
path = $T/audit.jsonl"
sed -i '/^\[agent\]/a interval = 1\njitter = 0' "$T/flagsync.ini"
( exec "$FLAGSYNC" -c "$T/flagsync.ini" run >>"$T/daemon.log" 2>&1 ) &
DPID=$!
check "the outputs start" wait_for 10 sh -c "[ -s '$T/slow.log' ] && [ -s '$T/audit.jsonl' ]"
apid=$(outpid audit)
check "the unchanged output runs in its own process" test -n "$apid"

prev=0; back=0; i=0
while [ $i -lt 50 ]; do
	i=$((i + 1))
	# every tenth reload changes the slow output's section
	if [ $((i % 10)) -eq 0 ]; then
		sed -i "s/^round = .*/round = $i/" "$T/flagsync.ini"
		sim POST kill "{\"ws\":\"Default\",\"flag\":\"search_v2\",\"killed\":$([ $((i % 20)) -eq 0 ] && echo false || echo true)}" >/dev/null
	fi
	kill -HUP "$DPID"
	c=$(cursor slow)
	[ "$c" -lt "$prev" ] && back=$((back + 1))
	prev=$c
	sleep 0.05
done
check "the daemon survived 50 SIGHUPs" kill -0 "$DPID"
check_eq "the slow output's cursor never moved back" 0 "$back"
# The kill of round 50 must be committed before the last seq is taken:
# an event after it would reach audit and not be counted.
killed_now() { [ "$(fs flag search_v2 --json | jq -r .killed)" = true ]; }
check "the last round's kill is committed" wait_for 30 killed_now
# ...and nothing of the last rounds is still on its way: a cycle that
# began after them has ended (a save that left killed as it was still
# makes a flag.updated)
n0=$(grep -c 'cycle done' "$T/daemon.log")
check "two more cycles after the last round" wait_for 30 sh -c \
    "[ \$(grep -c 'cycle done' '$T/daemon.log') -ge $((n0 + 2)) ]"
last=$(last_seq)
check "every event reaches the slow output" wait_for 30 sh -c \
    "[ \$('$FLAGSYNC' -c '$T/flagsync.ini' plugins --json | jq -r '.[] | select(.name==\"slow\") | .cursor') -eq $last ]"
check_eq "never two deliverers of one instance" "" "$(grep OVERLAP "$T/slow.log")"
check_eq "no event was delivered by two processes" "" \
    "$(awk '{print $1, $3}' "$T/slow.log" | sort -u | awk '{print $1}' | sort | uniq -d)"
check_eq "the unchanged output kept its pid" "$apid" "$(outpid audit)"
check_eq "... and got every event once" "$last" "$(wc -l <"$T/audit.jsonl" | tr -d ' ')"
check_match "changed sections were restarted" "outputs: 1 kept running, 1 stopped, 1 started" \
    "$(cat "$T/daemon.log")"
check_eq "the unchanged output was started once, never restarted" 1 \
    "$(grep -c 'plugin audit: module file' "$T/daemon.log")"
daemon_stop
check_eq "no output process is left behind" "" "$(pgrep -f "__outproc $T/flagsync.ini" || true)"

# --- a SIGHUP that changes an output stuck inside a long deliver(): the
# successor starts only once the old process is gone (killed after the
# grace), never beside it
export FLAGSYNC_TEST_STUCK_GRACE_MS=1000
rm -rf "$T/state" "$T/slow.log" "$T/audit.jsonl"
: >"$T/daemon.log"
write_config "[plugin slow]
module = hang
hang_type = none
delay_ms = 8000
exclusive = $T/slow.lock
log = $T/slow.log

[plugin audit]
module = file
path = $T/audit.jsonl"
sed -i '/^\[agent\]/a interval = 1\njitter = 0' "$T/flagsync.ini"
( exec "$FLAGSYNC" -c "$T/flagsync.ini" run >>"$T/daemon.log" 2>&1 ) &
DPID=$!
check "the slow output is inside its first deliver()" wait_for 10 test -s "$T/slow.log"
sed -i 's/^delay_ms = .*/delay_ms = 0/' "$T/flagsync.ini"
kill -HUP "$DPID"
last=$(last_seq)
check "the successor delivers everything" wait_for 20 sh -c \
    "[ \$('$FLAGSYNC' -c '$T/flagsync.ini' plugins --json | jq -r '.[] | select(.name==\"slow\") | .cursor') -eq $last ]"
check_eq "never two deliverers of one instance" "" "$(grep OVERLAP "$T/slow.log")"
check_match "the old process was killed after the grace" \
    "plugin slow: still inside deliver\(\) .* after it was asked to stop; killing it" \
    "$(cat "$T/daemon.log")"
daemon_stop

done_testing
