#!/usr/bin/env python3
"""Tests for jira_sim.py: run with `python3 tests/sim/test_jira_sim.py`.

Each test class starts the simulator in a subprocess on port 0 and talks
to it over HTTP, as the C agent's tests do.
"""

import base64
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "jira_sim.py")
EMAIL = "flagsync-bot@example.com"
TOKEN = "sim-jira-token"
API = "/rest/api/3"
MSG_401 = {"errorMessages": ["Client must be authenticated to access this "
                             "resource."], "errors": {}}
MSG_404 = {"errorMessages": ["Issue does not exist or you do not have "
                             "permission to see it."], "errors": {}}
MSG_410 = {"errorMessages": [
    "The requested API has been removed. Please migrate to the "
    "/rest/api/3/search/jql API. A full migration guideline is available "
    "at https://developer.atlassian.com/changelog/#CHANGE-2046"],
    "errors": {}}
RESET_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\dZ$")
ANON = object()


def basic(email, token):
    raw = ("%s:%s" % (email, token)).encode()
    return "Basic " + base64.b64encode(raw).decode()


class SimProcess:
    """The simulator in a subprocess; start() returns once it listens."""

    def __init__(self, *args, startup_timeout=30.0):
        self.args = list(args)
        self.timeout = startup_timeout
        self.tmp = tempfile.TemporaryDirectory(prefix="jira-sim-test-")
        self.port_file = os.path.join(self.tmp.name, "port")
        self.proc = None
        self.port = None

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

    def request(self, method, path, body=None, auth=None, headers=None,
                raw=None, ctype="application/json", conn=None):
        """(status, headers, raw body bytes).  auth None = the default
        user, ANON = no Authorization header, else (email, token)."""
        h = dict(headers or {})
        if auth is None:
            h["Authorization"] = basic(EMAIL, TOKEN)
        elif auth is not ANON:
            h["Authorization"] = basic(*auth)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and ctype is not None:
            h["Content-Type"] = ctype
        c = conn or self.conn()
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return r.status, r.headers, r.read()
        finally:
            if conn is None:
                c.close()

    def api(self, method, path, body=None, **kw):
        """(status, headers, parsed JSON or None for an empty body)."""
        st, hdrs, raw = self.request(method, path, body=body, **kw)
        return st, hdrs, json.loads(raw) if raw else None

    def ctl(self, method, name, body=None):
        st, _, raw = self.request(method, "/_sim/" + name, body=body,
                                  auth=ANON)
        return st, json.loads(raw)

    def search(self, jql, **kw):
        body = {"jql": jql}
        body.update(kw)
        return self.api("POST", API + "/search/jql", body)


STATE = {
    "users": {EMAIL: {"token": TOKEN},
              "viewer@example.com": {"token": "view", "read_only": True}},
    "issues": [
        {"key": "SHOP-1", "id": "10001",
         "fields": {"summary": "Checkout", "labels": ["flags", "web"],
                    "customfield_10050": "new_checkout, dark_mode"}},
        {"key": "SHOP-2", "id": "10002",
         "fields": {"summary": "Cart", "labels": [],
                    "customfield_10050": ""}},
        {"key": "SHOP-10", "id": "10010",
         "fields": {"summary": "Search", "labels": ["flags"],
                    "customfield_10050": ["a", "b"]}},
        {"key": "PAY-1", "id": "10101",
         "fields": {"summary": "Pay", "customfield_10050": None},
         "properties": {"flagsync.flags": {"count": 1}}},
        {"key": "PAY-2", "id": "10102",
         "fields": {"summary": "Refund", "labels": ["flags"],
                    "customfield_10050": "refunds"}},
        {"key": "CORE-7", "id": "10207", "fields": {"summary": "Core"}},
    ],
}


class SimCase(unittest.TestCase):
    ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = tempfile.TemporaryDirectory(prefix="jira-sim-state-")
        path = os.path.join(cls.tmpdir.name, "state.json")
        with open(path, "w") as fp:
            json.dump(STATE, fp)
        cls.sim = SimProcess("--state", path, *cls.ARGS).start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        cls.tmpdir.cleanup()

    def setUp(self):
        self.assertEqual(self.sim.ctl("POST", "state", STATE)[0], 200)
        self.assertEqual(self.sim.ctl("DELETE", "fault")[0], 200)
        self.assertEqual(self.sim.ctl("POST", "ratelimit",
                                      {"rps": 0,
                                       "issue_write_limit": None})[0], 200)
        self.assertEqual(self.sim.ctl("POST", "search_cap",
                                      {"cap": 100})[0], 200)


class TestAuth(SimCase):
    def test_wrong_credentials_are_401_with_body(self):
        for hdr in (basic(EMAIL, "wrong"), basic("who@example.com", TOKEN),
                    "Bearer " + TOKEN, "Basic !!!not-base64",
                    "Basic " + base64.b64encode(b"no-colon").decode()):
            for method, path in (("GET", API + "/issue/SHOP-1"),
                                 ("POST", API + "/search/jql")):
                st, hdrs, d = self.sim.api(method, path, auth=ANON,
                                           headers={"Authorization": hdr},
                                           body={"jql": "project = SHOP"})
                self.assertEqual(st, 401, (hdr, path))
                self.assertEqual(d, MSG_401)
                self.assertTrue(hdrs["Content-Type"].startswith(
                    "application/json"))

    def test_email_is_case_insensitive_token_is_not(self):
        st, _, _ = self.sim.api("GET", API + "/issue/SHOP-1",
                                auth=(EMAIL.upper(), TOKEN))
        self.assertEqual(st, 200)
        st, _, _ = self.sim.api("GET", API + "/issue/SHOP-1",
                                auth=(EMAIL, TOKEN.upper()))
        self.assertEqual(st, 401)

    def test_anonymous_reads_see_nothing_and_writes_are_401(self):
        st, _, d = self.sim.api("GET", API + "/issue/SHOP-1", auth=ANON)
        self.assertEqual((st, d), (404, MSG_404))
        st, _, d = self.sim.api("GET", API + "/issue/PAY-1/properties",
                                auth=ANON)
        self.assertEqual((st, d), (404, MSG_404))
        st, _, d = self.sim.api("GET", API + "/issue/SHOP-1/remotelink",
                                auth=ANON)
        self.assertEqual(st, 404)
        st, _, d = self.sim.api("POST", API + "/search/jql",
                                {"jql": "project = SHOP"}, auth=ANON)
        self.assertEqual((st, d), (200, {"issues": [], "isLast": True}))
        for method, path, body in (
                ("PUT", "/issue/SHOP-1/properties/p", {"a": 1}),
                ("DELETE", "/issue/PAY-1/properties/flagsync.flags", None),
                ("POST", "/issue/SHOP-1/remotelink",
                 {"object": {"url": "http://x", "title": "t"}}),
                ("DELETE", "/issue/SHOP-1/remotelink?globalId=g", None)):
            st, _, d = self.sim.api(method, API + path, body, auth=ANON)
            self.assertEqual((st, d), (401, MSG_401), path)
        issue = self.sim.ctl("GET", "issue?key=PAY-1")[1]
        self.assertEqual(issue["properties"], {"flagsync.flags":
                                               {"count": 1}})

    def test_read_only_user(self):
        ro = ("viewer@example.com", "view")
        st, _, _ = self.sim.api("GET", API + "/issue/SHOP-1", auth=ro)
        self.assertEqual(st, 200)
        st, _, d = self.sim.api("PUT", API + "/issue/SHOP-1/properties/p",
                                {"a": 1}, auth=ro)
        self.assertEqual(st, 403)
        self.assertEqual(d["errors"], {})
        self.assertTrue(d["errorMessages"])
        # Reference 2.1: DELETE without edit permission is a 404.
        st, _, _ = self.sim.api(
            "DELETE", API + "/issue/PAY-1/properties/flagsync.flags",
            auth=ro)
        self.assertEqual(st, 404)
        st, _, d = self.sim.api("POST", API + "/issue/SHOP-1/remotelink",
                                {"object": {"url": "u", "title": "t"}},
                                auth=ro)
        self.assertEqual(st, 403)
        self.assertTrue(d["errorMessages"])

    def test_account_id_header_and_myself(self):
        st, hdrs, d = self.sim.api("GET", API + "/myself")
        self.assertEqual(st, 200)
        self.assertEqual(d["emailAddress"], EMAIL)
        self.assertEqual(hdrs["X-AAccountId"], d["accountId"])
        st, hdrs, _ = self.sim.api("GET", API + "/myself", auth=ANON)
        self.assertEqual(st, 401)
        self.assertIsNone(hdrs.get("X-AAccountId"))

    def test_feature_flags_api_wants_a_jwt(self):
        st, _, d = self.sim.api("POST", "/rest/featureflags/0.1/bulk",
                                {"flags": []})
        self.assertEqual(st, 401)
        self.assertIsInstance(d, list)
        self.assertIn("JWT", d[0]["message"])


class TestIssueAccess(SimCase):
    """Per-issue permissions: an issue the account may browse but not edit
    (a closed issue) and one it may not see at all."""

    LINK = {"globalId": "g1", "object": {"url": "http://x", "title": "t"}}

    def setUp(self):
        super().setUp()
        st, d = self.sim.ctl("POST", "issue", {
            "key": "DONE-1", "editable": False,
            "properties": {"flagsync.flags": {"count": 1}},
            "remotelinks": [self.LINK]})
        self.assertEqual(st, 200, d)
        st, d = self.sim.ctl("POST", "issue", {
            "key": "HIDE-1", "visible": False,
            "properties": {"flagsync.flags": {"count": 1}},
            "remotelinks": [dict(self.LINK, globalId="g2")]})
        self.assertEqual(st, 200, d)
        self.held = {k: self.sim.ctl("GET", "issue?key=" + k)[1]
                     for k in ("DONE-1", "HIDE-1")}

    def unchanged(self, key):
        self.assertEqual(self.sim.ctl("GET", "issue?key=" + key)[1],
                         self.held[key])

    def test_not_editable_reads_work_writes_refused(self):
        i = API + "/issue/DONE-1"
        self.assertEqual(self.sim.api("GET", i)[0], 200)
        self.assertEqual(self.sim.api("GET", i + "/properties/"
                                      "flagsync.flags")[0], 200)
        st, _, d = self.sim.api("GET", i + "/remotelink")
        self.assertEqual((st, len(d)), (200, 1))
        st, _, d = self.sim.api("PUT", i + "/properties/flagsync.flags",
                                {"count": 2})
        self.assertEqual(st, 403)
        self.assertTrue(d["errorMessages"])
        # Reference 2.1: DELETE without edit permission answers 404.
        st, _, d = self.sim.api("DELETE", i + "/properties/flagsync.flags")
        self.assertEqual((st, d), (404, MSG_404))
        st, _, d = self.sim.api("POST", i + "/remotelink", self.LINK)
        self.assertEqual(st, 403)
        self.assertTrue(d["errorMessages"])
        st, _, _ = self.sim.api("DELETE", i + "/remotelink?globalId=g1")
        self.assertEqual(st, 403)
        lid = self.held["DONE-1"]["remotelinks"][0]["id"]
        for method, body in (("PUT", self.LINK), ("DELETE", None)):
            st, _, _ = self.sim.api(method, "%s/remotelink/%d" % (i, lid),
                                    body)
            self.assertEqual(st, 403, method)
        self.assertIs(self.held["DONE-1"]["editable"], False)
        self.unchanged("DONE-1")

    def test_not_visible_is_404_everywhere(self):
        i = API + "/issue/HIDE-1"
        lid = self.held["HIDE-1"]["remotelinks"][0]["id"]
        for method, path, body in (
                ("GET", "", None), ("GET", "/properties", None),
                ("GET", "/properties/flagsync.flags", None),
                ("PUT", "/properties/flagsync.flags", {"count": 2}),
                ("DELETE", "/properties/flagsync.flags", None),
                ("GET", "/remotelink", None),
                ("GET", "/remotelink?globalId=g2", None),
                ("POST", "/remotelink", self.LINK),
                ("DELETE", "/remotelink?globalId=g2", None),
                ("GET", "/remotelink/%d" % lid, None)):
            st, _, d = self.sim.api(method, i + path, body)
            self.assertEqual((st, d), (404, MSG_404), (method, path))
        st, _, d = self.sim.search("project = HIDE OR key = DONE-1")
        self.assertEqual((st, [x["id"] for x in d["issues"]]),
                         (200, [self.held["DONE-1"]["id"]]))
        st, _, d = self.sim.search("key = HIDE-1")
        self.assertEqual(st, 400)
        self.assertIn("HIDE-1", d["errorMessages"][0])
        self.assertIs(self.held["HIDE-1"]["visible"], False)
        self.unchanged("HIDE-1")

    def test_control_changes_access(self):
        st, d = self.sim.ctl("PATCH", "issue", {"key": "DONE-1",
                                                "editable": True})
        self.assertEqual(st, 200, d)
        self.assertNotIn("editable", d)
        st, _, _ = self.sim.api("PUT", API + "/issue/DONE-1/properties/p",
                                {"a": 1})
        self.assertEqual(st, 201)
        # A POST that leaves access out keeps it.
        st, d = self.sim.ctl("POST", "issue", {"key": "HIDE-1",
                                               "fields": {"summary": "s"}})
        self.assertEqual((st, d["visible"]), (200, False))
        self.assertEqual(self.sim.api("GET", API + "/issue/HIDE-1")[0], 404)
        st, d = self.sim.ctl("PATCH", "issue", {"key": "HIDE-1",
                                                "visible": True})
        self.assertEqual(self.sim.api("GET", API + "/issue/HIDE-1")[0], 200)
        for bad in ({"key": "DONE-1", "editable": "no"},
                    {"key": "DONE-1", "visible": 0}):
            self.assertEqual(self.sim.ctl("PATCH", "issue", bad)[0], 400)
            self.assertEqual(self.sim.ctl("POST", "issue", bad)[0], 400)

    def test_access_in_state_round_trip(self):
        st, s1 = self.sim.ctl("GET", "state")
        by_key = {i["key"]: i for i in s1["issues"]}
        self.assertIs(by_key["DONE-1"]["editable"], False)
        self.assertIs(by_key["HIDE-1"]["visible"], False)
        self.assertNotIn("editable", by_key["SHOP-1"])
        self.assertEqual(self.sim.ctl("POST", "state", s1)[0], 200)
        self.assertEqual(self.sim.ctl("GET", "state")[1], s1)


class TestIssues(SimCase):
    def test_get_issue_shape(self):
        st, hdrs, d = self.sim.api("GET", API + "/issue/SHOP-1")
        self.assertEqual(st, 200)
        self.assertEqual(set(d), {"id", "key", "self", "fields"})
        self.assertEqual(d["id"], "10001")
        self.assertEqual(d["key"], "SHOP-1")
        self.assertEqual(d["self"], "http://127.0.0.1:%d%s/issue/10001"
                         % (self.sim.port, API))
        self.assertEqual(d["fields"], STATE["issues"][0]["fields"])
        self.assertTrue(hdrs["Content-Type"].startswith("application/json"))

    def test_lookup_is_case_insensitive_and_by_id(self):
        for ref in ("shop-1", "Shop-1", "10001"):
            st, _, d = self.sim.api("GET", API + "/issue/" + ref)
            self.assertEqual((st, d["key"]), (200, "SHOP-1"), ref)

    def test_missing_issue_404_body(self):
        for ref in ("SHOP-999", "NOPE-1", "99999", "garbage"):
            st, hdrs, d = self.sim.api("GET", API + "/issue/" + ref)
            self.assertEqual((st, d), (404, MSG_404), ref)
            self.assertTrue(hdrs["Content-Type"].startswith(
                "application/json"))

    def test_fields_and_properties_params(self):
        st, _, d = self.sim.api("GET", API + "/issue/SHOP-1?fields=summary,"
                                "labels")
        self.assertEqual(d["fields"], {"summary": "Checkout",
                                       "labels": ["flags", "web"]})
        st, _, d = self.sim.api("GET", API + "/issue/SHOP-1?fields=*all,"
                                "-labels")
        self.assertNotIn("labels", d["fields"])
        self.assertIn("summary", d["fields"])
        st, _, d = self.sim.api("GET", API + "/issue/PAY-1?properties=*all")
        self.assertEqual(d["properties"], {"flagsync.flags": {"count": 1}})

    def test_moved_issue_resolves_to_new_key(self):
        st, d = self.sim.ctl("POST", "move", {"key": "CORE-7",
                                              "new_key": "PAY-77"})
        self.assertEqual(st, 200, d)
        st, _, d = self.sim.api("GET", API + "/issue/core-7")
        self.assertEqual((st, d["key"], d["id"]), (200, "PAY-77", "10207"))

    def test_control_issue_create_patch_delete(self):
        st, d = self.sim.ctl("POST", "issue", {"key": "WEB-5",
                                               "fields": {"summary": "s"}})
        self.assertEqual((st, d["created"]), (200, True))
        self.sim.api("PUT", API + "/issue/WEB-5/properties/p", {"v": 1})
        st, d = self.sim.ctl("POST", "issue", {"key": "WEB-5",
                                               "fields": {"labels": ["x"]}})
        self.assertEqual((st, d["created"]), (200, False))
        self.assertEqual(d["fields"], {"labels": ["x"]})
        self.assertEqual(d["properties"], {"p": {"v": 1}})
        st, d = self.sim.ctl("PATCH", "issue", {"key": "WEB-5",
                                                "fields": {"summary": "t"}})
        self.assertEqual(d["fields"], {"labels": ["x"], "summary": "t"})
        self.assertEqual(self.sim.ctl("DELETE", "issue?key=web-5")[0], 200)
        self.assertEqual(self.sim.api("GET", API + "/issue/WEB-5")[0], 404)
        st, d = self.sim.ctl("POST", "issue", {"key": "bad key"})
        self.assertEqual((st, d["ok"]), (400, False))


class TestProperties(SimCase):
    P = API + "/issue/SHOP-1/properties"

    def test_create_update_get_list_delete(self):
        st, hdrs, raw = self.sim.request("PUT", self.P + "/flagsync.flags",
                                         body={"count": 1})
        self.assertEqual((st, raw), (201, b""))
        st, _, raw = self.sim.request("PUT", self.P + "/flagsync.flags",
                                      body={"count": 2})
        self.assertEqual((st, raw), (200, b""))
        st, _, d = self.sim.api("GET", self.P + "/flagsync.flags")
        self.assertEqual((st, d), (200, {"key": "flagsync.flags",
                                         "value": {"count": 2}}))
        st, _, d = self.sim.api("GET", self.P)
        self.assertEqual(d, {"keys": [{
            "key": "flagsync.flags",
            "self": "http://127.0.0.1:%d%s/flagsync.flags"
                    % (self.sim.port, self.P)}]})
        st, _, raw = self.sim.request("DELETE", self.P + "/flagsync.flags")
        self.assertEqual((st, raw), (204, b""))
        st, _, d = self.sim.api("DELETE", self.P + "/flagsync.flags")
        self.assertEqual(st, 404)
        self.assertTrue(d["errorMessages"])
        st, _, d = self.sim.api("GET", self.P + "/flagsync.flags")
        self.assertEqual(st, 404)
        self.assertEqual(self.sim.api("GET", self.P)[2], {"keys": []})

    def test_any_json_value(self):
        for v in (["feat1", "feat2"], "a string", 7, None, {"a": [1, {}]}):
            st, _, _ = self.sim.request("PUT", self.P + "/v",
                                        raw=json.dumps(v).encode())
            self.assertIn(st, (200, 201))
            self.assertEqual(self.sim.api("GET", self.P + "/v")[2]["value"],
                             v)

    def test_value_limit_is_32768_bytes(self):
        ok = ('"' + "a" * 32766 + '"').encode()
        self.assertEqual(len(ok), 32768)
        st, _, _ = self.sim.request("PUT", self.P + "/big", raw=ok)
        self.assertEqual(st, 201)
        st, _, raw = self.sim.request("PUT", self.P + "/big",
                                      raw=ok[:-1] + b'a"')
        self.assertEqual(st, 400)
        self.assertTrue(json.loads(raw)["errorMessages"])
        # Bytes, not characters: 16384 two-byte characters are too many.
        multi = ('"' + "\u00e9" * 16383 + '"').encode()
        self.assertEqual(len(multi), 32768)
        self.assertEqual(self.sim.request("PUT", self.P + "/m",
                                          raw=multi)[0], 201)
        multi = ('"' + "\u00e9" * 16384 + '"').encode()
        self.assertEqual(self.sim.request("PUT", self.P + "/m",
                                          raw=multi)[0], 400)
        self.assertEqual(self.sim.api("GET", self.P + "/big")[2]["value"],
                         "a" * 32766)

    def test_bad_bodies_and_keys(self):
        for raw in (b"", b"   ", b"{not json", b"\xff\xfe"):
            st, _, d = self.sim.request("PUT", self.P + "/p", raw=raw)
            self.assertEqual(st, 400, raw)
            self.assertTrue(json.loads(d)["errorMessages"])
        st, _, _ = self.sim.request("PUT", self.P + "/" + "k" * 255,
                                    body=1)
        self.assertEqual(st, 201)
        st, _, _ = self.sim.request("PUT", self.P + "/" + "k" * 256,
                                    body=1)
        self.assertEqual(st, 400)
        st, _, _ = self.sim.request("PUT", self.P + "/p", body=1,
                                    ctype="application/x-www-form-"
                                    "urlencoded")
        self.assertEqual(st, 415)
        self.assertNotIn("p", self.sim.ctl("GET", "issue?key=SHOP-1")[1]
                         ["properties"])

    def test_missing_issue_is_404(self):
        for method in ("GET", "PUT", "DELETE"):
            st, _, d = self.sim.api(method, API + "/issue/NOPE-1/properties"
                                    "/p", body=1 if method == "PUT" else None)
            self.assertEqual((st, d), (404, MSG_404), method)
        self.assertEqual(self.sim.api("GET", API + "/issue/NOPE-1/"
                                      "properties")[0], 404)

    def test_url_encoded_key_and_chunked_body(self):
        st, _, _ = self.sim.request("PUT", self.P + "/a%2Fb%20c", body=1)
        self.assertEqual(st, 201)
        self.assertIn("a/b c", self.sim.ctl("GET", "issue?key=SHOP-1")[1]
                      ["properties"])
        c = self.sim.conn()
        try:
            c.putrequest("PUT", self.P + "/chunked")
            c.putheader("Authorization", basic(EMAIL, TOKEN))
            c.putheader("Content-Type", "application/json")
            c.putheader("Transfer-Encoding", "chunked")
            c.endheaders()
            for part in (b'{"a":', b'[1,2]}'):
                c.send(b"%x\r\n%s\r\n" % (len(part), part))
            c.send(b"0\r\n\r\n")
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 201)
        finally:
            c.close()
        self.assertEqual(self.sim.api("GET", self.P + "/chunked")[2]
                         ["value"], {"a": [1, 2]})


class TestSearch(SimCase):
    def keys(self, jql, **kw):
        st, _, d = self.sim.search(jql, fields=["summary"], **kw)
        self.assertEqual(st, 200, (jql, d))
        return [i["key"] for i in d["issues"]]

    def test_jql_forms(self):
        cases = {
            "cf[10050] is not EMPTY": ["SHOP-1", "SHOP-10", "PAY-2"],
            "customfield_10050 IS NOT EMPTY": ["SHOP-1", "SHOP-10", "PAY-2"],
            '"customfield_10050" is not empty': ["SHOP-1", "SHOP-10",
                                                 "PAY-2"],
            "cf[10050] is EMPTY": ["SHOP-2", "PAY-1", "CORE-7"],
            "labels is EMPTY": ["SHOP-2", "PAY-1", "CORE-7"],
            "labels is not EMPTY": ["SHOP-1", "SHOP-10", "PAY-2"],
            "project = SHOP": ["SHOP-1", "SHOP-2", "SHOP-10"],
            "project = shop": ["SHOP-1", "SHOP-2", "SHOP-10"],
            "project in (PAY, CORE)": ["PAY-1", "PAY-2", "CORE-7"],
            'project in ("PAY")': ["PAY-1", "PAY-2"],
            "key in (PAY-2, shop-1)": ["SHOP-1", "PAY-2"],
            "key = SHOP-10": ["SHOP-10"],
            "labels = flags": ["SHOP-1", "SHOP-10", "PAY-2"],
            "labels = web": ["SHOP-1"],
            "cf[10050] is not EMPTY AND (project in (SHOP, PAY))":
                ["SHOP-1", "SHOP-10", "PAY-2"],
            "cf[10050] is not EMPTY AND (project in (PAY)) ORDER BY key ASC":
                ["PAY-2"],
            "(labels = flags) AND project = SHOP ORDER BY key DESC":
                ["SHOP-10", "SHOP-1"],
            "project = SHOP order by key": ["SHOP-1", "SHOP-2", "SHOP-10"],
            "project = SHOP AND labels = flags AND cf[10050] is not EMPTY":
                ["SHOP-1", "SHOP-10"],
            "project = CORE OR key = PAY-1": ["PAY-1", "CORE-7"],
            "project = SHOP AND labels != web": ["SHOP-10"],
            "labels not in (web, nothing)": ["SHOP-10", "PAY-2"],
            "cf[10050] != refunds": ["SHOP-1", "SHOP-10"],
            "cf[10050] = b": ["SHOP-10"],
        }
        for jql, want in cases.items():
            self.assertEqual(self.keys(jql), want, jql)

    def test_rejected_jql(self):
        for jql in ("summary ~ checkout", "project = ", "project SHOP",
                    "nosuchfield is EMPTY", "project = SHOP AND",
                    "(project = SHOP", "project = SHOP ORDER BY summary",
                    'labels = "unterminated', "key in ()",
                    "project = SHOP junk", "assignee = currentUser()",
                    "project = SHOP ORDER key",
                    "project = SHOP AND NOT labels = web"):
            st, _, d = self.sim.search(jql)
            self.assertEqual(st, 400, jql)
            self.assertEqual(d["errors"], {})
            self.assertTrue(d["errorMessages"][0].startswith(
                "Error in the JQL Query: "), d)

    def test_unbounded_and_bad_values(self):
        for body in ({"jql": ""}, {"jql": "   "}, {},
                     {"jql": "ORDER BY key DESC"}):
            st, _, d = self.sim.api("POST", API + "/search/jql", body)
            self.assertEqual(st, 400, body)
            self.assertIn("Unbounded", d["errorMessages"][0])
        st, _, d = self.sim.search("project = NOPE")
        self.assertEqual(st, 400)
        self.assertIn("'NOPE'", d["errorMessages"][0])
        st, _, d = self.sim.search("key in (SHOP-1, SHOP-999)")
        self.assertEqual(st, 400)
        st, _, d = self.sim.search("project = SHOP", startAt=0)
        self.assertEqual(st, 400)
        st, _, d = self.sim.search("project = SHOP", maxResults="10")
        self.assertEqual(st, 400)

    def test_default_fields_is_id_only_and_filtering(self):
        st, _, d = self.sim.search("key = SHOP-1")
        self.assertEqual(d, {"issues": [{"id": "10001"}], "isLast": True})
        st, _, d = self.sim.search("key = SHOP-1",
                                   fields=["customfield_10050", "nosuch"])
        self.assertEqual(d["issues"], [{
            "id": "10001", "key": "SHOP-1",
            "self": "http://127.0.0.1:%d%s/issue/10001" % (self.sim.port,
                                                           API),
            "fields": {"customfield_10050": "new_checkout, dark_mode"}}])
        st, _, d = self.sim.search("key = SHOP-1", fields=["*all",
                                                           "-labels"])
        self.assertEqual(set(d["issues"][0]["fields"]),
                         {"summary", "customfield_10050"})
        st, _, d = self.sim.search("key = PAY-1", fields=["key"],
                                   properties=["flagsync.flags"])
        self.assertEqual(d["issues"][0]["properties"],
                         {"flagsync.flags": {"count": 1}})
        self.assertEqual(d["issues"][0]["fields"], {})
        st, _, d = self.sim.search("key = PAY-1", properties=list("abcdef"))
        self.assertEqual(st, 400)

    def test_paging_with_next_page_token(self):
        self.assertEqual(self.sim.ctl("POST", "search_cap",
                                      {"cap": 2})[0], 200)
        jql = "project in (SHOP, PAY, CORE) ORDER BY key"
        seen, tok, pages, tokens = [], None, 0, set()
        while True:
            body = {"jql": jql, "fields": ["summary"], "maxResults": 100}
            if tok is not None:
                body["nextPageToken"] = tok
            st, _, d = self.sim.api("POST", API + "/search/jql", body)
            self.assertEqual(st, 200, d)
            self.assertNotIn("total", d)
            self.assertNotIn("startAt", d)
            self.assertLessEqual(len(d["issues"]), 2)
            seen += [i["key"] for i in d["issues"]]
            pages += 1
            if d["isLast"]:
                self.assertNotIn("nextPageToken", d)
                break
            tok = d["nextPageToken"]
            self.assertNotIn(tok, tokens)
            tokens.add(tok)
        self.assertEqual(pages, 3)
        self.assertEqual(seen, ["CORE-7", "PAY-1", "PAY-2", "SHOP-1",
                                "SHOP-2", "SHOP-10"])

    def test_default_page_50_and_cap_100(self):
        issues = [{"key": "BIG-%d" % n, "fields": {"summary": str(n)}}
                  for n in range(1, 131)]
        self.assertEqual(self.sim.ctl("POST", "state",
                                      {"issues": issues})[0], 200)
        st, _, d = self.sim.search("project = BIG")
        self.assertEqual((len(d["issues"]), d["isLast"]), (50, False))
        st, _, d = self.sim.search("project = BIG", maxResults=500)
        self.assertEqual((len(d["issues"]), d["isLast"]), (100, False))
        st, _, d = self.sim.search("project = BIG", maxResults=500,
                                   nextPageToken=d["nextPageToken"])
        self.assertEqual((len(d["issues"]), d["isLast"]), (30, True))

    def test_bad_page_token(self):
        st, _, d = self.sim.search("project = SHOP", maxResults=1)
        tok = d["nextPageToken"]
        for bad in ("garbage!!", "eyJ4IjoxfQ", tok[:-3] + "AAA"):
            st, _, d = self.sim.search("project = SHOP", nextPageToken=bad)
            self.assertEqual(st, 400, bad)
            self.assertTrue(d["errorMessages"])
        # A token belongs to its query.
        st, _, d = self.sim.search("project = PAY", nextPageToken=tok)
        self.assertEqual(st, 400)

    def test_get_form(self):
        st, _, d = self.sim.api(
            "GET", API + "/search/jql?jql=%s&fields=summary&maxResults=2"
            % quote("project = SHOP ORDER BY key DESC"))
        self.assertEqual(st, 200)
        self.assertEqual([i["key"] for i in d["issues"]],
                         ["SHOP-10", "SHOP-2"])
        self.assertEqual(d["issues"][0]["fields"], {"summary": "Search"})
        st, _, d = self.sim.api(
            "GET", API + "/search/jql?jql=%s&fields=summary&maxResults=2"
            "&nextPageToken=%s" % (quote("project = SHOP ORDER BY key DESC"),
                                   d["nextPageToken"]))
        self.assertEqual(([i["key"] for i in d["issues"]], d["isLast"]),
                         (["SHOP-1"], True))

    def test_content_type_required(self):
        st, _, _ = self.sim.request("POST", API + "/search/jql",
                                    body={"jql": "project = SHOP"},
                                    ctype=None)
        self.assertEqual(st, 415)

    def test_legacy_search_is_410(self):
        for method, path, body in (
                ("GET", API + "/search?jql=project%3DSHOP", None),
                ("POST", API + "/search", {"jql": "project = SHOP"})):
            st, hdrs, d = self.sim.api(method, path, body)
            self.assertEqual((st, d), (410, MSG_410), method)
            self.assertTrue(hdrs["Content-Type"].startswith(
                "application/json"))

    def test_approximate_count(self):
        st, _, d = self.sim.api("POST", API + "/search/approximate-count",
                                {"jql": "labels = flags"})
        self.assertEqual((st, d), (200, {"count": 3}))


class TestIssueStatus(SimCase):
    FIELDS = ["summary", "status", "resolutiondate",
              "statuscategorychangedate"]

    def read(self, jql):
        st, _, d = self.sim.search(jql, fields=self.FIELDS, maxResults=100)
        self.assertEqual(st, 200, d)
        return {i["key"]: i["fields"] for i in d["issues"]}

    def test_status_by_name_and_category(self):
        st, d = self.sim.ctl("PATCH", "issue", {"key": "SHOP-1", "fields":
                                                {"status": "In Review"}})
        self.assertEqual(st, 200, d)
        f = self.read("key in (SHOP-1)")["SHOP-1"]
        self.assertEqual(f["status"]["name"], "In Review")
        self.assertEqual(f["status"]["statusCategory"],
                         {"id": 4, "key": "indeterminate",
                          "colorName": "yellow", "name": "In Progress"})
        # only the fields asked for come back
        self.assertEqual(set(f), {"summary", "status"})
        st, d = self.sim.ctl("PATCH", "issue", {"key": "SHOP-1", "fields":
                                                {"status": "Nope"}})
        self.assertEqual(st, 400)

    def test_transition_sets_and_clears_resolution(self):
        self.sim.ctl("PATCH", "issue", {"key": "SHOP-1",
                                        "fields": {"status": "To Do"}})
        st, d = self.sim.ctl("POST", "transition", {
            "key": "SHOP-1", "status": "In Progress",
            "at": "2026-01-10T08:00:00Z"})
        self.assertEqual(st, 200, d)
        st, d = self.sim.ctl("POST", "transition", {
            "key": "shop-1", "status": "Done", "at": 1768464000000})
        self.assertEqual(st, 200, d)
        f = self.read("key in (SHOP-1)")["SHOP-1"]
        self.assertEqual(f["status"]["statusCategory"]["key"], "done")
        self.assertEqual(f["resolutiondate"], "2026-01-15T08:00:00.000+0000")
        self.assertEqual(f["statuscategorychangedate"],
                         "2026-01-15T08:00:00.000+0000")
        # another Done status: same category, same times
        self.sim.ctl("POST", "transition", {"key": "SHOP-1",
                                            "status": "Closed",
                                            "at": "2026-01-16T00:00:00Z"})
        f = self.read("key in (SHOP-1)")["SHOP-1"]
        self.assertEqual(f["resolutiondate"], "2026-01-15T08:00:00.000+0000")
        self.assertEqual(f["statuscategorychangedate"],
                         "2026-01-15T08:00:00.000+0000")
        # reopened: no resolution date
        self.sim.ctl("POST", "transition", {"key": "SHOP-1",
                                            "status": "Reopened",
                                            "category": "new",
                                            "at": "2026-01-20T00:00:00Z"})
        f = self.read("key in (SHOP-1)")["SHOP-1"]
        self.assertIsNone(f["resolutiondate"])
        self.assertEqual(f["status"]["name"], "Reopened")
        self.assertEqual(f["statuscategorychangedate"],
                         "2026-01-20T00:00:00.000+0000")
        st, d = self.sim.ctl("GET", "issue?key=SHOP-1")
        self.assertEqual([(h["from"], h["to"]) for h in d["history"]],
                         [("To Do", "In Progress"), ("In Progress", "Done"),
                          ("Done", "Closed"), ("Closed", "Reopened")])
        self.assertEqual(d["history"][0]["at"],
                         "2026-01-10T08:00:00.000+0000")
        # the history survives a state round trip
        st, state = self.sim.ctl("GET", "state")
        self.assertEqual(self.sim.ctl("POST", "state", state)[0], 200)
        st, d2 = self.sim.ctl("GET", "issue?key=SHOP-1")
        self.assertEqual(d2["history"], d["history"])
        for bad in ({"key": "SHOP-1"}, {"key": "SHOP-1", "status": "X"},
                    {"key": "SHOP-1", "status": "Done", "at": "soon"},
                    {"key": "NOPE-1", "status": "Done"},
                    {"key": "SHOP-1", "status": "Y", "category": "odd"}):
            self.assertEqual(self.sim.ctl("POST", "transition", bad)[0],
                             400, bad)

    def test_key_in_400_names_each_missing_key(self):
        self.sim.ctl("DELETE", "issue?key=SHOP-2")
        self.sim.ctl("PATCH", "issue", {"key": "PAY-1", "visible": False})
        st, _, d = self.sim.search(
            "key in (SHOP-1, SHOP-2, PAY-1, SHOP-999)", fields=self.FIELDS)
        self.assertEqual(st, 400)
        self.assertEqual(d, {"errorMessages": [
            "An issue with key '%s' does not exist for field 'key'." % k
            for k in ("SHOP-2", "PAY-1", "SHOP-999")], "errors": {}})
        # without them the search answers
        self.assertEqual(list(self.read("key in (SHOP-1)")), ["SHOP-1"])


class TestRemoteLinks(SimCase):
    R = API + "/issue/SHOP-1/remotelink"
    GID = "flagsync:Default:new_checkout&x=1 y"

    def link(self, **kw):
        body = {"globalId": self.GID,
                "application": {"type": "flagsync", "name": "flagsync"},
                "relationship": "feature flag",
                "object": {"url": "https://app.split.io/f/new_checkout",
                           "title": "new_checkout",
                           "summary": "ON in Production",
                           "status": {"resolved": False}}}
        body.update(kw)
        return body

    def test_upsert_by_global_id(self):
        st, _, d = self.sim.api("POST", self.R, self.link())
        self.assertEqual(st, 201)
        lid = d["id"]
        self.assertIsInstance(lid, int)
        self.assertEqual(d["self"], "http://127.0.0.1:%d%s/%d"
                         % (self.sim.port, self.R, lid))
        body = self.link(object={"url": "https://u2", "title": "t2"})
        del body["relationship"]
        st, _, d = self.sim.api("POST", self.R, body)
        self.assertEqual((st, d["id"]), (200, lid))
        st, _, lst = self.sim.api("GET", self.R)
        self.assertEqual(len(lst), 1)
        got = lst[0]
        self.assertEqual(got["id"], lid)
        self.assertEqual(got["globalId"], self.GID)
        self.assertIsNone(got["relationship"])
        self.assertIsNone(got["object"]["summary"])
        self.assertIsNone(got["object"]["status"])
        self.assertEqual(got["object"]["title"], "t2")
        # A link without globalId is always a new one.
        body = self.link()
        del body["globalId"]
        st, _, d2 = self.sim.api("POST", self.R, body)
        self.assertEqual(st, 201)
        self.assertNotEqual(d2["id"], lid)
        self.assertEqual(len(self.sim.api("GET", self.R)[2]), 2)

    def test_get_and_delete_by_global_id(self):
        self.sim.api("POST", self.R, self.link())
        q = "?globalId=" + quote(self.GID, safe="")
        st, _, d = self.sim.api("GET", self.R + q)
        self.assertEqual(st, 200)
        self.assertIsInstance(d, dict)
        self.assertEqual(d["globalId"], self.GID)
        st, _, raw = self.sim.request("DELETE", self.R + q)
        self.assertEqual((st, raw), (204, b""))
        self.assertEqual(self.sim.api("GET", self.R + q)[0], 404)
        st, _, d = self.sim.api("DELETE", self.R + q)
        self.assertEqual(st, 404)
        self.assertTrue(d["errorMessages"])
        for q in ("", "?globalId="):
            st, _, d = self.sim.api("DELETE", self.R + q)
            self.assertEqual(st, 400, q)
            self.assertTrue(d["errorMessages"])

    def test_required_fields(self):
        st, _, d = self.sim.api("POST", self.R,
                                {"object": {"url": "https://x"}})
        self.assertEqual((st, d), (400, {"errorMessages": [], "errors": {
            "title": "'title' is required."}}))
        st, _, d = self.sim.api("POST", self.R, {"object": {"title": "t"}})
        self.assertEqual((st, d), (400, {"errorMessages": [], "errors": {
            "url": "'url' is required."}}))
        st, _, d = self.sim.api("POST", self.R, {"globalId": "g"})
        self.assertEqual(st, 400)
        self.assertEqual(set(d["errors"]), {"url", "title"})
        for raw in (b"", b"nope"):
            self.assertEqual(self.sim.request("POST", self.R, raw=raw)[0],
                             400)
        self.assertEqual(self.sim.api("GET", self.R)[2], [])

    def test_missing_issue(self):
        for method, body in (("GET", None), ("POST", self.link()),
                             ("DELETE", None)):
            st, _, d = self.sim.api(method, API + "/issue/NOPE-1/remotelink"
                                    "?globalId=g", body)
            self.assertEqual((st, d), (404, MSG_404), method)

    def test_by_link_id(self):
        st, _, d = self.sim.api("POST", self.R, self.link())
        lid = d["id"]
        st, _, d = self.sim.api("GET", "%s/%d" % (self.R, lid))
        self.assertEqual((st, d["globalId"]), (200, self.GID))
        st, _, _ = self.sim.api("PUT", "%s/%d" % (self.R, lid),
                                self.link(relationship="causes"))
        self.assertEqual(st, 204)
        self.assertEqual(self.sim.api("GET", "%s/%d" % (self.R, lid))[2]
                         ["relationship"], "causes")
        st, _, _ = self.sim.api("GET", "%s/%d" % (
            API + "/issue/SHOP-2/remotelink", lid))
        self.assertEqual(st, 400)
        self.assertEqual(self.sim.api("GET", self.R + "/99999")[0], 404)
        self.assertEqual(self.sim.api("GET", self.R + "/abc")[0], 400)
        st, _, _ = self.sim.request("DELETE", "%s/%d" % (self.R, lid))
        self.assertEqual(st, 204)
        self.assertEqual(self.sim.api("GET", "%s/%d" % (self.R, lid))[0],
                         404)

    def test_global_id_over_255_is_400(self):
        body = {"globalId": "g" * 256,
                "object": {"url": "https://x", "title": "t"}}
        st, _, d = self.sim.api("POST", self.R, body)
        self.assertEqual(st, 400)
        self.assertIn("globalId", d["errors"])
        body["globalId"] = "g" * 255
        self.assertEqual(self.sim.api("POST", self.R, body)[0], 201)

    def test_per_issue_cap_413(self):
        self.assertEqual(self.sim.ctl("POST", "config",
                                      {"remotelink_cap": 2})[0], 200)
        try:
            for i in range(2):
                st, _, _ = self.sim.api("POST", self.R,
                                        self.link(globalId="g%d" % i))
                self.assertEqual(st, 201)
            st, _, d = self.sim.api("POST", self.R, self.link(globalId="g2"))
            self.assertEqual(st, 413)
            self.assertTrue(d["errorMessages"])
            # Updating an existing link is still allowed.
            st, _, _ = self.sim.api("POST", self.R, self.link(globalId="g1"))
            self.assertEqual(st, 200)
        finally:
            self.sim.ctl("POST", "config", {"remotelink_cap": 100})

    def test_default_cap_is_100(self):
        for i in range(100):
            st, _, _ = self.sim.api("POST", self.R,
                                    self.link(globalId="g%d" % i))
            self.assertEqual(st, 201)
        self.assertEqual(self.sim.api("POST", self.R,
                                      self.link(globalId="x"))[0], 413)


class TestFields(SimCase):
    def test_field_list_shape(self):
        self.sim.ctl("POST", "config", {
            "field_names": {"Feature Flags": "customfield_10050"},
            "custom_fields": [{"id": "customfield_10060",
                               "name": "Twin"},
                              {"id": "customfield_10061",
                               "name": "Twin"}]})
        try:
            st, _, d = self.sim.api("GET", API + "/field")
            self.assertEqual(st, 200)
            self.assertIsInstance(d, list)
            for f in d:
                self.assertTrue({"id", "key", "name", "custom", "schema",
                                 "clauseNames"} <= set(f), f)
            by_id = {f["id"]: f for f in d}
            self.assertFalse(by_id["labels"]["custom"])
            ff = by_id["customfield_10050"]
            self.assertEqual((ff["name"], ff["custom"], ff["key"]),
                             ("Feature Flags", True, "customfield_10050"))
            self.assertEqual(ff["clauseNames"][0], "cf[10050]")
            self.assertEqual(ff["schema"]["customId"], 10050)
            self.assertEqual(sorted(f["id"] for f in d
                                    if f["name"] == "Twin"),
                             ["customfield_10060", "customfield_10061"])
            self.assertEqual(self.sim.api("POST", API + "/field", {})[0],
                             405)
            st, d = self.sim.ctl("POST", "config", {
                "custom_fields": [{"id": "labels", "name": "x"}]})
            self.assertEqual(st, 400)
        finally:
            self.sim.ctl("POST", "config", {"field_names": {},
                                            "custom_fields": []})


class TestFaultsAndLog(SimCase):
    def test_status_fault_503_with_retry_after(self):
        st, d = self.sim.ctl("POST", "fault", {
            "match": r"^GET /rest/api/3/issue/SHOP-1$", "kind": "status",
            "status": 503, "retry_after": 2})
        self.assertEqual(st, 200, d)
        st, hdrs, d = self.sim.api("GET", API + "/issue/SHOP-1")
        self.assertEqual(st, 503)
        self.assertEqual(hdrs["Retry-After"], "2")
        self.assertTrue(d["errorMessages"])
        self.assertEqual(self.sim.api("GET", API + "/issue/SHOP-1")[0], 200)
        self.sim.ctl("POST", "fault", {"kind": "status", "status": 503,
                                       "retry_after": None})
        st, hdrs, _ = self.sim.api("GET", API + "/issue/SHOP-1")
        self.assertEqual(st, 503)
        self.assertIsNone(hdrs.get("Retry-After"))

    def test_ratelimit_fault(self):
        self.sim.ctl("POST", "fault", {"match": "^PUT ", "kind": "ratelimit",
                                       "retry_after": 3, "count": 2})
        for _ in range(2):
            st, hdrs, _ = self.sim.api("PUT", API + "/issue/SHOP-1/"
                                       "properties/p", {"a": 1})
            self.assertEqual(st, 429)
            self.assertEqual(hdrs["Retry-After"], "3")
            self.assertRegex(hdrs["X-RateLimit-Reset"], RESET_RE)
            self.assertEqual(hdrs["X-RateLimit-Remaining"], "0")
            self.assertEqual(hdrs["RateLimit-Reason"], "jira-burst-based")
            self.assertIsNotNone(hdrs.get("X-RateLimit-Limit"))
        self.assertEqual(self.sim.api("PUT", API + "/issue/SHOP-1/"
                                      "properties/p", {"a": 1})[0], 201)
        self.sim.ctl("POST", "fault", {"kind": "ratelimit",
                                       "retry_after": None})
        st, hdrs, _ = self.sim.api("GET", API + "/issue/SHOP-1")
        self.assertEqual(st, 429)
        self.assertIsNone(hdrs.get("Retry-After"))
        self.assertIsNone(hdrs.get("X-RateLimit-Reset"))

    def test_after_and_count_and_query_match(self):
        self.sim.ctl("POST", "fault", {"match": r"search/jql",
                                       "kind": "status", "status": 500,
                                       "after": 1, "count": 2})
        got = [self.sim.search("project = SHOP")[0] for _ in range(4)]
        self.assertEqual(got, [200, 500, 500, 200])
        self.sim.ctl("POST", "fault", {"match": r"\?fields=summary$",
                                       "kind": "status", "status": 502})
        self.assertEqual(self.sim.api("GET", API + "/issue/SHOP-1")[0], 200)
        self.assertEqual(self.sim.api("GET", API + "/issue/SHOP-1?fields="
                                      "summary")[0], 502)
        st, d = self.sim.ctl("GET", "fault")
        self.assertEqual([f["fired"] for f in d["faults"]], [2, 1])

    def test_close_malformed_slow(self):
        self.sim.ctl("POST", "fault", {"kind": "close"})
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.sim.api("GET", API + "/issue/SHOP-1")
        self.sim.ctl("POST", "fault", {"kind": "malformed"})
        st, _, raw = self.sim.request("GET", API + "/issue/SHOP-1")
        self.assertEqual(st, 200)
        with self.assertRaises(ValueError):
            json.loads(raw)
        self.sim.ctl("POST", "fault", {"kind": "slow", "delay": 0.5})
        t0 = time.monotonic()
        self.assertEqual(self.sim.api("GET", API + "/issue/SHOP-1")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)
        st, d = self.sim.ctl("POST", "fault", {"kind": "nope"})
        self.assertEqual((st, d["ok"]), (400, False))

    def test_echo_faults_quote_the_credentials(self):
        self.sim.ctl("POST", "fault", {"kind": "echo", "count": 1})
        st, _, d = self.sim.api("GET", API + "/issue/SHOP-1")
        self.assertEqual(st, 400)
        self.assertEqual(d["errors"]["token"], TOKEN)
        self.assertEqual(d["errors"]["header"], basic(EMAIL, TOKEN))
        self.assertIn(basic(EMAIL, TOKEN), d["errorMessages"][0])
        self.assertIn("%s:%s" % (EMAIL, TOKEN), d["errorMessages"][0])
        self.sim.ctl("POST", "fault", {"kind": "echo_text", "status": 500})
        st, _, raw = self.sim.request("GET", API + "/issue/SHOP-1")
        self.assertEqual(st, 500)
        self.assertIn(basic(EMAIL, TOKEN).encode(), raw)
        self.assertEqual(self.sim.api("GET", API + "/issue/SHOP-1")[0], 200)

    def test_request_log(self):
        self.sim.ctl("DELETE", "requests")
        self.sim.api("PUT", API + "/issue/SHOP-1/properties/p?x=1",
                     {"count": 3})
        self.sim.api("GET", API + "/issue/NOPE-9", auth=ANON)
        self.sim.ctl("GET", "state")
        st, d = self.sim.ctl("GET", "requests")
        reqs = d["requests"]
        self.assertEqual(len(reqs), 2)
        r = reqs[0]
        self.assertEqual((r["method"], r["path"], r["query"], r["status"],
                          r["body"], r["user"]),
                         ("PUT", API + "/issue/SHOP-1/properties/p", "x=1",
                          201, {"count": 3}, EMAIL))
        self.assertLess(abs(r["time"] - time.time()), 60)
        self.assertEqual((reqs[1]["status"], reqs[1]["body"],
                          reqs[1]["user"]), (404, None, None))
        self.sim.ctl("DELETE", "requests")
        self.assertEqual(self.sim.ctl("GET", "requests")[1]["requests"], [])

    def test_keep_alive(self):
        c = self.sim.conn()
        try:
            for _ in range(5):
                st, hdrs, _ = self.sim.request("GET", API + "/issue/SHOP-1",
                                               conn=c)
                self.assertEqual(st, 200)
                self.assertIsNotNone(hdrs["Content-Length"])
            st, _, _ = self.sim.request("DELETE", API + "/issue/PAY-1/"
                                        "properties/flagsync.flags", conn=c)
            self.assertEqual(st, 204)
            st, _, _ = self.sim.request("GET", API + "/issue/NOPE-1", conn=c)
            self.assertEqual(st, 404)
        finally:
            c.close()

    def test_per_issue_write_limit(self):
        self.sim.ctl("POST", "ratelimit", {"rps": 0, "issue_write_limit":
                                           {"writes": 2, "seconds": 30}})
        P = API + "/issue/SHOP-1/properties/p"
        self.assertEqual(self.sim.api("PUT", P, 1)[0], 201)
        self.assertEqual(self.sim.api("PUT", P, 2)[0], 200)
        st, hdrs, _ = self.sim.api("PUT", P, 3)
        self.assertEqual(st, 429)
        self.assertEqual(hdrs["RateLimit-Reason"], "jira-per-issue-on-write")
        self.assertGreaterEqual(int(hdrs["Retry-After"]), 29)
        self.assertEqual(self.sim.api("PUT", API + "/issue/SHOP-2/"
                                      "properties/p", 1)[0], 201)
        self.assertEqual(self.sim.api("GET", P)[0], 200)


class TestRateLimit(SimCase):
    ARGS = ("--rps", "0.5")

    def setUp(self):
        self.assertEqual(self.sim.ctl("DELETE", "fault")[0], 200)

    def test_burst_429_and_retry_after(self):
        # Drain the bucket (capacity 1), then expect a 429.
        while True:
            st, hdrs, d = self.sim.api("GET", API + "/issue/SHOP-1")
            if st == 429:
                break
            self.assertEqual(st, 200)
        self.assertEqual(hdrs["RateLimit-Reason"], "jira-burst-based")
        self.assertEqual(hdrs["X-RateLimit-Remaining"], "0")
        self.assertEqual(hdrs["X-RateLimit-Limit"], "1")
        self.assertRegex(hdrs["X-RateLimit-Reset"], RESET_RE)
        self.assertTrue(d["errorMessages"])
        ra = int(hdrs["Retry-After"])
        self.assertGreaterEqual(ra, 1)
        # Retrying early gets the same or a longer Retry-After.
        time.sleep(0.5)
        st, hdrs, _ = self.sim.api("GET", API + "/issue/SHOP-1")
        self.assertEqual(st, 429)
        ra2 = int(hdrs["Retry-After"])
        self.assertGreaterEqual(ra2, ra)
        time.sleep(ra2 + 0.05)
        self.assertEqual(self.sim.api("GET", API + "/issue/SHOP-1")[0], 200)
        st, d = self.sim.ctl("GET", "ratelimit")
        self.assertEqual(d["rps"], 0.5)

    def test_control_is_not_rate_limited(self):
        for _ in range(5):
            self.assertEqual(self.sim.ctl("GET", "requests")[0], 200)

    def test_switch_off(self):
        self.sim.ctl("POST", "ratelimit", {"rps": 0})
        try:
            for _ in range(5):
                self.assertEqual(self.sim.api("GET", API + "/issue/"
                                              "SHOP-1")[0], 200)
        finally:
            self.sim.ctl("POST", "ratelimit", {"rps": 0.5})


class TestGatewayAndState(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--user", "a@example.com:tok-a", "--user",
                             "b@example.com:tok-b", "--cloud-id",
                             "35273b54-3f06").start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_users_from_command_line(self):
        self.assertEqual(self.sim.ctl("POST", "issue",
                                      {"key": "EX-1"})[0], 200)
        for auth, want in ((("a@example.com", "tok-a"), 200),
                           (("b@example.com", "tok-b"), 200),
                           ((EMAIL, TOKEN), 401)):
            st, _, _ = self.sim.api("GET", API + "/issue/EX-1", auth=auth)
            self.assertEqual(st, want, auth)

    def test_ex_jira_base(self):
        self.sim.ctl("POST", "issue", {"key": "EX-2", "id": "555",
                                       "fields": {"summary": "x"}})
        auth = ("a@example.com", "tok-a")
        base = "/ex/jira/35273b54-3f06"
        st, _, d = self.sim.api("GET", base + API + "/issue/ex-2", auth=auth)
        self.assertEqual((st, d["key"]), (200, "EX-2"))
        self.assertEqual(d["self"], "http://127.0.0.1:%d%s%s/issue/555"
                         % (self.sim.port, base, API))
        st, _, _ = self.sim.request("PUT", base + API + "/issue/EX-2/"
                                    "properties/p", body=[1], auth=auth)
        self.assertEqual(st, 201)
        st, _, d = self.sim.api("GET", API + "/issue/EX-2/properties/p",
                                auth=auth)
        self.assertEqual(d["value"], [1])
        st, _, d = self.sim.api("POST", base + API + "/search/jql",
                                {"jql": "key = EX-2", "fields": ["summary"]},
                                auth=auth)
        self.assertEqual([i["key"] for i in d["issues"]], ["EX-2"])
        st, _, d = self.sim.api("GET", "/ex/jira/other-cloud" + API +
                                "/issue/EX-2", auth=auth)
        self.assertEqual(st, 404)
        self.assertTrue(d["errorMessages"])
        st, _, d = self.sim.api("GET", "/_edge/tenant_info", auth=ANON)
        self.assertEqual((st, d), (200, {"cloudId": "35273b54-3f06"}))

    def test_state_round_trip(self):
        self.sim.ctl("POST", "issue", {"key": "RT-1", "fields": {"a": 1},
                                       "properties": {"p": "v"},
                                       "remotelinks": [{
                                           "globalId": "g",
                                           "object": {"url": "u",
                                                      "title": "t"}}]})
        st, s1 = self.sim.ctl("GET", "state")
        self.assertEqual(st, 200)
        self.assertEqual(set(s1["users"]), {"a@example.com",
                                            "b@example.com"})
        self.assertEqual(self.sim.ctl("POST", "state", s1)[0], 200)
        self.assertEqual(self.sim.ctl("GET", "state")[1], s1)
        st, d = self.sim.ctl("POST", "state", {"issues": [{"key": "X-1"}]})
        self.assertEqual(st, 400)
        self.assertEqual(self.sim.ctl("GET", "state")[1], s1)
        st, d = self.sim.ctl("GET", "issue?key=rt-1")
        self.assertEqual(d["remotelinks"][0]["globalId"], "g")
        self.assertEqual(d["properties"], {"p": "v"})

    def test_bad_options_exit_2(self):
        with tempfile.TemporaryDirectory() as t:
            bad = os.path.join(t, "bad.json")
            with open(bad, "w") as fp:
                fp.write('{"issues": [{"key": "X-1"}]}')
            r = subprocess.run([sys.executable, SIM, "--port", "0",
                                "--state", bad], capture_output=True,
                               timeout=30)
            self.assertEqual(r.returncode, 2)
            self.assertIn(b"X-1", r.stderr)
            r = subprocess.run([sys.executable, SIM, "--user", "nocolon"],
                               capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 2)

    def test_default_user(self):
        sim = SimProcess().start()
        try:
            self.assertEqual(sim.ctl("POST", "issue", {"key": "DD-1"})[0],
                             200)
            self.assertEqual(sim.api("GET", API + "/issue/DD-1")[0], 200)
            st, _, _ = sim.api("GET", "/ex/jira/sim-cloud-id" + API +
                               "/issue/DD-1")
            self.assertEqual(st, 200)
        finally:
            sim.stop()

    def test_sigterm_exits_0(self):
        sim = SimProcess().start()
        sim.proc.terminate()
        self.assertEqual(sim.proc.wait(10), 0)
        sim.stop()


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    unittest.main(verbosity=1)
