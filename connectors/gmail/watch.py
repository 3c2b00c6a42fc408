"""Gmail push: `users.watch` and `users.stop` for one person's mailbox.

users.watch (https://developers.google.com/gmail/api/reference/rest/v1/users/watch) asks Gmail to
publish a notification to a Pub/Sub topic (`projects/<project>/topics/<topic>`, on which Gmail has
been granted publish) whenever the mailbox changes; `labelIds: ["INBOX"]` restricts it to the inbox.
The answer names the mailbox's current history id and when the watch expires (epoch milliseconds);
Google asks to call watch again before then, and recommends once a day
(https://developers.google.com/gmail/api/guides/push). users.stop ends it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.base import ToolContext
from connectors.google.auth import GoogleSession


@dataclass(frozen=True)
class Watch:
    email: str  # the mailbox, as Pub/Sub's notifications name it (emailAddress)
    history_id: str
    expires_at: datetime


def watch(ctx: ToolContext, topic: str, label_ids: tuple[str, ...] = ("INBOX",)) -> Watch:
    g = GoogleSession(ctx)
    got = g.call(g.gmail.watch(userId="me", body={"topicName": topic, "labelIds": list(label_ids),
                                                     "labelFilterBehavior": "include"}),
                 "starting Gmail push notifications")
    expires = datetime.fromtimestamp(int(got["expiration"]) / 1000, tz=UTC)
    profile = g.call(g.gmail.getProfile(userId="me"), "reading the mailbox profile")
    return Watch(email=str(profile["emailAddress"]).lower(), history_id=str(got["historyId"]), expires_at=expires)


def stop(ctx: ToolContext) -> None:
    g = GoogleSession(ctx)
    g.call(g.gmail.stop(userId="me"), "stopping Gmail push notifications")
