#!/bin/sh
# [links] jira_create (issue 13) against the Split and Jira simulators: a
# name in the Jira field that matches no flag is created once, tagged with
# the issue key, linked in the same sync, and the issue's web link opens
# it; jira_create = no creates nothing; a name breaking Split's naming
# rule is refused with no request; a refusal from Split is shown with its
# message and not asked again next cycle; an outage waits, nothing lost;
# at most 10 a cycle; a flag that exists (409) is linked, not duplicated,
# and a person's tag stays; clearing the field removes the link (the
# creation tag is flagsync's own, so split-tag does not hold it).
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_BACKOFF_MS=20
export FLAGSYNC_TEST_RETRY_MS=30
plugin_dir_setup
sim_start --state "$SRCDIR/tests/integration/base-state.json"
jira_start
# the issues base-state.json's tags and descriptions link, for the output
jira POST state '{"issues":[{"key":"SHOP-1","fields":{"summary":"Checkout"}},
    {"key":"SHOP-7","fields":{"summary":"Checkout copy"}},
    {"key":"PAY-42","fields":{"summary":"Search"}}]}' >/dev/null

# issue KEY FIELD-VALUE-JSON: creates an issue or sets its field.
issue() {
	jira POST issue "{\"key\":\"$1\",\"fields\":{\"summary\":\"$1\",\"customfield_10050\":$2}}" >/dev/null
}
clear_field() {
	jira PATCH issue "{\"key\": \"$1\", \"fields\": {\"customfield_10050\": null}}" >/dev/null
}
flags_of() { fs issue "$1" --json 2>/dev/null | jq -r '[.flags[] | "\(.project)/\(.flag)"] | sort | join(",")'; }
jf_status() { fs status --json | jq -c '.sources[] | select(.source=="jira-field")'; }
# create requests the Split simulator received: "STATUS NAME" lines
creates() {
	sim GET requests | jq -r '.requests[] | select(.method == "POST" and (.path | test("/trafficTypes/"))) |
	    "\(.status) \(.body | fromjson | .name)"'
}
ncreates() { creates | wc -l | tr -d ' '; }
sim_flag() { sim GET state | jq -c --arg f "$1" '.workspaces[] | select(.name=="Default") | .flags[] | select(.name==$f)'; }
sim_count() { sim GET state | jq --arg f "$1" '[.workspaces[] | select(.name=="Default") | .flags[] | select(.name==$f)] | length'; }
ini_set() {	# KEY VALUE: sets a [links] key
	sed -i "/^$1 = /d" "$T/flagsync.ini"
	sed -i "s|^\[links\]$|[links]\n$1 = $2|" "$T/flagsync.ini"
}

printf 'sim-jira-token\n' >"$T/jira-token"
chmod 600 "$T/jira-token"
write_config "
[links]
jira_field = customfield_10050

[jira]
url = $JIRA_URL
email = flagsync-bot@example.com
api_token_file = $T/jira-token
timeout = 5

[plugin jira]
events = *"

# ---- jira_create = no (the default): listed, never created
# (the field names the flag twice: still one name, one flag, one link)
issue SHOP-3 '"new_flag_x, new_flag_x"'
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "jira_create off: sync exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
check_eq "jira_create off: no create request" 0 "$(ncreates)"
check_eq "jira_create off: the name is listed unmatched" '["SHOP-3: new_flag_x"]' \
    "$(jf_status | jq -c .unmatched)"
check_eq "jira_create off: no such flag in Split" 0 "$(sim_count new_flag_x)"

# ---- jira_create = yes: created once, tagged, linked, web link
ini_set jira_create yes
out=$(fs check-config 2>&1)
check_match "check-config shows jira_create and the traffic type" \
    'jira_create yes, create_traffic_type user' "$out"
s=$(last_seq)
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "create: sync exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
check_eq "create: exactly one create request, answered 200" "200 new_flag_x" "$(creates)"
check_eq "create: the flag exists in Split, once" 1 "$(sim_count new_flag_x)"
check_eq "create: its description and the issue key as a tag" \
    '{"description":"Created from SHOP-3 by flagsync","tags":["SHOP-3"],"tt":"user"}' \
    "$(sim_flag new_flag_x | jq -c '{description, tags, tt: .trafficType.name}')"
check_match "create: one info line names it" \
    'created flag Default/new_flag_x from SHOP-3 in Split' "$(cat "$T/err")"
check_eq "create: linked in the same sync" "Default/new_flag_x" "$(flags_of SHOP-3)"
# a flag with no definition makes no flag event (flagsync(8)): the link
check_eq "create: the link is this sync's event" \
    "link.added Default/new_flag_x SHOP-3" "$(events_since "$s")"
check_eq "create: no longer unmatched" '[]' "$(jf_status | jq -c .unmatched)"
id=$(sim_flag new_flag_x | jq -r .id)
check_match "create: the issue's web link opens the new flag in Split" \
    "^flagsync:Default:new_flag_x https://app\.split\.io/org/acme/ws/[^/]+/splits/$id/env/[^/]+/definition\$" \
    "$(jira GET 'issue?key=SHOP-3' | jq -r '.remotelinks[] | "\(.globalId) \(.object.url)"')"
check_eq "create: the cache's flag has Split's id and no definition" "$id false" \
    "$(fs flag new_flag_x --json | jq -r '"\(.url | split("/splits/")[1] | split("/")[0]) \(.defined // .active)"')"

# ---- the next cycle creates nothing and changes nothing
s=$(last_seq)
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "second cycle: sync exits 0" 0 "$rc"
check_eq "second cycle: no create request" 0 "$(ncreates)"
check_eq "second cycle: no event (the tag is flagsync's own, the record equal)" "" \
    "$(events_since "$s")"
# neither the tag nor the description flagsync wrote holds the link
check_eq "second cycle: linked by jira-field alone" 'SHOP-3 (jira-field)' \
    "$(fs flag new_flag_x --project Default | sed -n 's/^  issues *\(.*\) - (.*/\1/p')"

# ---- a name breaking Split's naming rule: refused, no request
issue SHOP-9 '[{"value": "9bad name", "id": "1"}]'
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "invalid name: sync exits 0" 0 "$rc"
check_eq "invalid name: no create request" 0 "$(ncreates)"
check_match "invalid name: status names it and the rule it breaks" \
    "flag '9bad name' .*SHOP-9: not created: it starts with '9', not a letter: Split's naming rule is a letter first" \
    "$(fs status)"
check_match "invalid name: listed unmatched with the reason" \
    '"SHOP-9: 9bad name \(not created: it starts with' "$(jf_status | jq -c .unmatched)"

# ---- a refusal from Split: its message in status, not asked again
ini_set create_traffic_type nope
issue SHOP-10 '"refused_flag"'
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "refused: sync exits 0 (a refused name is no failed source)" 0 "$rc"
check_eq "refused: one create request, answered 404" "404 refused_flag" "$(creates)"
check_match "refused: status shows Split's message on the jira-field row" \
    "jira-field .*flag 'Default/refused_flag' .*SHOP-10: not created: .*traffic type 'nope'.*Split says: The resource does not exists or the Admin API key has no access; next try after " \
    "$(fs status | tr '\n' ' ')"
check_eq "refused: the next try is 10 minutes on" 1 \
    "$(jf_status | jq '.create.refused[] | select(.flag=="Default/refused_flag") | .tries')"
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "refused: the next cycle exits 0" 0 "$rc"
check_eq "refused: the next cycle asks Split nothing for it" 0 "$(ncreates)"
check_match "refused: still shown" "refused_flag.*Split says" "$(fs status | tr '\n' ' ')"
ini_set create_traffic_type user
clear_field SHOP-10
# a 400 (Split refusing the values) is a refusal too, not an outage
sim POST fault '{"match": "/trafficTypes/", "kind": "status", "status": 400, "count": 1}' >/dev/null
issue SHOP-12 '"bad_400_flag"'
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "400: sync exits 0" 0 "$rc"
check_eq "400: one create request" "400 bad_400_flag" "$(creates)"
check_match "400: status shows Split's answer" \
    "flag 'Default/bad_400_flag' .*SHOP-12: not created: Split refused .*HTTP 400.*Split says: simulated fault" \
    "$(fs status | tr '\n' ' ')"
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"
check_eq "400: not asked again the next cycle" 0 "$(ncreates)"
sim DELETE fault >/dev/null
clear_field SHOP-12

# ---- an outage is not a refusal: it waits, then is created
sim POST fault '{"match": "/trafficTypes/", "kind": "status", "status": 503, "count": -1}' >/dev/null
issue SHOP-11 '"outage_flag"'
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "outage: sync exits 0" 0 "$rc"
check_eq "outage: tried (with retries), nothing refused" "0" \
    "$(jf_status | jq '[.create.refused[]? | select(.flag=="Default/outage_flag")] | length')"
check_eq "outage: it waits" 1 "$(jf_status | jq '.create.waiting')"
sim DELETE fault >/dev/null
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "after the outage: created" "200 outage_flag" "$(creates)"
check_eq "after the outage: linked" "Default/outage_flag" "$(flags_of SHOP-11)"

# ---- created, but its tag could not be written: completed next cycle
sim POST fault '{"match": "^/internal/api/v2/tags/", "kind": "status", "status": 503, "count": -1}' >/dev/null
issue SHOP-50 '"half_flag"'
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "tag outage: sync exits 0" 0 "$rc"
check_eq "tag outage: created" "200 half_flag" "$(creates)"
check_eq "tag outage: no tag yet" '[]' "$(sim_flag half_flag | jq -c .tags)"
check_eq "tag outage: status keeps the tag to write" '["Default/half_flag"]' \
    "$(jf_status | jq -c '[.create.pending[]?.flag]')"
sim DELETE fault >/dev/null
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "tag outage: the next cycle exits 0" 0 "$rc"
check_eq "tag outage: the next cycle creates nothing" 0 "$(ncreates)"
check_eq "tag outage: ... and completes the tag" '["SHOP-50"]' \
    "$(sim_flag half_flag | jq -c .tags)"
check_eq "tag outage: linked" "Default/half_flag" "$(flags_of SHOP-50)"
check_eq "tag outage: nothing left to complete" '[]' \
    "$(jf_status | jq -c '[.create.pending[]?.flag]')"

# ---- at most 10 a cycle: 12 names, 10 now and 2 next
for n in 20 21 22 23 24 25 26 27 28 29 30 31; do issue "SHOP-$n" "\"cap_flag_$n\""; done
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "cap: sync exits 0" 0 "$rc"
check_eq "cap: 10 creations this cycle" 10 "$(ncreates)"
check_eq "cap: status says 2 wait" 2 "$(jf_status | jq '.create.waiting')"
check_match "cap: the status table says so" '2 flags named in Jira wait to be created in the next cycle' \
    "$(fs status)"
sim DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "cap: the other 2 the next cycle" 2 "$(ncreates)"
check_eq "cap: all 12 exist and are linked" 12 \
    "$(fs flags --json --linked | jq '[.[] | select(.flag | startswith("cap_flag_"))] | length')"
check_eq "cap: nothing waits any more" null "$(jf_status | jq '.create.waiting')"

# ---- clearing the field removes the link: the tag does not hold it
s=$(last_seq)
clear_field SHOP-3
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "cleared: sync exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
check_eq "cleared: the link is removed" "link.removed Default/new_flag_x SHOP-3" \
    "$(events_since "$s")"
check_eq "cleared: the flag keeps its tag in Split" '["SHOP-3"]' \
    "$(sim_flag new_flag_x | jq -c .tags)"
check_eq "cleared: the web link is gone" 0 \
    "$(jira GET 'issue?key=SHOP-3' | jq '.remotelinks | length')"

# ---- a flag that exists but is not known yet (409): linked, not duplicated
# The change feed does not report a flag with no definition, so one a
# person made is unknown to the cache until the next full listing.
key=$(sim POST sdk_key '{"ws": "Default"}' | jq -r .key)
printf '%s\n' "$key" >"$T/sdk-key"
chmod 600 "$T/sdk-key"
sed -i "s|^environment = Production$|&\nsdk_key_file = $T/sdk-key|" "$T/flagsync.ini"
sed -i "s|^\[split\]|[split]\nsdk_url = $SIM_URL/api\nfull_sync = 1h|" "$T/flagsync.ini"
fs sync >/dev/null 2>"$T/err"	# the feed's first cycle lists everything
sim POST flag '{"ws": "Default", "flag": "pre_flag", "tags": ["keep-me"]}' >/dev/null
issue SHOP-40 '"pre_flag"'
sim DELETE requests >/dev/null
s=$(last_seq)
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "409: sync exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
check_eq "409: one create request, answered 409" "409 pre_flag" "$(creates)"
check_eq "409: still one flag of that name" 1 "$(sim_count pre_flag)"
check_eq "409: a person's tag stays, the issue key joins it" '["keep-me","SHOP-40"]' \
    "$(sim_flag pre_flag | jq -c .tags)"
check_eq "409: linked in the same sync" "Default/pre_flag" "$(flags_of SHOP-40)"
check_match "409: the link is this sync's" "link.added Default/pre_flag SHOP-40" \
    "$(events_since "$s")"

done_testing
