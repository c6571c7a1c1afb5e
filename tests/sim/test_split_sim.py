#!/usr/bin/env python3
"""Tests for split_sim.py: run with `python3 tests/sim/test_split_sim.py`.

Each test class starts the simulator in a subprocess on port 0 and talks
to it over HTTP, as the C agent's tests do.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "split_sim.py")
KEY = "sim-admin-key"
V2 = "/internal/api/v2"
MSG_404 = "The resource does not exists or the Admin API key has no access"
RL_HEADERS = ("X-RateLimit-Remaining-Org", "X-RateLimit-Remaining-IP",
              "X-RateLimit-Reset-Seconds-Org", "X-RateLimit-Reset-Seconds-IP")


class SimProcess:
    """The simulator in a subprocess; start() returns once it listens."""

    def __init__(self, *args, startup_timeout=60.0):
        self.args = list(args)
        self.timeout = startup_timeout
        self.tmp = tempfile.TemporaryDirectory(prefix="split-sim-test-")
        self.port_file = os.path.join(self.tmp.name, "port")
        self.proc = None
        self.port = None
        self.startup_seconds = None

    def start(self):
        t0 = time.monotonic()
        self.stderr = open(os.path.join(self.tmp.name, "stderr"), "w+b")
        self.proc = subprocess.Popen(
            [sys.executable, SIM, "--port", "0", "--port-file",
             self.port_file, "--quiet"] + self.args,
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        while time.monotonic() - t0 < self.timeout:
            if os.path.exists(self.port_file):
                with open(self.port_file) as fp:
                    self.port = int(fp.read())
                self.startup_seconds = time.monotonic() - t0
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("simulator did not start: %s" % self.errors())

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "stderr", None):
            self.stderr.close()
        self.tmp.cleanup()

    def conn(self, timeout=10.0):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def request(self, method, path, body=None, key=KEY, headers=None,
                conn=None, timeout=10.0):
        """(status, headers, raw body bytes)."""
        h = dict(headers or {})
        if key is not None:
            h["Authorization"] = "Bearer " + key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c = conn or self.conn(timeout)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            return r.status, r.headers, raw
        finally:
            if conn is None:
                c.close()

    def api(self, path, key=KEY, **kw):
        st, hdrs, raw = self.request("GET", V2 + path, key=key, **kw)
        return st, hdrs, json.loads(raw)

    def ctl(self, method, name, body=None):
        st, _, raw = self.request(method, "/_sim/" + name, body=body,
                                  key=None)
        return st, json.loads(raw)

    def ws_id(self, name="Default"):
        st, _, d = self.api("/workspaces?name=" + name)
        assert st == 200 and d["totalCount"] == 1, d
        return d["objects"][0]["id"]


def list_all(sim, path, limit=50):
    """Page through an envelope endpoint; (objects, totalCounts seen)."""
    objs, totals, offset = [], set(), 0
    while True:
        sep = "&" if "?" in path else "?"
        st, _, d = sim.api("%s%soffset=%d&limit=%d" % (path, sep, offset,
                                                       limit))
        assert st == 200, d
        objs.extend(d["objects"])
        totals.add(d["totalCount"])
        offset += d["limit"]
        if offset >= d["totalCount"] or not d["objects"]:
            return objs, totals


class SimCase(unittest.TestCase):
    ARGS = ("--generate", "120", "--seed", "7")

    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess(*cls.ARGS).start()
        cls.ws = cls.sim.ws_id()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.assertEqual(self.sim.ctl("DELETE", "fault")[0], 200)


class TestAuthAndAccess(SimCase):
    def test_missing_or_unknown_key_is_401(self):
        for key, extra in ((None, None), ("nope", None),
                           (None, {"Authorization": "Basic " + KEY})):
            st, hdrs, d = self.sim.api("/workspaces", key=key, headers=extra)
            self.assertEqual(st, 401)
            self.assertEqual(d, {"code": 401,
                                 "message": "Invalid Admin API Key"})
            self.assertEqual(hdrs["Content-Type"], "application/json")

    def test_x_api_key_is_accepted(self):
        st, _, d = self.sim.api("/workspaces", key=None,
                                headers={"x-api-key": KEY})
        self.assertEqual(st, 200)
        self.assertEqual(d["totalCount"], 1)

    def test_unknown_workspace_is_404(self):
        for path in ("/environments/ws/no-such-ws", "/splits/ws/no-such-ws",
                     "/splits/ws/no-such-ws/environments/Production"):
            st, _, d = self.sim.api(path)
            self.assertEqual(st, 404, path)
            self.assertEqual(d, {"code": 404, "message": MSG_404})

    def test_unknown_flag_and_environment_are_404(self):
        for path in ("/splits/ws/%s/nope" % self.ws,
                     "/splits/ws/%s/environments/production" % self.ws,
                     "/splits/ws/%s/nope/environments/Production" % self.ws):
            self.assertEqual(self.sim.api(path)[0], 404, path)

    def test_restricted_key_sees_404(self):
        st, _ = self.sim.ctl("POST", "workspace", {"name": "Other"})
        self.assertEqual(st, 200)
        st, _ = self.sim.ctl("POST", "key", {"key": "only-other",
                                             "workspaces": ["Other"]})
        self.assertEqual(st, 200)
        try:
            st, _, d = self.sim.api("/environments/ws/" + self.ws,
                                    key="only-other")
            self.assertEqual((st, d["message"]), (404, MSG_404))
            st, _, d = self.sim.api("/splits/ws/%s/environments/Production"
                                    % self.ws, key="only-other")
            self.assertEqual(st, 404)
            st, _, d = self.sim.api("/workspaces", key="only-other")
            self.assertEqual([w["name"] for w in d["objects"]], ["Other"])
            self.assertEqual(d["totalCount"], 1)
            st, _, d = self.sim.api("/workspaces", key=KEY)
            self.assertEqual(d["totalCount"], 2)
        finally:
            self.sim.ctl("DELETE", "key?key=only-other")
            self.sim.ctl("DELETE", "workspace?ws=Other")
        self.assertEqual(self.sim.api("/workspaces", key="only-other")[0],
                         401)

    def test_environment_restricted_key(self):
        self.sim.ctl("POST", "key", {"key": "staging-only",
                                     "environments": ["Staging"]})
        try:
            base = "/splits/ws/%s/environments/" % self.ws
            self.assertEqual(self.sim.api(base + "Production",
                                          key="staging-only")[0], 404)
            self.assertEqual(self.sim.api(base + "Staging",
                                          key="staging-only")[0], 200)
            st, _, envs = self.sim.api("/environments/ws/" + self.ws,
                                       key="staging-only")
            self.assertEqual([e["name"] for e in envs], ["Staging"])
        finally:
            self.sim.ctl("DELETE", "key?key=staging-only")


class TestShapesAndPaging(SimCase):
    def test_workspace_and_environment_shapes(self):
        st, _, d = self.sim.api("/workspaces")
        self.assertEqual(d["objects"][0], {
            "id": self.ws, "name": "Default", "type": "workspace",
            "requiresTitleAndComments": False})
        self.assertEqual((d["offset"], d["limit"]), (0, 20))
        st, _, envs = self.sim.api("/environments/ws/" + self.ws)
        self.assertIsInstance(envs, list)
        self.assertEqual([(e["name"], e["production"]) for e in envs],
                         [("Production", True), ("Staging", False)])
        self.assertEqual(set(envs[0]), {"id", "name", "production"})

    def test_workspace_name_filter(self):
        for q, n in (("name=Default", 1), ("name=Def", 0),
                     ("name=Def&nameOp=STARTS_WITH", 1),
                     ("name=fau&nameOp=CONTAINS", 1),
                     ("name=x&nameOp=LIKE", None)):
            st, _, d = self.sim.api("/workspaces?" + q)
            if n is None:
                self.assertEqual(st, 400)
            else:
                self.assertEqual(d["totalCount"], n, q)

    def test_flag_paging_with_total_count(self):
        flags, totals = list_all(self.sim, "/splits/ws/%s" % self.ws, 50)
        self.assertEqual(totals, {120})
        names = [f["name"] for f in flags]
        self.assertEqual(names, ["flag_%05d" % i for i in range(120)])
        self.assertEqual(set(flags[0]), {
            "id", "name", "description", "trafficType", "creationTime",
            "tags", "rolloutStatus", "rolloutStatusTimestamp", "owners"})
        st, _, d = self.sim.api("/splits/ws/%s" % self.ws)
        self.assertEqual((d["limit"], len(d["objects"])), (20, 20))
        st, _, d = self.sim.api("/splits/ws/%s?offset=110&limit=50"
                                % self.ws)
        self.assertEqual((d["offset"], d["limit"], len(d["objects"])),
                         (110, 50, 10))

    def test_definition_paging_and_shape(self):
        st, state = self.sim.ctl("GET", "state")
        ws = state["workspaces"][0]
        prod = ws["environments"][0]["id"]
        expect = [f["name"] for f in ws["flags"] if prod in f["definitions"]]
        self.assertTrue(100 <= len(expect) < 120, len(expect))
        for env in ("Production", prod):
            defs, totals = list_all(
                self.sim, "/splits/ws/%s/environments/%s" % (self.ws, env))
            self.assertEqual(totals, {len(expect)})
            self.assertEqual([d["name"] for d in defs], expect)
        d = defs[0]
        self.assertEqual(set(d), {
            "name", "environment", "trafficType", "killed", "treatments",
            "defaultTreatment", "baselineTreatment", "trafficAllocation",
            "rules", "defaultRule", "creationTime", "lastUpdateTime",
            "lastTrafficReceivedAt", "flagSets", "impressionsDisabled"})
        self.assertEqual(d["environment"], {"id": prod, "name": "Production"})
        for d in defs:
            self.assertEqual(sum(b["size"] for b in d["defaultRule"]), 100)
            for r in d["rules"]:
                self.assertEqual(r["condition"]["combiner"], "AND")
                self.assertEqual(sum(b["size"] for b in r["buckets"]), 100)
        st, _, one = self.sim.api("/splits/ws/%s/%s/environments/Production"
                                  % (self.ws, defs[3]["name"]))
        self.assertEqual((st, one), (200, defs[3]))

    def test_limit_clamped_to_50(self):
        for path in ("/splits/ws/%s" % self.ws,
                     "/splits/ws/%s/environments/Production" % self.ws):
            st, _, d = self.sim.api(path + "?limit=500")
            self.assertEqual(st, 200)
            self.assertEqual((d["limit"], len(d["objects"])), (50, 50))
        st, _, d = self.sim.api("/workspaces?limit=1000")
        self.assertEqual(d["limit"], 100)

    def test_definitions_over_max_400_option(self):
        self.sim.ctl("POST", "config", {"definitions_over_max": "400"})
        try:
            path = "/splits/ws/%s/environments/Production" % self.ws
            st, _, d = self.sim.api(path + "?limit=51")
            self.assertEqual((st, d["code"]), (400, 400))
            self.assertEqual(self.sim.api(path + "?limit=50")[0], 200)
        finally:
            self.sim.ctl("POST", "config", {"definitions_over_max": "clamp"})

    def test_bad_requests_do_not_crash(self):
        for path in ("/splits/ws/%s?offset=abc" % self.ws,
                     "/splits/ws/%s?limit=-1" % self.ws,
                     "/splits/ws/%s?offset=-5" % self.ws):
            self.assertEqual(self.sim.api(path)[0], 400, path)
        self.assertEqual(self.sim.api("/nope")[0], 404)
        self.assertEqual(self.sim.request("GET", "/other")[0], 404)
        self.assertEqual(self.sim.request("POST", V2 + "/workspaces",
                                          body={})[0], 405)
        c = self.sim.conn()
        c.request("POST", "/_sim/flag", body=b"{not json")
        self.assertEqual(c.getresponse().status, 400)
        c.close()
        for body in ([], {"ws": 5}, {"ws": "Default", "flag": "x",
                                     "tags": [{"nope": 1}]}):
            self.assertEqual(self.sim.ctl("POST", "flag", body)[0], 400)
        self.assertEqual(self.sim.ctl("GET", "nosuch")[0], 404)
        self.assertEqual(self.sim.api("/workspaces")[0], 200)

    def test_keep_alive(self):
        c = self.sim.conn()
        try:
            for _ in range(3):
                st, hdrs, _ = self.sim.request("GET", V2 + "/workspaces",
                                               conn=c)
                self.assertEqual(st, 200)
                self.assertIsNotNone(hdrs["Content-Length"])
            self.assertIsNotNone(c.sock)
        finally:
            c.close()

    def test_request_log_and_stats(self):
        self.sim.ctl("DELETE", "requests")
        self.sim.api("/workspaces?limit=5")
        self.sim.api("/workspaces", key="bad")
        st, d = self.sim.ctl("GET", "requests")
        reqs = d["requests"]
        self.assertEqual([(r["method"], r["path"], r["query"], r["status"])
                          for r in reqs],
                         [("GET", V2 + "/workspaces", "limit=5", 200),
                          ("GET", V2 + "/workspaces", "", 401)])
        self.assertTrue(all(abs(r["time"] - time.time()) < 60 for r in reqs))
        st, s = self.sim.ctl("GET", "stats")
        self.assertGreaterEqual(s["by_status"]["401"], 1)
        self.assertEqual(s["flags"], 120)


class TestSingleFlag(SimCase):
    """The two single-flag Admin endpoints (reference 2.3 and 2.5)."""

    def test_flag_and_definition_match_the_listings(self):
        flags, _ = list_all(self.sim, "/splits/ws/%s" % self.ws)
        defs, _ = list_all(self.sim, "/splits/ws/%s/environments/Production"
                           % self.ws)
        for f in (flags[0], flags[57], flags[-1]):
            st, _, one = self.sim.api("/splits/ws/%s/%s" % (self.ws,
                                                           f["name"]))
            self.assertEqual((st, one), (200, f))
        for d in (defs[0], defs[-1]):
            for env in ("Production", d["environment"]["id"]):
                st, _, one = self.sim.api("/splits/ws/%s/%s/environments/%s"
                                          % (self.ws, d["name"], env))
                self.assertEqual((st, one), (200, d))

    def test_404_bodies_and_endpoint_labels(self):
        st, state = self.sim.ctl("GET", "state")
        prod = state["workspaces"][0]["environments"][0]["id"]
        nodef = [f["name"] for f in state["workspaces"][0]["flags"]
                 if prod not in f["definitions"]][0]
        self.sim.ctl("DELETE", "stats")
        base = "/splits/ws/%s/" % self.ws
        cases = [(base + "flag_00001", 200, "flag"),
                 (base + "no_such_flag", 404, "flag"),
                 (base + "Flag_00001", 404, "flag"),
                 (base + "flag_00001/environments/Production", 200,
                  "definition"),
                 (base + "no_such_flag/environments/Production", 404,
                  "definition"),
                 (base + nodef + "/environments/Production", 404,
                  "definition"),
                 (base + "flag_00001/environments/NoSuchEnv", 404,
                  "definition")]
        for path, want, _ in cases:
            st, hdrs, d = self.sim.api(path)
            self.assertEqual(st, want, path)
            if want == 404:
                self.assertEqual(d, {"code": 404, "message": MSG_404})
                self.assertEqual(hdrs["Content-Type"], "application/json")
        st, s = self.sim.ctl("GET", "stats")
        self.assertEqual(s["by_endpoint"], {"flag": 3, "definition": 4})
        self.assertEqual(s["by_status"], {"200": 2, "404": 5})


class TestDeterminism(unittest.TestCase):
    def test_same_seed_same_flags(self):
        out = []
        for _ in range(2):
            sim = SimProcess("--generate", "300", "--seed", "3").start()
            try:
                st, state = sim.ctl("GET", "state")
                out.append(state["workspaces"])
            finally:
                sim.stop()
        self.assertEqual(out[0], out[1])
        flags = out[0][0]["flags"]
        prod = out[0][0]["environments"][0]["id"]
        with_def = sum(1 for f in flags if prod in f["definitions"])
        self.assertTrue(0.88 * 300 < with_def < 300, with_def)
        killed = sum(1 for f in flags if prod in f["definitions"]
                     and f["definitions"][prod]["killed"])
        ruled = sum(1 for f in flags if prod in f["definitions"]
                    and f["definitions"][prod]["rules"])
        jira_tags = sum(1 for f in flags
                        if any("-" in t and t.split("-")[0].isupper()
                               for t in f["tags"]))
        fixes = sum(1 for f in flags if f["description"].startswith("Fixes"))
        self.assertTrue(killed > 3 and ruled > 30, (killed, ruled))
        self.assertTrue(15 < jira_tags < 50 and 15 < fixes < 50,
                        (jira_tags, fixes))


class TestFaults(SimCase):
    def flags_path(self, q="?limit=5"):
        return V2 + "/splits/ws/%s%s" % (self.ws, q)

    def fault(self, **spec):
        st, d = self.sim.ctl("POST", "fault", spec)
        self.assertEqual(st, 200, d)
        return d["fault"]

    def test_status_fault_count_and_after(self):
        self.fault(match="/splits/ws/", kind="status", status=503, count=2,
                   after=1)
        got = [self.sim.request("GET", self.flags_path())[0]
               for _ in range(4)]
        self.assertEqual(got, [200, 503, 503, 200])
        self.assertEqual(self.sim.request("GET", V2 + "/workspaces")[0], 200)

    def test_status_fault_body(self):
        self.fault(match="limit=5", kind="status", status=500)
        st, hdrs, raw = self.sim.request("GET", self.flags_path())
        self.assertEqual(st, 500)
        self.assertEqual(json.loads(raw)["code"], 500)
        self.assertEqual(hdrs["Content-Type"], "application/json")

    def test_first_matching_fault_wins_and_forever(self):
        self.fault(match="limit=5", kind="status", status=502, count=-1)
        self.fault(match="limit=5", kind="status", status=504, count=-1)
        for _ in range(3):
            self.assertEqual(self.sim.request("GET", self.flags_path())[0],
                             502)
        self.sim.ctl("DELETE", "fault")
        self.assertEqual(self.sim.request("GET", self.flags_path())[0], 200)

    def test_slow(self):
        self.fault(match="limit=5", kind="slow", delay=1.0)
        t0 = time.monotonic()
        st, _, raw = self.sim.request("GET", self.flags_path())
        self.assertGreaterEqual(time.monotonic() - t0, 0.95)
        self.assertEqual((st, len(json.loads(raw)["objects"])), (200, 5))

    def test_slow_client_gone(self):
        self.sim.ctl("DELETE", "requests")
        self.fault(match="limit=5", kind="slow", delay=3.0)
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.sim.request("GET", self.flags_path(), timeout=0.3)
        deadline = time.monotonic() + 2.0
        reqs = []
        while time.monotonic() < deadline and not reqs:
            reqs = self.sim.ctl("GET", "requests")[1]["requests"]
            time.sleep(0.05)
        self.assertEqual(len(reqs), 1, "server noticed the hang-up early")
        self.assertEqual((reqs[0]["fault"], reqs[0]["status"]), ("slow", 0))
        self.assertTrue(reqs[0].get("client_gone"))

    def test_malformed(self):
        self.fault(match="limit=5", kind="malformed")
        st, _, raw = self.sim.request("GET", self.flags_path())
        self.assertEqual(st, 200)
        with self.assertRaises(ValueError):
            json.loads(raw)

    def test_truncated(self):
        st, _, full = self.sim.request("GET", self.flags_path())
        self.fault(match="limit=5", kind="truncated")
        st, hdrs, raw = self.sim.request("GET", self.flags_path())
        self.assertEqual(st, 200)
        self.assertEqual(int(hdrs["Content-Length"]), len(raw))
        self.assertEqual(raw, full[:len(full) // 2])
        with self.assertRaises(ValueError):
            json.loads(raw)

    def test_totalcount_drift(self):
        self.fault(match="offset=50", kind="totalcount_drift")
        _, totals = list_all(self.sim, "/splits/ws/%s" % self.ws, 50)
        self.assertEqual(totals, {120, 127})

    def test_ratelimit_fault(self):
        self.fault(match="limit=5", kind="ratelimit", reset_org=3,
                   reset_ip=2)
        st, hdrs, raw = self.sim.request("GET", self.flags_path())
        self.assertEqual(st, 429)
        self.assertEqual(json.loads(raw)["code"], 429)
        self.assertEqual(hdrs["X-RateLimit-Reset-Seconds-Org"], "3")
        self.assertEqual(hdrs["X-RateLimit-Reset-Seconds-IP"], "2")
        self.assertEqual(hdrs["X-RateLimit-Remaining-Org"], "0")
        self.assertIsNotNone(hdrs["X-RateLimit-Remaining-IP"])
        self.assertIsNone(hdrs["Retry-After"])

    def test_close(self):
        self.fault(match="limit=5", kind="close")
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError)):
            self.sim.request("GET", self.flags_path())
        self.assertEqual(self.sim.request("GET", self.flags_path())[0], 200)

    def test_hostile_answers(self):
        self.fault(match="limit=5", kind="huge", size=3 * 1024 * 1024 + 5)
        st, hdrs, raw = self.sim.request("GET", self.flags_path())
        self.assertEqual((st, len(raw)), (200, 3 * 1024 * 1024 + 5))
        self.fault(match="limit=5", kind="deep", depth=1000)
        raw = self.sim.request("GET", self.flags_path())[2]
        self.assertTrue(raw.startswith(b'{"objects":' + b"[" * 1000 + b"]"))
        self.fault(match="limit=5", kind="edit", index=1,
                   set={"name": "x" * 10000, "tags": "no"})
        objs = json.loads(self.sim.request("GET", self.flags_path())[2])[
            "objects"]
        self.assertEqual((len(objs[1]["name"]), objs[1]["tags"]),
                         (10000, "no"))
        self.assertNotEqual(objs[0]["name"], objs[1]["name"])
        self.fault(match="limit=5", kind="edit", set={"totalCount": "5"})
        d = json.loads(self.sim.request("GET", self.flags_path())[2])
        self.assertEqual(d["totalCount"], "5")
        self.fault(match="limit=5", kind="total", total=2)
        d = json.loads(self.sim.request("GET", self.flags_path())[2])
        self.assertEqual((len(d["objects"]), d["totalCount"]), (5, 2))
        self.fault(match="limit=5", kind="empty")
        d = json.loads(self.sim.request("GET", self.flags_path())[2])
        self.assertEqual((d["objects"], d["totalCount"]), ([], 0))
        self.fault(match="limit=5", kind="redirect",
                   location="http://127.0.0.2:1/x")
        st, hdrs, raw = self.sim.request("GET", self.flags_path())
        self.assertEqual((st, hdrs["Location"], raw),
                         (302, "http://127.0.0.2:1/x", b""))
        self.fault(match="limit=5", kind="bytes", find="objects", hex="ff")
        raw = self.sim.request("GET", self.flags_path())[2]
        self.assertTrue(raw.startswith(b'{"\xff"'))

    def test_fault_validation(self):
        for spec in ({"kind": "explode"}, {"kind": "status", "match": "("},
                     {"kind": "status", "count": 0},
                     {"kind": "status", "status": "x"}):
            self.assertEqual(self.sim.ctl("POST", "fault", spec)[0], 400)
        st, d = self.sim.ctl("GET", "fault")
        self.assertEqual(d["faults"], [])


class TestRateLimit(SimCase):
    ARGS = ("--generate", "10", "--rps", "2")

    def test_429_headers(self):
        time.sleep(1.1)  # setUpClass spent a token: refill the buckets
        c = self.sim.conn()
        statuses, limited = [], None
        try:
            for _ in range(8):
                st, hdrs, raw = self.sim.request("GET", V2 + "/workspaces",
                                                 conn=c)
                statuses.append(st)
                if st == 429 and limited is None:
                    limited = (hdrs, json.loads(raw))
        finally:
            c.close()
        self.assertEqual(statuses[:2], [200, 200])
        self.assertIn(429, statuses)
        hdrs, body = limited
        self.assertEqual(body["code"], 429)
        for h in RL_HEADERS:
            self.assertRegex(hdrs[h], r"^\d+$", h)
        self.assertGreaterEqual(int(hdrs["X-RateLimit-Reset-Seconds-Org"]),
                                1)
        self.assertGreaterEqual(int(hdrs["X-RateLimit-Reset-Seconds-IP"]), 1)
        self.assertIsNone(hdrs["Retry-After"])
        time.sleep(max(int(hdrs["X-RateLimit-Reset-Seconds-Org"]),
                       int(hdrs["X-RateLimit-Reset-Seconds-IP"])))
        self.assertEqual(self.sim.request("GET", V2 + "/workspaces")[0], 200)

    def test_runtime_switch(self):
        self.assertEqual(self.sim.ctl("POST", "ratelimit", {"rps": 0})[0],
                         200)
        try:
            got = [self.sim.request("GET", V2 + "/workspaces")[0]
                   for _ in range(10)]
            self.assertEqual(set(got), {200})
        finally:
            self.sim.ctl("POST", "ratelimit", {"rps": 2})
        time.sleep(1.1)


class TestMutations(SimCase):
    def definition(self, flag, env="Production"):
        st, _, d = self.sim.api("/splits/ws/%s/%s/environments/%s"
                                % (self.ws, flag, env))
        return st, d

    def test_kill_changes_killed_and_last_update_time(self):
        flag = "flag_00001"
        st, before = self.definition(flag)
        self.assertEqual(st, 200)
        st, r = self.sim.ctl("POST", "kill", {"ws": "Default", "flag": flag,
                                              "killed": not before["killed"]})
        self.assertEqual(st, 200, r)
        st, after = self.definition(flag)
        self.assertEqual(after["killed"], not before["killed"])
        self.assertGreater(after["lastUpdateTime"], before["lastUpdateTime"])
        self.assertEqual(after["creationTime"], before["creationTime"])
        st, r = self.sim.ctl("POST", "kill", {"ws": "Default", "flag": flag,
                                              "killed": before["killed"]})
        st, again = self.definition(flag)
        self.assertEqual(again["killed"], before["killed"])
        self.assertGreater(again["lastUpdateTime"], after["lastUpdateTime"])

    def test_touch_only_bumps_last_update_time(self):
        st, before = self.definition("flag_00002")
        for _ in range(3):
            self.sim.ctl("POST", "touch", {"ws": "Default",
                                           "flag": "flag_00002"})
        st, after = self.definition("flag_00002")
        self.assertGreater(after["lastUpdateTime"], before["lastUpdateTime"])
        after.pop("lastUpdateTime")
        before.pop("lastUpdateTime")
        self.assertEqual(after, before)

    def test_default_rule_and_add_rule(self):
        self.sim.ctl("POST", "flag", {"ws": "Default", "flag": "rr",
                                      "definition": {}})
        try:
            st, d = self.definition("rr")
            self.assertEqual((d["defaultTreatment"], d["defaultRule"],
                              d["rules"], d["trafficAllocation"],
                              d["killed"]),
                             ("off", [{"treatment": "off", "size": 100}], [],
                              100, False))
            self.assertEqual([t["name"] for t in d["treatments"]],
                             ["on", "off"])
            rule = [{"treatment": "on", "size": 30},
                    {"treatment": "off", "size": 70}]
            st, r = self.sim.ctl("POST", "default_rule", {
                "ws": "Default", "flag": "rr", "default_rule": rule})
            self.assertEqual(st, 200, r)
            st, r = self.sim.ctl("POST", "add_rule", {"ws": "Default",
                                                      "flag": "rr"})
            self.assertEqual(st, 200, r)
            st, d2 = self.definition("rr")
            self.assertEqual(d2["defaultRule"], rule)
            self.assertEqual(d2["rules"][0]["condition"]["matchers"],
                             [{"type": "IN_SEGMENT", "string": "employees"}])
            self.assertGreater(d2["lastUpdateTime"], d["lastUpdateTime"])
        finally:
            self.sim.ctl("DELETE", "flag?ws=Default&flag=rr")
        self.assertEqual(self.definition("rr")[0], 404)

    def test_grammar_rejections(self):
        flag = "flag_00003"
        st, before = self.definition(flag)
        bad = [
            ("default_rule", {"default_rule": [{"treatment": "on",
                                                "size": 99}]}),
            ("default_rule", {"default_rule": [{"treatment": "nope",
                                                "size": 100}]}),
            ("default_rule", {"default_rule": []}),
            ("add_rule", {"rule": {"condition": {
                "combiner": "OR", "matchers": [
                    {"type": "IN_SEGMENT", "string": "x"}]},
                "buckets": [{"treatment": before["defaultTreatment"],
                             "size": 100}]}}),
            ("add_rule", {"rule": {"condition": {"matchers": [
                {"type": "IN_SEGMENT", "string": "x"}]},
                "buckets": [{"treatment": before["defaultTreatment"],
                             "size": 60}]}}),
            ("add_rule", {"rule": {"condition": {"matchers": [
                {"type": "NO_SUCH_MATCHER"}]},
                "buckets": [{"treatment": before["defaultTreatment"],
                             "size": 100}]}}),
            ("definition", {"set": {"defaultTreatment": "nope"}}),
            ("definition", {"set": {"trafficAllocation": 101}}),
            ("definition", {"set": {"killed": "yes"}}),
            ("definition", {"set": {"lastUpdateTime": 5}}),
            ("definition", {"set": {"treatments": [{"name": "a"}]}}),
        ]
        for ep, body in bad:
            body.update({"ws": "Default", "flag": flag})
            st, r = self.sim.ctl("POST", ep, body)
            self.assertEqual(st, 400, (ep, body, r))
            self.assertFalse(r["ok"])
            self.assertTrue(r["message"])
        st, after = self.definition(flag)
        self.assertEqual(after, before)

    def test_create_flag_with_definition_and_delete(self):
        st, r = self.sim.ctl("POST", "flag", {
            "ws": "Default", "flag": "new_checkout",
            "description": "Fixes SHOP-1", "tags": ["SHOP-7"],
            "definition": {
                "treatments": [{"name": "on", "configurations": "{}"},
                               {"name": "off"}],
                "defaultRule": [{"treatment": "on", "size": 25},
                                {"treatment": "off", "size": 75}]}})
        self.assertEqual(st, 200, r)
        try:
            flags, totals = list_all(self.sim, "/splits/ws/%s" % self.ws)
            self.assertEqual(totals, {121})
            self.assertEqual(flags[-1]["name"], "new_checkout")
            self.assertEqual(flags[-1]["tags"], [{"name": "SHOP-7"}])
            defs, _ = list_all(self.sim, "/splits/ws/%s/environments/"
                               "Production" % self.ws)
            self.assertEqual(defs[-1]["name"], "new_checkout")
            self.assertEqual(defs[-1]["defaultRule"][0]["size"], 25)
            st, r = self.sim.ctl("PATCH", "flag", {
                "ws": "Default", "flag": "new_checkout",
                "set": {"tags": ["PAY-2"], "description": "none"}})
            self.assertEqual(st, 200, r)
            st, _, f = self.sim.api("/splits/ws/%s/new_checkout" % self.ws)
            self.assertEqual((f["tags"], f["description"]),
                             ([{"name": "PAY-2"}], "none"))
            st, r = self.sim.ctl("DELETE", "definition?ws=Default&"
                                 "flag=new_checkout&env=Production")
            self.assertEqual(st, 200, r)
            self.assertEqual(self.definition("new_checkout")[0], 404)
            self.assertEqual(self.sim.api("/splits/ws/%s/new_checkout"
                                          % self.ws)[0], 200)
        finally:
            st, r = self.sim.ctl("DELETE",
                                 "flag?ws=Default&flag=new_checkout")
        self.assertEqual(st, 200)
        self.assertEqual(self.sim.ctl("POST", "flag", {
            "ws": "Default", "flag": "flag_00000"})[0], 400)


class TestStateRoundTrip(unittest.TestCase):
    STATE = {
        "keys": {"k1": {"workspaces": "*"},
                 "k2": {"workspaces": ["B"]}},
        "definitions_over_max": "400",
        "workspaces": [
            {"name": "A", "environments": [
                {"id": "env-prod", "name": "Prod", "production": True}],
             "flags": [{"name": "f1", "tags": ["SHOP-1"],
                        "definitions": {"env-prod": {
                            "killed": True,
                            "defaultRule": [{"treatment": "on",
                                             "size": 100}],
                            "lastUpdateTime": 1700000000123}}},
                       {"name": "f2"}]},
            {"id": "ws-b", "name": "B", "environments": [
                {"name": "Production", "production": True}]},
        ],
    }

    def test_state_file_and_replace(self):
        sim = SimProcess()
        with open(os.path.join(sim.tmp.name, "s.json"), "w") as fp:
            json.dump(self.STATE, fp)
        sim.args = ["--state", os.path.join(sim.tmp.name, "s.json")]
        sim.start()
        try:
            self.assertEqual(sim.api("/workspaces", key=KEY)[0], 401)
            st, _, d = sim.api("/workspaces", key="k2")
            self.assertEqual([w["id"] for w in d["objects"]], ["ws-b"])
            st, _, d = sim.api("/workspaces?name=A", key="k1")
            wa = d["objects"][0]["id"]
            st, _, d = sim.api("/splits/ws/%s/f1/environments/env-prod" % wa,
                               key="k1")
            self.assertEqual((st, d["killed"], d["lastUpdateTime"]),
                             (200, True, 1700000000123))
            st, _, d = sim.api("/splits/ws/%s/environments/Prod?limit=60"
                               % wa, key="k1")
            self.assertEqual(st, 400)
            st, state = sim.ctl("GET", "state")
            st, r = sim.ctl("POST", "state", state)
            self.assertEqual(st, 200, r)
            self.assertEqual(sim.ctl("GET", "state")[1], state)
            bad = dict(state, workspaces=[{"name": "X", "flags": [
                {"name": "f", "definitions": {"nope": {}}}]}])
            self.assertEqual(sim.ctl("POST", "state", bad)[0], 400)
            self.assertEqual(sim.ctl("GET", "state")[1], state)
        finally:
            sim.stop()


class TestGenerateLarge(unittest.TestCase):
    def test_generate_100000(self):
        sim = SimProcess("--generate", "100000").start()
        try:
            print("\n--generate 100000: listening after %.2f s"
                  % sim.startup_seconds, file=sys.stderr)
            ws = sim.ws_id()
            st, _, d = sim.api("/splits/ws/%s?offset=99990&limit=50" % ws)
            self.assertEqual(d["totalCount"], 100000)
            self.assertEqual(d["objects"][-1]["name"], "flag_99999")
            t0 = time.monotonic()
            c = sim.conn()
            for off in range(0, 100000, 5000):
                st, _, raw = sim.request(
                    "GET", V2 + "/splits/ws/%s/environments/Production?"
                    "offset=%d&limit=50" % (ws, off), conn=c)
                self.assertEqual(st, 200)
            c.close()
            print("20 definition pages deep in the list: %.3f s"
                  % (time.monotonic() - t0), file=sys.stderr)
        finally:
            sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
