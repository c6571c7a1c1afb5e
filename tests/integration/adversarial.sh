#!/bin/sh
# Hostile answers from Split.  A broken answer fails its project with one
# clear line, exit 1 and an unchanged cache; a single bad item is skipped
# and named in `status` while the rest of its project commits; a listing
# that would delete most flags waits for a second poll to confirm it.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_BACKOFF_MS=20

# A second listener stands for "another host": it records any request,
# and with it any key, that a redirect would have sent there.
OTHER_PID=
rm -f "$T/other.port"
python3 "$SRCDIR/tests/sim/split_sim.py" --port 0 --port-file "$T/other.port" \
    --quiet 2>"$T/other.log" &
OTHER_PID=$!
trap 'kill "$OTHER_PID" 2>/dev/null; wait "$OTHER_PID" 2>/dev/null; cleanup' EXIT

sim_start --state "$SRCDIR/tests/integration/base-state.json" --generate 120 \
    --seed 7
write_config
sed -i 's/^timeout = 5/timeout = 2/' "$T/flagsync.ini"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "baseline sync exits 0" 0 "$rc"
n0=$(fs flags --json | jq length)
check_eq "baseline: 124 flags" 124 "$n0"
before=$(cache_print)
i=0
while [ ! -s "$T/other.port" ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { echo "Bail out! second listener did not start"; exit 1; }
	sleep 0.1
done
OTHER_URL="http://127.0.0.1:$(cat "$T/other.port")"

# A change waits in Split; no failing poll may commit it.
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null

# broken NAME FAULT-JSON EXPECTED-MESSAGE-REGEX
broken() {
	sim DELETE fault >/dev/null
	sim POST fault "$2" >/dev/null
	fs sync >"$T/out" 2>"$T/err"; rc=$?
	check_eq "$1: sync exits 1" 1 "$rc"
	check_match "$1: one clear message" "$3" "$(cat "$T/err")"
	check_eq "$1: the cache is unchanged" "$before" "$(cache_print)"
	sim DELETE fault >/dev/null
}

FLAGS='/splits/ws/[^/]+\\?'
DEFS='/splits/ws/[^/]+/environments/'
broken "a 50 MB answer" \
    '{"match":"'"$FLAGS"'","kind":"huge","count":-1}' \
    "/splits/ws/.*larger than [0-9]+ bytes"
broken "100,000 levels of nesting" \
    '{"match":"'"$DEFS"'","kind":"deep","count":-1}' \
    "/environments/.*malformed answer: nesting too deep"
broken "a truncated answer" \
    '{"match":"'"$FLAGS"'","kind":"truncated","count":-1}' \
    "/splits/ws/.*malformed answer"
broken "totalCount a string" \
    '{"match":"'"$FLAGS"'","kind":"edit","set":{"totalCount":"124"},"count":-1}' \
    "/splits/ws/.*totalCount"
broken "objects an object" \
    '{"match":"'"$DEFS"'","kind":"edit","set":{"objects":{}},"count":-1}' \
    "/environments/.*'objects' array"
broken "totalCount lower than the objects on the page" \
    '{"match":"'"$FLAGS"'offset=0","kind":"total","total":30,"count":-1}' \
    "50 objects at offset 0, beyond totalCount 30"
broken "two flags with one name" \
    '{"match":"'"$FLAGS"'offset=0","kind":"edit","index":1,"set":{"name":"new_checkout"},"count":-1}' \
    "flag 'new_checkout' listed twice"
broken "a definition whose name is null" \
    '{"match":"'"$DEFS"'","kind":"edit","index":1,"set":{"name":null},"count":-1}' \
    "/environments/.*a definition without a string 'name'"
broken "a redirect to another host" \
    '{"match":"'"$FLAGS"'","kind":"redirect","location":"'"$OTHER_URL"'/internal/api/v2/splits/ws/x","count":-1}' \
    "HTTP 302 redirect to host '127.0.0.1:[0-9]+' not followed"
check_eq "a redirect to another host: the other host got no request" 0 \
    "$(curl -sS "$OTHER_URL/_sim/requests" | jq '.requests | length')"
check_nomatch "no message shows the key" 'sim-admin-key' "$(cat "$T/out" "$T/err")"

# item NAME EXPECTED-STATUS-REGEX: sync exits 0, the waiting change
# arrives, nothing is deleted or unlinked, status names the bad item.
killed=true
item() {
	seq=$(last_seq)
	fs sync >"$T/out" 2>"$T/err"; rc=$?
	check_eq "$1: sync exits 0" 0 "$rc"
	check_eq "$1: the rest of the project commits" \
	    "flag.$([ $killed = true ] && echo killed || echo restored) Default/new_checkout" \
	    "$(events_since "$seq" | grep new_checkout)"
	check_eq "$1: nothing deleted or unlinked" "" \
	    "$(events_since "$seq" | grep -E '^(flag.deleted|link.removed)')"
	check_match "$1: status names it" "$2" \
	    "$(fs status --json | jq -c '.sources[] | select(.source == "split:Default") | [.ok, .note, .skipped]')"
	sim DELETE fault >/dev/null
	killed=$([ $killed = true ] && echo false || echo true)
	sim POST kill '{"ws":"Default","flag":"new_checkout","killed":'$killed'}' >/dev/null
}

long=$(head -c 10000 /dev/zero | tr '\0' 'x')
sim POST flag '{"ws":"Default","flag":"'"$long"'"}' >/dev/null
item "a 10 kB flag name" "^\[true,\"1 item skipped: flag 'x{40}\.\.\. \(10000 bytes\)': a name of 10000 bytes"
check_match "a 10 kB flag name: the status table counts it" \
    "^split:Default +ok .*[0-9]+ flags, [0-9]+ defined; 1 skipped" "$(fs status)"
check_match "a 10 kB flag name: ... and lists it under SKIPPED" \
    "^split:Default +flag 'x{40}\\.\\.\\. \\(10000 bytes\\)' +a name of 10000 bytes" \
    "$(fs status)"
sim DELETE "flag?ws=Default&flag=$long" >/dev/null

sim POST fault '{"match":"'"$DEFS"'","kind":"edit","index":3,"set":{"defaultRule":"x"},"count":1}' >/dev/null
item "a definition with a wrong-typed defaultRule" "definition field 'defaultRule' is not an array"

sim POST fault '{"match":"'"$FLAGS"'offset=0","kind":"edit","index":3,"set":{"tags":"x"},"count":1}' >/dev/null
item "a flag whose tags are a string" "flag 'dark_mode'.*'tags' is not an array"
check_eq "the skipped flag is still there, unchanged" \
    "$(echo "$before" | grep -c dark_mode)" "$(cache_print | grep -c dark_mode)"

keys=$(seq 1 4000 | sed 's/^/AB-/' | paste -sd' ')
sim POST flag '{"ws":"Default","flag":"many_keys","description":"'"$keys"'"}' >/dev/null
item "4,000 issue keys in one description" "3900 issue keys beyond the 100 links"
check_eq "4,000 issue keys: the flag takes 100 links" 100 \
    "$(fs flags --json --linked | jq '.[] | select(.flag == "many_keys") | .issues | length')"

long_key="AB-$(head -c 70 /dev/zero | tr '\0' '1')"
sim POST flag '{"ws":"Default","flag":"long_keys","tags":["'"$long_key"'","AB-7"],"description":"see '"$long_key"' and AB-8"}' >/dev/null
item "issue keys longer than 64 bytes" "flag 'long_keys'.*2 issue keys longer than 64 bytes ignored \\(the first: 73 bytes"
check_eq "long issue keys: the flag keeps its good keys" "AB-7 AB-8" \
    "$(fs flags --json --linked | jq -r '.[] | select(.flag == "long_keys") | .issues | join(" ")')"

long_tag=$(head -c 300 /dev/zero | tr '\0' 't')
sim POST flag '{"ws":"Default","flag":"long_tag","tags":["AB-5","'"$long_tag"'","AB-6"],"description":"AB-9"}' >/dev/null
item "a tag longer than 255 bytes" "tag 't{40}\\.\\.\\. \\(300 bytes\\)'\",\"why\":\"longer than 255 bytes, on flag 'long_tag'"
check_eq "a long tag: the flag keeps its other tags' links" "AB-5 AB-6 AB-9" \
    "$(fs flags --json --linked | jq -r '.[] | select(.flag == "long_tag") | .issues | sort | join(" ")')"

# Rate limits: "reset in 0 s" still waits a second; and with timeout = 2
# no request waits more than 6 s in all, however often Split says 429.
sim POST fault '{"match":"'"$FLAGS"'","kind":"ratelimit","reset_org":0,"reset_ip":0,"count":1}' >/dev/null
start=$(date +%s.%N)
fs sync >/dev/null 2>&1; rc=$?
end=$(date +%s.%N)
check_eq "429 with both resets 0: sync exits 0" 0 "$rc"
check "429 with both resets 0: waited at least 1 s" \
    awk -v a="$start" -v b="$end" 'BEGIN { exit !(b - a >= 1.0) }'
sim DELETE fault >/dev/null
sim POST fault '{"match":"'"$FLAGS"'","kind":"ratelimit","reset_org":2,"reset_ip":2,"count":-1}' >/dev/null
start=$(date +%s.%N)
fs sync >"$T/out" 2>"$T/err"; rc=$?
end=$(date +%s.%N)
sim DELETE fault >/dev/null
check_eq "429 forever: sync exits 1" 1 "$rc"
check_match "429 forever: the message says how long it waited" \
    "still rate limited \\(429\\) after waiting 6000 ms.*6000 ms a request may wait" \
    "$(cat "$T/err")"
check "429 forever: gave up within 3 x timeout (+ slack), not 10 x 2 s" \
    awk -v a="$start" -v b="$end" 'BEGIN { exit !(b - a < 9.0) }'

sim POST flag '{"ws":"Default","flag":"ctl_\u0007\u001b[31m","description":"bell \u0007 esc \u001b[0m tab\t"}' >/dev/null
sim POST fault '{"match":"'"$FLAGS"'","kind":"bytes","find":"Only in staging","hex":"4f6e6c7920ff696e20c373746167696e67","count":-1}' >/dev/null
seq=$(last_seq)
fs sync >"$T/out" 2>"$T/err"; rc=$?
sim DELETE fault >/dev/null
check_eq "control characters and invalid UTF-8: sync exits 0" 0 "$rc"
fs flags --json >"$T/flags.json"
check "flags --json stays valid UTF-8 JSON" python3 -c '
import json, sys
json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' "$T/flags.json"
check_eq "invalid UTF-8 became U+FFFD" "Only �in �staging so far" \
    "$(jq -r '.[] | select(.flag == "dark_mode") | .description' "$T/flags.json")"
check_eq "control characters are kept exactly" \
    "$(printf 'ctl_\a\033[31m|bell \a esc \033[0m tab\t')" \
    "$(jq -r '.[] | select(.flag | startswith("ctl_")) | .flag + "|" + .description' "$T/flags.json")"

# Deletions: an empty listing is held once, and a second one confirms it.
# Each sync is a new process, so the marker outlives a restart.
sim POST fault '{"match":"'"$FLAGS"'","kind":"empty","count":1}' >/dev/null
before=$(cache_print)
n=$(fs flags --json | jq length)
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "empty listing: sync exits 1" 1 "$rc"
check_match "empty listing: the deletion is held" \
    "$n of $n flags missing from the listing; deletion held until the next poll confirms it" \
    "$(cat "$T/err")"
check_eq "empty listing: the cache is unchanged" "$before" "$(cache_print)"
check_match "empty listing: the status table says so" \
    "^split:Default +FAILED .*$n of $n flags missing from the listing; deletion held until the next poll confirms it" \
    "$(fs status)"
check_match "empty listing: status says so" \
    "\"ok\":false.*deletion held.*\"held\":\\{\"missing\":$n,\"flags\":$n\\}" \
    "$(fs status --json | jq -c '.sources[] | select(.source == "split:Default")')"

fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "a normal poll after a held one: sync exits 0" 0 "$rc"
check_eq "a normal poll after a held one: nothing deleted" "$n" "$(fs flags --json | jq length)"
check_eq "a normal poll after a held one: the mark is gone" "true null" \
    "$(fs status --json | jq -r '.sources[] | select(.source == "split:Default") | "\(.ok) \(.held)"')"

ndef=$(fs flags --json | jq '[.[] | select(.default_treatment != null)] | length')
sim POST fault '{"match":"'"$FLAGS"'","kind":"empty","count":2}' >/dev/null
fs sync >/dev/null 2>&1; rc1=$?
seq=$(last_seq)
fs sync >"$T/out" 2>"$T/err"; rc2=$?
check_eq "two empty listings in a row: held, then confirmed" "1 0" "$rc1 $rc2"
check_eq "two empty listings in a row: every defined flag deleted once" "$ndef" \
    "$(events_since "$seq" | grep -c '^flag.deleted')"
check_eq "two empty listings in a row: the project is empty" 0 \
    "$(fs flags --json | jq length)"

done_testing
