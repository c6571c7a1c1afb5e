#!/bin/sh
# Paging to totalCount with at most 50 definitions a page, and the
# client-side request ceiling max_rps.
. "$SRCDIR/tests/integration/lib.sh"

sim_start --generate 130 --seed 7
write_config
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "sync of 130 generated flags exits 0" 0 "$rc"
check_eq "every flag is in the cache" 130 "$(fs flags --json | jq length)"
reqs=$(sim GET requests)
check_eq "definitions paged with limit=50 at offsets 0, 50, 100" \
    "0 50,50 50,100 50" \
    "$(echo "$reqs" | jq -r '.requests[] | select(.path | test("/splits/ws/[^/]+/environments/")) | .query' |
       sed -E 's/.*offset=([0-9]+).*limit=([0-9]+).*|.*limit=([0-9]+).*offset=([0-9]+).*/\1\4 \2\3/' | paste -sd, -)"
check_eq "defined flags match the definitions served" \
    "$(echo "$reqs" >/dev/null; sim GET state | jq '[.workspaces[0].flags[] | select(.definitions | to_entries | map(.key) | index("'"$(sim GET state | jq -r '.workspaces[0].environments[] | select(.name=="Production") | .id')"'"))] | length')" \
    "$(fs flags --json | jq '[.[] | select(.rollout != null)] | length')"

# max_rps: no second holds more requests than allowed.
sed -i 's/^max_rps = 0/max_rps = 2/' "$T/flagsync.ini"
sim DELETE requests >/dev/null
fs sync >/dev/null 2>&1
n=$(sim GET requests | jq '.requests | length')
check "max_rps = 2: at least 5 requests made ($n)" test "$n" -ge 5
worst=$(sim GET requests | jq '[.requests[].time] as $t | [range(0; $t|length) as $i | [$t[] | select(. >= $t[$i] and . < $t[$i] + 1)] | length] | max')
check "max_rps = 2: never more than 2 requests within one second (worst: $worst)" test "$worst" -le 2

done_testing
