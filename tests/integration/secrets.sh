#!/bin/sh
# Secrets never leave the process: a Jira that echoes the credentials it
# was sent (token, base64 Basic form, a URL with userinfo) must not put
# them into stderr, `plugins --json`, `status --json` or data.mdb; a
# secret pasted into the wrong key is not echoed; check-config shows URLs
# without userinfo.
. "$SRCDIR/tests/integration/lib.sh"

# No test hooks needed: the modules by absolute path, and nothing retries.
TESTPLUG=$BUILDDIR/tests/plugins/.libs/testplug.so
JIRAPLUG=$BUILDDIR/plugins/jira/.libs/jira.so
sim_start --state "$SRCDIR/tests/integration/base-state.json"

TOKEN=ATATT3xFfGF0kq9Zr7Tq2mWvXy81HbNcLp4dEs
EMAIL=flagsync-bot@example.com
BASIC=$(printf '%s:%s' "$EMAIL" "$TOKEN" | base64 -w0)
BASIC_NOPAD=$(printf '%s' "$BASIC" | tr -d =)

# A Jira that answers everything 400, quoting what it was sent.
python3 -c '
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        auth = self.headers.get("Authorization", "")
        tok = ""
        if auth.startswith("Basic "):
            import base64
            tok = base64.b64decode(auth[6:]).decode().split(":", 1)[1]
        body = json.dumps({"errorMessages": [
            "bad request from %s (token %s), retry at https://bot:%s@jira.example/x" % (auth, tok, tok)]}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = do_DELETE = answer
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
' "$T/echo.port" 2>"$T/echo.log" &
JIRA_PID=$!
i=0
while [ ! -s "$T/echo.port" ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { echo "Bail out! echo server did not start"; exit 1; }
	sleep 0.1
done
ECHO_URL="http://127.0.0.1:$(cat "$T/echo.port")"

printf '%s\n' "$TOKEN" >"$T/jira-token"
chmod 600 "$T/jira-token"
write_config "[links]
jira_field = customfield_10050

[jira]
url = $ECHO_URL
email = $EMAIL
api_token_file = $T/jira-token
timeout = 5

[plugin jira]
module = $JIRAPLUG
credentials = jira
events = *

[plugin leaky]
module = $TESTPLUG
credentials = jira
leak = yes"

# no_secret DESCRIPTION TEXT: neither the token nor its Basic form.
no_secret() {
	if printf '%s\n' "$2" | grep -qF -e "$TOKEN" -e "$BASIC_NOPAD"; then
		not_ok "$1"
		diag "$(printf '%s\n' "$2" | grep -F -e "$TOKEN" -e "$BASIC_NOPAD" | head -3)"
	else ok "$1"; fi
}

fs sync >"$T/out" 2>"$T/err"
check "the echoing Jira was reached" grep -q 'bad request from' "$T/err"
no_secret "sync: stderr holds no token or Basic credential" "$(cat "$T/err")"
check_match "... the userinfo of a quoted URL is masked" 'https://\*\*\*@jira\.example' "$(cat "$T/err")"
no_secret "sync: stdout holds none" "$(cat "$T/out")"
pj=$(fs plugins --json)
check_match "plugins --json has the errors" 'bad request from' "$pj"
no_secret "plugins --json: last_error holds none" "$pj"
no_secret "status --json holds none" "$(fs status --json)"
no_secret "events, dead letters: none" "$(fs events --json 2>&1; fs plugins 2>&1)"
no_secret "data.mdb holds none" "$(strings "$T/state/data.mdb")"
no_secret "data.mdb holds none (dump)" "$(mdb_dump -a -p "$T/state" 2>&1)"

# A secret pasted into a key that takes something else is not echoed.
write_config
sed -i "s|^log_level = info|interval = $TOKEN|" "$T/flagsync.ini"
out=$(fs check-config 2>&1); rc=$?
check_eq "a token as interval: check-config exits 2" 2 "$rc"
check_match "... naming file:line and the key" 'flagsync\.ini:[0-9]+: \[agent\] interval' "$out"
no_secret "... without echoing the token" "$out"

write_config "[links]
split_tags = $TOKEN"
out=$(fs check-config 2>&1)
check_match "a token as split_tags is refused" '\[links\] split_tags' "$out"
no_secret "... and not echoed" "$out"

# Not token-shaped, but equal to the admin key (read from its file).
write_config
sed -i "s|^log_level = info|log_level = sim-admin-key|" "$T/flagsync.ini"
out=$(fs check-config 2>&1)
check_match "the admin key as log_level is refused" '\[agent\] log_level' "$out"
check_nomatch "... and not echoed" 'sim-admin-key' "$out"

# check-config prints URLs without userinfo.
write_config
sed -i "s|^api_url = http://|api_url = http://user:$TOKEN@|" "$T/flagsync.ini"
out=$(fs check-config 2>&1)
check_match "check-config shows the Split URL" 'split +http://\*\*\*@127\.0\.0\.1' "$out"
no_secret "... without its userinfo" "$out"
check_nomatch "... nor the user name" 'user:' "$out"

# A crash leaves no core file holding the admin key or the token.
write_config "[jira]
url = $ECHO_URL
email = $EMAIL
api_token_file = $T/jira-token"
mkdir -p "$T/cores"
( cd "$T/cores" && ulimit -c unlimited &&
    exec "$FLAGSYNC" -c "$T/flagsync.ini" run >"$T/run.log" 2>&1 ) &
DPID=$!
n=100
while ! grep -q 'flags,' "$T/run.log" 2>/dev/null && [ $n -gt 0 ]; do
	n=$((n - 1)); sleep 0.1
done
check "the daemon polled" grep -q 'flags,' "$T/run.log"
kill -SEGV "$DPID"
wait "$DPID"
core=$(ls "$T/cores")
check_eq "SIGSEGV with core dumps allowed: no core file" "" "$core"
if [ -n "$core" ]; then
	grep -qaF -e "$TOKEN" -e sim-admin-key "$T/cores/$core" &&
	    diag "the core holds a secret"
fi

done_testing
