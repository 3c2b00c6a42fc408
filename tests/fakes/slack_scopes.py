"""The OAuth scopes Slack checks for each Web API method Workmode calls, and the scopes the app's
manifest (infra/slack/manifest.yml) grants, for both local Slack servers (tests/fakes/slack_web.py,
tests/fakes/slack_api.py) and the test that holds the manifest to the code.

Each entry is the "Scopes → Bot token" fact of the method's reference page,
https://docs.slack.dev/reference/methods/<method>. Where the page lists one scope per kind of
conversation (conversations.history: channels:history, groups:history, im:history,
mpim:history), Slack checks the scope for the kind of the conversation named in the call, so the
entry maps kind → scope. A missing scope is answered
`{"ok": false, "error": "missing_scope", "needed": "<scope>", "provided": "<granted, comma separated>"}`
(the `needed`/`provided` fields of every response type in slack_sdk / @slack/web-api, e.g.
ChatPostMessageResponse; https://docs.slack.dev/tools/node-slack-sdk/reference/web-api/type-aliases/ChatPostMessageResponse).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Optional

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "infra" / "slack" / "manifest.yml"

PUBLIC, PRIVATE, IM, MPIM = "public", "private", "im", "mpim"
TYPE_KIND = {"public_channel": PUBLIC, "private_channel": PRIVATE, "im": IM, "mpim": MPIM}  # conversations.list types


def _by_kind(name: str) -> dict[str, str]:
    return {PUBLIC: f"channels:{name}", PRIVATE: f"groups:{name}", IM: f"im:{name}", MPIM: f"mpim:{name}"}


# method → the bot scope it needs (None: none), or kind of conversation → scope.
BOT_SCOPES: dict[str, str | dict[str, str] | None] = {
    "auth.test": None,  # "This method has no required scopes"
    "chat.postMessage": "chat:write",  # + chat:write.public for a public channel the app is not in
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "conversations.history": _by_kind("history"),
    "conversations.replies": _by_kind("history"),
    "conversations.info": _by_kind("read"),
    "conversations.list": _by_kind("read"),  # one per requested `types`
    "conversations.join": "channels:join",
    "conversations.open": "im:write",  # a DM with one person; mpim:write for several
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
    "team.info": "team:read",
    "views.open": None,
    "views.update": None,
    "views.publish": None,
}
# chat:write.public: "Send messages to channels your Slack app isn't a member of" — public ones
# only; "Request the chat:write.public scope to gain the ability to post in all public channels
# without joining" (https://docs.slack.dev/reference/scopes/chat.write.public, api.slack.com/start/quickstart).
POST_WITHOUT_JOINING = "chat:write.public"


@cache
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return data


def manifest_scopes() -> frozenset[str]:
    """The bot scopes the manifest requests: what a workspace installing it grants the bot token."""
    return frozenset(manifest()["oauth_config"]["scopes"]["bot"])


def required(method: str, kind: Optional[str] = None) -> Optional[str]:
    """The scope `method` needs on a conversation of `kind` (KeyError: a method not in the table)."""
    need = BOT_SCOPES[method]
    if isinstance(need, dict):
        if kind is None:
            raise ValueError(f"{method} needs a different scope per kind of conversation; say which")
        return need[kind]
    return need


def missing_scope(needed: str, provided: frozenset[str] | set[str]) -> dict[str, Any]:
    """Slack's answer when the token lacks `needed`."""
    return {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(sorted(provided))}
