#!/bin/sh
# The plugin SDK as a third party meets it: `make install` into a staging
# root, the installed header and flagsync-plugin.pc on their own, the
# example plugin built out of tree from them alone, then loaded by the
# real agent, first by absolute path and then by name from the plugin
# directory its own `make install` put it in.
. "$SRCDIR/tests/integration/lib.sh"

: "${BUILDDIR:?BUILDDIR must name the configured build tree (make check sets it)}"

# The sub-makes must not inherit make check's options or variables.
unset MAKEFLAGS MFLAGS MAKELEVEL
CC=${CC:-cc}

# run DESCRIPTION COMMAND...: a test point for a command that must exit 0.
# Its output stays in $T/out and is shown when it does not.
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

# The later steps mean nothing without the earlier ones.
bail() {
	echo "Bail out! $*"
	exit 1
}

# only_symbol DESCRIPTION SO: the shared object exports flagsync_plugin
# and nothing else.
only_symbol() {
	local syms
	syms=$(nm -D --defined-only "$2" 2>&1)
	check_eq "$1" flagsync_plugin "$(printf '%s\n' "$syms" | awk 'NF { print $NF }')"
}

# Event lines as the example writes them: "SEQ TYPE PROJECT/FLAG".
event_lines() {
	fs events --json | jq -r '"\(.seq) \(.type) \(.project)/\(.flag)"'
}

# plugin_row NAME: what `plugins --json` says of one instance.
plugin_row() {
	fs plugins --json | jq -r --arg n "$1" '.[] | select(.name == $n) |
	    "\(.module) \(.abi) \(.cursor) \(.backlog) \(.dead_letters)"'
}

# ------------------------------------------------ 1. install the SDK
ROOT=$T/root
run "make install DESTDIR=... succeeds without root" \
    make -C "$BUILDDIR" install DESTDIR="$ROOT" ||
    bail "flagsync did not install into $ROOT"

pcs=$(find "$ROOT" -path '*/pkgconfig/flagsync-plugin.pc' -type f)
check_eq "exactly one flagsync-plugin.pc is installed" 1 \
    "$(printf '%s' "$pcs" | grep -c .)"
pc=$(printf '%s\n' "$pcs" | head -n 1)
[ -f "$pc" ] || bail "no flagsync-plugin.pc under $ROOT: $(find "$ROOT" | head -n 40)"
if grep -Fq "$ROOT" "$pc"; then
	not_ok "the .pc does not carry the staging directory"
	diag "$(cat "$pc")"
else
	ok "the .pc does not carry the staging directory"
fi

# Only the staged SDK is visible: no system .pc can stand in for it.
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH
PKG_CONFIG_SYSROOT_DIR=$ROOT
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
unset CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH

cflags=$(pkg-config --cflags flagsync-plugin 2>&1); rc=$?
check_eq "pkg-config --cflags flagsync-plugin exits 0" 0 "$rc"
check_match "... and names the staged include directory" "^-I$ROOT/[^ ]*include *\$" "$cflags"
incdir=${cflags#-I}
incdir=${incdir%% *}
check "the installed header is \$includedir/flagsync/plugin.h" \
    test -f "$incdir/flagsync/plugin.h"
check "... and is the source tree's" \
    cmp -s "$SRCDIR/include/flagsync/plugin.h" "$incdir/flagsync/plugin.h"
check_eq "the SDK is header only: no --libs" "" \
    "$(pkg-config --libs flagsync-plugin | tr -d ' ')"
check_eq "its version is flagsync's" "$("$FLAGSYNC" --version | awk '{ print $NF }')" \
    "$(pkg-config --modversion flagsync-plugin)"

# plugindir is where plugins go on the target, whatever the sysroot
# (pkgconf prefixes it to every variable; pkg-config does not).
plugindir=$(PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=plugindir flagsync-plugin)
check_match "plugindir is absolute and ends with /flagsync/plugins" \
    '^/.*/flagsync/plugins$' "$plugindir"
check "the bundled plugins are installed in plugindir" \
    test -f "$ROOT$plugindir/file.so" -a -f "$ROOT$plugindir/syslog.so"
check_eq "plugindir holds no libtool archives" "" \
    "$(cd "$ROOT$plugindir" 2>/dev/null && ls -- *.la 2>/dev/null)"

printf '#include <flagsync/plugin.h>\n' >"$T/hdr.c"
run "the installed header compiles alone as C11 (-Wall -Wextra -Werror -pedantic)" \
    "$CC" -std=c11 -Wall -Wextra -Werror -pedantic $cflags -c "$T/hdr.c" \
    -o "$T/hdr.o"
run "example.c builds against it with the project's warnings and -pedantic" \
    "$CC" -std=c11 -Wall -Wextra -Werror -pedantic -Wshadow -Wformat=2 \
    -Wstrict-prototypes -Wmissing-prototypes -fPIC -fvisibility=hidden \
    -shared $cflags -o "$T/strict.so" "$SRCDIR/plugins/example/example.c"

if command -v g++ >/dev/null 2>&1; then
	cp "$T/hdr.c" "$T/hdr.cc"
	run "the installed header compiles alone as C++11 (-Wall -Wextra -Werror -pedantic)" \
	    g++ -std=c++11 -Wall -Wextra -Werror -pedantic $cflags \
	    -c "$T/hdr.cc" -o "$T/hdr_cc.o"
else
	ok "the installed header compiles alone as C++11 # SKIP no g++"
fi

# C++ has designated initializers from C++20 on (in member order).
if command -v g++ >/dev/null 2>&1 &&
    g++ -std=c++20 -x c++ -c /dev/null -o /dev/null 2>/dev/null; then
	cat >"$T/cxx.cc" <<'EOF'
#include <flagsync/plugin.h>

static int
cxx_init(const struct flagsync_host_api *, struct flagsync_host *,
    void **ctx, char *, size_t)
{
	*ctx = nullptr;
	return 0;
}

static int
cxx_deliver(void *, const struct flagsync_event *, char *, size_t)
{
	return FLAGSYNC_OK;
}

static void
cxx_shutdown(void *)
{
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "cxx",
	.version = "1.0",
	.check_config = nullptr,
	.init = cxx_init,
	.deliver = cxx_deliver,
	.reopen = nullptr,
	.shutdown = cxx_shutdown,
);
EOF
	run "a C++20 plugin builds with FLAGSYNC_PLUGIN_DEFINE" \
	    g++ -std=c++20 -Wall -Wextra -Werror -pedantic -fPIC \
	    -fvisibility=hidden -shared $cflags -o "$T/cxx.so" "$T/cxx.cc" &&
	    only_symbol "... and exports flagsync_plugin, unmangled, alone" "$T/cxx.so"
else
	ok "a C++20 plugin exports flagsync_plugin # SKIP no g++ -std=c++20"
fi

# ------------------------------------------------ 2. the example, out of tree
mkdir "$T/example"
cp -R "$SRCDIR/plugins/example/." "$T/example/"
chmod -R u+w "$T/example"	# distcheck's source tree is read-only
rm -f "$T/example"/*.so "$T/example"/*.o
run "make in a copy of plugins/example succeeds" make -C "$T/example" ||
    bail "the example plugin did not build"
build=$(cat "$T/out")
check_match "... compiling with the installed SDK's flags" "-I$incdir( |\$)" "$build"
if printf '%s\n' "$build" | grep -Fq -e "$SRCDIR/" -e "$BUILDDIR/"; then
	not_ok "... and nothing of the flagsync source or build tree"
	diag "$build"
else
	ok "... and nothing of the flagsync source or build tree"
fi
check "example.so exists" test -f "$T/example/example.so"
only_symbol "nm -D --defined-only example.so lists flagsync_plugin alone" \
    "$T/example/example.so"

# Packagers pass their own CFLAGS and LDFLAGS; the SDK's must stay.
mkdir "$T/example2"
cp "$T/example/Makefile" "$T/example/example.c" "$T/example2/"
run "make CFLAGS=... LDFLAGS=... still builds the plugin" \
    make -C "$T/example2" CFLAGS="-O1 -g0" LDFLAGS="-Wl,-z,now" &&
    only_symbol "... exporting flagsync_plugin alone" "$T/example2/example.so"

# ------------------------------------------------ 3. load it in the agent
sim_start --state "$SRCDIR/tests/integration/base-state.json"

write_config "[plugin myexample]
module = $T/example/example.so
path = $T/example.out
colour = red"
err=$(fs check-config 2>&1); rc=$?
check_eq "an unknown key: check-config exits 2" 2 "$rc"
check_match "... with the example's message" 'unknown key "colour"' "$err"

write_config "[plugin myexample]
module = $T/example/example.so
path = example.out"
err=$(fs check-config 2>&1); rc=$?
check_eq "a relative path: check-config exits 2" 2 "$rc"
check_match "... with the example's message" "path must be set to an absolute file name" "$err"
check "... and check-config wrote nothing" test ! -e example.out -a ! -e "$T/example.out"

rm -rf "$T/state"
write_config "[plugin myexample]
module = $T/example/example.so
path = $T/example.out"
run "check-config loads the example by absolute path" fs check-config
run "sync delivers to it" fs sync
check_match "... which starts with no deliveries counted" \
    "writing events to $T/example.out \\(0 delivered so far\\)" "$(cat "$T/out")"
check_eq "one line per event, in the example's format" "$(event_lines)" \
    "$(cat "$T/example.out" 2>&1)"
check_eq "plugins --json: module, abi, cursor at the last event, backlog 0, no dead letters" \
    "$T/example/example.so 1.3 $(last_seq) 0 0" "$(plugin_row myexample)"

# The count in the key/value store survives into the next run.
before=$(last_seq)
sim POST kill '{"ws":"Default","flag":"new_checkout","killed":true}' >/dev/null
run "sync after a kill in Split" fs sync
check_match "... the example read back its stored count" \
    "writing events to $T/example.out \\($before delivered so far\\)" "$(cat "$T/out")"
check_eq "... and appended only the new event" \
    "$((before + 1)) flag.killed Default/new_checkout" "$(tail -n 1 "$T/example.out")"
check_eq "... so the file is still the event log, line for line" "$(event_lines)" \
    "$(cat "$T/example.out" 2>&1)"
check_eq "... and plugins --json has the cursor there" \
    "$T/example/example.so 1.3 $(last_seq) 0 0" "$(plugin_row myexample)"
run "a third sync, nothing changed" fs sync
check_match "... counts every delivery so far" \
    "\\($(last_seq) delivered so far\\)" "$(cat "$T/out")"

# ------------------------------------------------ 4. install, load by name
needs_test_hooks	# loading by name from $FLAGSYNC_PLUGIN_DIR
FLAGSYNC_PLUGIN_DIR=$T/inst$plugindir
export FLAGSYNC_PLUGIN_DIR
rm -rf "$T/state"
write_config "[plugin byname]
module = example
path = $T/byname.out"
err=$(fs check-config 2>&1); rc=$?
check_eq "before make install, module = example is not found: check-config exits 2" 2 "$rc"
check_match "... naming the file it looked for" \
    "$FLAGSYNC_PLUGIN_DIR/example.so: no such plugin file" "$err"

run "make install DESTDIR=... of the example" \
    make -C "$T/example" install DESTDIR="$T/inst"
check_eq "it installs example.so in plugindir under DESTDIR, and nothing else" \
    "$T/inst$plugindir/example.so" "$(find "$T/inst" -type f)"

run "check-config loads module = example from the plugin directory" fs check-config
run "sync delivers to it" fs sync
check_eq "one line per event" "$(event_lines)" "$(cat "$T/byname.out" 2>&1)"
check_eq "plugins --json: module by name, cursor at the last event, backlog 0" \
    "example 1.3 $(last_seq) 0 0" "$(plugin_row byname)"

done_testing
