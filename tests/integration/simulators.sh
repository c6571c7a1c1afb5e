#!/bin/sh
# The simulators' own tests: what each answer follows in the public API
# documentation (tests/sim/README.md, tests/sim/jira_sim.md) is checked
# here, so every other test stands on a faithful double.
. "$SRCDIR/tests/integration/lib.sh"

for t in test_split_sim test_jira_sim; do
	if (cd "$T" && python3 "$SRCDIR/tests/sim/$t.py") >"$T/$t.log" 2>&1; then
		ok "$t: $(tail -3 "$T/$t.log" | grep '^Ran' || echo done)"
	else
		not_ok "$t"
		tail -60 "$T/$t.log" | sed 's/^/# /'
	fi
done
done_testing
