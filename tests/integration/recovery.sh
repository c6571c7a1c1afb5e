#!/bin/sh
# Recovering from a damaged cache without losing what only this host has:
# `links export` / `links import` carry the local links, and `rebuild`
# moves the damaged cache aside (never deleting it), saves its local links
# and events next to it, syncs a new cache and restores the local links.
. "$SRCDIR/tests/integration/lib.sh"

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config
fs sync >/dev/null 2>&1
fs link new_checkout OPS-9 >/dev/null 2>&1
fs link dark_mode OPS-10 >/dev/null 2>&1
nevents=$(last_seq)

fs links export "$T/local.jsonl" >/dev/null 2>&1; rc=$?
check_eq "links export exits 0" 0 "$rc"
check_eq "links export writes the local links, one JSON object a line" \
    '{"project":"Default","flag":"dark_mode","issue":"OPS-10"}
{"project":"Default","flag":"new_checkout","issue":"OPS-9"}' \
    "$(sort "$T/local.jsonl")"
check_eq "links export to stdout is the same" "$(sort "$T/local.jsonl")" \
    "$(fs links export | sort)"

# damage_event1: event 1's text no longer parses (every copy of it: old
# pages LMDB has not reused yet may hold one too).
damage_event1() {
	python3 - "$T/state/data.mdb" <<'PY'
import sys
p = sys.argv[1]
data = open(p, "rb").read()
assert b'{"seq":1,"time"' in data, "event 1 not found"
data = data.replace(b'{"seq":1,"time"', b'X"seq":1,"time"')
open(p, "wb").write(data)
PY
}

damage_event1
err=$(fs events 2>&1); rc=$?
check_eq "a damaged event: events exits 1" 1 "$rc"
check_match "... and says the cache is damaged" "damaged" "$err"

fs rebuild >"$T/out" 2>"$T/err"; rc=$?
check_eq "rebuild exits 0" 0 "$rc"
aside=$(sed -n 's/^rebuild: the old cache is kept in //p' "$T/out")
check "the damaged cache is kept, renamed" test -s "$aside/data.mdb"
check_match "the aside directory is in state_dir" "^$T/state/damaged-" "$aside"
check_eq "its local links are saved next to it" "$(sort "$T/local.jsonl")" \
    "$(sort "$aside/local-links.jsonl")"
check_eq "its events are saved next to it" "$nevents" \
    "$(wc -l <"$aside/events.jsonl" | tr -d ' ')"
check_eq "the new cache has every flag" "dark_mode,new_checkout,old_banner,search_v2" \
    "$(fs flags --json | jq -r '[.[].flag] | join(",")')"
check_eq "the local links are back, as local" "local
local" "$(fs events --type link.added --json |
    jq -r 'select(.issue == "OPS-9" or .issue == "OPS-10") | .sources[]')"
check_eq "queries work again" 0 "$(fs events >/dev/null 2>&1; echo $?)"
fs sync >/dev/null 2>&1; rc=$?
check_eq "and sync goes on from there" 0 "$rc"

# A zeroed meta page: nothing can be read from the old cache, so the
# local links come from the export.
python3 - "$T/state/data.mdb" <<'PY'
import sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
data[0:4096] = bytes(4096)
open(p, "wb").write(data)
PY
err=$(fs flags 2>&1); rc=$?
check_eq "a zeroed meta page: flags exits 1" 1 "$rc"
check_match "... naming the cache and the rebuild" \
    "cache at $T/state is damaged: .*flagsync rebuild" "$err"
fs rebuild >"$T/out" 2>"$T/err"; rc=$?
check_eq "rebuild of an unreadable cache exits 1 (local links not saved)" 1 "$rc"
check_match "... saying so and how to import an export" "links import" \
    "$(cat "$T/out" "$T/err")"
check_eq "both old caches are kept" 2 \
    "$(ls -d "$T"/state/damaged-*/data.mdb | wc -l | tr -d ' ')"
check_eq "the new cache works" 4 "$(fs flags --json | jq length)"
fs links import "$T/local.jsonl" >"$T/out" 2>&1; rc=$?
check_eq "links import exits 0" 0 "$rc"
check_match "... adding both" "^2 local links added" "$(cat "$T/out")"
check_eq "the local links are back" "$(sort "$T/local.jsonl")" \
    "$(fs links export | sort)"
fs links import "$T/local.jsonl" >"$T/out" 2>&1
check_match "importing again adds nothing" "^0 local links added, 2 already there" \
    "$(cat "$T/out")"

printf '%s\n' '{"project":"Default","flag":"nope","issue":"OPS-1"}' \
    'not json' '{"project":"Default","flag":"dark_mode","issue":"not-a-key"}' \
    >"$T/bad.jsonl"
fs links import "$T/bad.jsonl" >"$T/out" 2>"$T/err"; rc=$?
check_eq "links import of bad lines exits 1" 1 "$rc"
check_match "... naming file:line of each" "bad.jsonl:1: no flag 'nope'" "$(cat "$T/err")"
check_match "... and the line that is not JSON" "bad.jsonl:2: not a JSON object" "$(cat "$T/err")"
check_match "... and the bad issue key" "bad.jsonl:3: 'not-a-key' is not an issue key" "$(cat "$T/err")"

# rebuild takes the writer lock: with a sync running it changes nothing.
flock "$T/state/flagsync.lock" sleep 30 &
fpid=$!
i=0
while flock -n "$T/state/flagsync.lock" true; do
	i=$((i + 1)); [ $i -gt 200 ] && break; sleep 0.05
done
fs rebuild >"$T/out" 2>"$T/err"; rc=$?
check_eq "rebuild while the lock is held exits 1" 1 "$rc"
check "... and leaves the cache in place" test -s "$T/state/data.mdb"
kill $fpid 2>/dev/null; wait $fpid 2>/dev/null

done_testing
