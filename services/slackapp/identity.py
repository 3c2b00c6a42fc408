"""Slack user → Workmode Principal: by Slack user id, else by the email `users.info` gives
(cached per process, so a busy person costs one users.info call per TTL)."""
from __future__ import annotations

import threading
import time
from typing import Optional

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from services.errors import NotFound
from services.identity import UnknownPrincipal, principal_by_email
from services.store.models import Principal

TTL_S = 600.0
MISS_TTL_S = 60.0
_profiles: dict[tuple[str, str], tuple[float, Optional[dict]]] = {}
_lock = threading.Lock()


class UnknownSlackUser(NotFound):
    def __init__(self, user_id: str, email: Optional[str]):
        self.user_id, self.email = user_id, email
        who = f"your Slack account (<@{user_id}>" + (f", {email})" if email else ")")
        how = (f"ask a Workmode admin to add a user with the email {email}" if email
               else "your Slack profile shows no email to match; ask a Workmode admin to set your Slack ID "
                    f"({user_id}) on your Workmode user")
        super().__init__("Slack user", user_id, message=f"Workmode does not know {who} yet: {how}, then try again.")


def profile(client: WebClient, user_id: str, team_id: Optional[str] = None) -> Optional[dict]:
    """email, name and tz from users.info; None when Slack does not know the user."""
    key = (team_id or "", user_id)
    now = time.monotonic()
    with _lock:
        hit = _profiles.get(key)
        if hit and hit[0] > now:
            return hit[1]
    try:
        user = client.users_info(user=user_id)["user"]
        found: Optional[dict] = {"email": (user.get("profile") or {}).get("email"), "tz": user.get("tz"),
                                 "name": user.get("real_name") or user.get("name")}
    except SlackApiError as exc:
        if exc.response.get("error") not in ("user_not_found", "user_not_visible"):
            raise
        found = None
    with _lock:
        _profiles[key] = (now + (TTL_S if found else MISS_TTL_S), found)
    return found


def principal_for(session: Session, client: WebClient, user_id: str, team_id: Optional[str] = None) -> Principal:
    """The Principal acting in Slack, or UnknownSlackUser with what to do about it."""
    if not user_id:
        raise UnknownSlackUser("unknown", None)
    found = session.exec(select(Principal).where(Principal.slack_user_id == user_id)).first()
    if found is not None:
        return found
    info = profile(client, user_id, team_id)
    email = (info or {}).get("email")
    if not email:
        raise UnknownSlackUser(user_id, None)
    try:
        return principal_by_email(session, email)
    except UnknownPrincipal:
        raise UnknownSlackUser(user_id, email) from None


def clear_cache() -> None:
    with _lock:
        _profiles.clear()
