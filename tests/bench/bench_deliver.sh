#!/bin/sh
# bench_deliver.sh - figures for delivery to output plugins (each in its
# own process), against the unthrottled Split simulator.
#
#   tests/bench/bench_deliver.sh [FLAGSYNC-BINARY]
#
# The file plugin is taken from the binary's build tree
# (dirname BINARY)/plugins/file/.libs/file.so and found through
# $FLAGSYNC_PLUGIN_DIR.  Prints figures; it asserts nothing.
#
# 1. Backlog throughput (target >= 100,000 events/s).  A 100,000-flag
#    account is synced with no plugin configured (~125,000 events, none
#    delivered).  Then [plugin audit] (file, fsync = no) is added and one
#    `flagsync sync` delivers the whole backlog; its poll finds no change.
#    The delivery time is got two ways:
#    - subtracted: that sync's wall time minus the median of three
#      no-change syncs without the plugin, run just before;
#    - observed: a watcher polls the audit file's size every 0.5 ms while
#      the sync runs and takes the time from its first byte to its last.
#      This leaves out plugin loading and the final cursor write, and is
#      not disturbed by the run-to-run noise of the 4 s poll.
#    Both give events/s = events delivered / delivery seconds.  The file's
#    line count and the number of events in the cache are printed side by
#    side: each event must be exactly one line.  Then `flagsync replay
#    --plugin audit --from FIRST` delivers the same backlog again into a
#    fresh file with no poll in front, timed the same way.
#
# 2. Commit-to-delivery lag of the daemon (target median <= 50 ms).
#    `flagsync run` (interval = 1, jitter = 0) with the same file plugin
#    polls a 50-flag account.  30 times, one flag's `killed` is toggled
#    through the simulator's control API, and the lag from the commit that
#    carries the resulting event to the event's line appearing in the
#    audit file is measured.  A random pause (0-1 s) before each change
#    spreads the changes over the poll cycle.  The poll wait (change -> commit, up to the
#    1 s interval) is reported apart; it is not part of the lag.
#
#    How the two moments are taken, without touching the daemon: the
#    event "time" field has only 1 s resolution, and running a command per
#    sample (mdb_stat, flagsync events) costs more than the figure
#    measured, so one Python process (standard library only) polls both
#    files every 0.5 ms with pread/fstat:
#    - commit: LMDB publishes a commit by writing the newer of its two meta
#      pages (page 0 and page 1 of data.mdb; the page size is stored in
#      the meta itself).  The script reads both, takes the one with the
#      higher txnid, follows its main-database root (one leaf page holding
#      the named databases) to the "events" database record, and reads its
#      entry count.  The commit time is when a meta page first shows a
#      transaction whose events count exceeds the count before the change.
#      Counting events, not just watching txnid, matters: the daemon also
#      commits poll status every second and plugin cursors after delivery.
#      A read is retried when the meta page changed under it.  The meta
#      page reaches the page cache just before LMDB's durable write of it
#      finishes and the commit becomes visible to readers, so the lag
#      includes that write: a slight overestimate, never an underestimate.
#    - delivery: when the audit file's size first covers as many new
#      complete lines as the commit added events.  The new lines are
#      checked to name the toggled flag.
#    Both are "first seen" times of the same 0.5 ms loop, so the sampling
#    delay is the same on both sides; the resolution is about 0.5 ms.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/build/plain/flagsync}
[ -x "$bin" ] || { echo "no flagsync binary at $bin (build first)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
so=$(dirname "$bin")/plugins/file/.libs/file.so
[ -f "$so" ] || { echo "no file plugin at $so (build first)" >&2; exit 1; }
for c in jq python3; do
	command -v $c >/dev/null ||
	    { echo "bench_deliver.sh needs $c" >&2; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/flagsync-bench.XXXXXX")
SIM_PID=
DPID=
trap '[ -n "$DPID" ] && kill $DPID 2>/dev/null
      [ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; rm -rf "$T"' EXIT

mkdir "$T/plugins"
ln -s "$so" "$T/plugins/file.so"
FLAGSYNC_PLUGIN_DIR=$T/plugins
export FLAGSYNC_PLUGIN_DIR
printf 'sim-admin-key\n' >"$T/key"; chmod 600 "$T/key"

sim_start() {	# SIMULATOR-OPTIONS...
	rm -f "$T/port"
	python3 "$top/tests/sim/split_sim.py" --port 0 --port-file "$T/port" \
	    --quiet "$@" 2>/dev/null &
	SIM_PID=$!
	while [ ! -s "$T/port" ]; do sleep 0.1; done
}
sim_stop() { kill $SIM_PID; wait $SIM_PID 2>/dev/null; SIM_PID=; }

write_config() {	# STATE-DIR [AGENT-LINES]
	cat >"$T/flagsync.ini" <<INI
[agent]
state_dir = $1
log_level = warning
deliver_timeout = 600
${2:-}
[split]
api_url = http://127.0.0.1:$(cat "$T/port")/internal/api/v2
admin_key_file = $T/key
max_rps = 0
[project Default]
environment = Production
INI
}
add_plugin() {	# AUDIT-FILE
	cat >>"$T/flagsync.ini" <<INI
[plugin audit]
module = file
path = $1
fsync = no
INI
}
fs() { "$bin" -c "$T/flagsync.ini" "$@"; }
now() { date +%s.%N; }
row() { printf '%-8s %-36s %s\n' "$@"; }

# watch_run AUDIT-FILE OUT-FILE COMMAND...: runs the command while timing,
# every 0.5 ms, the audit file's growth; OUT-FILE gets "wall first last rc"
# in seconds from the start (first and last: when its size first and last
# changed).
watch_run() {
	python3 - "$@" >"$2" 2>"$T/err" <<'PY'
import os, subprocess, sys, time

path, cmd = sys.argv[1], sys.argv[3:]
t0 = time.monotonic()
proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
size = 0
first = last = None
while True:
    done = proc.poll() is not None
    try:
        n = os.stat(path).st_size
    except FileNotFoundError:
        n = 0
    if n != size:
        t = time.monotonic() - t0
        if first is None:
            first = t
        last = t
        size = n
    if done:
        break
    time.sleep(0.0005)
wall = time.monotonic() - t0
if first is None:
    first = last = wall
print("%.3f %.3f %.3f %d" % (wall, first, last, proc.returncode))
PY
}

row "part" "figure" "value"
# Figures move with the machine's load: say what it was.
row host "cpus / load average" "$(nproc) / $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------ backlog
sim_start --generate 100000 --seed 1
write_config "$T/state"
fs sync >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
first=$(fs status --json | jq .events.first)
last=$(fs status --json | jq .events.last)
events=$((last - first + 1))
row backlog "events in the cache" "$events (seq $first-$last)"

: >"$T/base"
for i in 1 2 3; do
	a=$(now); fs sync >/dev/null 2>&1; b=$(now)
	echo "$a $b" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$T/base"
done
base=$(sort -n "$T/base" | sed -n 2p)
row backlog "no-change sync, no plugin" "$base s (median of 3: $(tr '\n' ' ' <"$T/base"| sed 's/ $//'))"

# rate N FROM TO: N events over TO - FROM seconds, as events/s.
rate() {
	awk -v n="$1" -v f="$2" -v l="$3" 'BEGIN {
	    if (l > f) printf "%.0f events/s", n / (l - f); else printf "n/a" }'
}

add_plugin "$T/audit.jsonl"
a=$(now)
watch_run "$T/audit.jsonl" "$T/watch" "$bin" -c "$T/flagsync.ini" sync
b=$(now)
read -r wall wfirst wlast rc <"$T/watch"
[ "$rc" = 0 ] || { echo "the delivering sync failed ($rc):" >&2; cat "$T/err" >&2; }
lines=$(wc -l <"$T/audit.jsonl")
cursor=$(fs plugins --json | jq '.[] | select(.name == "audit") | .cursor')
row backlog "sync with file plugin, wall" "$wall s ($(echo "$a $b" | awk '{ printf "%.3f", $2 - $1 }') s by date)"
row backlog "delivery, subtracted" "$(awk -v w="$wall" -v b="$base" 'BEGIN { printf "%.3f s", w - b }')"
row backlog "delivery, first->last line" "$(awk -v f="$wfirst" -v l="$wlast" 'BEGIN { printf "%.3f s (%.3f to %.3f s)", l - f, f, l }')"
row backlog "throughput, subtracted" "$(rate "$lines" "$base" "$wall") (target >= 100000)"
row backlog "throughput, first->last line" "$(rate "$lines" "$wfirst" "$wlast") (target >= 100000)"
row backlog "audit lines / events / cursor" "$lines / $events / $cursor"
row backlog "audit file size" "$(du -m "$T/audit.jsonl" | cut -f1) MB"

# The same backlog again with no poll in front: `replay --from FIRST`
# rewinds the cursor and delivers in-process, into a fresh file.
mv "$T/audit.jsonl" "$T/audit.old"
watch_run "$T/audit.jsonl" "$T/watch" "$bin" -c "$T/flagsync.ini" \
    replay --plugin audit --from "$first"
read -r wall wfirst wlast rc <"$T/watch"
[ "$rc" = 0 ] || { echo "replay failed ($rc):" >&2; cat "$T/err" >&2; }
lines=$(wc -l <"$T/audit.jsonl")
row replay "replay of the backlog, wall" "$wall s"
row replay "throughput, whole replay" "$(rate "$lines" 0 "$wall")"
row replay "throughput, first->last line" "$(rate "$lines" "$wfirst" "$wlast")"
row replay "audit lines / events" "$lines / $events"
sim_stop
rm -rf "$T/state" "$T/audit.jsonl" "$T/audit.old"

# ------------------------------------------------------------ lag
sim_start --generate 50 --seed 1
write_config "$T/state2" "interval = 1
jitter = 0"
add_plugin "$T/audit2.jsonl"
"$bin" -c "$T/flagsync.ini" run 2>"$T/daemon.err" &
DPID=$!
python3 - "$T/state2" "$T/audit2.jsonl" "$(cat "$T/port")" 30 "$T/lags" <<'PY'
import http.client, json, os, random, struct, sys, time

state, audit, port, count, out = sys.argv[1:6]
count = int(count)
MAGIC = 0xBEEFC0DE
P_LEAF = 0x02


def die(msg):
    sys.stderr.write("bench_deliver.sh: %s\n" % msg)
    sys.exit(1)


def sim(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    c.request(method, path, body=None if body is None else json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    doc = json.loads(r.read())
    c.close()
    if r.status != 200:
        die("%s %s: %s" % (method, path, doc))
    return doc


def wait_for(pred, what, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    die("timed out waiting for %s" % what)


def events_entries(page, pgno):
    """The entry count of the "events" database in the main-DB root leaf
    page, or None when the page is not that (read while being rewritten)."""
    if len(page) < 16:
        return None
    got, flags, lower = struct.unpack_from("<Q2xHH", page, 0)
    if got != pgno or not flags & P_LEAF or lower < 16 or lower > len(page):
        return None
    for i in range((lower - 16) // 2):
        off, = struct.unpack_from("<H", page, 16 + 2 * i)
        if off + 8 > len(page):
            return None
        ksize, = struct.unpack_from("<H", page, off + 6)
        if page[off + 8:off + 8 + ksize] == b"events":
            d = off + 8 + ksize
            if d + 48 > len(page):
                return None
            return struct.unpack_from("<Q", page, d + 32)[0]
    return None


class Cache:
    """Reads the newest committed (txnid, events count) from data.mdb's
    meta pages without opening the environment (no reader slot, no
    lock): see the header comment of bench_deliver.sh."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY)
        m = os.pread(self.fd, 160, 0)
        if struct.unpack_from("<I", m, 16)[0] != MAGIC:
            die("%s: not an LMDB file of this layout" % path)
        # the page size is kept in the free DB's md_pad of the meta
        self.psize = struct.unpack_from("<I", m, 40)[0]

    def snapshot(self):
        for _ in range(10000):
            metas = [os.pread(self.fd, 160, i * self.psize) for i in (0, 1)]
            txn = [struct.unpack_from("<Q", m, 144)[0] for m in metas]
            i = 0 if txn[0] >= txn[1] else 1
            m = metas[i]
            if struct.unpack_from("<I", m, 16)[0] != MAGIC:
                continue
            depth, = struct.unpack_from("<H", m, 94)
            root, = struct.unpack_from("<Q", m, 128)
            if depth != 1:
                die("main database is %d levels deep; expected 1" % depth)
            page = os.pread(self.fd, self.psize, root * self.psize)
            if os.pread(self.fd, 160, i * self.psize) != m:
                continue        # a commit landed meanwhile
            n = events_entries(page, root)
            if n is not None:
                return txn[i], n
        die("cannot get a stable read of the LMDB meta pages")


def lines_from(path, off):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read()


# The flags with a Production definition, and whether each is killed.
st = sim("GET", "/_sim/state")
ws = [w for w in st["workspaces"] if w["name"] == "Default"][0]
prod = [e["id"] for e in ws["environments"] if e["name"] == "Production"][0]
flags = [(f["name"], f["definitions"][prod]["killed"]) for f in ws["flags"]
         if prod in f["definitions"]]
if not flags:
    die("no flag has a Production definition")

# Let the daemon's first sync commit and deliver everything.
wait_for(lambda: os.path.exists(os.path.join(state, "data.mdb")),
         "the daemon's cache")
cache = Cache(os.path.join(state, "data.mdb"))


def caught_up():
    _, n = cache.snapshot()
    if n == 0 or not os.path.exists(audit):
        return False
    with open(audit, "rb") as f:
        return f.read().count(b"\n") == n


wait_for(caught_up, "the daemon to deliver its first sync")
time.sleep(1.5)
if not caught_up():
    die("the audit file does not match the event log after the first sync")

# A pause before each change spreads the changes over the poll cycle.
rng = random.Random(1)
with open(out, "w") as res:
    for k in range(count):
        time.sleep(rng.uniform(0, 1))
        name, killed = flags[k % len(flags)]
        flags[k % len(flags)] = (name, not killed)
        _, e0 = cache.snapshot()
        size0 = os.stat(audit).st_size
        t_post = time.monotonic()
        sim("POST", "/_sim/kill", {"ws": "Default", "flag": name,
                                   "killed": not killed})
        t_commit = t_line = None
        deadline = t_post + 15
        while t_line is None:
            if time.monotonic() > deadline:
                die("change %d (%s): no delivered event within 15 s"
                    % (k + 1, name))
            if t_commit is None:
                txn, e = cache.snapshot()
                if e > e0:
                    t_commit = time.monotonic()
                    want = e - e0
            if t_commit is not None and os.stat(audit).st_size > size0:
                t = time.monotonic()
                new = lines_from(audit, size0)
                if new.count(b"\n") >= want:
                    t_line = t
                    break
            time.sleep(0.0005)
        docs = [json.loads(l) for l in new.splitlines()[:want]]
        if not any(d.get("flag") == name for d in docs):
            die("change %d: the new lines do not name %s: %s"
                % (k + 1, name, new[:300]))
        res.write("%.3f %.3f %s\n" % ((t_line - t_commit) * 1000,
                                      (t_commit - t_post) * 1000,
                                      ",".join(d["type"] for d in docs)))
        res.flush()
PY
kill $DPID; wait $DPID 2>/dev/null; DPID=
if [ -s "$T/lags" ]; then
	n=$(wc -l <"$T/lags")
	stats() {	# COLUMN: "median p90 max" by nearest rank
		cut -d' ' -f"$1" "$T/lags" | sort -n | awk '{ v[NR] = $1 } END {
		    p = int(NR * 0.9); if (p < NR * 0.9) p++
		    printf "%.1f %.1f %.1f %.1f", v[int((NR + 1) / 2)], v[p], v[NR], v[1] }'
	}
	read -r med p90 max min <<EOF
$(stats 1)
EOF
	row lag "changes delivered" "$n ($(cut -d' ' -f3 "$T/lags" | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }'))"
	row lag "commit->delivery median" "$med ms (target <= 50)"
	row lag "commit->delivery p90" "$p90 ms"
	row lag "commit->delivery max" "$max ms (min $min)"
	read -r med p90 max min <<EOF
$(stats 2)
EOF
	row lag "change->commit (poll wait) median" "$med ms (max $max; interval 1 s)"
else
	row lag "commit->delivery" "no figures (see above)"
	[ -s "$T/daemon.err" ] && sed 's/^/daemon: /' "$T/daemon.err" >&2
fi
sim_stop
