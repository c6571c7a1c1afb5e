#!/bin/sh
# Plugin ABI 1.1 through the real binary and real dlopen: a 1.0-built
# plugin still loads and works; config_error() and the typed getters name
# the key's own line; the host's keys are not listed to plugins; the
# event's time_ms; flush() after the backlog; cancelled(); the module's
# load()/unload() pair; `credentials` grants; each module's version; and
# where a new instance starts (`start`), run after run.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_RETRY_MS=30
plugin_dir_setup
sim_start --state "$SRCDIR/tests/integration/base-state.json"

# with_plugins INI-TEXT: a fresh state and config with those sections.
with_plugins() {
	rm -rf "$T/state"
	write_config "$1"
}
# flip: kills search_v2 in Split, or restores it: always one event.
# (The state is a file: flip also runs in command substitutions.)
echo false >"$T/sv2"
flip() {
	local k=true
	[ "$(cat "$T/sv2")" = true ] && k=false
	echo "$k" >"$T/sv2"
	sim POST kill "{\"ws\":\"Default\",\"flag\":\"search_v2\",\"killed\":$k}" >/dev/null
}
# line_of REGEX: the config line that matches.
line_of() { grep -n -- "$1" "$T/flagsync.ini" | head -1 | cut -d: -f1; }
# Event lines with their commit times in ms, as v11plug logs them.
event_times() {
	fs events --json |
	    jq -r '"\(.seq) \(.type) time=\(.time | fromdateiso8601 * 1000)"'
}

# ------------------------------------------------ a 1.0 plugin
with_plugins "[plugin old]
module = abi10
start = oldest
credentials = jira
timeout = 5
log = $T/old.log"
err=$(fs check-config 2>&1); rc=$?
check_eq "a 1.0-built plugin (the 1.0 descriptor, poison after it) passes check-config" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$err"
check_match "... which names its module's own version" "module abi10 1\.0\.3, ABI 1\.0" "$err"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "... and sync delivers to it" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
check_eq "... every event, in order, time_ms the event's commit time" \
    "$(event_times)" "$(cat "$T/old.log" 2>&1)"
check_eq "plugins --json: abi 1.0, its version" "1.0 1.0.3" \
    "$(fs plugins --json | jq -r '.[0] | "\(.abi) \(.version)"')"
check_match "plugins (table) shows the version" "^old +abi10 +1\.0\.3 +1\.0 " "$(fs plugins)"

# ------------------------------------------------ config_error, getters
with_plugins "[plugin p]
module = v11plug
timeout = 5
start = latest
credentials = jira, split
limit = 7
pause = 2m
batch = no"
err=$(fs check-config 2>&1); rc=$?
check_eq "host keys (timeout, start, credentials) are not listed to the plugin" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$err"
check_match "check-config shows the module's version and ABI" "module v11plug 1\.1\.7, ABI 1\.3" "$err"

# bad_key KEY=VALUE MESSAGE-REGEX: check-config and sync name its line.
bad_key() {
	with_plugins "[plugin p]
module = v11plug

$1
batch = yes"
	local n err rc
	n=$(line_of "^$1\$")
	err=$(fs check-config 2>&1); rc=$?
	check_eq "$1: check-config exits 2" 2 "$rc"
	check_match "... naming file:line of the key itself ($n)" \
	    "flagsync\\.ini:$n: \\[plugin p\\] ${1%% *}: $2" "$err"
	err=$(fs sync 2>&1)
	check_match "... and so does init() in sync" \
	    "plugin p refused: .*flagsync\\.ini:$n: \\[plugin p\\] ${1%% *}: $2" "$err"
}
bad_key "limit = 500" "500 is out of range 1\\.\\.100"
bad_key "pause = 5x" '"5x" is not a duration'
bad_key "stall = maybe" '"maybe" is not yes/no'
bad_key "colour = red" "unknown key"

with_plugins "[plugin p]
module = v11plug
credentials = jira, bitbucket"
n=$(line_of '^credentials')
err=$(fs check-config 2>&1); rc=$?
check_eq "credentials = jira, bitbucket: exit 2" 2 "$rc"
check_match "... naming file:line:key and the bad word" \
    "flagsync\\.ini:$n: \\[plugin p\\] credentials: \"bitbucket\" is not a credential" "$err"
with_plugins "[plugin p]
module = v11plug
start = newest"
err=$(fs check-config 2>&1); rc=$?
check_eq "start = newest: exit 2" 2 "$rc"
check_match "... naming the key's line" \
    "flagsync\\.ini:$(line_of '^start'): \\[plugin p\\] start: \"newest\" is neither oldest" "$err"

# ------------------------------------------------ time_ms, flush()
with_plugins "[plugin p]
module = v11plug
log = $T/v11.log"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "a batching 1.1 plugin: sync exits 0" 0 "$rc"
check_eq "time_ms is each event's commit time (its \"time\"), flushed once after the backlog" \
    "$(event_times; echo "flush $(last_seq)")" "$(cat "$T/v11.log" 2>&1)"
check_eq "... and the cursor is durable at the last event" "$(last_seq) 0" \
    "$(fs plugins --json | jq -r '.[0] | "\(.cursor) \(.backlog)"')"
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null
fs sync >/dev/null 2>&1
check_eq "the next sync: the new event, then one flush" \
    "$(event_times | tail -1; echo "flush 1")" "$(tail -2 "$T/v11.log")"

with_plugins "[plugin p]
module = v11plug
flush_fail = 1
log = $T/v11f.log"
rm -f "$T/v11f.log"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "flush() answering RETRY once: sync still exits 0" 0 "$rc"
check_eq "... the batch came again and was written once" \
    "$(event_times; echo "flush $(last_seq)")" "$(cat "$T/v11f.log" 2>&1)"
check_match "... the refusal was logged" "flush\\(\\) after event [0-9]+: flush refused \\(test\\); delivering again from event 1" \
    "$(cat "$T/err")"

# ------------------------------------------------ cancelled()
with_plugins "[plugin p]
module = v11plug
events = flag.killed, flag.restored
stall = yes
batch = no
timeout = 1
log = $T/stall.log"
fs sync >/dev/null 2>&1
flip
fs sync >/dev/null 2>"$T/err"; rc=$?
seq=$(last_seq)
check_eq "a deliver() that polls cancelled(): sync exits 0" 0 "$rc"
check_eq "... it was cancelled past timeout, then the retry delivered" \
    "cancelled $seq
$seq $(fs events --since $((seq - 1)) --json | jq -r .type)" \
    "$(sed 's/ time=.*//' "$T/stall.log")"

# ------------------------------------------------ load() and unload()
export V11PLUG_LOADLOG="$T/load.log"
with_plugins "[plugin a]
module = v11plug

[plugin b]
module = v11plug"
rm -f "$T/load.log"
fs check-config >/dev/null 2>&1
check_eq "check-config, which opens each instance's module in turn: each load() has its unload()" \
    "load
unload
load
unload" "$(cat "$T/load.log" 2>&1)"
rm -f "$T/load.log"
fs sync >/dev/null 2>&1
check_eq "sync, each instance in its own process: each load() has its unload()" \
    "load
load
unload
unload" "$(sort "$T/load.log" 2>&1)"
err=$(V11PLUG_LOAD_FAIL=1 fs check-config 2>&1); rc=$?
check_eq "a module whose load() refuses: check-config exits 2" 2 "$rc"
check_match "... naming the file and the module's reason" \
    "v11plug\\.so: the module's load\\(\\) refused: V11PLUG_LOAD_FAIL is set" "$err"
unset V11PLUG_LOADLOG

# ------------------------------------------------ credentials
printf 'jira-secret-token\n' >"$T/jira-token"
chmod 600 "$T/jira-token"
# grants CREDENTIALS-LINE MODULE: what the plugin could read.
grants() {
	with_plugins "[jira]
url = https://jira.example.com
email = bot@example.com
api_token_file = $T/jira-token

[plugin p]
module = $2
grants = $T/grants
$1"
	rm -f "$T/grants"
	fs sync >/dev/null 2>&1
	cat "$T/grants" 2>&1
}
check_eq "no credentials key: no Jira token, no Split key" \
    "jira_url null jira_token null split_url null split_key null" \
    "$(grants "" abi10)"
check_eq "credentials = jira: the Jira site and token only" \
    "jira_url set jira_token set split_url null split_key null" \
    "$(grants "credentials = jira" abi10)"
check_eq "credentials = split: the Split URL and key only" \
    "jira_url null jira_token null split_url set split_key set" \
    "$(grants "credentials = split" abi10)"
check_eq "credentials = jira, split: both" \
    "jira_url set jira_token set split_url set split_key set" \
    "$(grants "credentials = jira, split" abi10)"
# The bundled jira module (by name, from the plugin directory) has its
# grant implicitly: a stand-in answers for it here.
mkdir -p "$T/alt"
cp "$BUILDDIR/tests/plugins/.libs/abi10.so" "$T/alt/jira.so"
check_eq "module = jira: the Jira secrets without a credentials key" \
    "jira_url set jira_token set split_url null split_key null" \
    "$(FLAGSYNC_PLUGIN_DIR=$T/alt grants "" jira)"

# ------------------------------------------------ start, run after run
# start_run START: a fresh cache with a baseline and one more event,
# then a new instance; prints the seqs it got over two syncs.
start_run() {
	rm -rf "$T/state"
	write_config
	fs sync >/dev/null 2>&1
	flip
	fs sync >/dev/null 2>&1
	write_config "[plugin late]
module = abi10
log = $T/start.log
$1"
	rm -f "$T/start.log"
	fs sync >/dev/null 2>&1
	flip
	fs sync >/dev/null 2>&1
	awk '{ print $1 }' "$T/start.log" 2>/dev/null | paste -sd' ' -
}
bad=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	got=$(start_run "start = latest")
	[ "$got" = 8 ] || { bad=$((bad + 1)); diag "run $i: got '$got'"; }
done
check_eq "start = latest: in 10 of 10 runs only the event after it started (8)" 0 "$bad"
bad=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	got=$(start_run "")
	[ "$got" = "1 2 3 4 5 6 7 8" ] || { bad=$((bad + 1)); diag "run $i: got '$got'"; }
done
check_eq "start unset (oldest): in 10 of 10 runs every retained event" 0 "$bad"

# The daemon decides before its first poll; a restart keeps the cursor.
DPID=
daemon_stop() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	DPID=
}
trap 'daemon_stop; cleanup' EXIT
wait_for() {
	local n=$(( $1 * 10 )); shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
	return 1
}
# daemon_run START: a cache with 6 events, a new instance, the daemon
# until a kill arrives at the instance; prints the seqs it got.
daemon_run() {
	rm -rf "$T/state"
	write_config
	fs sync >/dev/null 2>&1
	write_config "[plugin late]
module = abi10
log = $T/d.log
$1"
	sed -i '/^\[agent\]/a interval = 1\njitter = 0' "$T/flagsync.ini"
	rm -f "$T/d.log"
	( exec "$FLAGSYNC" -c "$T/flagsync.ini" run >>"$T/daemon.log" 2>&1 ) &
	DPID=$!
	wait_for 10 grep -q 'from seq' "$T/daemon.log"
	flip
	wait_for 10 grep -Eq 'flag\.(killed|restored)' "$T/d.log"
	daemon_stop
	: >"$T/daemon.log"
	awk '{ print $1 }' "$T/d.log" 2>/dev/null | paste -sd' ' -
}
bad=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	got=$(daemon_run "start = latest")
	[ "$got" = 7 ] || { bad=$((bad + 1)); diag "daemon run $i: got '$got'"; }
done
check_eq "run, start = latest: in 10 of 10 runs only the new event (7)" 0 "$bad"
bad=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	got=$(daemon_run "start = oldest")
	[ "$got" = "1 2 3 4 5 6 7" ] || { bad=$((bad + 1)); diag "daemon run $i: got '$got'"; }
done
check_eq "run, start = oldest: in 10 of 10 runs every retained event" 0 "$bad"

# Once an instance has a cursor, start no longer matters.
sed -i 's/^start = oldest/start = latest/' "$T/flagsync.ini"
flip
fs sync >/dev/null 2>&1
check_eq "an instance with a cursor resumes there, whatever start says" \
    "1 2 3 4 5 6 7 8" "$(awk '{ print $1 }' "$T/d.log" | paste -sd' ' -)"

done_testing
