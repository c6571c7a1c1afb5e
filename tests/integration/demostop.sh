#!/bin/sh
# tests/demo.sh stops both of its simulators when it is interrupted:
# Ctrl-C (INT to its whole process group, as a terminal sends it) and
# TERM (to the demo's shell alone, as kill sends it).  A stand-in flagsync
# holds the demo in its first command, both simulators up.
. "$SRCDIR/tests/integration/lib.sh"

cat >"$T/fake-flagsync" <<'SH'
#!/bin/sh
: >"$FAKE_MARK"
exec sleep "$FAKE_SLEEP"
SH
chmod 755 "$T/fake-flagsync"
mkdir -p "$T/tmp"

# sim_pids PGID: the simulators in that process group.
sim_pids() {
	ps -eo pid=,pgid=,args= |
	    awk -v g="$1" '$2 == g && /(split|jira)_sim\.py/ { print $1 }'
}
gone() { ! kill -0 "$1" 2>/dev/null || zombie "$1"; }
zombie() { [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; }
all_gone() { for p in "$@"; do gone "$p" || return 1; done; }

# demo_try SIGNAL TARGET SLEEP: TARGET is "group" or "shell".
demo_try() {
	local sig=$1 target=$2 dpid pgid pids
	rm -f "$T/mark"
	# As a terminal starts a job: its own process group (setsid), INT
	# not ignored (a background job of this shell would start with INT
	# ignored, and a shell cannot trap what it was started ignoring).
	FAKE_MARK=$T/mark FAKE_SLEEP=$3 FLAGSYNC=$T/fake-flagsync \
	    TMPDIR=$T/tmp env --default-signal=INT setsid \
	    sh "$SRCDIR/tests/demo.sh" >"$T/demo.$sig.log" 2>&1 &
	dpid=$!
	if ! wait_for 60 test -e "$T/mark"; then
		not_ok "$sig: the demo reached its first flagsync command"
		diag "$(cat "$T/demo.$sig.log")"
		kill -KILL "$dpid" 2>/dev/null
		return
	fi
	pgid=$(ps -o pgid= -p "$dpid" | tr -d ' ')
	pids=$(sim_pids "$pgid")
	check_eq "$sig: the demo runs both simulators" 2 \
	    "$(printf '%s\n' $pids | grep -c .)"
	if [ "$target" = group ]; then
		kill -"$sig" -- "-$pgid"
	else
		kill -"$sig" "$dpid"
	fi
	wait_for 60 gone "$dpid"
	check "$sig to the demo's $target: the demo ends" gone "$dpid"
	wait "$dpid" 2>/dev/null
	# shellcheck disable=SC2086
	wait_for 30 all_gone $pids
	# shellcheck disable=SC2086
	check "... and both simulators are gone" all_gone $pids
	check_eq "... and its temporary directory" "" "$(ls "$T/tmp")"
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null
	rm -rf "$T"/tmp/*
}

demo_try INT group 120
demo_try TERM shell 2

done_testing
