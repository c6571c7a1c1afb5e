#!/bin/sh
# The command line: queries and their filters, --json anywhere, exit codes,
# events --follow, the writer lock, queries during a sync and offline.
. "$SRCDIR/tests/integration/lib.sh"

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config
fs sync >/dev/null 2>&1

check_eq "--json before or after the command is the same" \
    "$(fs --json flags)" "$(fs flags --json)"
check_eq "flags lists every flag" "dark_mode,new_checkout,old_banner,search_v2" \
    "$(fs flags --json | jq -r '[.[].flag] | join(",")')"
check_eq "flags --killed" "old_banner" "$(fs flags --killed --json | jq -r '[.[].flag] | join(",")')"
check_eq "flags --active" "new_checkout,search_v2" "$(fs flags --active --json | jq -r '[.[].flag] | join(",")')"
check_eq "flags --linked" "new_checkout,search_v2" "$(fs flags --linked --json | jq -r '[.[].flag] | join(",")')"
check_eq "flags --unlinked" "dark_mode,old_banner" "$(fs flags --unlinked --json | jq -r '[.[].flag] | join(",")')"
check_match "flags table has a header and a row per flag" "^PROJECT +FLAG +STATE" "$(fs flags | head -1)"
check_eq "flags table rows" 5 "$(fs flags | wc -l | tr -d ' ')"
check_eq "flag view keys in the documented order" \
    "project,environment,flag,active,killed,default_treatment,traffic_allocation,default_rule,rules,rollout,treatments,last_updated,url,tags,description,issues,events,issue_status" \
    "$(fs flag new_checkout --json | jq -r 'keys_unsorted | join(",")')"
check_eq "flag view url from the flag_url template" \
    "https://app.split.io/org/acme/ws/3e8a9f40-0000-11ee-0000-0a1b2c3d4e5f/splits/c0ffee00-0000-11ee-0000-0a1b2c3d4e5f/env/7a1c2f30-0000-11ee-0000-0a1b2c3d4e5f/definition" \
    "$(fs flag new_checkout --json | jq -r .url)"
check_eq "flag view last_updated is lastUpdateTime in RFC 3339" "2023-11-14T22:21:40Z" \
    "$(fs flag new_checkout --json | jq -r .last_updated)"
check_eq "flag NAME carries its recent events" "flag.created,link.added,link.added" \
    "$(fs flag new_checkout --json | jq -r '[.events[].type] | join(",")')"
fs flag nope >/dev/null 2>&1; rc=$?
check_eq "flag: unknown flag exits 1" 1 "$rc"
check_eq "issue KEY document" '{"issue":"SHOP-1","count":1,"active":1,"flags":["new_checkout"],"status":null}' \
    "$(fs issue SHOP-1 --json | jq -c '.flags |= map(.flag)')"

n=$(last_seq)
check_eq "events --limit N keeps the newest N" "$((n - 1)),$n" \
    "$(fs events --limit 2 --json | jq -r .seq | paste -sd, -)"
check_eq "events --since SEQ --limit N keeps the first N after SEQ" "2,3" \
    "$(fs events --since 1 --limit 2 --json | jq -r .seq | paste -sd, -)"
check_eq "events --type GLOB" "link.added,link.added,link.added" \
    "$(fs events --type 'link.*' --json | jq -r .type | paste -sd, -)"
check_eq "events --flag" "new_checkout" "$(fs events --flag new_checkout --json | jq -r .flag | sort -u)"
check_eq "events --issue" "PAY-42" "$(fs events --issue PAY-42 --type link.added --json | jq -r .issue)"
check_eq "events --since TIME in the future shows none" "" "$(fs events --since 2999-01-01T00:00:00Z --json)"
check_eq "events --since TIME in the past shows all" "$n" "$(fs events --since 2000-01-01 --json | wc -l | tr -d ' ')"

err=$(fs link "$(head -c 300 /dev/zero | tr '\0' f)" SHOP-1 2>&1); rc=$?
check_eq "link: a flag name longer than flagsync stores exits 2" 2 "$rc"
check_match "... saying the limit" "1 to 255 bytes" "$err"
fs frobnicate >/dev/null 2>&1; rc=$?
check_eq "unknown command exits 2" 2 "$rc"
fs flags --bogus >/dev/null 2>&1; rc=$?
check_eq "unknown option exits 2" 2 "$rc"
"$FLAGSYNC" --help >/dev/null 2>&1; rc=$?
check_eq "--help exits 0" 0 "$rc"
check_match "--version prints the version" "^flagsync [0-9]+\.[0-9]+" "$("$FLAGSYNC" --version)"

check_eq "export csv: a header and a row per flag" 5 "$(fs export --format csv | wc -l | tr -d ' ')"
check_eq "export json: every flag" 4 "$(fs export --format json | jq length)"
check_match "status --json: per-source poll status" '"source":"split:Default".*"ok":true' \
    "$(fs status --json | jq -c '.sources[]')"
check_match "status --json: last poll time" '"last_poll":"20' "$(fs status --json | jq -c '.sources[]')"

# events --follow prints events as they are committed.  --since the
# current last seq: however late the follower starts, it misses nothing.
s=$(last_seq)
( exec "$FLAGSYNC" -c "$T/flagsync.ini" events --follow --json --since "$s" \
    >"$T/follow" 2>&1 ) &
fpid=$!
sim POST kill '{"ws":"Default","flag":"search_v2","killed":true}' >/dev/null
fs sync >/dev/null 2>&1
wait_for 30 grep -q flag.killed "$T/follow"
kill -INT $fpid 2>/dev/null; wait $fpid; rc=$?
check_match "events --follow shows a new event" '"type":"flag.killed"' "$(cat "$T/follow")"
check_eq "events --follow ends cleanly on SIGINT" 0 "$rc"

# The writer lock.
sh -c 'exec 9<>"$1"; flock 9; echo $$ >"$1"; exec sleep 60' sh "$T/state/flagsync.lock" &
lpid=$!
wait_for 30 grep -qx "$lpid" "$T/state/flagsync.lock"
err=$(fs sync 2>&1); rc=$?
check_eq "a second writer exits 1" 1 "$rc"
check_match "... naming the pid that holds the lock" "pid $lpid" "$err"
kill $lpid 2>/dev/null; wait $lpid 2>/dev/null
fs sync >/dev/null 2>&1; rc=$?
check_eq "a dead holder leaves no stale lock" 0 "$rc"

# Queries work while a sync is running and when Split is down.
sim POST fault '{"match":"/splits/ws/[^/]+/environments/","kind":"slow","delay":5,"count":1}' >/dev/null
fs sync >/dev/null 2>&1 &
spid=$!
in_flight() { [ "$(sim GET stats | jq .in_flight)" -ge 1 ]; }
wait_for 30 in_flight
fs flags --json >"$T/during" 2>&1; rc=$?
running=no; kill -0 $spid 2>/dev/null && running=yes
check_eq "a query during a sync runs (sync still running: $running)" "0 yes" "$rc $running"
wait $spid

# A sync stopped by SIGTERM says so and never claims "no change".
sim DELETE requests >/dev/null
sim POST fault '{"match":"/splits/ws/[^/]+/environments/","kind":"slow","delay":30,"count":1}' >/dev/null
"$FLAGSYNC" -c "$T/flagsync.ini" sync >"$T/out" 2>/dev/null &
spid=$!
wait_for 30 in_flight
kill -TERM $spid; wait $spid; rc=$?
check_eq "a canceled sync exits 1" 1 "$rc"
check_nomatch "... and does not say 'no change'" "no change" "$(cat "$T/out")"
check_match "... it says canceled" "canceled" "$(cat "$T/out")"
sim DELETE fault >/dev/null

kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null; SIM_PID=
fs flags >/dev/null 2>&1 && fs issue SHOP-1 >/dev/null 2>&1 && fs events >/dev/null 2>&1 && fs status >/dev/null 2>&1; rc=$?
check_eq "queries work with Split unreachable" 0 "$rc"
fs sync >"$T/out" 2>/dev/null; rc=$?
check_eq "sync with Split unreachable exits 1" 1 "$rc"
check_nomatch "... and does not say 'no change'" "no change" "$(cat "$T/out")"

rm -rf "$T/state2"
sed "s|^state_dir = .*|state_dir = $T/state2|" "$T/flagsync.ini" >"$T/other.ini"
err=$("$FLAGSYNC" -c "$T/other.ini" flags 2>&1); rc=$?
check_eq "a query with no cache yet exits 1" 1 "$rc"
check_match "... and says to sync first" "sync" "$err"
check "... without creating the state directory" test ! -e "$T/state2/data.mdb"

done_testing
