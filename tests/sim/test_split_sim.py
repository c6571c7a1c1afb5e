#!/usr/bin/env python3
"""Tests for split_sim.py: run with `python3 tests/sim/test_split_sim.py`.

Each test class starts the simulator in a subprocess on port 0 and talks
to it over HTTP, as the C agent's tests do.
"""

import gzip
import http.client
import json
import math
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


SDK = "/api/splitChanges"
SDK_KEY = "sim-sdk-key"
SDK_FIELDS = {"trafficTypeName", "name", "trafficAllocation",
              "trafficAllocationSeed", "seed", "status", "killed",
              "defaultTreatment", "changeNumber", "algo", "configurations",
              "sets", "impressionsDisabled", "conditions"}


def sdk_get(sim, since, key=SDK_KEY, query="s=1.1&since=%d", headers=None,
            conn=None):
    """(status, headers, parsed body) of one splitChanges request."""
    h = {"Authorization": "Bearer " + key} if key is not None else {}
    h.update(headers or {})
    st, hdrs, raw = sim.request("GET", SDK + "?" + (query % since
                                                    if "%d" in query
                                                    else query),
                                key=None, headers=h, conn=conn)
    if hdrs.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return st, hdrs, json.loads(raw)


def sdk_follow(sim, since, key=SDK_KEY):
    """Follow till until since == till, as an SDK does (reference 4.1):
    (every split seen, in order, the final change number, requests)."""
    seen, n = [], 0
    while True:
        st, _, d = sdk_get(sim, since, key)
        assert st == 200, d
        n += 1
        seen.extend(d["splits"])
        assert d["since"] == since, d
        if d["till"] == since:
            return seen, since, n
        since = d["till"]


class TestSdkFeed(SimCase):
    """GET /api/splitChanges: the SDK API's change feed (reference 4)."""

    def setUp(self):
        super().setUp()
        self.sim.ctl("POST", "config", {"sdk_page": 0})

    def ctl_ok(self, method, name, body=None):
        st, d = self.sim.ctl(method, name, body)
        self.assertEqual(st, 200, (name, body, d))
        return d

    def head(self):
        """The feed's current change number."""
        _, cn, _ = sdk_follow(self.sim, -1)
        return cn

    def test_auth(self):
        for key, extra in ((None, None), ("nope", None), (KEY, None),
                           (None, {"x-api-key": SDK_KEY}),
                           (None, {"Authorization": "Basic " + SDK_KEY})):
            st, hdrs, d = sdk_get(self.sim, -1, key=key, headers=extra)
            self.assertEqual((st, d), (401, {"code": 401, "message":
                                             "Invalid SDK API Key"}))
        self.assertEqual(sdk_get(self.sim, -1)[0], 200)
        # An SDK key is not an Admin key.
        self.assertEqual(self.sim.api("/workspaces", key=SDK_KEY)[0], 401)

    def test_since_minus_one_is_every_defined_flag(self):
        st, state = self.sim.ctl("GET", "state")
        ws = state["workspaces"][0]
        prod, stag = (e["id"] for e in ws["environments"])
        want = {f["name"] for f in ws["flags"] if prod in f["definitions"]}
        st, hdrs, d = sdk_get(self.sim, -1)
        self.assertEqual(st, 200)
        self.assertEqual(set(d), {"splits", "since", "till"})
        self.assertEqual(d["since"], -1)
        self.assertEqual({s["name"] for s in d["splits"]}, want)
        self.assertEqual(len(d["splits"]), len(want))
        cns = [s["changeNumber"] for s in d["splits"]]
        self.assertEqual(len(set(cns)), len(cns), "change numbers repeat")
        self.assertGreaterEqual(d["till"], max(cns))  # deletions count too
        for sp in d["splits"]:
            self.assertEqual(set(sp), SDK_FIELDS, sp["name"])
            self.assertEqual((sp["status"], sp["algo"]), ("ACTIVE", 2))
            self.assertEqual(sp["conditions"][-1]["label"], "default rule")
        # Staging has its own key, flags and change numbers.
        key = "sim-sdk-key-Default-Staging"
        st, _, d2 = sdk_get(self.sim, -1, key=key)
        self.assertEqual(st, 200)
        self.assertEqual({s["name"] for s in d2["splits"]},
                         {f["name"] for f in ws["flags"]
                          if stag in f["definitions"]})
        st, _, d3 = sdk_get(self.sim, d["till"])
        self.assertEqual((d3["splits"], d3["since"], d3["till"]),
                         ([], d["till"], d["till"]))

    def test_every_save_moves_the_feed_and_tags_do_not(self):
        saves = [
            ("kill", {"killed": True}),
            ("kill", {"killed": False}),
            ("default_rule", {"default_rule": [
                {"treatment": "on", "size": 40},
                {"treatment": "off", "size": 60}]}),
            ("add_rule", {}),
            ("definition", {"set": {"trafficAllocation": 35}}),
            ("definition", {"set": {"treatments": [
                {"name": "on", "keys": ["a"]}, {"name": "off"}]}}),
            ("touch", {}),
        ]
        self.ctl_ok("POST", "flag", {"ws": "Default", "flag": "fd_one",
                                     "definition": {}})
        try:
            for ep, body in saves:
                cn = self.head()
                self.ctl_ok("POST", ep, dict(body, ws="Default",
                                             flag="fd_one"))
                seen, till, n = sdk_follow(self.sim, cn)
                self.assertEqual([s["name"] for s in seen], ["fd_one"], ep)
                self.assertGreater(seen[0]["changeNumber"], cn)
                self.assertEqual(till, seen[0]["changeNumber"])
                self.assertEqual(n, 2)
            self.assertEqual(seen[0]["trafficAllocation"], 35)
            cn = self.head()
            self.ctl_ok("PATCH", "flag", {"ws": "Default", "flag": "fd_one",
                                          "set": {"tags": ["SHOP-1"],
                                                  "description": "x"}})
            st, _, d = sdk_get(self.sim, cn)
            self.assertEqual((d["splits"], d["till"]), ([], cn),
                             "a tag edit moved the feed")
        finally:
            self.sim.ctl("DELETE", "flag?ws=Default&flag=fd_one")

    def test_other_environment_does_not_move_production(self):
        cn = self.head()
        self.ctl_ok("POST", "definition", {"ws": "Default",
                                           "flag": "flag_00004",
                                           "env": "Staging",
                                           "set": {"killed": True}})
        self.assertEqual(sdk_get(self.sim, cn)[2]["till"], cn)
        st, _, d = sdk_get(self.sim, -1, key="sim-sdk-key-Default-Staging")
        self.assertIn("flag_00004", [s["name"] for s in d["splits"]])

    def test_deletions_are_archived_and_kept(self):
        self.ctl_ok("POST", "flag", {"ws": "Default", "flag": "fd_gone",
                                     "definition": {"killed": True}})
        self.ctl_ok("POST", "flag", {"ws": "Default", "flag": "fd_undef",
                                     "definition": {}})
        cn = self.head()
        self.ctl_ok("DELETE", "flag?ws=Default&flag=fd_gone")
        self.ctl_ok("DELETE", "definition?ws=Default&flag=fd_undef"
                    "&env=Production")
        seen, till, _ = sdk_follow(self.sim, cn)
        self.assertEqual([(s["name"], s["status"]) for s in seen],
                         [("fd_gone", "ARCHIVED"), ("fd_undef", "ARCHIVED")])
        self.assertTrue(seen[0]["killed"], "the tombstone is the last state")
        self.assertLess(seen[0]["changeNumber"], seen[1]["changeNumber"])
        # Tombstones stay for any later since, but not in since=-1.
        seen2, _, _ = sdk_follow(self.sim, cn)
        self.assertEqual(seen2, seen)
        names = [s["name"] for s in sdk_get(self.sim, -1)[2]["splits"]]
        self.assertNotIn("fd_gone", names)
        self.assertNotIn("fd_undef", names)
        # Created again: ACTIVE, with a newer change number.
        self.ctl_ok("POST", "flag", {"ws": "Default", "flag": "fd_gone",
                                     "definition": {}})
        seen3, _, _ = sdk_follow(self.sim, till)
        self.assertEqual([(s["name"], s["status"]) for s in seen3],
                         [("fd_gone", "ACTIVE")])
        self.ctl_ok("DELETE", "flag?ws=Default&flag=fd_gone")
        self.ctl_ok("DELETE", "flag?ws=Default&flag=fd_undef")

    def test_page_cap_must_be_followed(self):
        cn = self.head()
        names = ["flag_%05d" % i for i in (10, 11, 12, 13, 14, 15, 16)]
        st, state = self.sim.ctl("GET", "state")
        prod = state["workspaces"][0]["environments"][0]["id"]
        have = {f["name"] for f in state["workspaces"][0]["flags"]
                if prod in f["definitions"]}
        names = [n for n in names if n in have]
        for n in names:
            self.ctl_ok("POST", "touch", {"ws": "Default", "flag": n})
        full = sdk_get(self.sim, -1)[2]
        self.ctl_ok("POST", "config", {"sdk_page": 2})
        seen, till, n = sdk_follow(self.sim, cn)
        self.assertEqual([s["name"] for s in seen], names)
        self.assertEqual(n, (len(names) + 1) // 2 + 1)
        st, _, d = sdk_get(self.sim, cn)
        self.assertEqual(len(d["splits"]), 2)
        self.assertEqual(d["till"], d["splits"][-1]["changeNumber"])
        everything, _, _ = sdk_follow(self.sim, -1)
        last = {}
        for sp in everything:  # later pages may hold other tests' deletions
            last[sp["name"]] = sp["status"]
        self.assertEqual({n for n, st in last.items() if st == "ACTIVE"},
                         {s["name"] for s in full["splits"]})
        self.assertEqual(sdk_get(self.sim, -1)[2]["till"],
                         sdk_get(self.sim, -1)[2]["splits"][1]
                         ["changeNumber"])

    def test_gzip(self):
        st, hdrs, raw = self.sim.request(
            "GET", SDK + "?s=1.1&since=-1", key=SDK_KEY,
            headers={"Accept-Encoding": "deflate, gzip;q=0.5"})
        self.assertEqual((st, hdrs["Content-Encoding"]), (200, "gzip"))
        self.assertEqual(int(hdrs["Content-Length"]), len(raw))
        plain = self.sim.request("GET", SDK + "?s=1.1&since=-1",
                                 key=SDK_KEY)
        self.assertIsNone(plain[1]["Content-Encoding"])
        self.assertEqual(gzip.decompress(raw), plain[2])
        self.assertLess(len(raw), len(plain[2]) / 4)
        for ae in ("identity", "gzip;q=0"):
            h = self.sim.request("GET", SDK + "?s=1.1&since=-1", key=SDK_KEY,
                                 headers={"Accept-Encoding": ae})[1]
            self.assertIsNone(h["Content-Encoding"], ae)
        # Admin answers are never compressed.
        h = self.sim.request("GET", V2 + "/workspaces",
                             headers={"Accept-Encoding": "gzip"})[1]
        self.assertIsNone(h["Content-Encoding"])

    def test_bad_requests(self):
        for q, want in (("s=1.3&since=-1", 400), ("s=2&since=-1", 400),
                        ("s=1.1", 400), ("s=1.1&since=x", 400),
                        ("s=1.1&since=-2", 400), ("s=1.1&since=5&till=x", 400),
                        ("since=-1", 200), ("s=1.0&since=-1", 200),
                        ("s=1.1&since=-1&till=99", 200)):
            st, _, d = sdk_get(self.sim, 0, query=q)
            self.assertEqual(st, want, (q, d))
        st, _, raw = self.sim.request("GET", "/api/segmentChanges/x?since=-1",
                                      key=SDK_KEY)
        self.assertEqual(st, 404)
        st, _, raw = self.sim.request("POST", SDK + "?s=1.1&since=-1",
                                      key=SDK_KEY, body={})
        self.assertEqual(st, 405)

    def test_sdk_form_of_targets_rules_and_default_rule(self):
        self.ctl_ok("POST", "flag", {"ws": "Default", "flag": "fd_form",
                                     "trafficType": "account",
                                     "definition": {
            "treatments": [{"name": "on", "configurations": '{"c":1}',
                            "keys": ["alice", "bob"],
                            "segments": ["beta"]},
                           {"name": "off"}, {"name": "v3"}],
            "defaultTreatment": "off",
            "rules": [{"condition": {"matchers": [
                {"type": "IN_SEGMENT", "string": "employees"},
                {"type": "ANY_OF_SET", "attribute": "plan",
                 "strings": ["gold"], "negate": True}]},
                "buckets": [{"treatment": "on", "size": 100}]}],
            "defaultRule": [{"treatment": "on", "size": 10},
                            {"treatment": "off", "size": 90}],
            "trafficAllocation": 80}})
        try:
            sp = [s for s in sdk_get(self.sim, -1)[2]["splits"]
                  if s["name"] == "fd_form"][0]
            self.assertEqual((sp["trafficTypeName"], sp["trafficAllocation"],
                              sp["defaultTreatment"], sp["killed"],
                              sp["configurations"]),
                             ("account", 80, "off", False, {"on": '{"c":1}'}))
            c = sp["conditions"]
            self.assertEqual([(x["conditionType"], x["label"]) for x in c],
                             [("WHITELIST", "whitelisted"),
                              ("WHITELIST", "whitelisted segment"),
                              ("ROLLOUT", "in segment employees and plan any"
                               " of set"),
                              ("ROLLOUT", "default rule")])
            m = c[0]["matcherGroup"]["matchers"][0]
            self.assertEqual((m["matcherType"], m["keySelector"],
                              m["whitelistMatcherData"]),
                             ("WHITELIST", None,
                              {"whitelist": ["alice", "bob"]}))
            self.assertEqual(c[0]["partitions"],
                             [{"treatment": "on", "size": 100}])
            m = c[1]["matcherGroup"]["matchers"][0]
            self.assertEqual((m["matcherType"],
                              m["userDefinedSegmentMatcherData"]),
                             ("IN_SEGMENT", {"segmentName": "beta"}))
            m1, m2 = c[2]["matcherGroup"]["matchers"]
            self.assertEqual(c[2]["matcherGroup"]["combiner"], "AND")
            self.assertEqual(m1["userDefinedSegmentMatcherData"],
                             {"segmentName": "employees"})
            self.assertEqual((m2["matcherType"], m2["negate"],
                              m2["keySelector"], m2["whitelistMatcherData"]),
                             ("CONTAINS_ANY_OF_SET", True,
                              {"trafficType": "account", "attribute": "plan"},
                              {"whitelist": ["gold"]}))
            self.assertEqual(c[2]["partitions"],
                             [{"treatment": "on", "size": 100},
                              {"treatment": "off", "size": 0},
                              {"treatment": "v3", "size": 0}])
            m = c[3]["matcherGroup"]["matchers"][0]
            self.assertEqual((m["matcherType"], m["keySelector"]),
                             ("ALL_KEYS", {"trafficType": "account",
                                           "attribute": None}))
            self.assertEqual(c[3]["partitions"],
                             [{"treatment": "on", "size": 10},
                              {"treatment": "off", "size": 90},
                              {"treatment": "v3", "size": 0}])
            for x in (sp["seed"], sp["trafficAllocationSeed"]):
                self.assertTrue(-2 ** 31 <= x < 2 ** 31)
        finally:
            self.sim.ctl("DELETE", "flag?ws=Default&flag=fd_form")

    def test_counters_and_log_are_separate(self):
        self.sim.ctl("DELETE", "stats")
        self.sim.ctl("DELETE", "requests")
        sdk_get(self.sim, -1, headers={"Accept-Encoding": "gzip"})
        sdk_get(self.sim, -1, key="nope")
        self.sim.api("/workspaces")
        st, s = self.sim.ctl("GET", "stats")
        self.assertEqual((s["api_requests"], s["sdk_requests"]), (1, 2))
        self.assertEqual(s["sdk_by_status"], {"200": 1, "401": 1})
        self.assertEqual(s["sdk_by_endpoint"], {"splitChanges": 1,
                                                "error": 1})
        self.assertEqual(s["by_endpoint"], {"workspaces": 1})
        self.assertGreater(s["sdk_bytes"], 100)
        reqs = self.sim.ctl("GET", "requests")[1]["requests"]
        self.assertEqual([(r["api"], r["status"]) for r in reqs],
                         [("sdk", 200), ("sdk", 401), ("admin", 200)])
        r = reqs[0]
        self.assertEqual((r["path"], r["since"], r["gzip"], r["auth"],
                          r["key"]), (SDK, -1, True, "bearer", SDK_KEY))
        self.assertEqual(r["splits"], s["sdk_splits"])
        self.assertGreater(r["till"], 0)
        st, d = self.sim.ctl("GET", "requests?api=sdk")
        self.assertEqual(len(d["requests"]), 2)
        st, d = self.sim.ctl("GET", "requests?api=admin")
        self.assertEqual([r["path"] for r in d["requests"]],
                         [V2 + "/workspaces"])

    def test_faults(self):
        def fault(**spec):
            self.ctl_ok("POST", "fault", dict(spec, match="splitChanges"))
        fault(kind="status", status=503)
        self.assertEqual(sdk_get(self.sim, -1)[0], 503)
        fault(kind="malformed")
        st, _, raw = self.sim.request("GET", SDK + "?s=1.1&since=-1",
                                      key=SDK_KEY)
        with self.assertRaises(ValueError):
            json.loads(raw)
        fault(kind="truncated")
        st, hdrs, raw = self.sim.request(
            "GET", SDK + "?s=1.1&since=-1", key=SDK_KEY,
            headers={"Accept-Encoding": "gzip"})
        self.assertEqual((st, int(hdrs["Content-Length"])), (200, len(raw)))
        with self.assertRaises(EOFError):
            gzip.decompress(raw)
        fault(kind="close")
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError)):
            sdk_get(self.sim, -1)
        fault(kind="edit", index=0, set={"status": "WEIRD"})
        self.assertEqual(sdk_get(self.sim, -1)[2]["splits"][0]["status"],
                         "WEIRD")
        fault(kind="empty")
        d = sdk_get(self.sim, -1)[2]
        self.assertEqual(d["splits"], [])
        self.assertGreater(d["till"], 0)
        fault(kind="huge", size=8 << 20)
        st, hdrs, raw = self.sim.request(
            "GET", SDK + "?s=1.1&since=-1", key=SDK_KEY,
            headers={"Accept-Encoding": "gzip"})
        self.assertLess(len(raw), 64 << 10)
        self.assertEqual(len(gzip.decompress(raw)), 8 << 20)
        fault(kind="slow", delay=0.5)
        t0 = time.monotonic()
        self.assertEqual(sdk_get(self.sim, -1)[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)
        self.assertEqual(sdk_get(self.sim, -1)[0], 200)

    def test_sdk_key_control(self):
        d = self.ctl_ok("POST", "sdk_key", {"ws": "Default",
                                            "env": "Staging"})
        key = d["key"]
        self.assertEqual((d["env"], d["ws"]), ("Staging", "Default"))
        self.assertEqual(sdk_get(self.sim, -1, key=key)[0], 200)
        keys = {k["key"]: k["env"]
                for k in self.ctl_ok("GET", "sdk_key")["keys"]}
        self.assertEqual(keys[key], "Staging")
        self.assertEqual(keys[SDK_KEY], "Production")
        self.ctl_ok("POST", "sdk_key", {"ws": "Default", "key": "mine"})
        self.assertEqual(sdk_get(self.sim, -1, key="mine")[2]["till"],
                         sdk_get(self.sim, -1)[2]["till"])
        self.assertEqual(self.sim.ctl("POST", "sdk_key", {
            "ws": "Default", "env": "Staging", "key": "mine"})[0], 400)
        for k in (key, "mine"):
            self.ctl_ok("DELETE", "sdk_key?key=" + k)
            self.assertEqual(sdk_get(self.sim, -1, key=k)[0], 401)
        self.assertEqual(self.sim.ctl("DELETE", "sdk_key?key=mine")[0], 400)


class TestSdkState(unittest.TestCase):
    def test_change_numbers_and_tombstones_survive_a_dump(self):
        sim = SimProcess("--generate", "30").start()
        try:
            st, state = sim.ctl("GET", "state")
            prod = state["workspaces"][0]["environments"][0]["id"]
            a, b, c = [f["name"] for f in state["workspaces"][0]["flags"]
                       if prod in f["definitions"]][:3]
            sim.ctl("POST", "kill", {"ws": "Default", "flag": a})
            sim.ctl("DELETE", "flag?ws=Default&flag=" + b)
            before = sdk_get(sim, -1)[2]
            cn = before["till"]
            old = sdk_follow(sim, cn - 1)[0]
            st, state = sim.ctl("GET", "state")
            env = state["workspaces"][0]["environments"][0]
            self.assertEqual(env["sdkKeys"][0], SDK_KEY)
            self.assertEqual(env["changeNumber"], cn)
            self.assertEqual([x["name"] for x in env["archived"]], [b])
            st, r = sim.ctl("POST", "state", state)
            self.assertEqual(st, 200, r)
            self.assertEqual(sim.ctl("GET", "state")[1], state)
            self.assertEqual(sdk_get(sim, -1)[2], before)
            self.assertEqual(sdk_follow(sim, cn - 1)[0], old)
            sim.ctl("POST", "touch", {"ws": "Default", "flag": c})
            seen = sdk_follow(sim, cn)[0]
            self.assertEqual([s["name"] for s in seen], [c])
            self.assertGreater(seen[0]["changeNumber"], cn)
            # Default keys: without sdkKeys in the state, each environment
            # gets its own, and the first production one sim-sdk-key.
            st, r = sim.ctl("POST", "state", {"workspaces": [
                {"name": "W", "environments": [
                    {"name": "Prod", "production": True}, {"name": "Dev"}]}]})
            self.assertEqual(st, 200, r)
            keys = {k["key"]: k["env"]
                    for k in sim.ctl("GET", "sdk_key")[1]["keys"]}
            self.assertEqual(keys, {SDK_KEY: "Prod",
                                    "sim-sdk-key-W-Prod": "Prod",
                                    "sim-sdk-key-W-Dev": "Dev"})
            d = sdk_get(sim, -1)[2]
            self.assertEqual(d, {"splits": [], "since": -1, "till": -1})
            bad = {"workspaces": [{"name": "W", "environments": [
                {"name": "A", "sdkKeys": ["k"]},
                {"name": "B", "sdkKeys": ["k"]}]}]}
            self.assertEqual(sim.ctl("POST", "state", bad)[0], 400)
            # A flag copied with its change number (as a test builds a big
            # state) is renumbered, not refused.
            f = {"name": "a", "definitions": {"P": {"changeNumber": 7}}}
            st, r = sim.ctl("POST", "state", {"workspaces": [
                {"name": "W", "environments": [{"name": "P"}],
                 "flags": [f, dict(f, name="b")]}]})
            self.assertEqual(st, 200, r)
            d = sdk_get(sim, -1)[2]
            cns = {s["name"]: s["changeNumber"] for s in d["splits"]}
            self.assertEqual(cns["a"], 7)
            self.assertGreater(cns["b"], 7)
            self.assertEqual(d["till"], cns["b"])
        finally:
            sim.stop()


class TestRateWindow(SimCase):
    """--rate-limit 3: Split's Admin limit as windows of one second."""
    ARGS = ("--generate", "10", "--rate-limit", "3")

    def fresh_window(self):
        """Wait for the next wall-clock second: a new window."""
        time.sleep(1.0 - time.time() % 1.0 + 0.01)

    def test_three_a_second_then_429_with_zero_reset(self):
        c = self.sim.conn()
        try:
            # the five must fall in one window: on a busy machine they
            # may not, and then the measurement is taken again
            for _ in range(5):
                self.fresh_window()
                start = int(time.time())
                got = [self.sim.request("GET", V2 + "/workspaces", conn=c)
                       for _ in range(5)]
                if int(time.time()) == start:
                    break
            sdk = [sdk_get(self.sim, -1, conn=c)[0] for _ in range(10)]
        finally:
            c.close()
        self.assertEqual([g[0] for g in got], [200, 200, 200, 429, 429])
        self.assertEqual(set(sdk), {200}, "the SDK API is not rate limited")
        h = got[3][1]
        self.assertEqual([h[x] for x in RL_HEADERS], ["0", "0", "0", "0"])
        self.assertEqual(json.loads(got[3][2])["code"], 429)
        self.assertIsNone(h["Retry-After"])
        self.fresh_window()
        self.assertEqual(self.sim.request("GET", V2 + "/workspaces")[0], 200)

    def test_per_organisation_and_per_ip(self):
        self.sim.ctl("POST", "key", {"key": "same-org"})
        self.sim.ctl("POST", "key", {"key": "other-org", "org": "o2"})

        def get(key, ip):
            c = http.client.HTTPConnection("127.0.0.1", self.sim.port,
                                           timeout=10,
                                           source_address=(ip, 0))
            try:
                return self.sim.request("GET", V2 + "/workspaces", key=key,
                                        conn=c)
            finally:
                c.close()
        try:
            self.fresh_window()
            got = [get(KEY, "127.0.0.1")[0], get("same-org", "127.0.0.2")[0],
                   get(KEY, "127.0.0.2")[0]]
            st, h, _ = get("same-org", "127.0.0.2")
            other = get("other-org", "127.0.0.2")[0]
            ip_full = get("other-org", "127.0.0.2")[0]
        finally:
            self.sim.ctl("DELETE", "key?key=same-org")
            self.sim.ctl("DELETE", "key?key=other-org")
        self.assertEqual(got, [200, 200, 200])
        self.assertEqual((st, h["X-RateLimit-Remaining-Org"],
                          h["X-RateLimit-Remaining-IP"]), (429, "0", "1"))
        self.assertEqual((other, ip_full), (200, 429))

    def test_window_of_several_seconds(self):
        self.assertEqual(self.sim.ctl("POST", "ratelimit", {
            "rate_limit": 2, "rate_window": 10, "retry_after": True})[0], 200)
        try:
            got = [self.sim.request("GET", V2 + "/workspaces")
                   for _ in range(3)]
            w = time.time() % 10
        finally:
            self.sim.ctl("POST", "ratelimit", {"rate_limit": 3,
                                               "retry_after": False})
        if got[2][0] == 200:
            self.skipTest("a 10 s window boundary fell inside the burst")
        h = got[2][1]
        # w was read just after the answer: the window had as much left
        # then, or a moment more.
        self.assertIn(int(h["X-RateLimit-Reset-Seconds-Org"]),
                      (int(10 - w), int(10 - w) + 1))
        self.assertIn(int(h["Retry-After"]),
                      (math.ceil(10 - w), math.ceil(10 - w) + 1))
        self.assertEqual(h["X-RateLimit-Remaining-Org"], "0")
        st, d = self.sim.ctl("POST", "ratelimit", {"rps": 2,
                                                   "rate_limit": 2})
        self.assertEqual(st, 400)


class TestHarnessTokens(SimCase):
    """pat./sat. tokens in x-api-key only (reference 1, Harness page)."""

    def test_tokens_need_x_api_key_and_the_log_says_which(self):
        self.sim.ctl("DELETE", "requests")
        made = []
        for kind in ("pat", "sat"):
            st, d = self.sim.ctl("POST", "key", {"type": kind})
            self.assertEqual((st, d["harness"]), (200, True))
            self.assertTrue(d["key"].startswith(kind + "."))
            made.append(d["key"])
        try:
            for tok in made:
                st, _, d = self.sim.api("/workspaces", key=tok)
                self.assertEqual((st, d["message"]),
                                 (401, "Invalid Admin API Key"))
                st, _, d = self.sim.api("/workspaces", key=None,
                                        headers={"x-api-key": tok})
                self.assertEqual(st, 200)
            self.assertEqual(self.sim.api("/workspaces", key=None, headers={
                "x-api-key": KEY})[0], 200)
            self.assertEqual(self.sim.api("/workspaces")[0], 200)
            self.assertEqual(self.sim.ctl("POST", "key", {
                "type": "pat", "key": "sat.x"})[0], 400)
        finally:
            for tok in made:
                self.sim.ctl("DELETE", "key?key=" + tok)
        reqs = self.sim.ctl("GET", "requests")[1]["requests"]
        self.assertEqual([(r["auth"], r["status"]) for r in reqs],
                         [("bearer", 401), ("x-api-key", 200),
                          ("bearer", 401), ("x-api-key", 200),
                          ("x-api-key", 200), ("bearer", 200)])


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
        c = self.sim.conn()
        try:
            # eight requests faster than the buckets refill; a busy
            # machine may be slower than that, and then they go again
            for _ in range(5):
                time.sleep(1.1)  # refill the buckets
                statuses, limited = [], None
                t0 = time.monotonic()
                for _ in range(8):
                    st, hdrs, raw = self.sim.request(
                        "GET", V2 + "/workspaces", conn=c)
                    statuses.append(st)
                    if st == 429 and limited is None:
                        limited = (hdrs, json.loads(raw))
                if time.monotonic() - t0 < 0.4:
                    break
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

class TestWrites(SimCase):
    """Flag creation and tag association (README, "Writes")."""

    def post(self, path, body, key=KEY):
        st, _, raw = self.sim.request("POST", V2 + path, body=body, key=key)
        return st, json.loads(raw)

    def create(self, name, tt="user", **extra):
        return self.post("/splits/ws/%s/trafficTypes/%s" % (self.ws, tt),
                         dict({"name": name, "description": "d"}, **extra))

    def tag(self, name, tags):
        return self.post("/tags/ws/%s/object/%s/objecttype/Split"
                         % (self.ws, name), tags)

    def test_create_echoes_the_flag_as_get_shows_it(self):
        st, d = self.create("wr_new_one", description="Created from SHOP-1")
        self.assertEqual(st, 200, d)
        st2, _, g = self.sim.api("/splits/ws/%s/wr_new_one" % self.ws)
        self.assertEqual(st2, 200)
        self.assertEqual(d, g)
        self.assertEqual((d["name"], d["description"], d["tags"],
                          d["trafficType"]["name"]),
                         ("wr_new_one", "Created from SHOP-1", [], "user"))
        st, d = self.create("wr_new_one")
        self.assertEqual((st, d["code"]), (409, 409))
        self.assertIn("wr_new_one", d["message"])

    def test_names_breaking_the_rule_are_400(self):
        for bad in ("1flag", "_x", "-x", "has space", "dot.ted", "slash%2Fx",
                    "", "\u00e9t\u00e9", None, 7):
            st, d = self.create(bad)
            self.assertEqual(st, 400, (bad, d))
            self.assertIn("must start with a letter", d["message"])
        for good in ("a", "Z-9_x", "wr_ok-Name_2"):
            self.assertEqual(self.create(good)[0], 200, good)
        st, d = self.post("/splits/ws/%s/trafficTypes/user" % self.ws, [1])
        self.assertEqual(st, 400)

    def test_unknown_traffic_type_or_workspace_is_404(self):
        st, d = self.create("wr_tt", tt="account")
        self.assertEqual((st, d["message"]), (404, MSG_404))
        st, d = self.post("/splits/ws/nope/trafficTypes/user",
                          {"name": "wr_tt"})
        self.assertEqual(st, 404)
        st, _ = self.sim.ctl("POST", "flag", {"ws": "Default",
                                              "flag": "wr_acct",
                                              "trafficType": "account"})
        self.assertEqual(st, 200)
        self.assertEqual(self.create("wr_tt", tt="account")[0], 200,
                         "a traffic type in use is known")
        self.assertEqual(self.create("wr_tt2", tt="tt-user")[0], 200,
                         "the traffic type by id")

    def test_tags_replace_the_whole_list(self):
        self.assertEqual(self.create("wr_tags")[0], 200)
        st, d = self.tag("wr_tags", ["SHOP-1", "mine", "SHOP-1"])
        self.assertEqual(st, 200, d)
        path = "/splits/ws/%s/wr_tags" % self.ws
        self.assertEqual(self.sim.api(path)[2]["tags"],
                         [{"name": "SHOP-1"}, {"name": "mine"}])
        self.assertEqual(self.tag("wr_tags", ["mine"])[0], 200)
        self.assertEqual(self.sim.api(path)[2]["tags"], [{"name": "mine"}])
        self.assertEqual(self.tag("wr_tags", [])[0], 200)
        self.assertEqual(self.sim.api(path)[2]["tags"], [])
        self.assertEqual(self.tag("wr_missing", ["x"])[0], 404)
        self.assertEqual(self.tag("wr_tags", {"tags": ["x"]})[0], 400)
        self.assertEqual(self.tag("wr_tags", [""])[0], 400)
        st, _ = self.post("/tags/ws/%s/object/wr_tags/objecttype/Segment"
                          % self.ws, ["x"])
        self.assertEqual(st, 400)

    def test_writes_need_a_key_and_get_is_not_a_write(self):
        self.assertEqual(self.create("wr_nokey")[0], 200)
        st, _ = self.post("/splits/ws/%s/trafficTypes/user" % self.ws,
                          {"name": "wr_nokey2"}, key="bad")
        self.assertEqual(st, 401)
        st, _, _ = self.sim.request(
            "PUT", V2 + "/tags/ws/%s/object/wr_nokey/objecttype/Split"
            % self.ws, body=["x"])
        self.assertEqual(st, 405)

    def test_logged_counted_and_the_feed_does_not_move(self):
        _, cn, _ = sdk_follow(self.sim, -1)
        self.sim.ctl("DELETE", "requests")
        self.sim.ctl("DELETE", "stats")
        self.create("wr_log")
        self.create("wr_log")
        self.tag("wr_log", ["SHOP-9"])
        st, d = self.sim.ctl("GET", "requests")
        got = [(r["method"], r["path"].split("/")[-2:], r["status"],
                json.loads(r["body"])) for r in d["requests"]]
        self.assertEqual(got, [
            ("POST", ["trafficTypes", "user"], 200,
             {"name": "wr_log", "description": "d"}),
            ("POST", ["trafficTypes", "user"], 409,
             {"name": "wr_log", "description": "d"}),
            ("POST", ["objecttype", "Split"], 200, ["SHOP-9"])])
        st, s = self.sim.ctl("GET", "stats")
        self.assertEqual(s["by_endpoint"], {"create_flag": 2, "tags": 1})
        self.assertEqual(s["api_requests"], 3)
        st, _, d = sdk_get(self.sim, cn)
        self.assertEqual((d["splits"], d["till"]), ([], cn),
                         "creating a flag or tagging it moved the feed")

    def test_created_flag_survives_a_state_dump(self):
        self.assertEqual(self.create("wr_dump")[0], 200)
        st, state = self.sim.ctl("GET", "state")
        ws = [w for w in state["workspaces"] if w["name"] == "Default"][0]
        self.assertIn("user", [t["name"] for t in ws["trafficTypes"]])
        self.assertIn("wr_dump", [f["name"] for f in ws["flags"]])


class TestWritesRateLimited(SimCase):
    """Writes share the Admin rate limit with reads."""
    ARGS = ("--generate", "3", "--rate-limit", "1", "--rate-window", "600")

    def test_write_after_read_in_one_window_is_429(self):
        # setUpClass's read may have used the window's one request: either
        # way, after this read the window is spent.
        self.sim.request("GET", V2 + "/workspaces")
        st, hdrs, raw = self.sim.request(
            "POST", V2 + "/splits/ws/x/trafficTypes/user", body={"name": "a"})
        self.assertEqual(st, 429)
        self.assertIn("X-RateLimit-Reset-Seconds-Org", hdrs)
        st, s = self.sim.ctl("GET", "stats")
        self.assertEqual(s["flags"], 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
