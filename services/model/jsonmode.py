"""JSON tool-calling mode: for servers/models without native tool calls (e.g. the local SmolLM2).

Instead of `tools`, the request carries a JSON-schema `response_format`; the model answers one
JSON object per turn, either a call of one tool or the final answer:

    {"tool": "<tool name>", "arguments": {...}}
    {"tool": "final_answer", "arguments": {"answer": "..."}}

The schema is an `anyOf` of one object per tool (`"tool": {"const": name}`, `arguments`
constrained by that tool's parameter schema), so grammar-enforcing servers (llama.cpp, vLLM)
only let the model produce well-formed turns. The scripted test server uses `encode_turn` to
produce the same format.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any

FINAL_ANSWER = "final_answer"
SCHEMA_NAME = "agent_turn"

_FINAL_ANSWER_PARAMS: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "description": "The final answer for the requester."}},
    "required": ["answer"],
    "additionalProperties": False,
}


class InvalidTurn(ValueError):
    """The model's text is not a well-formed JSON-mode turn."""


def _function(tool: dict) -> dict:
    """The `function` part of an OpenAI tool spec (also accepts a bare function dict)."""
    return tool.get("function", tool) if isinstance(tool, dict) else {}


def _rewrite_refs(node: Any, prefix: str, def_keys: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                for dk in def_keys:
                    head = f"#/{dk}/"
                    if value.startswith(head):
                        value = f"#/$defs/{prefix}{value[len(head):]}"
                        break
            out[key] = _rewrite_refs(value, prefix, def_keys)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, prefix, def_keys) for v in node]
    return node


def _arguments_schema(params: Any, prefix: str, defs: dict) -> dict:
    """A tool's parameter schema usable nested inside the turn schema.

    Local definitions (`$defs` / `definitions`, e.g. from pydantic) move to the root `$defs`
    under a per-tool prefix, and their `$ref`s are rewritten to match.
    """
    if not isinstance(params, dict) or not params:
        return {"type": "object"}
    schema = copy.deepcopy(params)
    def_keys = ("$defs", "definitions")
    local: dict = {}
    for dk in def_keys:
        local.update(schema.pop(dk, None) or {})
    schema = _rewrite_refs(schema, prefix, def_keys)
    for name, sub in local.items():
        defs[f"{prefix}{name}"] = _rewrite_refs(sub, prefix, def_keys)
    schema.setdefault("type", "object")
    return schema


def _turn_option(name: str, arguments: dict) -> dict:
    return {
        "type": "object",
        "properties": {"tool": {"const": name}, "arguments": arguments},
        "required": ["tool", "arguments"],
        "additionalProperties": False,
    }


def build_schema(tools: list[dict], only: str | None = None, exclude: tuple[str, ...] = ()) -> dict:
    """The JSON schema of one model turn for this tool list (final_answer always included,
    unless `only` names the one tool this turn must call)."""
    options: list[dict] = []
    defs: dict = {}
    for tool in tools or []:
        fn = _function(tool)
        name = fn.get("name")
        if not name or name == FINAL_ANSWER or (only and name != only) or name in exclude:
            continue
        prefix = re.sub(r"[^A-Za-z0-9_]", "_", name) + "__"
        options.append(_turn_option(name, _arguments_schema(fn.get("parameters"), prefix, defs)))
    if not only or not options:
        options.append(_turn_option(FINAL_ANSWER, copy.deepcopy(_FINAL_ANSWER_PARAMS)))
    schema: dict = {"anyOf": options} if len(options) > 1 else options[0]
    if defs:
        schema["$defs"] = defs
    return schema


def response_format(tools: list[dict], only: str | None = None, exclude: tuple[str, ...] = ()) -> dict:
    """The `response_format` request field for JSON mode."""
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "schema": build_schema(tools, only, exclude), "strict": True},
    }


def is_turn_format(response_format_field: Any) -> bool:
    """Whether a request's `response_format` is this module's agent-turn format."""
    if not isinstance(response_format_field, dict) or response_format_field.get("type") != "json_schema":
        return False
    return (response_format_field.get("json_schema") or {}).get("name") == SCHEMA_NAME


def _type_name(prop: dict) -> str:
    if "$ref" in prop or "properties" in prop:
        return "object"
    if "anyOf" in prop:
        names = [_type_name(p) for p in prop["anyOf"] if p.get("type") != "null"]
        return "|".join(dict.fromkeys(names)) or "any"
    if prop.get("type") == "array":
        return _type_name(prop.get("items") or {}) + "[]"
    if "enum" in prop:
        return "|".join(json.dumps(v) for v in prop["enum"])
    return str(prop.get("type", "any"))


def signature(name: str, params: dict) -> str:
    """`name(arg: type, optional?: type)`: compact, since the grammar enforces the full schema."""
    required = set(params.get("required") or [])
    args = [f"{arg}{'' if arg in required else '?'}: {_type_name(prop)}"
            for arg, prop in (params.get("properties") or {}).items()]
    return f"{name}({', '.join(args)})"


def system_prompt_addition(tools: list[dict]) -> str:
    """Text appended to the system message: the answer format and what each tool does.

    Tools are listed as compact signatures: the JSON schema sent in `response_format` is enforced
    by the server, so repeating it in the prompt only costs tokens (and confuses small models)."""
    lines = [
        "## How to answer",
        "Reply with exactly one JSON object and nothing else. To call a tool:",
        '{"tool": "<tool name>", "arguments": {<arguments>}}',
        "When the work is done, give the final answer:",
        f'{{"tool": "{FINAL_ANSWER}", "arguments": {{"answer": "<your answer>"}}}}',
        "Call one tool per reply; its result comes back in the next message.",
        "",
        "## Tools",
    ]
    for tool in tools or []:
        fn = _function(tool)
        name = fn.get("name")
        if not name or name == FINAL_ANSWER:
            continue
        desc = (fn.get("description") or "").strip() or "(no description)"
        lines.append(f"- {signature(name, fn.get('parameters') or {})}: {desc}")
    lines.append(f"- {FINAL_ANSWER}(answer: string): finish and give the answer to the requester.")
    return "\n".join(lines)


def encode_turn(tool_name: str, arguments: Any) -> str:
    """The JSON text of one turn. `arguments` is a dict, or a raw JSON string (kept verbatim)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            # Broken arguments stay broken (tests use this to produce invalid turns).
            return '{"tool": ' + json.dumps(tool_name) + ', "arguments": ' + arguments + "}"
    return json.dumps({"tool": tool_name, "arguments": arguments}, ensure_ascii=False)


def encode_final(answer: str) -> str:
    return encode_turn(FINAL_ANSWER, {"answer": answer})


def _strip_fence(text: str) -> str:
    t = text.strip()
    m = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", t, flags=re.DOTALL)
    return m.group(1) if m else t


def parse_turn(text: str) -> tuple[str, dict]:
    """Parse a turn into (tool name, arguments dict); raises InvalidTurn if malformed."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidTurn("empty reply")
    try:
        obj = json.loads(_strip_fence(text))
    except ValueError as exc:
        raise InvalidTurn(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise InvalidTurn("the reply is not a JSON object")
    name = obj.get("tool")
    if not isinstance(name, str) or not name:
        raise InvalidTurn('the reply has no "tool" string')
    arguments = obj.get("arguments", {})
    if not isinstance(arguments, dict):
        raise InvalidTurn('"arguments" is not a JSON object')
    if name == FINAL_ANSWER and not isinstance(arguments.get("answer"), str):
        raise InvalidTurn('final_answer needs an "answer" string')
    return name, arguments


def transcript_to_text(messages: list[dict]) -> list[dict]:
    """Rewrite native tool-call messages as plain chat for requests sent without `tools`.

    Assistant tool calls become the JSON turns the model would have written; tool results become
    user messages naming the tool. Consecutive messages of the same role are merged, since many
    chat templates (Mistral's among them) require alternating user/assistant roles. A user message
    whose content is a list of parts (text and images) keeps its parts; merged with text, the text
    becomes a text part.
    """
    names: dict[str, str] = {}
    out: list[dict] = []

    def add(role: str, content: str | list) -> None:
        if out and out[-1]["role"] == role and role != "system":
            prev = out[-1]["content"]
            if isinstance(prev, str) and isinstance(content, str):
                out[-1]["content"] = (prev + "\n\n" + content).strip("\n")
            else:
                head, tail = _parts(prev), _parts(content)
                if head and tail and _is_text(head[-1]) and _is_text(tail[0]):
                    joined = (head[-1]["text"] + "\n\n" + tail[0]["text"]).strip("\n")
                    head[-1], tail = {"type": "text", "text": joined}, tail[1:]
                out[-1]["content"] = head + tail
        else:
            out.append({"role": role, "content": list(content) if isinstance(content, list) else content})

    for msg in messages:
        role = msg.get("role")
        raw = msg.get("content")
        if role == "user" and isinstance(raw, list):
            add("user", raw)
            continue
        content = content_text(raw)
        if role == "assistant" and msg.get("tool_calls"):
            parts = [content] if content else []
            for call in msg["tool_calls"]:
                fn = call.get("function") or {}
                names[call.get("id", "")] = fn.get("name", "")
                parts.append(encode_turn(fn.get("name", ""), fn.get("arguments") or "{}"))
            add("assistant", "\n".join(parts))
        elif role == "tool":
            name = msg.get("name") or names.get(msg.get("tool_call_id", ""), "tool")
            add("user", f"Result of tool {name}:\n{content}")
        elif role in ("system", "user", "assistant"):
            add(role, content)
        else:
            add("user", content)
    return out


def _parts(content: str | list) -> list:
    """Content as a list of content parts (empty text dropped)."""
    if isinstance(content, list):
        return list(content)
    return [{"type": "text", "text": content}] if content else []


def _is_text(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)


def content_text(content: Any) -> str:
    """Message content as text (OpenAI content may be a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)
