#!/usr/bin/env python3
"""jira_sim.py - a fake Jira Cloud REST API v3 for flagsync tests.

Follows Atlassian's public Jira Cloud REST API v3 documentation: basic
auth, issue properties, remote links, the enhanced JQL search, fields,
rate limits (429/503 with Retry-After) and error bodies.  Python 3.11
standard library only.

Serves issue GET, issue properties, the enhanced JQL search, remote links
and the 410 of the removed legacy search under /rest/api/3 and under the
gateway base /ex/jira/{cloudId}/rest/api/3, with basic auth (email + API
token), switchable rate limiting, and a control API under /_sim/ that
tests use to change issues and users, read the request log and inject
faults.  See tests/sim/jira_sim.md for the full contract.
"""

import argparse
import base64
import binascii
import collections
import copy
import datetime
import hashlib
import json
import math
import os
import re
import select
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

API_PREFIX = "/rest/api/3"
GATEWAY_PREFIX = "/ex/jira/"
SIM_PREFIX = "/_sim"
DEFAULT_USER = "flagsync-bot@example.com"
DEFAULT_TOKEN = "sim-jira-token"
DEFAULT_CLOUD_ID = "sim-cloud-id"

# Texts Jira Cloud answers, as Atlassian documents or shows them.
MSG_401 = "Client must be authenticated to access this resource."
MSG_ISSUE_404 = "Issue does not exist or you do not have permission to see it."
MSG_410 = ("The requested API has been removed. Please migrate to the "
           "/rest/api/3/search/jql API. A full migration guideline is "
           "available at https://developer.atlassian.com/changelog/"
           "#CHANGE-2046")
# Texts Atlassian does not give (see jira_sim.md, "assumed").
MSG_UNBOUNDED = ("Unbounded JQL queries are not allowed here. Please add a "
                 "search restriction to your query.")
MSG_JWT = "Missing a JWT token, or token is invalid"

PROPERTY_VALUE_MAX = 32768          # bytes of the raw PUT body (2.1)
PROPERTY_KEY_MAX = 255              # characters (2.1)
GLOBAL_ID_MAX = 255                 # section 4
SEARCH_DEFAULT = 50                 # maxResults default (3.1)
SEARCH_CAP = 100                    # maxResults cap (configurable)
SEARCH_PROPERTIES_MAX = 5           # properties per search (2.1, 3.1)
REMOTELINK_CAP = 100                # per issue, then 413 (configurable)
ORDER_BY_MAX = 7                    # 3.1
ISSUE_KEY_RE = re.compile(r"^[A-Z][A-Z0-9]{1,9}-[0-9]+$")   # section 7
JSON_ERR = {"errorMessages": [], "errors": {}}

FAULT_KINDS = ("status", "slow", "ratelimit", "close", "malformed", "echo",
               "echo_text")
REQUEST_LOG_MAX = 200000
BODY_MAX = 64 * 1024 * 1024

# Jira system fields a JQL clause may name (lower case -> key in "fields").
SYSTEM_FIELDS = {
    "summary": "summary", "status": "status", "labels": "labels",
    "description": "description", "assignee": "assignee",
    "reporter": "reporter", "priority": "priority",
    "issuetype": "issuetype", "type": "issuetype", "created": "created",
    "updated": "updated", "resolution": "resolution",
    "resolutiondate": "resolutiondate", "resolved": "resolutiondate",
    "duedate": "duedate", "due": "duedate", "fixversion": "fixVersions",
    "fixversions": "fixVersions", "component": "components",
    "components": "components", "affectedversion": "versions",
    "environment": "environment", "parent": "parent",
    "statuscategory": "statusCategory", "sprint": "sprint",
}
KEY_FIELDS = ("key", "issuekey", "id")
JQL_KEYWORDS = {"AND", "OR", "NOT", "IS", "IN", "EMPTY", "NULL", "ORDER",
                "BY", "ASC", "DESC"}


def now_wall():
    return time.time()


# Jira's status categories (statusCategory: id, key, colorName, name) and
# the statuses a new site's workflows have; other names need a category.
STATUS_CATEGORIES = {
    "undefined": (1, "medium-gray", "No Category"),
    "new": (2, "blue-gray", "To Do"),
    "done": (3, "green", "Done"),
    "indeterminate": (4, "yellow", "In Progress"),
}
STATUSES = {
    "To Do": ("10000", "new"), "Open": ("1", "new"),
    "Backlog": ("10004", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10002", "indeterminate"),
    "Done": ("10001", "done"), "Closed": ("6", "done"),
    "Resolved": ("5", "done"), "Won't Do": ("10003", "done"),
}


def status_object(name, category=None, status_id=None):
    """The status field Jira returns: {name, id, description, iconUrl,
    statusCategory {id, key, colorName, name}}."""
    known = STATUSES.get(name)
    if category is None and known is None:
        raise ControlError("status %r is not one the simulator knows (%s): "
                           "give its category" % (name, ", ".join(STATUSES)))
    cat = category or known[1]
    _need(cat in STATUS_CATEGORIES, "category must be one of %s"
          % ", ".join(STATUS_CATEGORIES))
    cid, color, cname = STATUS_CATEGORIES[cat]
    sid = status_id or (known[0] if known else
                        str(20000 + int(hashlib.sha1(name.encode())
                                        .hexdigest()[:6], 16) % 10000))
    return {"description": "", "iconUrl": "", "name": name, "id": sid,
            "statusCategory": {"id": cid, "key": cat, "colorName": color,
                               "name": cname}}


def status_category(fields):
    st = fields.get("status")
    if isinstance(st, dict) and isinstance(st.get("statusCategory"), dict):
        return st["statusCategory"].get("key")
    return None


def jira_time(ms):
    """Jira's date-time form: 2026-01-15T10:30:00.000+0000 (UTC)."""
    sec, msec = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + \
        ".%03d+0000" % msec


def parse_at(v):
    """A control time: ms since the epoch (number or digits) or RFC 3339;
    None means now."""
    if v is None:
        return int(now_wall() * 1000)
    if _is_num(v) or (isinstance(v, str) and v.isdigit()):
        return int(v)
    _need(isinstance(v, str), "at must be ms or an RFC 3339 time")
    try:
        when = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise ControlError("at %r is not RFC 3339" % v) from None
    _need(when.tzinfo is not None, "at %r has no time zone" % v)
    return int(when.timestamp() * 1000)


def normalize_status(fields):
    """A status given by name ("status": "Done") becomes Jira's object."""
    st = fields.get("status")
    if isinstance(st, str):
        fields["status"] = status_object(st)
    elif st is not None:
        _need(isinstance(st, dict) and isinstance(st.get("name"), str),
              "status must be a name or a status object")


class ControlError(Exception):
    """A control request that cannot be honoured: answered 400."""


class JiraError(Exception):
    """An API answer in Jira's {"errorMessages", "errors"} shape."""

    def __init__(self, status, messages=(), errors=None, headers=None,
                 body=None):
        super().__init__("%d %s" % (status, messages))
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})
        self.headers = headers
        self.body = body

    def value(self):
        if self.body is not None:
            return self.body
        return {"errorMessages": self.messages, "errors": self.errors}


def _need(cond, message):
    if not cond:
        raise ControlError(message)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _dumps(value):
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def is_empty_value(v):
    """JQL EMPTY: absent, null, "" or []."""
    return v is None or v == "" or v == []


def key_sort(key):
    proj, _, num = key.rpartition("-")
    return (proj, int(num) if num.isdigit() else 0, key)


def reset_stamp(t):
    """X-RateLimit-Reset, yyyy-MM-ddTHH:mmZ, rounded up to the minute so
    that a client waiting for it never comes back early."""
    t = math.ceil(t / 60.0) * 60
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(t))


def ratelimit_headers(retry_after, limit, reason):
    h = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
         "RateLimit-Reason": reason}
    if retry_after is not None:
        h["Retry-After"] = str(retry_after)
        h["X-RateLimit-Reset"] = reset_stamp(now_wall() + retry_after)
    return h


# ------------------------------------------------------------------- JQL

class JqlError(Exception):
    """A JQL query Jira would refuse: 400 "Error in the JQL Query: ..."."""


TOKEN_RE = re.compile(r"""
   (?P<ws>\s+)
 | (?P<lp>\() | (?P<rp>\)) | (?P<comma>,)
 | (?P<op>!=|!~|>=|<=|=|~|>|<)
 | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
 | (?P<cf>cf\[\s*\d+\s*\])
 | (?P<word>[^\s()",'=!~<>\[\]{}]+)
""", re.X | re.I)


def jql_tokens(text):
    """[(kind, text, value, position)], ending with an "eof" token."""
    out, pos = [], 0
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "\"'":
                raise JqlError("The quoted string starting at character "
                               "%d is not terminated. (line 1, character "
                               "%d)" % (pos + 1, pos + 1))
            raise JqlError("The character '%s' is a reserved JQL character. "
                           "You must enclose it in a string or use the "
                           "escape '\\u%04x' instead. (line 1, character %d)"
                           % (ch, ord(ch), pos + 1))
        kind = m.lastgroup
        s = m.group()
        if kind == "str":
            out.append(("str", s, re.sub(r"\\(.)", r"\1", s[1:-1]), pos))
        elif kind == "cf":
            num = re.sub(r"\D", "", s)
            out.append(("cf", s, "customfield_" + num, pos))
        elif kind != "ws":
            out.append((kind, s, s, pos))
        pos = m.end()
    out.append(("eof", "", "", len(text)))
    return out


class JqlParser:
    """AND / OR / parentheses over clauses, then ORDER BY.

    Nodes: ("and", [n]), ("or", [n]), ("empty", f, negated),
    ("in", f, [values], negated) ("=" is "in" with one value).  A field f
    is ("project",), ("key",) or ("field", name in "fields")."""

    def __init__(self, text, field_names):
        self.toks = jql_tokens(text)
        self.i = 0
        self.field_names = field_names

    # -- tokens ---------------------------------------------------------------

    def peek(self):
        return self.toks[self.i]

    def next(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def is_kw(self, tok, kw):
        return tok[0] == "word" and tok[1].upper() == kw

    def fail(self, what, tok):
        got = "end of query" if tok[0] == "eof" else "'%s'" % tok[1]
        raise JqlError("%s but got %s. (line 1, character %d)"
                       % (what, got, tok[3] + 1))

    # -- grammar --------------------------------------------------------------

    def parse(self):
        where = None
        if not (self.peek()[0] == "eof" or self.is_kw(self.peek(), "ORDER")):
            where = self.or_expr()
        order = []
        tok = self.peek()
        if self.is_kw(tok, "ORDER"):
            self.next()
            if not self.is_kw(self.next(), "BY"):
                self.fail("Expecting 'BY'", self.toks[self.i - 1])
            order = self.order_list()
        tok = self.peek()
        if tok[0] != "eof":
            self.fail("Expecting either 'OR' or 'AND'", tok)
        return where, order

    def or_expr(self):
        nodes = [self.and_expr()]
        while self.is_kw(self.peek(), "OR"):
            self.next()
            nodes.append(self.and_expr())
        return nodes[0] if len(nodes) == 1 else ("or", nodes)

    def and_expr(self):
        nodes = [self.unary()]
        while self.is_kw(self.peek(), "AND"):
            self.next()
            nodes.append(self.unary())
        return nodes[0] if len(nodes) == 1 else ("and", nodes)

    def unary(self):
        tok = self.peek()
        if self.is_kw(tok, "NOT"):
            # Whether Jira's NOT matches issues whose field is EMPTY is
            # not documented; refuse rather than guess.
            raise JqlError("NOT before a clause is not supported by this "
                           "simulator; use != or NOT IN. (line 1, character "
                           "%d)" % (tok[3] + 1))
        if tok[0] == "lp":
            self.next()
            node = self.or_expr()
            if self.peek()[0] != "rp":
                self.fail("Expecting ')'", self.peek())
            self.next()
            return node
        return self.clause()

    def field(self):
        tok = self.next()
        if tok[0] == "cf":
            return tok[2], ("field", tok[2])
        if tok[0] == "str" or (tok[0] == "word"
                               and tok[1].upper() not in JQL_KEYWORDS):
            return tok[2], self.resolve_field(tok[2], tok)
        self.fail("Expecting a field name", tok)
        return None

    def resolve_field(self, name, tok):
        low = name.lower()
        if low == "project":
            return ("project",)
        if low in KEY_FIELDS:
            return ("key",)
        if re.fullmatch(r"customfield_\d+", low):
            return ("field", low)
        if low in SYSTEM_FIELDS:
            return ("field", SYSTEM_FIELDS[low])
        if low in self.field_names:
            return ("field", self.field_names[low])
        raise JqlError("Field '%s' does not exist or you do not have "
                       "permission to view it. (line 1, character %d)"
                       % (name, tok[3] + 1))

    def value(self):
        tok = self.next()
        if tok[0] in ("str", "word"):
            if tok[0] == "word" and self.peek()[0] == "lp":
                raise JqlError("Unable to find JQL function '%s()'. (line 1,"
                               " character %d)" % (tok[1], tok[3] + 1))
            if tok[0] == "word" and tok[1].upper() in JQL_KEYWORDS - {
                    "EMPTY", "NULL"}:
                self.fail("Expecting a value", tok)
            return tok
        self.fail("Expecting either a value, list or function", tok)
        return None

    def value_list(self):
        if self.next()[0] != "lp":
            self.fail("Expecting '('", self.toks[self.i - 1])
        vals = [self.value()]
        while self.peek()[0] == "comma":
            self.next()
            vals.append(self.value())
        if self.peek()[0] != "rp":
            self.fail("Expecting ')' or ','", self.peek())
        self.next()
        return vals

    def clause(self):
        name, f = self.field()
        tok = self.next()
        if self.is_kw(tok, "IS"):
            neg = False
            if self.is_kw(self.peek(), "NOT"):
                self.next()
                neg = True
            v = self.next()
            if not (self.is_kw(v, "EMPTY") or self.is_kw(v, "NULL")):
                self.fail("Expecting 'EMPTY' or 'NULL'", v)
            return self.empty_clause(name, f, neg, tok)
        neg = False
        if self.is_kw(tok, "NOT"):
            if not self.is_kw(self.peek(), "IN"):
                self.fail("Expecting 'IN'", self.peek())
            tok = self.next()
            neg = True
        if self.is_kw(tok, "IN"):
            vals = self.value_list()
            return self.in_clause(name, f, vals, neg, tok)
        if tok[0] == "op" and tok[1] in ("=", "!="):
            v = self.value()
            if v[0] == "word" and v[1].upper() in ("EMPTY", "NULL"):
                return self.empty_clause(name, f, tok[1] == "!=", tok)
            return self.in_clause(name, f, [v], tok[1] == "!=", tok)
        if tok[0] == "op":
            raise JqlError("The operator '%s' is not supported by the '%s' "
                           "field. (line 1, character %d)"
                           % (tok[1], name, tok[3] + 1))
        self.fail("Expecting operator", tok)
        return None

    @staticmethod
    def empty_clause(name, f, neg, tok):
        if f[0] == "key":
            raise JqlError("The field '%s' does not support searching for "
                           "EMPTY values. (line 1, character %d)"
                           % (name, tok[3] + 1))
        return ("empty", f, neg)

    @staticmethod
    def in_clause(name, f, vals, neg, tok):
        for v in vals:
            if v[0] == "word" and v[1].upper() in ("EMPTY", "NULL"):
                raise JqlError("The field '%s' does not support EMPTY in a "
                               "list. (line 1, character %d)"
                               % (name, tok[3] + 1))
        return ("in", f, [v[2] for v in vals], neg)

    def order_list(self):
        out = []
        while True:
            tok = self.peek()
            name, f = self.field()
            if f[0] != "key":
                raise JqlError("Field '%s' does not support sorting in this "
                               "simulator. (line 1, character %d)"
                               % (name, tok[3] + 1))
            desc = False
            if self.is_kw(self.peek(), "ASC"):
                self.next()
            elif self.is_kw(self.peek(), "DESC"):
                self.next()
                desc = True
            out.append(("key", desc))
            if self.peek()[0] != "comma":
                break
            self.next()
        if len(out) > ORDER_BY_MAX:
            raise JqlError("The ORDER BY clause may name at most %d fields."
                           % ORDER_BY_MAX)
        return out


def jql_parse(text, field_names):
    try:
        where, order = JqlParser(text, field_names).parse()
    except JqlError as e:
        raise JiraError(400, ["Error in the JQL Query: %s" % e]) from None
    if where is None:
        raise JiraError(400, [MSG_UNBOUNDED])
    return where, order


def jql_walk(node):
    """All leaf clauses of a parsed query."""
    if node[0] in ("and", "or"):
        for n in node[1]:
            yield from jql_walk(n)
    else:
        yield node


def field_value(issue, f):
    if f[0] == "project":
        return issue["key"].rpartition("-")[0]
    if f[0] == "key":
        return issue["key"]
    name = f[1]
    fields = issue["fields"]
    if name in fields:
        return fields[name]
    low = name.lower()
    for k, v in fields.items():
        if k.lower() == low:
            return v
    return None


def value_matches(v, want):
    """JQL "=" against one element of a field value."""
    if isinstance(v, dict):
        return any(isinstance(v.get(k), str) and v[k] == want
                   for k in ("value", "name", "key", "id"))
    if isinstance(v, bool) or v is None:
        return False
    if _is_num(v):
        return str(v) == want
    return isinstance(v, str) and v == want


def jql_eval(node, issue, sim):
    op = node[0]
    if op == "and":
        return all(jql_eval(n, issue, sim) for n in node[1])
    if op == "or":
        return any(jql_eval(n, issue, sim) for n in node[1])
    f = node[1]
    if op == "empty":
        return is_empty_value(field_value(issue, f)) != node[2]
    vals, neg = node[2], node[3]
    if f[0] == "project":
        hit = field_value(issue, f).upper() in {v.upper() for v in vals}
        return hit != neg
    if f[0] == "key":
        hit = any(sim.lookup(v) is issue for v in vals)
        return hit != neg
    v = field_value(issue, f)
    if is_empty_value(v):
        return False        # JQL: "=", "!=", "in", "not in" skip EMPTY
    elems = v if isinstance(v, list) else [v]
    hit = any(value_matches(e, w) for e in elems for w in vals)
    return hit != neg


# ----------------------------------------------------------- rate limiting

class Penalty:
    """A retry before Retry-After expired gets the same Retry-After again,
    counted from the retry (Atlassian: "the same or longer")."""

    __slots__ = ("until", "ra")

    def __init__(self):
        self.until = 0.0
        self.ra = 0

    def check(self, t):
        if t < self.until:
            self.until = t + self.ra
            return self.ra
        return None

    def start(self, t, ra):
        self.ra = ra
        self.until = t + ra


class Burst:
    """Site-wide token bucket: capacity max(1, rps), refilled at rps."""

    def __init__(self, rps):
        self.rps = rps
        self.cap = max(1.0, rps)
        self.tokens = self.cap
        self.last = time.monotonic()
        self.pen = Penalty()

    def take(self, t):
        ra = self.pen.check(t)
        if ra is not None:
            return ra
        self.tokens = min(self.cap, self.tokens + (t - self.last) * self.rps)
        self.last = t
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        ra = max(1, int(math.ceil((1 - self.tokens) / self.rps - 1e-9)))
        self.pen.start(t, ra)
        return ra


class IssueWrites:
    """Per-issue write window: at most n writes in any `seconds`."""

    def __init__(self):
        self.times = collections.deque()
        self.pen = Penalty()

    def take(self, t, n, seconds):
        ra = self.pen.check(t)
        if ra is not None:
            return ra
        while self.times and self.times[0] <= t - seconds:
            self.times.popleft()
        if len(self.times) < n:
            self.times.append(t)
            return None
        ra = max(1, int(math.ceil(self.times[0] + seconds - t - 1e-9)))
        self.pen.start(t, ra)
        return ra


# ------------------------------------------------------------------- state

def norm_user(email, spec):
    _need(isinstance(email, str) and email and ":" not in email,
          "a user needs an email without ':'")
    if isinstance(spec, str):
        spec = {"token": spec}
    _need(isinstance(spec, dict), "a user must be an object")
    unknown = set(spec) - {"token", "read_only", "account_id",
                           "display_name"}
    _need(not unknown, "unknown user field(s) %s"
          % ", ".join(sorted(unknown)))
    token = spec.get("token")
    _need(isinstance(token, str) and token, "user %s needs a token" % email)
    ro = spec.get("read_only", False)
    _need(isinstance(ro, bool), "read_only must be a boolean")
    acc = spec.get("account_id") or (
        "557058:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "jira-sim:" + email)))
    name = spec.get("display_name") or email.split("@")[0]
    _need(isinstance(acc, str) and isinstance(name, str),
          "account_id and display_name must be strings")
    return {"token": token, "read_only": ro, "account_id": acc,
            "display_name": name}


def norm_link(d, link_id):
    """A stored remote link from a request body or a state entry; raises
    JiraError 400 in Jira's shape when url or title is missing."""
    if not isinstance(d, dict):
        raise JiraError(400, ["The remote link must be a JSON object."])
    obj = d.get("object")
    errors = {}
    if obj is not None and not isinstance(obj, dict):
        raise JiraError(400, [], {"object": "'object' must be an object."})
    obj = obj or {}
    for field in ("url", "title"):
        v = obj.get(field)
        if not isinstance(v, str) or not v.strip():
            errors[field] = "'%s' is required." % field
    gid = d.get("globalId")
    if gid is not None and not isinstance(gid, str):
        errors["globalId"] = "'globalId' must be a string."
    elif isinstance(gid, str) and len(gid) > GLOBAL_ID_MAX:
        errors["globalId"] = ("The global ID must not be longer than %d "
                              "characters." % GLOBAL_ID_MAX)
    status = obj.get("status")
    if status is not None and (not isinstance(status, dict) or not
                               isinstance(status.get("resolved", False),
                                          bool)):
        errors["status"] = "'status.resolved' must be a boolean."
    app = d.get("application")
    if app is not None and not isinstance(app, dict):
        errors["application"] = "'application' must be an object."
    rel = d.get("relationship")
    if rel is not None and not isinstance(rel, str):
        errors["relationship"] = "'relationship' must be a string."
    if errors:
        raise JiraError(400, [], errors)
    out_obj = {"url": obj["url"], "title": obj["title"],
               "summary": obj.get("summary"), "icon": obj.get("icon"),
               "status": obj.get("status")}
    for k, v in obj.items():
        if k not in out_obj:
            out_obj[k] = v
    return {"id": link_id, "globalId": gid or None,
            "application": copy.deepcopy(app),
            "relationship": rel, "object": copy.deepcopy(out_obj)}


class Sim:
    """All simulator state, guarded by one lock."""

    def __init__(self, cloud_id):
        self.lock = threading.RLock()
        self.cloud_id = cloud_id
        self.users = {}
        self.issues = []
        self.by_key = {}
        self.by_old_key = {}
        self.by_id = {}
        self.projects = []
        self.field_names = {}
        self.field_display = {}
        self.custom_fields = []
        self.search_cap = SEARCH_CAP
        self.remotelink_cap = REMOTELINK_CAP
        self.next_issue_id = 10000
        self.next_link_id = 10000
        self.rps = 0.0
        self.burst = None
        self.issue_write_limit = None
        self.issue_writes = {}
        self.faults = []
        self.requests = collections.deque(maxlen=REQUEST_LOG_MAX)

    # -- issues ---------------------------------------------------------------

    def reindex(self):
        self.by_key = {i["key"]: i for i in self.issues}
        self.by_id = {i["id"]: i for i in self.issues}
        self.by_old_key = {}
        for i in self.issues:
            for k in i["old_keys"]:
                self.by_old_key.setdefault(k, i)

    def lookup(self, ref):
        """Issue by key (case-insensitive), id, or a key it had before a
        move (as Jira resolves them); None when there is none."""
        if not isinstance(ref, str):
            return None
        up = ref.strip().upper()
        hit = self.by_key.get(up)
        if hit is None and up.isdigit():
            hit = self.by_id.get(up)
        if hit is None:
            hit = self.by_old_key.get(up)
        return hit

    def known_projects(self):
        out = {p.upper() for p in self.projects}
        out.update(i["key"].rpartition("-")[0] for i in self.issues)
        return out

    def parse_issue(self, d):
        _need(isinstance(d, dict), "an issue must be an object")
        key = d.get("key")
        _need(isinstance(key, str) and ISSUE_KEY_RE.match(key.upper()),
              "issue key %r is not PROJECT-NUMBER (%s)"
              % (key, ISSUE_KEY_RE.pattern))
        unknown = set(d) - {"key", "id", "fields", "properties",
                            "remotelinks", "old_keys", "editable",
                            "visible", "history"}
        _need(not unknown, "issue %s: unknown field(s) %s"
              % (key, ", ".join(sorted(unknown))))
        iid = d.get("id")
        if iid is None:
            iid = str(self.next_issue_id)
        _need((isinstance(iid, str) and iid.isdigit()) or _is_int(iid),
              "issue %s: id must be digits" % key)
        iid = str(iid)
        self.next_issue_id = max(self.next_issue_id, int(iid) + 1)
        fields = d.get("fields", {})
        _need(isinstance(fields, dict), "issue %s: fields must be an object"
              % key)
        fields = copy.deepcopy(fields)
        normalize_status(fields)
        history = d.get("history", [])
        _need(isinstance(history, list) and all(
            isinstance(h, dict) and set(h) == {"at", "from", "to"}
            for h in history), "issue %s: history must be a list of "
              "{at, from, to}" % key)
        props = d.get("properties", {})
        _need(isinstance(props, dict), "issue %s: properties must be an "
              "object" % key)
        for pk in props:
            _need(0 < len(pk) <= PROPERTY_KEY_MAX,
                  "issue %s: bad property key %r" % (key, pk))
        old = d.get("old_keys", [])
        _need(isinstance(old, list) and all(isinstance(k, str) for k in old),
              "issue %s: old_keys must be a list of keys" % key)
        access = {}
        for name in ("editable", "visible"):
            access[name] = d.get(name, True)
            _need(isinstance(access[name], bool), "issue %s: %s must be a "
                  "boolean" % (key, name))
        issue = {"key": key.upper(), "id": iid,
                 "fields": copy.deepcopy(fields),
                 "properties": copy.deepcopy(props),
                 "remotelinks": [],
                 "old_keys": [k.upper() for k in old],
                 "history": copy.deepcopy(history),
                 "editable": access["editable"],
                 "visible": access["visible"]}
        links = d.get("remotelinks", [])
        _need(isinstance(links, list), "issue %s: remotelinks must be a list"
              % key)
        gids = set()
        for ln in links:
            try:
                lid = ln.get("id") if isinstance(ln, dict) else None
                _need(lid is None or _is_int(lid) or (isinstance(lid, str)
                                                      and lid.isdigit()),
                      "issue %s: a remote link id must be a number" % key)
                lid = int(lid) if lid is not None else self.next_link_id
                link = norm_link(ln, lid)
            except JiraError as e:
                raise ControlError("issue %s: bad remote link: %s"
                                   % (key, json.dumps(e.value()))) from None
            _need(link["globalId"] is None or link["globalId"] not in gids,
                  "issue %s: duplicate globalId %r" % (key, link["globalId"]))
            gids.add(link["globalId"])
            self.next_link_id = max(self.next_link_id, lid + 1)
            issue["remotelinks"].append(link)
        return issue

    def check_unique(self, issues):
        keys = [i["key"] for i in issues]
        _need(len(set(keys)) == len(keys), "issue keys must be unique")
        ids = [i["id"] for i in issues]
        _need(len(set(ids)) == len(ids), "issue ids must be unique")
        link_ids = [ln["id"] for i in issues for ln in i["remotelinks"]]
        _need(len(set(link_ids)) == len(link_ids),
              "remote link ids must be unique")

    # -- whole state ----------------------------------------------------------

    def load_state(self, doc):
        """Validate a state document completely, then swap it in."""
        _need(isinstance(doc, dict), "state must be a JSON object")
        unknown = set(doc) - {"users", "issues", "search_cap",
                              "remotelink_cap", "rps", "issue_write_limit",
                              "projects", "field_names", "custom_fields",
                              "cloud_id"}
        _need(not unknown, "unknown state field(s) %s"
              % ", ".join(sorted(unknown)))
        users = None
        if "users" in doc:
            _need(isinstance(doc["users"], dict), "users must be an object")
            users = {e.lower(): norm_user(e, s)
                     for e, s in doc["users"].items()}
        saved = (self.next_issue_id, self.next_link_id)
        self.next_issue_id = self.next_link_id = 10000
        try:
            issues = doc.get("issues", []) or []
            _need(isinstance(issues, list), "issues must be a list")
            issues = [self.parse_issue(d) for d in issues]
            self.check_unique(issues)
            cfg = self.check_config(doc)
        except Exception:
            self.next_issue_id, self.next_link_id = saved
            raise
        self.issues = issues
        self.reindex()
        if users is not None:
            self.users = users
        self.issue_writes = {}
        self.apply_config(cfg, restart_bucket=True)

    def check_config(self, doc):
        """The configurable settings of doc, validated; absent ones keep
        their current values."""
        out = {}
        for field, lo in (("search_cap", 1), ("remotelink_cap", 0)):
            v = doc.get(field, getattr(self, field))
            _need(_is_int(v) and v >= lo, "%s must be an integer >= %d"
                  % (field, lo))
            out[field] = v
        rps = doc.get("rps", self.rps)
        _need(_is_num(rps) and rps >= 0, "rps must be a number >= 0")
        out["rps"] = float(rps)
        iwl = doc.get("issue_write_limit", self.issue_write_limit)
        if iwl is not None:
            _need(isinstance(iwl, dict) and _is_int(iwl.get("writes"))
                  and iwl["writes"] >= 1 and _is_num(iwl.get("seconds"))
                  and iwl["seconds"] > 0 and set(iwl) == {"writes",
                                                          "seconds"},
                  "issue_write_limit must be null or "
                  "{\"writes\": N >= 1, \"seconds\": S > 0}")
            iwl = dict(iwl)
        out["issue_write_limit"] = iwl
        projects = doc.get("projects", self.projects)
        _need(isinstance(projects, list)
              and all(isinstance(p, str) and p for p in projects),
              "projects must be a list of project keys")
        out["projects"] = [p.upper() for p in projects]
        names = doc.get("field_names", self.field_display)
        _need(isinstance(names, dict)
              and all(isinstance(v, str) for v in names.values()),
              "field_names must map display names to field ids")
        out["field_names"] = {k.lower(): v for k, v in names.items()}
        out["field_display"] = dict(names)
        cfs = doc.get("custom_fields", self.custom_fields)
        _need(isinstance(cfs, list) and all(
            isinstance(f, dict) and set(f) == {"id", "name"}
            and isinstance(f["name"], str)
            and isinstance(f["id"], str)
            and re.fullmatch(r"customfield_\d+", f["id"]) for f in cfs),
              "custom_fields must be a list of {\"id\": \"customfield_N\", "
              "\"name\": NAME}")
        out["custom_fields"] = [dict(f) for f in cfs]
        cid = doc.get("cloud_id", self.cloud_id)
        _need(isinstance(cid, str) and cid and "/" not in cid,
              "cloud_id must be a non-empty string without '/'")
        out["cloud_id"] = cid
        return out

    def apply_config(self, cfg, restart_bucket=False):
        for k, v in cfg.items():
            if k == "rps":
                if restart_bucket or v != self.rps:
                    self.set_rps(v)
            elif k == "issue_write_limit":
                if v != self.issue_write_limit:
                    self.issue_writes = {}
                self.issue_write_limit = v
            else:
                setattr(self, k, v)

    def config_view(self):
        return {"search_cap": self.search_cap,
                "remotelink_cap": self.remotelink_cap, "rps": self.rps,
                "issue_write_limit": self.issue_write_limit,
                "projects": list(self.projects),
                "field_names": dict(self.field_display),
                "custom_fields": [dict(f) for f in self.custom_fields],
                "cloud_id": self.cloud_id}

    def issue_view(self, i):
        out = {"key": i["key"], "id": i["id"],
               "fields": copy.deepcopy(i["fields"]),
               "properties": copy.deepcopy(i["properties"]),
               "remotelinks": copy.deepcopy(i["remotelinks"])}
        if i["old_keys"]:
            out["old_keys"] = list(i["old_keys"])
        if i["history"]:
            out["history"] = copy.deepcopy(i["history"])
        for name in ("editable", "visible"):
            if not i[name]:
                out[name] = False
        return out

    def dump_state(self):
        out = {"users": {e: {"token": u["token"], "read_only": u["read_only"],
                             "account_id": u["account_id"],
                             "display_name": u["display_name"]}
                         for e, u in self.users.items()},
               "issues": [self.issue_view(i) for i in self.issues]}
        out.update(self.config_view())
        return out

    def set_rps(self, rps):
        self.rps = rps
        self.burst = Burst(rps) if rps > 0 else None

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
        f = {"match": pattern, "kind": kind,
             "status": {"ratelimit": 429, "echo": 400,
                        "echo_text": 400}.get(kind, 503), "delay": 5.0,
             "count": 1, "after": 0, "retry_after": None, "limit": 100,
             "reason": "jira-burst-based"}
        for field, ok in (("status", _is_int), ("count", _is_int),
                          ("after", _is_int), ("limit", _is_int),
                          ("delay", _is_num), ("retry_after", _is_int),
                          ("reason", lambda v: isinstance(v, str))):
            if field in spec and spec[field] is not None:
                _need(ok(spec[field]), "%s has the wrong type" % field)
                f[field] = spec[field]
        _need(100 <= f["status"] <= 599, "status must be 100..599")
        _need(f["count"] >= -1 and f["count"] != 0,
              "count must be >= 1 or -1 (forever)")
        _need(f["after"] >= 0, "after must be >= 0")
        _need(f["delay"] >= 0, "delay must be >= 0")
        _need(f["retry_after"] is None or f["retry_after"] >= 0,
              "retry_after must be >= 0 or null")
        unknown = set(spec) - set(f)
        _need(not unknown, "unknown fault field(s) %s"
              % ", ".join(sorted(unknown)))
        f["id"] = len(self.faults) + 1
        f["skipped"] = 0
        f["fired"] = 0
        f["_rx"] = rx
        self.faults.append(f)
        return f

    def pick_fault(self, target):
        """First active fault whose regex is found in "METHOD PATH?QUERY"."""
        for f in self.faults:
            if f["count"] != -1 and f["fired"] >= f["count"]:
                continue
            if not f["_rx"].search(target):
                continue
            if f["skipped"] < f["after"]:
                f["skipped"] += 1
                continue
            f["fired"] += 1
            return dict(f)
        return None

    @staticmethod
    def fault_view(f):
        return {k: v for k, v in f.items() if not k.startswith("_")}


# ------------------------------------------------------------ API rendering

def parse_fields(spec, default):
    """A `fields` request (list of strings, comma lists allowed) ->
    (all, include, exclude, asked) where asked is False when only the
    issue id was requested."""
    items = []
    for s in spec if spec is not None else default:
        items.extend(p.strip() for p in s.split(",") if p.strip())
    if not items:
        items = list(default)
    want_all, inc, exc = False, set(), set()
    for it in items:
        if it in ("*all", "*navigable"):
            want_all = True
        elif it.startswith("-"):
            exc.add(it[1:])
        else:
            inc.add(it)
    asked = want_all or bool(inc - {"id"})
    return want_all, inc, exc, asked


def pick_fields(fields, want_all, inc, exc):
    if want_all:
        return {k: copy.deepcopy(v) for k, v in fields.items()
                if k not in exc}
    return {k: copy.deepcopy(fields[k]) for k in fields
            if k in inc and k not in exc}


def parse_props(items):
    """`properties` (list, comma lists allowed) -> (all, include, exclude)."""
    names = []
    for s in items or []:
        names.extend(p.strip() for p in s.split(",") if p.strip())
    return ("*all" in names, {n for n in names if n != "*all"
                              and not n.startswith("-")},
            {n[1:] for n in names if n.startswith("-")}, names)


def pick_props(issue, spec):
    want_all, inc, exc, _ = spec
    return {k: copy.deepcopy(v) for k, v in issue["properties"].items()
            if (want_all or k in inc) and k not in exc}


def render_issue(issue, base, fspec, pspec=None):
    want_all, inc, exc, asked = fspec
    if not asked and not (pspec and pspec[3]):
        return {"id": issue["id"]}
    out = {"id": issue["id"], "key": issue["key"],
           "self": "%s%s/issue/%s" % (base, API_PREFIX, issue["id"]),
           "fields": pick_fields(issue["fields"], want_all, inc, exc)}
    if pspec and pspec[3]:
        out["properties"] = pick_props(issue, pspec)
    return out


def render_link(issue, link, base):
    out = {"id": link["id"],
           "self": "%s%s/issue/%s/remotelink/%d" % (base, API_PREFIX,
                                                   issue["key"], link["id"])}
    for k in ("globalId", "application", "relationship", "object"):
        out[k] = copy.deepcopy(link[k])
    return out


def page_token(offset, jql):
    raw = json.dumps({"o": offset, "q": jql_hash(jql)},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def jql_hash(jql):
    return hashlib.sha1(jql.encode("utf-8")).hexdigest()[:12]


def read_page_token(tok, jql):
    bad = JiraError(400, ["The provided next page token is invalid or "
                          "expired."])
    if not isinstance(tok, str) or not tok:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
        d = json.loads(raw)
    except (binascii.Error, ValueError):
        raise bad from None
    if (not isinstance(d, dict) or not _is_int(d.get("o")) or d["o"] < 0
            or d.get("q") != jql_hash(jql)):
        raise bad
    return d["o"]


# ----------------------------------------------------------------- the API

class Api:
    """One API request, with the state lock held.  route() returns
    (status, value) where value None is an empty body; errors raise
    JiraError."""

    def __init__(self, sim, user, base, site):
        self.sim = sim
        self.user = user
        self.base = base
        self.site = site
        self.ctype_ok = True
        self.body = b""

    # -- helpers -------------------------------------------------------------

    def need_user(self):
        if self.user is None:
            raise JiraError(401, [MSG_401])

    def issue(self, ref):
        """The issue, or 404 (also for anonymous: nothing is visible, and
        for an issue the account may not browse: Jira hides it, 3.3)."""
        hit = self.sim.lookup(ref) if self.user is not None else None
        if hit is None or not hit["visible"]:
            raise JiraError(404, [MSG_ISSUE_404])
        return hit

    def need_json_ctype(self):
        if not self.ctype_ok:
            raise JiraError(415, ["Unsupported Media Type: send "
                                  "Content-Type: application/json."])

    def json_body(self, what="request body"):
        self.need_json_ctype()
        if not self.body.strip():
            raise JiraError(400, ["The %s is empty." % what])
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise JiraError(400, ["The %s is not valid JSON: %s"
                                  % (what, e)]) from None

    def write_limit(self, issue):
        """Per-issue write limit (Jira's per-issue write rate limit)."""
        lim = self.sim.issue_write_limit
        if lim is None:
            return
        w = self.sim.issue_writes.get(issue["id"])
        if w is None:
            w = self.sim.issue_writes[issue["id"]] = IssueWrites()
        ra = w.take(time.monotonic(), lim["writes"], lim["seconds"])
        if ra is not None:
            raise JiraError(429, ["Rate limit exceeded."],
                            headers=ratelimit_headers(
                                ra, lim["writes"], "jira-per-issue-on-write"))

    def need_write(self, issue, status=403, message=None):
        """A read-only account, or an issue it may browse but not edit
        (a closed issue, say): status, 403 except where 2.1 says 404."""
        if self.user["read_only"] or not issue["editable"]:
            raise JiraError(status, [message or "You do not have permission "
                                     "to edit issue %s." % issue["key"]])

    # -- routing -------------------------------------------------------------

    def route(self, method, segs, query):
        n = len(segs)
        if n >= 2 and segs[0] == "issue" and segs[1]:
            return self.route_issue(method, segs[1], segs[2:], query)
        if segs == ["search", "jql"]:
            return self.allow(method, ("GET", "POST"),
                              lambda: self.search(method, query))
        if segs == ["search", "approximate-count"]:
            return self.allow(method, ("POST",), self.approximate_count)
        if segs == ["search"]:
            return self.allow(method, ("GET", "POST"), self.legacy_search)
        if segs == ["myself"]:
            return self.allow(method, ("GET",), self.myself)
        if segs == ["field"]:
            return self.allow(method, ("GET",), self.fields)
        if segs == ["serverInfo"]:
            return self.allow(method, ("GET",), self.server_info)
        raise JiraError(404, ["null for uri: %s%s/%s"
                              % (self.base, API_PREFIX, "/".join(segs))])

    def fields(self):
        """GET /rest/api/3/field: Atlassian's documented shape, the
        system fields JQL knows and
        the custom fields of field_names and custom_fields."""
        out = []
        for fid in sorted(set(SYSTEM_FIELDS.values())):
            out.append({"id": fid, "key": fid, "name": fid[0].upper() +
                        fid[1:], "custom": False, "orderable": True,
                        "navigable": True, "searchable": True,
                        "clauseNames": [fid],
                        "schema": {"type": "string", "system": fid}})
        pairs = [(n, i) for n, i in self.sim.field_display.items()
                 if i.startswith("customfield_")]
        pairs += [(f["name"], f["id"]) for f in self.sim.custom_fields]
        for name, fid in pairs:
            num = fid[len("customfield_"):]
            out.append({"id": fid, "key": fid, "name": name,
                        "untranslatedName": name, "custom": True,
                        "orderable": True, "navigable": True,
                        "searchable": True,
                        "clauseNames": ["cf[%s]" % num, name],
                        "schema": {"type": "array", "items": "string",
                                   "custom": "com.atlassian.jira.plugin."
                                   "system.customfieldtypes:labels",
                                   "customId": int(num)}})
        return 200, out

    @staticmethod
    def allow(method, methods, fn):
        if method not in methods:
            raise JiraError(405, ["Method %s is not allowed here." % method])
        return fn()

    def route_issue(self, method, ref, rest, query):
        if not rest:
            return self.allow(method, ("GET",),
                              lambda: self.get_issue(ref, query))
        if rest[0] == "properties":
            if len(rest) == 1:
                return self.allow(method, ("GET",),
                                  lambda: self.list_props(ref))
            if len(rest) == 2:
                return self.property(method, ref, rest[1])
        if rest == ["comment"]:
            return self.allow(method, ("POST",),
                              lambda: self.add_comment(ref))
        if rest[0] == "remotelink":
            if len(rest) == 1:
                return self.remotelinks(method, ref, query)
            if len(rest) == 2:
                return self.remotelink_by_id(method, ref, rest[1])
        raise JiraError(404, ["null for uri: %s%s/issue/%s/%s"
                              % (self.base, API_PREFIX, ref,
                                 "/".join(rest))])

    # -- issues ---------------------------------------------------------------

    @staticmethod
    def qlist(query, name):
        return query.get(name) if name in query else None

    def get_issue(self, ref, query):
        issue = self.issue(ref)
        fspec = parse_fields(self.qlist(query, "fields"), ["*all"])
        pspec = parse_props(self.qlist(query, "properties"))
        out = render_issue(issue, self.base, (fspec[0], fspec[1], fspec[2],
                                              True), pspec)
        return 200, out

    def myself(self):
        self.need_user()
        u = self.user
        return 200, {"self": "%s%s/user?accountId=%s"
                     % (self.base, API_PREFIX, u["account_id"]),
                     "accountId": u["account_id"], "accountType": "atlassian",
                     "emailAddress": u["email"],
                     "displayName": u["display_name"], "active": True,
                     "timeZone": "UTC", "locale": "en_US"}

    def server_info(self):
        return 200, {"baseUrl": self.site, "version": "1001.0.0-SNAPSHOT",
                     "deploymentType": "Cloud", "serverTitle": "Jira",
                     "scmInfo": "jira-sim"}

    # -- properties -----------------------------------------------------------

    def prop_self(self, issue, pkey):
        return "%s%s/issue/%s/properties/%s" % (
            self.base, API_PREFIX, issue["key"], quote(pkey, safe=""))

    def list_props(self, ref):
        issue = self.issue(ref)
        return 200, {"keys": [{"key": k, "self": self.prop_self(issue, k)}
                              for k in issue["properties"]]}

    def property(self, method, ref, pkey):
        if method == "GET":
            issue = self.issue(ref)
            if pkey not in issue["properties"]:
                raise JiraError(404, ["The property with key '%s' does not "
                                      "exist." % pkey])
            return 200, {"key": pkey,
                         "value": copy.deepcopy(issue["properties"][pkey])}
        if method == "PUT":
            return self.put_property(ref, pkey)
        if method == "DELETE":
            self.need_user()
            issue = self.issue(ref)
            # Reference 2.1: DELETE answers 404, not 403, without edit
            # permission.
            self.need_write(issue, 404, MSG_ISSUE_404)
            if pkey not in issue["properties"]:
                raise JiraError(404, ["The property with key '%s' does not "
                                      "exist." % pkey])
            self.write_limit(issue)
            del issue["properties"][pkey]
            return 204, None
        raise JiraError(405, ["Method %s is not allowed here." % method])

    def put_property(self, ref, pkey):
        self.need_user()
        issue = self.issue(ref)
        self.need_write(issue)
        self.need_json_ctype()
        if not pkey:
            raise JiraError(400, ["The property key cannot be empty."])
        if len(pkey) > PROPERTY_KEY_MAX:
            raise JiraError(400, ["The property key cannot be longer than "
                                  "%d characters." % PROPERTY_KEY_MAX])
        if len(self.body) > PROPERTY_VALUE_MAX:
            raise JiraError(400, ["The property value cannot be longer than "
                                  "%d bytes (this one has %d)."
                                  % (PROPERTY_VALUE_MAX, len(self.body))])
        value = self.json_body("property value")
        self.write_limit(issue)
        created = pkey not in issue["properties"]
        issue["properties"][pkey] = value
        return (201 if created else 200), None

    # -- search ---------------------------------------------------------------

    def search_request(self, method, query):
        """(jql, fields, maxResults, nextPageToken, properties)."""
        if method == "GET":
            q = {k: v[-1] for k, v in query.items()}
            mr = q.get("maxResults")
            if mr is not None:
                try:
                    mr = int(mr)
                except ValueError:
                    raise JiraError(400, ["maxResults must be an integer."]
                                    ) from None
            return (q.get("jql"), self.qlist(query, "fields"), mr,
                    q.get("nextPageToken"), self.qlist(query, "properties"))
        doc = self.json_body()
        if not isinstance(doc, dict):
            raise JiraError(400, ["The request body must be a JSON object."])
        known = {"jql", "fields", "maxResults", "nextPageToken",
                 "properties", "expand", "fieldsByKeys", "failFast",
                 "reconcileIssues"}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise JiraError(400, ["Unrecognized field \"%s\" (not marked as "
                                  "ignorable)." % unknown[0]])
        for name, ok in (("jql", lambda v: isinstance(v, str)),
                         ("maxResults", _is_int),
                         ("nextPageToken", lambda v: isinstance(v, str)),
                         ("fields", lambda v: isinstance(v, list) and all(
                             isinstance(s, str) for s in v)),
                         ("properties", lambda v: isinstance(v, list) and all(
                             isinstance(s, str) for s in v))):
            if doc.get(name) is not None and not ok(doc[name]):
                raise JiraError(400, ["Invalid value for \"%s\"." % name])
        return (doc.get("jql"), doc.get("fields"), doc.get("maxResults"),
                doc.get("nextPageToken"), doc.get("properties"))

    def run_jql(self, jql):
        """Matching issues, sorted; validation of project and key values
        as Jira does for a user who can see them."""
        if not isinstance(jql, str) or not jql.strip():
            raise JiraError(400, [MSG_UNBOUNDED])
        where, order = jql_parse(jql, self.sim.field_names)
        if self.user is None:
            return []
        self.check_values(where)
        hits = [i for i in self.sim.issues
                if i["visible"] and jql_eval(where, i, self.sim)]
        if order:
            hits.sort(key=lambda i: key_sort(i["key"]), reverse=order[0][1])
        return hits

    def check_values(self, where):
        """Jira's 400 for values of no project or issue: one message per
        key that does not exist or cannot be seen (reference 3.1; the
        messages are those seen in public reports)."""
        projects = self.sim.known_projects()
        gone = []
        for node in jql_walk(where):
            if node[0] != "in":
                continue
            for v in node[2]:
                if node[1][0] == "project" and v.upper() not in projects:
                    raise JiraError(400, ["The value '%s' does not exist "
                                          "for the field 'project'." % v])
                if node[1][0] == "key":
                    if not (ISSUE_KEY_RE.match(v.upper()) or v.isdigit()):
                        raise JiraError(400, ["The issue key '%s' for field "
                                              "'key' is invalid." % v])
                    hit = self.sim.lookup(v)
                    msg = ("An issue with key '%s' does not exist for "
                           "field 'key'." % v)
                    if (hit is None or not hit["visible"]) and \
                            msg not in gone:
                        gone.append(msg)
        if gone:
            raise JiraError(400, gone)

    def search(self, method, query):
        jql, fields, mr, tok, props = self.search_request(method, query)
        if mr is None:
            mr = SEARCH_DEFAULT
        if mr < 1:
            raise JiraError(400, ["maxResults must be at least 1."])
        mr = min(mr, self.sim.search_cap)
        pspec = parse_props(props)
        if len(pspec[3]) > SEARCH_PROPERTIES_MAX:
            raise JiraError(400, ["At most %d properties can be requested."
                                  % SEARCH_PROPERTIES_MAX])
        hits = self.run_jql(jql)
        offset = read_page_token(tok, jql) if tok else 0
        page = hits[offset:offset + mr]
        fspec = parse_fields(fields, ["id"])
        out = {"issues": [render_issue(i, self.base, fspec, pspec)
                          for i in page]}
        if offset + mr < len(hits):
            out["nextPageToken"] = page_token(offset + mr, jql)
            out["isLast"] = False
        else:
            out["isLast"] = True
        return 200, out

    def approximate_count(self):
        doc = self.json_body()
        if not isinstance(doc, dict):
            raise JiraError(400, ["The request body must be a JSON object."])
        return 200, {"count": len(self.run_jql(doc.get("jql")))}

    def legacy_search(self):
        raise JiraError(410, [MSG_410])

    # -- remote links ---------------------------------------------------------

    def remotelinks(self, method, ref, query):
        q = {k: v[-1] for k, v in query.items()}
        if method == "GET":
            issue = self.issue(ref)
            if "globalId" in q:
                link = self.link_by_gid(issue, q["globalId"])
                return 200, render_link(issue, link, self.base)
            return 200, [render_link(issue, ln, self.base)
                         for ln in issue["remotelinks"]]
        if method == "POST":
            return self.upsert_link(ref)
        if method == "DELETE":
            self.need_user()
            issue = self.issue(ref)
            self.need_write(issue, 403, "You do not have permission to link "
                            "issues in this project.")
            if not q.get("globalId"):
                raise JiraError(400, ["The global ID isn't provided."])
            link = self.link_by_gid(issue, q["globalId"])
            self.write_limit(issue)
            issue["remotelinks"].remove(link)
            return 204, None
        raise JiraError(405, ["Method %s is not allowed here." % method])

    def add_comment(self, ref):
        """POST /issue/{key}/comment {"body": ADF doc}: 201 with its id.
        The comment is not kept: /_sim/requests shows what was sent."""
        self.need_user()
        issue = self.issue(ref)
        self.need_write(issue, 403, "You do not have permission to "
                        "comment on this issue.")
        doc = self.json_body()
        if not isinstance(doc, dict) or not isinstance(doc.get("body"), dict):
            raise JiraError(400, ["Comment body can not be empty!"])
        self.write_limit(issue)
        cid = getattr(self.sim, "next_comment_id", 10000)
        self.sim.next_comment_id = cid + 1
        return 201, {"id": str(cid),
                     "self": "%s%s/issue/%s/comment/%d" % (
                         self.base, API_PREFIX, issue["id"], cid)}

    @staticmethod
    def link_by_gid(issue, gid):
        for ln in issue["remotelinks"]:
            if ln["globalId"] == gid:
                return ln
        raise JiraError(404, ["No remote link with global ID '%s' exists on "
                              "issue %s." % (gid, issue["key"])])

    def upsert_link(self, ref):
        self.need_user()
        issue = self.issue(ref)
        self.need_write(issue, 403, "You do not have permission to link "
                        "issues in this project.")
        doc = self.json_body()
        old = None
        if isinstance(doc, dict) and isinstance(doc.get("globalId"), str):
            for ln in issue["remotelinks"]:
                if ln["globalId"] == doc["globalId"]:
                    old = ln
        link = norm_link(doc, old["id"] if old else self.sim.next_link_id)
        cap = self.sim.remotelink_cap
        if old is None and len(issue["remotelinks"]) >= cap:
            raise JiraError(413, ["The per-issue limit for remote links (%d) "
                                  "has been breached." % cap])
        self.write_limit(issue)
        if old is not None:
            # "Any fields without values in the request are set to null."
            issue["remotelinks"][issue["remotelinks"].index(old)] = link
            status = 200
        else:
            self.sim.next_link_id += 1
            issue["remotelinks"].append(link)
            status = 201
        return status, {"id": link["id"],
                        "self": render_link(issue, link, self.base)["self"]}

    def remotelink_by_id(self, method, ref, lid):
        issue = self.issue(ref)
        if not lid.isdigit():
            raise JiraError(400, ["The remote link ID '%s' is not a number."
                                  % lid])
        lid = int(lid)
        link = next((ln for ln in issue["remotelinks"] if ln["id"] == lid),
                    None)
        if link is None:
            elsewhere = any(ln["id"] == lid for i in self.sim.issues
                            for ln in i["remotelinks"])
            if elsewhere:
                raise JiraError(400, ["The remote link %d does not belong to "
                                      "issue %s." % (lid, issue["key"])])
            raise JiraError(404, ["No remote link with ID %d exists on issue "
                                  "%s." % (lid, issue["key"])])
        if method == "GET":
            return 200, render_link(issue, link, self.base)
        if method not in ("PUT", "DELETE"):
            raise JiraError(405, ["Method %s is not allowed here." % method])
        self.need_user()
        self.need_write(issue, 403, "You do not have permission to link "
                        "issues in this project.")
        if method == "DELETE":
            self.write_limit(issue)
            issue["remotelinks"].remove(link)
            return 204, None
        new = norm_link(self.json_body(), lid)
        if new["globalId"] is not None and any(
                ln["globalId"] == new["globalId"] and ln is not link
                for ln in issue["remotelinks"]):
            raise JiraError(400, [], {"globalId": "Another remote link on "
                                      "this issue has that global ID."})
        self.write_limit(issue)
        issue["remotelinks"][issue["remotelinks"].index(link)] = new
        return 204, None


# ------------------------------------------------------------- control API

class Control:
    """The /_sim/ endpoints; called with the lock held."""

    def __init__(self, sim):
        self.sim = sim

    def handle(self, method, name, query, body):
        fn = getattr(self, "%s_%s" % (method.lower(), name), None)
        if fn is None:
            raise JiraError(404, ["no control endpoint %s /_sim/%s"
                                  % (method, name)],
                            body={"ok": False, "message":
                                  "no control endpoint %s /_sim/%s"
                                  % (method, name)})
        if method in ("POST", "PATCH"):
            try:
                doc = json.loads(body.decode("utf-8")) if body else {}
            except (ValueError, UnicodeDecodeError) as e:
                raise ControlError("body is not JSON: %s" % e) from None
            _need(isinstance(doc, dict), "body must be a JSON object")
            return fn(doc)
        return fn({k: v[-1] for k, v in query.items()})

    def _issue(self, ref):
        _need(isinstance(ref, str) and ref, "key is required")
        issue = self.sim.lookup(ref)
        _need(issue is not None, "no issue %r" % ref)
        return issue

    # state -------------------------------------------------------------------
    def get_state(self, _q):
        return self.sim.dump_state()

    def post_state(self, doc):
        self.sim.load_state(doc)
        return {"ok": True, "issues": len(self.sim.issues)}

    def get_config(self, _q):
        return self.sim.config_view()

    def post_config(self, doc, restart_bucket=False):
        unknown = set(doc) - set(self.sim.config_view())
        _need(not unknown, "unknown config field(s) %s"
              % ", ".join(sorted(unknown)))
        self.sim.apply_config(self.sim.check_config(doc), restart_bucket)
        return dict(self.sim.config_view(), ok=True)

    def post_search_cap(self, doc):
        return self.post_config({"search_cap": doc.get("cap")})

    def post_ratelimit(self, doc):
        cfg = {"rps": doc.get("rps", self.sim.rps)}
        if "issue_write_limit" in doc:
            cfg["issue_write_limit"] = doc["issue_write_limit"]
        return self.post_config(cfg, restart_bucket=True)

    def get_ratelimit(self, _q):
        return {"rps": self.sim.rps,
                "issue_write_limit": self.sim.issue_write_limit}

    # issues ------------------------------------------------------------------
    def get_issue(self, q):
        return dict(self.sim.issue_view(self._issue(q.get("key"))), ok=True)

    def post_issue(self, doc):
        """Create, or replace the fields of, an issue; properties and
        remote links stay unless given."""
        key = doc.get("key")
        _need(isinstance(key, str), "key is required")
        old = self.sim.by_key.get(key.upper())
        spec = dict(doc)
        spec.setdefault("fields", {})
        if old is not None:
            spec.setdefault("id", old["id"])
            spec.setdefault("old_keys", old["old_keys"])
            spec.setdefault("history", old["history"])
            spec.setdefault("editable", old["editable"])
            spec.setdefault("visible", old["visible"])
        new = self.sim.parse_issue(spec)
        if old is not None:
            if "properties" not in doc:
                new["properties"] = old["properties"]
            if "remotelinks" not in doc:
                new["remotelinks"] = old["remotelinks"]
            others = [i for i in self.sim.issues if i is not old]
            self.sim.check_unique(others + [new])
            self.sim.issues[self.sim.issues.index(old)] = new
        else:
            self.sim.check_unique(self.sim.issues + [new])
            self.sim.issues.append(new)
        self.sim.reindex()
        return dict(self.sim.issue_view(new), ok=True,
                    created=old is None)

    def patch_issue(self, doc):
        issue = self._issue(doc.get("key"))
        fields = doc.get("fields", {})
        _need(isinstance(fields, dict), "fields must be an object")
        unknown = set(doc) - {"key", "fields", "properties", "editable",
                              "visible"}
        _need(not unknown, "unknown field(s) %s" % ", ".join(sorted(unknown)))
        props = doc.get("properties", {})
        _need(isinstance(props, dict), "properties must be an object")
        for name in ("editable", "visible"):
            _need(isinstance(doc.get(name, True), bool), "%s must be a "
                  "boolean" % name)
        fields = copy.deepcopy(fields)
        normalize_status(fields)
        for name in ("editable", "visible"):
            if name in doc:
                issue[name] = doc[name]
        issue["fields"].update(fields)
        for k, v in props.items():
            if v is None:
                issue["properties"].pop(k, None)
            else:
                issue["properties"][k] = copy.deepcopy(v)
        return dict(self.sim.issue_view(issue), ok=True)

    def delete_issue(self, q):
        issue = self._issue(q.get("key"))
        self.sim.issues.remove(issue)
        self.sim.reindex()
        return {"ok": True}

    def post_transition(self, doc):
        """Move an issue to a status at a time, as a workflow transition
        does: status, statuscategorychangedate when the category changes,
        resolutiondate set on entering Done and cleared on leaving it, and
        a history entry."""
        issue = self._issue(doc.get("key"))
        unknown = set(doc) - {"key", "status", "category", "at"}
        _need(not unknown, "unknown field(s) %s" % ", ".join(sorted(unknown)))
        name = doc.get("status")
        _need(isinstance(name, str) and name, "status is required")
        new = status_object(name, doc.get("category"))
        at = jira_time(parse_at(doc.get("at")))
        fields = issue["fields"]
        old = fields.get("status")
        old_cat = status_category(fields)
        new_cat = new["statusCategory"]["key"]
        fields["status"] = new
        if old_cat != new_cat:
            fields["statuscategorychangedate"] = at
        if new_cat == "done" and old_cat != "done":
            fields["resolutiondate"] = at
        elif new_cat != "done":
            fields["resolutiondate"] = None
        issue["history"].append({
            "at": at, "to": name,
            "from": old.get("name") if isinstance(old, dict) else None})
        return dict(self.sim.issue_view(issue), ok=True)

    def post_move(self, doc):
        """Rename an issue (a move to another project); the old key keeps
        resolving to it, as in Jira."""
        issue = self._issue(doc.get("key"))
        new_key = doc.get("new_key")
        _need(isinstance(new_key, str) and ISSUE_KEY_RE.match(
            new_key.upper()), "new_key must be PROJECT-NUMBER")
        new_key = new_key.upper()
        _need(new_key not in self.sim.by_key, "issue %s exists" % new_key)
        issue["old_keys"].append(issue["key"])
        issue["key"] = new_key
        self.sim.reindex()
        return dict(self.sim.issue_view(issue), ok=True)

    # users -------------------------------------------------------------------
    def get_user(self, _q):
        return {"users": self.sim.dump_state()["users"]}

    def post_user(self, doc):
        email = doc.get("email")
        spec = {k: v for k, v in doc.items() if k != "email"}
        _need(isinstance(email, str), "email is required")
        self.sim.users[email.lower()] = norm_user(email, spec)
        return {"ok": True}

    def delete_user(self, q):
        email = (q.get("email") or "").lower()
        _need(email in self.sim.users, "no user %r" % email)
        del self.sim.users[email]
        return {"ok": True}

    # faults, log -------------------------------------------------------------
    def get_fault(self, _q):
        return {"faults": [self.sim.fault_view(f) for f in self.sim.faults]}

    def post_fault(self, doc):
        f = self.sim.add_fault(doc)
        return {"ok": True, "fault": self.sim.fault_view(f)}

    def delete_fault(self, _q):
        self.sim.faults = []
        return {"ok": True}

    def get_requests(self, _q):
        return {"requests": list(self.sim.requests)}

    def delete_requests(self, _q):
        self.sim.requests.clear()
        return {"ok": True}


# -------------------------------------------------------------- HTTP server

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "jira-sim/1.0"
    sys_version = ""
    # Headers and body leave in one segment: no Nagle/delayed-ACK stall.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_request(self, code="-", size="-"):
        """Requests are logged once, by logline()."""

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("jira_sim: %s %s\n"
                             % (self.client_address[0], fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

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
            return self.read_chunked()
        cl = self.headers.get("Content-Length")
        if not cl:
            return b""
        try:
            n = int(cl)
        except ValueError:
            n = -1
        if n < 0 or n > BODY_MAX:
            self.close_connection = True
            raise JiraError(400, ["bad Content-Length"])
        return self.rfile.read(n)

    def read_chunked(self):
        data = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                n = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                n = -1
            if n < 0 or len(data) + n > BODY_MAX:
                self.close_connection = True
                raise JiraError(400, ["bad chunked request body"])
            if n == 0:
                while self.rfile.readline(8192).strip():
                    pass
                return bytes(data)
            data += self.rfile.read(n)
            self.rfile.readline(8)

    def send(self, status, body, headers=None,
             ctype="application/json;charset=UTF-8"):
        self.send_response(status)
        if status != 204:
            if body:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if status != 204 and body:
            self.wfile.write(body)

    def logline(self, method, status, t0):
        if self.server.quiet:
            return
        sys.stderr.write("jira_sim: %s %s %s -> %s %.1fms\n"
                         % (self.client_address[0], method, self.path,
                            status, (time.monotonic() - t0) * 1000))

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
        url = urlsplit(self.path)
        status = 500
        try:
            try:
                body = self.read_body()
            except JiraError as e:
                self.send(e.status, _dumps(e.value()))
                self.logline(method, e.status, t0)
                return
            if url.path == SIM_PREFIX or url.path.startswith(SIM_PREFIX + "/"):
                status = self.control(method, url, body)
            else:
                status = self.api(method, url, body, t0)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            status = 0
        except Exception:  # never let a request kill the server
            traceback.print_exc(file=sys.stderr)
            status = 500
            try:
                self.close_connection = True
                self.send(500, _dumps({"errorMessages": ["simulator error"],
                                       "errors": {}}))
            except OSError:
                pass
        self.logline(method, status, t0)

    def control(self, method, url, body):
        sim = self.server.sim
        name = url.path[len(SIM_PREFIX) + 1:]
        query = parse_qs(url.query, keep_blank_values=True)
        with sim.lock:
            try:
                value = Control(sim).handle(method, name, query, body)
                status = 200
            except ControlError as e:
                value, status = {"ok": False, "message": str(e)}, 400
            except JiraError as e:
                value, status = e.value(), e.status
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                value = {"ok": False, "message": "bad request: %r" % (e,)}
                status = 400
            data = _dumps(value)
        self.send(status, data)
        return status

    def credentials(self):
        """(email, token) from Basic auth, None when there is no
        Authorization header, False when it cannot be a known user."""
        h = self.headers.get("Authorization")
        if h is None:
            return None
        parts = h.strip().split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "basic":
            return False
        try:
            raw = base64.b64decode(parts[1].strip(), validate=True)
            email, sep, token = raw.decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            return False
        return (email, token) if sep else False

    def api(self, method, url, body, t0):
        sim = self.server.sim
        creds = self.credentials()
        entry = {"method": method, "path": url.path, "query": url.query,
                 "status": 0, "time": time.time(), "body": None,
                 "body_bytes": len(body),
                 "user": creds[0] if creds else None, "fault": None}
        if body:
            try:
                entry["body"] = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                entry["body"] = None
        target = "%s %s" % (method, url.path) + (
            "?" + url.query if url.query else "")
        with sim.lock:
            fault = sim.pick_fault(target)
        try:
            if fault is not None:
                entry["fault"] = fault["kind"]
            status = self.api_answer(method, url, body, creds, fault, entry)
            entry["status"] = status
            return status
        finally:
            entry["duration_ms"] = round((time.monotonic() - t0) * 1000, 3)
            with sim.lock:
                sim.requests.append(entry)

    def api_answer(self, method, url, body, creds, fault, entry):
        kind = fault["kind"] if fault else None
        if kind == "close":
            self.drop()
            return 0
        if kind == "status":
            st = fault["status"]
            hdrs = {}
            if fault["retry_after"] is not None:
                hdrs["Retry-After"] = str(fault["retry_after"])
            self.send(st, _dumps({"errorMessages": ["simulated fault"],
                                  "errors": {}}), hdrs)
            return st
        if kind == "ratelimit":
            hdrs = ratelimit_headers(fault["retry_after"], fault["limit"],
                                     fault["reason"])
            self.send(fault["status"], _dumps({"errorMessages": [
                "Rate limit exceeded."], "errors": {}}), hdrs)
            return fault["status"]
        if kind in ("echo", "echo_text"):
            # A server that quotes the request's credentials back.
            auth = self.headers.get("Authorization") or ""
            token = creds[1] if creds else ""
            words = ("you sent Authorization: %s, which is %s:%s"
                     % (auth, creds[0] if creds else "", token))
            if kind == "echo":
                data = _dumps({"errorMessages": [words],
                               "errors": {"token": token,
                                          "header": auth}})
            else:
                data = words.encode("utf-8")
            self.send(fault["status"], data)
            return fault["status"]
        if kind == "malformed":
            self.send(200, b'{"issues":[{"id":"1",,}],"isLast":<html>')
            return 200
        if kind == "slow" and self.wait_or_gone(fault["delay"]):
            entry["client_gone"] = True
            self.drop()
            return 0
        status, value, hdrs = self.api_compute(method, url, body, creds)
        self.send(status, b"" if value is None else _dumps(value), hdrs)
        return status

    def api_compute(self, method, url, body, creds):
        """(status, value or None, headers) with the lock held."""
        sim = self.server.sim
        with sim.lock:
            hdrs = {}
            try:
                if sim.burst is not None:
                    ra = sim.burst.take(time.monotonic())
                    if ra is not None:
                        raise JiraError(429, ["Rate limit exceeded."],
                                        headers=ratelimit_headers(
                                            ra, int(sim.burst.cap),
                                            "jira-burst-based"))
                segs, site, base = self.api_target(url)
                if segs is None:
                    return 200, {"cloudId": sim.cloud_id}, hdrs
                user = self.authenticate(creds)
                if user is not None:
                    hdrs["X-AAccountId"] = user["account_id"]
                api = Api(sim, user, base, site)
                api.body = body
                ctype = self.headers.get("Content-Type", "")
                api.ctype_ok = (ctype.split(";")[0].strip().lower()
                                == "application/json")
                query = parse_qs(url.query, keep_blank_values=True)
                status, value = api.route(method, segs, query)
                return status, value, hdrs
            except JiraError as e:
                hdrs.update(e.headers or {})
                return e.status, e.value(), hdrs

    def api_target(self, url):
        """(segments after /rest/api/3, site URL, base URL); segments are
        None for /_edge/tenant_info."""
        sim = self.server.sim
        host = self.headers.get("Host") or "127.0.0.1:%d" % (
            self.server.server_address[1])
        site = base = "http://" + host
        path = url.path
        if path == "/_edge/tenant_info":
            return None, site, base
        if path.startswith(GATEWAY_PREFIX):
            cloud, _, rest = path[len(GATEWAY_PREFIX):].partition("/")
            if unquote(cloud) != sim.cloud_id:
                raise JiraError(404, ["No Jira site has the cloud ID '%s'."
                                      % unquote(cloud)])
            base = site + GATEWAY_PREFIX + cloud
            path = "/" + rest
        if path.startswith("/rest/featureflags/"):
            # Reference 5.1: only Connect/Forge apps (JWT); a basic-auth
            # request has no JWT.
            raise JiraError(401, body=[{"message": MSG_JWT}])
        if not path.startswith(API_PREFIX + "/"):
            raise JiraError(404, ["null for uri: %s%s" % (base, path)])
        rest = path[len(API_PREFIX) + 1:]
        return [unquote(s) for s in rest.split("/")], site, base

    def authenticate(self, creds):
        """The user, None for anonymous; 401 for wrong credentials."""
        if creds is None:
            return None
        u = self.server.sim.users.get(creds[0].lower()) if creds else None
        if u is None or u["token"] != creds[1]:
            raise JiraError(401, [MSG_401])
        return dict(u, email=creds[0])


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
        description="Jira Cloud REST API v3 simulator for flagsync tests")
    p.add_argument("--port", type=int, default=0,
                   help="TCP port on 127.0.0.1 (0 = pick a free one)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--state", help="initial state (JSON, as GET /_sim/state)")
    p.add_argument("--user", action="append", default=[],
                   metavar="EMAIL:TOKEN",
                   help="accepted account (repeatable; default %s:%s)"
                   % (DEFAULT_USER, DEFAULT_TOKEN))
    p.add_argument("--cloud-id", default=None,
                   help="cloud id of /ex/jira/{cloudId} (default %s)"
                   % DEFAULT_CLOUD_ID)
    p.add_argument("--rps", type=float, default=None,
                   help="site-wide burst rate limit, requests/s (0 = off)")
    p.add_argument("--idle-timeout", type=float, default=60.0,
                   help="close keep-alive connections idle this long (s)")
    p.add_argument("--quiet", action="store_true",
                   help="no per-request log lines on stderr")
    a = p.parse_args(argv)
    for u in a.user:
        if ":" not in u or not u.split(":", 1)[0] or not u.split(":", 1)[1]:
            p.error("--user must be EMAIL:TOKEN")
    if a.rps is not None and a.rps < 0:
        p.error("--rps must not be negative")
    if a.cloud_id is not None and (not a.cloud_id or "/" in a.cloud_id):
        p.error("--cloud-id must be non-empty, without '/'")
    return a


def build_sim(a):
    sim = Sim(DEFAULT_CLOUD_ID)
    if a.state:
        with open(a.state, encoding="utf-8") as fp:
            doc = json.load(fp)
        sim.load_state(doc)
    for u in a.user:
        email, token = u.split(":", 1)
        sim.users[email.lower()] = norm_user(email, {"token": token})
    if not sim.users:
        sim.users[DEFAULT_USER] = norm_user(DEFAULT_USER,
                                            {"token": DEFAULT_TOKEN})
    if a.cloud_id is not None:
        sim.cloud_id = a.cloud_id
    if a.rps is not None:
        sim.set_rps(a.rps)
    return sim


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        sim = build_sim(a)
    except (OSError, ValueError, ControlError) as e:
        sys.stderr.write("jira_sim: %s\n" % e)
        return 2
    srv = Server(("127.0.0.1", a.port), sim, a.quiet, a.idle_timeout)
    port = srv.server_address[1]

    def stop(_signo, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    if a.port_file:
        write_port_file(a.port_file, port)
    sys.stderr.write("jira_sim: listening on 127.0.0.1:%d (%d issues, "
                     "cloud id %s)\n" % (port, len(sim.issues), sim.cloud_id))
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
