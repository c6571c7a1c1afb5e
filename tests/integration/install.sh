#!/bin/sh
# `make install` lays out the FILES of flagsync(8) in a staging root: the
# binary, the
# bundled plugins (no .la), the SDK, the sample configuration (never over
# an admin's), the systemd unit, the sysusers.d and tmpfiles.d entries.
# The unit passes `systemd-analyze verify` and scores "OK" (<= 2.0) in
# `systemd-analyze security`; the sample passes check-config as the unit
# runs it; `make uninstall` leaves only what the admin edited.
. "$SRCDIR/tests/integration/lib.sh"

: "${BUILDDIR:?BUILDDIR must name the configured build tree (make check sets it)}"

# The sub-makes must not inherit make check's options or variables.
unset MAKEFLAGS MFLAGS MAKELEVEL

command -v systemd-analyze >/dev/null ||
    { echo "Bail out! systemd-analyze missing"; exit 1; }

bail() {
	echo "Bail out! $*"
	exit 1
}

# run DESCRIPTION COMMAND...: a test point for a command that must exit
# 0; its output stays in $T/out and is shown when it does not.
run() {
	local desc=$1 rc
	shift
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "\$ $*" "exit status $rc" "$(tail -n 40 "$T/out")"
	fi
	return "$rc"
}

# mkvar NAME: a variable of the build's Makefile, fully expanded.
mkvar() {
	printf 'fs-print-var:\n\t@echo $(%s)\n' "$1" |
	    make -s --no-print-directory -C "$BUILDDIR" -f Makefile -f - \
	    fs-print-var
}

bindir=$(mkvar bindir)
pkglibdir=$(mkvar pkglibdir)
includedir=$(mkvar includedir)
pkgconfigdir=$(mkvar pkgconfigdir)
confdir=$(mkvar sysconfdir)/flagsync
unitdir=$(mkvar systemdsystemunitdir)
sysusersdir=$(mkvar sysusersdir)
tmpfilesdir=$(mkvar tmpfilesdir)
docdir=$(mkvar docdir)
for d in "$bindir" "$pkglibdir" "$unitdir" "$sysusersdir" "$tmpfilesdir"; do
	case $d in
	/*) ;;
	*) bail "configured without one of the install directories" \
	    "(bindir '$bindir', pkglibdir '$pkglibdir', unit '$unitdir'," \
	    "sysusers '$sysusersdir', tmpfiles '$tmpfilesdir')" ;;
	esac
done

R=$T/root
unit=$R$unitdir/flagsync.service

# ------------------------------------------------ 1. the layout
run "make install DESTDIR=... succeeds without root" \
    make -C "$BUILDDIR" install DESTDIR="$R" ||
    bail "flagsync did not install into $R"

check "the binary is \$(bindir)/flagsync" test -x "$R$bindir/flagsync"
for p in file syslog jira split; do
	check "the $p plugin is \$(pkglibdir)/plugins/$p.so" \
	    test -f "$R$pkglibdir/plugins/$p.so"
done
check_eq "no .la file is installed" "" "$(cd "$R" && find . -name '*.la')"
check "the SDK header is \$(includedir)/flagsync/plugin.h" \
    test -f "$R$includedir/flagsync/plugin.h"
check "... and flagsync-plugin.pc is in \$(pkgconfigdir)" \
    test -f "$R$pkgconfigdir/flagsync-plugin.pc"
for f in example.c Makefile README.md; do
	check "the example plugin's $f is in \$(docdir)/examples, with the SDK" \
	    cmp -s "$SRCDIR/plugins/example/$f" "$R$docdir/examples/$f"
done
check "the sample flagsync.ini is \$(sysconfdir)/flagsync/flagsync.ini" \
    test -f "$R$confdir/flagsync.ini"
check "... and links.yaml beside it" test -f "$R$confdir/links.yaml"
check_match "... which the sample names by its installed path" \
    "^file += $confdir/links.yaml( |\$)" "$(cat "$R$confdir/flagsync.ini")"
check "the unit is \$(systemdsystemunitdir)/flagsync.service" test -f "$unit"
check "the sysusers.d entry is \$(sysusersdir)/flagsync.conf" \
    test -f "$R$sysusersdir/flagsync.conf"
check "the tmpfiles.d entry is \$(tmpfilesdir)/flagsync.conf" \
    test -f "$R$tmpfilesdir/flagsync.conf"
check_eq "no installed file names the staging root" "" \
    "$(grep -rlF "$R" "$R" 2>/dev/null)"

# ------------------------------------------------ 2. the unit
[ -f "$unit" ] || bail "no unit to look at"
u=$(cat "$unit")
check_match "the unit runs the installed binary" \
    "^ExecStart=$bindir/flagsync run\$" "$u"
check_match "... checks the configuration first" \
    "^ExecStartPre=$bindir/flagsync -q check-config\$" "$u"
check_match "... names the installed configuration" \
    "^Environment=FLAGSYNC_CONFIG=$confdir/flagsync.ini\$" "$u"
check_match "... loads the Split key as a credential" \
    "^LoadCredential=split-admin-key:$confdir/split-admin-key\$" "$u"
check_match "... and the Jira token" \
    "^LoadCredential=jira-api-token:$confdir/jira-api-token\$" "$u"
check_match "... runs as User=flagsync" \
    '^User=flagsync$' "$u"
for l in Type=notify Group=flagsync StateDirectory=flagsync \
    StateDirectoryMode=0750 UMask=0027 'ExecReload=/bin/kill -HUP $MAINPID' \
    Restart=on-failure WatchdogSec=3min LimitCORE=0; do
	check "... $l" grep -qxF "$l" "$unit"
done

# verify wants every command to exist: a copy runs the staged binary.
# (--man=no: man(1) would look for the Documentation= pages on this host,
# not in the stage.)
mkdir -p "$T/verify"
sed "s|$bindir/flagsync|$R$bindir/flagsync|g" "$unit" \
    >"$T/verify/flagsync.service"
out=$(systemd-analyze verify --man=no "$T/verify/flagsync.service" 2>&1)
rc=$?
check_eq "systemd-analyze verify: exit 0" 0 "$rc"
check_eq "... and not a word" "" "$out"

out=$(systemd-analyze security --offline=yes "$unit" 2>&1)
score=$(printf '%s\n' "$out" |
    sed -n 's/.*Overall exposure level for flagsync.service: \([0-9.]*\) .*/\1/p')
check_match "systemd-analyze security gives a score" '^[0-9]+\.[0-9]+$' "$score"
if awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 2.0) }'; then
	ok "... of at most 2.0, \"OK\" ($score)"
else
	not_ok "... of at most 2.0, \"OK\" ($score)"
	diag "$(printf '%s\n' "$out" | grep -F '✗')"
fi

# ------------------------------------------------ 3. user and state
sys=$T/sysroot
mkdir -p "$sys/etc"
: >"$sys/etc/passwd"
: >"$sys/etc/group"
run "systemd-sysusers takes the sysusers.d entry" \
    systemd-sysusers --root="$sys" "$R$sysusersdir/flagsync.conf"
check_match "... a system user flagsync, home /var/lib/flagsync, no login" \
    '^flagsync:x:[0-9]+:[0-9]+:[^:]*:/var/lib/flagsync:/usr/sbin/nologin$' \
    "$(cat "$sys/etc/passwd")"
check_match "... and a group flagsync" '^flagsync:x:[0-9]+:' \
    "$(cat "$sys/etc/group")"
check_eq "the tmpfiles.d entry: /var/lib/flagsync 0750 flagsync:flagsync" \
    "d /var/lib/flagsync 0750 flagsync flagsync" \
    "$(awk '!/^#/ && NF { print $1, $2, $3, $4, $5 }' "$R$tmpfilesdir/flagsync.conf")"
# Only root may give the directory away; the mode shows either way.
systemd-tmpfiles --root="$sys" --create "$R$tmpfilesdir/flagsync.conf" \
    >"$T/out" 2>&1; rc=$?
check_eq "systemd-tmpfiles creates it with mode 0750" 750 \
    "$(stat -c %a "$sys/var/lib/flagsync" 2>&1)"
if [ "$(id -u)" -eq 0 ]; then
	check_eq "... exits 0" 0 "$rc"
	check_eq "... owned by flagsync:flagsync" \
	    "$(awk -F: '$1 == "flagsync" { print $3 ":" $4 }' "$sys/etc/passwd")" \
	    "$(stat -c %u:%g "$sys/var/lib/flagsync")"
fi

# ------------------------------------------------ 4. the sample as the unit runs it
# The sample names files by their installed paths: look in the stage.
sed "s|$confdir/|$R$confdir/|g" "$R$confdir/flagsync.ini" >"$T/sample.ini"
mkdir -p "$T/creds"
printf '\n' >"$T/creds/split-admin-key"	# the unit's SetCredential=
printf '\n' >"$T/creds/jira-api-token"
out=$(env -u FLAGSYNC_SPLIT_ADMIN_KEY -u FLAGSYNC_JIRA_API_TOKEN \
    CREDENTIALS_DIRECTORY="$T/creds" FLAGSYNC_CONFIG="$T/sample.ini" \
    "$R$bindir/flagsync" -q check-config 2>&1); rc=$?
check_eq "check-config passes on the installed sample, no key files" 0 "$rc"
check_match "... and says there is no key" 'admin key +not set' "$out"

# ------------------------------------------------ 5. reinstall, uninstall
printf '; edited by the admin\n' >>"$R$confdir/flagsync.ini"
cp "$R$confdir/flagsync.ini" "$T/edited.ini"
run "a second make install succeeds" \
    make -C "$BUILDDIR" install DESTDIR="$R"
check "... and keeps the admin's flagsync.ini" \
    cmp -s "$T/edited.ini" "$R$confdir/flagsync.ini"
check_match "... saying so" "keeping the existing $R$confdir/flagsync.ini" \
    "$(cat "$T/out")"

run "make uninstall succeeds" make -C "$BUILDDIR" uninstall DESTDIR="$R"
check_eq "... and leaves only the admin's flagsync.ini" \
    "./${confdir#/}/flagsync.ini" \
    "$(cd "$R" && find . ! -type d | sort)"
check "... unchanged" cmp -s "$T/edited.ini" "$R$confdir/flagsync.ini"

done_testing
