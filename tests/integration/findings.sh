#!/bin/sh
# Flag-hygiene findings (flagsync(8)) driven through time with
# FLAGSYNC_TEST_NOW: none without [findings]; fully-rolled-out after
# stale_after and closed when the flag changes; killed-long; unlinked;
# flag-gone from links.yaml; ignore; a restart never reopens.
. "$SRCDIR/tests/integration/lib.sh"

needs_test_hooks
sim_start --state "$SRCDIR/tests/integration/base-state.json"
cat >"$T/links.yaml" <<'YAML'
links:
  - flag: old_banner
    issues: [OPS-5]
  - flag: promo_banner
    issues: [MKT-3]
YAML
LINKS="[links]
file = $T/links.yaml"
DAY=86400000
T0=1767225600000		# 2026-01-01T00:00:00Z
at() { FLAGSYNC_TEST_NOW=$((T0 + $1 * DAY)); export FLAGSYNC_TEST_NOW; }

# "type finding project/flag issue" of the finding events after SEQ.
findings_since() {
	fs events --since "$1" --json |
	    jq -r 'select(.type | startswith("finding.")) |
	    [.type, .finding, .project + "/" + .flag, (.issue // "-")] | join(" ")' |
	    sort
}

# promo_banner: active at 50%, named by links.yaml, no Split link.
sim POST flag '{"ws":"Default","flag":"promo_banner","definition":{"defaultRule":[{"treatment":"on","size":50},{"treatment":"off","size":50}]}}' >/dev/null

# Without [findings]: nothing, for existing users.
write_config "$LINKS"
at 0
fs sync >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
check_eq "without [findings]: no finding event" "" "$(findings_since 0)"

# An empty [findings] takes the defaults.
write_config "$LINKS
[findings]"
at 1
s=$(last_seq)
fs sync >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
check_eq "empty [findings]: nothing timed is due yet" "" "$(findings_since "$s")"

# unlinked: take promo_banner out of links.yaml.
cat >"$T/links.yaml" <<'YAML'
links:
  - flag: old_banner
    issues: [OPS-5]
  - flag: ghost_flag
    issues: [OPS-9]
YAML
at 2
s=$(last_seq)
fs sync >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
check_eq "unlinked opens; flag-gone opens for a links.yaml flag that does not exist" \
"finding.opened flag-gone Default/ghost_flag OPS-9
finding.opened unlinked Default/promo_banner -" "$(findings_since "$s")"
ev=$(fs events --since "$s" --json | jq -c 'select(.finding == "unlinked") |
    {type, finding, project, flag, issue, since, detail}')
check_eq "finding.opened carries finding, project, flag, issue null, since" \
    '{"type":"finding.opened","finding":"unlinked","project":"Default","flag":"promo_banner","issue":null,"since":"2026-01-03T00:00:00Z","detail":"promo_banner is active and linked to no issue"}' \
    "$ev"

# A restart (each sync is a new process) never reopens.
at 3
s=$(last_seq)
fs sync >/dev/null 2>&1
fs sync >/dev/null 2>&1
check_eq "restart: no duplicate finding.opened" "" "$(findings_since "$s")"

# fully-rolled-out: new_checkout at 100% on day 3 opens 30 days later.
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":100}]}' >/dev/null
fs sync >/dev/null 2>&1
# killed-long: old_banner was killed at the baseline (day 0, before
# findings were on): its kill is read from the event log.
at 29
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "killed-long: not before stale_after" "" "$(findings_since "$s")"
at 30
fs sync >/dev/null 2>&1
check_eq "killed-long opens 30 days after the kill" \
    "finding.opened killed-long Default/old_banner -" "$(findings_since "$s")"
check_eq "killed-long: since is the kill (the baseline's flag.created)" \
    "2026-01-01T00:00:00Z" \
    "$(fs events --since "$s" --json | jq -r 'select(.finding == "killed-long") | .since')"
at 32
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "fully-rolled-out: not before stale_after" "" "$(findings_since "$s")"
at 33
fs sync >/dev/null 2>&1
check_eq "fully-rolled-out opens 30 days after it reached 100%" \
    "finding.opened fully-rolled-out Default/new_checkout -" "$(findings_since "$s")"
check_eq "fully-rolled-out: the detail in words" \
    "new_checkout serves on to 100% for 30 days: remove it from the code" \
    "$(fs events --since "$s" --json | jq -r 'select(.finding == "fully-rolled-out") | .detail')"
check_eq "fully-rolled-out: since is the change that put it at 100%" \
    "2026-01-04T00:00:00Z" \
    "$(fs events --since "$s" --json | jq -r 'select(.finding == "fully-rolled-out") | .since')"
at 34
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "a later cycle reopens nothing" "" "$(findings_since "$s")"

# The flag changes: the finding closes.
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":60},{"treatment":"off","size":40}]}' >/dev/null
at 35
s=$(last_seq)
fs sync >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
check_eq "fully-rolled-out closes when the flag changes" \
    "finding.closed fully-rolled-out Default/new_checkout -" "$(findings_since "$s")"
check_eq "finding.closed is in the same transaction as the change" \
    "flag.rollout_changed finding.closed" \
    "$(fs events --since "$s" --json | jq -r .type | tr '\n' ' ' | sed 's/ $//')"

# ignore: unlinked stops holding, so it closes; nothing else moves.
write_config "$LINKS
[findings]
ignore = unlinked"
at 36
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "ignore suppresses a type" \
    "finding.closed unlinked Default/promo_banner -" "$(findings_since "$s")"

# flag-gone closes when links.yaml drops the link.
cat >"$T/links.yaml" <<'YAML'
links:
  - flag: old_banner
    issues: [OPS-5]
YAML
at 37
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "flag-gone closes with the link" \
    "finding.closed flag-gone Default/ghost_flag OPS-9" "$(findings_since "$s")"

# flagsync findings: oldest first, filters, table and JSON.
at 40
check_eq "findings --json: oldest first, open and closed" \
"killed-long Default/old_banner - open 2026-01-01T00:00:00Z 40
flag-gone Default/ghost_flag OPS-9 closed 2026-01-03T00:00:00Z 35
unlinked Default/promo_banner - closed 2026-01-03T00:00:00Z 34
fully-rolled-out Default/new_checkout - closed 2026-01-04T00:00:00Z 32" \
    "$(fs findings --json | jq -r '.[] | [.finding, .project + "/" + .flag, (.issue // "-"), .state, .since, .days] | join(" ")')"
check_eq "findings --open" "killed-long" "$(fs findings --open --json | jq -r '.[].finding')"
check_eq "findings --closed --type 'f*'" "flag-gone fully-rolled-out" \
    "$(fs findings --closed --type 'f*' --json | jq -r '.[].finding' | tr '\n' ' ' | sed 's/ $//')"
check_eq "findings --open --closed: usage error" 2 "$(fs findings --open --closed >/dev/null 2>&1; echo $?)"
check_match "findings: a table for people" \
    'FINDING +PROJECT +FLAG +ISSUE +STATE +SINCE +DAYS.*killed-long +Default +old_banner +- +open +2026-01-01T00:00:00Z +40' \
    "$(fs findings | tr '\n' ' ')"
check_eq "export --findings: the report" "$(fs findings --json)" "$(fs export --findings)"
check_eq "export --findings --format csv" \
"finding,project,flag,issue,state,since,closed,days
killed-long,Default,old_banner,,open,2026-01-01T00:00:00Z,,40" \
    "$(fs export --findings --format csv | head -2)"

# A quiet cycle writes nothing (the evaluation is skipped, not redone).
at 38
fs sync >/dev/null 2>&1
n=$(txnid)
fs sync >/dev/null 2>&1
check_eq "a cycle with no change and nothing due commits nothing" "$n" "$(txnid)"

# A flag deleted and made again starts its history over: old_banner,
# killed since day 0, deleted on day 41, made again killed on day 42.
sim DELETE 'flag?ws=Default&flag=old_banner' >/dev/null
at 41
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "deleted: killed-long closes, and links.yaml's link to it is flag-gone" \
"finding.closed killed-long Default/old_banner -
finding.opened flag-gone Default/old_banner OPS-5" "$(findings_since "$s")"
sim POST flag '{"ws":"Default","flag":"old_banner","definition":{"killed":true}}' >/dev/null
at 42
s=$(last_seq)
fs sync >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
at 43
fs sync >/dev/null 2>&1
check_eq "made again killed: killed since day 42, not day 0" \
    "finding.closed flag-gone Default/old_banner OPS-5" "$(findings_since "$s")"

check_match "check-config shows [findings]" \
    '^  findings    done_grace 14d, stale_after 30d, ignore unlinked$' "$(fs check-config)"

# Bad settings are refused with file, line and key.
write_config "$LINKS
[findings]
ignore = unlinkd"
fs check-config >/dev/null 2>"$T/err"; rc=$?
check_eq "ignore naming no type: exit 2" 2 "$rc"
check_match "... naming the file, line and key" 'flagsync.ini:[0-9]+: \[findings\] ignore: "unlinkd" matches no finding type' "$(cat "$T/err")"
write_config "$LINKS
[findings]
stale_after = soon"
fs check-config >/dev/null 2>"$T/err"; rc=$?
check_eq "stale_after not a duration: exit 2" 2 "$rc"

# ------------------------------------------------ with the Jira status
# done-but-partial and issue-missing come from the issues' Jira status
# (issuestatus.h); a fresh cache, new_checkout at 50% linked to SHOP-1
# (tag) and SHOP-7 (description), search_v2 to PAY-42, which Jira lacks.
kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null
sim_start --state "$SRCDIR/tests/integration/base-state.json"
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":50},{"treatment":"off","size":50}]}' >/dev/null
jira_start
jira POST state '{"issues":[{"key":"SHOP-1","fields":{"summary":"Checkout","status":"In Progress"}},
    {"key":"SHOP-7","fields":{"summary":"Checkout copy","status":"To Do"}}]}' >/dev/null
printf 'sim-jira-token\n' >"$T/jira-token"
chmod 600 "$T/jira-token"
rm -rf "$T/state"
plugin_dir_setup
write_config "[jira]
url = $JIRA_URL
email = flagsync-bot@example.com
api_token_file = $T/jira-token
timeout = 5
[findings]
ignore = unlinked, killed-long
[plugin jira]
events = *
findings_comment = yes
[plugin audit]
module = file
path = $T/audit.jsonl
events = finding.*"
comments() {	# ISSUE: comments flagsync posted on it
	jira GET requests | jq --arg p "/rest/api/3/issue/$1/comment" \
	    '[.requests[] | select(.method == "POST" and .path == $p and .status == 201)] | length'
}
status_since() {
	findings_since "$1" | grep -E 'done-but-partial|issue-missing'
}
at 0
fs sync >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
check_eq "issue-missing: a linked issue Jira does not have" \
    "finding.opened issue-missing Default/search_v2 PAY-42" "$(status_since 0)"

jira POST transition "{\"key\":\"SHOP-1\",\"status\":\"Done\",\"at\":$((T0 + DAY))}" >/dev/null
at 2
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "done-but-partial: not within done_grace" "" "$(status_since "$s")"
at 15
fs sync >/dev/null 2>&1
check_eq "done-but-partial opens done_grace after the issue went Done" \
    "finding.opened done-but-partial Default/new_checkout SHOP-1" "$(status_since "$s")"
check_eq "... since the status category change, worded" \
    "2026-01-02T00:00:00Z SHOP-1 Done 14 days, new_checkout still 50% off" \
    "$(fs events --since "$s" --json | jq -r 'select(.finding == "done-but-partial") | .since + " " + .detail')"
check_eq "the Jira writer puts the issue's open findings in its property" \
    '[{"finding":"done-but-partial","project":"Default","flag":"new_checkout","issue":"SHOP-1","since":"2026-01-02T00:00:00Z"}]' \
    "$(jira GET 'issue?key=SHOP-1' | jq -c '.properties["flagsync.flags"].findings')"
check_eq "... SHOP-7's property has none of SHOP-1's" '[]' \
    "$(jira GET 'issue?key=SHOP-7' | jq -c '.properties["flagsync.flags"].findings')"
check_eq "findings_comment: one comment on SHOP-1" 1 "$(comments SHOP-1)"
check_match "... in words" 'flagsync: finding opened \(done-but-partial\): SHOP-1 Done 14 days' \
    "$(jira GET requests | jq -r '.requests[] | select(.path == "/rest/api/3/issue/SHOP-1/comment") | .body.body.content[0].content[0].text')"
check_eq "events = finding.* delivers the finding events, and only those" \
    "$(fs events --json | jq -c 'select(.type | startswith("finding."))')" \
    "$(jq -c . "$T/audit.jsonl")"
fs replay --plugin jira >/dev/null 2>&1
check_eq "findings_comment: a replay comments no second time" 1 "$(comments SHOP-1)"
check_eq "... and none on SHOP-7" 0 "$(comments SHOP-7)"

# A Jira outage changes no finding: PAY-42 appears meanwhile, unseen.
jira POST issue '{"key":"PAY-42","fields":{"summary":"Search","status":"To Do"}}' >/dev/null
jira POST fault '{"match":"/search","kind":"status","status":503,"count":-1}' >/dev/null
at 16
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "a Jira outage changes no finding" "" "$(findings_since "$s")"
jira DELETE fault >/dev/null
at 17
fs sync >/dev/null 2>&1
check_eq "Jira back: issue-missing closes" \
    "finding.closed issue-missing Default/search_v2 PAY-42" "$(status_since "$s")"

# done-but-partial closes at 100%, at 0%, and when the flag is deleted.
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":100}]}' >/dev/null
at 18
s=$(last_seq)
fs sync >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
check_eq "done-but-partial closes when the flag reaches 100%" \
    "finding.closed done-but-partial Default/new_checkout SHOP-1" "$(status_since "$s")"
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":50},{"treatment":"off","size":50}]}' >/dev/null
at 19
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "back at 50%: it opens again (the grace is long past)" \
    "finding.opened done-but-partial Default/new_checkout SHOP-1" "$(status_since "$s")"
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"off","size":100}]}' >/dev/null
at 20
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "done-but-partial closes when the flag reaches 0%" \
    "finding.closed done-but-partial Default/new_checkout SHOP-1" "$(status_since "$s")"
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":50},{"treatment":"off","size":50}]}' >/dev/null
at 21
fs sync >/dev/null 2>&1
sim DELETE 'flag?ws=Default&flag=new_checkout' >/dev/null
at 22
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "done-but-partial closes when the flag is deleted" \
    "finding.closed done-but-partial Default/new_checkout SHOP-1" "$(status_since "$s")"

done_testing
