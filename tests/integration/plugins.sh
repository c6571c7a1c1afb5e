#!/bin/sh
# Output plugins through the real binary and real dlopen: refusals with
# clear messages, RETRY then OK in order, FAIL to dead letters, the file
# plugin's lines against the event log, a hung plugin not holding up the
# others, replay, and retention that waits for every instance.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_RETRY_MS=30
plugin_dir_setup
sim_start --state "$SRCDIR/tests/integration/base-state.json"

# with_plugins INI-TEXT: a fresh state and config with those sections.
with_plugins() {
	rm -rf "$T/state"
	write_config "$1"
}

with_plugins "[plugin bad]
module = abi2"
err=$(fs check-config 2>&1); rc=$?
check_eq "foreign ABI major: check-config exits 2" 2 "$rc"
check_match "... naming the file and both versions" "abi2.so: plugin ABI 2\.0, but this flagsync speaks ABI 1\.3" "$err"
err=$(fs sync 2>&1); rc=$?
check_eq "foreign ABI major: sync exits 1" 1 "$rc"
check_match "... and says the output could not start" "abi2.so: plugin ABI 2\.0" "$err"
check_eq "plugins shows it refused with the reason" "refused" \
    "$(fs plugins --json | jq -r '.[0].state')"
check_match "plugins: last_error names the file" "abi2.so" "$(fs plugins --json | jq -r '.[0].last_error')"

with_plugins "[plugin bad]
module = nosym"
err=$(fs check-config 2>&1); rc=$?
check_eq "missing symbol: check-config exits 2" 2 "$rc"
check_match "... naming the file and the symbol" "nosym.so: no 'flagsync_plugin' symbol" "$err"

with_plugins "[plugin bad]
module = nothere"
err=$(fs check-config 2>&1); rc=$?
check_eq "missing file: check-config exits 2" 2 "$rc"
check_match "... naming the path" "nothere.so: no such plugin file" "$err"

with_plugins "[plugin bad]
module = testplug
init_fail = yes"
err=$(fs sync 2>&1); rc=$?
check_eq "init failure: sync exits 1" 1 "$rc"
check_match "... with the plugin's reason" "plugin bad refused: init_fail is set" "$err"

# The bundled file and syslog modules name the line of the key they refuse
# (config_error()), not the section's.
with_plugins "[plugin audit]
module = file
path = $T/audit.jsonl
fsync = maybe

[plugin sl]
module = syslog
facility = nowhere"
fline=$(grep -n '^fsync = maybe' "$T/flagsync.ini" | cut -d: -f1)
sline=$(grep -n '^facility = nowhere' "$T/flagsync.ini" | cut -d: -f1)
err=$(fs check-config 2>&1); rc=$?
check_eq "file fsync = maybe, syslog facility = nowhere: check-config exits 2" 2 "$rc"
check_match "... file names the fsync line ($fline)" \
    "flagsync\.ini:$fline: \[plugin audit\] fsync: \"maybe\" is not yes/no" "$err"
check_match "... syslog names the facility line ($sline)" \
    "flagsync\.ini:$sline: \[plugin sl\] facility: facility = \"nowhere\": use kern" "$err"
err=$(fs sync 2>&1)
check_match "... and so do their init() in sync" \
    "plugin audit refused: .*flagsync\.ini:$fline: \[plugin audit\] fsync:" "$err"

# A module anyone but root and us could have written is not loaded.
mkdir -p "$T/mods"
chmod 755 "$T/mods"
cp "$BUILDDIR/tests/plugins/.libs/testplug.so" "$T/mods/tp.so"
chmod 755 "$T/mods/tp.so"
with_plugins "[plugin p]
module = $T/mods/tp.so"
err=$(fs check-config 2>&1); rc=$?
check_eq "a module owned by us, mode 755, in a 755 directory loads" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$err"
chmod 775 "$T/mods/tp.so"
err=$(fs check-config 2>&1); rc=$?
check_eq "a group-writable module: check-config exits 2" 2 "$rc"
check_match "... naming the file, the reason and the fix" \
    "mods/tp\.so: refusing to load: writable by group or others \(mode 775\); run chmod go-w " "$err"
err=$(fs sync 2>&1); rc=$?
check_eq "... and sync refuses it too" 1 "$rc"
check_match "... saying why" "tp\.so: refusing to load" "$err"
chmod 755 "$T/mods/tp.so"
chmod 777 "$T/mods"
err=$(fs check-config 2>&1); rc=$?
check_eq "a module in a world-writable directory: exit 2" 2 "$rc"
check_match "... naming the directory" "mods: refusing to load .*tp\.so.*writable by group or others \(mode 777\); run chmod go-w " "$err"
chmod 755 "$T/mods"
if [ "$(id -u)" -eq 0 ]; then
	chown 65534 "$T/mods/tp.so"
	err=$(fs check-config 2>&1); rc=$?
	check_eq "a module owned by another user: exit 2" 2 "$rc"
	check_match "... saying whose it is and the fix" \
	    "tp\.so: refusing to load: owned by uid 65534, not root or uid 0; run chown root " "$err"
	chown 0 "$T/mods/tp.so"
else
	ok "# SKIP chown needs root"
	ok "# SKIP chown needs root"
fi
ln -sf "$T/mods/tp.so" "$T/plugins/linked.so"
with_plugins "[plugin p]
module = linked"
err=$(fs check-config 2>&1); rc=$?
check_eq "a symlink in the plugin directory to a safe module loads" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$err"

# A plugin that fills its error buffer without a NUL: the host ends it.
with_plugins "[plugin nt]
module = testplug
noterm = yes"
fs sync >/dev/null 2>"$T/err"
msg=$(mdb_dump -a -p "$T/state" | grep -F '"instance":"nt"' | head -1 |
    sed 's/.*"message":"\([^"]*\)".*/\1/')
check_eq "an unterminated error is cut at the buffer: 511 x in the dead letter" \
    511 "$(printf '%s' "$msg" | tr -d '\n' | wc -c)"
check_match "... and only x" '^x+$' "$msg"
line=$(grep -m1 'event 1 failed' "$T/err" | sed 's/.*failed: \(.*\); dead letter kept$/\1/')
check_eq "... and in the log line" 511 "$(printf '%s' "$line" | wc -c)"

# RETRY three times then OK: that event four times, then the next in order.
with_plugins "[plugin flaky]
module = testplug
retry = 3
log = $T/flaky.log"
rm -f "$T/flaky.log"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "RETRY x3 then OK: sync exits 0 once all is delivered" 0 "$rc"
check_eq "each event four times, in seq order" \
    "$(for s in 1 2 3 4 5 6; do for a in 1 2 3 4; do echo "$s $a"; done; done)" \
    "$(awk '{ sub("attempt=", "", $3); print $1, $3 }' "$T/flaky.log")"
check_eq "plugins --json has the keys flagsync(8) lists" \
    "name,module,abi,version,state,cursor,backlog,dead_letters,restarts,last_error" \
    "$(fs plugins --json | jq -r '.[0] | keys_unsorted | join(",")')"
check_eq "cursor at the last event, backlog 0" "6 0 1.3" \
    "$(fs plugins --json | jq -r '.[0] | "\(.cursor) \(.backlog) \(.abi)"')"
check_eq "status carries the plugin backlogs too" "flaky 0" \
    "$(fs status --json | jq -r '.plugins[0] | "\(.name) \(.backlog)"')"
check_match "status table lists the output" "^flaky +testplug" "$(fs status)"

# FAIL: a dead letter, and the next events still arrive.
with_plugins "[plugin picky]
module = testplug
fail_type = link.*
log = $T/picky.log"
fs sync >/dev/null 2>&1; rc=$?
check_eq "FAIL: sync exits 1 (a dead-lettered event is not delivered)" 1 "$rc"
check_eq "FAIL: one dead letter per refused event" "3 6" \
    "$(fs plugins --json | jq -r '.[0] | "\(.dead_letters) \(.cursor)"')"
check_match "FAIL: last_error is the plugin's message" "link.added events are not welcome" \
    "$(fs plugins --json | jq -r '.[0].last_error')"

# The file plugin: one line per event, exactly the event log.
with_plugins "[plugin audit]
module = file
path = $T/audit.jsonl

[plugin flags_only]
module = file
events = flag.*
path = $T/flags.jsonl"
fs sync >/dev/null 2>&1
check_eq "file plugin lines are the events, byte for byte" "$(fs events --json)" "$(cat "$T/audit.jsonl")"
check_eq "every line validates: the keys of an event (flagsync-plugin(3))" 0 \
    "$(jq -c 'select((has("seq") and has("time") and has("type") and has("project") and has("flag")) | not)' "$T/audit.jsonl" | wc -l | tr -d ' ')"
check_eq "events = flag.* selects flag events only" "flag.created flag.created flag.created" \
    "$(jq -r .type "$T/flags.jsonl" | paste -sd' ' -)"
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null
fs sync >/dev/null 2>&1
check_eq "the next sync appends only the new event" "flag.killed" "$(tail -1 "$T/audit.jsonl" | jq -r .type)"
check_eq "... once" 7 "$(wc -l <"$T/audit.jsonl" | tr -d ' ')"

out=$(fs replay --plugin audit --from 5 2>&1); rc=$?
check_eq "replay --from 5 exits 0" 0 "$rc"
check_eq "replay delivers 5.. again" "5 6 7" "$(tail -3 "$T/audit.jsonl" | jq -r .seq | paste -sd' ' -)"
fs replay --plugin nosuch >/dev/null 2>&1; rc=$?
check_eq "replay of an unknown instance exits 2" 2 "$rc"

# A plugin that never returns holds up neither the other output nor sync.
with_plugins "[plugin stuck]
module = testplug
hang = yes
timeout = 1

[plugin audit]
module = file
path = $T/audit2.jsonl"
sed -i '/^\[agent\]/a deliver_timeout = 2' "$T/flagsync.ini"
start=$(date +%s)
fs sync >/dev/null 2>"$T/err"; rc=$?
took=$(( $(date +%s) - start ))
check_eq "a hung plugin: sync exits 1" 1 "$rc"
check "... within deliver_timeout plus the stop grace ($took s)" test "$took" -le 12
check_eq "... while the other output got every event" 6 "$(wc -l <"$T/audit2.jsonl" | tr -d ' ')"
check_match "... and the hang is reported" "has not returned|not delivered" "$(cat "$T/err")"

# Retention never prunes what an instance has not taken.
with_plugins "[plugin never]
module = testplug
init_fail = yes"
sed -i '/^\[agent\]/a retention = 1s' "$T/flagsync.ini"
fs sync >/dev/null 2>&1; sleep 2; fs sync >/dev/null 2>&1
check_eq "retention waits for an instance that took nothing" 1 "$(fs status --json | jq .events.first)"
sed -i '/^\[plugin never\]/,$d' "$T/flagsync.ini"
fs sync >/dev/null 2>&1
check_eq "with every instance caught up, old events are pruned" 0 "$(fs status --json | jq .events.first)"

done_testing
