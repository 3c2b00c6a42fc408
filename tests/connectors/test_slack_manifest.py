"""The Slack app's manifest (infra/slack/manifest.yml) grants every scope the code needs: the Web
API methods the connector (connectors/slack) and the Slack app (services/slackapp) call, looked
up in Slack's method → scope table (tests/fakes/slack_scopes.py), and the events it subscribes to.
Both local Slack servers grant exactly the manifest's scopes, so a call the manifest does not
cover fails the tests that make it, too. The README's scope list for a tools-only bot token covers
the connector's calls the same way."""
from __future__ import annotations

import re
from pathlib import Path

from tests.fakes.slack_scopes import BOT_SCOPES, IM, PRIVATE, PUBLIC, manifest, manifest_scopes, required

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "connectors" / "slack").glob("*.py"), *(ROOT / "services" / "slackapp").glob("*.py")])
# slack_sdk names a method by its dotted name with "_" for "." (chat_postMessage → chat.postMessage).
CONNECTOR = sorted((ROOT / "connectors" / "slack").glob("*.py"))
CALL = re.compile(r"\.((?:auth|chat|conversations|team|users|views)_[A-Za-z_]+)\(")
IMPLICIT = {"auth.test"}  # bolt's authorisation of each request (token_verification only delays it)
# The conversations each kind-dependent method is used on: history/replies on channels and the
# app's DMs (verify_dm), channel lookups on public and private channels.
USED_ON = {"conversations.history": (PUBLIC, PRIVATE, IM), "conversations.replies": (PUBLIC, PRIVATE),
           "conversations.info": (PUBLIC, PRIVATE), "conversations.list": (PUBLIC, PRIVATE)}
# Events API: https://docs.slack.dev/reference/events/<event> ("Required scopes").
EVENT_SCOPES = {"app_home_opened": None, "message.channels": "channels:history", "message.groups": "groups:history",
                "message.im": "im:history", "message.mpim": "mpim:history"}


def called_methods(sources: list[Path] = SOURCES) -> dict[str, str]:
    """Web API method → the first file calling it."""
    found: dict[str, str] = {}
    for path in sources:
        for name in CALL.findall(path.read_text()):
            found.setdefault(name.replace("_", "."), str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_the_calls():
    methods = called_methods()
    assert {"chat.postMessage", "conversations.history", "conversations.join", "conversations.list",
            "users.lookupByEmail", "views.publish", "team.info"} <= set(methods)


def test_every_method_called_is_in_the_scope_table():
    unknown = {m: where for m, where in called_methods().items() if m not in BOT_SCOPES}
    assert unknown == {}, "add each method's bot scope from its docs.slack.dev reference page"


def needed_scopes(sources: list[Path] = SOURCES) -> dict[str, str]:
    """Scope → the first method (in `sources`) that needs it."""
    needed: dict[str, str] = {}
    for method in sorted(set(called_methods(sources)) | IMPLICIT):
        for kind in USED_ON.get(method, (None,)):
            scope = required(method, kind)
            if scope is not None:
                needed.setdefault(scope, method)
    return needed


def test_the_manifest_grants_every_scope_the_code_needs():
    granted = manifest_scopes()
    needed = needed_scopes()
    for event in manifest()["settings"]["event_subscriptions"]["bot_events"]:
        if EVENT_SCOPES[event] is not None:
            needed.setdefault(str(EVENT_SCOPES[event]), event)
    if manifest()["features"].get("slash_commands"):
        needed.setdefault("commands", "/work")
    assert {scope: why for scope, why in needed.items() if scope not in granted} == {}
    for scope in ("channels:read", "groups:read", "channels:join", "team:read"):  # the ones the manifest lacked
        assert scope in needed and scope in granted


def test_the_readme_lists_every_scope_the_slack_tools_need():
    """README's "Slack (as a tool)" paragraph names the scopes of a bot token given to the tools
    alone (`workmode connect slack`): each scope the connector's calls need is there."""
    readme = (ROOT / "README.md").read_text()
    paragraph = readme[readme.index("**Slack (as a tool"):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    listed = set(" ".join(re.findall(r"`([^`]*)`", paragraph.split("Scopes:", 1)[1])).split())
    needed = needed_scopes(CONNECTOR)
    assert {"team:read", "channels:join", "chat:write"} <= set(needed)
    assert {scope: why for scope, why in needed.items() if scope not in listed} == {}
