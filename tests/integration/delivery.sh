#!/bin/sh
# Delivery in the daemon: at least once across SIGKILL, a hung plugin
# holding up neither the poller nor the other outputs, reopen on SIGHUP,
# replay into a running daemon, replay --state after pruning, and syslog
# lines received by a real listening socket.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_RETRY_MS=30 FLAGSYNC_TEST_BACKOFF_MS=20
plugin_dir_setup
sim_start --state "$SRCDIR/tests/integration/base-state.json"
DPID=

daemon_start() {
	( exec "$FLAGSYNC" -c "$T/flagsync.ini" run >>"$T/daemon.log" 2>&1 ) &
	DPID=$!
}
daemon_stop() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	DPID=
}
# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
	local n=$(( $1 * 10 )); shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
	return 1
}
lines() { [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }
trap 'daemon_stop; cleanup' EXIT

with_config() {	# INI for plugins; interval 1 s, no jitter
	rm -rf "$T/state"
	write_config "$1"
	sed -i '/^\[agent\]/a interval = 1\njitter = 0' "$T/flagsync.ini"
}

# --- at least once across SIGKILL between commit and delivery
with_config "[plugin rec]
module = testplug
hang = yes
log = $T/rec.log"
daemon_start
check "the first delivery started (events are committed)" wait_for 10 test -s "$T/rec.log"
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null; DPID=
check_eq "nothing was taken before the kill" "1 attempt=1" "$(awk '{print $1, $3}' "$T/rec.log")"
sed -i '/^hang = yes/d' "$T/flagsync.ini"
daemon_start
check "after a restart every committed event arrives" wait_for 10 sh -c "[ \$(awk '{print \$1}' '$T/rec.log' | sort -un | wc -l) -ge 6 ]"
check_eq "... starting again at the event that was in flight" "1 2 3 4 5 6" \
    "$(awk 'NR > 1 {print $1}' "$T/rec.log" | sort -un | paste -sd' ' -)"
daemon_stop

# --- a plugin that never returns
with_config "[plugin stuck]
module = testplug
hang = yes
timeout = 1

[plugin audit]
module = file
path = $T/audit.jsonl"
daemon_start
check "the other output gets the baseline" wait_for 10 sh -c "[ \$(wc -l <'$T/audit.jsonl') -ge 6 ]"
sim POST kill '{"ws":"Default","flag":"search_v2","killed":true}' >/dev/null
check "the poller and the other output go on: a new kill arrives" \
    wait_for 10 grep -q '"flag.killed"' "$T/audit.jsonl"
check "plugins shows the stuck instance" wait_for 5 sh -c \
    "'$FLAGSYNC' -c '$T/flagsync.ini' plugins --json | jq -e '.[] | select(.name==\"stuck\") | .state==\"stuck\"' >/dev/null"
check_match "... with what it is stuck on" "has not returned" \
    "$(fs plugins --json | jq -r '.[] | select(.name=="stuck") | .last_error')"

# --- SIGHUP reopens the file (logrotate)
mv "$T/audit.jsonl" "$T/audit.jsonl.1"
# the outputs are told to reopen before the reload is logged as done
reloads=$(grep -c 'configuration reloaded' "$T/daemon.log")
kill -HUP "$DPID"
wait_for 30 sh -c "[ \$(grep -c 'configuration reloaded' '$T/daemon.log') -gt $reloads ]"
sim POST kill '{"ws":"Default","flag":"search_v2","killed":false}' >/dev/null
check "after SIGHUP a new file is started at path" wait_for 10 test -s "$T/audit.jsonl"
check_eq "... holding the new event" "flag.restored" "$(jq -r .type "$T/audit.jsonl" | tail -1)"
check_eq "... and the rotated file got nothing more" 0 "$(grep -c flag.restored "$T/audit.jsonl.1")"

# --- replay into the running daemon
n=$(lines "$T/audit.jsonl")
out=$(fs replay --plugin audit --from 1 2>&1); rc=$?
check_eq "replay while the daemon runs exits 0" 0 "$rc"
check_match "... and hands it to the daemon" "running flagsync" "$out"
total=$(fs status --json | jq .events.last)
check "the daemon delivers the log again from seq 1" wait_for 10 sh -c \
    "[ \$(wc -l <'$T/audit.jsonl') -ge $((n + total)) ]"
daemon_stop

# --- replay --state for an output added after the baseline was pruned
with_config ""
sed -i '/^\[agent\]/a retention = 1s' "$T/flagsync.ini"
fs sync >/dev/null 2>&1; sleep 2; fs sync >/dev/null 2>&1
check_eq "the baseline is pruned" 0 "$(fs status --json | jq .events.first)"
cat >>"$T/flagsync.ini" <<INI
[plugin late]
module = file
path = $T/late.jsonl
INI
fs replay --plugin late --state >/dev/null 2>&1; rc=$?
check_eq "replay --state exits 0" 0 "$rc"
check_eq "it sends flag.created per defined flag and link.added per link" \
    "$(fs flags --json | jq -r '.[] | select(.rollout != null or .killed) | select(.last_updated != null) | "flag.created \(.flag)"' | sort)
$(fs flags --json | jq -r '.[] | .flag as $f | .issues[] | "link.added \($f) \(.)"' | sort)" \
    "$( (jq -r 'select(.type=="flag.created") | "\(.type) \(.flag)"' "$T/late.jsonl" | sort; \
        jq -r 'select(.type=="link.added") | "\(.type) \(.flag) \(.issue)"' "$T/late.jsonl" | sort) )"
check_eq "every replayed event is marked replay: true" 0 \
    "$(jq -c 'select(.replay != true)' "$T/late.jsonl" | wc -l | tr -d ' ')"
check_match "replayed link events carry their sources" '"sources":\["split-tag"\]' "$(cat "$T/late.jsonl")"
check_eq "replayed events carry seq 0, never the seq of a real event" 0 \
    "$(jq -c 'select(.seq != 0)' "$T/late.jsonl" | wc -l | tr -d ' ')"
# An instance already caught up: replay --state still sends every item
# before the command returns (its cursor alone does not make it idle).
n=$(wc -l <"$T/late.jsonl" | tr -d ' ')
fs replay --plugin late --state >/dev/null 2>&1
check_eq "replay --state to a caught-up instance sends all $n items again" \
    "$((n * 2))" "$(wc -l <"$T/late.jsonl" | tr -d ' ')"
# A plugin that refuses a replayed item: no dead letter (the item is not
# in the log, --retry could not find it) and the cursor stays put.
cat >>"$T/flagsync.ini" <<INI
[plugin picky]
module = testplug
fail_type = link.*
log = $T/picky.log
INI
fs sync >/dev/null 2>&1
before=$(fs plugins --json | jq -r '.[] | select(.name=="picky") | .cursor')
: >"$T/picky.log"
fs replay --plugin picky --state >/dev/null 2>"$T/err"
check_eq "the refusing plugin got every replayed item, each with seq 0" \
    "$(fs flags --json | jq -r '.[] | .issues[] | "0 link.added"' | sort)" \
    "$(awk '$2 == "link.added" && $4 == "replay" { print $1, $2 }' "$T/picky.log" | sort)"
check_eq "a refused replayed item leaves no dead letter and the cursor where it was" \
    "0 $before" "$(fs plugins --json | jq -r '.[] | select(.name=="picky") | "\(.dead_letters) \(.cursor)"')"
check_match "... and is logged as skipped" "replayed link\.added .* failed: link\.added events are not welcome here; skipped" \
    "$(cat "$T/err")"

# --- syslog lines received by a real listening socket
python3 - "$T/log.sock" "$T/syslog.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "a") as out:
    try:
        while True:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
    except socket.timeout:
        pass
PY
LPID=$!
wait_for 5 test -S "$T/log.sock"
with_config "[plugin sl]
module = syslog
socket = $T/log.sock
facility = local3
ident = fstest"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "sync through the syslog plugin exits 0" 0 "$rc"
check "one datagram per event" wait_for 5 sh -c "[ \$(wc -l <'$T/syslog.txt') -ge $(fs status --json | jq .events.last) ]"
check_match "RFC 5424 header: PRI local3.notice, version 1, ident, MSGID" \
    '^<157>1 [0-9T:-]+Z [^ ]+ fstest [0-9]+ link.added - Default/new_checkout: linked SHOP-1' "$(cat "$T/syslog.txt")"
check_match "the change in words" 'Default/new_checkout: created' "$(cat "$T/syslog.txt")"
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null
fs sync >/dev/null 2>&1
check "a kill is sent at warning severity (PRI 156)" wait_for 5 grep -q '^<156>1 .* flag.killed - Default/new_checkout: killed' "$T/syslog.txt"
kill $LPID 2>/dev/null; wait $LPID 2>/dev/null

done_testing
