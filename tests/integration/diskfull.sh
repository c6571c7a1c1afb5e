#!/bin/sh
# A full filesystem under state_dir: the sync fails saying so (not a bare
# "Input/output error"), stdout does not claim "no change", `status` shows
# the source failed, nothing is half-written, and once there is room again
# the next sync records every change.  state_dir is a small tmpfs; this
# needs root (mount), and says so when it cannot mount.
. "$SRCDIR/tests/integration/lib.sh"

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config
if ! mount -t tmpfs -o size=4m tmpfs "$T/state" 2>"$T/mount.err"; then
	echo "1..0 # SKIP cannot mount a tmpfs for state_dir: $(cat "$T/mount.err")"
	exit 0
fi
trap 'umount "$T/state" 2>/dev/null; cleanup' EXIT

fs sync >/dev/null 2>&1
check_eq "the first sync fits" 6 "$(last_seq)"

# 150 more flags with 2 KB descriptions: about 0.3 MB of records, which
# the spill file takes, and more than that again for LMDB.
sim GET state | jq --arg d "$(head -c 2000 /dev/zero | tr '\0' 'd')" '
    .workspaces[0].flags += [range(150) as $i | .workspaces[0].flags[0] |
        .id = "f\($i)" | .name = "bulk_\($i)" | .description = $d |
        .tags = []]' >"$T/big-state.json"
sim POST state "@$T/big-state.json" >/dev/null 2>&1 ||
    curl -sS -X POST -H 'Content-Type: application/json' \
        --data @"$T/big-state.json" "$SIM_URL/_sim/state" >/dev/null

# Leave 512 KB free: enough for the spill file, not for the commit.
avail=$(df -k --output=avail "$T/state" | tail -1 | tr -d ' ')
dd if=/dev/zero of="$T/state/filler" bs=1k count=$((avail - 512)) \
    2>/dev/null
before=$(fs export --format json)

fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "a sync that cannot commit exits 1" 1 "$rc"
check_match "it names the full filesystem" \
    "no space left on the filesystem holding $T/state" "$(cat "$T/err")"
check_nomatch "stdout does not say 'no change'" "no change" "$(cat "$T/out")"
check_match "stdout says nothing was committed" "nothing committed" \
    "$(cat "$T/out")"
check_eq "status shows the source failed" "false" \
    "$(fs status --json | jq -r '.sources[] | select(.source == "split:Default") | .ok')"
check_match "status says why" "no space left" \
    "$(fs status --json | jq -r '.sources[] | select(.source == "split:Default") | .error')"
check_eq "the cache is as it was" "$before" "$(fs export --format json)"
check_eq "no event was recorded" 6 "$(last_seq)"

rm -f "$T/state/filler"
fs sync >"$T/out" 2>"$T/err"; rc=$?
check_eq "with room again the sync succeeds" 0 "$rc"
check_eq "every new flag made its event" 150 \
    "$(fs events --since 6 --type flag.created --json | wc -l | tr -d ' ')"
check_eq "status is ok again" "true" \
    "$(fs status --json | jq -r '.sources[] | select(.source == "split:Default") | .ok')"

done_testing
