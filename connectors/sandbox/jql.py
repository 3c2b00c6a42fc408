"""A JQL subset for the sandbox tracker: parse a query into a matcher and a sort order.

Supported: `field = v`, `!=`, `~` (contains), `in (a, b)`, `not in (...)`, `is EMPTY`, `is not EMPTY`,
`created|updated >= -7d | 2025-03-01` (also >, <, <=), AND / OR (AND binds tighter),
`ORDER BY field [ASC|DESC], ...`. Values: quoted strings, words, currentUser(), EMPTY/null.
Fields: project, key, status, assignee, reporter, type (issuetype), priority, labels, summary,
description, text, created, updated.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Optional

from connectors.base import ToolError
from connectors.common import parse_time

PRIORITIES = ["Lowest", "Low", "Medium", "High", "Highest"]
FIELDS = {"project": "project_key", "key": "key", "issue": "key", "status": "status", "assignee": "assignee",
          "reporter": "reporter", "type": "issue_type", "issuetype": "issue_type", "priority": "priority",
          "labels": "labels", "label": "labels", "summary": "summary", "description": "description",
          "text": "text", "created": "created", "updated": "updated"}
_TOKEN = re.compile(r'\s*(?:"([^"]*)"|\'([^\']*)\'|(!=|!~|>=|<=|=|~|>|<|\(|\)|,)|([\w.@+\-]+(?:\(\))?))')
_RELATIVE = re.compile(r"^([+-]?\d+)([mhdw])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}

Matcher = Callable[[Any, str], bool]  # (issue, searchable text) -> bool


def _tokens(jql: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(jql):
        if not jql[pos:].strip():
            break
        m = _TOKEN.match(jql, pos)
        if not m or m.end() == pos:
            raise ToolError(f"JQL: cannot read {jql[pos:pos + 20]!r}")
        dq, sq, op, word = m.groups()
        out.append(("str", dq if dq is not None else sq) if op is None and word is None else
                   ("op", op) if op else ("word", word))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, jql: str, me: str, now: datetime, tz: str):
        self.toks, self.i, self.me, self.now, self.tz = _tokens(jql), 0, me, now, tz

    def peek(self, upper: bool = True) -> Optional[str]:
        if self.i >= len(self.toks):
            return None
        kind, val = self.toks[self.i]
        return val.upper() if upper and kind == "word" else val

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise ToolError("JQL: the query ends too early")
        self.i += 1
        return self.toks[self.i - 1]

    def value(self) -> Any:
        kind, val = self.take()
        if kind == "op":
            raise ToolError(f"JQL: expected a value, found {val!r}")
        if kind == "word" and val.lower() == "currentuser()":
            return self.me
        if kind == "word" and val.upper() in ("EMPTY", "NULL"):
            return None
        return val

    def parse(self) -> tuple[list[list[Matcher]], list[tuple[str, bool]]]:
        groups: list[list[Matcher]] = [[]]
        while self.peek() not in (None, "ORDER"):
            groups[-1].append(self.clause())
            nxt = self.peek()
            if nxt == "AND":
                self.take()
            elif nxt == "OR":
                self.take()
                groups.append([])
            elif nxt not in (None, "ORDER"):
                raise ToolError(f"JQL: expected AND, OR or ORDER BY, found {self.peek(False)!r}")
        order: list[tuple[str, bool]] = []
        if self.peek() == "ORDER":
            self.take()
            if self.peek() != "BY":
                raise ToolError("JQL: ORDER must be followed by BY")
            self.take()
            while True:
                name = self.take()[1].lower()
                if name not in FIELDS or FIELDS[name] in ("text", "labels", "description"):
                    raise ToolError(f"JQL: cannot order by {name!r}")
                desc = False
                if self.peek() in ("ASC", "DESC"):
                    desc = self.take()[1].upper() == "DESC"
                order.append((FIELDS[name], desc))
                if self.peek() != ",":
                    break
                self.take()
        if self.peek() is not None:
            raise ToolError(f"JQL: unexpected {self.peek(False)!r}")
        return [g for g in groups if g] or [[]], order

    def clause(self) -> Matcher:
        name = self.take()[1].lower()
        if name not in FIELDS:
            raise ToolError(f"JQL: unknown field {name!r}; known: {', '.join(sorted(set(FIELDS)))}")
        field, op = FIELDS[name], (self.peek() or "")
        self.take()
        if op == "NOT":
            if self.peek() != "IN":
                raise ToolError("JQL: NOT must be followed by IN")
            self.take()
            op = "NOT IN"
        if op == "IS":
            negate = self.peek() == "NOT"
            if negate:
                self.take()
            if self.value() is not None:
                raise ToolError("JQL: IS takes EMPTY or NULL")
            return lambda issue, _t: _empty(issue, field) != negate
        if op in ("IN", "NOT IN"):
            if self.take()[1] != "(":
                raise ToolError("JQL: IN needs a list in parentheses, e.g. status in (\"To Do\", Done)")
            values = [self.value()]
            while self.peek() == ",":
                self.take()
                values.append(self.value())
            if self.take()[1] != ")":
                raise ToolError("JQL: missing ')'")
            return lambda issue, _t: any(_equals(issue, field, v) for v in values) != (op == "NOT IN")
        value = self.value()
        if op in ("=", "!="):
            return lambda issue, _t: _equals(issue, field, value) != (op == "!=")
        if op in ("~", "!~"):
            needle = str(value or "").lower()
            get = ((lambda issue, text: text) if field == "text"
                   else (lambda issue, _t: str(getattr(issue, field)).lower()))
            return lambda issue, text: (needle in get(issue, text)) != (op == "!~")
        if op in (">", ">=", "<", "<=") and field in ("created", "updated", "priority"):
            return self.compare(field, op, value)
        raise ToolError(f"JQL: operator {op!r} is not supported for {name}")

    def compare(self, field: str, op: str, value: Any) -> Matcher:
        rank: int | datetime
        if field == "priority":
            rank = _rank(value)
            key: Callable[[Any], Any] = lambda issue: _rank(issue.priority)  # noqa: E731  (one-line key chosen by branch)
        else:
            m = _RELATIVE.match(str(value))
            rank = self.now + int(m.group(1)) * _UNITS[m.group(2)] if m else parse_time(str(value), self.tz, field)
            key = lambda issue: getattr(issue, field)  # noqa: E731  (one-line key chosen by branch)
        ops = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
        return lambda issue, _t: ops[op](key(issue), rank)


def _rank(priority: Any) -> int:
    names = [p.lower() for p in PRIORITIES]
    if str(priority).lower() not in names:
        raise ToolError(f"JQL: unknown priority {priority!r}; known: {', '.join(PRIORITIES)}")
    return names.index(str(priority).lower())


def _empty(issue: Any, field: str) -> bool:
    return not getattr(issue, field)


def _equals(issue: Any, field: str, value: Any) -> bool:
    have: Any = getattr(issue, field) if field != "text" else None
    if value is None:
        return not have
    if field == "labels":
        return str(value).lower() in (x.lower() for x in have)
    return have is not None and str(have).lower() == str(value).lower()


def sort_key(field: str):
    if field == "priority":
        return lambda issue: _rank(issue.priority)
    if field == "key":
        return lambda issue: (issue.project_key, issue.number)
    return lambda issue: (getattr(issue, field) is None, getattr(issue, field) or "")


def compile_jql(jql: str, me: str, now: datetime, tz: str):
    """Returns (match(issue, text) -> bool, [(field, descending)])."""
    groups, order = _Parser(jql or "", me, now, tz).parse()
    return (lambda issue, text: any(all(m(issue, text) for m in g) for g in groups)), order
