#!/bin/sh
# The state directory's files: nothing planted there (a symlink named like
# a file flagsync writes) makes flagsync write through it, and whatever
# the umask, the directory and files get the modes that let the query
# group read but not replace or rewrite anything (lock.mdb alone is
# group-writable: LMDB readers need it).
. "$SRCDIR/tests/integration/lib.sh"

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config
rm -rf "$T/state"

# mode PATH: octal permission bits.
mode() { stat -c %a "$1"; }

(umask 0007; fs sync >/dev/null 2>"$T/err"); rc=$?
check_eq "sync with umask 0007 exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
check_eq "state_dir: mode 750 (the group may not create or rename)" 750 "$(mode "$T/state")"
check_eq "data.mdb: 640 (the group reads it, cannot write it)" 640 "$(mode "$T/state/data.mdb")"
check_eq "lock.mdb: 660 (LMDB readers write their slot)" 660 "$(mode "$T/state/lock.mdb")"
check_eq "polls.json: 640" 640 "$(mode "$T/state/polls.json")"
check_eq "flagsync.lock: 600 (no one else can take the lock)" 600 "$(mode "$T/state/flagsync.lock")"
check_eq "no temporary file is left" "" \
    "$(ls "$T/state" | grep -v -x -e data.mdb -e lock.mdb -e polls.json -e flagsync.lock)"

# A symlink planted where the temporary polls file used to go.
printf 'keep\n' >"$T/victim"
ln -s "$T/victim" "$T/state/polls.json.tmp"
fs sync >/dev/null 2>"$T/err"; rc=$?
check_eq "sync with a planted polls.json.tmp symlink exits 0" 0 "$rc"
check_eq "... and did not write through it" keep "$(cat "$T/victim")"
check "... polls.json was written" grep -q '"time"' "$T/state/polls.json"
rm -f "$T/state/polls.json.tmp"

# polls.json itself a symlink: replaced, not written through.
rm -f "$T/state/polls.json"
ln -s "$T/victim" "$T/state/polls.json"
fs sync >/dev/null 2>&1
check_eq "a polls.json symlink: its target is untouched" keep "$(cat "$T/victim")"
check "... polls.json is a file again" test ! -L "$T/state/polls.json"

# The lock file a symlink: refused, not truncated through.
rm -f "$T/state/flagsync.lock"
ln -s "$T/victim" "$T/state/flagsync.lock"
err=$(fs sync 2>&1); rc=$?
check_eq "a flagsync.lock symlink: sync exits 1" 1 "$rc"
check_match "... naming the file and what is wrong" "flagsync\.lock: .*symbolic link" "$err"
check_eq "... and its target is untouched" keep "$(cat "$T/victim")"
rm -f "$T/state/flagsync.lock"

done_testing
