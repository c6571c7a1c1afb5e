#!/bin/sh
# The demo: the real flagsync agent against the bundled Split simulator.
# Installs what it needs (Debian 12, apt-get), builds, then: sync, list
# flags, show an issue's flags, change a rollout in "Split", sync again,
# show the events.  Everything runs in a temporary directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tests/deps.sh
if [ ! -x build/plain/flagsync ]; then
	echo "== building flagsync"
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1
	mkdir -p build/plain
	(cd build/plain && "$top/configure" -q && make -j2 >/dev/null)
fi
FLAGSYNC=$top/build/plain/flagsync

T=$(mktemp -d "${TMPDIR:-/tmp}/flagsync-demo.XXXXXX")
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; rm -rf "$T"' EXIT

python3 tests/sim/split_sim.py --port 0 --port-file "$T/port" --quiet \
    --state tests/integration/base-state.json 2>/dev/null &
SIM_PID=$!
while [ ! -s "$T/port" ]; do sleep 0.1; done
SIM=http://127.0.0.1:$(cat "$T/port")

printf 'sim-admin-key\n' >"$T/split-admin-key"
chmod 600 "$T/split-admin-key"
cat >"$T/flagsync.ini" <<INI
[agent]
state_dir = $T/state

[split]
api_url = $SIM/internal/api/v2
admin_key_file = $T/split-admin-key
flag_url = https://app.split.io/org/demo/ws/{workspace_id}/splits/{flag_id}/env/{environment_id}/definition

[project Default]
environment = Production
INI

run() {
	printf '\n$ flagsync %s\n' "$*"
	"$FLAGSYNC" -c "$T/flagsync.ini" "$@"
}

echo "== Split simulator at $SIM, config in $T/flagsync.ini"
run check-config
run sync
run flags
run issue SHOP-1
run flag new_checkout

printf '\n== in Split: new_checkout rollout 25%% on -> 50%% on, old_banner restored\n'
curl -sS -X POST -H 'Content-Type: application/json' \
    --data '{"ws":"Default","flag":"new_checkout","default_rule":[{"treatment":"on","size":50},{"treatment":"off","size":50}]}' \
    "$SIM/_sim/default_rule" >/dev/null
curl -sS -X POST -H 'Content-Type: application/json' \
    --data '{"ws":"Default","flag":"old_banner","killed":false}' \
    "$SIM/_sim/kill" >/dev/null

run sync
run events --since 6
run issue SHOP-1
run status
