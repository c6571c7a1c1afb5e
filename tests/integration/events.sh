#!/bin/sh
# Every event type, from the real binary against the Split simulator:
# baseline on first sync, nothing from an identical poll, one event per
# change, several from one save, gap-free seq.
. "$SRCDIR/tests/integration/lib.sh"

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config

out=$(fs sync 2>&1); rc=$?
check_eq "first sync exits 0" 0 "$rc"
ev=$(events_since 0 | sort)
check_eq "baseline: flag.created for each defined flag, link.added for each link" \
"flag.created Default/new_checkout
flag.created Default/old_banner
flag.created Default/search_v2
link.added Default/new_checkout SHOP-1
link.added Default/new_checkout SHOP-7
link.added Default/search_v2 PAY-42" "$ev"

check_eq "a flag defined only in another environment is listed inactive with no rollout" \
    "false null" "$(fs flags --json | jq -r '.[] | select(.flag=="dark_mode") | "\(.active) \(.rollout)"')"
check_eq "rollout of the default rule: the share not on the default treatment" '{"percentage":75,"treatment":"off"}' \
    "$(fs flags --json | jq -c '.[] | select(.flag=="new_checkout") | .rollout')"
check_eq "rules count includes individual targets" '2 {"rules":2}' \
    "$(fs flags --json | jq -c '.[] | select(.flag=="search_v2") | [.rules, .rollout]' | jq -r '"\(.[0]) \(.[1]|tojson)"')"

seq0=$(last_seq); tx0=$(txnid)
out=$(fs sync 2>&1); rc=$?
check_eq "identical poll exits 0" 0 "$rc"
check_eq "identical poll makes no event" "$seq0" "$(last_seq)"
check_eq "identical poll commits no LMDB transaction" "$tx0" "$(txnid)"
check_match "identical poll says no change" "no change" "$out"

# step CHANGE-DESCRIPTION EXPECTED-EVENTS: sync and compare new events.
step() {
	local before; before=$(last_seq)
	fs sync >/dev/null 2>"$T/err" || diag "sync failed: $(cat "$T/err")"
	check_eq "$1" "$2" "$(events_since "$before")"
}

sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null
step "kill -> flag.killed" "flag.killed Default/new_checkout"

sim POST kill '{"ws":"Default","flag":"new_checkout","killed":false}' >/dev/null
step "restore -> flag.restored" "flag.restored Default/new_checkout"

s=$(last_seq)
sim POST default_rule '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":50},{"treatment":"off","size":50}]}' >/dev/null
step "default rule 25/75 -> 50/50: flag.rollout_changed" "flag.rollout_changed Default/new_checkout"
check_eq "rollout_changed carries before and after rollouts" "75 off -> 50 off" \
    "$(fs events --since "$s" --json | jq -r '"\(.before.rollout.percentage) \(.before.rollout.treatment) -> \(.after.rollout.percentage) \(.after.rollout.treatment)"')"
check_eq "flag events list the flag's issues" '["SHOP-1","SHOP-7"]' \
    "$(fs events --since "$s" --json | jq -c '.issues')"

sim POST add_rule '{"ws":"Default","flag":"new_checkout"}' >/dev/null
step "a new targeting rule -> flag.rules_changed" "flag.rules_changed Default/new_checkout"

sim POST definition '{"ws":"Default","flag":"search_v2","set":{"treatments":[{"name":"on","keys":["alice","carol"]},{"name":"off"}]}}' >/dev/null
step "individual targets changed, same count -> flag.rules_changed" "flag.rules_changed Default/search_v2"

sim POST definition '{"ws":"Default","flag":"new_checkout","set":{"defaultTreatment":"on"}}' >/dev/null
step "default treatment -> flag.default_treatment_changed" "flag.default_treatment_changed Default/new_checkout"

sim POST definition '{"ws":"Default","flag":"new_checkout","set":{"trafficAllocation":40}}' >/dev/null
step "traffic allocation -> flag.traffic_changed" "flag.traffic_changed Default/new_checkout"

sim POST definition '{"ws":"Default","flag":"new_checkout","set":{"treatments":[{"name":"on"},{"name":"off"},{"name":"v2"}]}}' >/dev/null
step "a third treatment -> flag.treatments_changed" "flag.treatments_changed Default/new_checkout"

sim POST touch '{"ws":"Default","flag":"new_checkout"}' >/dev/null
step "saved with no change -> flag.updated" "flag.updated Default/new_checkout"

s=$(last_seq)
sim POST definition '{"ws":"Default","flag":"new_checkout","set":{"killed":true,"defaultRule":[{"treatment":"on","size":10},{"treatment":"off","size":90}]}}' >/dev/null
step "kill and new default rule in one save -> two events" \
"flag.killed Default/new_checkout
flag.rollout_changed Default/new_checkout"
check_eq "both events of one save share the commit time" 1 \
    "$(fs events --since "$s" --json | jq -r .time | sort -u | wc -l | tr -d ' ')"

s=$(last_seq)
sim DELETE 'definition?ws=Default&flag=old_banner&env=Production' >/dev/null
step "definition removed from the primary environment -> flag.deleted" "flag.deleted Default/old_banner"
check_eq "flag.deleted has after null and the before view" "null old_banner" \
    "$(fs events --since "$s" --json | jq -r '"\(.after) \(.before.flag)"')"
check_eq "a flag without definition stays listed, inactive" "false" \
    "$(fs flags --json | jq -r '.[] | select(.flag=="old_banner") | .active')"

sim POST definition '{"ws":"Default","flag":"dark_mode","set":{"treatments":[{"name":"on"},{"name":"off"}],"defaultTreatment":"off","defaultRule":[{"treatment":"on","size":5},{"treatment":"off","size":95}]}}' >/dev/null
step "definition appears in the primary environment -> flag.created" "flag.created Default/dark_mode"

sim POST flag '{"ws":"Default","flag":"brand_new","tags":["PAY-7"],"definition":{}}' >/dev/null
step "a new flag -> flag.created and its tag link" \
"flag.created Default/brand_new
link.added Default/brand_new PAY-7"

s=$(last_seq)
sim DELETE 'flag?ws=Default&flag=search_v2' >/dev/null
step "a deleted flag -> flag.deleted and link.removed" \
"flag.deleted Default/search_v2
link.removed Default/search_v2 PAY-42"
check_eq "flag.deleted lists the issues it had" '["PAY-42"]' \
    "$(fs events --since "$s" --type flag.deleted --json | jq -c .issues)"
check_eq "the deleted flag is gone from the cache" "" \
    "$(fs flags --json | jq -r '.[] | select(.flag=="search_v2") | .flag')"

sim PATCH flag '{"ws":"Default","flag":"brand_new","set":{"tags":["PAY-7","SHOP-9"]}}' >/dev/null
step "tagging an issue in Split -> link.added" "link.added Default/brand_new SHOP-9"
sim PATCH flag '{"ws":"Default","flag":"brand_new","set":{"tags":["SHOP-9"]}}' >/dev/null
step "removing the tag -> link.removed" "link.removed Default/brand_new PAY-7"

check_eq "link events carry their sources" '["split-tag"]' \
    "$(fs events --type link.removed --limit 1 --json | jq -c .sources)"

seqs=$(fs events --json | jq -r .seq | tr '\n' ' ')
expect=$(seq 1 "$(last_seq)" | tr '\n' ' ')
check_eq "event seq numbers are gap-free from 1" "$expect" "$seqs"

check_eq "every event validates: required keys present" 0 \
    "$(fs events --json | jq -c 'select((has("seq") and has("time") and has("type") and has("project") and has("environment") and has("flag") and (if (.type | startswith("link.")) then has("issue") and has("sources") else has("issues") end)) | not)' | wc -l | tr -d ' ')"
check_eq "link events carry their issue and sources, not the flag's issues" 0 \
    "$(fs events --type 'link.*' --json | jq -c 'select(has("issues"))' | wc -l | tr -d ' ')"
check_match "event times are RFC 3339 UTC" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' \
    "$(fs events --limit 1 --json | jq -r .time)"

done_testing
