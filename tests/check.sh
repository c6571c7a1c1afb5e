#!/bin/sh
# The whole test suite from a fresh clone: install dependencies, build,
# run `make check` (unit and integration tests), then the same again built
# with ASan and UBSan, then each libFuzzer target over its committed corpus
# and 30 s more (clang), then `make distcheck`, then (as root) build,
# install and purge the Debian and RPM packages.  Each stage says when it
# starts and how long it took; a failing test's whole log is printed.
# Ends with the line "N passed, M failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

passed=0
failed=0
t_all=$(date +%s)

# stage NAME COMMAND...: runs one stage between a start and an end line.
stage() {
	local name=$1 t0 p0 f0
	shift
	t0=$(date +%s); p0=$passed; f0=$failed
	echo "== $name: started at $(date -u +%H:%M:%SZ)"
	"$@"
	echo "== $name: $((passed - p0)) passed, $((failed - f0)) failed," \
	    "took $(($(date +%s) - t0)) s"
}

# failed_logs DIR: the whole log of every test under DIR whose .trs
# says FAIL, ERROR or XPASS.
failed_logs() {
	find "$1" -name '*.trs' 2>/dev/null | sort | while read -r trs; do
		grep -Eq '^:test-result: (FAIL|ERROR|XPASS)' "$trs" || continue
		log=${trs%.trs}.log
		echo "---------------- $log"
		cat "$log" 2>/dev/null
		echo "---------------- end of $log"
	done
}

deps() {
	if ! sh tests/deps.sh; then
		echo "deps: tests/deps.sh failed"; failed=$((failed + 1))
	fi
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1 ||
	    { echo "deps: autogen.sh failed"; failed=$((failed + 1)); }
}

run_suite() {	# NAME CONFIGURE-ARGS...
	name=$1; shift
	dir="$top/build/$name"
	rm -rf "$dir"; mkdir -p "$dir"
	( cd "$dir" && "$top/configure" -q "$@" >/dev/null &&
	    make -j2 >/dev/null ) || {
		echo "$name: build failed"; failed=$((failed + 1)); return; }
	( cd "$dir" && make -j2 check ) >"$dir/check.out" 2>&1
	grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP)|^# ' "$dir/check.out" | sed "s/^/$name: /"
	p=$(sed -n 's/^# PASS: *//p' "$dir/check.out" | tail -1)
	f=$(sed -n 's/^# FAIL: *//p' "$dir/check.out" | tail -1)
	e=$(sed -n 's/^# ERROR: *//p' "$dir/check.out" | tail -1)
	x=$(sed -n 's/^# XPASS: *//p' "$dir/check.out" | tail -1)
	if [ -z "$p" ]; then
		echo "$name: make check printed no summary"; tail -20 "$dir/check.out"
		failed=$((failed + 1)); return
	fi
	failed_logs "$dir/tests"
	passed=$((passed + p))
	failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
}

# run_packaging: builds the .deb and .rpm from a clean copy, installs the
# .debs, checks the layout, purges (root only: it installs packages).
run_packaging() {
	out="$top/build/packaging.out"
	if [ "$(id -u)" -ne 0 ]; then
		echo "packaging: not run (needs root to install the packages)"
		return
	fi
	bash tests/packaging.sh >"$out" 2>&1
	rc=$?
	grep -E '^(ok|not ok)|^1\.\.' "$out" | sed 's/^/packaging: /'
	p=$(grep -c '^ok' "$out")
	f=$(grep -c '^not ok' "$out")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "packaging: exited with status $rc"; tail -20 "$out"
		failed=$((failed + 1))
	fi
}

# run_distcheck: the release tarball builds, passes its tests from a
# read-only source tree, installs and uninstalls cleanly.  Its check runs
# the unit tests and the integration tests below, which use the tree's
# layout (the install, the SDK, the man pages, the simulators, the demo);
# the plain and sanitizer stages ran every test, and the distcheck hook
# compares the tarball with the files git tracks.
distcheck_tests=
for t in cli install sdk manpages simulators demostop plugins; do
	distcheck_tests="$distcheck_tests tests/integration/$t.sh"
done
run_distcheck() {
	if (cd "$top/build/plain" &&
	    make -j2 distcheck RUN_INTEGRATION="$distcheck_tests") \
	    >"$top/build/distcheck.out" 2>&1; then
		echo "distcheck: PASS: make distcheck"
		passed=$((passed + 1))
	else
		echo "distcheck: FAIL: make distcheck"
		for d in "$top"/build/plain/flagsync-*/_build; do
			[ -d "$d" ] && failed_logs "$d"
		done
		echo "---------------- the end of make distcheck's output"
		tail -60 "$top/build/distcheck.out"
		failed=$((failed + 1))
	fi
}

# run_fuzz: the fuzz targets (tests/fuzz/README.md), built with clang in
# build/fuzz; each runs its committed corpus, then fuzzes for 30 s.  One
# pass or fail per target.
run_fuzz() {
	dir="$top/build/fuzz"
	if ! command -v clang >/dev/null 2>&1; then
		echo "fuzz: FAIL: clang is not installed (tests/deps.sh installs it)"
		failed=$((failed + 1)); return
	fi
	rm -rf "$dir"; mkdir -p "$dir"
	( cd "$dir" && "$top/configure" -q CC=clang --enable-fuzz >/dev/null &&
	    make -j2 >/dev/null ) || {
		echo "fuzz: build failed"; failed=$((failed + 1)); return; }
	( cd "$dir" && make fuzz FUZZ_TIME=30 ) >"$dir/fuzz.out" 2>&1
	grep -E '^(PASS|FAIL):|^    ' "$dir/fuzz.out" | sed 's/^/fuzz: /'
	p=$(grep -c '^PASS:' "$dir/fuzz.out")
	f=$(grep -c '^FAIL:' "$dir/fuzz.out")
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "fuzz: make fuzz ran no target"; tail -20 "$dir/fuzz.out"
		failed=$((failed + 1)); return
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

stage deps deps
if [ ! -x configure ]; then
	echo "$passed passed, $failed failed"
	exit 1
fi
stage plain run_suite plain --enable-test-hooks
stage sanitizers run_suite sanitizers --enable-sanitizers --enable-test-hooks
stage fuzz run_fuzz
stage distcheck run_distcheck
stage packaging run_packaging
echo "== all stages took $(($(date +%s) - t_all)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
