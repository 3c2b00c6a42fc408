"""A Block Kit form from a tool's JSON schema, and the arguments back from a submission.

Strings → text inputs (multi-line for bodies), numbers → number inputs, enums and booleans →
selects, lists of strings → one per line, anything else → JSON. A field whose value is longer
than Slack lets a text input hold is not shown and kept as it is."""
from __future__ import annotations

import json
import re
from typing import Any

from services.slackapp.blocks import clip

FIELD = "f:"
TEXT_MAX = 3000  # Slack: plain_text_input max_length
MULTILINE = {"body", "description", "text", "comment", "message", "agenda"}
_NO_DEFAULT = object()


def _kind(prop: dict) -> tuple[str, dict]:
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    p = options[0] if len(options) == 1 else {}
    if "enum" in p or "const" in p:
        return "enum", p
    t = p.get("type")
    if t == "string":
        return "string", p
    if t in ("integer", "number", "boolean"):
        return t, p
    if t == "array" and (p.get("items") or {}).get("type") == "string":
        return "strings", p
    return "json", p


def _option(value: str) -> dict:
    return {"text": {"type": "plain_text", "text": clip(value, 75) or " "}, "value": value}


def _initial(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "strings":
        return "\n".join(str(v) for v in value)
    if kind == "json":
        return json.dumps(value, indent=1, ensure_ascii=False)
    return str(value)


def field_blocks(schema: dict, arguments: dict) -> list[dict]:
    required = set(schema.get("required") or [])
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        kind, p = _kind(prop)
        value = arguments.get(name)
        label = {"type": "plain_text", "text": clip(prop.get("title") or name.replace("_", " ").capitalize(), 150)}
        block: dict[str, Any] = {"type": "input", "block_id": FIELD + name, "label": label,
                                 "optional": name not in required}
        hint = prop.get("description") or ""
        initial = _initial(kind, value)
        if len(initial) > TEXT_MAX:
            continue  # too long for Slack: kept as it is
        if kind in ("enum", "boolean"):
            choices = [str(c).lower() if kind == "boolean" else str(c)
                       for c in (p.get("enum") or ([p["const"]] if "const" in p else [True, False]))]
            element: dict[str, Any] = {"type": "static_select", "action_id": "v",
                                       "options": [_option(c) for c in choices[:100]]}
            if initial and (initial.lower() if kind == "boolean" else initial) in choices:
                element["initial_option"] = _option(initial.lower() if kind == "boolean" else initial)
        elif kind in ("integer", "number"):
            element = {"type": "number_input", "action_id": "v", "is_decimal_allowed": kind == "number"}
            if initial:
                element["initial_value"] = initial
        else:
            multiline = kind in ("strings", "json") or name in MULTILINE or "\n" in initial or len(initial) > 120
            element = {"type": "plain_text_input", "action_id": "v", "multiline": multiline, "max_length": TEXT_MAX}
            if initial:
                element["initial_value"] = initial
            hint = {"strings": "One per line. ", "json": "JSON. "}.get(kind, "") + hint
        block["element"] = element
        if hint:
            block["hint"] = {"type": "plain_text", "text": clip(hint, 300)}
        out.append(block)
    return out


def read_fields(schema: dict, original: dict, values: dict) -> tuple[dict, dict[str, str]]:
    """(arguments, errors by block id). Fields the form did not show keep their value."""
    arguments, errors = dict(original), {}
    for name, prop in (schema.get("properties") or {}).items():
        block = values.get(FIELD + name)
        if not isinstance(block, dict):
            continue
        element = block.get("v") or {}
        kind, _p = _kind(prop)
        raw = ((element.get("selected_option") or {}).get("value") if kind in ("enum", "boolean")
               else element.get("value"))
        try:
            value = _read(kind, raw, prop.get("default", _NO_DEFAULT))
        except ValueError as exc:
            errors[FIELD + name] = clip(str(exc), 150)
            continue
        if value is _NO_DEFAULT:  # left empty: the tool's own default applies
            arguments.pop(name, None)
        else:
            arguments[name] = value
    return arguments, errors


def _read(kind: str, raw: Any, default: Any) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default  # _NO_DEFAULT when the schema has none
    if kind == "boolean":
        return raw == "true"
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("a whole number, please") from None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise ValueError("a number, please") from None
    if kind == "strings":
        return [v.strip() for v in re.split(r"[\n,;]", raw) if v.strip()]
    if kind == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
    return raw
