#!/bin/sh
# Jira issue status (flagsync(8)) against the Split and Jira simulators: every
# linked issue's status read with key in (...) searches of 100 keys (so
# ⌈n/100⌉ requests), shown by `issue` and `flag`; an issue moved to Done
# shows Done and its resolution date; a deleted or hidden issue becomes
# missing through Jira's 400 (and the search is repeated without it), a
# moved one through "not returned"; a Jira outage keeps every status; a
# cycle with nothing new writes nothing.  Time is injected with
# FLAGSYNC_TEST_NOW.
. "$SRCDIR/tests/integration/lib.sh"

needs_test_hooks
export FLAGSYNC_TEST_BACKOFF_MS=20

sim_start --state "$SRCDIR/tests/integration/base-state.json"
jira_start
printf 'sim-jira-token\n' >"$T/jira-token"
chmod 600 "$T/jira-token"

# 240 issues linked from links.yaml (80 a flag), besides the base state's
# SHOP-1, SHOP-7 and PAY-42 from Split tags and descriptions.
{
	echo "links:"
	for f in new_checkout:1 search_v2:81 old_banner:161; do
		printf '  - flag: %s\n    issues: [' "${f%%:*}"
		seq -s, "${f#*:}" $((${f#*:} + 79)) | sed 's/\([0-9]*\)/ISS-\1/g'
		echo "]"
	done
} >"$T/links.yaml"
python3 - "$T/jira-state.json" <<'PY'
import json, sys
issues = [{"key": "ISS-%d" % i, "fields": {"summary": "Item %d" % i,
                                          "status": "To Do"}}
          for i in range(1, 241)]
issues += [
    {"key": "SHOP-1", "fields": {"summary": "Checkout", "status": "To Do"}},
    {"key": "SHOP-7", "fields": {"summary": "Checkout tests",
                                 "status": "In Review"}},
    {"key": "PAY-42", "fields": {"summary": "Search", "status": "Open"}},
]
json.dump({"issues": issues}, open(sys.argv[1], "w"))
PY
jira POST state "$(cat "$T/jira-state.json")" >/dev/null

write_config "[links]
file = $T/links.yaml

[jira]
url = $JIRA_URL
email = flagsync-bot@example.com
api_token_file = $T/jira-token
timeout = 5"

# key_searches: the key in (...) searches Jira got since the last clear.
key_searches() {
	jira GET requests | jq '[.requests[] | select(.path=="/rest/api/3/search/jql" and
	    (.body.jql | startswith("key in (")))]'
}
istatus() { fs issue "$1" --json | jq -c .status; }
js_status() { fs status --json | jq -c '.sources[] | select(.source=="jira-status") | {ok, issues, missing}'; }
# every linked issue's status, for "unchanged" checks
all_status() {
	for k in SHOP-1 SHOP-7 PAY-42 ISS-1 ISS-5 ISS-6 ISS-100 ISS-240; do
		printf '%s %s\n' "$k" "$(istatus "$k")"
	done
}

export FLAGSYNC_TEST_NOW=2026-03-01T00:00:00Z
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "the baseline sync exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
# Links commit with the cycle that finds them; the read that cycle covers
# the links the cycle adds too.
jira DELETE requests >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "a second sync exits 0" 0 "$rc"
n=$(js_status | jq .issues)
check_eq "every linked issue is read" 243 "$n"
check_eq "requests = ceil(linked issues / 100)" $(((n + 99) / 100)) \
    "$(key_searches | jq length)"
check_eq "each search names at most 100 keys and asks maxResults 100" '[100]' \
    "$(key_searches | jq -c '[.[].body.maxResults] | unique')"
check_eq "... and only the fields it needs" \
    '["summary","status","resolutiondate","statuscategorychangedate"]' \
    "$(key_searches | jq -c '.[0].body.fields')"
check_eq "jira-status is a source in status: ok, issues, none missing" \
    '{"ok":true,"issues":243,"missing":0}' "$(js_status)"
check_eq "issue --json: status, category, summary, since (first seen)" \
    '{"name":"In Review","category":"indeterminate","summary":"Checkout tests","resolved":null,"since":"2026-03-01T00:00:00Z","missing":false}' \
    "$(istatus SHOP-7)"
check_match "issue: the status and summary in the table" \
    'status +In Review \(indeterminate since 2026-03-01T00:00:00Z\)' "$(fs issue SHOP-7)"
check_match "... and the summary" 'summary +Checkout tests' "$(fs issue SHOP-7)"
check_match "flag: each issue's status" 'SHOP-1 \(split-tag\) To Do \(new since' \
    "$(fs flag new_checkout)"
check_eq "flag --json: issue_status per linked issue" '"To Do"' \
    "$(fs flag new_checkout --json | jq -c '.issue_status["SHOP-1"].name')"
check_eq "flag --json: the view's issues are still keys" '"SHOP-1"' \
    "$(fs flag new_checkout --json | jq -c '.issues | map(select(. == "SHOP-1"))[0]')"

# Nothing changed in Split or Jira: nothing is written.
t0=$(txnid)
FLAGSYNC_TEST_NOW=2026-03-01T01:00:00Z fs sync >/dev/null 2>"$T/err"
check_eq "a cycle with no change writes nothing (txnid unchanged)" "$t0" "$(txnid)"
check_eq "... and still read every issue" '{"ok":true,"issues":243,"missing":0}' "$(js_status)"

# SHOP-1 moves to Done on March 5; flagsync reads it on March 6.
jira POST transition '{"key":"SHOP-1","status":"In Progress","at":"2026-03-03T10:00:00Z"}' >/dev/null
jira POST transition '{"key":"SHOP-1","status":"Done","at":"2026-03-05T12:30:00Z"}' >/dev/null
export FLAGSYNC_TEST_NOW=2026-03-06T00:00:00Z
fs sync >/dev/null 2>"$T/err"
check_eq "an issue moved to Done shows Done, its resolution date, since Jira's change" \
    '{"name":"Done","category":"done","summary":"Checkout","resolved":"2026-03-05T12:30:00Z","since":"2026-03-05T12:30:00Z","missing":false}' \
    "$(istatus SHOP-1)"
check_match "issue: Done and resolved in the table" \
    'status +Done \(done since 2026-03-05T12:30:00Z\), resolved 2026-03-05T12:30:00Z' \
    "$(fs issue SHOP-1)"

# Reopened: the resolution date goes.
jira POST transition '{"key":"SHOP-1","status":"To Do","at":"2026-03-07T00:00:00Z"}' >/dev/null
FLAGSYNC_TEST_NOW=2026-03-07T01:00:00Z fs sync >/dev/null 2>"$T/err"
check_eq "reopened: no resolution date" '["To Do",null]' \
    "$(fs issue SHOP-1 --json | jq -c '[.status.name, .status.resolved]')"

# Deleted and hidden issues: Jira's 400 names them, they become missing,
# and the search is repeated without them.
jira DELETE 'issue?key=ISS-5' >/dev/null
jira PATCH issue '{"key":"ISS-6","visible":false}' >/dev/null
jira DELETE requests >/dev/null
export FLAGSYNC_TEST_NOW=2026-03-08T00:00:00Z
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "a 400 naming keys does not fail the sync" 0 "$rc"
check_eq "a deleted issue is missing, keeping what was known" \
    '{"name":"To Do","category":"new","summary":"Item 5","missing":true}' \
    "$(istatus ISS-5 | jq -c '{name, category, summary, missing}')"
check_eq "a hidden issue is missing" true "$(istatus ISS-6 | jq .missing)"
check_eq "... the others of its search are not" false "$(istatus ISS-7 | jq .missing)"
reqs=$(key_searches)
check_eq "one search got a 400 and ran again: 4 requests for 3 searches" \
    '[200,200,200,400]' "$(echo "$reqs" | jq -c '[.[].status] | sort')"
check_eq "... the 400 one named both, the repeat names neither" '[true,false]' \
    "$(echo "$reqs" | jq -c '(to_entries | map(select(.value.status == 400))[0].key) as $i |
        [.[$i].body.jql, .[$i + 1].body.jql] | map(test("\"ISS-5\".*\"ISS-6\""))')"
check_eq "status counts them" '{"ok":true,"issues":243,"missing":2}' "$(js_status)"
check_match "status table: the jira-status row" 'jira-status +ok .*243 issues, 2 missing' "$(fs status)"
check_match "issue: missing in the table" 'status +missing in Jira since 2026-03-08T00:00:00Z \(was To Do\)' \
    "$(fs issue ISS-5)"

# A moved issue: Jira answers its old key with the new one, so the old
# key is not returned while the others are: missing.
jira POST move '{"key":"ISS-100","new_key":"NEW-100"}' >/dev/null
FLAGSYNC_TEST_NOW=2026-03-09T00:00:00Z fs sync >/dev/null 2>"$T/err"
check_eq "an issue the search does not return is missing" true "$(istatus ISS-100 | jq .missing)"
check_match "... since when" 'missing in Jira since 2026-03-09T00:00:00Z' "$(fs issue ISS-100)"
check_eq "... and the one still found is not" false "$(istatus ISS-101 | jq .missing)"

# Jira down: every status stays, the source reports the error.
before=$(all_status)
jira POST transition '{"key":"SHOP-7","status":"Done"}' >/dev/null
jira POST fault '{"match":"search/jql","kind":"status","status":503,"count":-1}' >/dev/null
FLAGSYNC_TEST_NOW=2026-03-10T00:00:00Z fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "a Jira outage fails the sync" 1 "$rc"
check_eq "... and keeps every status (none reads missing)" "$before" "$(all_status)"
check_eq "... jira-status reports the error, and no counts" '[false,null,null]' \
    "$(fs status --json | jq -c '.sources[] | select(.source=="jira-status") | [.ok, .issues, .missing]')"
check_match "... naming Jira's answer" '503' \
    "$(fs status --json | jq -r '.sources[] | select(.source=="jira-status") | .error')"
jira DELETE fault >/dev/null
# A 401: the same.
jira POST fault '{"match":"search/jql","kind":"status","status":401,"count":-1}' >/dev/null
FLAGSYNC_TEST_NOW=2026-03-10T00:10:00Z fs sync >/dev/null 2>"$T/err"
check_eq "a refused token keeps every status" "$before" "$(all_status)"
jira DELETE fault >/dev/null
FLAGSYNC_TEST_NOW=2026-03-11T00:00:00Z fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "Jira back: sync exits 0" 0 "$rc"
check_eq "... and reads the change it missed" '"Done"' "$(istatus SHOP-7 | jq .name)"
check_eq "... jira-status ok again" '{"ok":true,"issues":243,"missing":3}' "$(js_status)"

# An issue no longer linked loses its record.
sed -i 's/,ISS-240$//' "$T/links.yaml"
FLAGSYNC_TEST_NOW=2026-03-12T00:00:00Z fs sync >/dev/null 2>"$T/err"
FLAGSYNC_TEST_NOW=2026-03-12T01:00:00Z fs sync >/dev/null 2>"$T/err"
check_eq "an unlinked issue's status is dropped" null "$(istatus ISS-240)"
check_eq "... and no longer read" 242 "$(js_status | jq .issues)"

# The HTTP surface serves the same documents, status included.
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
printf '\n[http]\nlisten = 127.0.0.1:0\n' >>"$T/flagsync.ini"
( exec "$FLAGSYNC" -c "$T/flagsync.ini" run >"$T/daemon.log" 2>&1 ) &
DPID=$!
i=0
until grep -q 'http: listening on 127\.0\.0\.1:[0-9]' "$T/daemon.log"; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$DPID" 2>/dev/null; then
		echo "Bail out! the daemon did not start its HTTP server"
		cat "$T/daemon.log" >&2
		exit 1
	fi
	sleep 0.1
done
URL="http://127.0.0.1:$(sed -n 's/.*http: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/daemon.log" | tail -1)"
check_eq "/v1/issues/SHOP-7 is issue SHOP-7 --json, status included" \
    "$(fs issue SHOP-7 --json)" "$(curl -sS "$URL/v1/issues/SHOP-7")"
check_eq "/v1/flags/Default/new_checkout is flag --json, issue_status included" \
    "$(fs flag new_checkout --json | jq -c .issue_status)" \
    "$(curl -sS "$URL/v1/flags/Default/new_checkout" | jq -c .issue_status)"
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null

done_testing
