#!/bin/sh
# [BINDIR=build/tests/fuzz] seed.sh SRCDIR OUTDIR - writes the seed corpus from the simulators'
# answers (tests/sim), the sample config and links file, and a few records
# the view encoder wrote (from the unit test's views, see below), one
# directory per fuzz target.  The committed corpus is this output merged
# (-merge=1) with what fuzzing found; re-run only to start over.
set -eu
src=$(cd "$1" && pwd)
out=$2
mkdir -p "$out"
out=$(cd "$out" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-seed.XXXXXX")
SPID=; JPID=
trap 'kill $SPID $JPID 2>/dev/null; rm -rf "$T"' EXIT
SEP='
--
'

start() {	# NAME SCRIPT ARGS...
	name=$1; script=$2; shift 2
	python3 "$src/tests/sim/$script" --port 0 --port-file "$T/$name.port" \
	    --quiet "$@" >/dev/null 2>"$T/$name.log" &
	echo $!
}
wait_port() {	# NAME
	n=0
	while [ ! -s "$T/$1.port" ]; do
		n=$((n + 1)); [ $n -lt 200 ] || { cat "$T/$1.log"; exit 1; }
		sleep 0.05
	done
	cat "$T/$1.port"
}
# page FILE STATUS BODY...: one page as fake_http.h reads it.
page() {
	f=$1; status=$2; shift 2
	{ [ "$status" = 200 ] || printf 'HTTP %s\n' "$status"; printf '%s' "$*"; } >>"$f"
}
sep() { printf '%s' "$SEP" >>"$1"; }

SPID=$(start split split_sim.py --generate 12 --seed 3)
JPID=$(start jira jira_sim.py)
S="http://127.0.0.1:$(wait_port split)"
J="http://127.0.0.1:$(wait_port jira)"
A="$S/internal/api/v2"
sget() { curl -sS -H 'Authorization: Bearer sim-admin-key' "$A$1"; }
scode() { curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${2:-sim-admin-key}" "$A$1"; }

ws=$(sget '/workspaces?name=Default' | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"][0]["id"])')

d=$out/split_flags; mkdir -p "$d"
page "$d/one-page" 200 "$(sget "/splits/ws/$ws?offset=0&limit=50")"
f=$d/three-pages
for o in 0 5 10; do
	[ $o = 0 ] || sep "$f"
	page "$f" 200 "$(sget "/splits/ws/$ws?offset=$o&limit=5")"
done
page "$d/unauthorized" 401 "$(curl -sS -H 'Authorization: Bearer nope' "$A/splits/ws/$ws")"
page "$d/not-found" 404 "$(sget "/splits/ws/nope")"
f=$d/rate-limited
page "$f" 429 "X-RateLimit-Reset-Seconds-Org: 0.5
{\"code\":429,\"message\":\"rate limit\"}"; sep "$f"
page "$f" 503 "upstream down"; sep "$f"
page "$f" 200 "$(sget "/splits/ws/$ws?offset=0&limit=50")"

d=$out/split_defs; mkdir -p "$d"
page "$d/one-page" 200 "$(sget "/splits/ws/$ws/environments/Production?offset=0&limit=50")"
f=$d/three-pages
for o in 0 4 8; do
	[ $o = 0 ] || sep "$f"
	page "$f" 200 "$(sget "/splits/ws/$ws/environments/Production?offset=$o&limit=4")"
done
page "$d/not-found" 404 "$(sget "/splits/ws/$ws/environments/nope")"

d=$out/jira_search; mkdir -p "$d"
jset() { curl -sS -X POST "$J/_sim/issue" --data "$1" >/dev/null; }
jset '{"key":"SHOP-1","fields":{"summary":"a","labels":["new_checkout"],"customfield_10050":"new_checkout, dark_mode"}}'
jset '{"key":"SHOP-2","fields":{"summary":"b","customfield_10050":[{"value":"flag_00001"},{"value":"flag_00002"}]}}'
jset '{"key":"SHOP-3","fields":{"summary":"c","customfield_10050":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"flag_00003 and"},{"type":"hardBreak"},{"type":"text","text":"flag_00004"}]}]}}}'
jset '{"key":"OPS-7","fields":{"summary":"d","customfield_10050":["x",{"name":"y"},3]}}'
jsearch() {	# MAXRESULTS [TOKEN]
	tok=${2:+,\"nextPageToken\":\"$2\"}
	curl -sS -u flagsync-bot@example.com:sim-jira-token \
	    -H 'Content-Type: application/json' -X POST "$J/rest/api/3/search/jql" \
	    --data "{\"jql\":\"cf[10050] is not EMPTY ORDER BY key ASC\",\"fields\":[\"customfield_10050\",\"labels\"],\"maxResults\":$1$tok}"
}
page "$d/one-page" 200 "$(jsearch 100)"
f=$d/two-pages
p1=$(jsearch 2)
tok=$(printf '%s' "$p1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("nextPageToken",""))')
page "$f" 200 "$p1"; sep "$f"; page "$f" 200 "$(jsearch 2 "$tok")"
page "$d/unauthorized" 401 "$(curl -sS -u x@example.com:bad -H 'Content-Type: application/json' -X POST "$J/rest/api/3/search/jql" --data '{"jql":"x"}')"
page "$d/bad-jql" 400 "$(curl -sS -u flagsync-bot@example.com:sim-jira-token -H 'Content-Type: application/json' -X POST "$J/rest/api/3/search/jql" --data '{"jql":"cf[ is"}')"
f=$d/retry-after
page "$f" 429 "Retry-After: 1
"; sep "$f"; page "$f" 503 "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT
"; sep "$f"; page "$f" 200 "$(jsearch 100)"

d=$out/jira_field; mkdir -p "$d"
printf '"new_checkout, dark_mode\\tx"' >"$d/string"
printf '["new_checkout","dark_mode"]' >"$d/labels"
printf '[{"value":"a"},{"name":"b"},{"id":"1"},2,null]' >"$d/options"
printf '{"value":"one"}' >"$d/option"
curl -sS -u flagsync-bot@example.com:sim-jira-token "$J/rest/api/3/issue/SHOP-3?fields=customfield_10050" |
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["fields"]["customfield_10050"]))' >"$d/adf"
printf 'customfield_10050\000project = SHOP' >"$d/jql-custom"
printf 'Flag names\000' >"$d/jql-quoted"

d=$out/config; mkdir -p "$d"
cp "$src/conf/flagsync.ini" "$d/sample"
cat >"$d/full" <<EOI
[agent]
state_dir = /tmp/x
interval = 30
jitter = 5
log_level = debug
retention = 30d
deliver_timeout = 10
[split]
api_url = $A
admin_key = k
flag_url = https://app.split.io/{workspace_id}/{flag_id}/{environment_id}/{flag}
max_rps = 2.5
timeout = 5
[project Default]
environment = Production
[project Mobile]
environment = Staging
[links]
tags = yes
description = no
issue_key_pattern = [A-Z]+-[0-9]+
file = /etc/flagsync/links.yaml
jira_field = customfield_10050
jql = project = SHOP
[jira]
url = $J
email = a@example.com
api_token = t
timeout = 7
[plugin file]
path = /tmp/events.jsonl
events = flag.*
timeout = 3
EOI

d=$out/linksfile; mkdir -p "$d"
cp "$src/conf/links.yaml" "$d/sample"
cat >"$d/full" <<'EOY'
links:
  - flag: new_checkout
    project: Default
    issues: [SHOP-1, SHOP-7]
  - flag: dark_mode
    project: Mobile
    issues:
      - OPS-12
  - {flag: "quoted", project: 'Default', issues: ["ABC-1"]}
EOY
printf 'links:\n  - flag: x\n    issues: [A-1]\n' >"$d/no-project"

# The view_record seeds: the records of the views made from the
# definitions above, written by a fuzz_split_defs run (fuzz_common.c)
# when the fuzz build's directory is given as BINDIR.
if [ -n "${BINDIR:-}" ]; then
	d=$out/view_record; mkdir -p "$d"
	FUZZ_RECORD_DIR=$d "$BINDIR/fuzz_split_defs" -runs=0 \
	    "$out/split_defs" >/dev/null 2>&1
	FUZZ_RECORD_DIR=$d "$BINDIR/fuzz_split_flags" -runs=0 \
	    "$out/split_flags" >/dev/null 2>&1
fi
