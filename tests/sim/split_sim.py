#!/usr/bin/env python3
"""split_sim.py - a fake Split (Harness FME) Admin API v2 for flagsync tests.

Follows Split's public Admin API documentation: authentication, endpoints
and paging, rate limits (429 with the X-RateLimit-* headers) and error
answers.  Python 3.11 standard library only.

Serves the read endpoints an agent needs under /internal/api/v2 and a control
API under /_sim/ that tests use to change flags, keys, rate limits and to
inject faults between polls.  See tests/sim/README.md for the full contract.
"""

import argparse
import collections
import copy
import gzip
import json
import math
import os
import random
import re
import select
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

API_PREFIX = "/internal/api/v2"
SDK_PREFIX = "/api"
SIM_PREFIX = "/_sim"
DEFAULT_KEY = "sim-admin-key"
DEFAULT_SDK_KEY = "sim-sdk-key"
# Every Admin key belongs to this organisation unless its spec names
# another: Split rate-limits per organisation, and one simulator is one
# account, so all its keys share one budget by default.
DEFAULT_ORG = "sim-org"

MSG_401 = "Invalid Admin API Key"
MSG_SDK_401 = "Invalid SDK API Key"
# Spec versions answered in the legacy {splits, since, till} shape
# (reference 4.1: the shape changed with 1.3).
SDK_LEGACY_SPECS = ("1.0", "1.1", "1.2")
MSG_404 = "The resource does not exists or the Admin API key has no access"
# Split's flag naming rule, as its web console states it when refusing a
# name: "must start with a letter and can contain -_ a-z A-Z 0-9".
FLAG_NAME_RE = re.compile(r"[A-Za-z][-_A-Za-z0-9]*\Z")
MSG_FLAG_NAME = ("Feature flag names must start with a letter and can "
                 "contain -_ a-z A-Z 0-9")

WS_LIMIT_DEFAULT, WS_LIMIT_MAX = 20, 100
FLAGS_LIMIT_DEFAULT, FLAGS_LIMIT_MAX = 20, 50
DEFS_LIMIT_DEFAULT, DEFS_LIMIT_MAX = 20, 50

FAULT_KINDS = ("status", "slow", "malformed", "truncated",
               "totalcount_drift", "ratelimit", "close",
               # hostile answers (tests/integration/adversarial.sh):
               "huge", "deep", "edit", "total", "empty", "redirect",
               "bytes")
DRIFT = 7
REQUEST_LOG_MAX = 200000

# Matcher types as Split's documentation lists them, and the
# fields the docs name for some of them (reference section 2.5).
MATCHER_TYPES = {
    "IN_SEGMENT", "EQUAL_SET", "ANY_OF_SET", "ALL_OF_SET", "PART_OF_SET",
    "ON_DATE", "ON_OR_AFTER_DATE", "ON_OR_BEFORE_DATE", "BETWEEN_DATE",
    "BOOLEAN", "EQUAL_NUMBER", "LESS_THAN_OR_EQUAL_NUMBER",
    "GREATER_THAN_OR_EQUAL_NUMBER", "BETWEEN_NUMBER", "IN_LIST_STRING",
    "STARTS_WITH_STRING", "ENDS_WITH_STRING", "CONTAINS_STRING",
    "MATCHES_STRING", "IN_SPLIT",
}
MATCHER_NEEDS = {
    "IN_SEGMENT": ("string", str),
    "EQUAL_SET": ("strings", list), "ANY_OF_SET": ("strings", list),
    "ALL_OF_SET": ("strings", list), "PART_OF_SET": ("strings", list),
    "ON_DATE": ("date", int), "ON_OR_AFTER_DATE": ("date", int),
    "ON_OR_BEFORE_DATE": ("date", int),
}

# Definition fields a test may set through the control API.
DEF_SETTABLE = {
    "killed", "treatments", "defaultTreatment", "baselineTreatment",
    "trafficAllocation", "rules", "defaultRule", "lastTrafficReceivedAt",
    "impressionsDisabled", "flagSets",
}
# Fields stored per definition; name, environment and trafficType come
# from the flag and the environment when rendered.
DEF_STORED = DEF_SETTABLE | {"creationTime", "lastUpdateTime"}

ROLLOUT_STATUSES = [
    # The id/name pair of the first is the docs example (reference 2.3);
    # the others are invented with the same shape.
    {"id": "ec4b199f-ae6f-4839-90e5-3cd0f2c36fd4", "name": "Pre-Production",
     "description": "Feature flag is being developed and tested"},
    {"id": "3b1e5f0a-6c1d-4f7e-9a52-2f0a4b8c1d01", "name": "Ramping",
     "description": "Feature flag is being rolled out"},
    {"id": "3b1e5f0a-6c1d-4f7e-9a52-2f0a4b8c1d02", "name": "Ramped",
     "description": "Feature flag is fully rolled out"},
    {"id": "3b1e5f0a-6c1d-4f7e-9a52-2f0a4b8c1d03", "name": "Killed",
     "description": "Feature flag has been killed"},
]

BASE_TIME_MS = 1700000000000


def now_ms():
    return int(time.time() * 1000)


def new_id():
    return str(uuid.uuid4())


class ControlError(Exception):
    """A control request that cannot be honoured: answered 400."""


class ApiError(Exception):
    """An API error answered with {"code", "message"}."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def err_body(status, message):
    return {"code": status, "message": message}


# ------------------------------------------------------------------ grammar

def _need(cond, message):
    if not cond:
        raise ControlError(message)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def norm_treatment(t):
    if isinstance(t, str):
        t = {"name": t}
    _need(isinstance(t, dict), "a treatment must be an object or a name")
    name = t.get("name")
    _need(isinstance(name, str) and name != "",
          "a treatment needs a non-empty name")
    cfg = t.get("configurations")
    _need(cfg is None or isinstance(cfg, str),
          "treatment %s: configurations must be a JSON string or null" % name)
    desc = t.get("description", "")
    _need(desc is None or isinstance(desc, str),
          "treatment %s: description must be a string" % name)
    out = {"name": name, "configurations": cfg,
           "description": desc if desc is not None else ""}
    for field in ("keys", "segments"):
        if field in t and t[field] is not None:
            v = t[field]
            _need(isinstance(v, list) and all(isinstance(s, str) for s in v),
                  "treatment %s: %s must be a list of strings" % (name, field))
            out[field] = list(v)
    unknown = set(t) - {"name", "configurations", "description", "keys",
                        "segments"}
    _need(not unknown, "treatment %s: unknown field(s) %s"
          % (name, ", ".join(sorted(unknown))))
    return out


def norm_buckets(buckets, names, where):
    _need(isinstance(buckets, list) and buckets,
          "%s: buckets must be a non-empty list" % where)
    out, total = [], 0
    for b in buckets:
        _need(isinstance(b, dict), "%s: a bucket must be an object" % where)
        tr, size = b.get("treatment"), b.get("size")
        _need(isinstance(tr, str) and tr in names,
              "%s: bucket treatment %r is not a treatment of the flag"
              % (where, tr))
        _need(_is_int(size) and 0 <= size <= 100,
              "%s: bucket size must be an integer 0..100" % where)
        total += size
        out.append({"treatment": tr, "size": size})
    _need(total == 100, "%s: bucket sizes sum to %d, not 100" % (where, total))
    return out


def norm_matcher(m, where):
    _need(isinstance(m, dict), "%s: a matcher must be an object" % where)
    mtype = m.get("type")
    _need(mtype in MATCHER_TYPES,
          "%s: unknown matcher type %r" % (where, mtype))
    need = MATCHER_NEEDS.get(mtype)
    if need is not None:
        field, ftype = need
        v = m.get(field)
        ok = isinstance(v, ftype) and not isinstance(v, bool)
        if ok and ftype is list:
            ok = all(isinstance(s, str) for s in v)
        _need(ok, "%s: matcher %s needs %r" % (where, mtype, field))
    if "negate" in m:
        _need(isinstance(m["negate"], bool),
              "%s: matcher negate must be a boolean" % where)
    return copy.deepcopy(m)


def norm_rule(r, names, i):
    where = "rule %d" % i
    _need(isinstance(r, dict), "%s: a rule must be an object" % where)
    cond = r.get("condition")
    _need(isinstance(cond, dict), "%s: needs a condition object" % where)
    comb = cond.get("combiner", "AND")
    _need(comb == "AND",
          "%s: combiner must be \"AND\", not %r" % (where, comb))
    matchers = cond.get("matchers")
    _need(isinstance(matchers, list) and matchers,
          "%s: condition needs a non-empty matchers list" % where)
    return {"condition": {"combiner": "AND",
                          "matchers": [norm_matcher(m, where)
                                       for m in matchers]},
            "buckets": norm_buckets(r.get("buckets"), names, where)}


def norm_definition(d):
    """Validate a full definition (stored fields) and return a fresh copy."""
    treatments = [norm_treatment(t) for t in _listof(d.get("treatments"),
                                                     "treatments")]
    _need(treatments, "treatments must not be empty")
    names = [t["name"] for t in treatments]
    _need(len(set(names)) == len(names), "treatment names must be unique")
    dt = d.get("defaultTreatment")
    _need(dt in names, "defaultTreatment %r is not a treatment" % (dt,))
    bt = d.get("baselineTreatment")
    _need(bt is None or bt in names,
          "baselineTreatment %r is not a treatment" % (bt,))
    ta = d.get("trafficAllocation", 100)
    _need(_is_int(ta) and 0 <= ta <= 100,
          "trafficAllocation must be an integer 0..100")
    killed = d.get("killed", False)
    _need(isinstance(killed, bool), "killed must be a boolean")
    imp = d.get("impressionsDisabled", False)
    _need(isinstance(imp, bool), "impressionsDisabled must be a boolean")
    ltr = d.get("lastTrafficReceivedAt")
    _need(ltr is None or _is_int(ltr),
          "lastTrafficReceivedAt must be ms since the epoch or null")
    fs = d.get("flagSets", [])
    _need(isinstance(fs, list), "flagSets must be a list")
    rules = [norm_rule(r, names, i)
             for i, r in enumerate(_listof(d.get("rules", []), "rules"))]
    out = {
        "killed": killed,
        "treatments": treatments,
        "defaultTreatment": dt,
        "baselineTreatment": bt,
        "trafficAllocation": ta,
        "rules": rules,
        "defaultRule": norm_buckets(d.get("defaultRule"), names,
                                    "defaultRule"),
        "lastTrafficReceivedAt": ltr,
        "impressionsDisabled": imp,
        "flagSets": copy.deepcopy(fs),
    }
    for tf in ("creationTime", "lastUpdateTime"):
        if tf in d and d[tf] is not None:
            _need(_is_int(d[tf]), "%s must be ms since the epoch" % tf)
            out[tf] = d[tf]
    return out


def _listof(v, what):
    _need(isinstance(v, list), "%s must be a list" % what)
    return v


def default_definition():
    return {
        "killed": False,
        "treatments": [{"name": "on", "configurations": None,
                        "description": ""},
                       {"name": "off", "configurations": None,
                        "description": ""}],
        "defaultTreatment": "off",
        "baselineTreatment": "off",
        "trafficAllocation": 100,
        "rules": [],
        "defaultRule": [{"treatment": "off", "size": 100}],
        "lastTrafficReceivedAt": None,
        "impressionsDisabled": False,
        "flagSets": [],
    }


# ----------------------------------------------------------- rate limiting

class Bucket:
    """Token bucket: capacity max(1, rps), refilled at rps per second."""

    __slots__ = ("tokens", "last")

    def __init__(self, cap, t):
        self.tokens = cap
        self.last = t

    def refill(self, rps, cap, t):
        self.tokens = min(cap, self.tokens + (t - self.last) * rps)
        self.last = t

    def reset_seconds(self, rps):
        if self.tokens >= 1:
            return 1
        return max(1, int(math.ceil((1 - self.tokens) / rps)))


# ------------------------------------------------------------ change feed

class Feed:
    """One environment's change feed (SDK API, reference 4.1).

    cn is the environment's change number: every save of a definition in
    the environment, and every deletion of one, takes a new number strictly
    greater than all before it (max(now_ms, cn + 1), a ms timestamp like
    Split's).  order maps each flag name the feed knows to its change
    number, oldest first, so that "what changed since N" reads from the end.
    archived holds deleted flags' last SDK form with status ARCHIVED.
    """

    __slots__ = ("cn", "order", "archived", "cache")

    def __init__(self, cn=-1):
        self.cn = cn
        self.order = collections.OrderedDict()
        self.archived = {}
        # name -> (change number, JSON bytes of its SDK form): a 100 000
        # flag since=-1 is rendered once, not on every request.
        self.cache = {}

    def next_cn(self):
        self.cn = max(now_ms(), self.cn + 1)
        return self.cn

    def record(self, name, cn):
        self.order[name] = cn
        self.order.move_to_end(name)

    def since(self, since):
        """Names changed after since (all live ones for -1), oldest first."""
        if since == -1:
            return [n for n in self.order if n not in self.archived]
        out = []
        for n in reversed(self.order):
            if self.order[n] <= since:
                break
            out.append(n)
        out.reverse()
        return out


# ------------------------------------------------------------------- state

class Sim:
    """All simulator state, guarded by one lock."""

    def __init__(self):
        self.lock = threading.RLock()
        self.keys = {}
        self.workspaces = []
        self.definitions_over_max = "clamp"
        self.rps = 0.0
        self.rate_limit = 0
        self.rate_window = 1.0
        self.retry_after = False
        self.set_rps(0.0)
        self.faults = []
        self.requests = collections.deque(maxlen=REQUEST_LOG_MAX)
        # SDK key -> (workspace, environment); derived from the
        # environments' sdkKeys by reindex_sdk().
        self.sdk_index = {}
        self.sdk_page = 0
        self.reset_stats()

    def reset_stats(self):
        self.stats = {
            "api_requests": 0, "control_requests": 0, "by_status": {},
            "by_endpoint": {}, "faults_fired": 0, "rate_limited": 0,
            "in_flight": 0, "max_in_flight": 0, "max_per_second": 0,
            "sdk_requests": 0, "sdk_by_status": {}, "sdk_by_endpoint": {},
            "sdk_in_flight": 0, "sdk_bytes": 0, "sdk_splits": 0,
        }
        self._window = collections.deque()

    # -- workspaces, environments, flags ---------------------------------

    def find_ws(self, ref):
        for ws in self.workspaces:
            if ws["id"] == ref:
                return ws
        for ws in self.workspaces:
            if ws["name"] == ref:
                return ws
        return None

    def ws_or_fail(self, ref):
        _need(isinstance(ref, str), "ws must be a workspace name or id")
        ws = self.find_ws(ref)
        _need(ws is not None, "no workspace %r" % ref)
        return ws

    @staticmethod
    def find_env(ws, ref):
        """Environment by id, else by case-sensitive name."""
        for env in ws["environments"]:
            if env["id"] == ref:
                return env
        for env in ws["environments"]:
            if env["name"] == ref:
                return env
        return None

    def env_or_fail(self, ws, ref):
        if ref is None:
            for env in ws["environments"]:
                if env["production"]:
                    return env
            _need(ws["environments"], "workspace %s has no environments"
                  % ws["name"])
            return ws["environments"][0]
        _need(isinstance(ref, str), "env must be an environment name or id")
        env = self.find_env(ws, ref)
        _need(env is not None, "no environment %r in workspace %s"
              % (ref, ws["name"]))
        return env

    @staticmethod
    def flag_or_fail(ws, name):
        _need(isinstance(name, str), "flag must be a flag name")
        f = ws["index"].get(name)
        _need(f is not None, "no flag %r in workspace %s" % (name, ws["name"]))
        return f

    @staticmethod
    def defs_of(ws, env_id):
        """Flags with a definition in env_id, in creation order (cached)."""
        lst = ws["defidx"].get(env_id)
        if lst is None:
            lst = [f for f in ws["flags"] if env_id in f["definitions"]]
            ws["defidx"][env_id] = lst
        return lst

    @staticmethod
    def invalidate(ws):
        ws["defidx"] = {}

    @staticmethod
    def make_ws(wid, name, envs):
        for env in envs:
            env.setdefault("sdkKeys", [sdk_key_name(name, env["name"])])
        return {"id": wid, "name": name, "environments": envs, "flags": [],
                "index": {}, "defidx": {}, "feed": {},
                "trafficTypes": [{"id": "tt-user", "name": "user"}]}

    @staticmethod
    def add_traffic_type(ws, tt):
        """Known traffic types: a flag's own is known to its workspace."""
        for t in ws["trafficTypes"]:
            if t["name"] == tt["name"]:
                return
        ws["trafficTypes"].append({"id": tt["id"], "name": tt["name"]})

    @staticmethod
    def find_traffic_type(ws, ref):
        for t in ws["trafficTypes"]:
            if ref in (t["id"], t["name"]):
                return t
        return None

    # -- change feed ---------------------------------------------------------

    @staticmethod
    def feed_of(ws, env_id):
        feed = ws["feed"].get(env_id)
        if feed is None:
            feed = ws["feed"][env_id] = Feed()
        return feed

    def archive(self, ws, flag, env_id):
        """The definition in env_id is going away: leave an ARCHIVED
        tombstone with a new change number."""
        env = self.find_env(ws, env_id)
        feed = self.feed_of(ws, env_id)
        cn = feed.next_cn()
        feed.archived[flag["name"]] = render_sdk(
            flag, env, flag["definitions"][env_id], "ARCHIVED", cn)
        feed.record(flag["name"], cn)

    def build_feeds(self, ws, envdocs=None):
        """Give every definition without a change number one, in
        lastUpdateTime order, each greater than all before; then order
        each environment's feed.  envdocs: env id -> the state document's
        environment, for its changeNumber and archived tombstones."""
        for env in ws["environments"]:
            eid = env["id"]
            feed = self.feed_of(ws, eid)
            doc = (envdocs or {}).get(eid) or {}
            cn = doc.get("changeNumber")
            if cn is not None:
                _need(_is_int(cn), "changeNumber must be an integer")
                feed.cn = max(feed.cn, cn)
            for a in _listof(doc.get("archived", []), "archived"):
                _need(isinstance(a, dict) and isinstance(a.get("name"), str)
                      and _is_int(a.get("changeNumber")),
                      "an archived flag needs a name and a changeNumber")
                feed.archived[a["name"]] = dict(a, status="ARCHIVED")
            live = [(i, f["name"], f["definitions"][eid])
                    for i, f in enumerate(ws["flags"])
                    if eid in f["definitions"]]
            known = [(n, a["changeNumber"])
                     for n, a in feed.archived.items()]
            taken = {c for _, c in known}
            _need(len(taken) == len(known), "archived change numbers must be "
                  "unique in environment %s of %s" % (env["name"],
                                                      ws["name"]))
            for _, n, d in live:
                # A number already taken (a copied flag) is renumbered
                # below like a missing one.
                c = d.get("changeNumber")
                if c is not None and c in taken:
                    del d["changeNumber"]
                elif c is not None:
                    taken.add(c)
                    known.append((n, c))
            cns = [c for _, c in known]
            both = {n for _, n, _ in live} & set(feed.archived)
            _need(not both, "flag(s) %s both defined and archived in %s"
                  % (", ".join(sorted(both)), env["name"]))
            last = max(cns + [feed.cn])
            todo = sorted((d["lastUpdateTime"], i, n, d)
                          for i, n, d in live if "changeNumber" not in d)
            for lut, _, n, d in todo:
                last = max(lut, last + 1)
                d["changeNumber"] = last
                known.append((n, last))
            known.sort(key=lambda nc: nc[1])
            feed.order = collections.OrderedDict(known)
            feed.cn = max([feed.cn] + [c for _, c in known])

    def reindex_sdk(self, wss=None):
        """Rebuild the SDK key index; a key in two environments is a 400."""
        index = {}
        for ws in self.workspaces if wss is None else wss:
            for env in ws["environments"]:
                for k in env["sdkKeys"]:
                    _need(k not in index, "SDK key %r is in two environments"
                          % k)
                    index[k] = (ws, env)
        if wss is None:
            self.sdk_index = index
        return index

    def assign_default_sdk_key(self, wss=None):
        """sim-sdk-key for the first workspace's production environment,
        unless some environment has it already."""
        wss = self.workspaces if wss is None else wss
        if not wss or any(DEFAULT_SDK_KEY in e["sdkKeys"]
                          for w in wss for e in w["environments"]):
            return
        envs = wss[0]["environments"]
        prod = [e for e in envs if e["production"]] or envs
        if prod:
            prod[0]["sdkKeys"].insert(0, DEFAULT_SDK_KEY)

    def sdk_changes(self, ws, env, since):
        """The splitChanges answer for since (reference 4.1), as
        (JSON bytes, number of splits, till)."""
        feed = self.feed_of(ws, env["id"])
        names = feed.since(since)
        till = max(since, feed.cn)
        if self.sdk_page and len(names) > self.sdk_page:
            names = names[:self.sdk_page]
            till = feed.order[names[-1]]
        parts = []
        for n in names:
            cn = feed.order[n]
            c = feed.cache.get(n)
            if c is None or c[0] != cn:
                a = feed.archived.get(n)
                if a is None:
                    f = ws["index"][n]
                    a = render_sdk(f, env, f["definitions"][env["id"]],
                                   "ACTIVE", cn)
                c = feed.cache[n] = (cn, _dumps(a))
            parts.append(c[1])
        body = (b'{"splits":[' + b",".join(parts) +
                b'],"since":%d,"till":%d}' % (since, till))
        return body, len(parts), till

    # -- keys --------------------------------------------------------------

    @staticmethod
    def norm_key_spec(spec):
        if spec is None:
            spec = {}
        _need(isinstance(spec, dict), "a key spec must be an object")
        out = {}
        for field in ("workspaces", "environments"):
            v = spec.get(field, "*")
            _need(v == "*" or (isinstance(v, list)
                               and all(isinstance(s, str) for s in v)),
                  "%s must be \"*\" or a list of names" % field)
            out[field] = v if v == "*" else list(v)
        org = spec.get("org", DEFAULT_ORG)
        _need(isinstance(org, str) and org, "org must be a non-empty string")
        out["org"] = org
        unknown = set(spec) - {"workspaces", "environments", "org"}
        _need(not unknown, "unknown key spec field(s) %s"
              % ", ".join(sorted(unknown)))
        return out

    @staticmethod
    def key_sees_ws(spec, ws):
        allowed = spec["workspaces"]
        return allowed == "*" or ws["name"] in allowed or ws["id"] in allowed

    @staticmethod
    def key_sees_env(spec, env):
        allowed = spec["environments"]
        return (allowed == "*" or env["name"] in allowed
                or env["id"] in allowed)

    # -- saving ------------------------------------------------------------

    @staticmethod
    def stamp(new, old, t):
        prev = old["lastUpdateTime"] if old else 0
        new["lastUpdateTime"] = max(t, prev + 1)
        if old and "creationTime" in old:
            new["creationTime"] = old["creationTime"]
        elif "creationTime" not in new:
            new["creationTime"] = t

    def save_definition(self, ws, flag, env, changes):
        """Create or merge-update a definition; every save bumps
        lastUpdateTime to max(now, previous + 1)."""
        _need(isinstance(changes, dict), "set must be an object")
        unknown = set(changes) - DEF_SETTABLE
        _need(not unknown, "cannot set field(s) %s"
              % ", ".join(sorted(unknown)))
        old = flag["definitions"].get(env["id"])
        base = dict(old) if old is not None else default_definition()
        base.update(copy.deepcopy(changes))
        if "baselineTreatment" not in changes:
            names = [t.get("name") if isinstance(t, dict) else t
                     for t in base.get("treatments") or []
                     if isinstance(t, (dict, str))]
            if old is None or base.get("baselineTreatment") not in names:
                base["baselineTreatment"] = base.get("defaultTreatment")
        new = norm_definition(base)
        new.pop("lastUpdateTime", None)
        self.stamp(new, old, now_ms())
        feed = self.feed_of(ws, env["id"])
        new["changeNumber"] = feed.next_cn()
        feed.record(flag["name"], new["changeNumber"])
        feed.archived.pop(flag["name"], None)
        flag["definitions"][env["id"]] = new
        if old is None:
            self.invalidate(ws)
        return new

    # -- whole state ---------------------------------------------------------

    def load_state(self, doc):
        """Parse a state document into fresh structures, then swap it in."""
        _need(isinstance(doc, dict), "state must be a JSON object")
        unknown = set(doc) - {"keys", "workspaces", "definitions_over_max",
                              "rps", "retry_after", "sdk_page", "rate_limit",
                              "rate_window"}
        _need(not unknown, "unknown state field(s) %s"
              % ", ".join(sorted(unknown)))
        keys = None
        if "keys" in doc:
            _need(isinstance(doc["keys"], dict), "keys must be an object")
            keys = {k: self.norm_key_spec(v) for k, v in doc["keys"].items()}
        wss = [self._parse_ws(w) for w in _listof(doc.get("workspaces", []),
                                                  "workspaces")]
        names = [w["name"] for w in wss]
        _need(len(set(names)) == len(names), "workspace names must be unique")
        ids = [w["id"] for w in wss]
        _need(len(set(ids)) == len(ids), "workspace ids must be unique")
        dom = doc.get("definitions_over_max", "clamp")
        _need(dom in ("clamp", "400"),
              "definitions_over_max must be \"clamp\" or \"400\"")
        rps = doc.get("rps", self.rps)
        _need(isinstance(rps, (int, float)) and not isinstance(rps, bool)
              and rps >= 0, "rps must be a number >= 0")
        page = doc.get("sdk_page", self.sdk_page)
        _need(_is_int(page) and page >= 0, "sdk_page must be an integer >= 0")
        if not any("sdkKeys" in e for w in _listof(doc.get("workspaces", []),
                                                   "workspaces")
                   if isinstance(w, dict)
                   for e in w.get("environments", []) if isinstance(e, dict)):
            self.assign_default_sdk_key(wss)
        self.reindex_sdk(wss)
        self.workspaces = wss
        self.reindex_sdk()
        if keys is not None:
            self.keys = keys
        self.definitions_over_max = dom
        self.sdk_page = page
        self.set_rps(float(rps), doc.get("retry_after", self.retry_after),
                     doc.get("rate_limit", self.rate_limit),
                     doc.get("rate_window", self.rate_window))

    def _parse_ws(self, w):
        _need(isinstance(w, dict), "a workspace must be an object")
        name = w.get("name")
        _need(isinstance(name, str) and name, "a workspace needs a name")
        envs = []
        for e in _listof(w.get("environments", []), "environments"):
            _need(isinstance(e, dict) and isinstance(e.get("name"), str)
                  and e["name"], "an environment needs a name")
            prod = e.get("production", False)
            _need(isinstance(prod, bool), "production must be a boolean")
            env = {"id": str(e.get("id") or new_id()), "name": e["name"],
                   "production": prod}
            if "sdkKeys" in e:
                sk = e["sdkKeys"]
                _need(isinstance(sk, list) and all(isinstance(k, str) and k
                                                   for k in sk),
                      "sdkKeys must be a list of non-empty strings")
                env["sdkKeys"] = list(sk)
            envs.append(env)
        en = [e["name"] for e in envs]
        _need(len(set(en)) == len(en),
              "environment names must be unique in workspace %s" % name)
        ws = self.make_ws(str(w.get("id") or new_id()), name, envs)
        if "trafficTypes" in w:
            tts = _listof(w["trafficTypes"], "trafficTypes")
            ws["trafficTypes"] = []
            for tt in tts:
                if isinstance(tt, str):
                    tt = {"id": "tt-" + tt, "name": tt}
                _need(isinstance(tt, dict) and isinstance(tt.get("name"), str)
                      and tt["name"], "a traffic type is a name or {id, name}")
                self.add_traffic_type(ws, {"id": str(tt.get("id") or new_id()),
                                           "name": tt["name"]})
        t = now_ms()
        for i, f in enumerate(_listof(w.get("flags", []), "flags")):
            self._add_parsed_flag(ws, f, t + i)
        docs = {}
        for env, e in zip(envs, w.get("environments", [])):
            docs[env["id"]] = e
        self.build_feeds(ws, docs)
        return ws

    def _add_parsed_flag(self, ws, f, t):
        _need(isinstance(f, dict), "a flag must be an object")
        flag = self.new_flag(f.get("name"), f, t)
        _need(flag["name"] not in ws["index"], "duplicate flag %r in %s"
              % (flag["name"], ws["name"]))
        defs = f.get("definitions", {}) or {}
        _need(isinstance(defs, dict), "definitions must be an object keyed"
              " by environment id")
        for ref, d in defs.items():
            env = self.find_env(ws, ref)
            _need(env is not None, "flag %s: no environment %r"
                  % (flag["name"], ref))
            _need(isinstance(d, dict), "flag %s: a definition must be an "
                  "object" % flag["name"])
            base = default_definition()
            base.update(d)
            for field in ("name", "environment", "trafficType"):
                base.pop(field, None)
            new = norm_definition(base)
            new.setdefault("creationTime", flag["creationTime"])
            new.setdefault("lastUpdateTime", new["creationTime"])
            if d.get("changeNumber") is not None:
                _need(_is_int(d["changeNumber"]), "flag %s: changeNumber "
                      "must be an integer" % flag["name"])
                new["changeNumber"] = d["changeNumber"]
            flag["definitions"][env["id"]] = new
        ws["flags"].append(flag)
        ws["index"][flag["name"]] = flag
        self.add_traffic_type(ws, flag["trafficType"])
        return flag

    def new_flag(self, name, f, t):
        _need(isinstance(name, str) and name and "/" not in name,
              "a flag needs a name without '/'")
        desc = f.get("description", "")
        _need(desc is None or isinstance(desc, str),
              "description must be a string")
        tags = f.get("tags", [])
        _need(isinstance(tags, list), "tags must be a list")
        tags = [tg["name"] if isinstance(tg, dict) else tg for tg in tags]
        _need(all(isinstance(tg, str) for tg in tags),
              "tags must be strings (or {\"name\"} objects)")
        tt = f.get("trafficType") or {"id": "tt-user", "name": "user"}
        if isinstance(tt, str):
            tt = {"id": "tt-" + tt, "name": tt}
        _need(isinstance(tt, dict) and isinstance(tt.get("name"), str),
              "trafficType must be a name or {id, name}")
        ct = f.get("creationTime", t)
        _need(_is_int(ct), "creationTime must be ms since the epoch")
        owners = f.get("owners", [])
        _need(isinstance(owners, list), "owners must be a list")
        return {
            "id": str(f.get("id") or new_id()),
            "name": name,
            "description": desc or "",
            "tags": list(tags),
            "trafficType": {"id": str(tt.get("id") or new_id()),
                            "name": tt["name"]},
            "creationTime": ct,
            "rolloutStatus": f.get("rolloutStatus", ROLLOUT_STATUSES[0]),
            "rolloutStatusTimestamp": f.get("rolloutStatusTimestamp", ct),
            "owners": copy.deepcopy(owners),
            "definitions": {},
        }

    def dump_state(self):
        out = {"keys": copy.deepcopy(self.keys), "workspaces": [],
               "definitions_over_max": self.definitions_over_max,
               "rps": self.rps, "retry_after": self.retry_after,
               "rate_limit": self.rate_limit, "rate_window": self.rate_window,
               "sdk_page": self.sdk_page}
        for ws in self.workspaces:
            flags = []
            for f in ws["flags"]:
                g = {k: f[k] for k in ("id", "name", "description", "tags",
                                       "trafficType", "creationTime",
                                       "rolloutStatus",
                                       "rolloutStatusTimestamp", "owners")}
                g["definitions"] = f["definitions"]
                flags.append(g)
            envs = []
            for e in ws["environments"]:
                feed = self.feed_of(ws, e["id"])
                envs.append(dict(e, changeNumber=feed.cn,
                                 archived=list(feed.archived.values())))
            out["workspaces"].append({"id": ws["id"], "name": ws["name"],
                                      "environments": envs,
                                      "trafficTypes": copy.deepcopy(
                                          ws["trafficTypes"]),
                                      "flags": flags})
        return out

    def set_rps(self, rps, retry_after=None, rate_limit=None,
                rate_window=None):
        """Set the Admin rate limit: a token bucket of rps requests a
        second, or a fixed window of rate_limit requests per rate_window
        seconds (not both); counters restart."""
        limit = self.rate_limit if rate_limit is None else rate_limit
        window = self.rate_window if rate_window is None else rate_window
        _need(_is_int(limit) and limit >= 0,
              "rate_limit must be an integer >= 0 (0 = off)")
        _need(isinstance(window, (int, float)) and not isinstance(window, bool)
              and window > 0, "rate_window must be a number of seconds > 0")
        _need(not (rps > 0 and limit > 0),
              "rps (token bucket) and rate_limit (window) exclude each other")
        if retry_after is not None:
            _need(isinstance(retry_after, bool),
                  "retry_after must be a boolean")
            self.retry_after = retry_after
        self.rps = rps
        self.rate_limit = limit
        self.rate_window = float(window)
        self.buckets_org = {}
        self.buckets_ip = {}
        self.windows_org = {}
        self.windows_ip = {}

    def limits_view(self):
        return {"rps": self.rps, "rate_limit": self.rate_limit,
                "rate_window": self.rate_window,
                "retry_after": self.retry_after}

    # -- rate limit ----------------------------------------------------------

    def take_tokens(self, org, ip):
        """None when allowed, else the 429 headers.  org is None for a
        request without a valid key: only its IP is counted."""
        if self.rate_limit > 0:
            return self.take_window(org, ip)
        if self.rps <= 0:
            return None
        t = time.monotonic()
        cap = max(1.0, self.rps)
        bip = self.buckets_ip.get(ip)
        if bip is None:
            bip = self.buckets_ip[ip] = Bucket(cap, t)
        bip.refill(self.rps, cap, t)
        borg = None
        if org is not None:
            borg = self.buckets_org.get(org)
            if borg is None:
                borg = self.buckets_org[org] = Bucket(cap, t)
            borg.refill(self.rps, cap, t)
        if bip.tokens >= 1 and (borg is None or borg.tokens >= 1):
            bip.tokens -= 1
            if borg is not None:
                borg.tokens -= 1
            return None
        org_rem = int(borg.tokens) if borg is not None else int(cap)
        org_reset = borg.reset_seconds(self.rps) if borg is not None else 1
        hdrs = {
            "X-RateLimit-Remaining-Org": str(max(0, org_rem)),
            "X-RateLimit-Remaining-IP": str(max(0, int(bip.tokens))),
            "X-RateLimit-Reset-Seconds-Org": str(org_reset),
            "X-RateLimit-Reset-Seconds-IP": str(bip.reset_seconds(self.rps)),
        }
        if self.retry_after:
            hdrs["Retry-After"] = str(max(org_reset,
                                          bip.reset_seconds(self.rps)))
        return hdrs

    def take_window(self, org, ip):
        """Fixed windows of rate_window seconds on the wall clock, one
        count per organisation and one per IP.  A request is admitted, and
        counted in both, when both have room.  Reset-Seconds is the whole
        seconds left in the window (rounded down): with 1 s windows it is
        always 0, as the next window, and a token, come within the second."""
        t = time.time()
        w = int(t // self.rate_window)
        left = (w + 1) * self.rate_window - t

        def count(table, k):
            c = table.get(k)
            if c is None or c[0] != w:
                c = table[k] = [w, 0]
            return c
        cip = count(self.windows_ip, ip)
        corg = count(self.windows_org, org) if org is not None else None
        n = self.rate_limit
        if cip[1] < n and (corg is None or corg[1] < n):
            cip[1] += 1
            if corg is not None:
                corg[1] += 1
            return None
        reset = str(int(left))
        hdrs = {
            "X-RateLimit-Remaining-Org": str(n - corg[1] if corg else n),
            "X-RateLimit-Remaining-IP": str(n - cip[1]),
            "X-RateLimit-Reset-Seconds-Org": reset,
            "X-RateLimit-Reset-Seconds-IP": reset,
        }
        if self.retry_after:
            hdrs["Retry-After"] = str(max(1, int(math.ceil(left))))
        return hdrs

    # -- faults --------------------------------------------------------------

    def add_fault(self, spec):
        _need(isinstance(spec, dict), "a fault must be an object")
        kind = spec.get("kind")
        _need(kind in FAULT_KINDS, "kind must be one of %s"
              % ", ".join(FAULT_KINDS))
        pattern = spec.get("match", ".*")
        _need(isinstance(pattern, str), "match must be a regex string")
        try:
            rx = re.compile(pattern)
        except re.error as e:
            raise ControlError("bad match regex: %s" % e) from None
        f = {"match": pattern, "kind": kind, "status": 503, "delay": 5.0,
             "count": 1, "after": 0, "reset_org": 2, "reset_ip": 1,
             "remaining_org": 0, "remaining_ip": 0, "retry_after": None,
             "size": 50 * 1024 * 1024, "depth": 100000, "index": None,
             "set": None, "total": None, "location": None, "find": None,
             "hex": None}
        for field, typ in (("status", int), ("count", int), ("after", int),
                           ("reset_org", int), ("reset_ip", int),
                           ("remaining_org", int), ("remaining_ip", int),
                           ("delay", (int, float)),
                           ("retry_after", int), ("size", int),
                           ("depth", int), ("index", int), ("set", dict),
                           ("total", int), ("location", str),
                           ("find", str), ("hex", str)):
            if field in spec and spec[field] is not None:
                v = spec[field]
                _need(isinstance(v, typ) and not isinstance(v, bool),
                      "%s must be a number" % field)
                f[field] = v
        _need(100 <= f["status"] <= 599, "status must be 100..599")
        _need(f["count"] >= -1 and f["count"] != 0,
              "count must be >= 1 or -1 (forever)")
        _need(f["after"] >= 0, "after must be >= 0")
        _need(f["delay"] >= 0, "delay must be >= 0")
        _need(f["size"] >= 0 and f["depth"] >= 1, "size/depth out of range")
        if kind == "bytes":
            _need(f["find"] and f["hex"] is not None,
                  "bytes needs find and hex")
            bytes.fromhex(f["hex"])
        unknown = set(spec) - set(f)
        _need(not unknown, "unknown fault field(s) %s"
              % ", ".join(sorted(unknown)))
        f["id"] = len(self.faults) + 1
        f["skipped"] = 0
        f["fired"] = 0
        f["_rx"] = rx
        self.faults.append(f)
        return f

    def pick_fault(self, raw_path):
        """First active fault whose regex matches the path and query."""
        for f in self.faults:
            if f["count"] != -1 and f["fired"] >= f["count"]:
                continue
            if not f["_rx"].search(raw_path):
                continue
            if f["skipped"] < f["after"]:
                f["skipped"] += 1
                continue
            f["fired"] += 1
            self.stats["faults_fired"] += 1
            return dict(f)
        return None

    @staticmethod
    def fault_view(f):
        return {k: v for k, v in f.items() if not k.startswith("_")}

    # -- request accounting ------------------------------------------------

    def begin_api(self, kind="admin"):
        s = self.stats
        if kind == "sdk":
            s["sdk_in_flight"] += 1
            return
        s["in_flight"] += 1
        s["max_in_flight"] = max(s["max_in_flight"], s["in_flight"])
        t = time.monotonic()
        w = self._window
        w.append(t)
        while w and w[0] <= t - 1.0:
            w.popleft()
        s["max_per_second"] = max(s["max_per_second"], len(w))

    def end_api(self, entry, endpoint):
        s = self.stats
        self.requests.append(entry)
        st = str(entry["status"])
        if entry["api"] == "sdk":
            s["sdk_in_flight"] -= 1
            s["sdk_requests"] += 1
            s["sdk_by_status"][st] = s["sdk_by_status"].get(st, 0) + 1
            s["sdk_by_endpoint"][endpoint] = \
                s["sdk_by_endpoint"].get(endpoint, 0) + 1
            s["sdk_bytes"] += entry.get("bytes", 0)
            return
        s["in_flight"] -= 1
        s["api_requests"] += 1
        s["by_status"][st] = s["by_status"].get(st, 0) + 1
        s["by_endpoint"][endpoint] = s["by_endpoint"].get(endpoint, 0) + 1

    def stats_view(self):
        out = copy.deepcopy(self.stats)
        out["workspaces"] = len(self.workspaces)
        out["flags"] = sum(len(ws["flags"]) for ws in self.workspaces)
        out["definitions"] = sum(len(f["definitions"])
                                 for ws in self.workspaces
                                 for f in ws["flags"])
        out["faults_active"] = sum(
            1 for f in self.faults
            if f["count"] == -1 or f["fired"] < f["count"])
        out["rps"] = self.rps
        out["rate_limit"] = self.rate_limit
        out["sdk_page"] = self.sdk_page
        out["sdk_keys"] = len(self.sdk_index)
        return out


# ------------------------------------------------------------ API rendering

def render_ws(ws):
    return {"id": ws["id"], "name": ws["name"], "type": "workspace",
            "requiresTitleAndComments": False}


def render_flag(f):
    return {
        "id": f["id"],
        "name": f["name"],
        "description": f["description"],
        "trafficType": f["trafficType"],
        "creationTime": f["creationTime"],
        "tags": [{"name": t} for t in f["tags"]],
        "rolloutStatus": ({"id": f["rolloutStatus"]["id"],
                           "name": f["rolloutStatus"]["name"]}
                          if f["rolloutStatus"] else None),
        "rolloutStatusTimestamp": f["rolloutStatusTimestamp"],
        "owners": f["owners"],
    }


def render_def(f, env, d):
    return {
        "name": f["name"],
        "environment": {"id": env["id"], "name": env["name"]},
        "trafficType": f["trafficType"],
        "killed": d["killed"],
        "treatments": d["treatments"],
        "defaultTreatment": d["defaultTreatment"],
        "baselineTreatment": d["baselineTreatment"],
        "trafficAllocation": d["trafficAllocation"],
        "rules": d["rules"],
        "defaultRule": d["defaultRule"],
        "creationTime": d["creationTime"],
        "lastUpdateTime": d["lastUpdateTime"],
        "lastTrafficReceivedAt": d["lastTrafficReceivedAt"],
        "flagSets": d["flagSets"],
        "impressionsDisabled": d["impressionsDisabled"],
    }


# SDK form (reference 4.1).  Admin matcher types and the SDK matcher type
# and data field each becomes, as Split's SDKs name them.
SDK_MATCHERS = {
    "IN_SEGMENT": ("IN_SEGMENT", "segment"),
    "EQUAL_SET": ("EQUAL_TO_SET", "whitelist"),
    "ANY_OF_SET": ("CONTAINS_ANY_OF_SET", "whitelist"),
    "ALL_OF_SET": ("CONTAINS_ALL_OF_SET", "whitelist"),
    "PART_OF_SET": ("PART_OF_SET", "whitelist"),
    "ON_DATE": ("EQUAL_TO", "date"),
    "ON_OR_AFTER_DATE": ("GREATER_THAN_OR_EQUAL_TO", "date"),
    "ON_OR_BEFORE_DATE": ("LESS_THAN_OR_EQUAL_TO", "date"),
    "BETWEEN_DATE": ("BETWEEN", "between_date"),
    "BOOLEAN": ("EQUAL_TO_BOOLEAN", "boolean"),
    "EQUAL_NUMBER": ("EQUAL_TO", "number"),
    "LESS_THAN_OR_EQUAL_NUMBER": ("LESS_THAN_OR_EQUAL_TO", "number"),
    "GREATER_THAN_OR_EQUAL_NUMBER": ("GREATER_THAN_OR_EQUAL_TO", "number"),
    "BETWEEN_NUMBER": ("BETWEEN", "between_number"),
    "IN_LIST_STRING": ("WHITELIST", "whitelist"),
    "STARTS_WITH_STRING": ("STARTS_WITH", "whitelist"),
    "ENDS_WITH_STRING": ("ENDS_WITH", "whitelist"),
    "CONTAINS_STRING": ("CONTAINS_STRING", "whitelist"),
    "MATCHES_STRING": ("MATCHES_STRING", "string"),
    "IN_SPLIT": ("IN_SPLIT_TREATMENT", "depends"),
}
SDK_DATA_FIELDS = ("userDefinedSegmentMatcherData", "whitelistMatcherData",
                   "unaryNumericMatcherData", "betweenMatcherData",
                   "booleanMatcherData", "dependencyMatcherData",
                   "stringMatcherData")


def sdk_key_name(ws_name, env_name):
    return "sim-sdk-key-%s-%s" % (ws_name, env_name)


def int32_of(text):
    """A stable signed 32-bit number derived from text (SDK seeds)."""
    v = zlib.crc32(text.encode("utf-8"))
    return v - (1 << 32) if v >= 1 << 31 else v


def sdk_matcher(m, tt):
    mtype, kind = SDK_MATCHERS[m["type"]]
    attr = m.get("attribute")
    out = {"keySelector": {"trafficType": tt, "attribute": attr},
           "matcherType": mtype, "negate": bool(m.get("negate", False))}
    for field in SDK_DATA_FIELDS:
        out[field] = None
    strings = m.get("strings")
    if strings is None and m.get("string") is not None:
        strings = [m["string"]]
    if kind == "segment":
        out["keySelector"] = {"trafficType": tt, "attribute": None}
        out["userDefinedSegmentMatcherData"] = {"segmentName": m.get("string")}
    elif kind == "whitelist":
        out["whitelistMatcherData"] = {"whitelist": list(strings or [])}
    elif kind in ("date", "number"):
        out["unaryNumericMatcherData"] = {
            "dataType": "DATETIME" if kind == "date" else "NUMBER",
            "value": m.get(kind)}
    elif kind.startswith("between"):
        b = m.get("between") or {}
        out["betweenMatcherData"] = {
            "dataType": "DATETIME" if kind == "between_date" else "NUMBER",
            "start": b.get("from"), "end": b.get("to")}
    elif kind == "boolean":
        out["booleanMatcherData"] = m.get("bool")
    elif kind == "string":
        out["stringMatcherData"] = m.get("string")
    elif kind == "depends":
        dep = m.get("depends") or {}
        tr = dep.get("treatments")
        if tr is None:
            tr = [dep["treatment"]] if dep.get("treatment") else []
        out["dependencyMatcherData"] = {"split": dep.get("splitName"),
                                        "treatments": list(tr)}
    return out


def sdk_label(m):
    if m["type"] == "IN_SEGMENT":
        return "in segment %s" % m.get("string")
    return "%s %s" % (m.get("attribute") or "key",
                      m["type"].lower().replace("_", " "))


def sdk_partitions(treatments, buckets):
    """Every treatment in order, with its share (0 when not served)."""
    sizes = {}
    for b in buckets:
        sizes[b["treatment"]] = sizes.get(b["treatment"], 0) + b["size"]
    return [{"treatment": t["name"], "size": sizes.get(t["name"], 0)}
            for t in treatments]


def sdk_condition(ctype, matchers, partitions, label):
    return {"conditionType": ctype,
            "matcherGroup": {"combiner": "AND", "matchers": matchers},
            "partitions": partitions, "label": label}


def sdk_whitelist(matcher_type, data_field, data):
    m = {"keySelector": None, "matcherType": matcher_type, "negate": False}
    for field in SDK_DATA_FIELDS:
        m[field] = None
    m[data_field] = data
    return m


def render_sdk(f, env, d, status, cn):
    """One flag's definition in env as splitChanges renders it: individual
    targets, then segment targets (WHITELIST conditions), then the rules,
    then the default rule (an ALL_KEYS ROLLOUT condition)."""
    tt = f["trafficType"]["name"]
    conds = []
    for t in d["treatments"]:
        if t.get("keys"):
            m = sdk_whitelist("WHITELIST", "whitelistMatcherData",
                              {"whitelist": list(t["keys"])})
            conds.append(sdk_condition(
                "WHITELIST", [m], [{"treatment": t["name"], "size": 100}],
                "whitelisted"))
    for t in d["treatments"]:
        for seg in t.get("segments") or ():
            conds.append(sdk_condition(
                "WHITELIST", [sdk_whitelist(
                    "IN_SEGMENT", "userDefinedSegmentMatcherData",
                    {"segmentName": seg})],
                [{"treatment": t["name"], "size": 100}],
                "whitelisted segment"))
    for r in d["rules"]:
        ms = r["condition"]["matchers"]
        conds.append(sdk_condition(
            "ROLLOUT", [sdk_matcher(m, tt) for m in ms],
            sdk_partitions(d["treatments"], r["buckets"]),
            " and ".join(sdk_label(m) for m in ms)))
    all_keys = {"keySelector": {"trafficType": tt, "attribute": None},
                "matcherType": "ALL_KEYS", "negate": False}
    for field in SDK_DATA_FIELDS:
        all_keys[field] = None
    conds.append(sdk_condition(
        "ROLLOUT", [all_keys],
        sdk_partitions(d["treatments"], d["defaultRule"]), "default rule"))
    sets = []
    for fs in d["flagSets"]:
        if isinstance(fs, dict):
            fs = fs.get("name") or fs.get("id")
        if isinstance(fs, str):
            sets.append(fs)
    return {
        "trafficTypeName": tt,
        "name": f["name"],
        "trafficAllocation": d["trafficAllocation"],
        "trafficAllocationSeed": int32_of(f["id"] + "/trafficAllocation"),
        "seed": int32_of(f["id"] + "/seed"),
        "status": status,
        "killed": d["killed"],
        "defaultTreatment": d["defaultTreatment"],
        "changeNumber": cn,
        "algo": 2,
        "configurations": {t["name"]: t["configurations"]
                           for t in d["treatments"]
                           if t.get("configurations") is not None},
        "sets": sorted(sets),
        "impressionsDisabled": d["impressionsDisabled"],
        "conditions": conds,
    }


def page_args(query, default, maximum, over_max="clamp"):
    def one(name, dflt):
        vals = query.get(name)
        if not vals or vals[-1] == "":
            return dflt
        try:
            return int(vals[-1])
        except ValueError:
            raise ApiError(400, "%s must be an integer" % name) from None
    offset = one("offset", 0)
    limit = one("limit", default)
    if offset < 0:
        raise ApiError(400, "offset must be >= 0")
    if limit < 1:
        raise ApiError(400, "limit must be >= 1")
    if limit > maximum:
        if over_max == "400":
            raise ApiError(400, "limit must be <= %d" % maximum)
        limit = maximum
    return offset, limit


def envelope(items, offset, limit, render):
    return {"objects": [render(x) for x in items[offset:offset + limit]],
            "offset": offset, "limit": limit, "totalCount": len(items)}


class Api:
    """Routes one authenticated API request; called with the lock held."""

    def __init__(self, sim, spec):
        self.sim = sim
        self.spec = spec
        # The endpoint the path names, set before anything can fail, so
        # that a 404 of a single-flag request counts under its endpoint.
        self.label = "error"

    def ws(self, ref):
        ws = self.sim.find_ws(ref)
        if ws is None or not self.sim.key_sees_ws(self.spec, ws):
            raise ApiError(404, MSG_404)
        return ws

    def env(self, ws, ref):
        env = self.sim.find_env(ws, ref)
        if env is None or not self.sim.key_sees_env(self.spec, env):
            raise ApiError(404, MSG_404)
        return env

    def route(self, method, segs, query, body):
        """Return (endpoint label, JSON value)."""
        n = len(segs)
        if method != "GET":
            return self.write(method, segs, body)
        if segs == ["workspaces"]:
            self.label = "workspaces"
            return "workspaces", self.workspaces(query)
        if n == 3 and segs[:2] == ["environments", "ws"]:
            self.label = "environments"
            ws = self.ws(segs[2])
            return "environments", [
                {"id": e["id"], "name": e["name"],
                 "production": e["production"]}
                for e in ws["environments"]
                if self.sim.key_sees_env(self.spec, e)]
        if segs == ["rolloutStatuses"]:
            self.label = "rolloutStatuses"
            self.ws((query.get("wsId") or [""])[-1])
            return "rolloutStatuses", ROLLOUT_STATUSES
        if n < 3 or segs[:2] != ["splits", "ws"]:
            raise ApiError(404, MSG_404)
        if n in (3, 4, 5, 6):
            self.label = {3: "flags", 4: "flag", 5: "definitions",
                          6: "definition"}[n]
        ws = self.ws(segs[2])
        if n == 3:
            return "flags", self.flags(ws, query)
        if n == 4:
            f = ws["index"].get(segs[3])
            if f is None:
                raise ApiError(404, MSG_404)
            return "flag", render_flag(f)
        if n == 5 and segs[3] == "environments":
            return "definitions", self.definitions(ws, segs[4], query)
        if n == 6 and segs[4] == "environments":
            env = self.env(ws, segs[5])
            f = ws["index"].get(segs[3])
            if f is None or env["id"] not in f["definitions"]:
                raise ApiError(404, MSG_404)
            return "definition", render_def(f, env,
                                            f["definitions"][env["id"]])
        raise ApiError(404, MSG_404)

    def write(self, method, segs, body):
        """The two writes flagsync makes (README, "Writes"): create a flag
        in a traffic type, and associate a flag's tags."""
        n = len(segs)
        if n == 5 and segs[:2] == ["splits", "ws"] and \
                segs[3] == "trafficTypes":
            self.label = "create_flag"
            ws = self.ws(segs[2])
            if method != "POST":
                raise ApiError(405, "method not allowed")
            return "create_flag", self.create_flag(ws, segs[4], body)
        if n == 7 and segs[:2] == ["tags", "ws"] and segs[3] == "object" \
                and segs[5] == "objecttype":
            self.label = "tags"
            ws = self.ws(segs[2])
            if method != "POST":
                raise ApiError(405, "method not allowed")
            return "tags", self.associate_tags(ws, segs[4], segs[6], body)
        raise ApiError(405, "method not allowed")

    @staticmethod
    def json_body(body):
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "request body is not JSON") from None

    def create_flag(self, ws, tt_ref, body):
        tt = self.sim.find_traffic_type(ws, tt_ref)
        if tt is None:
            raise ApiError(404, MSG_404)
        doc = self.json_body(body)
        if not isinstance(doc, dict):
            raise ApiError(400, "body must be a JSON object")
        name, desc = doc.get("name"), doc.get("description", "")
        if not isinstance(name, str) or not FLAG_NAME_RE.match(name):
            raise ApiError(400, MSG_FLAG_NAME)
        if desc is not None and not isinstance(desc, str):
            raise ApiError(400, "description must be a string")
        if name in ws["index"]:
            raise ApiError(409, "Feature flag %s already exists" % name)
        # No definition and no environment: the change feed does not move
        # (reference 2.5: creating a flag configures no environment).
        flag = self.sim.new_flag(name, {"description": desc or "",
                                        "trafficType": dict(tt)}, now_ms())
        ws["flags"].append(flag)
        ws["index"][name] = flag
        self.sim.invalidate(ws)
        return render_flag(flag)

    def associate_tags(self, ws, name, otype, body):
        if otype != "Split":
            raise ApiError(400, "unsupported object type %s" % otype)
        f = ws["index"].get(name)
        if f is None:
            raise ApiError(404, MSG_404)
        doc = self.json_body(body)
        if not isinstance(doc, list) or not all(
                isinstance(t, str) and t for t in doc):
            raise ApiError(400, "body must be an array of tag names")
        # The whole list replaces the flag's tags (duplicates once, first
        # order kept); an empty array removes them all.  Tags are not part
        # of a definition: the change feed does not move.
        f["tags"] = list(dict.fromkeys(doc))
        return [{"name": t} for t in f["tags"]]

    def workspaces(self, query):
        offset, limit = page_args(query, WS_LIMIT_DEFAULT, WS_LIMIT_MAX)
        items = [w for w in self.sim.workspaces
                 if self.sim.key_sees_ws(self.spec, w)]
        name = (query.get("name") or [None])[-1]
        if name is not None:
            op = (query.get("nameOp") or ["IS"])[-1]
            if op == "IS":
                items = [w for w in items if w["name"] == name]
            elif op == "STARTS_WITH":
                items = [w for w in items if w["name"].startswith(name)]
            elif op == "CONTAINS":
                items = [w for w in items if name in w["name"]]
            else:
                raise ApiError(400, "nameOp must be IS, STARTS_WITH or "
                               "CONTAINS")
        return envelope(items, offset, limit, render_ws)

    def flags(self, ws, query):
        offset, limit = page_args(query, FLAGS_LIMIT_DEFAULT, FLAGS_LIMIT_MAX)
        items = ws["flags"]
        tags = query.get("tag")
        if tags:
            want = set(tags)
            items = [f for f in items if want.intersection(f["tags"])]
        return envelope(items, offset, limit, render_flag)

    def definitions(self, ws, env_ref, query):
        env = self.env(ws, env_ref)
        offset, limit = page_args(query, DEFS_LIMIT_DEFAULT, DEFS_LIMIT_MAX,
                                  self.sim.definitions_over_max)
        items = self.sim.defs_of(ws, env["id"])
        eid = env["id"]
        return envelope(items, offset, limit,
                        lambda f: render_def(f, env, f["definitions"][eid]))


# ------------------------------------------------------------ control API

class Control:
    """The /_sim/ endpoints; called with the lock held."""

    def __init__(self, sim):
        self.sim = sim

    def handle(self, method, name, query, body):
        fn = getattr(self, "%s_%s" % (method.lower(), name), None)
        if fn is None:
            raise ApiError(404, "no control endpoint %s /_sim/%s"
                           % (method, name))
        if method in ("POST", "PATCH"):
            try:
                doc = json.loads(body.decode("utf-8")) if body else {}
            except (ValueError, UnicodeDecodeError) as e:
                raise ControlError("body is not JSON: %s" % e) from None
            _need(isinstance(doc, dict), "body must be a JSON object")
            return fn(doc)
        q = {k: v[-1] for k, v in query.items()}
        return fn(q)

    def _target(self, doc, want_env=True):
        ws = self.sim.ws_or_fail(doc.get("ws"))
        flag = self.sim.flag_or_fail(ws, doc.get("flag"))
        env = self.sim.env_or_fail(ws, doc.get("env")) if want_env else None
        return ws, flag, env

    def _saved(self, flag, env, d):
        return {"ok": True, "definition": render_def(flag, env, d),
                "lastUpdateTime": d["lastUpdateTime"]}

    # state ----------------------------------------------------------------
    def get_state(self, _q):
        return self.sim.dump_state()

    def post_state(self, doc):
        self.sim.load_state(doc)
        return {"ok": True, "workspaces": len(self.sim.workspaces)}

    def get_config(self, _q):
        return dict(self.sim.limits_view(),
                    definitions_over_max=self.sim.definitions_over_max,
                    sdk_page=self.sim.sdk_page)

    def post_config(self, doc):
        dom = doc.get("definitions_over_max", self.sim.definitions_over_max)
        _need(dom in ("clamp", "400"),
              "definitions_over_max must be \"clamp\" or \"400\"")
        rps = doc.get("rps", self.sim.rps)
        _need(isinstance(rps, (int, float)) and not isinstance(rps, bool)
              and rps >= 0, "rps must be a number >= 0")
        page = doc.get("sdk_page", self.sim.sdk_page)
        _need(_is_int(page) and page >= 0,
              "sdk_page must be an integer >= 0 (0 = no cap)")
        self.sim.set_rps(float(rps), doc.get("retry_after"),
                         doc.get("rate_limit"), doc.get("rate_window"))
        self.sim.sdk_page = page
        self.sim.definitions_over_max = dom
        return dict(self.get_config(None), ok=True)

    # workspaces -------------------------------------------------------------
    def post_workspace(self, doc):
        name = doc.get("name")
        _need(isinstance(name, str) and name, "name is required")
        _need(self.sim.find_ws(name) is None, "workspace %r exists" % name)
        envs = doc.get("environments", [
            {"name": "Production", "production": True},
            {"name": "Staging", "production": False}])
        ws = self.sim._parse_ws({"id": doc.get("id"), "name": name,
                                 "environments": envs})
        self.sim.reindex_sdk(self.sim.workspaces + [ws])
        self.sim.workspaces.append(ws)
        self.sim.reindex_sdk()
        return {"ok": True, "workspace": render_ws(ws),
                "environments": ws["environments"]}

    def delete_workspace(self, q):
        ws = self.sim.ws_or_fail(q.get("ws"))
        self.sim.workspaces.remove(ws)
        self.sim.reindex_sdk()
        return {"ok": True}

    # flags ------------------------------------------------------------------
    def get_flag(self, q):
        ws, flag, _ = self._target(q, want_env=False)
        return {"ok": True, "flag": render_flag(flag),
                "definitions": flag["definitions"]}

    def post_flag(self, doc):
        ws = self.sim.ws_or_fail(doc.get("ws"))
        name = doc.get("flag")
        _need(isinstance(name, str) and name not in ws["index"],
              "flag %r missing or already exists" % (name,))
        flag = self.sim.new_flag(name, doc, now_ms())
        d = None
        if doc.get("definition") is not None:
            env = self.sim.env_or_fail(ws, doc.get("env"))
            d = self.sim.save_definition(ws, flag, env, doc["definition"])
        ws["flags"].append(flag)
        ws["index"][name] = flag
        self.sim.add_traffic_type(ws, flag["trafficType"])
        self.sim.invalidate(ws)
        out = {"ok": True, "flag": render_flag(flag)}
        if d is not None:
            out["definition"] = render_def(flag, env, d)
        return out

    def patch_flag(self, doc):
        ws, flag, _ = self._target(doc, want_env=False)
        changes = doc.get("set")
        _need(isinstance(changes, dict), "set must be an object")
        unknown = set(changes) - {"tags", "description", "owners",
                                  "rolloutStatus"}
        _need(not unknown, "cannot set flag field(s) %s"
              % ", ".join(sorted(unknown)))
        probe = self.sim.new_flag(flag["name"], dict(flag, **changes),
                                  flag["creationTime"])
        for field in changes:
            flag[field] = probe[field]
        return {"ok": True, "flag": render_flag(flag)}

    def delete_flag(self, q):
        ws, flag, _ = self._target(q, want_env=False)
        for eid in list(flag["definitions"]):
            self.sim.archive(ws, flag, eid)
        ws["flags"].remove(flag)
        del ws["index"][flag["name"]]
        self.sim.invalidate(ws)
        return {"ok": True}

    # definitions ------------------------------------------------------------
    def post_definition(self, doc):
        ws, flag, env = self._target(doc)
        d = self.sim.save_definition(ws, flag, env, doc.get("set", {}))
        return self._saved(flag, env, d)

    def delete_definition(self, q):
        ws, flag, env = self._target(q)
        _need(env["id"] in flag["definitions"], "flag %s has no definition in"
              " %s" % (flag["name"], env["name"]))
        self.sim.archive(ws, flag, env["id"])
        del flag["definitions"][env["id"]]
        self.sim.invalidate(ws)
        return {"ok": True}

    def _existing(self, doc):
        ws, flag, env = self._target(doc)
        _need(env["id"] in flag["definitions"], "flag %s has no definition in"
              " %s" % (flag["name"], env["name"]))
        return ws, flag, env, flag["definitions"][env["id"]]

    def post_kill(self, doc):
        ws, flag, env, _ = self._existing(doc)
        killed = doc.get("killed", True)
        _need(isinstance(killed, bool), "killed must be a boolean")
        d = self.sim.save_definition(ws, flag, env, {"killed": killed})
        return self._saved(flag, env, d)

    def post_default_rule(self, doc):
        ws, flag, env, _ = self._existing(doc)
        d = self.sim.save_definition(ws, flag, env,
                                     {"defaultRule": doc.get("default_rule")})
        return self._saved(flag, env, d)

    def post_add_rule(self, doc):
        ws, flag, env, old = self._existing(doc)
        rule = doc.get("rule") or {
            "condition": {"combiner": "AND", "matchers": [
                {"type": "IN_SEGMENT", "string": "employees"}]},
            "buckets": [{"treatment": "on", "size": 100}]}
        d = self.sim.save_definition(ws, flag, env,
                                     {"rules": list(old["rules"]) + [rule]})
        return self._saved(flag, env, d)

    def post_touch(self, doc):
        ws, flag, env, _ = self._existing(doc)
        d = self.sim.save_definition(ws, flag, env, {})
        return self._saved(flag, env, d)

    # keys -------------------------------------------------------------------
    def get_key(self, _q):
        return {"ok": True, "keys": copy.deepcopy(self.sim.keys)}

    def post_key(self, doc):
        key, token = doc.get("key"), doc.get("type")
        _need(token in (None, "pat", "sat"), "type must be pat or sat")
        if key is None and token is not None:
            # The shape of a Harness token: pat.ACCOUNT.TOKENID.SECRET.
            key = "%s.simAccount.%s.%s" % (token, new_id()[:8],
                                           new_id().replace("-", ""))
        _need(isinstance(key, str) and key, "key is required")
        _need(token is None or key.startswith(token + "."),
              "a %s token starts with \"%s.\"" % (token, token))
        spec = {k: v for k, v in doc.items()
                if k in ("workspaces", "environments", "org")}
        self.sim.keys[key] = self.sim.norm_key_spec(spec)
        return {"ok": True, "key": key, "harness": is_harness(key)}

    def delete_key(self, q):
        _need(q.get("key") in self.sim.keys, "no such key")
        del self.sim.keys[q["key"]]
        return {"ok": True}

    # SDK keys (splitChanges) ------------------------------------------------
    def get_sdk_key(self, _q):
        return {"ok": True, "keys": [
            {"key": k, "ws": ws["name"], "env": env["name"],
             "env_id": env["id"]}
            for k, (ws, env) in sorted(self.sim.sdk_index.items())]}

    def post_sdk_key(self, doc):
        ws = self.sim.ws_or_fail(doc.get("ws"))
        env = self.sim.env_or_fail(ws, doc.get("env"))
        key = doc.get("key")
        if key is None:
            key = "sdk-" + new_id()
        _need(isinstance(key, str) and key and key.strip() == key
              and " " not in key, "key must be a non-empty string without "
              "spaces")
        where = self.sim.sdk_index.get(key)
        _need(where is None or where[1] is env,
              "SDK key %r belongs to another environment" % key)
        if key not in env["sdkKeys"]:
            env["sdkKeys"].append(key)
        self.sim.reindex_sdk()
        return {"ok": True, "key": key, "ws": ws["name"], "env": env["name"]}

    def delete_sdk_key(self, q):
        where = self.sim.sdk_index.get(q.get("key"))
        _need(where is not None, "no such SDK key")
        where[1]["sdkKeys"].remove(q["key"])
        self.sim.reindex_sdk()
        return {"ok": True}

    # faults, rate limit, requests --------------------------------------------
    def post_fault(self, doc):
        f = self.sim.add_fault(doc)
        return {"ok": True, "fault": self.sim.fault_view(f)}

    def get_fault(self, _q):
        return {"ok": True, "faults": [self.sim.fault_view(f)
                                       for f in self.sim.faults]}

    def delete_fault(self, _q):
        self.sim.faults = []
        return {"ok": True}

    def get_ratelimit(self, _q):
        return dict(self.sim.limits_view(), ok=True)

    def post_ratelimit(self, doc):
        rps = doc.get("rps", 0)
        _need(isinstance(rps, (int, float)) and not isinstance(rps, bool)
              and rps >= 0, "rps must be a number >= 0 (0 = off)")
        self.sim.set_rps(float(rps), doc.get("retry_after"),
                         doc.get("rate_limit", 0), doc.get("rate_window"))
        return self.get_ratelimit(None)

    def get_requests(self, q):
        kind = q.get("api")
        _need(kind in (None, "admin", "sdk"), "api must be admin or sdk")
        return {"requests": [r for r in self.sim.requests
                             if kind is None or r["api"] == kind]}

    def delete_requests(self, _q):
        self.sim.requests.clear()
        return {"ok": True}

    def get_stats(self, _q):
        return self.sim.stats_view()

    def delete_stats(self, _q):
        inflight = self.sim.stats["in_flight"]
        sdk_inflight = self.sim.stats["sdk_in_flight"]
        self.sim.reset_stats()
        self.sim.stats["in_flight"] = inflight
        self.sim.stats["sdk_in_flight"] = sdk_inflight
        return {"ok": True}


# ---------------------------------------------------------------- generator

def generate(sim, n, seed):
    """Add n deterministic flags to workspace "Default"."""
    rng = random.Random(seed)

    def uid():
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    ws = sim.find_ws("Default")
    if ws is None:
        ws = sim.make_ws(uid(), "Default", [
            {"id": uid(), "name": "Production", "production": True},
            {"id": uid(), "name": "Staging", "production": False}])
        sim.workspaces.append(ws)
        sim.assign_default_sdk_key()
        sim.reindex_sdk()
    prod = sim.env_or_fail(ws, None)
    stag = sim.find_env(ws, "Staging")

    def tr(name, cfg=None, **extra):
        t = {"name": name, "configurations": cfg, "description": ""}
        t.update(extra)
        return t

    # Shared, never mutated in place: saves build new objects (copy on
    # write), so thousands of flags can point at one template.
    t_onoff = [tr("on"), tr("off")]
    t_cfg = [tr("on", '{"color":"blue"}', description="new look"),
             tr("off", '{"color":"red"}')]
    t_keys = [tr("on", keys=["qa_user_1", "qa_user_2"]), tr("off")]
    t_segs = [tr("on", segments=["beta_testers"]), tr("off")]
    t_multi = [tr("v1"), tr("v2"), tr("v3")]
    b = lambda *pairs: [{"treatment": t, "size": s} for t, s in pairs]
    dr_onoff = [b(("off", 100)), b(("on", 100)), b(("on", 25), ("off", 75)),
                b(("on", 50), ("off", 50)), b(("on", 10), ("off", 90)),
                b(("on", 75), ("off", 25)), b(("on", 1), ("off", 99))]
    dr_multi = [b(("v1", 34), ("v2", 33), ("v3", 33)), b(("v1", 100)),
                b(("v1", 80), ("v2", 10), ("v3", 10))]

    def rule(matchers, buckets):
        return {"condition": {"combiner": "AND", "matchers": matchers},
                "buckets": buckets}
    r_seg = rule([{"type": "IN_SEGMENT", "string": "employees"}],
                 b(("on", 100)))
    r_set = rule([{"type": "ANY_OF_SET", "attribute": "plan",
                   "strings": ["gold", "platinum"]}],
                 b(("on", 50), ("off", 50)))
    r_num = rule([{"type": "GREATER_THAN_OR_EQUAL_NUMBER", "attribute": "age",
                   "number": 18},
                  {"type": "ON_OR_AFTER_DATE", "attribute": "signup",
                   "date": BASE_TIME_MS, "negate": True}],
                 b(("on", 20), ("off", 80)))
    r_multi = rule([{"type": "IN_LIST_STRING", "attribute": "country",
                     "strings": ["DE", "FR"]}], b(("v2", 100)))
    rule_sets = [[r_seg], [r_set], [r_seg, r_num], [r_num, r_set, r_seg]]
    projects = ["SHOP", "PAY", "CORE", "WEB"]
    plain_tags = ["checkout", "backend", "experiment", "mobile", "ops"]
    tt = {"id": uid(), "name": "user"}
    owners = [[{"id": uid(), "type": "group"}],
              [{"id": uid(), "type": "user"}], []]

    def issue():
        return "%s-%d" % (rng.choice(projects), rng.randint(1, 999))

    def definition(i, ct, env_roll):
        r = rng.random()
        if r < 0.08:
            treatments, drs, rules = t_multi, dr_multi, None
        elif r < 0.16:
            treatments, drs, rules = t_keys, dr_onoff, None
        elif r < 0.20:
            treatments, drs, rules = t_segs, dr_onoff, None
        elif r < 0.30:
            treatments, drs, rules = t_cfg, dr_onoff, None
        else:
            treatments, drs, rules = t_onoff, dr_onoff, None
        if rng.random() < 0.30:
            rules = ([r_multi] if treatments is t_multi
                     else rng.choice(rule_sets))
        dt = treatments[-1]["name"] if rng.random() < 0.85 else \
            treatments[0]["name"]
        lut = ct + rng.randint(0, 30 * 86400000)
        return {
            "killed": env_roll < 0.05,
            "treatments": treatments,
            "defaultTreatment": dt,
            "baselineTreatment": treatments[-1]["name"],
            "trafficAllocation": rng.choice((100, 100, 100, 100, 50, 80)),
            "rules": rules or [],
            "defaultRule": rng.choice(drs),
            "creationTime": ct,
            "lastUpdateTime": lut,
            "lastTrafficReceivedAt": (lut + rng.randint(0, 86400000)
                                      if rng.random() < 0.8 else None),
            "impressionsDisabled": rng.random() < 0.02,
            "flagSets": [],
        }

    width = max(5, len(str(max(0, n - 1))))
    start = len(ws["flags"])
    for i in range(n):
        name = "flag_%0*d" % (width, i)
        if name in ws["index"]:
            raise SystemExit("--generate: flag %s already exists" % name)
        ct = BASE_TIME_MS + (start + i) * 1000
        r = rng.random()
        tags = []
        desc = "Generated flag %d" % i
        if r < 0.10:
            tags.append(issue())
            if rng.random() < 0.3:
                tags.append(rng.choice(plain_tags))
        elif r < 0.30:
            tags.append(rng.choice(plain_tags))
        r = rng.random()
        if r < 0.10:
            desc = "Fixes %s and %s" % (issue(), issue())
        elif r < 0.12:
            desc = "Not keys: XSHOP-12Y, shop-2 and PAY-x"
        elif r < 0.20:
            desc = ""
        flag = {
            "id": uid(), "name": name, "description": desc, "tags": tags,
            "trafficType": tt, "creationTime": ct,
            "rolloutStatus": ROLLOUT_STATUSES[i % len(ROLLOUT_STATUSES)],
            "rolloutStatusTimestamp": ct + 1000,
            "owners": owners[i % 3], "definitions": {},
        }
        r = rng.random()
        if r < 0.95:
            flag["definitions"][prod["id"]] = definition(i, ct, r / 0.95)
        if stag is not None and rng.random() < 0.30:
            flag["definitions"][stag["id"]] = definition(i, ct, 1.0)
        ws["flags"].append(flag)
        ws["index"][name] = flag
    sim.invalidate(ws)
    sim.build_feeds(ws)


# -------------------------------------------------------------- HTTP server

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "split-sim/1.0"
    sys_version = ""
    # Headers and body leave in one segment: no Nagle/delayed-ACK stall.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_request(self, code="-", size="-"):
        """Requests are logged once, by logline()."""

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("split_sim: %s %s\n"
                             % (self.client_address[0], fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_HEAD(self):
        t0 = time.monotonic()
        self.close_connection = True
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.logline("HEAD", 405, t0)

    # -- plumbing -----------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ApiError(411, "chunked request bodies are not supported")
        cl = self.headers.get("Content-Length")
        if not cl:
            return b""
        try:
            n = int(cl)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "bad Content-Length") from None
        if n < 0 or n > 512 * 1024 * 1024:
            self.close_connection = True
            raise ApiError(400, "bad Content-Length")
        return self.rfile.read(n)

    def send(self, status, body, headers=None, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, value, headers=None):
        self.send(status, json.dumps(value, separators=(",", ":"))
                  .encode("utf-8"), headers)

    def logline(self, method, status, t0, note=""):
        if self.server.quiet:
            return
        sys.stderr.write("split_sim: %s %s %s -> %s %.1fms%s\n"
                         % (self.client_address[0], method, self.path,
                            status, (time.monotonic() - t0) * 1000, note))

    def send_huge(self, size):
        """A 200 of size bytes of JSON whitespace, 1 MiB at a time; to an
        SDK client that accepts gzip, those bytes gzipped (a few kB that
        inflate to size: a decompression bomb)."""
        if self.gzip:
            z = zlib.compressobj(9, zlib.DEFLATED, 31)
            chunk, left, parts = b" " * (1 << 20), size, []
            while left > 0:
                parts.append(z.compress(chunk[:min(left, len(chunk))]))
                left -= len(chunk)
            parts.append(z.flush())
            data = b"".join(parts)
            self.sent = len(data)
            self.send(200, data, {"Content-Encoding": "gzip"})
            return
        self.sent = size
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b" " * (1 << 20)
        left = size
        try:
            while left > 0:
                n = min(left, len(chunk))
                self.wfile.write(chunk[:n])
                left -= n
        except OSError:
            self.close_connection = True

    def drop(self):
        """Close the connection without answering."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def wait_or_gone(self, delay):
        """Sleep delay seconds; True when the client hung up meanwhile."""
        end = time.monotonic() + delay
        sock = self.connection
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            try:
                r, _, _ = select.select([sock], [], [], min(left, 0.05))
            except (OSError, ValueError):
                return True
            if r:
                try:
                    peek = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                except BlockingIOError:
                    continue
                except OSError:
                    return True
                if peek == b"":
                    return True
                # Pipelined data: cannot watch for hang-up any more.
                time.sleep(max(0.0, end - time.monotonic()))
                return False

    def dispatch(self, method):
        t0 = time.monotonic()
        sim = self.server.sim
        url = urlsplit(self.path)
        status = 500
        try:
            body = self.read_body()
            if url.path == SIM_PREFIX or url.path.startswith(SIM_PREFIX + "/"):
                status = self.control(method, url, body)
            else:
                status = self.api(method, url, t0, body)
        except ApiError as e:
            status = e.status
            self.send_json(e.status, err_body(e.status, e.message))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            status = 0
        except Exception:  # never let a request kill the server
            traceback.print_exc(file=sys.stderr)
            status = 500
            try:
                self.close_connection = True
                self.send_json(500, err_body(500, "simulator error"))
            except OSError:
                pass
        self.logline(method, status, t0)

    def control(self, method, url, body):
        sim = self.server.sim
        name = url.path[len(SIM_PREFIX) + 1:]
        query = parse_qs(url.query, keep_blank_values=True)
        with sim.lock:
            sim.stats["control_requests"] += 1
            try:
                value = Control(sim).handle(method, name, query, body)
                status = 200
            except ControlError as e:
                value, status = {"ok": False, "message": str(e)}, 400
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                value = {"ok": False, "message": "bad request: %r" % (e,)}
                status = 400
            data = json.dumps(value, separators=(",", ":")).encode("utf-8")
        self.send(status, data)
        return status

    def auth_key(self):
        """(key, header): the key and which header carried it ("bearer" or
        "x-api-key"), or (None, None).  Authorization wins when both are
        sent; another scheme than Bearer carries no key."""
        h = self.headers.get("Authorization")
        if h:
            parts = h.split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "bearer":
                return parts[1].strip(), "bearer"
            return None, None
        k = self.headers.get("x-api-key")
        return (k.strip(), "x-api-key") if k else (None, None)

    def api(self, method, url, t0, body=b""):
        sim = self.server.sim
        ip = self.client_address[0]
        key, how = self.auth_key()
        kind = ("sdk" if url.path == SDK_PREFIX
                or url.path.startswith(SDK_PREFIX + "/") else "admin")
        self.gzip = kind == "sdk" and accepts_gzip(
            self.headers.get("Accept-Encoding"))
        self.sent = 0
        entry = {"api": kind, "method": method, "path": url.path,
                 "query": url.query, "status": 0, "time": time.time(),
                 "ip": ip, "key": key, "auth": how,
                 "user_agent": self.headers.get("User-Agent"), "fault": None}
        self.req_body = body
        if method != "GET":
            # Writes show what was sent: the request log is how a test
            # sees which tags a client wrote.
            entry["body"] = body.decode("utf-8", "replace")
        if kind == "sdk":
            entry["gzip"] = self.gzip
        endpoint = "other"
        with sim.lock:
            sim.begin_api(kind)
            fault = sim.pick_fault(self.path)
        try:
            if fault is not None:
                entry["fault"] = fault["kind"]
            status, endpoint = self.api_answer(method, url, key, how, ip,
                                               fault, entry)
            entry["status"] = status
            return status
        finally:
            entry["duration_ms"] = round((time.monotonic() - t0) * 1000, 3)
            if kind == "sdk":
                entry["bytes"] = self.sent
            with sim.lock:
                sim.end_api(entry, endpoint)

    def answer(self, status, data, hdrs=None, truncate=False):
        """Send an API answer; SDK answers are gzipped when the client
        accepts it.  truncate cuts what goes on the wire (after gzip)."""
        hdrs = dict(hdrs or {})
        if self.gzip and data:
            data = gzip.compress(data, 6, mtime=0)
            hdrs["Content-Encoding"] = "gzip"
            hdrs["Vary"] = "Accept-Encoding"
        if truncate:
            data = data[:len(data) // 2]
        self.sent = len(data)
        self.send(status, data, hdrs)

    def api_answer(self, method, url, key, how, ip, fault, entry):
        kind = fault["kind"] if fault else None
        sdk = entry["api"] == "sdk"
        if kind == "close":
            self.drop()
            return 0, "fault"
        if kind == "status":
            st = fault["status"]
            self.answer(st, _dumps(err_body(st, "simulated fault")))
            return st, "fault"
        if kind == "ratelimit":
            hdrs = {"X-RateLimit-Remaining-Org": str(fault["remaining_org"]),
                    "X-RateLimit-Remaining-IP": str(fault["remaining_ip"]),
                    "X-RateLimit-Reset-Seconds-Org": str(fault["reset_org"]),
                    "X-RateLimit-Reset-Seconds-IP": str(fault["reset_ip"])}
            if fault["retry_after"] is not None:
                hdrs["Retry-After"] = str(fault["retry_after"])
            self.answer(429, _dumps(err_body(429, "Rate limit exceeded")),
                        hdrs)
            return 429, "fault"
        if kind == "malformed":
            self.answer(200, (b'{"splits":[{"name":"oops",,}],"since":<html>'
                              if sdk else
                              b'{"objects":[{"name":"oops",,}],"totalCount":'
                              b'<html>'))
            return 200, "fault"
        if kind == "huge":
            self.send_huge(fault["size"])
            return 200, "fault"
        if kind == "deep":
            n = fault["depth"]
            self.answer(200, (b'{"splits":' if sdk else b'{"objects":') +
                        b"[" * n + b"]" * n +
                        (b',"since":-1,"till":1}' if sdk
                         else b',"totalCount":1}'))
            return 200, "fault"
        if kind == "redirect":
            self.send(302, b"", {"Location": fault["location"] or "/"})
            return 302, "fault"
        if kind == "slow" and self.wait_or_gone(fault["delay"]):
            entry["client_gone"] = True
            self.drop()
            return 0, "fault"
        if sdk:
            status, endpoint, data, hdrs = self.sdk_compute(method, url, key,
                                                            how, entry)
        else:
            status, endpoint, data, hdrs = self.api_compute(
                method, url, key, how, ip, kind == "totalcount_drift",
                self.req_body)
        if status == 200 and kind in ("edit", "total", "empty"):
            data = _dumps(fault_edit(json.loads(data), fault))
        if kind == "bytes":
            data = data.replace(fault["find"].encode("utf-8"),
                                bytes.fromhex(fault["hex"]))
        self.answer(status, data, hdrs, truncate=kind == "truncated")
        return status, endpoint

    def api_compute(self, method, url, key, how, ip, drift, body=b""):
        """(status, endpoint, body bytes, headers), lock held inside."""
        sim = self.server.sim
        with sim.lock:
            api = None
            spec = sim.keys.get(key) if key is not None else None
            if spec is not None and how != "x-api-key" and is_harness(key):
                # Harness tokens go in x-api-key only (reference 1).
                spec = None
            hdrs = sim.take_tokens(spec["org"] if spec is not None else None,
                                   ip)
            if hdrs is not None:
                sim.stats["rate_limited"] += 1
                return 429, "ratelimited", _dumps(
                    err_body(429, "Rate limit exceeded")), hdrs
            try:
                if spec is None:
                    raise ApiError(401, MSG_401)
                if method not in ("GET", "POST"):
                    raise ApiError(405, "method not allowed")
                if not (url.path.startswith(API_PREFIX + "/")):
                    raise ApiError(404, MSG_404)
                rest = url.path[len(API_PREFIX) + 1:]
                segs = [unquote(s) for s in rest.split("/")]
                query = parse_qs(url.query, keep_blank_values=True)
                api = Api(sim, spec)
                endpoint, value = api.route(method, segs, query, body)
                if drift and isinstance(value, dict) and "totalCount" in value:
                    value = dict(value, totalCount=value["totalCount"] + DRIFT)
                return 200, endpoint, _dumps(value), None
            except ApiError as e:
                label = api.label if api is not None else "error"
                return e.status, label, _dumps(
                    err_body(e.status, e.message)), None

    def sdk_compute(self, method, url, key, how, entry):
        """GET /api/splitChanges (reference 4.1): never rate limited."""
        sim = self.server.sim
        with sim.lock:
            try:
                where = sim.sdk_index.get(key) if how == "bearer" else None
                if where is None:
                    raise ApiError(401, MSG_SDK_401)
                if method != "GET":
                    raise ApiError(405, "method not allowed")
                if url.path != SDK_PREFIX + "/splitChanges":
                    raise ApiError(404, "not found")
                since, till = sdk_args(parse_qs(url.query,
                                                keep_blank_values=True))
                ws, env = where
                body, n, till_now = sim.sdk_changes(ws, env, since)
                entry.update(since=since, till=till_now, splits=n)
                if till is not None:
                    entry["till_asked"] = till
                sim.stats["sdk_splits"] += n
                return 200, "splitChanges", body, None
            except ApiError as e:
                return e.status, "error", _dumps(
                    err_body(e.status, e.message)), None


def is_harness(key):
    """Harness personal access and service account tokens."""
    return key.startswith("pat.") or key.startswith("sat.")


def accepts_gzip(header):
    """True when an Accept-Encoding header allows gzip (q > 0)."""
    for item in (header or "").split(","):
        parts = [p.strip() for p in item.split(";")]
        if parts[0].lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for p in parts[1:]:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def sdk_args(query):
    """(since, till or None) of a splitChanges request; ApiError 400."""
    def one(name):
        vals = query.get(name)
        if not vals:
            return None
        try:
            return int(vals[-1])
        except ValueError:
            raise ApiError(400, "%s must be an integer" % name) from None
    spec = (query.get("s") or ["1.0"])[-1]
    if spec not in SDK_LEGACY_SPECS:
        raise ApiError(400, "unsupported spec version s=%s" % spec)
    since = one("since")
    if since is None or since < -1:
        raise ApiError(400, "since must be an integer >= -1")
    return since, one("till")


def fault_edit(value, f):
    """The answer as an edit/total/empty fault changes it."""
    if not isinstance(value, dict):
        return value
    field = "splits" if "splits" in value else "objects"
    if f["kind"] == "empty":
        if field == "splits":
            return dict(value, splits=[])
        return dict(value, objects=[], totalCount=0)
    if f["kind"] == "total":
        if field == "splits":
            return value
        return dict(value, totalCount=f["total"])
    edit = f["set"] or {}
    objs = value.get(field)
    if f["index"] is None:
        return dict(value, **edit)
    if isinstance(objs, list) and 0 <= f["index"] < len(objs):
        objs[f["index"]] = dict(objs[f["index"]], **edit)
    return value

def _dumps(value):
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, sim, quiet, idle_timeout):
        self.sim = sim
        self.quiet = quiet
        Handler.timeout = idle_timeout if idle_timeout > 0 else None
        super().__init__(addr, Handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def write_port_file(path, port):
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w", encoding="ascii") as fp:
        fp.write("%d\n" % port)
        fp.flush()
        os.fsync(fp.fileno())
    os.rename(tmp, path)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Split Admin API v2 simulator for flagsync tests")
    p.add_argument("--port", type=int, default=0,
                   help="TCP port on 127.0.0.1 (0 = pick a free one)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--state", help="initial state (JSON, as GET /_sim/state)")
    p.add_argument("--key", action="append", default=[],
                   help="accepted admin key with access to every workspace "
                   "(repeatable; default %s)" % DEFAULT_KEY)
    p.add_argument("--generate", type=int, default=0, metavar="N",
                   help="add N deterministic flags to workspace Default")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rps", type=float, default=0.0,
                   help="rate limit per key and per client IP (0 = off)")
    p.add_argument("--rate-limit", type=int, default=0, metavar="N",
                   help="realistic Admin rate limit: N requests per window "
                   "per organisation and per client IP, 429 with Split's "
                   "headers (0 = off; Split's is about 3 a second)")
    p.add_argument("--rate-window", type=float, default=1.0, metavar="S",
                   help="window of --rate-limit in seconds (default 1)")
    p.add_argument("--sdk-page", type=int, default=0, metavar="N",
                   help="at most N flags per splitChanges answer (0 = all)")
    p.add_argument("--retry-after", action="store_true",
                   help="also send Retry-After on rate-limit 429s")
    p.add_argument("--definitions-over-max", choices=("clamp", "400"),
                   default=None)
    p.add_argument("--idle-timeout", type=float, default=60.0,
                   help="close keep-alive connections idle this long (s)")
    p.add_argument("--quiet", action="store_true",
                   help="no per-request log lines on stderr")
    a = p.parse_args(argv)
    if a.generate < 0 or a.rps < 0 or a.rate_limit < 0 or a.sdk_page < 0:
        p.error("--generate, --rps, --rate-limit and --sdk-page must not be "
                "negative")
    if a.rps > 0 and a.rate_limit > 0:
        p.error("--rps and --rate-limit exclude each other")
    if a.rate_window <= 0:
        p.error("--rate-window must be > 0")
    return a


def build_sim(a):
    sim = Sim()
    if a.state:
        with open(a.state, encoding="utf-8") as fp:
            doc = json.load(fp)
        sim.load_state(doc)
    for k in a.key:
        sim.keys[k] = sim.norm_key_spec({"workspaces": "*"})
    if not sim.keys:
        sim.keys[DEFAULT_KEY] = sim.norm_key_spec({"workspaces": "*"})
    if a.generate:
        generate(sim, a.generate, a.seed)
    if a.definitions_over_max:
        sim.definitions_over_max = a.definitions_over_max
    sim.set_rps(a.rps, a.retry_after, a.rate_limit, a.rate_window)
    if a.sdk_page:
        sim.sdk_page = a.sdk_page
    return sim


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.monotonic()
    try:
        sim = build_sim(a)
    except (OSError, ValueError, ControlError) as e:
        sys.stderr.write("split_sim: %s\n" % e)
        return 2
    srv = Server(("127.0.0.1", a.port), sim, a.quiet, a.idle_timeout)
    port = srv.server_address[1]

    def stop(_signo, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    if a.port_file:
        write_port_file(a.port_file, port)
    sys.stderr.write("split_sim: listening on 127.0.0.1:%d (%d flags, "
                     "ready in %.2fs)\n"
                     % (port, sum(len(w["flags"]) for w in sim.workspaces),
                        time.monotonic() - t0))
    sys.stderr.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
