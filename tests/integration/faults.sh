#!/bin/sh
# Injected Split faults: each failing poll leaves the cache exactly as it
# was (no event, no deletion), says what went wrong, and never crashes;
# retryable faults are retried and then succeed.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_BACKOFF_MS=20
sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config
sed -i 's/^timeout = 5/timeout = 2/' "$T/flagsync.ini"
fs sync >/dev/null 2>&1
before=$(cache_print); seq0=$(last_seq)

# A change waits in Split; no failing poll may commit it.
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null

# fault NAME FAULT-JSON EXPECTED-MESSAGE-REGEX
fault() {
	sim DELETE fault >/dev/null
	sim POST fault "$2" >/dev/null
	fs sync >"$T/out" 2>"$T/err"; rc=$?
	check_eq "$1: sync exits 1" 1 "$rc"
	check_match "$1: the message says what failed" "$3" "$(cat "$T/err")"
	check_eq "$1: the cache is unchanged" "$before" "$(cache_print)"
	sim DELETE fault >/dev/null
}

fault "HTTP 500 on every definitions page" \
    '{"match":"/splits/ws/[^/]+/environments/","kind":"status","status":500,"count":-1}' \
    'Default.*/splits/ws/.*/environments/.*500'
sim DELETE requests >/dev/null
sim POST fault '{"match":"/splits/ws/[^/]+/environments/","kind":"status","status":502,"count":-1}' >/dev/null
fs sync >/dev/null 2>&1
check_eq "a 5xx is retried three times, then the project is skipped" 4 \
    "$(sim GET requests | jq '[.requests[] | select(.path | test("/splits/ws/[^/]+/environments/"))] | length')"
sim DELETE fault >/dev/null

fault "malformed JSON" \
    '{"match":"/splits/ws/[^/]+/environments/","kind":"malformed","count":-1}' 'malformed'
fault "truncated answer" \
    '{"match":"/splits/ws/[^/]+/environments/","kind":"truncated","count":-1}' 'malformed|truncat'
fault "totalCount changing between pages" \
    '{"match":"/splits/ws/[^/]+\\?","kind":"totalcount_drift","count":-1}' 'totalCount'
fault "an answer slower than the timeout" \
    '{"match":"/splits/ws/[^/]+/environments/","kind":"slow","delay":3,"count":-1}' 'timed out|timeout'
fault "connection closed without an answer" \
    '{"match":"/splits/ws/","kind":"close","count":-1}' '[Ee]mpty reply|network|connection|closed'
fault "HTTP 500 on the flag list" \
    '{"match":"/splits/ws/[^/]+\\?","kind":"status","status":500,"count":-1}' '500'

# Authentication and visibility.
printf 'wrong-key\n' >"$T/split-key"
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "wrong admin key: sync exits 1" 1 "$rc"
check_match "wrong admin key: 401 is reported with what to check" '401.*([Aa]dmin API key|admin_key)' "$(cat "$T/err")"
check_nomatch "wrong admin key: the key never appears in messages" 'wrong-key' "$(cat "$T/out" "$T/err")"
check_eq "wrong admin key: the cache is unchanged" "$before" "$(cache_print)"
printf 'sim-admin-key\n' >"$T/split-key"

sim POST key '{"key":"sim-admin-key","workspaces":["Shop"]}' >/dev/null
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "project hidden from the key: sync exits 1" 1 "$rc"
check_match "project hidden from the key: names it and the permissions" "Default.*(permission|access)" "$(cat "$T/err")"
check_eq "project hidden from the key: nothing reads as deleted" "$before" "$(cache_print)"
sim POST key '{"key":"sim-admin-key","workspaces":"*"}' >/dev/null

sed -i 's/^environment = Production/environment = Prodution/' "$T/flagsync.ini"
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "unknown environment: sync exits 1" 1 "$rc"
check_match "unknown environment: the message names it and the project" "Prodution.*Default|Default.*Prodution" "$(cat "$T/err")"
check_eq "unknown environment: the cache is unchanged" "$before" "$(cache_print)"
sed -i 's/^environment = Prodution/environment = Production/' "$T/flagsync.ini"

# One project failing does not hold back another.
cat >>"$T/flagsync.ini" <<'INI'
[project Nope]
environment = Production
INI
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "one unknown project: sync exits 1" 1 "$rc"
check_match "one unknown project: it is named" "'Nope'" "$(cat "$T/err")"
check_eq "one unknown project: the other project's change is committed" \
    "flag.killed Default/new_checkout" "$(events_since "$seq0")"
check_match "status shows the failed source" '"source":"split:Nope"' "$(fs status --json | jq -c '.sources[] | select(.ok==false)')"
sed -i '/^\[project Nope\]/,$d' "$T/flagsync.ini"

# Retryable faults: the poll succeeds after waiting.
seq1=$(last_seq)
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":false}' >/dev/null
sim POST fault '{"match":"/splits/ws/[^/]+/environments/","kind":"status","status":503,"count":2}' >/dev/null
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "503 twice then 200: sync exits 0" 0 "$rc"
check_eq "503 twice then 200: the change arrives once" "flag.restored Default/new_checkout" "$(events_since "$seq1")"

seq2=$(last_seq)
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null
sim POST fault '{"match":"/splits/ws/","kind":"ratelimit","reset_org":2,"reset_ip":1,"count":1}' >/dev/null
start=$(date +%s.%N)
fs sync >"$T/out" 2>"$T/err"; rc=$?
end=$(date +%s.%N)
check_eq "429: sync exits 0 after waiting" 0 "$rc"
check "429: waited max(X-RateLimit-Reset-Seconds-Org, -IP) = 2 s" \
    awk -v a="$start" -v b="$end" 'BEGIN { exit !(b - a >= 2.0) }'
check_eq "429: the change arrives once" "flag.killed Default/new_checkout" "$(events_since "$seq2")"

check_eq "no failing poll ever produced a deletion" 0 \
    "$(fs events --type flag.deleted --json | wc -l | tr -d ' ')"
check_eq "no failing poll ever removed a link" 0 \
    "$(fs events --type link.removed --json | wc -l | tr -d ' ')"

done_testing
