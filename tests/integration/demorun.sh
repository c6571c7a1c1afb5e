#!/bin/sh
# The Quick start's demo (tests/demo.sh) runs end to end: every command it
# shows succeeds, both outputs load, the flag named in Jira is created,
# linked and shown on the issue, and Split shows the issue keys as tags.
. "$SRCDIR/tests/integration/lib.sh"

mkdir -p "$T/tmp"
TMPDIR=$T/tmp sh "$SRCDIR/tests/demo.sh" >"$T/demo.out" 2>&1
rc=$?
out=$(cat "$T/demo.out")
check_eq "the demo exits 0" 0 "$rc"
check_eq "every flagsync command it shows succeeds" "" \
    "$(grep '^(exit status' "$T/demo.out")"
check_match "check-config passes, both outputs loaded" \
    'configuration OK' "$out"
check_eq "no output refused" "" "$(grep 'refused\|no such plugin' "$T/demo.out")"
check_match "the jira output writes SHOP-1's property" \
    'property flagsync.flags: 1 flags, 1 active' "$out"
check_match "the flag named in Jira is created in Split" \
    'created flag Default/checkout_express from SHOP-20 in Split' "$out"
check_match "... linked in the same sync" \
    'link.added +Default/checkout_express +linked SHOP-20 \(jira-field\)' \
    "$out"
check_match "... and the issue's web link opens it" \
    'web link: checkout_express — OFF in Production \(struck through\) → https://app.split.io/org/demo/ws/[-0-9a-f]+/splits/[-0-9a-f]+/env/' \
    "$out"
check_match "the split output tags a flag linked from Jira" \
    'Split flag search_v2: tags SHOP-20,' "$out"
check_match "... and the created flag carries its issue key" \
    'Split flag checkout_express: tags SHOP-20, description "Created from SHOP-20 by flagsync"' \
    "$out"
check_match "status is healthy at the end" 'healthy yes' "$out"
[ "$rc" -eq 0 ] || diag "$(tail -40 "$T/demo.out")"
done_testing
