"""POST /gmail/push: Gmail's change notifications, delivered by a Pub/Sub push subscription.

Pub/Sub signs each push with a Google-issued OIDC token (`Authorization: Bearer <JWT>`; Google's
"Authenticate push subscriptions" guide). Before anything else the token must be signed by one of
Google's keys (the JWKS at WORKMODE_GMAIL_PUSH_CERTS_URL, fetched and cached, refetched once for an
unknown key id), with RS256; `aud` must be WORKMODE_GMAIL_PUSH_AUDIENCE (the subscription's audience,
by default the endpoint URL); `iss` accounts.google.com or https://accounts.google.com; not expired;
`email` the configured push service account with `email_verified` true. Anything else is 401 and
starts nothing. The message (`{"emailAddress", "historyId"}`, base64 in message.data) then starts an
incremental triage for that mailbox (a TriageRun, trigger "push", and `workmode.triage.run` after
commit), debounced: no new push-triggered run within WORKMODE_GMAIL_PUSH_DEBOUNCE_S of the last one
(one conditional UPDATE of the mailbox's watch row decides, so concurrent pushes start one run).
An acknowledged push answers 2xx (Pub/Sub stops redelivering); the schedule stays the safety net."""
from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import or_, update
from sqlmodel import col, select

from services.api.deps import DbDep
from services.config import get_settings
from services.errors import Invalid, Unauthorized, Unavailable
from services.store.models import MailWatch, TriageRun, utcnow
from services.triage.run import enqueue_run

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CERTS_TTL_S = 3600.0
REFETCH_MIN_S = 30.0  # an unknown key id refetches the certs at most this often
_lock = threading.Lock()
_certs: dict[str, tuple[float, KeySet]] = {}  # url → (fetched at, keys)


class PushRefused(Unauthorized):
    """Not a push Google signed for this endpoint (the reason names the check, never the token)."""


def _fetch(url: str) -> KeySet:
    try:
        r = httpx.get(url, timeout=10.0)
        r.raise_for_status()
        return KeySet.import_key_set(r.json())
    except (httpx.HTTPError, ValueError, JoseError) as exc:
        raise Unavailable(f"Google's signing keys could not be read ({type(exc).__name__}); try again later") \
            from None


def _keys(url: str, kid: str) -> KeySet:
    now = time.monotonic()
    with _lock:
        cached = _certs.get(url)
        if cached is not None:
            fetched, keys = cached
            has_kid = any(k.kid == kid for k in keys.keys)
            if now - fetched < CERTS_TTL_S and (has_kid or now - fetched < REFETCH_MIN_S):
                return keys
        keys = _fetch(url)
        _certs[url] = (now, keys)
        return keys


def verify(authorization: str) -> dict[str, Any]:
    """The verified claims of a push's token; PushRefused with the failed check otherwise."""
    s = get_settings()
    if not s.gmail_push_audience or not s.gmail_push_service_account:
        raise Unavailable("Gmail push is not configured here (WORKMODE_GMAIL_PUSH_AUDIENCE and "
                          "WORKMODE_GMAIL_PUSH_SERVICE_ACCOUNT)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PushRefused("a push must carry Google's signed token (Authorization: Bearer ...)", "Authorization")
    token = token.strip()
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        kid = str(header.get("kid") or "")
    except (ValueError, binascii.Error, AttributeError):
        raise PushRefused("the push token is not a JWT", "Authorization") from None
    keys = _keys(s.gmail_push_certs_url, kid)
    try:
        decoded = jwt.decode(token, keys, algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "values": list(ISSUERS)},
            aud={"essential": True, "value": s.gmail_push_audience},
            exp={"essential": True},
            email={"essential": True, "value": s.gmail_push_service_account},
            email_verified={"essential": True, "value": True},
        ).validate(decoded.claims)
    except JoseError as exc:
        raise PushRefused(f"the push token was refused: {exc.error}", "Authorization") from None
    except ValueError:
        raise PushRefused("the push token could not be read", "Authorization") from None
    return dict(decoded.claims)


def _mailbox(body: Any) -> str:
    try:
        data = json.loads(base64.b64decode(body["message"]["data"], validate=True))
        email = data["emailAddress"]
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise Invalid("not a Gmail push message: message.data must be base64 JSON with emailAddress",
                      "message.data") from None
    if not isinstance(email, str) or "@" not in email:
        raise Invalid("emailAddress is not an email address", "message.data")
    return email.strip().lower()


@router.post("/gmail/push")
async def gmail_push(request: Request, db: DbDep) -> Response:
    verify(request.headers.get("authorization") or "")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise Invalid("the body must be JSON (a Pub/Sub push envelope)", "body") from None
    email = _mailbox(body)
    watch = db.exec(select(MailWatch).where(MailWatch.email == email)).first()
    if watch is None:
        return JSONResponse({"started": False, "why": "no watch for this mailbox"}, status_code=202)
    now = utcnow()
    quiet_since = now - timedelta(seconds=get_settings().gmail_push_debounce_s)
    won = db.exec(update(MailWatch).where(
        col(MailWatch.principal_id) == watch.principal_id,
        or_(col(MailWatch.last_push_at).is_(None), col(MailWatch.last_push_at) < quiet_since))
        .values(last_push_at=now)).rowcount
    recent = db.exec(select(TriageRun.id).where(TriageRun.principal_id == watch.principal_id,
                                                TriageRun.trigger == "push",
                                                col(TriageRun.created_at) >= quiet_since)).first()
    if won != 1 or recent is not None:
        db.rollback()
        return JSONResponse({"started": False, "why": "debounced: a triage started moments ago"}, status_code=202)
    run = TriageRun(principal_id=watch.principal_id, trigger="push")
    db.add(run)
    db.flush()
    run_id = run.id
    enqueue_run(db, run_id)
    db.commit()
    return JSONResponse({"started": True, "triage_run_id": run_id}, status_code=202)
