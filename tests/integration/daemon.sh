#!/bin/sh
# The daemon, `flagsync run`: it keeps polling on its own, holds the
# writer lock, survives a bad SIGHUP config and takes a good one, stops
# within seconds on SIGTERM even mid-request, backs off while Split fails,
# notifies systemd, logs with journald priorities under the journal and
# with an RFC 3339 time elsewhere, and without a Split Admin API key waits
# for one instead of exiting.  Every wait is on the condition itself, with
# limits far above what an idle machine needs.
. "$SRCDIR/tests/integration/lib.sh"

# Retries inside one cycle take milliseconds, so the schedule is what shows.
export FLAGSYNC_TEST_BACKOFF_MS=20
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM

DPID=
PHASE_FAILED=0
LPID=
daemon_cleanup() {
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	cleanup
}
trap daemon_cleanup EXIT

# daemon_start [VAR=VALUE...]: `run` in the background, $DPID its pid
# (exec: the subshell becomes env, env becomes flagsync).
daemon_start() {
	[ -f "$T/daemon.log" ] && cat "$T/daemon.log" >>"$T/daemon.old.log"
	# Emptied here, not by the background shell's redirection: that may
	# run after the caller's first look at the log, which would then
	# still see the previous daemon's lines.
	: >"$T/daemon.log"
	PHASE_FAILED=$TAP_FAILED
	( exec env "$@" "$FLAGSYNC" -c "$T/flagsync.ini" run \
	    >>"$T/daemon.log" 2>&1 ) &
	DPID=$!
}

# daemon_stop SIGNAL: sends it, waits at most 10 s; sets rc and elapsed
# (seconds, fractional); rc is "timeout" if it did not exit.
daemon_stop() {
	local start end
	start=$(date +%s.%N)
	kill -"$1" "$DPID"
	if wait_for 20 daemon_gone; then
		wait "$DPID"; rc=$?
	else
		rc=timeout
		kill -KILL "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null
	fi
	end=$(date +%s.%N)
	elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
	DPID=
	if [ "$TAP_FAILED" -ne "$PHASE_FAILED" ]; then
		diag "the daemon's log:"; diag "$(cat "$T/daemon.log")"
	fi
}

daemon_alive() { kill -0 "$DPID" 2>/dev/null; }
daemon_gone() { ! kill -0 "$DPID" 2>/dev/null || zombie "$DPID"; }
zombie() { [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; }
log_has() { grep -Eq -- "$1" "$T/daemon.log"; }
notify_has() { grep -Eq -- "$1" "$T/notify"; }
has_event() { events_since "$1" | grep -q "$2"; }
# journal_stream: what systemd would put in $JOURNAL_STREAM for a daemon
# whose stderr is $T/daemon.log (its device and inode).
journal_stream() { : >>"$T/daemon.log"; stat -c %d:%i "$T/daemon.log"; }
# An RFC 3339 UTC time and the program name start every plain line.
STAMP='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z flagsync: '
unstamped() { grep -Ev -- "$STAMP" "$T/daemon.log"; }
seq_above() {	# (before the first commit there is no cache to ask)
	local s; s=$(last_seq 2>/dev/null)
	[ "${s:-0}" -gt "$1" ] 2>/dev/null
}

# notify_listen: a Unix datagram socket standing in for systemd's
# NOTIFY_SOCKET; every datagram is appended to $T/notify.
notify_listen() {
	rm -f "$T/notify.sock"; : >"$T/notify"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(65536).decode() + "\n")
        f.flush()
' "$T/notify.sock" "$T/notify" &
	LPID=$!
	wait_for 30 test -S "$T/notify.sock" ||
	    { echo "Bail out! the notify listener did not start"; exit 1; }
}

# A build without libsystemd says so and sends nothing: skip those points.
check_notify() {
	if log_has 'built without libsystemd'; then
		ok "$1 # SKIP built without libsystemd"
	else
		check "$@"
	fi
}

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config
sed -i 's/^log_level = info$/log_level = info\ninterval = 1\njitter = 0/' \
    "$T/flagsync.ini"
cp "$T/flagsync.ini" "$T/good.ini"

# ---------------------------------------------------------------- startup
notify_listen
daemon_start NOTIFY_SOCKET="$T/notify.sock" JOURNAL_STREAM="$(journal_stream)" \
    WATCHDOG_USEC=2000000
wait_for 60 seq_above 0
check "the daemon polls at start: the baseline is committed" seq_above 0
check "... and keeps running" daemon_alive
check_match "it logs that it started, its pid and interval" \
    "flagsync started \(pid $DPID\), polling every 1 s" "$(cat "$T/daemon.log")"
log_has 'built without libsystemd' || wait_for 30 notify_has '^STATUS=polled'
check_notify "sd_notify: READY=1 before the first poll's STATUS" \
    awk '/^READY=1/ { r = NR } /^STATUS=polled/ { s = NR }
	END { exit !(r && s && r < s) }' "$T/notify"
check_notify "sd_notify: STATUS says what the cycle did" \
    notify_has '^STATUS=polled 1 sources, 0 failed, [0-9]+ events, next poll in [0-9]+ s$'

# ---------------------------------------------------------------- polling
s=$(last_seq)
sim POST kill '{"ws":"Default","flag":"search_v2","killed":true}' >/dev/null
wait_for 30 has_event "$s" "flag.killed Default/search_v2"
check_eq "it keeps polling: a kill in Split becomes an event without a sync" \
    "flag.killed Default/search_v2" "$(events_since "$s")"
check_notify "sd_notify: WATCHDOG=1 pings (WATCHDOG_USEC = 2 s)" \
    test "$(grep -c '^WATCHDOG=1$' "$T/notify")" -ge 2

err=$(fs sync 2>&1); rc=$?
check_eq "sync while the daemon runs exits 1" 1 "$rc"
check_match "... naming the daemon's pid" "pid $DPID\b" "$err"

# ---------------------------------------------------------------- SIGHUP
echo 'bogus = 1' >>"$T/flagsync.ini"
line=$(wc -l <"$T/flagsync.ini" | tr -d ' ')
kill -HUP "$DPID"
wait_for 30 log_has 'keeping the previous configuration'
check "SIGHUP with a broken config: still running" daemon_alive
check_match "... the error names the file and line" \
    "$T/flagsync.ini:$line:.*bogus" "$(cat "$T/daemon.log")"
check_nomatch "... and is not taken for a reload" 'configuration reloaded' \
    "$(cat "$T/daemon.log")"
# (the queries below need a config that loads; the daemon is not told)
cp "$T/good.ini" "$T/flagsync.ini"
s=$(last_seq)
sim POST kill '{"ws":"Default","flag":"search_v2","killed":false}' >/dev/null
wait_for 30 has_event "$s" "flag.restored"
check_eq "... and polling goes on with the old config" \
    "flag.restored Default/search_v2" "$(events_since "$s")"

sed "s|^state_dir = .*|state_dir = $T/elsewhere|" "$T/good.ini" >"$T/flagsync.ini"
kill -HUP "$DPID"
wait_for 30 log_has 'state_dir.*restart'
check_match "SIGHUP changing state_dir: refused, a restart is needed" \
    'state_dir.*needs a restart' "$(cat "$T/daemon.log")"
check "... still running" daemon_alive

# The good config adds project Shop: its flag shows up only if it is used.
cp "$T/good.ini" "$T/flagsync.ini"
printf '[project Shop]\nenvironment = Prod\n' >>"$T/flagsync.ini"
s=$(last_seq)
kill -HUP "$DPID"
wait_for 30 log_has 'configuration reloaded'
check_match "SIGHUP with a good config: configuration reloaded" \
    'configuration reloaded' "$(cat "$T/daemon.log")"
check "... still running" daemon_alive
wait_for 30 has_event "$s" "flag.created Shop/new_checkout"
check_match "... and the next poll uses it (project Shop appears)" \
    "flag.created Shop/new_checkout" "$(events_since "$s")"
check_notify "sd_notify: RELOADING=1 then READY=1 around the reload" \
    awk '/^RELOADING=1/ { r = NR } /^READY=1/ && r { ok = 1 }
	END { exit !ok }' "$T/notify"

# ---------------------------------------------------------------- SIGTERM
daemon_stop TERM
check_eq "SIGTERM: exits 0 (in $elapsed s)" 0 "$rc"
check "... within 10 s" awk -v e="$elapsed" 'BEGIN { exit !(e < 10) }'
check_match "... saying it stops" 'stopping' "$(cat "$T/daemon.log")"
check_notify "sd_notify: STOPPING=1" notify_has '^STOPPING=1'
fs sync >/dev/null 2>&1; rc=$?
check_eq "... and releases the lock: sync runs" 0 "$rc"
check_match "JOURNAL_STREAM naming stderr: info lines carry <6>" \
    '^<6>flagsync started' "$(cat "$T/daemon.log")"
check_match "... warnings carry <4>" "^<4>$T/flagsync.ini:$line:" \
    "$(cat "$T/daemon.log")"
check_eq "... and every line has a priority prefix" "" \
    "$(grep -Ev '^<[0-7]>' "$T/daemon.log")"
check_nomatch "... and no time of its own (the journal keeps one)" \
    '^<[0-7]>[0-9]{4}-' "$(cat "$T/daemon.log")"
kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null; LPID=
cp "$T/good.ini" "$T/flagsync.ini"

# ---------------------------------------------------------------- in flight
# Definitions answer after 30 s; the request timeout is longer still, so
# only cancelling the request can stop the daemon quickly.
sed -i 's/^timeout = 5$/timeout = 60/' "$T/flagsync.ini"
sim POST fault '{"match":"/splits/ws/[^/]+/environments/","kind":"slow","delay":30,"count":-1}' >/dev/null
in_flight() { [ "$(sim GET stats | jq .in_flight)" -ge 1 ]; }
notify_listen
daemon_start NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=2000000
wait_for 60 in_flight
check "a definitions request is in flight" in_flight
# Pings come every second (half of WATCHDOG_USEC): three more while the
# request (30 s) is still in flight show they go on during it.
pings=$(grep -c '^WATCHDOG=1$' "$T/notify")
pinged() { test "$(grep -c '^WATCHDOG=1$' "$T/notify")" -ge $((pings + 3)); }
log_has 'built without libsystemd' || wait_for 25 pinged
check_notify "WATCHDOG=1 pings go on during a long request" pinged
check "... which is still in flight" in_flight
daemon_stop TERM
check_eq "SIGTERM during a request: exits 0 (in $elapsed s)" 0 "$rc"
check "... within 10 s" awk -v e="$elapsed" 'BEGIN { exit !(e < 10) }'
check_nomatch "plain stderr (no JOURNAL_STREAM) has no priority prefix" \
    '^<[0-7]>' "$(cat "$T/daemon.log")"
check_match "... each line starts with an RFC 3339 UTC time" "$STAMP" \
    "$(cat "$T/daemon.log")"
check_eq "... every line" "" "$(unstamped)"
kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null; LPID=
sim DELETE fault >/dev/null
cp "$T/good.ini" "$T/flagsync.ini"

# ---------------------------------------------------------------- backoff
# Every request fails.  Cycle N+1 starts 2^(N-1) intervals after cycle N
# (1, 2, 4, 8 s): the lines of failed cycles 2, 3 and 4 announce 2, 4 and
# 8 s, and their times (the log's own) are at least that far apart.  Load
# only makes the gaps longer, so these lower bounds hold on any machine.
workspace_gets() {
	sim GET requests |
	    jq '[.requests[] | select(.method == "GET" and (.path | endswith("/workspaces")))] | length'
}
# backoff_line N: the line of failed cycle N.
backoff_line() { grep "backing off after $1 failed cycles" "$T/daemon.log" | head -1; }
line_time() { date -d "${1%% *}" +%s.%N; }
# (a function, so that wait_for asks again each time)
gets_ge() { [ "$(workspace_gets)" -ge "$1" ]; }
line_next() { printf '%s\n' "$1" | sed -n 's/.*next poll in \([0-9]*\) s.*/\1/p'; }
sim POST fault '{"match":".*","kind":"status","status":500,"count":-1}' >/dev/null
sim DELETE requests >/dev/null
daemon_start JOURNAL_STREAM=8:1234
wait_for 90 log_has 'backing off after 4 failed cycles'
l2=$(backoff_line 2); l3=$(backoff_line 3); l4=$(backoff_line 4)
check_eq "backoff: failed cycles 2, 3, 4 announce 2, 4, 8 s" "2 4 8" \
    "$(line_next "$l2") $(line_next "$l3") $(line_next "$l4")"
gaps=$(awk -v a="$(line_time "$l2")" -v b="$(line_time "$l3")" \
    -v c="$(line_time "$l4")" 'BEGIN { printf "%.2f %.2f", b - a, c - b }')
check "... and wait that long (${gaps% *} s, then ${gaps#* } s)" \
    awk -v g="$gaps" 'BEGIN { split(g, x, " "); exit !(x[1] >= 1.7 && x[2] >= 3.7) }'
check_eq "a JOURNAL_STREAM naming another stream: lines keep their time" \
    "" "$(unstamped)"
# The next try succeeds and the interval is back to 1 s: without the
# reset, three more cycles would take 16 s and more.
sim DELETE fault >/dev/null
wait_for 60 log_has 'every source polled again after'
check_match "a successful cycle says the backoff is over" \
    'every source polled again after [0-9]+ failed cycles; polling every 1 s' \
    "$(cat "$T/daemon.log")"
sim DELETE requests >/dev/null
start=$(date +%s.%N)
wait_for 15 gets_ge 3
n=$(workspace_gets)
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check "... and resets it ($n cycles in $took s)" test "$n" -ge 3
check "... still running" daemon_alive
daemon_stop TERM
check_eq "SIGTERM between cycles: exits 0 (in $elapsed s)" 0 "$rc"

# ---------------------------------------------------------------- refusals
sh -c 'exec 9<>"$1"; flock 9; echo $$ >"$1"; exec sleep 60' sh \
    "$T/state/flagsync.lock" &
hpid=$!
wait_for 30 grep -qx "$hpid" "$T/state/flagsync.lock"
err=$(timeout 10 "$FLAGSYNC" -c "$T/flagsync.ini" run 2>&1); rc=$?
check_eq "run while another writer holds the lock exits 1" 1 "$rc"
check_match "... naming its pid" "pid $hpid\b" "$err"
kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null

# ---------------------------------------------------------------- no key
# The package enables the service with the sample config, which has no
# key: run must wait for one rather than exit and be restarted forever.
key_lines() { grep -c 'no Split Admin API key' "$T/daemon.log"; }
key_lines_ge() { [ "$(key_lines)" -ge "$1" ]; }
sed '/^admin_key_file/d' "$T/good.ini" >"$T/flagsync.ini"
sim DELETE requests >/dev/null
notify_listen
daemon_start -u FLAGSYNC_SPLIT_ADMIN_KEY -u CREDENTIALS_DIRECTORY \
    NOTIFY_SOCKET="$T/notify.sock"
wait_for 30 log_has 'no Split Admin API key'
sleep 2.5	# two intervals: nothing may happen in them, so time must pass
check "run without a Split Admin API key keeps running" daemon_alive
check_eq "... logs it once, not once per interval" 1 "$(key_lines)"
check_match "... saying how to give one and that it waits" \
    "no Split Admin API key: $T/flagsync.ini has no \\[split\\] admin_key_file.*waiting: set admin_key_file and send SIGHUP \\(systemctl reload flagsync\\)" \
    "$(cat "$T/daemon.log")"
check_eq "... and polls nothing" 0 "$(workspace_gets)"
check_notify "sd_notify: READY=1 and STATUS=waiting for a Split Admin API key" \
    awk '/^READY=1/ { r = 1 } /^STATUS=waiting for a Split Admin API key$/ && r { ok = 1 }
	END { exit !ok }' "$T/notify"

kill -HUP "$DPID"
wait_for 30 key_lines_ge 2
check "SIGHUP, still no key: still waiting" daemon_alive
check_eq "... and says so again, once" 2 "$(key_lines)"
check_eq "... still polling nothing" 0 "$(workspace_gets)"

cp "$T/good.ini" "$T/flagsync.ini"
kill -HUP "$DPID"
wait_for 30 log_has 'Split Admin API key from admin_key_file'
check_match "SIGHUP once admin_key_file is set: the key is picked up" \
    "Split Admin API key from admin_key_file $T/split-key; polling every 1 s" \
    "$(cat "$T/daemon.log")"
wait_for 30 gets_ge 1
check "... and the daemon polls Split" test "$(workspace_gets)" -ge 1
wait_for 30 notify_has '^STATUS=polled'
check_notify "... with a STATUS after the cycle" notify_has '^STATUS=polled'
daemon_stop TERM
check_eq "SIGTERM: exits 0 (in $elapsed s)" 0 "$rc"
kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null; LPID=

# Under flagsync.service a missing credential file gives a blank
# credential (SetCredential=), which is no key either.
sed '/^admin_key_file/d' "$T/good.ini" >"$T/flagsync.ini"
mkdir -p "$T/creds"
printf '\n' >"$T/creds/split-admin-key"
err=$(env -u FLAGSYNC_SPLIT_ADMIN_KEY CREDENTIALS_DIRECTORY="$T/creds" \
    "$FLAGSYNC" -c "$T/flagsync.ini" check-config 2>&1); rc=$?
check_eq "check-config with a blank split-admin-key credential exits 0" 0 "$rc"
check_match "... and says there is no key" 'admin key +not set' "$err"
daemon_start -u FLAGSYNC_SPLIT_ADMIN_KEY CREDENTIALS_DIRECTORY="$T/creds"
wait_for 30 log_has 'no Split Admin API key'
check "run with a blank credential waits" daemon_alive
check_match "... and says the key file needs a restart" \
    'credential is empty.*waiting: put the key in /.*/flagsync/split-admin-key and run systemctl restart flagsync' \
    "$(cat "$T/daemon.log")"
daemon_stop TERM
check_eq "SIGTERM while waiting for a key: exits 0 (in $elapsed s)" 0 "$rc"
cp "$T/good.ini" "$T/flagsync.ini"

done_testing
