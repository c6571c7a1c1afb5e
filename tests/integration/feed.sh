#!/bin/sh
# The change feed (splitChanges with an SDK key): the same events as the
# full Admin listing, no Admin request when nothing changed, a crash never
# skips a change, a refused SDK key falls back without deleting, tags
# arrive with the next full listing, Harness tokens go as x-api-key.
. "$SRCDIR/tests/integration/lib.sh"

sim_start --generate 120 --seed 11
write_config "sdk_key_file = $T/sdk-key"
printf 'sim-sdk-key\n' >"$T/sdk-key"
chmod 600 "$T/sdk-key"
sed -i "s|^\[split\]|[split]\nsdk_url = $SIM_URL/api\nfull_sync = 1h|" \
    "$T/flagsync.ini"
# the same account polled without a feed, for comparison
sed -e "s|^state_dir = .*|state_dir = $T/admin|" -e '/^sdk_key_file/d' \
    "$T/flagsync.ini" >"$T/admin.ini"
mkdir -p "$T/admin"
fa() { "$FLAGSYNC" -c "$T/admin.ini" "$@"; }

admin_requests() { sim GET stats | jq '.api_requests'; }
sdk_requests() { sim GET stats | jq '.sdk_requests'; }
# both agents poll; each one's events of that poll, without seq and time
both_sync() {
	a=$(fs status --json | jq .events.last)
	b=$(fa status --json | jq .events.last)
	fs sync >/dev/null 2>>"$T/feed.err" || echo "feed sync failed" >>"$T/feed.err"
	fa sync >/dev/null 2>>"$T/admin.err" || echo "admin sync failed" >>"$T/admin.err"
	fs events --since "$a" --json | jq -cS 'del(.seq, .time)' | sort >"$T/ev.feed"
	fa events --since "$b" --json | jq -cS 'del(.seq, .time)' | sort >"$T/ev.admin"
}

# ---- first cycle: the full listing, and the change number with it
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "first feed sync exits 0" 0 "$rc"
check_eq "the first cycle lists every flag" 120 "$(fs flags --json | jq length)"
check "the change number is stored with the state" \
    test "$(fs status --json | jq '.sources[] | select(.source == "split:Default") | .change_number')" -gt 0
check_eq "status says the full listing ran" admin \
    "$(fs status --json | jq -r '.sources[] | select(.source == "split:Default") | .mode')"
fa sync >/dev/null 2>&1

# ---- a cycle with nothing new: no Admin request, nothing written
sim DELETE stats >/dev/null
tx=$(txnid)
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "no-change feed sync exits 0" 0 "$rc"
check_eq "no-change cycle: 0 Admin API requests" 0 "$(admin_requests)"
check_eq "no-change cycle: 1 SDK request" 1 "$(sdk_requests)"
check_eq "no-change cycle: no LMDB transaction" "$tx" "$(txnid)"
check_eq "status says the feed was used" feed \
    "$(fs status --json | jq -r '.sources[] | select(.source == "split:Default") | .mode')"
check_match "the cycle's line counts its requests" \
    'cycle done in [0-9.]+ s: 0 Admin API requests, 1 change feed request' "$(cat "$T/err")"
check_match "status shows when the full listing runs next" \
    'next_full' "$(fs status --json | jq -c '.sources[] | select(.source == "split:Default")')"

# ---- the same changes, polled both ways, give the same events
: >"$T/feed.err"; : >"$T/admin.err"
step() {	# NAME: both poll after a change; their events must be equal
	both_sync
	if [ -s "$T/ev.feed" ] && cmp -s "$T/ev.feed" "$T/ev.admin"; then
		ok "$1: feed and full listing record the same events ($(wc -l <"$T/ev.feed"))"
	else
		not_ok "$1: feed and full listing record the same events"
		diag "feed:" "$(cat "$T/ev.feed")" "admin:" "$(cat "$T/ev.admin")"
	fi
}
sim POST kill '{"ws":"Default","flag":"flag_00003","killed":true}' >/dev/null
sim DELETE stats >/dev/null
step "a kill"
check_eq "a kill costs 2 Admin requests for the feed agent (plus the admin agent's listing)" \
    2 "$(sim GET requests | jq '[.requests[] | select(.path | test("/splits/ws/[^/]+/flag_00003"))] | length')"
sim POST default_rule '{"ws":"Default","flag":"flag_00005","default_rule":[{"treatment":"on","size":50},{"treatment":"off","size":50}]}' >/dev/null
sim POST add_rule '{"ws":"Default","flag":"flag_00007"}' >/dev/null
step "a rollout change and a new rule"
sim POST flag '{"ws":"Default","flag":"brand_new","tags":["SHOP-900"],"description":"see PAY-9","definition":{}}' >/dev/null
step "a new flag with a tag and a description"
sim DELETE 'definition?ws=Default&flag=flag_00009&env=Production' >/dev/null
step "a definition removed"
sim DELETE 'flag?ws=Default&flag=flag_00010' >/dev/null
step "a flag deleted (ARCHIVED in the feed)"
sim POST touch '{"ws":"Default","flag":"flag_00011"}' >/dev/null
sim POST kill '{"ws":"Default","flag":"flag_00011","killed":true}' >/dev/null
sim POST kill '{"ws":"Default","flag":"flag_00011","killed":false}' >/dev/null
step "three saves of one flag between two polls"
check_eq "no sync failed on either side" "" "$(cat "$T/feed.err" "$T/admin.err" | grep -v 'cycle done\|project .Default' | grep -i 'fail\|error')"

# ---- many changes: paging costs less than a fetch per flag
i=20; n=0
while [ $i -lt 80 ]; do
	sim POST touch "{\"ws\":\"Default\",\"flag\":\"flag_000$i\"}" | grep -q '"ok": *true' && n=$((n + 1))
	i=$((i + 1))
done
fs sync >/dev/null 2>"$T/err"
check_match "$n changes in 120 flags: the cycle pages, and says so" \
    "reports $n flags: paging \([0-9]+ requests\) rather than fetching each \($((2 * n))\)" "$(cat "$T/err")"
sim POST touch '{"ws":"Default","flag":"flag_00090"}' >/dev/null
fs sync >/dev/null 2>"$T/err"
check_match "one change: the cycle fetches it, and says so" \
    "reports 1 flags: fetching each \(2 requests\) rather than paging" "$(cat "$T/err")"

# ---- a reported flag the Admin API no longer knows (404) is deleted...
sim POST touch '{"ws":"Default","flag":"flag_00050"}' >/dev/null
sim POST fault '{"match":"/splits/ws/[^/]+/flag_00050$","kind":"status","status":404,"count":1}' >/dev/null
s0=$(last_seq)
fs sync >/dev/null 2>&1
check_match "a reported flag answering 404 is deleted" \
    "flag.deleted Default/flag_00050" "$(events_since "$s0")"
sim DELETE fault >/dev/null
# ...but when most reported flags answer 404, the key lost sight of them
for f in flag_00060 flag_00061 flag_00062; do
	sim POST touch "{\"ws\":\"Default\",\"flag\":\"$f\"}" >/dev/null
done
sim POST fault '{"match":"/splits/ws/[^/]+/flag_0006[0-2]$","kind":"status","status":404,"count":3}' >/dev/null
s0=$(last_seq)
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "3 of 3 reported flags answering 404: the project fails (exit 1)" 1 "$rc"
check_eq "... and nothing is deleted" "" "$(events_since "$s0")"
check_match "... saying why" "3 of the 3 flags the change feed reported answered 404" \
    "$(fs status --json | jq -r '.sources[] | select(.source == "split:Default") | .error')"
sim DELETE fault >/dev/null
fs sync >/dev/null 2>&1; rc=$?
check_eq "the next cycle reads the same changes again and succeeds" 0 "$rc"

check_eq "the feed was asked for gzip and got it" true \
    "$(sim GET 'requests?api=sdk' | jq '[.requests[] | select(.status == 200) | .gzip] | all and length > 0')"

# ---- a crash between reading the feed and the commit loses nothing
needs_test_hooks
sim POST kill '{"ws":"Default","flag":"flag_00030","killed":true}' >/dev/null
sim POST fault '{"match":"/splits/ws/[^/]+/flag_00030$","kind":"slow","delay":30,"count":1}' >/dev/null
sim DELETE requests >/dev/null
s0=$(last_seq)
"$FLAGSYNC" -c "$T/flagsync.ini" sync >/dev/null 2>&1 &
pid=$!
i=0
until [ "$(sim GET stats | jq .in_flight)" -ge 1 ] 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.1
done
kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
check_eq "killed while fetching: nothing committed" "$s0" "$(last_seq)"
sim DELETE fault >/dev/null
fs sync >/dev/null 2>&1
check_match "the next sync records the kill the crashed one had read" \
    "flag.killed Default/flag_00030" "$(events_since "$s0")"

# ---- a refused SDK key: full listing instead, nothing deleted
printf 'not-an-sdk-key\n' >"$T/sdk-key"
n0=$(fs flags --json | jq length)
sim DELETE stats >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "a refused SDK key still syncs (the full listing), exit 0" 0 "$rc"
check_eq "nothing deleted" "$n0" "$(fs flags --json | jq length)"
check "the full listing ran instead" test "$(admin_requests)" -gt 2
src=$(fs status --json | jq -c '.sources[] | select(.source == "split:Default")')
check_match "status names the refused SDK key" 'refused the SDK key \(401\).*\[project Default\] sdk_key_file' "$src"
check_eq "status says the listing was used" admin "$(echo "$src" | jq -r .mode)"
printf 'sim-sdk-key\n' >"$T/sdk-key"

# ---- tags do not move the feed: they arrive with the next full listing
sed -i 's/^full_sync = 1h/full_sync = 10s/' "$T/flagsync.ini"
fs sync >/dev/null 2>&1
sim PATCH flag '{"ws":"Default","flag":"flag_00040","set":{"tags":["CORE-77"]}}' >/dev/null
fs sync >/dev/null 2>&1
check_eq "a tag edit alone: no link yet (the feed does not move)" "" \
    "$(fs issue CORE-77 --json 2>/dev/null | jq -r '.flags[].flag' 2>/dev/null)"
i=0
until fs issue CORE-77 --json 2>/dev/null | jq -e '.flags[] | select(.flag == "flag_00040")' >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 600 ] && break
	sleep 0.1; fs sync >/dev/null 2>&1
done
check "the tag's link arrives with the next full listing (full_sync = 10s)" \
    fs issue CORE-77 --json

# ---- a long listing says how far it got (a line every 10 s; 0.3 s here)
rm -f "$T/state/polls.json"
sed -i 's/^max_rps = 0/max_rps = 4/' "$T/flagsync.ini"
FLAGSYNC_TEST_PROGRESS_MS=300 fs sync -v >/dev/null 2>"$T/err"
check_match "progress: flags listed of the known total, time left at max_rps" \
    'Default: [0-9,]+ of 12[0-9] flags listed, [0-9]+ s left at 4 requests/s' "$(cat "$T/err")"
check_match "progress: then flags defined" \
    'Default: [0-9,]+ of 12[0-9] flags defined, [0-9]+ s left' "$(cat "$T/err")"
sed -i 's/^max_rps = 4/max_rps = 0/' "$T/flagsync.ini"

# ---- Harness tokens go in x-api-key
sim POST key '{"type":"pat","key":"pat.flagsync.test","workspaces":"*"}' >/dev/null
printf 'pat.flagsync.test\n' >"$T/split-key"
sim DELETE requests >/dev/null
rm -f "$T/state/polls.json"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "a pat. token syncs" 0 "$rc"
check_eq "every Admin request carried it as x-api-key" "x-api-key" \
    "$(sim GET requests | jq -r '[.requests[] | select(.path | startswith("/internal")) | .auth] | unique | join(",")')"
sed -i 's/^\[split\]/[split]\nauth = bearer/' "$T/flagsync.ini"
rm -f "$T/state/polls.json"
fs sync >/dev/null 2>"$T/err"; rc=$?
check "auth = bearer sends it as Bearer, which Harness refuses" test "$rc" -ne 0

done_testing
