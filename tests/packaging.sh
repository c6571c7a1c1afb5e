#!/bin/bash
# The Debian and RPM packages, end to end, as root on a disposable Debian 12
# machine: installs the tools with apt-get, builds flagsync_*.deb,
# flagsync-dev_*.deb and the RPMs from a clean copy of the tree (never in
# the tree itself), runs lintian, installs the .debs and checks what they
# put where (the places flagsync(8) lists under FILES), that the agent, the service and the plugin
# SDK work from the installed files, that the RPMs hold the same files,
# then purges and checks nothing is left.  Prints TAP; exits non-zero when
# a test fails.
#
#   tests/packaging.sh            KEEP=1 keeps the work directory
#
# It installs and purges the packages flagsync and flagsync-dev on this
# machine and leaves the system user flagsync behind, as Debian does.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/flagsync-packaging.XXXXXX) || exit 1
LOGS=$WORK/logs
mkdir -p "$LOGS"

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

# diag LINE...: TAP comments, one per line of each argument.
diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

finish() {
	echo "1..$n"
	if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		diag "work directory kept: $WORK"
	fi
	[ "$failed" -eq 0 ]
	exit
}

# Later steps mean nothing without the earlier ones.
bail() {
	echo "Bail out! $*"
	n=$((n + 1))
	failed=$((failed + 1))
	finish
}

# run DESCRIPTION COMMAND...: a test point for a command that must exit 0;
# its output goes to a log shown when it does not.
run() {
	local desc=$1 log rc
	shift
	log=$LOGS/$((n + 1)).log
	"$@" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "\$ $*" "exit status $rc, log $log" "$(tail -n 40 "$log")"
	fi
	return "$rc"
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "expected: $2" "actual:   $3"
	fi
}

# check DESCRIPTION COMMAND...: a test point for a condition, no log.
check() {
	local desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "failed: $*"
	fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP installs packages: run as root on a disposable machine"
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

# ------------------------------------------------------------ 1. tools
TOOLS="build-essential debhelper dpkg-dev fakeroot lintian rpm systemd \
pkg-config autoconf automake libtool git"
apt_install() {
	apt-get install -y -q --no-install-recommends "$@" ||
	    { apt-get update -q && apt-get install -y -q --no-install-recommends "$@"; }
}
run "the packaging tools install with apt-get" apt_install $TOOLS ||
    bail "cannot install $TOOLS"

# ------------------------------------------------------------ 2. clean copy
# The files git knows (tracked, or new and not ignored): nothing generated,
# no build directory, whatever state the working tree is in.
SRC=$WORK/src
copy_tree() {
	mkdir -p "$SRC"
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		    while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		    done | tar --null -T - -cf -) | tar -C "$SRC" -xf -
	else
		cp -a "$top/." "$SRC/" &&
		    rm -rf "$SRC/.git" "$SRC/build" "$SRC/autom4te.cache"
	fi
}
run "a clean copy of the tree" copy_tree || bail "cannot copy $top"
[ -f "$SRC/configure.ac" ] && [ -d "$SRC/packaging/debian" ] ||
    bail "the copy has no configure.ac or packaging/debian"

VERSION=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$SRC/configure.ac")
check_eq "debian/changelog has configure.ac's version" "$VERSION" \
    "$(cd "$SRC/packaging" && dpkg-parsechangelog -l debian/changelog -S Version)"
check_eq "flagsync.spec has configure.ac's version" "$VERSION" \
    "$(sed -n 's/^Version: *//p' "$SRC/packaging/rpm/flagsync.spec")"

# ------------------------------------------------------------ 3. .deb
DEBSRC=$WORK/deb/flagsync-$VERSION
mkdir -p "$DEBSRC"
cp -a "$SRC/." "$DEBSRC/"
cp -a "$SRC/packaging/debian" "$DEBSRC/debian"
builddeps() {
	apt-get build-dep -y -q -P nocheck "$DEBSRC" ||
	    { apt-get update -q && apt-get build-dep -y -q -P nocheck "$DEBSRC"; }
}
run "the build dependencies install (apt-get build-dep)" builddeps ||
    bail "cannot install the build dependencies"
build_deb() (
	cd "$DEBSRC" &&
	    DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	    DEB_BUILD_PROFILES=nocheck dpkg-buildpackage -us -uc -b
)
run "dpkg-buildpackage -us -uc -b builds" build_deb ||
    bail "the Debian packages do not build"
DEB=$(ls "$WORK"/deb/flagsync_"$VERSION"_*.deb 2>/dev/null | head -n 1)
DEBDEV=$(ls "$WORK"/deb/flagsync-dev_"$VERSION"_all.deb 2>/dev/null | head -n 1)
[ -f "$DEB" ] && [ -f "$DEBDEV" ] ||
    bail "no flagsync or flagsync-dev .deb in $WORK/deb: $(ls "$WORK/deb")"
ok "flagsync and flagsync-dev .debs are built"

lint() {
	lintian --fail-on error --display-level '>=warning' \
	    --tag-display-limit 0 "$DEB" "$DEBDEV"
}
if run "lintian finds no error in the .debs" lint; then
	tags=$(grep -E '^[WEIXP]:' "$LOGS/$n.log" | sed 's/^/lintian: /')
	[ -z "$tags" ] || diag "$tags"
fi

# ------------------------------------------------------------ 4. RPM
RPMTOP=$WORK/rpmbuild
mkdir -p "$RPMTOP/SOURCES"
# The macros of Fedora's systemd-rpm-macros that Debian's rpm lacks, as
# they behave there; only this check uses them.
cat >"$WORK/macros.systemd" <<'EOF'
%_docdir_fmt %%{NAME}
%_unitdir /usr/lib/systemd/system
%_sysusersdir /usr/lib/sysusers.d
%_tmpfilesdir /usr/lib/tmpfiles.d
%systemd_post() \
if [ $1 -eq 1 ] && [ -x /usr/bin/systemctl ]; then \
	/usr/bin/systemctl --no-reload preset %{?*} || : \
fi \
%{nil}
%systemd_preun() \
if [ $1 -eq 0 ] && [ -x /usr/bin/systemctl ]; then \
	/usr/bin/systemctl --no-reload disable --now %{?*} || : \
fi \
%{nil}
%systemd_postun_with_restart() \
if [ $1 -ge 1 ] && [ -x /usr/bin/systemctl ]; then \
	/usr/bin/systemctl try-restart %{?*} || : \
fi \
%{nil}
%tmpfiles_create() \
/usr/bin/systemd-tmpfiles --create %{?*} || : \
%{nil}
%sysusers_create_compat() \
/usr/bin/systemd-sysusers --replace=%{_sysusersdir}/%{name}.conf - <<'SYSUSERS_EOF' || : \
%(cat %1) \
SYSUSERS_EOF \
%{nil}
EOF
make_dist() (
	cd "$SRC" && ./autogen.sh && mkdir -p _dist && cd _dist &&
	    ../configure -q && make dist &&
	    cp "flagsync-$VERSION.tar.gz" "$RPMTOP/SOURCES/" &&
	    cp "$SRC/packaging/sysusers.d/flagsync.conf" \
	    "$RPMTOP/SOURCES/flagsync.sysusers"
)
run "make dist gives the RPM its tarball" make_dist ||
    bail "no release tarball for rpmbuild"
build_rpm() {
	rpmbuild -bb --nodeps --nocheck --load "$WORK/macros.systemd" \
	    --define "_topdir $RPMTOP" "$SRC/packaging/rpm/flagsync.spec"
}
run "rpmbuild -bb builds" build_rpm || bail "the RPMs do not build"
RPM=$(ls "$RPMTOP"/RPMS/*/flagsync-"$VERSION"-*.rpm 2>/dev/null | head -n 1)
RPMDEV=$(ls "$RPMTOP"/RPMS/noarch/flagsync-devel-"$VERSION"-*.noarch.rpm 2>/dev/null | head -n 1)
[ -f "$RPM" ] && [ -f "$RPMDEV" ] ||
    bail "no flagsync or flagsync-devel RPM under $RPMTOP/RPMS"
ok "flagsync and flagsync-devel RPMs are built"

check_eq "the RPM marks both files in /etc/flagsync %config(noreplace)" \
    "cn /etc/flagsync/flagsync.ini cn /etc/flagsync/links.yaml" \
    "$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$RPM" |
	grep ' /etc/flagsync/' | sort | tr '\n' ' ' | sed 's/ $//')"
scripts=$(rpm -qp --scripts "$RPM")
missing=
for want in systemd-sysusers 'systemctl --no-reload preset flagsync.service' \
    'disable --now flagsync.service' 'try-restart flagsync.service' \
    'systemd-tmpfiles --create flagsync.conf'; do
	printf '%s' "$scripts" | grep -Fq -- "$want" || missing="$missing [$want]"
done
check_eq "the RPM scriptlets create the user and handle the unit" "" "$missing"
bad=
for tag in PREIN POSTIN PREUN POSTUN; do
	rpm -qp --qf "%{$tag}" "$RPM" >"$WORK/$tag.sh"
	sh -n "$WORK/$tag.sh" 2>/dev/null || bad="$bad $tag"
done
check_eq "the RPM scriptlets are valid sh" "" "$bad"

# ------------------------------------------------------------ 5. install
if dpkg-query -W flagsync flagsync-dev >/dev/null 2>&1; then
	apt-get purge -y -q flagsync flagsync-dev >/dev/null 2>&1
fi
run "apt-get installs both .debs" apt-get install -y -q "$DEB" "$DEBDEV" ||
    bail "the .debs do not install"
install_log=$LOGS/$n.log

check_eq "flagsync Recommends: bash-completion (the .deb)" "bash-completion" \
    "$(dpkg-deb -f "$DEB" Recommends)"
check "... and the RPM" sh -c "rpm -qp --recommends '$RPM' | grep -qx bash-completion"
# The postinst says how to start the agent only where systemd cannot.
if [ -d /run/systemd/system ]; then
	check "with systemd, the postinst says nothing of a start by hand" \
	    sh -c "! grep -q 'flagsync.service was not' '$install_log'"
else
	if grep -Fq 'runuser -u flagsync -- flagsync run' "$install_log"; then
		ok "without systemd, the postinst says how to start the agent by hand"
	else
		not_ok "without systemd, the postinst says how to start the agent by hand"
		diag "$(tail -n 30 "$install_log")"
	fi
fi

for f in /usr/bin/flagsync \
    /usr/lib/flagsync/plugins/file.so /usr/lib/flagsync/plugins/syslog.so \
    /usr/lib/flagsync/plugins/jira.so /usr/lib/flagsync/plugins/split.so \
    /etc/flagsync/flagsync.ini /etc/flagsync/links.yaml \
    /lib/systemd/system/flagsync.service \
    /usr/lib/sysusers.d/flagsync.conf /usr/lib/tmpfiles.d/flagsync.conf \
    /usr/share/man/man8/flagsync.8.gz /usr/share/man/man5/flagsync.ini.5.gz \
    /usr/share/man/man3/flagsync-plugin.3.gz \
    /usr/share/bash-completion/completions/flagsync \
    /usr/include/flagsync/plugin.h /usr/share/pkgconfig/flagsync-plugin.pc \
    /usr/share/doc/flagsync-dev/examples/Makefile \
    /usr/share/doc/flagsync-dev/examples/example.c \
    /usr/share/doc/flagsync-dev/examples/README.md; do
	check "installed: $f" test -f "$f"
done
check "/usr/bin/flagsync is executable" test -x /usr/bin/flagsync
check "bash loads the completion for flagsync" bash -c \
    '. /usr/share/bash-completion/completions/flagsync && complete -p flagsync'
check_eq "no libtool archive is installed" "" \
    "$(dpkg -L flagsync flagsync-dev | grep '\.la$')"
check_eq "dpkg marks the sample configuration as conffiles" \
    "/etc/flagsync/flagsync.ini /etc/flagsync/links.yaml" \
    "$(dpkg-query -W -f='${Conffiles}\n' flagsync | awk 'NF { print $1 }' |
	sort | tr '\n' ' ' | sed 's/ $//')"

check_eq "user flagsync: primary group flagsync, home /var/lib/flagsync" \
    "flagsync /var/lib/flagsync" \
    "$(id -gn flagsync 2>&1) $(getent passwd flagsync | cut -d: -f6)"
check "group flagsync exists" getent group flagsync
check_eq "/var/lib/flagsync belongs to flagsync:flagsync, mode 750" \
    "flagsync:flagsync 750" \
    "$(stat -c '%U:%G %a' /var/lib/flagsync 2>&1)"
check "the service is enabled" \
    test -L /etc/systemd/system/multi-user.target.wants/flagsync.service

check_eq "flagsync --version" "flagsync $VERSION" "$(flagsync --version 2>&1)"
run "check-config accepts the shipped sample" \
    flagsync -c /etc/flagsync/flagsync.ini check-config
run "the flagsync user can read the sample configuration" \
    runuser -u flagsync -- env -u FLAGSYNC_CONFIG flagsync check-config
run "systemd-analyze verify accepts the unit" \
    systemd-analyze verify /lib/systemd/system/flagsync.service
check_eq "the unit runs /usr/bin/flagsync with /etc/flagsync/flagsync.ini" \
    "/usr/bin/flagsync run /etc/flagsync/flagsync.ini" \
    "$(sed -n 's/^ExecStart=//p' /lib/systemd/system/flagsync.service) $(sed -n \
	's/^Environment=FLAGSYNC_CONFIG=//p' /lib/systemd/system/flagsync.service)"

# With the sample configuration and no key the service must wait for a
# key, not exit and be restarted in a loop.  Where systemd runs, the
# postinst has started it; elsewhere its command runs here, as its user.
T=$WORK/t
mkdir -p "$T"
if [ -d /run/systemd/system ]; then
	sleep 3
	check_eq "the service waits for a Split key (active, never restarted)" \
	    "active 0" "$(systemctl is-active flagsync.service) $(systemctl \
		show -p NRestarts --value flagsync.service)"
else
	# timeout says 124 when the daemon still ran after 4 s and then
	# stopped on SIGTERM, 137 when it had to be killed.
	runuser -u flagsync -- timeout -k 10 4 \
	    flagsync -c /etc/flagsync/flagsync.ini run >"$T/run.out" 2>&1
	rc=$?
	check_eq "flagsync run waits for a Split key, stops on SIGTERM" 124 "$rc"
	[ "$rc" -eq 124 ] || diag "$(tail -n 20 "$T/run.out")"
fi

# ------------------------------------------------------------ 6. plugins
check_eq "flagsync-plugin.pc names the packaged plugin directory" \
    /usr/lib/flagsync/plugins \
    "$(pkg-config --variable=plugindir flagsync-plugin 2>&1)"

# cfg_with FILE LINE...: the shipped sample with LINEs added, [jira]'s url
# and email set (the token comes from the environment).
cfg_with() {
	local out=$1
	shift
	sed -e 's/^;url *= /url = /' -e 's/^;email *= /email = /' \
	    /etc/flagsync/flagsync.ini >"$out"
	printf '%s\n' "$@" >>"$out"
	chmod 0644 "$out"
}
cfg_with "$T/byname.ini" "" "[plugin audit]" "module = file" \
    "path = $T/audit.jsonl" "" "[plugin syslog]" "events = flag.*" \
    "" "[plugin jira]" "events = *"
run "check-config loads the bundled plugins by name" \
    env FLAGSYNC_JIRA_API_TOKEN=not-a-token \
    flagsync -c "$T/byname.ini" check-config
cfg_with "$T/missing.ini" "" "[plugin nosuch]" "path = $T/x"
if flagsync -c "$T/missing.ini" check-config >"$T/missing.out" 2>&1; then
	not_ok "check-config refuses a plugin that is not in the plugin directory"
else
	ok "check-config refuses a plugin that is not in the plugin directory"
fi
grep -q /usr/lib/flagsync/plugins "$T/missing.out" &&
    ok "the agent looks for plugins in /usr/lib/flagsync/plugins" ||
    { not_ok "the agent looks for plugins in /usr/lib/flagsync/plugins";
      diag "$(cat "$T/missing.out")"; }
# The packaged binary has no test hooks: FLAGSYNC_PLUGIN_DIR (and the
# short retry delays) are for the test suite's own builds only.
mkdir -p "$T/evil"
cp /usr/lib/flagsync/plugins/file.so "$T/evil/hookplug.so"
cfg_with "$T/hook.ini" "" "[plugin x]" "module = hookplug" "path = $T/x"
if FLAGSYNC_PLUGIN_DIR="$T/evil" flagsync -c "$T/hook.ini" check-config \
    >"$T/hook.out" 2>&1; then
	not_ok "the packaged binary ignores FLAGSYNC_PLUGIN_DIR"
	diag "$(cat "$T/hook.out")"
else
	ok "the packaged binary ignores FLAGSYNC_PLUGIN_DIR"
fi
grep -q "$T/evil" "$T/hook.out" &&
    { not_ok "... and names no module from it"; diag "$(cat "$T/hook.out")"; } ||
    ok "... and names no module from it"

# The SDK as a plugin author meets it: the example copied anywhere, built
# with the installed header and .pc alone, loaded by absolute path.
EX=$T/example
build_example() {
	cp -r /usr/share/doc/flagsync-dev/examples "$EX" &&
	    env -u CPATH -u C_INCLUDE_PATH -u PKG_CONFIG_PATH make -C "$EX"
}
if run "the installed SDK builds the example out of tree" build_example; then
	check_eq "the example exports flagsync_plugin alone" flagsync_plugin \
	    "$(nm -D --defined-only "$EX/example.so" | awk 'NF { print $NF }')"
	cfg_with "$T/example.ini" "" "[plugin myexample]" \
	    "module = $EX/example.so" "path = $T/example.log"
	run "check-config loads the example by absolute path" \
	    flagsync -c "$T/example.ini" check-config
	run "the example's make install stages into the plugin directory" \
	    make -C "$EX" install DESTDIR="$T/stage"
	check "staged: /usr/lib/flagsync/plugins/example.so" \
	    test -f "$T/stage/usr/lib/flagsync/plugins/example.so"
fi

# ------------------------------------------------------------ 7. same files
# Installed files (not directories) under /usr and /etc, with the names
# that differ by distribution made alike: /lib is /usr/lib (merged /usr),
# the -devel package's documentation directory is -dev's, compressed manual
# pages and documents lose their suffix (dh_compress and brp-compress
# choose by size), and Debian's changelog and copyright go.
normalise() {
	sed -e 's|^/lib/|/usr/lib/|' \
	    -e 's|^/usr/share/doc/flagsync-devel/|/usr/share/doc/flagsync-dev/|' \
	    -e 's#^\(/usr/share/\(man\|doc\)/.*\)\.gz$#\1#' |
	    grep -E '^/(usr|etc)/' |
	    grep -vE '^/usr/share/doc/[^/]+/(changelog|copyright)$' | sort -u
}
for d in "$DEB" "$DEBDEV"; do
	dpkg-deb -c "$d" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|'
done | normalise >"$T/deb.files"
for r in "$RPM" "$RPMDEV"; do
	rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$r" |
	    awk '$1 !~ /^d/ { print $2 }'
done | grep -v '^/usr/lib/\.build-id/' | normalise >"$T/rpm.files"
if cmp -s "$T/deb.files" "$T/rpm.files" && [ -s "$T/deb.files" ]; then
	ok "the RPMs install the same files as the .debs"
else
	not_ok "the RPMs install the same files as the .debs"
	diag "--- .deb  +++ rpm" "$(diff -u "$T/deb.files" "$T/rpm.files" | tail -n +3)"
fi

# The files both build from the same sources with the same directories
# must read the same: the unit, the .pc and the others name paths.
mkdir -p "$T/debroot" "$T/rpmroot"
for d in "$DEB" "$DEBDEV"; do
	dpkg-deb -x "$d" "$T/debroot"
done
for r in "$RPM" "$RPMDEV"; do
	rpm2archive - <"$r" | tar -C "$T/rpmroot" -xzf -
done
# content ROOT PATH: the file, decompressed when the package compressed it;
# of a .pc what it tells pkg-config, however its variables are spelt.
content() {
	local v
	if [ "${2%.pc}" != "$2" ] && [ -f "$1$2" ]; then
		for v in prefix libdir includedir plugindir; do
			echo "$v=$(PKG_CONFIG_LIBDIR=$(dirname "$1$2") \
			    pkg-config --variable=$v flagsync-plugin)"
		done
		PKG_CONFIG_LIBDIR=$(dirname "$1$2") \
		    pkg-config --modversion --cflags flagsync-plugin
	elif [ -f "$1$2" ]; then
		cat "$1$2"
	elif [ -f "$1$2.gz" ]; then
		zcat "$1$2.gz"
	else
		echo "(no $2)"
	fi
}
differ=
for f in /etc/flagsync/flagsync.ini /etc/flagsync/links.yaml \
    /lib/systemd/system/flagsync.service /usr/lib/sysusers.d/flagsync.conf \
    /usr/lib/tmpfiles.d/flagsync.conf \
    /usr/share/bash-completion/completions/flagsync \
    /usr/include/flagsync/plugin.h /usr/share/pkgconfig/flagsync-plugin.pc \
    /usr/share/man/man8/flagsync.8 /usr/share/man/man5/flagsync.ini.5 \
    /usr/share/man/man3/flagsync-plugin.3; do
	r=$(printf '%s' "$f" | sed 's|^/lib/|/usr/lib/|')
	if ! cmp -s <(content "$T/debroot" "$f") <(content "$T/rpmroot" "$r"); then
		differ="$differ $f"
		diff -u <(content "$T/debroot" "$f") <(content "$T/rpmroot" "$r") |
		    head -n 20 >>"$T/content.diff"
	fi
done
check_eq "the RPMs' configuration, unit, SDK and manual pages read as the .debs'" \
    "" "$differ"
[ -z "$differ" ] || diag "$(cat "$T/content.diff")"

# ------------------------------------------------------------ 7b. queries by the group
# The daemon runs as flagsync with the unit's UMask (PID 1 is not systemd
# here, so it is started by hand); a member of group flagsync queries the
# cache while it runs; anyone else is told what to ask for.
python3 "$SRC/tests/sim/split_sim.py" --port 0 --port-file "$T/sim.port" \
    --quiet --state "$SRC/tests/integration/base-state.json" 2>/dev/null &
SIMPID=$!
i=0; while [ ! -s "$T/sim.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
QINI=/etc/flagsync/query-test.ini
cat >"$QINI" <<INI
[agent]
state_dir = /var/lib/flagsync
interval = 1
[split]
api_url = http://127.0.0.1:$(cat "$T/sim.port")/internal/api/v2
max_rps = 0
[project Default]
environment = Production
INI
chmod 0644 "$QINI"
# setpriv, not runuser: PAM would reset the umask the unit sets; the key
# reaches the daemon alone, as a credential would
(umask 0027; export FLAGSYNC_SPLIT_ADMIN_KEY=sim-admin-key; exec setpriv \
    --reuid=flagsync --regid=flagsync --init-groups \
    /usr/bin/flagsync -c "$QINI" run >"$LOGS/daemon.log" 2>&1) &
DPID=$!
i=0
while [ $i -lt 100 ] && ! flagsync -c "$QINI" status --json 2>/dev/null |
    grep -q '"last":6'; do sleep 0.1; i=$((i + 1)); done
getent passwd fsadmin >/dev/null || useradd -M -N -g users -G flagsync \
    -s /usr/sbin/nologin fsadmin
run "a member of group flagsync lists the flags while the daemon runs" \
    runuser -u fsadmin -- flagsync -c "$QINI" flags
check_eq "... and reads an issue's flags" "new_checkout" \
    "$(runuser -u fsadmin -- flagsync -c "$QINI" issue SHOP-1 --json 2>&1 |
    sed -n 's/.*"flag":"\([^"]*\)".*/\1/p')"
run "... and the events" runuser -u fsadmin -- flagsync -c "$QINI" events
# ... but cannot rewrite or replace anything in the state directory.
S=/var/lib/flagsync
check_eq "modes: state dir 750, data.mdb 640, lock.mdb 660, polls.json 640, flagsync.lock 600" \
    "750 640 660 640 600" \
    "$(stat -c %a $S $S/data.mdb $S/lock.mdb $S/polls.json $S/flagsync.lock 2>&1 | tr '\n' ' ' | sed 's/ $//')"
runuser -u fsadmin -- sh -c ": >>$S/data.mdb" 2>/dev/null; rc=$?
check "... the group member cannot write data.mdb" test "$rc" -ne 0
runuser -u fsadmin -- sh -c "cp $S/data.mdb /tmp/fs-mine.mdb && mv -f /tmp/fs-mine.mdb $S/data.mdb" \
    2>/dev/null; rc=$?
check "... nor replace it" test "$rc" -ne 0
runuser -u fsadmin -- ln -s /etc/passwd $S/polls.json.tmp 2>/dev/null; rc=$?
check "... nor plant a file in the state directory" test "$rc" -ne 0
runuser -u fsadmin -- sh -c "exec 3<$S/flagsync.lock" 2>/dev/null; rc=$?
check "... nor open the writer lock (to hold it)" test "$rc" -ne 0
rm -f /tmp/fs-mine.mdb $S/polls.json.tmp
perm=$(runuser -u nobody -- flagsync -c "$QINI" flags 2>&1); rc=$?
check_eq "someone outside the group is refused (exit 1)" 1 "$rc"
case $perm in
*"flagsync group"*) ok "... with a message naming the flagsync group" ;;
*) not_ok "... with a message naming the flagsync group"; diag "$perm" ;;
esac
kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null
kill "$SIMPID" 2>/dev/null; wait "$SIMPID" 2>/dev/null
userdel fsadmin 2>/dev/null
rm -f "$QINI"

# ------------------------------------------------------------ 8. upgrades
echo "; kept by the admin" >>/etc/flagsync/flagsync.ini
run "apt-get reinstalls the .deb over an edited configuration" \
    apt-get install -y -q --reinstall "$DEB"
check "the admin's edit of flagsync.ini survives the reinstall" \
    grep -q '^; kept by the admin' /etc/flagsync/flagsync.ini

# ------------------------------------------------------------ 9. purge
# State the agent wrote must go with the purge too.
touch /var/lib/flagsync/state.marker
for d in "$DEB" "$DEBDEV"; do
	dpkg-deb -c "$d" | awk '{ print substr($1, 1, 1), $6 }' | sed 's| \./| /|'
done | sort -u >"$T/owned"
run "apt-get purges both packages" apt-get purge -y -q flagsync flagsync-dev
# A file of ours must be gone; a directory too, unless another package
# still owns it (or it is a symlink to one, as /lib is with merged /usr).
left=
while read -r type p; do
	p=${p%/}
	[ -n "$p" ] || continue
	if [ "$type" != d ]; then
		[ -e "$p" ] || [ -L "$p" ] && left="$left $p"
	elif [ -d "$p" ] && [ ! -L "$p" ] && ! dpkg -S "$p" >/dev/null 2>&1; then
		left="$left $p/"
	fi
done <"$T/owned"
for p in /etc/flagsync /var/lib/flagsync /usr/lib/flagsync \
    /usr/share/doc/flagsync-dev \
    /etc/systemd/system/multi-user.target.wants/flagsync.service; do
	[ -e "$p" ] || [ -L "$p" ] && left="$left $p"
done
check_eq "purge leaves none of the packages' files, state or links" "" "$left"

finish
