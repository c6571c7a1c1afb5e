#!/bin/sh
# bench_jira.sh - figures for the jira output plugin (the Jira
# writer), against the unthrottled Split and Jira simulators.
#
#   tests/bench/bench_jira.sh [FLAGSYNC-BINARY]
#
# The jira plugin is taken from the binary's build tree
# (dirname BINARY)/plugins/jira/.libs/jira.so and found through
# $FLAGSYNC_PLUGIN_DIR.  Prints figures; it asserts nothing.
#
# Target: bringing 1,000 changed flags x 3 issues each up to date costs
# one property write per affected issue per cycle and one web-link call
# per changed (issue, flag) pair.
#
# The account: 1,000 flags bench_0000..bench_0999 in workspace Default,
# each with a Production definition and three issue keys as tags, over
# 1,500 issues BENCH-1..BENCH-1500, so that every issue carries exactly
# two flags and the plugin has to deal with shared issues:
#   - flag i < 500 is tagged with issues 3i, 3i+1, 3i+2 (0-based), which
#     covers each issue once;
#   - flag 500+i is tagged with p(3i), p(3i+1), p(3i+2), where
#     p(j) = (7j + 1) mod 1500 is a permutation: each issue once more,
#     paired with a flag of the first half that shares no other issue
#     with it in general.
# All 1,500 issues are created in the Jira simulator with one
# POST /_sim/state.  Both simulators run unthrottled; the agent has
# max_rps = 0 and deliver_timeout = 600.
#
# 1. Baseline: the first `flagsync sync` (1,000 flag.created and 3,000
#    link.added events) writes every property and web link.  A
#    link.added event names its issue and also lists the flag's issues,
#    so the naive count there is about 9,000 issue touches.
# 2. Change: every flag's Production default rule goes from on 25 / off 75
#    to on 50 / off 50 in one POST /_sim/state (the dumped state with
#    defaultRule and lastUpdateTime changed), the Jira request log is
#    cleared, and a second sync delivers 1,000 flag.rollout_changed
#    events.  Each event touches 3 issues and each issue is touched by 2
#    events: a plugin that wrote every touched issue would make 3,000
#    property PUTs; the target is 1,500 (one per affected issue) and
#    3,000 link POSTs (one per changed pair).
# 3. A third sync with no change: its Jira calls (expect 0 from the
#    output).
#
# Every sync also reads the Jira status of every linked issue (flagsync(8)):
# "key in (...)" searches of up to 100 keys.  Target: ceil(linked issues /
# 100) requests a cycle, 15 for these 1,500 issues.  Those searches are
# counted apart from the output's calls ("status searches"), with the keys
# each named and the simulator's time answering them.
#
# Jira calls come from the Jira simulator's request log, by kind:
# property PUT/DELETE, remotelink POST/DELETE, other.  Per sync: its wall
# time and CPU (GNU time), the "Jira span" from its first to its last
# Jira request (the delivery itself, without the poll and start-up),
# events made and delivered (how far the jira cursor moved), affected
# issues and changed (issue, flag) pairs (from the events), property
# writes per affected issue and web-link calls per changed pair, and how
# many issues or pairs got more than one call.  The plugin sends one
# request at a time over one connection and the Jira simulator is
# Python, so much of the span is the simulator's answer time: compare
# it with the sync's CPU time.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/build/plain/flagsync}
[ -x "$bin" ] || { echo "no flagsync binary at $bin (build first)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
so=$(dirname "$bin")/plugins/jira/.libs/jira.so
[ -f "$so" ] || { echo "no jira plugin at $so (build first)" >&2; exit 1; }
for c in jq python3 curl; do
	command -v $c >/dev/null ||
	    { echo "bench_jira.sh needs $c" >&2; exit 1; }
done

NFLAGS=1000
NISSUES=1500

T=$(mktemp -d "${TMPDIR:-/tmp}/flagsync-bench.XXXXXX")
SIM_PID=
JIRA_PID=
trap '[ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null
      [ -n "$JIRA_PID" ] && kill $JIRA_PID 2>/dev/null; rm -rf "$T"' EXIT
# a signal (^C, a closed pipe) still stops the simulators
trap 'exit 1' HUP INT PIPE TERM

mkdir "$T/plugins"
ln -s "$so" "$T/plugins/jira.so"
FLAGSYNC_PLUGIN_DIR=$T/plugins
export FLAGSYNC_PLUGIN_DIR
printf 'sim-admin-key\n' >"$T/key"; chmod 600 "$T/key"
printf 'sim-jira-token\n' >"$T/jira-token"; chmod 600 "$T/jira-token"

now() { date +%s.%N; }
row() { printf '%-9s %-46s %s\n' "$@"; }
die() { echo "bench_jira.sh: $*" >&2; exit 1; }

# start SCRIPT PORT-FILE: a simulator on a free loopback port; its pid
# in $started.
start() {
	python3 "$top/tests/sim/$1" --port 0 --port-file "$2" --quiet \
	    2>/dev/null &
	started=$!
	i=0
	while [ ! -s "$2" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && die "$1 did not start"
		sleep 0.1
	done
}

# The Split account, as a simulator state.
python3 - "$NFLAGS" "$NISSUES" >"$T/split-state.json" <<'PY'
import json, sys

nflags, nissues = int(sys.argv[1]), int(sys.argv[2])
half = nflags // 2
t0 = 1700000000000


def issues_of(i):
    if i < half:
        js = [3 * i + k for k in range(3)]
    else:
        js = [(7 * (3 * (i - half) + k) + 1) % nissues for k in range(3)]
    return ["BENCH-%d" % (j + 1) for j in js]


flags = []
for i in range(nflags):
    flags.append({
        "id": "f%07d-0000-4000-8000-000000000000" % i,
        "name": "bench_%04d" % i,
        "description": "",
        "tags": issues_of(i),
        "creationTime": t0 + 1000 * i,
        "trafficType": {"id": "tt-user", "name": "user"},
        "rolloutStatus": {"id": "rs-pre", "name": "Pre-Production"},
        "rolloutStatusTimestamp": t0,
        "owners": [],
        "definitions": {"env-prod": {
            "killed": False,
            "treatments": [{"name": "on"}, {"name": "off"}],
            "defaultTreatment": "off",
            "defaultRule": [{"treatment": "on", "size": 25},
                            {"treatment": "off", "size": 75}],
            "lastUpdateTime": t0 + 1000 * i + 500}},
    })
json.dump({"keys": {"sim-admin-key": {"workspaces": "*",
                                      "environments": "*"}},
           "workspaces": [{
               "id": "ws-default", "name": "Default",
               "environments": [{"id": "env-prod", "name": "Production",
                                 "production": True}],
               "flags": flags}]}, sys.stdout)
PY
python3 - "$NISSUES" >"$T/jira-state.json" <<'PY'
import json, sys

n = int(sys.argv[1])
json.dump({"issues": [{"key": "BENCH-%d" % k,
                       "fields": {"summary": "bench issue %d" % k}}
                      for k in range(1, n + 1)]}, sys.stdout)
PY

start split_sim.py "$T/split.port"; SIM_PID=$started
start jira_sim.py "$T/jira.port"; JIRA_PID=$started
SURL="http://127.0.0.1:$(cat "$T/split.port")"
JURL="http://127.0.0.1:$(cat "$T/jira.port")"

post() {	# URL FILE
	curl -sS -f -X POST -H 'Content-Type: application/json' \
	    --data-binary "@$2" "$1" >/dev/null || die "POST $1 failed"
}
post "$SURL/_sim/state" "$T/split-state.json"
post "$JURL/_sim/state" "$T/jira-state.json"

cat >"$T/flagsync.ini" <<INI
[agent]
state_dir = $T/state
log_level = warning
deliver_timeout = 600

[split]
api_url = $SURL/internal/api/v2
admin_key_file = $T/key
flag_url = https://app.split.io/org/bench/ws/{workspace_id}/splits/{flag_id}/env/{environment_id}/definition
max_rps = 0

[project Default]
environment = Production

[jira]
url = $JURL
email = flagsync-bot@example.com
api_token_file = $T/jira-token

[plugin jira]
events = *
INI
fs() { "$bin" -c "$T/flagsync.ini" "$@"; }
# The newest event's seq, 0 before the first sync made the cache.
last_seq() {
	s=$(fs status --json 2>/dev/null | jq '.events.last // 0')
	echo "${s:-0}"
}
cursor() {
	c=$(fs plugins --json 2>/dev/null |
	    jq '.[] | select(.name == "jira") | .cursor // 0')
	echo "${c:-0}"
}

# timed_sync NAME: one `flagsync sync` after clearing the Jira request
# log; leaves "wall user sys maxrss_kb" in $T/NAME.time (GNU time; "-"
# for what plain date cannot tell), how far the jira cursor moved in
# $T/NAME.delivered, the log in $T/NAME.req and the events the sync made
# in $T/NAME.ev.
timed_sync() {
	curl -sS -f -X DELETE "$JURL/_sim/requests" >/dev/null ||
	    die "cannot clear the Jira request log"
	seq0=$(last_seq)
	cur0=$(cursor)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%e %U %S %M' -o "$T/$1.gnutime" \
		    "$bin" -c "$T/flagsync.ini" sync >/dev/null 2>"$T/$1.err"
		rc=$?
		# a failing command adds a line in front
		tail -n 1 "$T/$1.gnutime" >"$T/$1.time"
	else
		a=$(now)
		fs sync >/dev/null 2>"$T/$1.err"
		rc=$?
		b=$(now)
		echo "$a $b" | awk '{ printf "%.2f - - -\n", $2 - $1 }' \
		    >"$T/$1.time"
	fi
	echo $(($(cursor) - cur0)) >"$T/$1.delivered"
	[ $rc -eq 0 ] || { echo "sync ($1) exited $rc:" >&2; cat "$T/$1.err" >&2; }
	curl -sS -f "$JURL/_sim/requests" >"$T/$1.req" ||
	    die "cannot read the Jira request log"
	fs events --json | jq -c --argjson s "$seq0" 'select(.seq > $s)' \
	    >"$T/$1.ev"
}

# How many linked issues the last sync's status read covered.
linked_read() {
	fs status --json | jq '[.sources[] | select(.source == "jira-status") |
	    .issues][0] // 0'
}

# report NAME: the figures of one timed sync.
report() {
	read -r wall user sys rss <"$T/$1.time"
	python3 - "$1" "$T/$1.ev" "$T/$1.req" "$(cat "$T/$1.delivered")" \
	    "$wall" "$user" "$sys" "$rss" "$(linked_read)" <<'PY'
import collections, json, re, sys

name, evfile, reqfile, delivered, wall, user, sys_, rss, linked = \
    sys.argv[1:10]
events = [json.loads(l) for l in open(evfile) if l.strip()]
reqs = json.load(open(reqfile))["requests"]


def row(fig, val):
    print("%-9s %-46s %s" % (name, fig, val))


types = collections.Counter(e["type"] for e in events)
touched = collections.Counter()     # issue -> events that touch it
pairs = set()
for e in events:
    iss = set(e.get("issues") or [])
    if e.get("issue"):
        iss.add(e["issue"])
    for k in iss:
        touched[k] += 1
        pairs.add((k, e.get("project"), e.get("flag")))

PROP = re.compile(r"/issue/([^/]+)/properties/[^/]+$")
LINK = re.compile(r"/issue/([^/]+)/remotelink$")
kinds = collections.Counter()
prop_by_issue = collections.Counter()
link_by_pair = collections.Counter()
bad = collections.Counter()
status_keys = []
status_ms = 0
for r in reqs:
    m, p = r["method"], r["path"]
    if m == "PUT" and PROP.search(p):
        kinds["property PUT"] += 1
        prop_by_issue[PROP.search(p).group(1)] += 1
    elif m == "DELETE" and PROP.search(p):
        kinds["property DELETE"] += 1
        prop_by_issue[PROP.search(p).group(1)] += 1
    elif m == "POST" and LINK.search(p):
        kinds["remotelink POST"] += 1
        gid = (r.get("body") or {}).get("globalId")
        link_by_pair[(LINK.search(p).group(1), gid)] += 1
    elif m == "POST" and p.endswith("/search/jql") and \
            ((r.get("body") or {}).get("jql") or "").startswith("key in ("):
        kinds["status search"] += 1
        status_keys.append(len(re.findall(r'"[^"]*"',
                                          r["body"]["jql"])))
        status_ms += r.get("duration_ms") or 0
    elif m == "DELETE" and LINK.search(p):
        kinds["remotelink DELETE"] += 1
        link_by_pair[(LINK.search(p).group(1), r.get("query"))] += 1
    else:
        kinds["other"] += 1
    if not 200 <= r["status"] < 300:
        bad[r["status"]] += 1

row("sync wall", "%s s" % wall)
if user != "-":
    row("sync CPU user + sys / peak RSS", "%.2f s / %.1f MB" % (
        float(user) + float(sys_), int(rss) / 1024))
if reqs:
    span = reqs[-1]["time"] - reqs[0]["time"]
    row("Jira span (first->last request)", "%.3f s" % span)
    if span > 0:
        row("Jira requests/s over the span", "%.0f" % (len(reqs) / span))
row("events made / delivered (jira cursor moved)",
    "%d / %s" % (len(events), delivered))
if types:
    row("event types", ", ".join("%s x%d" % kv for kv in sorted(types.items())))
row("Jira requests", "%d (%s)" % (len(reqs), ", ".join(
    "%s %d" % (k, kinds[k]) for k in ("property PUT", "property DELETE",
                                      "remotelink POST", "remotelink DELETE",
                                      "status search", "other"))))
linked = int(linked)
row("issue status: searches / linked issues read",
    "%d / %d (target ceil(%d/100) = %d)" % (
        kinds["status search"], linked, linked, (linked + 99) // 100))
if status_keys:
    row("issue status: keys a search / simulator time",
        "%d..%d / %.0f ms in all" % (min(status_keys), max(status_keys),
                                     status_ms))
row("Jira answers not 2xx", "none" if not bad else
    ", ".join("%s x%d" % kv for kv in sorted(bad.items())))
if not events:
    sys.exit(0)
aff = len(touched)
row("affected issues / changed issue-flag pairs", "%d / %d" % (aff, len(pairs)))
row("event->issue touches (naive property writes)",
    "%d (%.2f per affected issue)" % (sum(touched.values()),
                                      sum(touched.values()) / aff))
props = sum(prop_by_issue.values())
many = sorted(k for k, n in prop_by_issue.items() if n > 1)
row("property writes per affected issue",
    "%.3f (%d writes; target 1.0)" % (props / aff, props))
row("issues written more than once / never",
    "%d / %d" % (len(many), len(set(touched) - set(prop_by_issue))))
if many:
    row("e.g.", ", ".join("%s x%d" % (k, prop_by_issue[k]) for k in many[:5]))
links = sum(link_by_pair.values())
row("web-link calls per changed pair",
    "%.3f (%d calls; target 1.0)" % (links / len(pairs), links))
row("pairs with more than one link call",
    "%d" % sum(1 for n in link_by_pair.values() if n > 1))
PY
}

jira_state() {
	fs plugins --json | jq -r '.[] | select(.name == "jira") |
	    "backlog \(.backlog), dead letters \(.dead_letters), cursor \(.cursor)"'
}

row "part" "figure" "value"
row host "cpus / load average" "$(nproc) / $(cut -d' ' -f1-3 /proc/loadavg)"
row account "flags / issues / issues a flag / flags an issue" \
    "$NFLAGS / $NISSUES / 3 / $((NFLAGS * 3 / NISSUES))"

# ------------------------------------------------------------ baseline
timed_sync baseline
report baseline
row baseline "plugin after the sync" "$(jira_state)"

# ------------------------------------------------------------ change
# Every default rule changes in one state load: dump, edit, load back.
curl -sS -f "$SURL/_sim/state" >"$T/dump.json" || die "cannot dump the Split state"
python3 - "$T/dump.json" >"$T/split-state2.json" <<'PY'
import json, sys, time

st = json.load(open(sys.argv[1]))
now = int(time.time() * 1000)
for ws in st["workspaces"]:
    for f in ws["flags"]:
        for d in f["definitions"].values():
            d["defaultRule"] = [{"treatment": "on", "size": 50},
                                {"treatment": "off", "size": 50}]
            d["lastUpdateTime"] = max(now, d["lastUpdateTime"] + 1)
json.dump(st, sys.stdout)
PY
post "$SURL/_sim/state" "$T/split-state2.json"
timed_sync change
report change
row change "plugin after the sync" "$(jira_state)"

# ------------------------------------------------------------ no change
timed_sync nochange
report nochange
row nochange "plugin after the sync" "$(jira_state)"

# The end state, checked on one issue, for the eye: both flags at 50%.
row check "BENCH-1 property: count, flags" \
    "$(curl -sS "$JURL/_sim/issue?key=BENCH-1" | jq -c '.properties["flagsync.flags"] | [.count, [.flags[] | .flag]]')"
row check "BENCH-1 web links" \
    "$(curl -sS "$JURL/_sim/issue?key=BENCH-1" | jq -c '[.remotelinks[].object.summary]')"
