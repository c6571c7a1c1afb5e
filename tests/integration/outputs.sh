#!/bin/sh
# The bytes a sync produces do not change when its internals do: views
# (`export`), events, link lists and the raw flag records in LMDB of a
# cold sync and of a second sync after changes are compared with figures
# recorded from the json-c tree implementation (before the page scanner
# and the direct event writer).  The account is 300 generated flags plus
# outputs-state.json: escapes, \u text, slashes, doubles, nulls and
# nesting in rules, ids that need escaping in the URL.
#
# To record new figures after a deliberate change of output, run with
# OUTPUTS_RECORD=FILE and copy FILE over outputs.expected.
. "$SRCDIR/tests/integration/lib.sh"

command -v mdb_dump >/dev/null || { echo "1..0 # SKIP needs mdb_dump"; exit 0; }
sim_start --state "$SRCDIR/tests/integration/outputs-state.json" \
    --generate 300 --seed 7
write_config
expected="$SRCDIR/tests/integration/outputs.expected"

# Event times are the commit's: the only bytes that may differ.
events_norm() {
	fs events --json | sed 's/^\({"seq":[0-9]*,"time":"\)[^"]*"/\1T"/'
}

# dumps STEP: every output, one file each, and their checksums.
dumps() {
	fs export --format json >"$T/$1.export"
	events_norm >"$T/$1.events"
	fs flags --json --linked >"$T/$1.linked"
	mdb_dump -s flags "$T/state" >"$T/$1.records"
	for f in export events linked records; do
		echo "$1.$f $(sha256sum <"$T/$1.$f" | cut -c1-64)"
	done
}

fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "cold sync exits 0" 0 "$rc"
dumps cold >"$T/sums"

# Changes without new lastUpdateTimes (those would be the clock's): the
# state is edited and loaded back as a whole.
sim GET state >"$T/state1.json"
python3 - "$T/state1.json" "$T/state2.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ws = doc["workspaces"][0]
flags = {f["name"]: f for f in ws["flags"]}
for d in flags["flag_00003"]["definitions"].values():
    d["killed"] = True
for d in flags["flag_00020"]["definitions"].values():
    d["defaultRule"] = [{"treatment": "off", "size": 100}]
for d in flags["esc\"aped\\flag with space"]["definitions"].values():
    d["rules"][0]["condition"]["matchers"][1]["negate"] = False
flags["segments_only"]["tags"] = ["PAY-5"]
flags["unicode_\u00e9\u65e5"]["description"] = "now \u00e9 WEB-10 / \"quoted\""
ws["flags"] = [f for f in ws["flags"] if f["name"] != "flag_00010"]
json.dump(doc, open(sys.argv[2], "w"))
PY
curl -sS -X POST -H 'Content-Type: application/json' \
    --data-binary @"$T/state2.json" "$SIM_URL/_sim/state" >"$T/posted"
check_eq "the simulator took the changed state" true "$(jq .ok "$T/posted")"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "second sync exits 0" 0 "$rc"
dumps changed >>"$T/sums"

if [ -n "${OUTPUTS_RECORD:-}" ]; then
	cp "$T/sums" "$OUTPUTS_RECORD"
	diag "recorded in $OUTPUTS_RECORD"
fi
while read -r what sum; do
	check_eq "$what is byte-identical to the recorded output" \
	    "$(awk -v w="$what" '$1 == w { print $2 }' "$expected")" "$sum"
done <"$T/sums"
# Readable evidence for the crafted flags when a checksum differs.
check_eq "the crafted flags' views" \
    "$(sed -n '/^# cold.export crafted$/,/^# end$/p' "$expected" | sed '1d;$d')" \
    "$(grep -v '"flag":"flag_' "$T/cold.export")"

done_testing
