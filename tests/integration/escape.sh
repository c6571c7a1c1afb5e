#!/bin/sh
# Remote text on the terminal: a description, tags and a treatment name
# holding ESC [ 2 J, BEL and CR are printed escaped (vis(3)-style) by every
# command that prints text for people, the columns stay aligned, and the
# JSON output keeps the exact bytes.  `issue` of an issue nothing links to
# is a clean "not found" (under the sanitizer build: no qsort(NULL, 0)).
. "$SRCDIR/tests/integration/lib.sh"

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config

ESC=$(printf '\033')
BEL=$(printf '\007')
CR=$(printf '\r')
# A flag whose description, tags and a treatment carry control characters.
sim POST flag '{"ws":"Default","flag":"evil_flag",
    "description":"clear\u001b[2Jbell\u0007cr\rback\\slash, see SHOP-1",
    "tags":["t\u001b[31mred","SHOP-1"],
    "env":"Production","definition":{"treatments":[{"name":"o\u001b[2Jn"},{"name":"off"}],
    "defaultTreatment":"o\u001b[2Jn",
    "defaultRule":[{"treatment":"o\u001b[2Jn","size":50},{"treatment":"off","size":50}]}}' >/dev/null
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "sync exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"

# has_raw TEXT: TEXT holds an ESC, BEL or CR byte.
has_raw() { printf '%s' "$1" | grep -q "[$ESC$BEL$CR]"; }

out=$(fs flag evil_flag 2>&1)
check "flag: no raw ESC, BEL or CR" sh -c '! printf "%s" "$1" | grep -q "[$2$3$4]"' - "$out" "$ESC" "$BEL" "$CR"
check_match "flag: the description escaped" \
    'description  clear\\x1b\[2Jbell\\x07cr\\x0dback\\\\slash, see SHOP-1$' "$out"
check_match "flag: the tags escaped" 'tags +t\\x1b\[31mred SHOP-1$' "$out"
check_match "flag: the treatments escaped" 'treatments +o\\x1b\[2Jn off$' "$out"
check_match "flag: the default treatment escaped" 'default +o\\x1b\[2Jn$' "$out"
check_match "flag: the rollout escaped" 'rollout +50% o\\x1b\[2Jn$' "$out"

out=$(fs flags)
has_raw "$out"; check_eq "flags: no raw control character" 1 "$?"
check_match "flags: the rollout's treatment escaped" 'evil_flag +on +50% o\\x1b\[2Jn ' "$out"
# Every row's last column starts where its header does.
col=$(printf '%s\n' "$out" | head -n 1 | awk '{ print index($0, "LAST UPDATED") }')
check_eq "flags: columns aligned on the escaped width" "" \
    "$(printf '%s\n' "$out" | tail -n +2 | awk -v c="$col" '
	substr($0, c - 2, 3) !~ /^  [0-9-]$/ { print NR ": " $0 }')"

out=$(fs issue SHOP-1)
has_raw "$out"; check_eq "issue: no raw control character" 1 "$?"
check_match "issue: the rollout escaped" 'evil_flag +on +Production +50% o\\x1b\[2Jn' "$out"

out=$(fs export --format csv)
has_raw "$out"; check_eq "export csv: no raw control character" 1 "$?"

out=$(fs events)
has_raw "$out"; check_eq "events: no raw control character" 1 "$?"

# JSON keeps the bytes exactly.
check_eq "flag --json: the description exact" \
    "clear${ESC}[2Jbell${BEL}cr${CR}back\\slash, see SHOP-1" \
    "$(fs flag evil_flag --json | jq -r .description)"
check_eq "flag --json: the tag exact" "t${ESC}[31mred" \
    "$(fs flag evil_flag --json | jq -r '.tags[0]')"
check_eq "export --json: the description exact" \
    "clear${ESC}[2Jbell${BEL}cr${CR}back\\slash, see SHOP-1" \
    "$(fs export --format json | jq -r '.[] | select(.flag == "evil_flag") | .description')"

# An issue nothing links to.
fs issue NOPE-1 >"$T/out" 2>"$T/err"; rc=$?
check_eq "issue NOPE-1 exits 1" 1 "$rc"
check_match "... saying no flag is linked" 'no flags are linked to NOPE-1' "$(cat "$T/err")"
check_nomatch "... without a sanitizer report" 'runtime error|AddressSanitizer' "$(cat "$T/err")"
fs issue NOPE-1 --json >"$T/out" 2>"$T/err"; rc=$?
check_eq "issue NOPE-1 --json: an empty list" '{"issue":"NOPE-1","count":0,"active":0,"flags":[],"status":null}' \
    "$(jq -c . "$T/out")"
check_nomatch "... without a sanitizer report" 'runtime error|AddressSanitizer' "$(cat "$T/err")"

done_testing
