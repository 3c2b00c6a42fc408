"""An edit form generated from a tool's JSON schema, and the form read back into arguments.
The server validates the result against the tool's argument model (and `decide` validates again)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from pydantic import BaseModel, ValidationError

LONG_TEXT = {"body", "description", "text", "content", "message", "comment"}
FIELD_PREFIX = "arg."


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text | textarea | select | integer | number | checkbox | lines | json
    required: bool
    nullable: bool
    help: str = ""
    options: list[str] = field(default_factory=list)
    value: str = ""
    checked: bool = False
    error: str = ""

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name


def _types(prop: dict) -> tuple[dict, bool]:
    """The non-null branch of a property and whether null is allowed."""
    branches = prop.get("anyOf") or prop.get("oneOf")
    if branches:
        real = [b for b in branches if b.get("type") != "null"]
        nullable = len(real) < len(branches)
        merged = {**prop, **(real[0] if len(real) == 1 else {"type": "json"})}
        return merged, nullable
    return prop, prop.get("type") == "null"


def _kind(name: str, prop: dict, value: Any) -> str:
    if "enum" in prop:
        return "select"
    t = prop.get("type")
    if t == "string":
        long = name in LONG_TEXT or (isinstance(value, str) and ("\n" in value or len(value) > 80))
        return "textarea" if long else "text"
    if t in ("integer", "number"):
        return t
    if t == "boolean":
        return "checkbox"
    if t == "array" and prop.get("items", {}).get("type") == "string" and "enum" not in prop.get("items", {}):
        return "lines"
    return "json"


def _shown(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    return str(value)


def form_fields(schema: dict, arguments: Mapping[str, Any]) -> list[FormField]:
    required = set(schema.get("required", []))
    fields = []
    for name, raw in (schema.get("properties") or {}).items():
        prop, nullable = _types(raw)
        value = arguments.get(name, raw.get("default"))
        kind = _kind(name, prop, value)
        fields.append(FormField(
            name=name, label=raw.get("title") or name.replace("_", " ").capitalize(), kind=kind,
            required=name in required, nullable=nullable,
            help=raw.get("description", ""), options=[str(o) for o in prop.get("enum", [])],
            value=_shown(kind, value), checked=bool(value) if kind == "checkbox" else False))
    return fields


def read_form(fields: list[FormField], form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Arguments from the submitted form, plus errors by field name for values that cannot be read."""
    args: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        raw = form.get(f.input_name)
        text = raw if isinstance(raw, str) else ""
        f.value, f.checked = text, raw is not None
        if f.kind == "checkbox":
            args[f.name] = raw is not None
            continue
        if text.strip() == "" and f.kind not in ("text", "textarea", "lines"):
            if f.nullable:
                args[f.name] = None
            elif f.required:
                errors[f.name] = "required"
            continue  # optional: the tool's default applies
        if f.kind == "lines":
            args[f.name] = [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
        elif f.kind in ("text", "textarea"):
            args[f.name] = None if (text == "" and f.nullable) else text.replace("\r\n", "\n")
        elif f.kind == "select":
            if text not in f.options:
                errors[f.name] = f"choose one of {', '.join(f.options)}"
            args[f.name] = text
        elif f.kind in ("integer", "number"):
            try:
                args[f.name] = int(text) if f.kind == "integer" else float(text)
            except ValueError:
                errors[f.name] = "must be a whole number" if f.kind == "integer" else "must be a number"
        else:
            try:
                args[f.name] = json.loads(text)
            except json.JSONDecodeError as exc:
                errors[f.name] = f"not valid JSON ({exc.msg} at line {exc.lineno})"
    return args, errors


def validate(model: type[BaseModel], args: dict[str, Any]) -> dict[str, str]:
    """Errors by top-level field name, from the tool's argument model."""
    try:
        model.model_validate(args)
    except ValidationError as exc:
        out: dict[str, str] = {}
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            key = loc[0] if loc else "(arguments)"
            detail = err["msg"] + (f" (item {'.'.join(loc[1:])})" if len(loc) > 1 else "")
            out.setdefault(key, detail)
        return out
    return {}


def apply_errors(fields: list[FormField], errors: dict[str, str]) -> Optional[str]:
    """Attach errors to their fields; returns a message for errors that match no field."""
    names = {f.name for f in fields}
    for f in fields:
        f.error = errors.get(f.name, "")
    rest = [f"{k}: {v}" for k, v in errors.items() if k not in names]
    return "; ".join(rest) or None
