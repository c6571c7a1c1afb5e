#!/bin/sh
# The jira-field link source against the Split and Jira simulators: field
# values as text, labels and multi-select; project/flag names; unknown
# names listed by status, not fatal; one link held by split-tag and
# jira-field; a cleared field removes its links; Jira down or refusing the
# token keeps the links; paging; the jira_jql restriction.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_BACKOFF_MS=20

# issue KEY FIELD-VALUE-JSON: creates or replaces an issue.
issue() {
	jira POST issue "{\"key\":\"$1\",\"fields\":{\"customfield_10050\":$2}}" >/dev/null
}

# The "project/flag" of an issue's flags, sorted, comma-joined.
flags_of() { fs issue "$1" --json | jq -r '[.flags[] | "\(.project)/\(.flag)"] | sort | join(",")'; }

jf_status() { fs status --json | jq -c '.sources[] | select(.source=="jira-field")'; }

# The requests without the agent's issue status searches (key in (...),
# flagsync(8)), which every cycle with [jira] makes.
jira_requests() {
	jira GET requests | jq -c '{requests: [.requests[] | select(.path != "/rest/api/3/search/jql" or
	    ((.body.jql // "") | startswith("key in (") | not))]}'
}

# The JQL of the search requests the simulator received.
search_jql() {
	jira_requests | jq -r '.requests[] | select(.path=="/rest/api/3/search/jql") | .body.jql'
}

sim_start --state "$SRCDIR/tests/integration/base-state.json"
jira_start
printf 'sim-jira-token\n' >"$T/jira-token"
chmod 600 "$T/jira-token"
write_config "[project Shop]
environment = Prod

[links]
jira_field = customfield_10050

[jira]
url = $JIRA_URL
email = flagsync-bot@example.com
api_token_file = $T/jira-token
timeout = 5"

issue SHOP-1 '"new_checkout, search_v2"'
issue SHOP-2 '["old_banner", "Shop/new_checkout"]'
issue SHOP-3 '[{"value": "dark_mode", "id": "1"}, {"value": "nope_flag", "id": "2"}]'
issue SHOP-4 '"Default/new_checkout"'
jira POST issue '{"key": "SHOP-5", "fields": {"summary": "no flags"}}' >/dev/null

fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "sync with an unknown flag name exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
check_eq "text field: a bare name links it in every project that has it" \
    "Default/new_checkout,Default/search_v2,Shop/new_checkout" "$(flags_of SHOP-1)"
check_eq "labels: bare and project/flag names" \
    "Default/old_banner,Shop/new_checkout" "$(flags_of SHOP-2)"
check_eq "multi-select: the option values" "Default/dark_mode" "$(flags_of SHOP-3)"
check_eq "project/flag links that project only" "Default/new_checkout" "$(flags_of SHOP-4)"
fs issue SHOP-5 >/dev/null 2>&1; rc=$?
check_eq "an issue with the field empty links nothing" 1 "$rc"
check_eq "status: jira-field ok, its links, the unknown name as unmatched" \
    '{"ok":true,"links":7,"unmatched":["SHOP-3: nope_flag"]}' \
    "$(jf_status | jq -c '{ok, links, unmatched}')"
check_match "status table: links and unmatched" 'jira-field +ok .*7 links, 1 unmatched' \
    "$(fs status)"
check_eq "the search asks for the field only" '["customfield_10050"]' \
    "$(jira_requests | jq -c '[.requests[] | select(.path=="/rest/api/3/search/jql")][0].body.fields')"
check_eq "the search JQL" "cf[10050] is not EMPTY ORDER BY key ASC" "$(search_jql | tail -n 1)"

# One link, two sources: SHOP-1 is also a tag of Default/new_checkout.
check_eq "a link from a Split tag and Jira is one link" 1 \
    "$(fs issue SHOP-1 --json | jq '[.flags[] | select(.project=="Default" and .flag=="new_checkout")] | length')"
check_match "... with both sources" 'SHOP-1 \(split-tag, jira-field\)' \
    "$(fs flag new_checkout --project Default)"

# Clearing the field removes the links it made.
s=$(last_seq)
jira PATCH issue '{"key": "SHOP-2", "fields": {"customfield_10050": null}}' >/dev/null
fs sync >/dev/null 2>&1; rc=$?
check_eq "cleared field: sync exits 0" 0 "$rc"
check_eq "cleared field: its links are removed" \
"link.removed Default/old_banner SHOP-2
link.removed Shop/new_checkout SHOP-2" "$(events_since "$s" | sort)"

# Jira down: the source fails and keeps its links.
jira POST fault '{"match": "search/jql", "kind": "status", "status": 500, "count": -1}' >/dev/null
s=$(last_seq)
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "Jira down: sync exits 1" 1 "$rc"
check_match "Jira down: the message names the source and the answer" 'jira-field: Jira: 500 at ' "$(cat "$T/err")"
check_eq "Jira down: no link removed" "" "$(events_since "$s")"
check_eq "Jira down: its links are kept" "Default/dark_mode" "$(flags_of SHOP-3)"
check_match "Jira down: status shows the jira-field source failed" \
    '"ok":false,"error":"jira-field: Jira: 500' "$(jf_status)"
check_match "Jira down: the table says FAILED" 'jira-field +FAILED' "$(fs status)"
jira DELETE fault >/dev/null

# A wrong token: the message names the account, never the token.
printf 'wrong-token-123\n' >"$T/jira-token"
s=$(last_seq)
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "401: sync exits 1" 1 "$rc"
check_match "401: the message names the email and where the token comes from" \
    'flagsync-bot@example\.com.*api_token_file' "$(cat "$T/err")"
check_nomatch "401: the token is not printed" 'wrong-token-123' "$(cat "$T/err") $(fs status --json)"
check_eq "401: no link removed" "" "$(events_since "$s")"
printf 'sim-jira-token\n' >"$T/jira-token"
fs sync >/dev/null 2>&1; rc=$?
check_eq "the right token again: sync exits 0" 0 "$rc"
check_eq "... and the source is ok" true "$(jf_status | jq .ok)"

# Paging: two issues a page, every issue read.
jira DELETE requests >/dev/null
jira POST search_cap '{"cap": 2}' >/dev/null
for n in 10 11 12 13 14; do issue "SHOP-$n" '"search_v2"'; done
fs sync >/dev/null 2>&1; rc=$?
check_eq "paging: sync exits 0" 0 "$rc"
check_eq "paging: every issue on every page is linked" \
    "PAY-42,SHOP-1,SHOP-10,SHOP-11,SHOP-12,SHOP-13,SHOP-14" \
    "$(fs flag search_v2 --project Default --json | jq -r '.issues | join(",")')"
# SHOP-1, -3, -4 and SHOP-10..14 have the field: 8 issues, 4 pages.
check_eq "paging: one request a page" 4 "$(search_jql | wc -l | tr -d ' ')"
check_eq "paging: pages after the first carry nextPageToken" 3 \
    "$(jira_requests | jq '[.requests[] | select(.path=="/rest/api/3/search/jql" and .body.nextPageToken != null)] | length')"
jira POST search_cap '{"cap": 100}' >/dev/null

# jira_jql narrows the search; the issues it leaves out lose their links.
issue OPS-1 '"old_banner"'
fs sync >/dev/null 2>&1
check_eq "an OPS issue links before the restriction" "Default/old_banner" "$(flags_of OPS-1)"
sed -i 's/^jira_field = customfield_10050$/&\njira_jql = project in (SHOP)/' "$T/flagsync.ini"
jira DELETE requests >/dev/null
s=$(last_seq)
fs sync >/dev/null 2>&1; rc=$?
check_eq "jira_jql: sync exits 0" 0 "$rc"
check_eq "jira_jql: the JQL the simulator received" \
    "cf[10050] is not EMPTY AND (project in (SHOP)) ORDER BY key ASC" "$(search_jql)"
check_eq "jira_jql: issues outside it lose their links" "link.removed Default/old_banner OPS-1" \
    "$(events_since "$s")"

# jira_field by display name: resolved to the field's id through
# /rest/api/3/field, once; the links stay what they were.
jira POST config '{"field_names": {"Feature Flags": "customfield_10050"}}' >/dev/null
sed -i 's/^jira_field = customfield_10050$/jira_field = Feature Flags/' "$T/flagsync.ini"
out=$(fs check-config 2>&1); rc=$?
check_eq "display name: check-config accepts it (no network there)" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
jira DELETE requests >/dev/null
s=$(last_seq)
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "display name: sync exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
check_eq "... no link removed or added" "" "$(events_since "$s")"
check_eq "... SHOP-3 keeps its link" "Default/dark_mode" "$(flags_of SHOP-3)"
check_eq "... one GET of the field list" 1 \
    "$(jira_requests | jq '[.requests[] | select(.path=="/rest/api/3/field")] | length')"
check_eq "... the search asks for the field's id" '["customfield_10050"]' \
    "$(jira_requests | jq -c '[.requests[] | select(.path=="/rest/api/3/search/jql")][0].body.fields')"
check_eq "... and searches by it" \
    "cf[10050] is not EMPTY AND (project in (SHOP)) ORDER BY key ASC" "$(search_jql)"
check_eq "... the source is ok" true "$(jf_status | jq .ok)"

# Two custom fields of one name: the source fails, naming both, and keeps
# its links.
jira POST config '{"custom_fields": [{"id": "customfield_10060", "name": "Twin"},
    {"id": "customfield_10061", "name": "Twin"}]}' >/dev/null
sed -i 's/^jira_field = Feature Flags$/jira_field = Twin/' "$T/flagsync.ini"
s=$(last_seq)
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "an ambiguous name: sync exits 1" 1 "$rc"
check_match "... the message names the key and both fields" \
    'jira-field: .*\[links\] jira_field = "Twin": 2 custom fields .*customfield_10060, customfield_10061' \
    "$(cat "$T/err")"
check_eq "... no link removed" "" "$(events_since "$s")"
check_match "... status says why" '"ok":false,"error":"jira-field: .*customfield_10061' "$(jf_status)"

done_testing
