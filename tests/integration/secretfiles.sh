#!/bin/sh
# Secret files and the state directory, as an admin meets them first: a
# key or token file that others may read is refused (exit 2) with the
# chmod that fixes it; query commands never read a secret, so a key file
# that is unreadable, missing or too open does not stop them; check-config
# says whether state_dir exists or can be created, and whether the user
# that will run the service can write it.
. "$SRCDIR/tests/integration/lib.sh"

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config
cp "$T/flagsync.ini" "$T/good.ini"
fs sync >/dev/null 2>&1
check_eq "setup: a sync with a 0600 key file" 0 "$?"

# ---------------------------------------------------------------- modes
chmod 644 "$T/split-key"
err=$(fs sync 2>&1); rc=$?
check_eq "a 0644 admin_key_file: sync exits 2" 2 "$rc"
check_match "... naming the file, the line and the key" \
    "$T/flagsync.ini:[0-9]+: \\[split\\] admin_key_file: $T/split-key is readable by others" \
    "$err"
check_match "... and the chmod that fixes it" \
    "chmod 600 $T/split-key \\(or chmod 640 $T/split-key" "$err"
err=$(fs check-config 2>&1); rc=$?
check_eq "... check-config refuses it too (exit 2)" 2 "$rc"
err=$(timeout 30 "$FLAGSYNC" -c "$T/flagsync.ini" run 2>&1); rc=$?
check_eq "... and so does run" 2 "$rc"

chmod 640 "$T/split-key"
fs sync >/dev/null 2>&1
check_eq "a 0640 key file (its group may read it) is accepted" 0 "$?"

printf 'jira-token-value\n' >"$T/jira-token"
chmod 604 "$T/jira-token"
chmod 600 "$T/split-key"
cat "$T/good.ini" >"$T/flagsync.ini"
printf '[jira]\nurl = http://127.0.0.1:9\nemail = bot@example.com\napi_token_file = %s\n' \
    "$T/jira-token" >>"$T/flagsync.ini"
err=$(fs sync 2>&1); rc=$?
check_eq "a 0604 api_token_file: exit 2" 2 "$rc"
check_match "... naming it and the chmod" \
    "\\[jira\\] api_token_file: $T/jira-token is readable by others.*chmod 600 $T/jira-token" \
    "$err"
cp "$T/good.ini" "$T/flagsync.ini"

# ---------------------------------------------------------------- queries
# Each query with a key file that is too open, then one that is missing
# (root reads any file, so "missing" stands in for "unreadable").
for state in 644 missing; do
	if [ "$state" = missing ]; then
		mv "$T/split-key" "$T/split-key.away"
	else
		chmod "$state" "$T/split-key"
	fi
	for q in flags "flag new_checkout" "issue SHOP-1" events status \
	    plugins export; do
		# shellcheck disable=SC2086
		out=$(fs $q 2>&1); rc=$?
		check_eq "key file $state: '$q' works (never reads secrets)" 0 "$rc"
		[ "$rc" -eq 0 ] || diag "$out"
	done
	if [ "$state" = missing ]; then
		mv "$T/split-key.away" "$T/split-key"
	fi
done
chmod 600 "$T/split-key"

# ---------------------------------------------------------------- state_dir
out=$(fs check-config 2>&1); rc=$?
check_eq "check-config with a writable state_dir: exit 0" 0 "$rc"
check_match "... says it exists and who can write it" \
    "state_dir +$T/state: exists, writable by $(id -un)" "$out"

mkdir -p "$T/new"
sed "s|^state_dir = .*|state_dir = $T/new/state|" "$T/good.ini" >"$T/flagsync.ini"
out=$(fs check-config 2>&1); rc=$?
check_eq "a state_dir that does not exist yet but can be: exit 0" 0 "$rc"
check_match "... says it will be created" \
    "state_dir +$T/new/state: does not exist; .*will create it" "$out"
check "... and check-config creates nothing" test ! -e "$T/new/state"

sed "s|^state_dir = .*|state_dir = $T/none/state|" "$T/good.ini" >"$T/flagsync.ini"
out=$(fs check-config 2>&1); rc=$?
check_eq "a state_dir whose parent does not exist: exit 2" 2 "$rc"
check_match "... saying so (sync makes one level, not a path)" \
    "\\[agent\\] state_dir: $T/none/state does not exist and cannot be created: $T/none: No such file" \
    "$out"

: >"$T/plainfile"
sed "s|^state_dir = .*|state_dir = $T/plainfile/state|" "$T/good.ini" >"$T/flagsync.ini"
out=$(fs check-config 2>&1); rc=$?
check_eq "a state_dir under a regular file: exit 2" 2 "$rc"
check_match "... naming state_dir and why" \
    "state_dir.*$T/plainfile/state.*cannot be created.*$T/plainfile.*not a directory" "$out"

if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -p "$T/ro"
	chown nobody "$T/ro"
	chmod 500 "$T/ro"
	sed "s|^state_dir = .*|state_dir = $T/ro|" "$T/good.ini" >"$T/flagsync.ini"
	out=$(fs check-config 2>&1); rc=$?
	check_eq "as root, a state_dir its owner (nobody) cannot write: exit 2" 2 "$rc"
	check_match "... naming the owner that would run the service" \
	    "state_dir.*$T/ro.*not writable by nobody" "$out"
	chmod 700 "$T/ro"
	out=$(fs check-config 2>&1); rc=$?
	check_eq "... once nobody may write it: exit 0" 0 "$rc"
	check_match "... and says the service runs as nobody" \
	    "state_dir +$T/ro: exists, writable by nobody" "$out"
else
	ok "# SKIP the state_dir owner checks need root and a user nobody"
fi
cp "$T/good.ini" "$T/flagsync.ini"

done_testing
