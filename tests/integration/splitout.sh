#!/bin/sh
# The bundled split output (issue 13) through the real agent, the real
# split.so and the Split and Jira simulators: a links.yaml line tags its
# flag in Split and removing it untags it; a tag a person added is never
# claimed nor removed; a link held by Jira's field goes with its tag when
# the field is cleared (the tag flagsync wrote does not hold the link
# up); a 429 on tag writes is waited out while the poll and the other
# outputs go on; the plugin's requests and the poll's together keep to
# max_rps.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_BACKOFF_MS=20
export FLAGSYNC_TEST_RETRY_MS=200
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM

DPID=
so_cleanup() {
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
	cleanup
}
trap so_cleanup EXIT

# The tags of a Default flag in the simulator, comma-joined.
tags_of() {
	sim GET "flag?ws=Default&flag=$1" | jq -r '[.flag.tags[].name] | join(",")'
}
# "ISSUE (source, source)" of each link of a Default flag, space-joined.
links_of() {
	fs flag "$1" --project Default | sed -nE \
	    's/^  (issues {7}| {13})([A-Z][A-Z0-9]+-[0-9]+ \([a-z, -]+\)).*/\2/p' |
	    paste -sd' ' -
}
# The tag writes the simulator took, as "flag body".
tag_writes() {
	sim GET 'requests?api=admin' | jq -r '.requests[] |
	    select(.method == "POST" and (.path | test("/tags/ws/"))) |
	    "\(.path | split("/")[8]) \(.status) \(.body)"'
}
links_yaml() { printf 'links:\n%s' "$1" >"$T/links.yaml"; }
issue() {
	jira POST issue "{\"key\":\"$1\",\"fields\":{\"customfield_10050\":$2}}" >/dev/null
}
daemon_gone() { ! kill -0 "$DPID" 2>/dev/null ||
	[ "$(ps -o stat= -p "$DPID" 2>/dev/null | cut -c1)" = Z ]; }
daemon_stop() {
	kill -TERM "$DPID"
	wait_for 30 daemon_gone || kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
}

sim_start --state "$SRCDIR/tests/integration/base-state.json"
jira_start
plugin_dir_setup
printf 'sim-jira-token\n' >"$T/jira-token"
chmod 600 "$T/jira-token"
links_yaml '  - flag: search_v2
    issues: [SHOP-7]
'
write_config "[links]
file = $T/links.yaml
jira_field = customfield_10050

[jira]
url = $JIRA_URL
email = flagsync-bot@example.com
api_token_file = $T/jira-token
timeout = 5

[plugin tags]
module = split
timeout = 60

[plugin out]
module = file
path = $T/events.jsonl"
sed -i 's/^\[agent\]$/[agent]\ninterval = 1/' "$T/flagsync.ini"

err=$(fs check-config 2>&1); rc=$?
check_eq "check-config takes [plugin tags] module = split" 0 "$rc"
[ "$rc" = 0 ] || diag "$err"

cp "$T/flagsync.ini" "$T/good.ini"
printf '\n[plugin bad]\nmodule = split\nproperty = x\n' >>"$T/flagsync.ini"
err=$(fs check-config 2>&1); rc=$?
check_eq "a key the split module does not have is refused" 2 "$rc"
check_match "... naming its file, line and key" \
    "flagsync.ini:[0-9]+: \[plugin bad\] property: unknown key" "$err"
cp "$T/good.ini" "$T/flagsync.ini"
printf '\n[plugin bad]\nmodule = split\nevents = flag.*\n' >>"$T/flagsync.ini"
err=$(fs check-config 2>&1); rc=$?
check_match "events without link.* are refused: the output would never act" \
    "2 .*\[plugin bad\] events: \"flag\.\*\" leaves out link\.added" "$rc $err"
cp "$T/good.ini" "$T/flagsync.ini"

# ---- links.yaml -> tag; the line removed -> untagged
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "sync exits 0 (the split output delivered)" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
check_eq "links.yaml's SHOP-7 is a tag of search_v2 in Split" "SHOP-7" \
    "$(tags_of search_v2)"
check_eq "the write was the whole list, read first" \
    'search_v2 200 ["SHOP-7"]' "$(tag_writes)"
check_eq "a person's tags are not touched: new_checkout keeps its own" \
    "checkout,SHOP-1" "$(tags_of new_checkout)"
check_eq "flags whose links come from Split only cost no request" 0 \
    "$(sim GET 'requests?api=admin' | jq '[.requests[] | select(.path | test("/splits/ws/[^/]+/(new_checkout|old_banner|dark_mode)$"))] | length')"
fs sync >/dev/null 2>&1
check_eq "the tag flagsync wrote is not a split-tag link (file only)" \
    "PAY-42 (split-description) SHOP-7 (file)" "$(links_of search_v2)"
check_eq "plugins: tags caught up, no dead letters" "0 0" \
    "$(fs plugins --json | jq -r '.[] | select(.name == "tags") | "\(.backlog) \(.dead_letters)"')"

# A person's tag that a link also wants: not written, not claimed.
links_yaml '  - flag: search_v2
    issues: [SHOP-7]
  - flag: new_checkout
    issues: [SHOP-1, SHOP-9]
'
sim DELETE requests >/dev/null
fs sync >/dev/null 2>&1
check_eq "new_checkout gains SHOP-9; SHOP-1 was there already" \
    "checkout,SHOP-1,SHOP-9" "$(tags_of new_checkout)"
check_eq "... one write, the union with the person's tags" \
    'new_checkout 200 ["checkout","SHOP-1","SHOP-9"]' "$(tag_writes)"

links_yaml '  - flag: dark_mode
    issues: [SHOP-2]
'
sim DELETE requests >/dev/null
fs sync >/dev/null 2>&1
check_eq "the line removed: search_v2's tag is gone" "" "$(tags_of search_v2)"
check_eq "... and its link (the description's stays)" \
    "PAY-42 (split-description)" "$(links_of search_v2)"
check_eq "new_checkout: SHOP-9 (ours) gone, the person's SHOP-1 stays" \
    "checkout,SHOP-1" "$(tags_of new_checkout)"
check_eq "... which stays a split-tag link" \
    "SHOP-1 (split-tag) SHOP-7 (split-description)" \
    "$(links_of new_checkout)"
check_eq "the writes: the differences" \
    "$(printf '%s\n' 'dark_mode 200 ["SHOP-2"]' 'new_checkout 200 ["checkout","SHOP-1"]' 'search_v2 200 []')" \
    "$(tag_writes | sort)"

# ---- Jira's field: cleared -> tag and link go; a person's tag stays
links_yaml ''
issue SHOP-3 '"old_banner"'
issue SHOP-4 '"old_banner"'
sim PATCH flag '{"ws":"Default","flag":"old_banner","set":{"tags":["marketing","SHOP-4"]}}' >/dev/null
fs sync >/dev/null 2>&1
check_eq "jira-field: old_banner tagged SHOP-3; SHOP-4 the person's already" \
    "marketing,SHOP-4,SHOP-3" "$(tags_of old_banner)"
issue SHOP-3 'null'
issue SHOP-4 'null'
fs sync >/dev/null 2>&1
fs sync >/dev/null 2>&1
check_eq "Jira's field cleared: the tag flagsync added is gone" \
    "marketing,SHOP-4" "$(tags_of old_banner)"
check_eq "... and so is its link; the person's tag keeps SHOP-4 linked" \
    "SHOP-4 (split-tag)" "$(links_of old_banner)"
check_eq "no dead letters so far" 0 \
    "$(fs plugins --json | jq -r '.[] | select(.name == "tags") | .dead_letters')"

# ---- Split failing: 5xx retried, 403 waits, 404 a dead letter naming the flag
links_yaml '  - flag: dark_mode
    issues: [SHOP-11]
'
sim DELETE requests >/dev/null
sim POST fault '{"match":"/tags/ws/","kind":"status","status":503,"count":2}' >/dev/null
fs sync >/dev/null 2>&1; rc=$?
check_eq "two 503s on the write are retried within the delivery" \
    "0 SHOP-11" "$rc $(tags_of dark_mode)"
check_eq "... the request log shows them" "503 503 200" \
    "$(tag_writes | awk '{print $2}' | paste -sd' ' -)"
sim POST fault '{"match":"/tags/ws/","kind":"status","status":403,"count":-1}' >/dev/null
links_yaml '  - flag: dark_mode
    issues: [SHOP-11, SHOP-12]
'
fs sync >/dev/null 2>&1; rc=$?
check_eq "403 on the write: the event waits (sync exits 1, no dead letter)" \
    "1 0" "$rc $(fs plugins --json | jq -r '.[] | select(.name == "tags") | .dead_letters')"
check_match "... and plugins says why" 'refused the Admin API key \(403\)' \
    "$(fs plugins --json | jq -r '.[] | select(.name == "tags") | .last_error')"
sim DELETE fault >/dev/null
fs sync >/dev/null 2>&1; rc=$?
check_eq "the key fixed, the next sync writes it" "0 SHOP-11,SHOP-12" \
    "$rc $(tags_of dark_mode)"
sim POST fault '{"match":"/splits/ws/[^/]+/dark_mode$","kind":"status","status":404,"count":1}' >/dev/null
links_yaml '  - flag: dark_mode
    issues: [SHOP-11, SHOP-12, SHOP-13]
'
fs sync >/dev/null 2>&1
check_match "404 for the flag: a dead letter naming it" \
    "^tags [0-9]+ .*flag 'Default/dark_mode' not found in Split" \
    "$(fs deadletters --json | jq -r '.[] | "\(.instance) \(.seq) \(.error)"')"
fs deadletters --plugin tags --retry >/dev/null 2>&1
check_eq "... delivered again once Split has it: the letter goes, the tag comes" \
    "0 SHOP-11,SHOP-12,SHOP-13" \
    "$(fs deadletters --json | jq length) $(tags_of dark_mode)"

# ---- 429 on tag writes: waited out, while polling and the file output go on
sim POST fault '{"match":"/tags/ws/","kind":"ratelimit","count":-1,"reset_org":1,"reset_ip":2}' >/dev/null
links_yaml '  - flag: dark_mode
    issues: [SHOP-8]
'
sim DELETE requests >/dev/null
: >"$T/events.jsonl"
# Past its timeout the wait gives up at once (cancelled()), RETRY: not a
# call the supervisor has to kill.
cp "$T/flagsync.ini" "$T/good.ini"
sed -i -e 's/^timeout = 60$/timeout = 2/' \
    -e 's/^\[agent\]$/[agent]\ndeliver_timeout = 4/' "$T/flagsync.ini"
FLAGSYNC_TEST_STUCK_GRACE_MS=500 fs sync >/dev/null 2>&1; rc=$?
check_eq "still 429 past the instance's timeout: sync says not delivered" 1 "$rc"
check_match "... the output gave up the wait itself, saying why" \
    'given up for now .*still rate-limited it \(429\)' \
    "$(fs plugins --json | jq -r '.[] | select(.name == "tags") | .last_error')"
check_eq "... never killed as stuck, no dead letter" "0 0" \
    "$(fs plugins --json | jq -r '.[] | select(.name == "tags") | "\(.restarts) \(.dead_letters)"')"
cp "$T/good.ini" "$T/flagsync.ini"
( exec "$FLAGSYNC" -c "$T/flagsync.ini" run >"$T/daemon.log" 2>&1 ) &
DPID=$!
file_has_link() {
	jq -e 'select(.type == "link.added" and .issue == "SHOP-8")' \
	    "$T/events.jsonl" >/dev/null 2>&1
}
limited() { [ "$(tag_writes | grep -c ' 429 ')" -ge 2 ]; }
check "the file output gets link.added SHOP-8 while tag writes get 429" \
    wait_for 60 file_has_link
check "the split output is answered 429 at least twice" wait_for 60 limited
polls_during() {
	sim GET 'requests?api=admin' | jq '[.requests[] | select(.path | test("/environments/ws/"))] | length'
}
p0=$(polls_during)
polled() { [ "$(polls_during)" -gt "$p0" ]; }
check "... and the poll goes on meanwhile" wait_for 60 polled
check_eq "... so the tags are still the old ones" "SHOP-11,SHOP-12,SHOP-13" \
    "$(tags_of dark_mode)"
check_match "the wait is logged with Split's reset time" \
    'plugin tags: Split rate-limited POST .*\(429\): waiting 2000 ms' "$(cat "$T/daemon.log")"
sim DELETE fault >/dev/null
arrived() { [ "$(tags_of dark_mode)" = SHOP-8 ]; }
check "once Split takes writes again SHOP-8 arrives (and our old ones go)" \
    wait_for 60 arrived
check_eq "... with no dead letter" 0 \
    "$(fs plugins --json | jq -r '.[] | select(.name == "tags") | .dead_letters')"

# ---- max_rps shared: the poll and the output together, never more
daemon_stop
for i in 1 2 3 4 5 6 7 8; do
	sim POST flag "{\"ws\":\"Default\",\"flag\":\"f$i\",\"definition\":{},\"env\":\"Production\"}" >/dev/null
done
links_yaml "$(for i in 1 2 3 4 5 6 7 8; do printf '  - flag: f%s\n    issues: [PAY-%s]\n' "$i" "$i"; done)
"
sed -i 's/^max_rps = 0/max_rps = 2/' "$T/flagsync.ini"
rm -f "$T/state/split-pace"
sim DELETE requests >/dev/null
( exec "$FLAGSYNC" -c "$T/flagsync.ini" run >"$T/daemon.log" 2>&1 ) &
DPID=$!
all_tagged() {
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(tags_of "f$i")" = "PAY-$i" ] || return 1
	done
	[ "$(tags_of dark_mode)" = "" ]
}
check "max_rps = 2: the output tags the 8 new flags (and untags dark_mode)" \
    wait_for 120 all_tagged
daemon_stop
check "the pacing file is in state_dir" test -f "$T/state/split-pace"
reqs=$(sim GET 'requests?api=admin')
first=$(echo "$reqs" | jq '[.requests[] | select(.method == "POST") | .time] | min')
last=$(echo "$reqs" | jq '[.requests[] | select(.method == "POST") | .time] | max')
n=$(echo "$reqs" | jq --argjson a "$first" --argjson b "$last" \
    '[.requests[] | select(.method == "GET" and (.path | test("/splits/ws/[^/]+/f[0-9]$") | not) and .time > $a and .time < $b)] | length')
check "the poll ran while the output wrote ($n poll requests between its writes)" \
    test "$n" -ge 2
# The simulator stamps arrivals, which a loaded machine delays by tens
# of milliseconds: the rate is measured over the output's whole run, and
# per window with 100 ms of that slack.
rate=$(echo "$reqs" | jq --argjson a "$first" --argjson b "$last" \
    '[.requests[] | select(.time >= $a and .time <= $b)] | (length - 1) / ($b - $a) * 100 | floor')
check "max_rps = 2 for poll and output together: at most 2.00 a second while the output wrote ($rate/100)" \
    test "$rate" -le 200
worst=$(echo "$reqs" | jq '[.requests[].time] as $t | [range(0; $t|length) as $i | [$t[] | select(. >= $t[$i] and . < $t[$i] + 0.9)] | length] | max')
check "... and never more than 2 requests within 0.9 s (worst: $worst)" \
    test "$worst" -le 2

# ---- delivered again (a retry, a replay): the same tags, not one write
sed -i 's/^max_rps = 2/max_rps = 0/' "$T/flagsync.ini"
all_tags() {
	for f in search_v2 new_checkout old_banner dark_mode f1 f2 f3 f4 f5 f6 f7 f8; do
		printf '%s=%s ' "$f" "$(tags_of "$f")"
	done
}
before=$(all_tags)
sim DELETE requests >/dev/null
fs replay --plugin tags >/dev/null 2>&1; rc=$?
check_eq "every event delivered again: exit 0, no write, the same tags" \
    "0 0 $before" "$rc $(tag_writes | wc -l) $(all_tags)"
fs replay --plugin tags --state >/dev/null 2>&1; rc=$?
check_eq "the state replayed: no write, the same tags" \
    "0 0 $before" "$rc $(tag_writes | wc -l) $(all_tags)"

done_testing
