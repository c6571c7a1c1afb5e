#!/bin/sh
# Outputs in their own processes (flagsync-plugin(3)): a plugin that
# segfaults on an event, aborts in init(), hangs in deliver() or leaks
# until it dies never takes down `sync`, `run`, polling or another
# output; the dead instance is logged with its instance, module, seq and
# signal, restarted with backoff, and after 3 crashes on the same event
# that event is dead-lettered ("crashed 3 times") and delivery goes on.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_RETRY_MS=30 FLAGSYNC_TEST_BACKOFF_MS=20
export FLAGSYNC_TEST_STUCK_GRACE_MS=300
plugin_dir_setup
# Under the sanitizer build ASan would catch the plugin's SIGSEGV and exit
# 1 (its report): let the signal kill the process, as in production.
SANITIZED=
if ldd "$FLAGSYNC" 2>/dev/null | grep -q libasan; then
	SANITIZED=yes
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
fi
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
wait_for() {
	local n=$(( $1 * 10 )); shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
	return 1
}
trap 'daemon_stop; cleanup' EXIT

with_config() {	# INI for plugins; interval 1 s, no jitter
	rm -rf "$T/state"
	: >"$T/daemon.log"
	write_config "$1"
	sed -i '/^\[agent\]/a interval = 1\njitter = 0' "$T/flagsync.ini"
}
# dead SEQ INSTANCE: the message of INSTANCE's dead letter for SEQ
dead() {
	fs deadletters --plugin "$2" --json 2>/dev/null |
	    jq -r ".[] | select(.seq == $1) | .error"
}

# --- sync: a webhook that segfaults on flag.killed
with_config "[plugin hook]
module = crash
crash_type = flag.killed

[plugin prom]
module = file
path = $T/prom.jsonl"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "the baseline sync exits 0 (no flag.killed in it)" 0 "$rc"
sim POST kill '{"ws":"Default","flag":"search_v2","killed":true}' >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
seq=$(last_seq)
check_eq "sync with an output that segfaults exits 1, not 139" 1 "$rc"
check "the healthy output got the flag.killed event" \
    grep -q '"flag.killed"' "$T/prom.jsonl"
check_match "the log names the instance, its module, the seq and the signal" \
    "plugin hook \\(module crash\\).*seq $seq.*SIGSEGV" "$(cat "$T/err")"
check_eq "the event is dead-lettered after 3 crashes" 3 \
    "$(grep -c "plugin hook (module crash).*seq $seq" "$T/err")"
check_match "... as crashed 3 times" "crashed 3 times" \
    "$(fs plugins --json | jq -r '.[] | select(.name=="hook") | .last_error')"
check_eq "... counted as its dead letter" 1 \
    "$(fs plugins --json | jq -r '.[] | select(.name=="hook") | .dead_letters')"
check_eq "... and its cursor moved past it" "$seq" \
    "$(fs plugins --json | jq -r '.[] | select(.name=="hook") | .cursor')"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "the next sync exits 0: the crash loop has ended" 0 "$rc"
check_eq "... without calling the plugin on that event again" "" \
    "$(grep "seq $seq" "$T/err")"

check_eq "with no agent running, plugins shows the outputs idle" "idle idle" \
    "$(fs plugins --json | jq -r '[.[].state] | join(" ")')"

# --- deadletters: list, --retry, --drop
check_eq "deadletters lists it: instance, seq, error" \
    "hook $seq crashed 3 times (last: killed by SIGSEGV)" \
    "$(fs deadletters --json | jq -r '.[] | "\(.instance) \(.seq) \(.error)"')"
check_match "... and as a table" "^hook +$seq +[0-9T:-]+Z +crashed 3 times" \
    "$(fs deadletters --plugin hook)"
sed -i 's/^crash_type = .*/crash_type = none/' "$T/flagsync.ini"
out=$(fs deadletters --plugin hook --retry 2>&1); rc=$?
check_eq "deadletters --retry without a daemon exits 0 once delivered" 0 "$rc"
check_eq "... the letter is gone" 0 "$(fs deadletters --json | jq length)"
check_eq "... and the cursor stayed where it was" "$seq" \
    "$(fs plugins --json | jq -r '.[] | select(.name=="hook") | .cursor')"
sed -i 's/^crash_type = .*/crash_type = flag.restored/' "$T/flagsync.ini"
sim POST kill '{"ws":"Default","flag":"search_v2","killed":false}' >/dev/null
fs sync >/dev/null 2>&1
rseq=$(last_seq)
check_eq "a new dead letter" "$rseq" "$(fs deadletters --plugin hook --json | jq -r '.[].seq')"
fs deadletters --plugin hook --drop 999999 >/dev/null 2>&1; rc=$?
check_eq "--drop of a seq that has no letter exits 1" 1 "$rc"
fs deadletters --plugin hook --drop "$rseq" >/dev/null 2>&1; rc=$?
check_eq "--drop SEQ exits 0" 0 "$rc"
check_eq "... and the letter is gone" 0 "$(fs deadletters --json | jq length)"
fs deadletters --retry >/dev/null 2>&1; rc=$?
check_eq "--retry without --plugin is a usage error" 2 "$rc"

# --- a crash during `replay --state` ends too, and never moves the cursor
with_config "[plugin hook]
module = crash
crash_type = *
crash_replay = yes"
fs sync >/dev/null 2>&1
before=$(fs plugins --json | jq -r '.[0].cursor')
fs replay --plugin hook --state >/dev/null 2>"$T/err"; rc=$?
check_eq "replay --state into an output that crashes on replayed items exits 1" 1 "$rc"
check_eq "... after 3 crashes, naming the state-replay item" 3 \
    "$(grep -c 'plugin hook (module crash): state-replay item [0-9]*: .*SIGSEGV' "$T/err")"
item=$(sed -n 's/.*state-replay item \([0-9]*\): .*/\1/p' "$T/err" | tail -1)
check_eq "... its letter kept apart as a replay item, none counted for hook, the cursor not moved" \
    "hook 0 true $item 0 $before" \
    "$(fs deadletters --json | jq -r '.[] | "\(.instance) \(.seq) \(.replay) \(.item)"') $(fs plugins --json | jq -r '.[0] | "\(.dead_letters) \(.cursor)"')"
fs sync >/dev/null 2>&1; rc=$?
check_eq "... and the replay given up: the next sync exits 0" 0 "$rc"

# --- the crash count is durable: one crash per sync, three syncs
with_config "[plugin hook]
module = crash
crash_type = flag.killed
log = $T/hook0.log"
sed -i '/^\[agent\]/a deliver_timeout = 2' "$T/flagsync.ini"
fs sync >/dev/null 2>&1
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null
kseq0=
for i in 1 2 3; do
	# a restart backoff longer than deliver_timeout: one crash per sync
	FLAGSYNC_TEST_RETRY_MS=60000 fs sync >/dev/null 2>"$T/err$i"
	[ -n "$kseq0" ] || kseq0=$(last_seq)
done
check_match "the first sync counts crash 1" "seq $kseq0: .*\(crash 1 on this event\)" "$(cat "$T/err1")"
check_match "the next sync, a new process, counts crash 2" "seq $kseq0: .*\(crash 2 on this event\)" "$(cat "$T/err2")"
check_match "the third dead-letters it" "seq $kseq0: .*crashed 3 times on it: dead letter kept" "$(cat "$T/err3")"
FLAGSYNC_TEST_RETRY_MS=60000 fs sync >/dev/null 2>&1; rc=$?
check_eq "the crash loop across agent runs has ended: the next sync exits 0" 0 "$rc"
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":false}' >/dev/null

# --- run: the same plugin under the daemon
with_config "[plugin hook]
module = crash
crash_type = flag.killed
log = $T/hook.log

[plugin prom]
module = file
path = $T/prom2.jsonl"
sim POST kill '{"ws":"Default","flag":"search_v2","killed":false}' >/dev/null
daemon_start
check "the daemon delivers the baseline to both" wait_for 10 sh -c \
    "[ -s '$T/hook.log' ] && [ \$(wc -l <'$T/prom2.jsonl') -ge 6 ]"
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null
check "the other output gets the kill" wait_for 10 grep -q '"flag.killed"' "$T/prom2.jsonl"
check "the crashing instance is dead-lettered after 3 crashes" wait_for 10 \
    grep -q "plugin hook: .*crashed 3 times" "$T/daemon.log"
check "the daemon is still running" kill -0 "$DPID"
kseq=$(fs events --type flag.killed --json | jq -r .seq | tail -1)
check_eq "3 deliveries of the killing event, then no more" 3 \
    "$(grep -c "^$kseq flag.killed" "$T/hook.log")"
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":false}' >/dev/null
check "polling goes on: the next change reaches both outputs" wait_for 10 sh -c \
    "grep -q flag.restored '$T/prom2.jsonl' && grep -q flag.restored '$T/hook.log'"
check_match "plugins shows the restarts" '^[1-9]' \
    "$(fs plugins --json | jq -r '.[] | select(.name=="hook") | .restarts')"
daemon_stop

# --- a plugin that aborts in init()
with_config "[plugin boom]
module = abortinit

[plugin prom]
module = file
path = $T/prom3.jsonl"
daemon_start
check "an output that aborts in init() does not stop the others" wait_for 10 \
    sh -c "[ \$(wc -l <'$T/prom3.jsonl' 2>/dev/null || echo 0) -ge 6 ]"
check "it is logged with its instance and signal" wait_for 10 \
    grep -q "plugin boom (module abortinit).*SIGABRT" "$T/daemon.log"
check "... and restarted with backoff" wait_for 10 sh -c \
    "[ \$(grep -c 'plugin boom (module abortinit)' '$T/daemon.log') -ge 2 ]"
check_eq "plugins says it crashed" crashed \
    "$(fs plugins --json | jq -r '.[] | select(.name=="boom") | .state')"
check "the daemon is still running" kill -0 "$DPID"
daemon_stop

# --- a plugin that hangs in deliver()
with_config "[plugin slow]
module = hang
hang_type = flag.killed
timeout = 1
log = $T/slow.log

[plugin prom]
module = file
path = $T/prom4.jsonl"
daemon_start
check "baseline delivered" wait_for 10 sh -c "[ \$(wc -l <'$T/prom4.jsonl' 2>/dev/null || echo 0) -ge 6 ]"
sim POST kill '{"ws":"Default","flag":"search_v2","killed":true}' >/dev/null
check "a hung deliver() is reported stuck" wait_for 10 \
    grep -q "plugin slow: deliver() of event [0-9]* has not returned" "$T/daemon.log"
check "... killed and restarted" wait_for 10 \
    grep -q "plugin slow (module hang).*SIGKILL" "$T/daemon.log"
check "... and dead-lettered after 3 kills" wait_for 20 \
    grep -q "plugin slow: .*crashed 3 times" "$T/daemon.log"
sim POST kill '{"ws":"Default","flag":"search_v2","killed":false}' >/dev/null
check "then it delivers the next event" wait_for 10 grep -q flag.restored "$T/slow.log"
check "the other output went on" grep -q flag.restored "$T/prom4.jsonl"
left=$(pgrep -P "$DPID" | wc -l)
daemon_stop
check_eq "no process is left behind after the daemon stops" "" \
    "$(pgrep -f "__outproc $T/flagsync.ini" || true)"

# --- a plugin that leaks until it dies
if [ -n "$SANITIZED" ]; then
	# ASan's allocator cannot live under the plugin's RLIMIT_DATA
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N # SKIP the leak under the sanitizer build"
	done_testing
	exit $?
fi
with_config "[plugin leaky]
module = leak
leak_mb = 40
leak_limit_mb = 100
log = $T/leak.log

[plugin prom]
module = file
path = $T/prom5.jsonl"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "sync with a leaking output exits 1" 1 "$rc"
check "the other output got every event" sh -c \
    "[ \$(wc -l <'$T/prom5.jsonl') -eq $(last_seq) ]"
check_match "the leaking instance was logged and restarted" \
    "plugin leaky \\(module leak\\).*SIGSEGV" "$(cat "$T/err")"
check_eq "... and went on past it: each event dead-lettered or taken" \
    "$(last_seq)" "$(fs plugins --json | jq -r '.[] | select(.name=="leaky") | .cursor')"

done_testing
