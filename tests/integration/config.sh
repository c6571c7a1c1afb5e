#!/bin/sh
# Bad configuration files: file:line:key errors, exit 2, secrets from
# files, the environment and systemd credentials, never printed.
. "$SRCDIR/tests/integration/lib.sh"

sim_start --state "$SRCDIR/tests/integration/base-state.json"
write_config

out=$(fs check-config 2>&1); rc=$?
check_eq "check-config on a good file exits 0" 0 "$rc"
check_match "check-config says OK and where the key comes from" "configuration OK.*" "$out"
check_nomatch "check-config never prints the key" "sim-admin-key" "$out"
check_nomatch "check-config --json never prints the key" "sim-admin-key" "$(fs check-config --json)"

# bad LINE-TEXT EXPECTED-REGEX DESCRIPTION: appended to a good config.
bad() {
	cp "$T/flagsync.ini" "$T/good.ini"
	printf '%s\n' "$1" >>"$T/flagsync.ini"
	err=$(fs check-config 2>&1); rc=$?
	check_eq "$3: exit 2" 2 "$rc"
	check_match "$3: names file, line and key" "$2" "$err"
	fs flags >/dev/null 2>&1; rc=$?
	check_eq "$3: queries refuse it too (exit 2)" 2 "$rc"
	cp "$T/good.ini" "$T/flagsync.ini"
}
n=$(($(wc -l <"$T/flagsync.ini") + 1))
bad "bogus = 1" "flagsync.ini:$n:.*bogus" "unknown key"
bad "[nonsense]" "flagsync.ini:$n:.*nonsense" "unknown section"
sed -i '2i interval = soon' "$T/flagsync.ini"
err=$(fs check-config 2>&1); rc=$?
check_eq "bad integer: exit 2" 2 "$rc"
check_match "bad integer: names file, line and key" "flagsync.ini:2:.*interval" "$err"
sed -i '2d' "$T/flagsync.ini"
bad "[links]
split_tags = maybe" "flagsync.ini:$((n + 1)):.*split_tags" "bad boolean"
bad "[links]
issue_key_pattern = [A-Z" "flagsync.ini:$((n + 1)):.*issue_key_pattern" "bad regex"
bad "[project Shop]" "flagsync.ini:$n:.*environment" "project without environment"

err=$("$FLAGSYNC" -c "$T/missing.ini" flags 2>&1); rc=$?
check_eq "missing config file: exit 2" 2 "$rc"
check_match "missing config file: named" "missing.ini" "$err"

# Inline secrets: only in files others cannot read.
sed 's|^admin_key_file = .*|admin_key = inline-secret-123|' "$T/good.ini" >"$T/inline.ini"
chmod 644 "$T/inline.ini"
err=$("$FLAGSYNC" -c "$T/inline.ini" check-config 2>&1); rc=$?
check_eq "world-readable file with an inline secret: exit 2" 2 "$rc"
check_match "... the message says how to fix it" "chmod|readable" "$err"
check_nomatch "... and does not print the secret" "inline-secret-123" "$err"
chmod 600 "$T/inline.ini"
"$FLAGSYNC" -c "$T/inline.ini" check-config >/dev/null 2>&1; rc=$?
check_eq "the same file mode 600 is accepted" 0 "$rc"

# Secrets from the environment and from systemd credentials.
sed '/^admin_key_file/d' "$T/good.ini" >"$T/nokey.ini"
err=$("$FLAGSYNC" -c "$T/nokey.ini" sync 2>&1); rc=$?
check_eq "sync without any admin key: exit 2" 2 "$rc"
check_match "... says where a key can come from" "admin_key_file" "$err"
FLAGSYNC_SPLIT_ADMIN_KEY=sim-admin-key "$FLAGSYNC" -c "$T/nokey.ini" sync >/dev/null 2>&1; rc=$?
check_eq "admin key from \$FLAGSYNC_SPLIT_ADMIN_KEY" 0 "$rc"
mkdir -p "$T/creds"; printf 'sim-admin-key\n' >"$T/creds/split-admin-key"
CREDENTIALS_DIRECTORY="$T/creds" "$FLAGSYNC" -c "$T/nokey.ini" sync >/dev/null 2>&1; rc=$?
check_eq "admin key from \$CREDENTIALS_DIRECTORY/split-admin-key" 0 "$rc"
printf 'not-the-key\n' >"$T/creds/split-admin-key"
err=$(CREDENTIALS_DIRECTORY="$T/creds" "$FLAGSYNC" -c "$T/nokey.ini" sync 2>&1); rc=$?
check_eq "a wrong credential is used (and fails with 401)" 1 "$rc"
check_nomatch "... without printing it" "not-the-key" "$err"

# Bad links.yaml is caught by check-config without any network.
cat >"$T/links.yaml" <<'YAML'
links:
  - flag: x
    issues: [NOT A KEY]
YAML
printf '[links]\nfile = %s\n' "$T/links.yaml" >>"$T/flagsync.ini"
err=$(fs check-config 2>&1); rc=$?
check_eq "check-config with a bad links.yaml: exit 2" 2 "$rc"
check_match "... names its line and column" "links.yaml:3:[0-9]+" "$err"

# A FIFO as links.yaml is refused at once by check-config and sync.
rm -f "$T/links.yaml"
mkfifo "$T/links.yaml"
err=$(timeout 20 "$FLAGSYNC" -c "$T/flagsync.ini" check-config 2>&1); rc=$?
check_eq "links.yaml a FIFO: check-config exits 2, no hang" 2 "$rc"
check_match "... naming the file" "links.yaml: not a regular file" "$err"
err=$(timeout 20 "$FLAGSYNC" -c "$T/flagsync.ini" sync 2>&1); rc=$?
check_eq "... sync exits 1, no hang" 1 "$rc"
check_match "... naming the file" "links.yaml: not a regular file" "$err"
rm -f "$T/links.yaml"

# Names from the command line are checked against maxlen.h.
long_flag=$(printf 'f%.0s' $(seq 300))
err=$(fs link "$long_flag" SHOP-1 2>&1); rc=$?
check_eq "link with a 300-byte flag name: exit 2" 2 "$rc"
check_match "... shown shortened, with the limit" \
    "'f{40}\.\.\. \(300 bytes\)' 'SHOP-1': a flag name takes 1 to 255 bytes" "$err"
long_issue=SHOP-$(printf '7%.0s' $(seq 100))
err=$(fs unlink new_checkout "$long_issue" 2>&1); rc=$?
check_eq "unlink with a 105-byte issue key: exit 2" 2 "$rc"
check_match "... saying so" "an issue key 1 to 64" "$err"

# A packaged binary (no --enable-test-hooks) loads plugins only from its
# own directory, whatever FLAGSYNC_PLUGIN_DIR says.
if [ "${FLAGSYNC_TEST_HOOKS:-yes}" = no ]; then
	mkdir -p "$T/evil"
	cp "$BUILDDIR/tests/plugins/.libs/testplug.so" "$T/evil/hookplug.so"
	write_config "[plugin x]
module = hookplug"
	err=$(FLAGSYNC_PLUGIN_DIR="$T/evil" fs check-config 2>&1); rc=$?
	check_eq "without test hooks, FLAGSYNC_PLUGIN_DIR is ignored: exit 2" 2 "$rc"
	check_nomatch "... nothing is loaded from it" "$T/evil" "$err"
else
	ok "# SKIP FLAGSYNC_PLUGIN_DIR is read: built with --enable-test-hooks"
fi

done_testing
