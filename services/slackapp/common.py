"""Small helpers shared by the Slack handlers: a store session, the acting person, telling them
something only they see."""
from __future__ import annotations

import logging
from typing import Any, Optional

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from services.errors import Invalid
from services.slackapp.identity import principal_for
from services.store.db import get_engine
from services.store.models import Principal

log = logging.getLogger("services.slackapp")

NOT_YOURS = ("Not yours to decide: only the person who asked for this work or an approver your "
             "organisation names can decide it. Nothing was changed.")


class BadPayload(Invalid):
    """A request from Slack that is missing what Workmode put in it (or was never Workmode's)."""


def session() -> Session:
    return Session(get_engine(), expire_on_commit=False)


def actor(s: Session, client: WebClient, context: Any) -> Principal:
    return principal_for(s, client, context.get("user_id") or "", context.get("team_id"))


def where(body: dict) -> tuple[Optional[str], Optional[str]]:
    """(channel, thread ts) of the message a click came from; (None, None) from App Home."""
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    message = body.get("message") or {}
    return channel, message.get("thread_ts") or message.get("ts")


def tell(client: WebClient, body: dict, user_id: str, text: str) -> None:
    """An ephemeral message where the person is (the thread they clicked in), or, from App Home,
    a message in the app's Messages tab."""
    channel, thread_ts = where(body)
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user_id, text=text, thread_ts=thread_ts)
        else:
            client.chat_postMessage(channel=user_id, text=text)
    except SlackApiError as exc:
        log.warning("could not tell %s %r: %s", user_id, text, exc.response.get("error"))


def first_action(body: dict) -> dict:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise BadPayload("the click carried no action")
    return actions[0]


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
