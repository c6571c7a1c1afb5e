#!/bin/sh
# Every link source: split-tag, split-description (whole tokens), file
# (links.yaml), local (link/unlink); a failing source keeps its links; a
# link held by two sources is one link.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_BACKOFF_MS=20
sim_start --state "$SRCDIR/tests/integration/base-state.json"
cat >"$T/links.yaml" <<'YAML'
links:
  - flag: new_checkout
    issues: [SHOP-1, SHOP-20]
  - flag: old_banner
    issues: OPS-5
YAML
write_config "[links]
file = $T/links.yaml"

fs sync >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
check_eq "split-tag: a tag that is an issue key links" "new_checkout" \
    "$(fs issue SHOP-1 --json | jq -r '.flags[].flag')"
check_eq "split-description: keys in the description link, whole tokens only" "PAY-42" \
    "$(fs flag search_v2 --json | jq -r '.issues | join(",")')"
check_eq "split-description: SHOP-7 from new_checkout's description" "new_checkout" \
    "$(fs issue SHOP-7 --json | jq -r '.flags[].flag')"
check_eq "file: links.yaml links" "SHOP-1,SHOP-20,SHOP-7" \
    "$(fs flag new_checkout --json | jq -r '.issues | join(",")')"
check_eq "file: a single issue string" "old_banner" "$(fs issue OPS-5 --json | jq -r '.flags[].flag')"
check_eq "a link from a tag and the file is one link" 1 "$(fs issue SHOP-1 --json | jq .count)"
check_match "... with both sources" 'SHOP-1 \(split-tag, file\)' "$(fs flag new_checkout)"
check_eq "issue KEY: count and active flags of the issue" '{"issue":"SHOP-1","count":1,"active":1}' \
    "$(fs issue SHOP-1 --json | jq -c '{issue,count,active}')"

# A bad links.yaml keeps the file's previous links.
cat >"$T/links.yaml" <<'YAML'
links:
  - flag: new_checkout
    isues: [SHOP-1]
YAML
s=$(last_seq)
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "bad links.yaml: sync exits 1" 1 "$rc"
check_match "bad links.yaml: the message names file, line and key" "links.yaml:3:[0-9]+: .*isues" "$(cat "$T/err")"
check_eq "bad links.yaml: no link removed" "" "$(events_since "$s")"
check_eq "bad links.yaml: its links are kept" "new_checkout" "$(fs issue SHOP-20 --json | jq -r '.flags[].flag')"
check_match "bad links.yaml: status shows the file source failed" '"ok":false' \
    "$(fs status --json | jq -c '.sources[] | select(.source=="file")')"

cat >"$T/links.yaml" <<'YAML'
links:
  - flag: new_checkout
    issues: [SHOP-1]
YAML
fs sync >/dev/null 2>&1
check_eq "fixed links.yaml: the dropped links are removed" \
"link.removed Default/new_checkout SHOP-20
link.removed Default/old_banner OPS-5" "$(events_since "$s" | sort)"
check_eq "a link kept by its other source stays" 1 "$(fs issue SHOP-1 --json | jq .count)"

# A 10,000-byte flag name in links.yaml cannot stall the commit: the same
# cycle's kill is recorded, and the file source's status says what was
# wrong instead of reading ok.
long=$(head -c 10000 /dev/zero | tr '\0' 'x')
cat >"$T/links.yaml" <<YAML
links:
  - flag: new_checkout
    issues: [SHOP-1]
  - flag: $long
    issues: [SHOP-3]
YAML
sim POST kill '{"ws":"Default","flag":"search_v2","killed":true}' >/dev/null
s=$(last_seq)
fs sync >"$T/out" 2>"$T/err"
check_eq "a huge name in links.yaml: the kill of the same cycle is recorded" \
    "flag.killed Default/search_v2" "$(events_since "$s")"
check_nomatch "... the commit did not fail" "cannot commit" "$(cat "$T/err")"
check_match "... and the file source's status names the problem" \
    'bytes|long' \
    "$(fs status --json | jq -r '.sources[] | select(.source=="file") | .note')"
sim POST kill '{"ws":"Default","flag":"search_v2","killed":false}' >/dev/null
cat >"$T/links.yaml" <<'YAML'
links:
  - flag: new_checkout
    issues: [SHOP-1]
YAML
fs sync >/dev/null 2>&1

# local links: effective at once, no sync needed.
s=$(last_seq)
out=$(fs link search_v2 SHOP-30 2>&1); rc=$?
check_eq "link: exits 0" 0 "$rc"
check_eq "link: the event is recorded at once" "link.added Default/search_v2 SHOP-30" "$(events_since "$s")"
check_eq "link: the source is local" '["local"]' "$(fs events --since "$s" --json | jq -c .sources)"
check_eq "link: the issue shows the flag" "search_v2" "$(fs issue SHOP-30 --json | jq -r '.flags[].flag')"
fs sync >/dev/null 2>&1
check_eq "local links survive a sync" "search_v2" "$(fs issue SHOP-30 --json | jq -r '.flags[].flag')"
s=$(last_seq)
fs unlink search_v2 SHOP-30 >/dev/null 2>&1; rc=$?
check_eq "unlink: exits 0" 0 "$rc"
check_eq "unlink: link.removed at once" "link.removed Default/search_v2 SHOP-30" "$(events_since "$s")"
fs issue SHOP-30 >/dev/null 2>&1; rc=$?
check_eq "issue with no flags exits 1" 1 "$rc"

err=$(fs unlink new_checkout SHOP-1 2>&1); rc=$?
check_eq "unlink of a link held by another source exits 1" 1 "$rc"
check_match "... and says which source holds it" "split-tag" "$err"
err=$(fs link no_such_flag SHOP-1 2>&1); rc=$?
check_eq "link to an unknown flag exits 1" 1 "$rc"
err=$(fs link new_checkout shop-1 2>&1); rc=$?
check_eq "link to a malformed issue key exits 2" 2 "$rc"

# A Split outage keeps split-tag and split-description links.
sim POST fault '{"match":"/splits/ws/","kind":"status","status":500,"count":-1}' >/dev/null
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "Split down: no link removed" "" "$(events_since "$s")"
check_eq "Split down: tag links kept" "new_checkout" "$(fs issue SHOP-1 --json | jq -r '.flags[].flag')"
sim DELETE fault >/dev/null

# Turning a source off removes its links.
sed -i 's/^\[links\]/[links]\nsplit_description = no/' "$T/flagsync.ini"
s=$(last_seq)
fs sync >/dev/null 2>&1
check_eq "split_description = no removes description links" \
"link.removed Default/new_checkout SHOP-7
link.removed Default/search_v2 PAY-42" "$(events_since "$s" | sort)"

# Two projects: a links.yaml entry must say which.
cat >>"$T/flagsync.ini" <<'INI'
[project Shop]
environment = Prod
INI
cat >"$T/links.yaml" <<'YAML'
links:
  - flag: new_checkout
    issues: [SHOP-1]
YAML
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_match "two projects: an entry without project is an error with its line" "links.yaml:2:[0-9]+: .*project" "$(cat "$T/err")"
cat >"$T/links.yaml" <<'YAML'
links:
  - flag: new_checkout
    project: Shop
    issues: [SHOP-44]
YAML
fs sync >/dev/null 2>&1
check_eq "two projects: the link goes to the named project" "Shop/new_checkout" \
    "$(fs issue SHOP-44 --json | jq -r '.flags[] | "\(.project)/\(.flag)"')"

done_testing
