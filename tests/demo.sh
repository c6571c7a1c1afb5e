#!/bin/sh
# The demo: the real flagsync agent against the bundled Split and Jira
# simulators.  Installs what it needs (Debian 12, apt-get), builds, then:
# sync; the flags; an issue's flags; the property and web links the jira
# output wrote on the issues; a rollout change in "Split", a link made
# from the Jira side and a flag named in Jira that Split does not have yet
# (created by flagsync); sync again; the events, the updated issues, and
# the issue keys the split output wrote as tags on the flags in Split.
# Everything runs in a temporary directory; Ctrl-C (INT) or TERM stops
# both simulators and removes it.
#
# With $FLAGSYNC and $BUILDDIR set (as `make check` sets them) it uses
# that binary and build tree instead of installing and building.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ -z "${FLAGSYNC:-}" ] || [ -z "${BUILDDIR:-}" ]; then
	sh tests/deps.sh
	echo "== building flagsync"
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1
	mkdir -p build/plain
	(cd build/plain && { [ -f Makefile ] || "$top/configure" -q; } &&
	    make -j2 >/dev/null)
	FLAGSYNC=$top/build/plain/flagsync
	BUILDDIR=$top/build/plain
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/flagsync-demo.XXXXXX")
SIM_PID=
JIRA_PID=
# The simulators run in the background, where a non-interactive shell
# starts them ignoring INT: Ctrl-C reaches them only through this.
demo_cleanup() {
	trap - EXIT INT TERM
	for pid in $SIM_PID $JIRA_PID; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap demo_cleanup EXIT
trap 'demo_cleanup; exit 130' INT
trap 'demo_cleanup; exit 143' TERM

# port_wait FILE PID: until a simulator has written its port (or died).
port_wait() {
	while [ ! -s "$1" ]; do
		kill -0 "$2" 2>/dev/null || { echo "a simulator did not start"; exit 1; }
		sleep 0.1
	done
}

python3 tests/sim/split_sim.py --port 0 --port-file "$T/split.port" --quiet \
    --state tests/integration/base-state.json 2>/dev/null &
SIM_PID=$!
python3 tests/sim/jira_sim.py --port 0 --port-file "$T/jira.port" --quiet \
    2>/dev/null &
JIRA_PID=$!
port_wait "$T/split.port" "$SIM_PID"
port_wait "$T/jira.port" "$JIRA_PID"
SIM=http://127.0.0.1:$(cat "$T/split.port")
JIRA=http://127.0.0.1:$(cat "$T/jira.port")

# The Jira project's issues; SHOP-20 lists a flag in its "Feature flags"
# field (customfield_10050): a link made from the Jira side.
for key in SHOP-1 SHOP-7 PAY-42; do
	curl -sS -X POST -H 'Content-Type: application/json' \
	    --data "{\"key\":\"$key\",\"fields\":{\"summary\":\"$key\"}}" \
	    "$JIRA/_sim/issue" >/dev/null
done
curl -sS -X POST -H 'Content-Type: application/json' \
    --data '{"key":"SHOP-20","fields":{"summary":"Dark mode","customfield_10050":"dark_mode"}}' \
    "$JIRA/_sim/issue" >/dev/null

printf 'sim-admin-key\n' >"$T/split-admin-key"
printf 'sim-jira-token\n' >"$T/jira-api-token"
chmod 600 "$T/split-admin-key" "$T/jira-api-token"
cat >"$T/flagsync.ini" <<INI
[agent]
state_dir = $T/state

[split]
api_url = $SIM/internal/api/v2
admin_key_file = $T/split-admin-key
flag_url = https://app.split.io/org/demo/ws/{workspace_id}/splits/{flag_id}/env/{environment_id}/definition

[project Default]
environment = Production

[links]
jira_field = customfield_10050
jira_create = yes

[jira]
url = $JIRA
email = flagsync-bot@example.com
api_token_file = $T/jira-api-token

; the outputs as built, named by path (a build without test hooks, the
; demo's own, takes no plugin directory from the environment), and so
; granted their credentials by name
[plugin jira]
module = $BUILDDIR/plugins/jira/.libs/jira.so
credentials = jira
property = flagsync.flags
web_links = yes

[plugin split]
module = $BUILDDIR/plugins/split/.libs/split.so
credentials = split
events = link.*
INI

run() {
	printf '\n$ flagsync %s\n' "$*"
	"$FLAGSYNC" -c "$T/flagsync.ini" "$@" || printf '(exit status %d)\n' $?
}

# What Jira shows on an issue: the property and the web links.
jira_issue() {
	printf '\n== Jira issue %s (as the flagsync bot reads it back)\n' "$1"
	curl -sS -u flagsync-bot@example.com:sim-jira-token \
	    "$JIRA/rest/api/3/issue/$1/properties/flagsync.flags" |
	    jq -r '.value | "property flagsync.flags: \(.count) flags, \(.active) active\(if .truncated then " (truncated)" else "" end)",
	        (.flags[] | "  \(.project)/\(.flag): \(if .active then "ON" elif .killed then "KILLED" else "OFF" end), rollout \(.rollout | tojson), saved \(.last_updated)")'
	curl -sS -u flagsync-bot@example.com:sim-jira-token \
	    "$JIRA/rest/api/3/issue/$1/remotelink" |
	    jq -r '.[] | "web link: \(.object.title) — \(.object.summary)\(if .object.status.resolved then " (struck through)" else "" end) → \(.object.url)"'
}

# What Split shows on a flag: its tags and description (the Admin API).
split_flag() {
	ws=$(curl -sS -H 'Authorization: Bearer sim-admin-key' \
	    "$SIM/internal/api/v2/workspaces" |
	    jq -r '.objects[] | select(.name == "Default") | .id')
	curl -sS -H 'Authorization: Bearer sim-admin-key' \
	    "$SIM/internal/api/v2/splits/ws/$ws/$1" |
	    jq -r '"Split flag \(.name): tags \([.tags[]?.name] | join(", ")), description \"\(.description // "")\""'
}

echo "== Split simulator at $SIM, Jira simulator at $JIRA"
echo "== config in $T/flagsync.ini"
run check-config
run sync
run flags
run issue SHOP-1
run issue SHOP-20
jira_issue SHOP-1
jira_issue SHOP-20

printf '\n== in Split: new_checkout rollout 25%% on -> 50%% on, old_banner restored\n'
curl -sS -X POST -H 'Content-Type: application/json' \
    --data '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":50},{"treatment":"off","size":50}]}' \
    "$SIM/_sim/default_rule" >/dev/null
curl -sS -X POST -H 'Content-Type: application/json' \
    --data '{"ws":"Default","flag":"old_banner","killed":false}' \
    "$SIM/_sim/kill" >/dev/null
printf '== in Jira: SHOP-20 now lists search_v2, and checkout_express (no such flag yet)\n'
curl -sS -X PATCH -H 'Content-Type: application/json' \
    --data '{"key":"SHOP-20","fields":{"customfield_10050":"dark_mode, search_v2, checkout_express"}}' \
    "$JIRA/_sim/issue" >/dev/null
curl -sS -X DELETE "$JIRA/_sim/requests" >/dev/null

run sync
printf '\n== Jira calls made by that sync: %s\n' \
    "$(curl -sS "$JIRA/_sim/requests" | jq -r '[.requests[] | "\(.method) \(.path | sub("/rest/api/3/issue/[^/]+"; "/issue/KEY"))"] | group_by(.) | map("\(length) × \(.[0])") | join(", ")')"
run events --since 7
jira_issue SHOP-1
jira_issue SHOP-20
printf '\n== in Split: the flags linked from Jira carry the issue key as a tag\n'
split_flag dark_mode
split_flag search_v2
split_flag checkout_express
run plugins
run status
