#!/bin/sh
# The local HTTP surface, with the real daemon over loopback and
# curl as the client: /healthz follows the health of the sources and the
# outputs, /metrics is valid Prometheus text whose figures are those of
# `status --json`, /v1/* answers with the CLI's --json bytes, the bearer
# token guards /v1/ only, and requests that are too large or too slow are
# dropped while polling goes on.
. "$SRCDIR/tests/integration/lib.sh"

export FLAGSYNC_TEST_BACKOFF_MS=20
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM

DPID=
CPIDS=
http_cleanup() {
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
	for p in $CPIDS; do kill "$p" 2>/dev/null; done
	cleanup
}
trap http_cleanup EXIT

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_until() {
	local n=$(($1 * 10)); shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -le 0 ] && return 1
		sleep 0.1
	done
}
log_has() { grep -Eq -- "$1" "$T/daemon.log"; }
polls() { grep -c "project 'Default' (Production)" "$T/daemon.log"; }
polls_above() { [ "$(polls)" -gt "$1" ]; }

daemon_start() {
	: >"$T/daemon.log"
	( exec "$FLAGSYNC" -c "$T/flagsync.ini" run >>"$T/daemon.log" 2>&1 ) &
	DPID=$!
	if ! wait_until 30 log_has 'http: listening on 127\.0\.0\.1:[0-9]+'; then
		echo "Bail out! the daemon did not start its HTTP server"
		cat "$T/daemon.log" >&2
		exit 1
	fi
	PORT=$(sed -n 's/.*http: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$T/daemon.log" | tail -1)
	URL="http://127.0.0.1:$PORT"
}
daemon_stop() {
	kill -TERM "$DPID"
	wait_until 20 sh -c "! kill -0 $DPID 2>/dev/null" || kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
}

# get PATH [CURL ARGS...]: the body; the status code goes to $T/code.
get() {
	local p=$1; shift
	curl -sS -o "$T/body" -w '%{http_code}' "$@" "$URL$p" >"$T/code"
	cat "$T/body"
}
code() { cat "$T/code"; }
healthz_is() { get /healthz >/dev/null; [ "$(code)" = "$1" ]; }

sim_start --state "$SRCDIR/tests/integration/base-state.json"
plugin_dir_setup
write_config "
[plugin audit]
module = file
path = $T/audit.jsonl

[findings]

[http]
listen = 127.0.0.1:0"
sed -i 's/^log_level = info$/log_level = info\ninterval = 1\njitter = 0/' \
    "$T/flagsync.ini"

check_match "check-config names the HTTP address" \
    '^  http        127\.0\.0\.1:0 \(served by run\)$' "$(fs check-config)"

# ---------------------------------------------------------------- health
daemon_start
check_match "the daemon logs the port it bound" \
    "http: listening on 127\.0\.0\.1:[1-9][0-9]*$" "$(grep 'http:' "$T/daemon.log")"
check "/healthz answers 200 once every source has succeeded" \
    wait_until 30 healthz_is 200
body=$(get /healthz)
check_eq "... with the status document: healthy" true \
    "$(printf '%s' "$body" | jq .healthy)"
check_eq "... the same sources as status --json" \
    "$(fs status --json | jq -c '[.sources[].source]')" \
    "$(printf '%s' "$body" | jq -c '[.sources[].source]')"
check_eq "... as JSON" "application/json" \
    "$(curl -sS -o /dev/null -w '%{content_type}' "$URL/healthz")"

sim POST fault '{"match":".","kind":"status","status":503,"count":-1}' >/dev/null
start=$(date +%s)
check "Split down for 3 intervals: /healthz answers 503" \
    wait_until 60 healthz_is 503
took=$(($(date +%s) - start))
check "... not at once: $took s after Split went down" test "$took" -ge 2
body=$(get /healthz)
check_match "... the body says why" \
    '^split:Default: last succeeded [0-9]+ s ago \(more than 3 x interval = 3 s\)$' \
    "$(printf '%s' "$body" | jq -r '.problems[]')"
check_eq "... and healthy: false" false "$(printf '%s' "$body" | jq .healthy)"
sim DELETE fault >/dev/null
check "Split back: /healthz answers 200 again" wait_until 60 healthz_is 200

# ---------------------------------------------------------------- metrics
# A strict reader of the text format 0.0.4: every line a HELP, a TYPE or a
# sample; one HELP and TYPE per family, before its samples, which stand
# together; names and labels well-formed, label values escaped; counters
# end in _total; values are numbers.  Prints "name{labels} value" lines
# with labels sorted, for the comparisons below.
cat >"$T/promcheck.py" <<'PY'
import re, sys
NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
VALUE = r'"((?:[^"\\\n]|\\[\\"n])*)"'
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}
def fail(n, line, why):
    sys.exit('line %d: %s: %r' % (n, why, line))
text = sys.stdin.read()
if not text.endswith('\n'):
    sys.exit('the exposition must end with a line feed')
helps, types, done, cur, out = {}, {}, set(), None, []
for n, line in enumerate(text[:-1].split('\n'), 1):
    m = re.fullmatch(r'# (HELP|TYPE) (%s) (.*)' % NAME, line)
    if m:
        kind, name, rest = m.groups()
        seen = helps if kind == 'HELP' else types
        if name in seen: fail(n, line, 'second ' + kind)
        if name in done: fail(n, line, kind + ' after the samples')
        if kind == 'TYPE' and rest not in TYPES: fail(n, line, 'bad type')
        if kind == 'TYPE' and rest == 'counter' and not name.endswith('_total'):
            fail(n, line, 'a counter not named *_total')
        if kind == 'HELP' and not rest.strip(): fail(n, line, 'empty HELP')
        seen[name] = rest
        continue
    if line.startswith('#') or not line.strip():
        fail(n, line, 'neither a HELP, a TYPE nor a sample')
    m = re.fullmatch(r'(%s)(\{(.*)\})? (\S+)' % NAME, line)
    if not m: fail(n, line, 'malformed sample')
    name, _, labels, value = m.groups()
    if not name.startswith('flagsync_'): fail(n, line, 'no flagsync_ prefix')
    if name not in types or name not in helps:
        fail(n, line, 'sample before its HELP and TYPE')
    if cur != name:
        if name in done: fail(n, line, 'family samples not together')
        if cur: done.add(cur)
        cur = name
    pairs = []
    if labels is not None:
        rest = labels
        while rest:
            m2 = re.match(r'(%s)=%s(,|$)' % (LABEL, VALUE), rest)
            if not m2: fail(n, line, 'malformed labels')
            pairs.append((m2.group(1), m2.group(2)))
            rest = rest[m2.end():]
        if len({k for k, _ in pairs}) != len(pairs):
            fail(n, line, 'a label twice')
    try:
        float(value)
    except ValueError:
        fail(n, line, 'value is not a number')
    key = name + '{' + ','.join('%s=%s' % p for p in sorted(pairs)) + '}'
    out.append('%s %s' % (key, value))
for name in types:
    if name not in helps: sys.exit('TYPE without HELP: ' + name)
print('\n'.join(out))
PY
# metric NAME{LABELS}: its value in $T/metrics.txt
metric() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.txt"; }
delivered() {
	[ "$(fs status --json | jq '.plugins[0].backlog')" = 0 ]
}
wait_until 30 delivered
# the daemon polls every second: the success time may move between reads
last_ok() {
	printf '%s' "$1" | jq -r '.sources[] | select(.source == "split:Default") | .last_ok | fromdateiso8601'
}
ok_before=$(last_ok "$(fs status --json)")
get /metrics >"$T/metrics.raw"
check_eq "/metrics answers 200" 200 "$(code)"
check_eq "... as text/plain version 0.0.4" \
    "text/plain; version=0.0.4; charset=utf-8" \
    "$(curl -sS -o /dev/null -w '%{content_type}' "$URL/metrics")"
if python3 "$T/promcheck.py" <"$T/metrics.raw" >"$T/metrics.txt" 2>"$T/promcheck.err"
then ok "/metrics parses as the Prometheus text format"
else not_ok "/metrics parses as the Prometheus text format"
	diag "$(cat "$T/promcheck.err")"; fi
st=$(fs status --json)
j() { printf '%s' "$st" | jq -r "$1"; }
check_eq "flags by state match status --json" \
    "$(j '"\(.flags.active) \(.flags.killed) \(.flags.undefined)"')" \
    "$(metric 'flagsync_flags{state=active}') $(metric 'flagsync_flags{state=killed}') $(metric 'flagsync_flags{state=undefined}')"
check_eq "links and issues match" "$(j '"\(.links) \(.issues)"')" \
    "$(metric 'flagsync_links{}') $(metric 'flagsync_issues{}')"
check_eq "events_total is the last seq" "$(j .events.last)" \
    "$(metric 'flagsync_events_total{}')"
check_eq "events by type match" \
    "$(j '.events.by_type | to_entries | map("\(.key)=\(.value)") | sort | join(",")')" \
    "$(awk -F'[{}= ]' '$1 == "flagsync_events_retained" { print $3 "=" $5 }' "$T/metrics.txt" | sort | paste -sd, -)"
check_eq "the output's cursor, backlog, dead letters and restarts match" \
    "$(j '.plugins[0] | "\(.cursor) \(.backlog) \(.dead_letters) \(.restarts)"')" \
    "$(metric 'flagsync_output_cursor{output=audit}') $(metric 'flagsync_output_backlog{output=audit}') $(metric 'flagsync_output_dead_letters{output=audit}') $(metric 'flagsync_output_restarts_total{output=audit}')"
check_eq "the output's state" "$(j '.plugins[0].state')" \
    "$(awk -F'[{}",=]+' '$1 == "flagsync_output_state" && $3 == "audit" { print $5 }' "$T/metrics.txt")"
m=$(metric 'flagsync_source_last_success_timestamp_seconds{source=split:Default}')
ok_after=$(last_ok "$st")
check "per source last success time (status said $ok_before, then $ok_after; /metrics between them: $m)" \
    test "$ok_before" -le "${m:-0}" -a "${m:-0}" -le "$ok_after"
check_match "per source poll duration" '^[0-9]+\.[0-9]{3}$' \
    "$(metric 'flagsync_source_poll_duration_seconds{source=split:Default}')"
check "Admin API requests answered 200 are counted" \
    test "$(metric 'flagsync_http_requests_total{api=admin,code=200}')" -gt 0
check "... and the 503s of the outage" \
    test "$(metric 'flagsync_http_requests_total{api=admin,code=503}')" -gt 0
check_eq "429 waits by API" "0 0 0" \
    "$(metric 'flagsync_ratelimit_waits_total{api=admin}') $(metric 'flagsync_ratelimit_waits_total{api=sdk}') $(metric 'flagsync_ratelimit_waits_total{api=jira}')"
check_nomatch "/metrics names no flag or issue" "new_checkout|SHOP-" \
    "$(cat "$T/metrics.raw")"
check_eq "open findings by type, as status --json counts them" \
    "$(j '.findings_open.unlinked') $(j '.findings_open["killed-long"]')" \
    "$(metric 'flagsync_findings_open{type=unlinked}') $(metric 'flagsync_findings_open{type=killed-long}')"
check_eq "... and as findings --open lists them" \
    "$(fs findings --open --json | jq '[.[] | select(.finding == "unlinked")] | length')" \
    "$(metric 'flagsync_findings_open{type=unlinked}')"

# conf/: the Grafana dashboard and the alert rules name only metrics that
# /metrics has.
missing=
for n in $(cat "$SRCDIR/conf/grafana-flagsync.json" \
    "$SRCDIR/conf/flagsync-alerts.yml" | grep -o 'flagsync_[a-z_]*' | sort -u); do
	grep -q "^# TYPE $n " "$T/metrics.raw" || missing="$missing $n"
done
check_eq "the dashboard and the alert rules use /metrics' names" "" "$missing"
panels_ok() {
	jq -e '.panels | length > 0' "$SRCDIR/conf/grafana-flagsync.json" >/dev/null
}
check "the dashboard is JSON with panels" panels_ok
if python3 -c 'import yaml' 2>/dev/null; then
	check "the alert rules are YAML: groups of rules with expr" python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert all(r["expr"] and r["alert"] for g in d["groups"] for r in g["rules"])
' "$SRCDIR/conf/flagsync-alerts.yml"
else
	ok "the alert rules are YAML # SKIP no python3-yaml"
fi

# ---------------------------------------------------------------- /v1
same() {	# same DESCRIPTION PATH CLI-ARGS...
	local desc=$1 p=$2; shift 2
	get "$p" >"$T/http.out"
	fs --json "$@" >"$T/cli.out" 2>/dev/null
	if cmp -s "$T/http.out" "$T/cli.out" && [ -s "$T/cli.out" ]; then
		ok "$desc"
	else
		not_ok "$desc"; diag "GET $p: $(code)" "$(diff "$T/cli.out" "$T/http.out" | head -5)"
	fi
}
same "/v1/flags is flags --json, byte for byte" /v1/flags flags
same "/v1/flags?project=Default is flags --project Default" \
    "/v1/flags?project=Default" flags --project Default
same "/v1/flags/Default/new_checkout is flag new_checkout --json" \
    /v1/flags/Default/new_checkout flag new_checkout --project Default
same "/v1/issues/SHOP-1 is issue SHOP-1 --json" /v1/issues/SHOP-1 issue SHOP-1
same "/v1/events is events --json" /v1/events events
same "/v1/events?since=2&limit=3 is events --since 2 --limit 3" \
    "/v1/events?since=2&limit=3" events --since 2 --limit 3
same "/v1/events?limit=2 keeps the newest, as the CLI does" \
    "/v1/events?limit=2" events --limit 2
same "/v1/events?type=link.*&since=2000-01-01" \
    "/v1/events?type=link.*&since=2000-01-01" events --type 'link.*' --since 2000-01-01
same "an issue no flag is linked to: the same document" /v1/issues/NOPE-1 issue NOPE-1
check_eq "... answered with 404" 404 "$(code)"
get /v1/flags/Default/nope >/dev/null
check_eq "an unknown flag: 404" 404 "$(code)"
check_match "... saying which" "no flag 'nope' in project Default" "$(cat "$T/body")"
get "/v1/events?limit=0" >/dev/null
check_eq "a bad limit: 400" 400 "$(code)"
same "/v1/findings is findings --json" /v1/findings findings
same "/v1/findings?state=open&type=un* is findings --open --type 'un*'" \
    "/v1/findings?state=open&type=un*" findings --open --type 'un*'
get "/v1/findings?state=maybe" >/dev/null
check_eq "/v1/findings: a bad state is 400" 400 "$(code)"
get /nope >/dev/null
check_eq "a bad path: 404" 404 "$(code)"
get /v1/nope >/dev/null
check_eq "a bad /v1/ path: 404" 404 "$(code)"
get /healthz -X POST >/dev/null
check_eq "another method: 405" 405 "$(code)"
check_match "... saying which are allowed" "^Allow: GET, HEAD" \
    "$(curl -sS -D - -o /dev/null -X DELETE "$URL/v1/flags" | tr -d '\r')"

# ---------------------------------------------------------------- limits
# A client that sends half a request and waits, and one that trickles a
# byte every 2 s: both are dropped after 10 s, while polling goes on.
cat >"$T/slow.py" <<'PY'
import socket, sys, time
port, mode, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.time()
s = socket.create_connection(('127.0.0.1', port))
s.settimeout(0.2)
req = b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 200
s.sendall(req[:30])
i, gone = 30, None
while time.time() - t0 < 40 and gone is None:
    try:
        if s.recv(100) == b'':
            gone = time.time() - t0
    except socket.timeout:
        pass
    except OSError:
        gone = time.time() - t0
    if mode == 'trickle' and gone is None and time.time() - t0 > (i - 29) * 2:
        try:
            s.sendall(req[i:i + 1]); i += 1
        except OSError:
            gone = time.time() - t0
open(out, 'w').write('%.1f\n' % (gone if gone is not None else -1))
PY
n=$(polls)
python3 "$T/slow.py" "$PORT" half "$T/half.out" & CPIDS="$CPIDS $!"
python3 "$T/slow.py" "$PORT" trickle "$T/trickle.out" & CPIDS="$CPIDS $!"
check "polling goes on meanwhile" wait_until 30 polls_above "$((n + 1))"
check "other requests are served meanwhile" healthz_is 200
wait_until 60 test -s "$T/half.out"
check_match "half a request is dropped after 10 s" '^1[0-4]\.[0-9]$' \
    "$(cat "$T/half.out" 2>/dev/null)"
wait_until 60 test -s "$T/trickle.out"
check_match "a request trickling in is dropped after 10 s too" \
    '^1[0-4]\.[0-9]$' "$(cat "$T/trickle.out" 2>/dev/null)"
check "... and logged" log_has 'http: dropped a request not received within 10 s'
big=$(head -c 9000 /dev/zero | tr '\0' a)
c=$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$URL/healthz" 2>/dev/null)
check_match "a request over 8 KB is refused ($c)" '^(431|413|414|000)$' "$c"
n=$(polls)
check "polling went on" wait_until 30 polls_above "$n"
check "the daemon is still running" kill -0 "$DPID"

# ---------------------------------------------------------------- token
printf 'tok-%s\n' "$$" >"$T/http-token"
chmod 600 "$T/http-token"
printf 'token_file = %s\n' "$T/http-token" >>"$T/flagsync.ini"
kill -HUP "$DPID"
wait_until 30 log_has 'configuration reloaded'
tok="tok-$$"
get /v1/flags >/dev/null
check_eq "with token_file, /v1/ without a token: 401" 401 "$(code)"
get /v1/flags -H "Authorization: Bearer wrong" >/dev/null
check_eq "... with a wrong one: 401" 401 "$(code)"
get /v1/flags -H "Authorization: Bearer ${tok}x" >/dev/null
check_eq "... with a longer one: 401" 401 "$(code)"
get /v1/flags -H "Authorization: Bearer $tok" >"$T/http.out"
check_eq "... with the token: 200" 200 "$(code)"
flags_same() { fs flags --json | cmp -s - "$T/http.out"; }
check "... and the same document" flags_same
check_eq "/healthz needs no token" 200 "$(healthz_is 200 && code)"
get /metrics >/dev/null
check_eq "/metrics needs no token" 200 "$(code)"
check_nomatch "... and neither shows the token" "$tok" \
    "$(get /healthz; get /metrics; cat "$T/daemon.log")"
check_match "check-config says the token guards /v1/" \
    '^  http        127\.0\.0\.1:0 \(served by run\); /v1/ needs the bearer token$' \
    "$(fs check-config)"
check_nomatch "... without showing it" "$tok" "$(fs check-config 2>&1)"

# ---------------------------------------------------------------- outputs
# An output whose deliver() hangs is stuck, then killed and restarted:
# /healthz says so with a 503 meanwhile.
cat >>"$T/flagsync.ini" <<INI

[plugin slow]
module = hang
hang_type = flag.killed
timeout = 1
INI
sed -i '/^\[http\]/,/^token_file/d' "$T/flagsync.ini"
printf '\n[http]\nlisten = 127.0.0.1:0\n' >>"$T/flagsync.ini"
daemon_stop
daemon_start
wait_until 30 healthz_is 200
sim POST kill '{"ws":"Default","flag":"search_v2","killed":true}' >/dev/null
output_down() {
	healthz_is 503 && grep -Eq '"output slow: (stuck|crashed)"' "$T/body"
}
check "a stuck or crash-looping output turns /healthz to 503" \
    wait_until 60 output_down
check_match "... and /metrics shows its state" \
    'flagsync_output_state\{output="slow",state="(stuck|crashed|running|retrying)"\} 1' \
    "$(get /metrics)"
daemon_stop
check_match "the server stopped with the daemon" '^(000|7)$' \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz"; true)"

# ---------------------------------------------------------------- address
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
open(sys.argv[1], "w").write("%d\n" % s.getsockname()[1])
time.sleep(60)
' "$T/busy.port" & CPIDS="$CPIDS $!"
wait_until 10 test -s "$T/busy.port"
sed "s/^listen = .*/listen = 127.0.0.1:$(cat "$T/busy.port")/" \
    "$T/flagsync.ini" >"$T/busy.ini"
err=$("$FLAGSYNC" -c "$T/busy.ini" run 2>&1); rc=$?
check_eq "a listen address in use: run exits 1" 1 "$rc"
check_match "... naming the address and why" \
    "\[http\] listen: cannot serve 127\.0\.0\.1:[0-9]+: Address already in use" \
    "$err"
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null; then
	sed -i 's/^listen = .*/listen = [::1]:0/' "$T/flagsync.ini"
	: >"$T/daemon.log"
	( exec "$FLAGSYNC" -c "$T/flagsync.ini" run >>"$T/daemon.log" 2>&1 ) &
	DPID=$!
	wait_until 30 log_has 'http: listening on \[::1\]:[0-9]+'
	v6=$(sed -n 's/.*http: listening on \[::1\]:\([0-9]*\).*/\1/p' "$T/daemon.log")
	check_match "listen = [::1]:0 serves IPv6 (port ${v6:-none})" '^(200|503)$' \
	    "$(curl -sg -o /dev/null -w '%{http_code}' "http://[::1]:${v6:-1}/healthz")"
	daemon_stop
else
	ok "listen = [::1]:0 serves IPv6 # SKIP no IPv6 loopback"
fi

done_testing
