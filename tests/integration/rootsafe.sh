#!/bin/sh
# Root safety.  `sync`, `link` and `unlink` run as root against a
# state_dir another user owns become that user, so every file in
# state_dir stays the owner's; when they cannot switch (no CAP_SETUID)
# they refuse and say what to run instead.  A member of the state_dir's
# group who cannot open the cache is told which file is wrong, not to
# join a group they are in.  Needs root (useradd, runuser): the scratch
# users are removed at exit.
. "$SRCDIR/tests/integration/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root: it creates scratch users and runs flagsync as root and as them"
	exit 0
fi
for tool in useradd userdel runuser setpriv; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "1..0 # SKIP needs $tool"; exit 0; }
done

OWNER=fsit-own$$
MEMBER=fsit-mem$$
users_cleanup() {
	userdel "$MEMBER" 2>/dev/null
	userdel "$OWNER" 2>/dev/null
	getent group "$OWNER" >/dev/null && groupdel "$OWNER" 2>/dev/null
	cleanup
}
trap users_cleanup EXIT
useradd --system --no-create-home --shell /usr/sbin/nologin --user-group \
    "$OWNER" || { echo "Bail out! useradd $OWNER failed"; exit 1; }
useradd --system --no-create-home --shell /usr/sbin/nologin --no-user-group \
    -G "$OWNER" "$MEMBER" || { echo "Bail out! useradd $MEMBER failed"; exit 1; }

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config
# The owner and the member must get to $T/state and read the config (the
# key file stays root's 0600: sync reads it before switching, queries
# never read it).
chmod 711 "$T"
chmod 644 "$T/flagsync.ini"
chown "$OWNER:$OWNER" "$T/state"
chmod 750 "$T/state"

# not_owned: every file in state_dir not owned by $OWNER:$OWNER.
not_owned() { find "$T/state" ! -user "$OWNER" -o ! -group "$OWNER"; }

err=$(fs sync 2>&1 >/dev/null); rc=$?
check_eq "root sync against a state_dir owned by $OWNER exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$err"
check_eq "... and every file in state_dir is $OWNER's" "" "$(not_owned)"
check "... data.mdb, lock.mdb and flagsync.lock among them" \
    test -f "$T/state/data.mdb" -a -f "$T/state/lock.mdb" -a -f "$T/state/flagsync.lock"
check_match "... saying it runs as $OWNER" "running as $OWNER \\(uid [0-9]+\\), the owner of $T/state" "$err"

fs link new_checkout SHOP-9 >/dev/null 2>&1
check_eq "root link: exits 0" 0 "$?"
fs unlink new_checkout SHOP-9 >/dev/null 2>&1
check_eq "root unlink: exits 0" 0 "$?"
check_eq "... still every file $OWNER's" "" "$(not_owned)"

out=$(runuser -u "$MEMBER" -- "$FLAGSYNC" -c "$T/flagsync.ini" flags 2>&1); rc=$?
check_eq "a member of $OWNER's group queries the cache" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$out"

# No CAP_SETUID, CAP_SETGID: the switch fails, root must not go on.
before=$(ls -l --time-style=+%s.%N "$T/state")
err=$(setpriv --bounding-set -setuid,-setgid "$FLAGSYNC" -c "$T/flagsync.ini" sync 2>&1); rc=$?
check_eq "root sync that cannot switch users exits 1" 1 "$rc"
check_match "... saying what to run instead" \
    "runuser -u $OWNER -- flagsync -c $T/flagsync.ini sync" "$err"
check_eq "... and touches nothing in state_dir" "$before" \
    "$(ls -l --time-style=+%s.%N "$T/state")"

# What an earlier root sync (before this fix) left: root's files, 0644.
chown root:root "$T/state/data.mdb" "$T/state/lock.mdb"
chmod 644 "$T/state/data.mdb" "$T/state/lock.mdb"
err=$(runuser -u "$MEMBER" -- "$FLAGSYNC" -c "$T/flagsync.ini" flags 2>&1); rc=$?
check_eq "root-owned cache files: the member's query exits 1" 1 "$rc"
check_nomatch "... and is not told to join the group it is in" \
    'ask to be added' "$err"
check_match "... but which file and the chown that fixes it" \
    "$T/state/lock.mdb belongs to root:root with mode 0644.*chown $OWNER:$OWNER $T/state/data.mdb $T/state/lock.mdb" \
    "$err"
err=$(runuser -u nobody -- "$FLAGSYNC" -c "$T/flagsync.ini" flags 2>&1)
check_match "someone outside the group is told to join it" \
    "ask to be added to the $OWNER group, the group of $T/state" "$err"
chown "$OWNER:$OWNER" "$T/state/data.mdb" "$T/state/lock.mdb"

fs sync >/dev/null 2>&1
check_eq "after the chown, root sync runs again" 0 "$?"
check_eq "... the group has its access back" "640 660" \
    "$(stat -c %a "$T/state/data.mdb") $(stat -c %a "$T/state/lock.mdb")"

done_testing
