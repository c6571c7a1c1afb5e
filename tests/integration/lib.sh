# lib.sh - shared by the integration tests: TAP output, the Split simulator,
# a config per test, and the real flagsync binary.
#
# Every test script sources this file, calls sim_start, writes a config
# with write_config, and reports with check/ok/not_ok; done_testing prints
# the TAP plan.  Everything lives in a fresh temporary directory that is
# removed at exit, the simulator with it.

set -u

: "${FLAGSYNC:?FLAGSYNC must name the flagsync binary (make check sets it)}"
: "${SRCDIR:?SRCDIR must name the source tree (make check sets it)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/flagsync-it.XXXXXX")
SIM_PID=
SIM_URL=
JIRA_PID=
JIRA_URL=
TAP_N=0
TAP_FAILED=0

cleanup() {
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
	[ -n "$JIRA_PID" ] && kill "$JIRA_PID" 2>/dev/null && wait "$JIRA_PID" 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() {
	TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# check DESCRIPTION COMMAND...: one test point from a command's status.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"; diag "expected: $2" "actual:   $3"; fi
}

# check_match DESCRIPTION REGEX TEXT (grep -E)
check_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else
		not_ok "$1"; diag "no match for: $2" "in: $3"; fi
}

check_nomatch() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		not_ok "$1"; diag "unexpected match for: $2" "in: $3"
	else ok "$1"; fi
}

done_testing() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# needs_test_hooks: skips the rest of the script unless flagsync was
# configured with --enable-test-hooks (FLAGSYNC_PLUGIN_DIR and the short
# FLAGSYNC_TEST_* delays are not read otherwise).
needs_test_hooks() {
	[ "${FLAGSYNC_TEST_HOOKS:-yes}" = yes ] && return 0
	if [ "$TAP_N" -eq 0 ]; then
		echo "1..0 # SKIP needs ./configure --enable-test-hooks"
	else
		TAP_N=$((TAP_N + 1))
		echo "ok $TAP_N # SKIP the rest needs ./configure --enable-test-hooks"
		echo "1..$TAP_N"
	fi
	exit $((TAP_FAILED > 0))
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds
# (returns 0) or SECONDS of wall-clock time have passed (returns 1).  Give
# generous limits: they only matter when something is broken, and a
# loaded machine is slow.
wait_for() {
	local end
	end=$(($(date +%s) + $1)); shift
	while ! "$@"; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# sim_start [ARGS...]: runs the Split simulator on a free loopback port.
sim_start() {
	if [ -n "${FLAGSYNC_TEST_BACKOFF_MS:-}${FLAGSYNC_TEST_RETRY_MS:-}${FLAGSYNC_PLUGIN_DIR:-}" ]; then
		needs_test_hooks
	fi
	rm -f "$T/sim.port"
	python3 "$SRCDIR/tests/sim/split_sim.py" --port 0 \
	    --port-file "$T/sim.port" --quiet "$@" 2>"$T/sim.log" &
	SIM_PID=$!
	local i=0
	while [ ! -s "$T/sim.port" ]; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$SIM_PID" 2>/dev/null; then
			echo "Bail out! the Split simulator did not start"
			cat "$T/sim.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	SIM_URL="http://127.0.0.1:$(cat "$T/sim.port")"
}

# jira_start: the Jira simulator on a free loopback port, as $JIRA_URL.
jira_start() {
	rm -f "$T/jira.port"
	python3 "$SRCDIR/tests/sim/jira_sim.py" --port 0 \
	    --port-file "$T/jira.port" --quiet 2>"$T/jira.log" &
	JIRA_PID=$!
	local i=0
	while [ ! -s "$T/jira.port" ]; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$JIRA_PID" 2>/dev/null; then
			echo "Bail out! the Jira simulator did not start"
			cat "$T/jira.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	JIRA_URL="http://127.0.0.1:$(cat "$T/jira.port")"
}

# jira METHOD PATH [JSON]: the Jira simulator's control API.
jira() {
	if [ $# -ge 3 ]; then
		curl -sS -X "$1" -H 'Content-Type: application/json' \
		    --data "$3" "$JIRA_URL/_sim/$2"
	else
		curl -sS -X "$1" "$JIRA_URL/_sim/$2"
	fi
}

# sim METHOD PATH [JSON]: the simulator's control API; prints the answer.
sim() {
	if [ $# -ge 3 ]; then
		curl -sS -X "$1" -H 'Content-Type: application/json' \
		    --data "$3" "$SIM_URL/_sim/$2"
	else
		curl -sS -X "$1" "$SIM_URL/_sim/$2"
	fi
}

# write_config [EXTRA INI TEXT]: $T/flagsync.ini against the simulator.
write_config() {
	mkdir -p "$T/state"
	printf 'sim-admin-key\n' >"$T/split-key"
	chmod 600 "$T/split-key"
	cat >"$T/flagsync.ini" <<INI
[agent]
state_dir = $T/state
log_level = info

[split]
api_url = $SIM_URL/internal/api/v2
admin_key_file = $T/split-key
flag_url = https://app.split.io/org/acme/ws/{workspace_id}/splits/{flag_id}/env/{environment_id}/definition
max_rps = 0
timeout = 5

[project Default]
environment = Production
${1:-}
INI
}

# fs ARGS...: the real binary with the test's config.
fs() { "$FLAGSYNC" -c "$T/flagsync.ini" "$@"; }

# The newest event's seq (0 when none).
last_seq() { fs status --json | jq -r '.events.last'; }

# A fingerprint of everything the cache holds, for "unchanged" checks.
cache_print() {
	fs export --format json
	fs events --json
	fs flags --json --linked
}

# The last LMDB transaction id: unchanged means nothing was committed.
txnid() { mdb_stat -e "$T/state" | awk '/Last transaction ID/ {print $4}'; }

# Events since SEQ as "type project/flag[ issue]" lines.
events_since() {
	fs events --since "$1" --json |
	    jq -r '[.type, .project + "/" + .flag, (.issue // empty)] | join(" ")'
}

# plugin_dir_setup: $T/plugins with the built plugins and the test plugins,
# as FLAGSYNC_PLUGIN_DIR.
plugin_dir_setup() {
	needs_test_hooks
	mkdir -p "$T/plugins"
	for so in "$BUILDDIR"/plugins/*/.libs/*.so "$BUILDDIR"/tests/plugins/.libs/*.so; do
		[ -e "$so" ] && ln -sf "$so" "$T/plugins/$(basename "$so")"
	done
	export FLAGSYNC_PLUGIN_DIR="$T/plugins"
}
