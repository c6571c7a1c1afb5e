#!/bin/sh
# The jira output plugin through the real agent, against the Split and
# Jira simulators: after a sync the linked issues carry the property and
# the web links; a poll with no change makes no Jira call; a rollout
# change rewrites each linked issue; an outage of five sync cycles ends
# with every issue right and no backlog; a 429 storm is waited out as
# Retry-After says.  One issue never stalls the rest: a closed (not
# editable) issue is a dead letter after three refusals while the other
# issues and the next events flow; a 401 never is; a property DELETE
# answered 404 is success on an existing issue and a dead letter naming
# a missing one.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_RETRY_MS=30
plugin_dir_setup
sim_start --state "$SRCDIR/tests/integration/base-state.json"


# Calls the agent made to Jira since the log was last cleared.
# The requests without the agent's issue status searches (key in (...),
# flagsync(8)), which every cycle with [jira] makes.
jira_requests() {
	jira GET requests | jq -c '{requests: [.requests[] | select(.path != "/rest/api/3/search/jql" or
	    ((.body.jql // "") | startswith("key in (") | not))]}'
}

jira_calls() { jira_requests | jq '.requests | length'; }

# The property on an issue, "updated" aside (null when there is none).
jira_prop() {
	jira GET "issue?key=$1" | jq -cS '.properties["flagsync.flags"] | if . == null then null else del(.updated) end'
}

# What `flagsync issue KEY --json` says the property must be.
# (An issue with no flags left may be "not found": no property then.)
cache_issue() { fs issue "$1" --json 2>/dev/null || echo '{"count":0,"flags":[]}'; }

want_prop() {
	cache_issue "$1" | jq -cS 'if .count == 0 then null else
	    {count, active, flags: [.flags[] | del(.tags, .description, .issues)]} end'
}

# The web links on an issue: "globalId|summary|resolved" lines, sorted.
jira_links() {
	jira GET "issue?key=$1" | jq -r '.remotelinks[] |
	    "\(.globalId)|\(.object.summary)|\(.object.status.resolved)"' | sort
}

# What the cache says the web links must be.
want_links() {
	cache_issue "$1" | jq -r '.flags[] | select(.url != null) |
	    "flagsync:\(.project):\(.flag)|" +
	    (if .killed then "KILLED in \(.environment)"
	     elif (.active | not) or .rollout == null then "OFF in \(.environment)"
	     elif .rollout.percentage != null then
		"ON in \(.environment) · \(.rollout.percentage)% \(.rollout.treatment)"
	     else "ON in \(.environment) · \(.rollout.rules) rule" +
		(if .rollout.rules == 1 then "" else "s" end) end) +
	    "|\(.active | not)"' | sort
}

ISSUES="SHOP-1 SHOP-7 PAY-42"

# check_issues WHEN: every issue's property and links match the cache.
check_issues() {
	for k in $ISSUES; do
		check_eq "$1: $k property is what 'issue $k --json' implies" \
		    "$(want_prop "$k")" "$(jira_prop "$k")"
		check_eq "$1: $k web links match its flags" \
		    "$(want_links "$k")" "$(jira_links "$k")"
	done
}

jira_start
jira POST state '{"issues":[{"key":"SHOP-1","fields":{"summary":"Checkout"}},
    {"key":"SHOP-7","fields":{"summary":"Checkout copy"}},
    {"key":"PAY-42","fields":{"summary":"Search"}}]}' >/dev/null
printf 'sim-jira-token\n' >"$T/jira-token"
chmod 600 "$T/jira-token"
write_config "[jira]
url = $JIRA_URL
email = flagsync-bot@example.com
api_token_file = $T/jira-token
timeout = 5

[plugin jira]
events = *"

out=$(fs check-config 2>&1); rc=$?
check_eq "check-config accepts [jira] and [plugin jira]" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$out"

fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "first sync exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
check_eq "SHOP-1 carries the property with new_checkout" "new_checkout" \
    "$(jira GET 'issue?key=SHOP-1' | jq -r '.properties["flagsync.flags"].flags[].flag')"
check_eq "SHOP-7 (linked by description) carries it too" "new_checkout" \
    "$(jira GET 'issue?key=SHOP-7' | jq -r '.properties["flagsync.flags"].flags[].flag')"
check_match "the property has an RFC 3339 updated" '^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"$' \
    "$(jira GET 'issue?key=SHOP-1' | jq '.properties["flagsync.flags"].updated')"
check_eq "SHOP-1's web link: Split, the flag URL, the summary" \
    "io.split|new_checkout|ON in Production · 75% off|false|true" \
    "$(jira GET 'issue?key=SHOP-1' | jq -r '.remotelinks[] |
	"\(.application.type)|\(.object.title)|\(.object.summary)|\(.object.status.resolved)|\(.object.url | startswith("https://app.split.io/"))"')"
check_issues "after the first sync"
check_eq "plugins: jira caught up, no dead letters" "0 0" \
    "$(fs plugins --json | jq -r '.[] | select(.name == "jira") | "\(.backlog) \(.dead_letters)"')"

# A poll that finds nothing new writes nothing to Jira.
jira DELETE requests >/dev/null
fs sync >/dev/null 2>&1
check_eq "a poll with no change makes no Jira call" 0 "$(jira_calls)"

# A rollout change: each linked issue's property and link summary, once.
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":60},{"treatment":"off","size":40}]}' >/dev/null
fs sync >/dev/null 2>&1
check_eq "rollout change: one property PUT per linked issue" \
    "PUT /rest/api/3/issue/SHOP-1/properties/flagsync.flags
PUT /rest/api/3/issue/SHOP-7/properties/flagsync.flags" \
    "$(jira_requests | jq -r '.requests[] | select(.method == "PUT") | "\(.method) \(.path)"' | sort)"
check_eq "... one link upsert per linked issue, and nothing else" "2 4" \
    "$(jira_requests | jq -r '"\([.requests[] | select(.method == "POST")] | length) \(.requests | length)"')"
check_eq "SHOP-7's link summary follows" "ON in Production · 40% off" \
    "$(jira GET 'issue?key=SHOP-7' | jq -r '.remotelinks[].object.summary')"
check_issues "after a rollout change"

# A link to remove later, while Jira is down.
fs link search_v2 SHOP-7 >/dev/null 2>&1
fs sync >/dev/null 2>&1
check_eq "a local link adds search_v2's web link to SHOP-7" 2 \
    "$(jira GET 'issue?key=SHOP-7' | jq '.remotelinks | length')"

# Jira down for five sync cycles, with changes piling up meanwhile.
jira POST fault '{"match":".*","kind":"status","status":500,"count":-1}' >/dev/null
sed -i '/^\[agent\]/a deliver_timeout = 2' "$T/flagsync.ini"
down_rc=
for change in \
    'sim POST kill {"ws":"Default","flag":"new_checkout","killed":true}' \
    'fs unlink search_v2 SHOP-7' \
    'fs link old_banner SHOP-1' \
    'sim POST kill {"ws":"Default","flag":"new_checkout","killed":false}' \
    'sim POST default_rule {"ws":"Default","flag":"search_v2","default_rule":[{"treatment":"on","size":10},{"treatment":"off","size":90}]}'; do
	set -f
	set -- $change
	set +f
	"$@" >/dev/null 2>&1
	fs sync >/dev/null 2>&1
	down_rc="$down_rc$?"
done
check_eq "Jira down: each of five syncs exits 1" 11111 "$down_rc"
check "... with a backlog waiting" test "$(fs plugins --json | jq '.[] | select(.name == "jira") | .backlog')" -gt 0
check_match "... and the reason in last_error" "500" \
    "$(fs plugins --json | jq -r '.[] | select(.name == "jira") | .last_error')"
check_eq "... and no dead letters" 0 \
    "$(fs plugins --json | jq '.[] | select(.name == "jira") | .dead_letters')"
jira DELETE fault >/dev/null
sed -i '/^deliver_timeout = 2$/d' "$T/flagsync.ini"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "Jira back: sync exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
check_eq "plugins: backlog 0, no dead letters" "0 0" \
    "$(fs plugins --json | jq -r '.[] | select(.name == "jira") | "\(.backlog) \(.dead_letters)"')"
check_issues "after the outage"
check_eq "the link unlinked during the outage is gone" "flagsync:Default:new_checkout" \
    "$(jira GET 'issue?key=SHOP-7' | jq -r '.remotelinks[].globalId')"
check_eq "the flag linked during the outage is on SHOP-1, struck through" \
    "flagsync:Default:old_banner|KILLED in Production|true" \
    "$(jira_links SHOP-1 | grep old_banner)"

# A 429 storm: three refusals with Retry-After: 1, each waited out.
jira DELETE requests >/dev/null
jira POST fault '{"match":"^PUT ","kind":"ratelimit","retry_after":1,"count":3}' >/dev/null
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":80},{"treatment":"off","size":20}]}' >/dev/null
start=$(date +%s%N)
fs sync >/dev/null 2>"$T/err"; rc=$?
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_eq "429 storm: sync exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
check_eq "three 429s, then the PUTs went through" "429 429 429 2xx 2xx" \
    "$(jira_requests | jq -r '[.requests[] | select(.method == "PUT") |
	if .status == 429 then "429" elif .status < 300 then "2xx" else (.status | tostring) end] | join(" ")')"
gaps=$(jira_requests | jq -r '[.requests[] | select(.method == "PUT")] as $r |
    [range(0; 3) | $r[. + 1].time - $r[.].time | . * 1000 | floor] | join(" ")')
diag "gaps after each 429 (ms): $gaps; sync took $took_ms ms"
check_eq "each retry came at least 1 s after its 429" "" \
    "$(for g in $gaps; do [ "$g" -ge 1000 ] || echo "$g"; done)"
check "... so the sync took at least 3 s ($took_ms ms)" test "$took_ms" -ge 3000
check_issues "after the 429 storm"

# A flag whose "flagsync:PROJECT:FLAG" is longer than Jira's 255-character
# globalId: a shortened, stable globalId, so the link is made and found
# again to be removed.
LONG=$(printf 'long_flag_%.0s' $(seq 1 24))
sim POST flag "{\"ws\":\"Default\",\"flag\":\"$LONG\",\"tags\":[\"SHOP-1\"],
    \"env\":\"Production\",\"definition\":{\"treatments\":[{\"name\":\"on\"},{\"name\":\"off\"}],
    \"defaultTreatment\":\"off\",\"defaultRule\":[{\"treatment\":\"on\",\"size\":100}]}}" >/dev/null
long_link() {
	jira GET 'issue?key=SHOP-1' | jq -r --arg f "$LONG" \
	    '.remotelinks[] | select(.object.title == $f) | .globalId'
}
jira DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "a ${#LONG}-byte flag name: sync exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
gid=$(long_link)
check_eq "... its web link is on SHOP-1" 1 "$(printf '%s' "$gid" | grep -c .)"
check "... with a globalId of at most 255 characters (${#gid})" test "${#gid}" -le 255 -a "${#gid}" -gt 0
check_match "... that keeps the start of flagsync:PROJECT:FLAG" "^flagsync:Default:long_flag_" "$gid"
check_eq "... and no dead letter" 0 \
    "$(fs plugins --json | jq '.[] | select(.name == "jira") | .dead_letters')"
check_eq "... no 400 from Jira" 0 \
    "$(jira_requests | jq '[.requests[] | select(.status == 400)] | length')"
sim PATCH flag "{\"ws\":\"Default\",\"flag\":\"$LONG\",\"set\":{\"tags\":[]}}" >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "the long flag unlinked: sync exits 0" 0 "$rc"
check_eq "... its web link is deleted by the same globalId" "" "$(long_link)"
check_issues "after the long flag came and went"

# A Jira that echoes the request's credentials in its error body: neither
# the token nor the base64 credential reaches stderr, last_error, the
# dead letter or the cache.
TOKEN_B64=$(printf 'flagsync-bot@example.com:sim-jira-token' | base64 -w0)
jira POST fault '{"match":"remotelink","kind":"echo","count":-1}' >/dev/null
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null
fs sync >"$T/out" 2>"$T/err"; rc=$?
jira DELETE fault >/dev/null
check "an echoing Jira: the link upsert was refused (400)" test \
    "$(jira_requests | jq '[.requests[] | select(.fault == "echo")] | length')" -gt 0
leak=$(cat "$T/out" "$T/err"; fs plugins --json; fs status --json; fs plugins)
check_match "... the refusal is reported" "Jira refused POST" "$leak"
check_nomatch "... the token is nowhere in stderr, plugins or status" 'sim-jira-token' "$leak"
check_nomatch "... nor the base64 credential" "$TOKEN_B64" "$leak"
check_eq "... nor in the cache" 0 \
    "$(cat "$T/state"/*.mdb | grep -a -c -e 'sim-jira-token' -e "$TOKEN_B64")"
jira POST fault '{"match":"remotelink","kind":"echo_text","count":-1}' >/dev/null
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":55},{"treatment":"off","size":45}]}' >/dev/null
fs sync >"$T/out" 2>"$T/err"; rc=$?
jira DELETE fault >/dev/null
leak=$(cat "$T/out" "$T/err"; fs plugins --json; fs status --json)
check_match "an echo in plain text: reported" "Jira refused POST" "$leak"
check_nomatch "... without the token" 'sim-jira-token' "$leak"
check_nomatch "... or the base64 credential" "$TOKEN_B64" "$leak"
check_eq "... nor in the cache" 0 \
    "$(cat "$T/state"/*.mdb | grep -a -c -e 'sim-jira-token' -e "$TOKEN_B64")"

# One issue never stalls the rest.  jira_dead: the instance's dead letters.
jira_dead() { fs plugins --json | jq '.[] | select(.name == "jira") | .dead_letters'; }
jira_last_error() { fs plugins --json | jq -r '.[] | select(.name == "jira") | .last_error'; }
# Requests to Jira since the log was cleared: "METHOD PATH STATUS" lines.
jira_reqs() { jira_requests | jq -r '.requests[] | "\(.method) \(.path) \(.status)"'; }

# A closed issue (SHOP-7: visible, not editable) among others: SHOP-1 is
# written at once, SHOP-7 is refused three times, then the event is a
# dead letter naming SHOP-7, and the sync goes on.
dead0=$(jira_dead)
jira PATCH issue '{"key":"SHOP-7","editable":false}' >/dev/null
jira DELETE requests >/dev/null
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":false}' >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
diag "sync with a closed issue: rc $rc"
check_eq "closed SHOP-7: one dead letter more" "$((dead0 + 1))" "$(jira_dead)"
check_eq "... after exactly three refused PUTs on SHOP-7" \
    "PUT /rest/api/3/issue/SHOP-7/properties/flagsync.flags 403
PUT /rest/api/3/issue/SHOP-7/properties/flagsync.flags 403
PUT /rest/api/3/issue/SHOP-7/properties/flagsync.flags 403" \
    "$(jira_reqs | grep SHOP-7)"
check_eq "... while SHOP-1 was written once, on the first attempt" 1 \
    "$(jira_reqs | grep -c '^PUT /rest/api/3/issue/SHOP-1/properties/flagsync.flags 20[01]$')"
check_eq "... SHOP-1's property is what the cache implies" \
    "$(want_prop SHOP-1)" "$(jira_prop SHOP-1)"
check_eq "... its link says ON again" "flagsync:Default:new_checkout|ON in Production · 45% off|false" \
    "$(jira_links SHOP-1 | grep new_checkout)"
check_eq "... SHOP-7 still carries the killed flag" "true" \
    "$(jira GET 'issue?key=SHOP-7' | jq '.properties["flagsync.flags"].flags[0].killed')"
check_match "... the dead letter names SHOP-7 and what was refused" \
    '^SHOP-7: 403 Forbidden on PUT property flagsync.flags: flagsync-bot@example.com cannot edit this issue \(closed\?\); refused 3 times' \
    "$(jira_last_error)"
check_match "... and the log says so" 'plugin jira: event [0-9]+ failed: SHOP-7: 403 Forbidden' "$(cat "$T/err")"
check_eq "... nothing left in the backlog" 0 \
    "$(fs plugins --json | jq '.[] | select(.name == "jira") | .backlog')"

# Polling goes on and the next events for other issues flow.
jira DELETE requests >/dev/null
sim POST default_rule '{"ws":"Default","flag":"search_v2","default_rule":[{"treatment":"on","size":20},{"treatment":"off","size":80}]}' >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "the next event (PAY-42): sync exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
check_eq "... PAY-42 is written" "$(want_prop PAY-42)" "$(jira_prop PAY-42)"
check_eq "... no new dead letter" "$((dead0 + 1))" "$(jira_dead)"
check_eq "... and SHOP-7 is not touched by an event that does not name it" "" \
    "$(jira_reqs | grep SHOP-7)"

# Reopened, a later event touching SHOP-7 writes it.
jira PATCH issue '{"key":"SHOP-7","editable":true}' >/dev/null
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":65},{"treatment":"off","size":35}]}' >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "SHOP-7 reopened: the next event writes it (sync exits 0)" 0 "$rc"
check_issues "after SHOP-7 was reopened"
check_eq "... no new dead letter" "$((dead0 + 1))" "$(jira_dead)"

# A 401 never becomes a dead letter, however often it is retried.
printf 'a-wrong-token-0401\n' >"$T/jira-token"
sed -i '/^\[agent\]/a deliver_timeout = 2' "$T/flagsync.ini"
jira DELETE requests >/dev/null
sim POST default_rule '{"ws":"Default","flag":"search_v2","default_rule":[{"treatment":"on","size":30},{"treatment":"off","size":70}]}' >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
n401=$(jira_reqs | grep -c ' 401$')
check_eq "wrong token: sync exits 1 (events wait)" 1 "$rc"
check "... Jira answered 401 more than three times ($n401)" test "$n401" -gt 3
check_eq "... no dead letter" "$((dead0 + 1))" "$(jira_dead)"
check_match "... last_error names the account to check" \
    'Jira rejected flagsync-bot@example.com \(401\): check \[jira\] email and api_token_file' \
    "$(jira_last_error)"
check_nomatch "... never the token" 'a-wrong-token-0401' "$(cat "$T/err"; fs plugins --json)"
printf 'sim-jira-token\n' >"$T/jira-token"
sed -i '/^deliver_timeout = 2$/d' "$T/flagsync.ini"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "token fixed: sync exits 0" 0 "$rc"
check_eq "... backlog 0, still no new dead letter" "0 $((dead0 + 1))" \
    "$(fs plugins --json | jq -r '.[] | select(.name == "jira") | "\(.backlog) \(.dead_letters)"')"
check_issues "after the token was fixed"

# Property DELETE answered 404 on an issue that exists (the property was
# removed behind flagsync's back): success.
jira PATCH issue '{"key":"PAY-42","properties":{"flagsync.flags":null}}' >/dev/null
jira DELETE requests >/dev/null
sim PATCH flag '{"ws":"Default","flag":"search_v2","set":{"description":"Search rewrite."}}' >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "DELETE 404 on an existing issue: sync exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
check_eq "... the DELETE was answered 404, then the issue was read" \
    "DELETE /rest/api/3/issue/PAY-42/properties/flagsync.flags 404
GET /rest/api/3/issue/PAY-42 200
DELETE /rest/api/3/issue/PAY-42/remotelink 204" "$(jira_reqs)"
check_eq "... no new dead letter" "$((dead0 + 1))" "$(jira_dead)"
check_eq "... PAY-42 has no web link left" 0 \
    "$(jira GET 'issue?key=PAY-42' | jq '.remotelinks | length')"

# On an issue that is gone: a dead letter naming it.
jira POST issue '{"key":"WEB-3","fields":{"summary":"Gone soon"}}' >/dev/null
fs link old_banner WEB-3 >/dev/null 2>&1
fs sync >/dev/null 2>&1
check_eq "WEB-3 linked: it carries old_banner" "old_banner" \
    "$(jira GET 'issue?key=WEB-3' | jq -r '.properties["flagsync.flags"].flags[].flag')"
jira DELETE 'issue?key=WEB-3' >/dev/null
fs unlink old_banner WEB-3 >/dev/null 2>&1
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "WEB-3 deleted in Jira, then unlinked: one dead letter more" \
    "$((dead0 + 2))" "$(jira_dead)"
check_eq "... naming the issue" \
    "WEB-3: 404 on DELETE property flagsync.flags: the issue does not exist or is not visible to flagsync-bot@example.com" \
    "$(jira_last_error)"
check_eq "... and nothing waits" 0 \
    "$(fs plugins --json | jq '.[] | select(.name == "jira") | .backlog')"

done_testing
