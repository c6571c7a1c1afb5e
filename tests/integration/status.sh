#!/bin/sh
# `status` before the first sync and its `healthy` verdict (flagsync(8)): every
# configured source is listed ("never polled" until it is), healthy means
# each one succeeded within 3 x interval and no output is stuck or
# crash-looping, and the JSON carries what a monitor needs (last_ok,
# duration, problems).
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_BACKOFF_MS=20

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_until() {
	local n=$(($1 * 10)); shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -le 0 ] && return 1
		sleep 0.1
	done
}

sim_start --state "$SRCDIR/tests/integration/base-state.json"
printf "links:\n  - flag: new_checkout\n    issues: [SHOP-9]\n" >"$T/links.yaml"
write_config "
[links]
file = $T/links.yaml"
sed -i 's/^log_level = info$/log_level = info\ninterval = 1/' "$T/flagsync.ini"

out=$(fs status 2>&1); rc=$?
check_eq "status before the first sync exits 0" 0 "$rc"
check_match "it lists the project as never polled" \
    '^split:Default +never polled' "$out"
check_match "and the links file too" '^file +never polled' "$out"
check_match "and says it is not healthy" '^healthy +no' "$out"
js=$(fs status --json); rc=$?
check_eq "status --json before the first sync exits 0" 0 "$rc"
check_eq "its JSON says healthy: false" false "$(printf '%s' "$js" | jq .healthy)"
check_eq "each configured source is never_polled" "file:true,split:Default:true" \
    "$(printf '%s' "$js" | jq -r '[.sources[] | .source + ":" + (.never_polled | tostring)] | sort | join(",")')"
check_eq "problems name them" 2 "$(printf '%s' "$js" | jq '.problems | length')"
check_eq "counts are zero" "0 0 0" \
    "$(printf '%s' "$js" | jq -r '"\(.flags.total) \(.links) \(.events.last)"')"

fs sync >/dev/null 2>&1
js=$(fs status --json)
check_eq "after a good sync it is healthy" true "$(printf '%s' "$js" | jq .healthy)"
check_eq "no problems" "[]" "$(printf '%s' "$js" | jq -c .problems)"
check_eq "every configured source is healthy, with a last success" \
    "file:true:true,split:Default:true:true" \
    "$(printf '%s' "$js" | jq -r '[.sources[] | select(.healthy != null) | .source + ":" + (.healthy | tostring) + ":" + (.last_ok == .last_poll | tostring)] | sort | join(",")')"
check_eq "each carries its poll duration in seconds" "number" \
    "$(printf '%s' "$js" | jq -r '.sources[] | select(.source == "split:Default") | .duration | type')"
check_eq "events by type count the retained log" \
    "$(printf '%s' "$js" | jq '.events.last - .events.first + 1')" \
    "$(printf '%s' "$js" | jq '[.events.by_type[]] | add')"
check_match "the table says healthy yes" '^healthy +yes' "$(fs status)"

# Split goes down: the next sync fails, and once the last success is 3
# intervals (3 s) old the project is reported stale.
last_ok=$(printf '%s' "$js" | jq -r '.sources[] | select(.source == "split:Default") | .last_ok')
sim POST fault '{"match":".","kind":"status","status":503,"count":-1}' >/dev/null
stale() {
	fs sync >/dev/null 2>&1
	[ "$(fs status --json | jq .healthy)" = false ]
}
if wait_until 30 stale; then ok "3 intervals of failures make it unhealthy"; else
	not_ok "3 intervals of failures make it unhealthy"; fi
js=$(fs status --json)
check_eq "the failing source keeps its last success time" "$last_ok" \
    "$(printf '%s' "$js" | jq -r '.sources[] | select(.source == "split:Default") | .last_ok')"
check_match "the problem names the source and the 3 x interval" \
    '^split:Default: last succeeded [0-9]+ s ago \(more than 3 x interval = 3 s\)$' \
    "$(printf '%s' "$js" | jq -r '.problems[]')"
check_eq "the links file, still read, stays healthy" true \
    "$(printf '%s' "$js" | jq '.sources[] | select(.source == "file") | .healthy')"
sim DELETE fault >/dev/null
fs sync >/dev/null 2>&1
check_eq "a good sync makes it healthy again" true "$(fs status --json | jq .healthy)"

done_testing
