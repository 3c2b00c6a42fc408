"""OpenID Connect sign-in (Authlib): discovery from WORKMODE_OIDC_ISSUER, authorisation code
flow with state and nonce, ID token signature and claims checked by Authlib. A person may sign in
when the IdP vouches for an email that belongs to an active Workmode principal, or, where the
organisation owning the email's domain switched just-in-time sign-in on, becomes a member on first
sign-in. Either way the ID token's `email_verified` claim must be true (a missing claim is not a
promise, and is refused)."""
from __future__ import annotations

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from services.admin import jit
from services.api.web.auth import safe_next, sign_in
from services.api.web.templating import render_error
from services.config import get_settings
from services.store.db import get_engine
from services.store.models import Principal

router = APIRouter(include_in_schema=False)
_clients: dict[tuple, OAuth] = {}


def client():
    s = get_settings()
    if not s.oidc_issuer:
        return None
    key = (s.oidc_issuer, s.oidc_client_id, s.oidc_scopes)
    if key not in _clients:
        oauth = OAuth()
        oauth.register("idp", client_id=s.oidc_client_id, client_secret=s.oidc_client_secret.get_secret_value(),
                       server_metadata_url=s.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
                       client_kwargs={"scope": s.oidc_scopes, "code_challenge_method": "S256"})
        _clients[key] = oauth
    return _clients[key].idp


@router.get("/login/oidc")
async def start(request: Request, next: str = "/") -> Response:
    idp = client()
    if idp is None:
        return render_error(request, 404, "OpenID Connect sign-in is not configured (WORKMODE_OIDC_ISSUER)")
    request.session["next"] = safe_next(next)
    redirect_uri = get_settings().public_url.rstrip("/") + "/auth/callback"
    return await idp.authorize_redirect(request, redirect_uri)


@router.get("/auth/callback")
async def callback(request: Request) -> Response:
    idp = client()
    if idp is None:
        return render_error(request, 404, "OpenID Connect sign-in is not configured (WORKMODE_OIDC_ISSUER)")
    try:
        token = await idp.authorize_access_token(request)
    except OAuthError as exc:
        return render_error(request, 400, f"sign-in failed: {exc.error}")
    claims = token.get("userinfo") or {}
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is not True:
        return render_error(request, 403, "your identity provider did not vouch for an email address")
    principal = await run_in_threadpool(_principal, email, str(claims.get("name") or ""))
    if principal is None:
        return render_error(request, 403, f"{email} is not a Workmode user; ask an admin to add you")
    if not principal.active:
        return render_error(request, 403, f"{email} has been deactivated; ask an admin")
    target = safe_next(request.session.get("next"))
    sign_in(request, principal, via="oidc")
    return RedirectResponse(target, status_code=303)


def _principal(email: str, name: str):
    """The person with this verified email; or, on first sign-in, a new member of the organisation
    that owns the email's domain and switched just-in-time sign-in on (services/admin/jit.py)."""
    with Session(get_engine(), expire_on_commit=False) as s:
        found = s.exec(select(Principal).where(Principal.email == email)).first()
        if found is None:
            found = jit.member_for(session=s, email=email, name=name)
            s.commit()
        return found
